"""``synthaudio keywords``: keyword-spotting clips and long streams."""

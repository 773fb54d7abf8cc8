"""``synthaudio augment``: a real Kaldi dir -> environment."""

"""``synthaudio generate``: text -> TTS -> environment."""

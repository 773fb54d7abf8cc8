"""synthaudio: synthetic speech corpora for training and testing ASR."""

__version__ = "0.1.0"

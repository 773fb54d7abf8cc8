"""Importers of real corpora: folder layouts (Speech Commands, Free Spoken Digit) and words
cut out of a Kaldi dir by alignment, each written as a Kaldi data directory or a Speech
Commands folder. They sit above the TTS layer: word cutting aligns with pocketsphinx."""

"""Profiles of real or synthetic corpora: measure, fit a config to them, compare two.

- :mod:`sources`: what to measure (a Kaldi directory, a folder of audio files, a synthaudio OUT)
- one module per measurement family: :mod:`level`, :mod:`vad`, :mod:`noise`, :mod:`bandwidth`,
  :mod:`reverb`, :mod:`speech`, :mod:`quality`, :mod:`voices`
- :mod:`profile`: per-utterance features and their distributions -> ``PROFILE.json``
- :mod:`match`: a corpus or augment config whose randomization covers a profile
- :mod:`compare`: distances between two profiles

Arrays are float32 mono ``(n_samples,)``; multichannel files are averaged to mono.
See docs/profile.md for the schema and the measured accuracy of every feature.
"""

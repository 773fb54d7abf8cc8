"""Conversations: multi-speaker sessions with overlap, for diarization and meeting ASR.

A third pipeline on the run engine (:mod:`synthaudio.run.engine`), one module per stage:
:mod:`.config` (the ``sessions:`` section beside the corpus config's text, speakers and
augment sections), :mod:`.plan` (what session ``i`` is: speakers, length, room, drawn from
the seed), :mod:`.timeline` (placing the turns so the measured overlap and silence ratios
follow their targets), :mod:`.render` (TTS per turn, one room per session, stems, noise),
:mod:`.labels` (RTTM segments from the word timings, ratios measured on them),
:mod:`.export` (RTTM, CTM, UEM, Kaldi, NeMo, Lhotse, SegLST JSON), :mod:`.evaluate`
(DER/JER with pyannote.metrics, cpWER with meeteval) and :mod:`.generate` (the pipeline,
``generate_sessions``).
"""

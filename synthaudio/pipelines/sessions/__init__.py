"""Conversations: multi-speaker sessions with overlap, for diarization and meeting ASR.

A pipeline on the run engine (:mod:`synthaudio.run.engine`), one module per stage:
:mod:`.config` (the ``sessions:`` section beside the corpus config's text, speakers and
augment sections), :mod:`.plan` (what session ``i`` is: speakers, length, room, drawn from
the seed), :mod:`.timeline` (placing the turns so the measured overlap and silence ratios
follow their targets), :mod:`.render` (TTS per turn, one room per session, stems, noise),
:mod:`.labels` (RTTM segments from the word timings, ratios measured on them),
:mod:`.export` (RTTM, CTM, UEM, Kaldi, NeMo, Lhotse, SegLST JSON), :mod:`.evaluate`
(DER/JER with pyannote.metrics, cpWER with meeteval) and :mod:`.pipeline` (the pipeline,
``generate_sessions``).
"""

from __future__ import annotations

from synthaudio.manifests.formats import ExportFormat
from synthaudio.run.pipelines import PipelineEntry
from synthaudio.streams import STREAMS

PIPELINE = PipelineEntry(
    name="sessions",
    description="make a corpus of multi-speaker conversations (sessions for diarization and "
                "meeting ASR) from a sessions config",
    make="synthaudio.pipelines.sessions.pipeline:generate_sessions",
    config_help="a corpus config with a sessions: section",
    config_model="synthaudio.pipelines.sessions.config:SessionCorpusConfig",
    stream_tags={"session": STREAMS["session"]},
    exporters=(ExportFormat("sessions", "synthaudio.pipelines.sessions.export:write_sessions",
                            "session corpora: RTTM, UEM, CTM, SegLST, NeMo diarization, "
                            "Lhotse, Kaldi with segments; manifests/ and data/"),),
    validator="synthaudio.pipelines.sessions.validate:validate_sessions",
    marker="session",
    export_formats="synthaudio.pipelines.sessions.export:session_formats",
    speakers_of="synthaudio.pipelines.sessions.validate:talkers",
)

"""``synthaudio keywords``: keyword-spotting clips (targets, hard negatives, unknown words,
silence) in the Speech Commands layout, and long streams with the keywords' times.

:mod:`.config`, :mod:`.confusable` (hard negatives), :mod:`.plan`, :mod:`.render` (one
clip), :mod:`.stream` (the long recordings), :mod:`.layout` (paths and the
``speech_commands`` export) and :mod:`.pipeline` (``make_keywords``).
"""

from __future__ import annotations

from synthaudio.manifests.formats import ExportFormat
from synthaudio.run.pipelines import PipelineEntry
from synthaudio.streams import STREAMS

PIPELINE = PipelineEntry(
    name="keywords",
    description="make a keyword-spotting corpus (targets, hard negatives, Speech Commands "
                "layout) from a keywords config",
    make="synthaudio.pipelines.keywords.pipeline:make_keywords",
    config_help="the keywords config (keywords.yaml)",
    config_model="synthaudio.pipelines.keywords.config:KeywordsConfig",
    outputs=("negatives.json", "streams"),
    stream_tags={k: STREAMS[k] for k in ("keywords_plan", "keywords_clip")},
    exporters=(ExportFormat("speech_commands",
                            "synthaudio.pipelines.keywords.layout:write_speech_commands",
                            "keyword corpora: Speech Commands lists (validation_list.txt, "
                            "testing_list.txt) in audio/"),),
)

"""A fifth pipeline as another package adds it: one folder and one entry point.

``synthaudio tones CONFIG -o OUT`` makes a corpus of sine tones on the run engine: resume,
``-j``, ``--overwrite``, exports and the run log come from the engine and the front half,
and only what is the pipeline's own is here (docs/architecture.md, "Adding a pipeline").
Installed with ``[project.entry-points."synthaudio.pipelines"] tones =
"synthaudio_tones:PIPELINE"``; tests/test_pipeline_plugin.py installs it so.
"""

from synthaudio.manifests.formats import ExportFormat
from synthaudio.run.pipelines import PipelineEntry

PIPELINE = PipelineEntry(
    name="tones",  # the subcommand and logs/tones.log
    description="make a corpus of sine tones (the worked example of a pipeline plugin)",
    make="synthaudio_tones.pipeline:make_tones",
    config_help="the tones config (tones.yaml)",
    config_model="synthaudio_tones.pipeline:TonesConfig",
    outputs=("tones.tsv",),  # what --overwrite may replace besides the engine's files
    stream_tags={"tone": 90},  # [seed, 90, i, sub]; a test checks it is free
    exporters=(ExportFormat("tonelist", "synthaudio_tones.pipeline:write_tonelist",
                            "every tone's id and frequency, OUT/tones.tsv"),),
)

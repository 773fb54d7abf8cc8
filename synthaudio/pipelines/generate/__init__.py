"""``synthaudio generate``: text -> TTS -> environment, a corpus of utterances.

:mod:`.config` (the corpus config), :mod:`.plan` (utterance ``i`` from its index),
:mod:`.render` (one utterance: its speech from the TTS render path, the environment, its
files and record), :mod:`.quality` (the ASR check) and :mod:`.pipeline` (the plan and task
on the run engine, ``generate_corpus``).
"""

from __future__ import annotations

import argparse

from synthaudio.run.cliargs import config_arguments, positive_int, run_args
from synthaudio.run.pipelines import PipelineEntry
from synthaudio.streams import STREAMS


def arguments(p: argparse.ArgumentParser, entry: PipelineEntry) -> None:
    config_arguments(p, entry)
    p.add_argument("--limit", type=positive_int,
                   help="render N utterances, every split in proportion (a later run with a "
                        "larger limit or none extends the corpus)")
    run_args(p)


PIPELINE = PipelineEntry(
    name="generate",
    description="make a corpus from a corpus.yaml",
    make="synthaudio.pipelines.generate.pipeline:generate_corpus",
    config_help="the corpus config (corpus.yaml)",
    options=("limit",),
    arguments=arguments,
    config_model="synthaudio.pipelines.generate.config:CorpusConfig",
    stream_tags={k: STREAMS[k] for k in ("text", "speaker", "split", "assign", "utterance",
                                         "voices", "babble", "rirs", "order")},
)

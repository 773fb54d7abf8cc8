"""``synthaudio augment``: a real Kaldi data directory in, K augmented copies out.

:mod:`.config` (the augmentation YAML) and :mod:`.pipeline` (the plan and task on the run
engine, ``augment_kaldi_dir``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from synthaudio.run.cliargs import executor_args, jobs_arg, positive_int, quiet_arg, resume_arg
from synthaudio.run.pipelines import PipelineEntry
from synthaudio.streams import STREAMS


def arguments(p: argparse.ArgumentParser, entry: PipelineEntry) -> None:
    p.add_argument("kaldi_dir", help="Kaldi data directory (wav.scp, text, utt2spk...)")
    p.add_argument("-o", "--out", required=True, help="folder of the augmented corpus")
    p.add_argument("--config", help="augmentation YAML (the augment: section of a corpus; "
                                    "default: synthaudio's room, noise and channel ranges)")
    p.add_argument("--copies", type=positive_int, default=1,
                   help="augmented copies of each utterance")
    jobs_arg(p)
    p.add_argument("--seed", type=int, default=0, help="seed of every drawn environment")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an OUT made from another input or config")
    resume_arg(p)
    quiet_arg(p)
    executor_args(p)


def command(args: argparse.Namespace, entry: PipelineEntry, jobs: int) -> Any:
    return entry.make_function()(
        Path(args.kaldi_dir), Path(args.out),
        config_path=Path(args.config) if args.config else None,
        copies=args.copies, jobs=jobs, seed=args.seed, overwrite=args.overwrite,
        resume=args.resume, progress=not args.quiet, executor=args.executor,
        ray_address=args.ray_address)


PIPELINE = PipelineEntry(
    name="augment",
    description="augment a Kaldi data directory of real speech",
    make="synthaudio.pipelines.augment_dir.pipeline:augment_kaldi_dir",
    arguments=arguments,
    command=command,
    config_model="synthaudio.pipelines.augment_dir.config:AugmentDirConfig",
    stream_tags={k: STREAMS[k] for k in ("augment", "rirs")},  # copy k of input i: augment
)

"""The command-line options every run on the engine shares, and the generic subcommand of a
pipeline (``synthaudio NAME CONFIG -o OUT``): the CLI builds one per registered pipeline
(:mod:`synthaudio.run.pipelines`) from these."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from synthaudio.run.pipelines import PipelineEntry


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def jobs_of(args: argparse.Namespace) -> int:
    """``-j``: one worker per usable core by default; more than that is lowered, with a note
    (the output does not depend on it). With Ray, -j is the local instance's CPUs: kept."""
    if getattr(args, "executor", "local") == "ray" and args.jobs is not None:
        return int(args.jobs)
    from synthaudio.run.executors import fit_jobs

    jobs, note = fit_jobs(args.jobs)
    if note is not None:
        print(f"synthaudio: note: {note}", file=sys.stderr)
    return jobs


def executor_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="where workers run: a local process pool (-j N) or a Ray cluster "
                        "(pip install 'synthaudio[ray]'); both write the same bytes")
    p.add_argument("--ray-address", help="Ray cluster address (default: a local Ray instance "
                                         "with -j CPUs)")


def jobs_arg(p: argparse.ArgumentParser, what: str = "worker processes") -> None:
    p.add_argument("-j", "--jobs", type=positive_int,
                   help=f"{what} (default: the usable CPU cores; never more than those)")


def quiet_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def resume_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--resume", action="store_true",
                   help="finish an interrupted run of this config in OUT, and fail if there is "
                        "none (re-running the same command without it resumes too)")


def run_args(p: argparse.ArgumentParser) -> None:
    """The options of a run from a config: seed, overwrite, resume, progress, executor."""
    p.add_argument("--seed", type=int, help="override the config's seed")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a corpus made from another config")
    resume_arg(p)
    quiet_arg(p)
    executor_args(p)


def config_arguments(p: argparse.ArgumentParser, entry: PipelineEntry) -> None:
    """``CONFIG -o OUT -j N`` and :func:`run_args`: the subcommand of a pipeline run from a
    config file."""
    p.add_argument("config", help=entry.config_help)
    p.add_argument("-o", "--out", required=True, help="corpus folder to write (OUT)")
    jobs_arg(p)


def run_config_command(args: argparse.Namespace, entry: PipelineEntry, jobs: int) -> Any:
    """Call the pipeline's ``make(CONFIG, OUT, ...)`` with the run options and the
    pipeline's own ``options``; return its summary."""
    extra = {name: getattr(args, name) for name in entry.options}
    return entry.make_function()(
        Path(args.config), Path(args.out), jobs=jobs, seed=args.seed,
        overwrite=args.overwrite, resume=args.resume, progress=not args.quiet,
        executor=args.executor, ray_address=args.ray_address, **extra)

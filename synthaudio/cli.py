"""The ``synthaudio`` command: a thin front end; each subcommand calls one library function.

Bad input prints one line ``synthaudio: error: ...`` and exits with code 2 (no traceback
unless ``--debug``); so does a failed read or write (full disk, permissions), naming the
path. Ctrl-C exits with code 130. ``validate`` exits 1 when it finds problems.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from synthaudio.errors import SynthaudioError

Handler = Callable[[argparse.Namespace], int]


def _range(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(x) for x in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MIN:MAX, got {text!r}") from None
    return lo, hi


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def _cmd_generate(args: argparse.Namespace) -> int:
    from synthaudio.corpus.generate import generate_corpus

    summary = generate_corpus(
        Path(args.config), Path(args.out), jobs=args.jobs, limit=args.limit, seed=args.seed,
        overwrite=args.overwrite, resume=args.resume, progress=not args.quiet,
        executor=args.executor, ray_address=args.ray_address,
    )
    print(summary.format())
    return 0


def _cmd_voices(args: argparse.Namespace) -> int:
    from synthaudio.tts.espeak import EspeakEngine, shipped_variants

    engine = EspeakEngine()
    print(f"espeak-ng {engine.version()}: voices (use as speakers.voices)")
    for v in sorted(engine.voices(), key=lambda v: v.name):
        if args.lang is None or v.name.startswith(args.lang.lower()):
            print(f"  {v.name:<20} {','.join(v.languages)}")
    print("variants (use as speakers.variants; 'none' is the plain voice):")
    print("  " + " ".join(shipped_variants()))
    return 0


def _cmd_rirs(args: argparse.Namespace) -> int:
    from synthaudio.augment.rirbank import build_rir_bank
    from synthaudio.augment.room import RoomConfig

    try:
        cfg = RoomConfig(rt60_s=args.rt60)
    except ValueError as exc:
        raise SynthaudioError(f"--rt60: {str(exc).splitlines()[-1].strip()}") from None
    bank = build_rir_bank(Path(args.out), cfg, args.count, args.sample_rate, args.seed,
                          jobs=args.jobs, progress=not args.quiet)
    print(f"{len(bank.entries)} RIRs in {args.out} (index.jsonl)")
    return 0


def _cmd_augment(args: argparse.Namespace) -> int:
    from synthaudio.corpus.augment_dir import augment_kaldi_dir

    summary = augment_kaldi_dir(
        Path(args.kaldi_dir), Path(args.out),
        config_path=Path(args.config) if args.config else None,
        copies=args.copies, jobs=args.jobs, seed=args.seed, overwrite=args.overwrite,
        progress=not args.quiet, executor=args.executor, ray_address=args.ray_address,
    )
    print(summary.format())
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from synthaudio.manifests.export import export_corpus

    report = export_corpus(Path(args.out), args.format.split(","),
                           absolute_paths=args.absolute_paths, shard_size=args.shard_size,
                           jobs=args.jobs, executor=args.executor, ray_address=args.ray_address,
                           progress=not args.quiet)
    print(report.format() if hasattr(report, "format") else report)
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from synthaudio.manifests.validate import format_problems, validate_corpus

    problems = validate_corpus(Path(args.out))
    if problems:
        print(format_problems(problems))
        print(f"{len(problems)} problem(s) found in {args.out}", file=sys.stderr)
        return 1
    print(f"{args.out}: no problems found")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from synthaudio.evaluate.evaluate import evaluate_corpus, format_table

    gate = None
    if args.gate:
        key, _, value = args.gate.partition("=")
        if key != "max_cer" or not value:
            raise SynthaudioError(f"--gate: expected max_cer=X, got {args.gate!r}")
        try:
            gate = {"max_cer": float(value)}
        except ValueError:
            raise SynthaudioError(f"--gate: {value!r} is not a number") from None
    summary = evaluate_corpus(Path(args.out), split=args.split, asr=args.asr, name=args.name,
                              jobs=args.jobs, gate=gate, executor=args.executor,
                              ray_address=args.ray_address, progress=not args.quiet)
    print(format_table(summary))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from synthaudio.evaluate.report import write_report

    print(write_report(Path(args.out), progress=not args.quiet))
    return 0


def _executor_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="where workers run: a local process pool (-j N) or a Ray cluster "
                        "(pip install 'synthaudio[ray]'); both write the same bytes")
    p.add_argument("--ray-address", help="Ray cluster address (default: a local Ray instance "
                                         "with -j CPUs)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="synthaudio", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("generate", help="make a corpus from a corpus.yaml")
    p.add_argument("config")
    p.add_argument("-o", "--out", required=True)
    p.add_argument("-j", "--jobs", type=_positive_int, default=1)
    p.add_argument("--limit", type=_positive_int, help="render only the first N utterances")
    p.add_argument("--seed", type=int, help="override the config's seed")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a corpus made from another config")
    p.add_argument("--resume", action="store_true",
                   help="finish an interrupted run of this config in OUT, and fail if there is "
                        "none (re-running the same command without it resumes too)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _executor_args(p)
    p.set_defaults(func=_cmd_generate)

    p = sub.add_parser("voices", help="list the espeak-ng voices and variants")
    p.add_argument("--lang", help="only voices whose name starts with this")
    p.set_defaults(func=_cmd_voices)

    p = sub.add_parser("rirs", help="build a room impulse response bank")
    p.add_argument("-o", "--out", required=True)
    p.add_argument("--count", type=_positive_int, default=100)
    p.add_argument("--rt60", type=_range, default=(0.2, 1.2), help="MIN:MAX seconds")
    p.add_argument("--sample-rate", type=_positive_int, default=16000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-j", "--jobs", type=_positive_int, default=1)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_rirs)

    p = sub.add_parser("augment", help="augment a Kaldi data directory of real speech")
    p.add_argument("kaldi_dir")
    p.add_argument("-o", "--out", required=True)
    p.add_argument("--config", help="augmentation YAML (the augment: section of a corpus)")
    p.add_argument("--copies", type=_positive_int, default=1)
    p.add_argument("-j", "--jobs", type=_positive_int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("-q", "--quiet", action="store_true")
    _executor_args(p)
    p.set_defaults(func=_cmd_augment)

    p = sub.add_parser("export", help="(re)write manifests from OUT/metadata.jsonl")
    p.add_argument("out")
    p.add_argument("--format", default="kaldi,nemo,lhotse,hf,ctm",
                   help="comma list of kaldi,espnet,nemo,lhotse,hf,ctm,webdataset or all")
    p.add_argument("--absolute-paths", action="store_true")
    p.add_argument("--shard-size", type=_positive_int, default=1000)
    p.add_argument("-j", "--jobs", type=_positive_int, default=1,
                   help="workers writing WebDataset shards")
    _executor_args(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("validate", help="check a corpus; exit 1 when any problem")
    p.add_argument("out")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("evaluate", help="WER of an ASR on a corpus split")
    p.add_argument("out")
    p.add_argument("--split", default="test")
    p.add_argument("--asr", default="pocketsphinx",
                   help="pocketsphinx, pocketsphinx:corpus-lm, whisper:MODEL or hyp:FILE")
    p.add_argument("--name")
    p.add_argument("-j", "--jobs", type=_positive_int, default=1)
    p.add_argument("--gate", help="max_cer=X marks utterances the ASR cannot read")
    _executor_args(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("report", help="write OUT/report/index.html")
    p.add_argument("out")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (SynthaudioError, OSError) as exc:
        if args.debug:
            raise
        if isinstance(exc, OSError):  # a read or write no library function named
            where = exc.filename if exc.filename is not None else type(exc).__name__
            message = f"{where}: {exc.strerror or exc}"
        else:
            message = str(exc)
        one_line = message.replace("\r", " ").replace("\n", " ")
        print(f"synthaudio: error: {one_line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.debug:
            raise
        hint = {
            "generate": "; what is complete is kept: run the same command again (or add "
                        "--resume) to finish the corpus",
            "augment": "; what is complete is kept: run the same command again to finish",
        }.get(args.command, "")
        print(f"synthaudio: interrupted{hint}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""The ``synthaudio`` command: a thin front end; each subcommand calls one library function.

Bad input prints one line ``synthaudio: error: ...`` and exits with code 2 (no traceback
unless ``--debug``); so does a failed read or write (full disk, permissions), naming the
path. Ctrl-C exits with code 130. ``validate`` exits 1 when it finds problems. Output
piped into a reader that stops early (``| head``) ends the command quietly (exit 141, as a
program killed by SIGPIPE). ``--debug`` goes before or after the subcommand.

Defaults shown in ``--help`` are the library's: the export formats and TTS engines come
from their registries, and a test checks every other default against the signature of
the library function the subcommand calls.

(Over 400 lines on purpose: one argparse front end, every subcommand's options side by
side, so their help, defaults and flag names stay consistent.)
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from synthaudio.errors import SynthaudioError
from synthaudio.registry import resolve
from synthaudio.run.cliargs import (
    config_arguments,
    executor_args,
    jobs_arg,
    jobs_of,
    positive_int,
    quiet_arg,
    run_args,
    run_config_command,
)
from synthaudio.run.pipelines import PIPELINES, PipelineEntry

Handler = Callable[[argparse.Namespace], int]
# commands that write into a corpus OUT made by another command: their files join OUT's
# record of what synthaudio wrote (what --overwrite may replace; synthaudio/run/outdir.py)
_WRITE_INTO_OUT = ("export", "evaluate", "report", "sessions-eval")


def _recorded(args: argparse.Namespace) -> contextlib.AbstractContextManager[None]:
    if args.command not in _WRITE_INTO_OUT:
        return contextlib.nullcontext()
    from synthaudio.run.engine import OUTPUTS
    from synthaudio.run.outdir import recording

    return recording(Path(args.out), OUTPUTS)


def _range(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(x) for x in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MIN:MAX, got {text!r}") from None
    return lo, hi


def _cmd_pipeline(args: argparse.Namespace, entry: PipelineEntry) -> int:
    """A pipeline's subcommand: its ``command`` (or ``make(CONFIG, OUT, ...)``), then its
    summary."""
    jobs = jobs_of(args)
    command = resolve(entry.command) if entry.command is not None else run_config_command
    print(command(args, entry, jobs).format())
    return 0


def _pipeline_parser(sub: Any, entry: PipelineEntry) -> None:
    """The subcommand of a registered pipeline (synthaudio.run.pipelines)."""
    p = _subparser(sub, entry.name, entry.description)
    if entry.arguments is not None:
        resolve(entry.arguments)(p, entry)
    else:
        config_arguments(p, entry)
        run_args(p)
    p.set_defaults(func=functools.partial(_cmd_pipeline, entry=entry))


def _cmd_detect(args: argparse.Namespace) -> int:
    from synthaudio.train.detect import detect_keywords, detections_csv

    found = detect_keywords(Path(args.model), [Path(a) for a in args.audio], args.threshold,
                            None if args.output is None else Path(args.output),
                            verify=not args.no_verify)
    if args.output is None:
        print(detections_csv(found), end="")
    else:
        print(f"{len(found)} detections in {len(args.audio)} files -> {args.output}")
    return 0


def _cmd_voices(args: argparse.Namespace) -> int:
    if args.engine != "espeak-ng":
        return _other_engine_voices(args)
    if args.model is not None:  # never ignored in silence
        raise SynthaudioError(f"--model: espeak-ng takes no model file (give --engine with an "
                              f"engine that does, e.g. --engine piper --model {args.model})")
    from synthaudio.tts.espeak import EspeakEngine
    from synthaudio.tts.espeak_data import shipped_variants

    engine = EspeakEngine()
    print(f"espeak-ng {engine.version()}: voices (use as speakers.voices)")
    for v in sorted(engine.voices(), key=lambda v: v.name):
        if args.lang is None or v.name.startswith(args.lang.lower()):
            print(f"  {v.name:<20} {','.join(v.languages)}")
    print("variants (use as speakers.variants; 'none' is the plain voice):")
    print("  " + " ".join(shipped_variants()))
    return 0


def _other_engine_voices(args: argparse.Namespace) -> int:
    """``voices --engine NAME``: the engine registry's voice listing."""
    from synthaudio.tts.engines import ENGINES

    entry = ENGINES.get(args.engine, "--engine")
    section = None
    if args.model is not None:
        if entry.section is None or entry.config_model is None:
            raise SynthaudioError(f"--model: {entry.name} takes no model")
        try:
            section = entry.validate_section({"model": str(Path(args.model).absolute())})
        except ValueError as exc:
            raise SynthaudioError(f"--model: not a model of {entry.name}: "
                                  f"{str(exc).splitlines()[0]}") from None
    elif args.config is not None:
        from synthaudio.pipelines.generate.config import load_corpus_config

        section = load_corpus_config(Path(args.config)).speakers.engine_section(entry.name)
    if section is None and entry.section_required:
        raise SynthaudioError(f"--engine {entry.name}: give --model PATH or --config "
                              f"CORPUS.yaml with speakers.{entry.section}")
    voices = entry.list_voices(section)
    print(f"{entry.name} {entry.get_version() or '(version unknown)'}: {len(voices)} voices"
          + ("" if entry.word_timings else " (no word timings: force-aligned)"))
    if not voices and entry.section is not None and section is None:
        print(f"  (its voices depend on speakers.{entry.section}: give --config CORPUS.yaml)")
    for v in voices:  # in the engine's order (a Piper model's: by speaker id)
        if args.lang is None or any(lang.startswith(args.lang.lower()) for lang in v.languages):
            print(f"  {v.name:<28} {','.join(v.languages)}  {v.gender or ''}".rstrip())
    return 0


def _cmd_rirs(args: argparse.Namespace) -> int:
    from synthaudio.augment.rirbank import build_rir_bank
    from synthaudio.augment.room.config import RoomConfig

    try:
        cfg = RoomConfig(rt60_s=args.rt60)
    except ValueError as exc:
        raise SynthaudioError(f"--rt60: {str(exc).splitlines()[-1].strip()}") from None
    with _flags_for("build_rir_bank", {"count": "--count", "sample_rate": "--sample-rate",
                                       "jobs": "-j/--jobs"}):
        bank = build_rir_bank(Path(args.out), cfg, args.count, args.sample_rate, args.seed,
                              jobs=jobs_of(args), progress=not args.quiet)
    print(f"{len(bank.entries)} RIRs in {args.out} (index.jsonl)")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from synthaudio.manifests.export import export_corpus

    report = export_corpus(Path(args.out), [f for f in args.format.split(",") if f],
                           absolute_paths=args.absolute_paths, shard_size=args.shard_size,
                           jobs=jobs_of(args), executor=args.executor, ray_address=args.ray_address,
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
    target = Path(args.out)
    if not (target / "metadata.jsonl").is_file() and (target / "wav.scp").is_file():
        from synthaudio.evaluate.evaluate import evaluate_kaldi_dir

        if args.split is not None:
            raise SynthaudioError(f"--split: {target} is a Kaldi data directory (wav.scp), "
                                  "not a corpus: it has no splits")
        summary = evaluate_kaldi_dir(target, asr=args.asr, name=args.name, jobs=jobs_of(args),
                                     gate=gate, executor=args.executor,
                                     ray_address=args.ray_address, progress=not args.quiet)
    else:
        summary = evaluate_corpus(target, split=args.split or "test", asr=args.asr,
                                  name=args.name, jobs=jobs_of(args), gate=gate,
                                  executor=args.executor, ray_address=args.ray_address,
                                  progress=not args.quiet)
    print(format_table(summary))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from synthaudio.evaluate.report import write_report

    compare = Path(args.compare) if args.compare else None
    print(write_report(Path(args.out), compare=compare, jobs=jobs_of(args),
                       progress=not args.quiet))
    return 0


# ---- profile, match, compare (synthaudio/profile/) ----


def _cmd_profile(args: argparse.Namespace) -> int:
    from synthaudio.profile.features import FAMILIES
    from synthaudio.profile.profile import ProfileOptions, check_families, profile_corpus

    skip = [s for s in (args.skip or "").split(",") if s]
    check_families(skip)
    options = ProfileOptions(families=tuple(f for f in FAMILIES if f not in skip))
    summary = profile_corpus(Path(args.corpus), Path(args.out), options=options,
                             jobs=jobs_of(args), progress=not args.quiet, executor=args.executor,
                             ray_address=args.ray_address)
    print(summary.format())
    return 0


def _cmd_match(args: argparse.Namespace) -> int:
    from synthaudio.profile.match import write_matched

    print(f"matched config: {write_matched(args.profile, args.config, args.out, args.widen)}")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from synthaudio.profile.compare import compare_profiles
    from synthaudio.profile.profile import load_profile

    result = compare_profiles(load_profile(args.a), load_profile(args.b))
    print(result.format(Path(args.a).stem, Path(args.b).stem))
    return 0


def _profile_parsers(sub: argparse._SubParsersAction) -> None:
    from synthaudio.profile.features import FAMILIES

    p = _subparser(sub, "profile", "measure a corpus (Kaldi dir, audio folder or OUT) into "
                                   "PROFILE.json")
    p.add_argument("corpus", help="a Kaldi data dir, a folder of audio files or a corpus")
    p.add_argument("-o", "--out", required=True, help="the profile file (JSON)")
    p.add_argument("-j", "--jobs", type=positive_int, default=1, help="worker processes")
    p.add_argument("--skip", help=f"comma list of measurements to leave out ({','.join(FAMILIES)})")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    executor_args(p)
    p.set_defaults(func=_cmd_profile)

    p = _subparser(sub, "match", "write a config whose randomization covers a profile")
    p.add_argument("profile", help="PROFILE.json of the target (synthaudio profile)")
    p.add_argument("config", help="base corpus.yaml or augment config")
    p.add_argument("-o", "--out", required=True, help="the matched config (YAML)")
    p.add_argument("--widen", type=float, default=0.25,
                   help="margin on each side of every fitted 5-95%% range, as a share of its "
                        "width")
    p.set_defaults(func=_cmd_match)

    p = _subparser(sub, "compare", "distances between two profiles (A: the reference)")
    p.add_argument("a", help="the reference PROFILE.json")
    p.add_argument("b", help="the PROFILE.json compared with it")
    p.set_defaults(func=_cmd_compare)


@contextlib.contextmanager
def _flags_for(function: str, flags: dict[str, str]) -> Iterator[None]:
    """Re-word ``"function: param ..."`` errors of a library call as ``"--flag ..."``."""
    try:
        yield
    except SynthaudioError as exc:
        message = str(exc)
        for param, flag in flags.items():
            prefix = f"{function}: {param} "
            if message.startswith(prefix):
                raise type(exc)(f"{flag}: {message.removeprefix(prefix)}") from None
        raise


class _HelpFormatter(argparse.HelpFormatter):
    """Appends "(default: X)" to an option's help unless the default is None or False."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if ("%(default)" in text or default is None or default is False
                or default == argparse.SUPPRESS or not action.option_strings):
            return text
        shown = ":".join(f"{x:g}" for x in default) if isinstance(default, tuple) else "%(default)s"
        return f"{text} (default: {shown})"


# ---- sessions (issue 17) ----------------------------------------------------------------


def _cmd_sessions_eval(args: argparse.Namespace) -> int:
    from synthaudio.pipelines.sessions.evaluate import evaluate_sessions

    scores = evaluate_sessions(Path(args.out), diarization=args.diarization,
                               transcripts=args.transcripts, split=args.split,
                               collar=args.collar, skip_overlap=args.skip_overlap,
                               name=args.name)
    print(scores.format())
    return 0


def _sessions_parsers(sub: Any) -> None:
    _pipeline_parser(sub, PIPELINES.get("sessions"))

    p = _subparser(sub, "sessions-eval", "DER/JER (pyannote.metrics) and cpWER (meeteval) of "
                                         "a system on a session corpus split")
    p.add_argument("out", help="session corpus folder")
    p.add_argument("--diarization", metavar="hyp:FILE", help="the system's RTTM")
    p.add_argument("--transcripts", metavar="hyp:FILE|asr:SPEC",
                   help="the system's transcripts (SegLST JSON, or STM), or asr:SPEC "
                        "(asr:faster-whisper[:MODEL], asr:pocketsphinx): that ASR over each "
                        "reference turn (oracle segments and speakers)")
    p.add_argument("--split", default="test", help="split to score")
    p.add_argument("--collar", type=float, default=0.0,
                   help="pyannote's collar: seconds removed around each reference boundary, "
                        "half on each side")
    p.add_argument("--skip-overlap", action="store_true", help="do not score overlapped speech")
    p.add_argument("--name", default="sessions", help="results folder under OUT/eval/")
    p.set_defaults(func=_cmd_sessions_eval)


def _subparser(sub: Any, name: str, help_text: str) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=help_text,
                                                formatter_class=_HelpFormatter)
    # also after the subcommand; SUPPRESS keeps a --debug given before it
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="show tracebacks")
    return p


def build_parser() -> argparse.ArgumentParser:
    from synthaudio import __version__
    from synthaudio.manifests.formats import EXPORTERS, default_formats
    from synthaudio.tts.engines import ENGINES

    parser = argparse.ArgumentParser(prog="synthaudio", description=__doc__.splitlines()[0],
                                     formatter_class=_HelpFormatter)
    parser.add_argument("--version", action="version", version=f"synthaudio {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    _pipeline_parser(sub, PIPELINES.get("generate"))
    _pipeline_parser(sub, PIPELINES.get("keywords"))

    p = _subparser(sub, "detect", "find keywords in long recordings with a trained keyword "
                                  "model (CSV: file, keyword, start_s, end_s, score)")
    p.add_argument("model", help="keyword model (model.pt of recipes/keywords/run.py)")
    p.add_argument("audio", nargs="+", help="audio files (any rate; the first channel)")
    p.add_argument("--threshold", type=float,
                   help="one threshold for every keyword (default: the model's own, chosen "
                        "on its dev streams; with the verifier: its second stage's)")
    p.add_argument("--no-verify", action="store_true",
                   help="the head alone, without the word-vector verifier of a model that "
                        "has one (word_classifier.npz beside it)")
    p.add_argument("-o", "--output", help="write the detections here (default: stdout)")
    p.set_defaults(func=_cmd_detect)

    engines = ENGINES.entries()
    p = _subparser(sub, "voices", "list the voices of a TTS engine")
    p.add_argument("--engine", choices=[e.name for e in engines], default="espeak-ng",
                   help="; ".join(f"{e.name}: {e.description}" for e in engines))
    p.add_argument("--lang", help="only voices whose name (espeak-ng) or language starts "
                                  "with this")
    p.add_argument("--config", help="corpus.yaml whose speakers.<engine> section selects the "
                                    "voices (engines such as coqui-tts)")
    p.add_argument("--model", help="the model file to list the voices or speakers of "
                                   "(e.g. a Piper PATH.onnx)")
    p.set_defaults(func=_cmd_voices)

    p = _subparser(sub, "rirs", "build a room impulse response bank")
    p.add_argument("-o", "--out", required=True, help="bank folder (index.jsonl + RIRs)")
    p.add_argument("--count", type=positive_int, default=100, help="rooms to simulate")
    p.add_argument("--rt60", type=_range, default=(0.2, 1.2),
                   help="MIN:MAX target reverberation time, seconds")
    p.add_argument("--sample-rate", type=positive_int, default=16000, help="Hz")
    p.add_argument("--seed", type=int, default=0, help="bank seed (room i draws from [seed, i])")
    jobs_arg(p)
    quiet_arg(p)
    p.set_defaults(func=_cmd_rirs)

    _pipeline_parser(sub, PIPELINES.get("augment"))

    formats = EXPORTERS.entries()
    p = _subparser(sub, "export", "(re)write manifests from OUT/metadata.jsonl")
    p.add_argument("out", help="corpus folder")
    p.add_argument("--format", default=",".join(default_formats()),
                   help="comma list of " + ", ".join(f.name for f in formats) + " or all ("
                        + "; ".join(f"{f.name}: {f.description}" for f in formats) + ")")
    p.add_argument("--absolute-paths", action="store_true",
                   help="absolute audio paths in wav.scp, NeMo and SpeechBrain manifests")
    p.add_argument("--shard-size", type=positive_int, default=1000,
                   help="samples per WebDataset shard")
    jobs_arg(p, "workers writing WebDataset shards")
    executor_args(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_export)

    p = _subparser(sub, "validate", "check a corpus; exit 1 when any problem")
    p.add_argument("out", help="corpus folder")
    p.set_defaults(func=_cmd_validate)

    p = _subparser(sub, "evaluate", "WER of an ASR on a corpus split or a Kaldi data directory")
    p.add_argument("out", help="corpus folder (OUT/metadata.jsonl) or Kaldi data directory "
                               "(wav.scp, text); results go to OUT/eval/NAME/")
    p.add_argument("--split", help="corpus split to decode (default: test; not for a Kaldi "
                                   "directory)")
    p.add_argument("--asr", default="pocketsphinx",
                   help="pocketsphinx, pocketsphinx:corpus-lm, faster-whisper[:MODEL][,beam_size="
                        "N,language=L,compute_type=T,device=D,threads=N], whisper:MODEL or "
                        "hyp:FILE")
    p.add_argument("--name", help="results folder name under OUT/eval/ (default: from --asr)")
    jobs_arg(p, "decoding workers")
    p.add_argument("--gate", help="max_cer=X marks utterances the ASR cannot read")
    executor_args(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_evaluate)

    p = _subparser(sub, "report", "write OUT/report/index.html")
    p.add_argument("out", help="corpus folder")
    p.add_argument("--compare", metavar="PROFILE",
                   help="draw OUT's measured distributions beside this profile's (OUT is "
                        "profiled into OUT/profile.json unless that file is there)")
    p.add_argument("-j", "--jobs", type=positive_int, default=1,
                   help="workers profiling OUT for --compare")
    quiet_arg(p)
    p.set_defaults(func=_cmd_report)
    _profile_parsers(sub)
    _sessions_parsers(sub)
    builtin = PIPELINES.names(plugins=False)
    for entry in PIPELINES.entries():  # pipelines other packages add (entry points)
        if entry.name not in builtin:
            _pipeline_parser(sub, entry)
    return parser


def _quiet_broken_pipe() -> int:
    """The reader of stdout went away (``| head``): no message, no flush error at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141  # 128 + SIGPIPE, like a program killed by it


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit:  # --help, --version, a usage error: flush inside the try
            sys.stdout.flush()
            raise
    except BrokenPipeError:  # --help | head
        return _quiet_broken_pipe()
    except SynthaudioError as exc:  # a broken plugin entry point, while listing choices
        print(f"synthaudio: error: {exc}", file=sys.stderr)
        return 2
    try:
        with _recorded(args):
            code = int(args.func(args))
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        return _quiet_broken_pipe()
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

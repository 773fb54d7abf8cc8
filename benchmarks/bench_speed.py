"""CPU seconds per second of audio: the baseline commit against this tree, side by side.

Two questions, each answered by child processes whose CPU time (user + sys, their own
children such as Festival's included: ``os.wait4``) is read by this process, so the figure
is per core whatever else the machine runs:

1. the default digits corpus (``corpora/digits/corpus.yaml``, every engine), scaled to
   ``--speakers`` speakers x ``--per-speaker`` utterances (20 x 20: espeak-ng 6, Flite 6,
   Piper 4, Festival 2, Pico 2; the RIR bank and the rest as they are): ``synthaudio
   generate -j 1`` end to end, a fresh process (imports included) at the baseline commit
   and at HEAD (each checked out into a temporary git worktree: committed code only; each
   side runs its own code and its own config); the ratio of their CPU seconds per audio
   second;
2. the quickstart (``generate -j 1`` warm, in process, as ``bench_generate.py`` measures it)
   against raw espeak-ng synthesis of the same texts and voices, each side.

Sides alternate run by run; medians over ``--repeats`` runs (at least 3). A run of a few
hundred utterances pays costs the full corpus (8,000) spreads thin: imports (~1.7 s CPU, onnx
~0.9 s of it), the 100-room RIR bank (~2.5 s) and the babble pool (24 clips, Piper's model
loaded: ~1.5 s). So the digits corpus is also run with ``--small-per-speaker`` utterances a
speaker (the same speakers), and the marginal cost, (CPU large - CPU small) / (audio large -
audio small), is reported beside the end-to-end one: what each further hour costs.

    python benchmarks/bench_speed.py [--baseline a233fa4] [--repeats 3] [--speakers 20]
        [--per-speaker 20] [--only digits|quickstart] [--check off|packed|alone]

``--check alone`` (the default check: one Whisper decode per rendering; ``packed``: with
``pack: true``) turns the ASR check on
for the head side's digits corpus (WER 0.5, 3 renderings; the baseline commit has none);
its kept audio is what the figure divides by. ``--check-both`` turns the same check on for
the baseline side too (a baseline that has ``quality.asr``: d8f2d0f and later).

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "a233fa4"


def child_cpu_s(cmd: list[str], cwd: Path) -> tuple[float, str]:
    """(user + sys CPU seconds of ``cmd`` and its waited-for descendants, its stdout)."""
    env = {**os.environ, "PYTHONPATH": str(cwd), "OMP_NUM_THREADS": "1"}
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read().decode() if proc.stderr else ""
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed in {cwd}: {err.strip()[-800:]}")
        out.seek(0)
        return usage.ru_utime + usage.ru_stime, out.read().decode()


def audio_seconds(out_dir: Path) -> float:
    with (out_dir / "metadata.jsonl").open(encoding="utf-8") as f:
        return sum(float(json.loads(line)["duration_s"]) for line in f)


# --check: the ASR check (quality.asr) of the head side's digits corpus; the baseline has none
CHECKS: dict[str, dict[str, Any] | None] = {
    "off": None,
    "packed": {"backend": "faster-whisper", "metric": "wer", "max_error": 0.5,
               "max_attempts": 3, "voice_attempts": 2, "pack": True},
    "alone": {"backend": "faster-whisper", "metric": "wer", "max_error": 0.5,
              "max_attempts": 3, "voice_attempts": 2},
}


def digits_config(side: Path, target: Path, speakers: int, per_speaker: int,
                  check: dict[str, Any] | None = None) -> Path:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from _common import variant_config

    extra: dict[str, Any] = {} if check is None else {"quality": {"asr": check}}
    return variant_config(side / "corpora" / "digits" / "corpus.yaml", target,
                          speakers__count=speakers, utterances__per_speaker=per_speaker,
                          **extra)


def run_digits(side: Path, config: Path, out_dir: Path) -> dict[str, float]:
    cpu, _ = child_cpu_s([sys.executable, "-m", "synthaudio.cli", "generate", str(config),
                          "-o", str(out_dir), "-j", "1", "-q"], side)
    audio = audio_seconds(out_dir)
    return {"cpu_s": cpu, "audio_s": audio, "ms_per_audio_s": 1000 * cpu / audio}


# --- the quickstart child ----------------------------------------------------------------


def _self_cpu_s() -> float:
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def quickstart_child() -> None:
    """In the side's tree (PYTHONPATH): warm ``generate -j 1`` of the quickstart, and raw
    espeak-ng on its texts and voices; prints JSON."""
    import synthaudio

    if (Path(synthaudio.__file__).parent / "corpus" / "generate.py").is_file():
        # a baseline of the earlier layout (a233fa4); the tree's own modules, not the
        # installed checkout's (an editable install would answer for missing ones)
        from synthaudio.config import load_corpus_config  # type: ignore[no-redef]
        from synthaudio.corpus.generate import generate_corpus  # type: ignore[no-redef]
        from synthaudio.corpus.plan import plan_corpus  # type: ignore[no-redef]
    else:
        from synthaudio.pipelines.generate.config import load_corpus_config
        from synthaudio.pipelines.generate.pipeline import generate_corpus
        from synthaudio.pipelines.generate.plan import plan_corpus

    config = Path("corpora/quickstart/corpus.yaml").resolve()
    plan = plan_corpus(load_corpus_config(config), config.parent)
    texts = [(u.text, u.speaker.voice) for u in plan.utterances]
    with tempfile.TemporaryDirectory() as tmp:
        generate_corpus(config, Path(tmp) / "warm", jobs=1, progress=False)  # imports, caches
        cpu0 = _self_cpu_s()
        generate_corpus(config, Path(tmp) / "run", jobs=1, progress=False)
        cpu = _self_cpu_s() - cpu0
        audio = audio_seconds(Path(tmp) / "run")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from _common import raw_espeak

    raw_cpu, raw_audio = raw_espeak(texts, time.process_time)
    print(json.dumps({"generate_cpu_s": cpu, "generate_audio_s": audio,
                      "raw_cpu_s": raw_cpu, "raw_audio_s": raw_audio}))


def run_quickstart(side: Path) -> dict[str, float]:
    _, out = child_cpu_s([sys.executable, str(Path(__file__).resolve()), "--child-quickstart"],
                         side)
    r = json.loads(out.strip().splitlines()[-1])
    gen = r["generate_audio_s"] / r["generate_cpu_s"]
    raw = r["raw_audio_s"] / r["raw_cpu_s"]
    return {"generate_x_real_time_per_core": gen, "raw_x_real_time_per_core": raw,
            "ratio_to_raw": gen / raw}


# --- main ---------------------------------------------------------------------------------


def median_of(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", default=BASELINE, help="the commit to compare with")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--speakers", type=int, default=20)
    ap.add_argument("--per-speaker", type=int, default=20)
    ap.add_argument("--small-per-speaker", type=int, default=2,
                    help="the small run of the marginal cost (0: none)")
    ap.add_argument("--only", choices=("digits", "quickstart"))
    ap.add_argument("--check", choices=tuple(CHECKS), default="off",
                    help="the ASR check on the head side's digits corpus (alone: the "
                    "default quality.asr; packed: pack: true)")
    ap.add_argument("--check-both", action="store_true",
                    help="the same ASR check on the baseline side too (a baseline that has "
                    "quality.asr: d8f2d0f and later)")
    ap.add_argument("--child-quickstart", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_quickstart:
        quickstart_child()
        return 0
    if args.repeats < 3:
        ap.error("--repeats: at least 3 (medians)")
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.strip()
    result: dict[str, Any] = {"baseline": args.baseline, "head": head, "repeats": args.repeats}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        base, tip = tmp / "baseline", tmp / "head"
        for where, commit in ((base, args.baseline), (tip, "HEAD")):  # committed code only
            subprocess.run(["git", "worktree", "add", "--detach", "-f", str(where), commit],
                           cwd=ROOT, check=True, capture_output=True)
        sides = {"baseline": base, "head": tip}
        try:
            if args.only in (None, "digits"):
                check = {"baseline": CHECKS[args.check] if args.check_both else None,
                         "head": CHECKS[args.check]}
                configs = {name: digits_config(side, tmp / f"digits-{name}.yaml", args.speakers,
                                               args.per_speaker, check[name])
                           for name, side in sides.items()}
                small = {name: digits_config(side, tmp / f"small-{name}.yaml", args.speakers,
                                             args.small_per_speaker, check[name])
                         for name, side in sides.items()} if args.small_per_speaker else {}
                runs: dict[str, list[dict[str, float]]] = {name: [] for name in sides}
                marginal: dict[str, list[float]] = {name: [] for name in sides}
                for i in range(args.repeats):
                    order = list(sides) if i % 2 == 0 else list(reversed(sides))
                    for name in order:
                        runs[name].append(run_digits(sides[name], configs[name],
                                                     tmp / f"digits-{name}-{i}"))
                        print(json.dumps({"digits": name, **runs[name][-1]}), file=sys.stderr)
                        if name in small:
                            few = run_digits(sides[name], small[name], tmp / f"small-{name}-{i}")
                            big = runs[name][-1]
                            marginal[name].append(1000 * (big["cpu_s"] - few["cpu_s"])
                                                  / (big["audio_s"] - few["audio_s"]))
                            print(json.dumps({"digits small": name, **few}), file=sys.stderr)
                ms = {name: median_of(r, "ms_per_audio_s") for name, r in runs.items()}
                if small:
                    mm = {name: statistics.median(v) for name, v in marginal.items()}
                    result["digits_marginal"] = {
                        "per_speaker": [args.small_per_speaker, args.per_speaker],
                        "cpu_ms_per_audio_s": {n: round(v, 2) for n, v in mm.items()},
                        "x_real_time_per_core": {n: round(1000 / v, 1) for n, v in mm.items()},
                        "speedup": round(mm["baseline"] / mm["head"], 3),
                        "runs": {n: [round(x, 2) for x in v] for n, v in marginal.items()},
                    }
                result["digits"] = {
                    "utterances": args.speakers * args.per_speaker,
                    "head_asr_check": args.check,
                    "baseline_asr_check": args.check if args.check_both else "off",
                    "audio_s": {n: round(median_of(r, "audio_s"), 1) for n, r in runs.items()},
                    "cpu_ms_per_audio_s": {n: round(v, 2) for n, v in ms.items()},
                    "x_real_time_per_core": {n: round(1000 / v, 1) for n, v in ms.items()},
                    "speedup": round(ms["baseline"] / ms["head"], 3),
                    "target": 3.0,
                    "runs_ms_per_audio_s": {n: [round(x["ms_per_audio_s"], 2) for x in r]
                                            for n, r in runs.items()},
                }
            if args.only in (None, "quickstart"):
                qruns: dict[str, list[dict[str, float]]] = {name: [] for name in sides}
                for i in range(args.repeats):
                    order = list(sides) if i % 2 == 0 else list(reversed(sides))
                    for name in order:
                        qruns[name].append(run_quickstart(sides[name]))
                        print(json.dumps({"quickstart": name, **qruns[name][-1]}),
                              file=sys.stderr)
                result["quickstart"] = {
                    name: {key: round(median_of(r, key), 3) for key in r[0]}
                    for name, r in qruns.items()}
                result["quickstart"]["target_ratio_to_raw"] = 0.25
        finally:
            for where in (base, tip):
                subprocess.run(["git", "worktree", "remove", "--force", str(where)], cwd=ROOT,
                               capture_output=True)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

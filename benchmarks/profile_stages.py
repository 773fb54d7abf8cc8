"""Where ``generate -j 1`` spends its CPU time: seconds per stage, per second of audio made.

The stages' functions are wrapped, in this process only, by timers of the calling thread's
CPU time (``time.thread_time``), exclusive of the stages nested inside them (a resampling
inside the channel stage counts as channel); Festival's own process is read from /proc
around each of its utterances. Nothing of the corpus changes: the wrappers call the
functions they wrap. "other" is the process's CPU time (every thread) less the stages.

    python benchmarks/profile_stages.py [--config corpora/digits/corpus.yaml] [--limit 320]
        [--cprofile N]

Prints one JSON object: per stage CPU s, ms per audio s, and the share of the total;
``--cprofile N`` also prints cProfile's N costliest functions (by own time) to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import io
import json
import os
import pstats
import resource
import sys
import tempfile
import threading
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

_LOCAL = threading.local()
_TOTALS: dict[str, float] = {}
_CALLS: dict[str, int] = {}
_LOCK = threading.Lock()
_PREPARE = "prepare (RIR bank, babble pool)"


def _stack() -> list[list[Any]]:
    stack = getattr(_LOCAL, "stack", None)
    if stack is None:
        stack = _LOCAL.stack = []
    return stack


def _charge(name: str, seconds: float, calls: int = 0) -> None:
    with _LOCK:
        _TOTALS[name] = _TOTALS.get(name, 0.0) + seconds
        _CALLS[name] = _CALLS.get(name, 0) + calls


@contextlib.contextmanager
def stage(name: str) -> Iterator[None]:
    """Charge this thread's CPU time inside the block to ``name``, less nested stages."""
    stack = _stack()
    if any(f[0] == _PREPARE for f in stack):
        yield  # the babble pool's TTS is part of preparing, not of the utterances
        return
    now = time.thread_time()
    if stack:  # pause the enclosing stage
        outer = stack[-1]
        _charge(outer[0], now - outer[1])
    stack.append([name, now])
    try:
        yield
    finally:
        now = time.thread_time()
        _charge(name, now - stack.pop()[1], 1)
        if stack:
            stack[-1][1] = now


def timed(name: str | Callable[..., str], fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with stage(name(*args, **kwargs) if callable(name) else name):
            return fn(*args, **kwargs)
    return wrapper


def patch(owner: Any, attr: str, name: str | Callable[..., str]) -> None:
    setattr(owner, attr, timed(name, getattr(owner, attr)))


def _proc_cpu_s(pid: int) -> float:
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def install() -> None:
    """Wrap the stages' functions (module attributes the pipeline calls through)."""
    import soxr

    from synthaudio.augment import augmenter
    from synthaudio.pipelines.generate import pipeline as generate
    from synthaudio.pipelines.generate import render
    from synthaudio.run import engine as run
    from synthaudio.tts import espeak_binding
    from synthaudio.tts.engines import engine_of
    from synthaudio.tts.espeak_binding import EspeakVoice

    def tts_name(self: Any, text: str, voice: Any) -> str:
        return "tts:espeak-ng" if isinstance(voice, EspeakVoice) else f"tts:{engine_of(voice).name}"

    from synthaudio.tts import render as speech

    patch(render.Renderer, "_synthesize", tts_name)
    patch(espeak_binding._Library, "begin_session", "tts:espeak-ng session load")
    patch(espeak_binding._Library, "end_session", "tts:espeak-ng session load")
    patch(speech, "align_or_estimate", "alignment (pocketsphinx)")
    patch(speech, "apply_conversion", "voice conversion (WORLD)")
    speech.soxr = types.SimpleNamespace(  # type: ignore[attr-defined]
        resample=timed("resampling (soxr)", soxr.resample))
    patch(render.Renderer, "synthesize", "render glue (prosody jitter, rngs, words)")
    patch(render.Renderer, "render", "metadata record")
    patch(render, "write_files", "writing audio (writer thread)")
    patch(augmenter, "apply_speed", "augment: speed")
    def reverb_name(self: Any, x: Any, rir_id: str, num_out: int,
                    source: str = "speech") -> str:  # point noise's convolution is noise's
        return "augment: room (RIR convolution)" if source == "speech" else "augment: noise"

    patch(augmenter.Augmenter, "_reverb", reverb_name)
    for fn in ("render_noise", "mix_at_snr", "measure_snr_db"):
        patch(augmenter, fn, "augment: noise")
    patch(augmenter, "apply_channel", "augment: channel")
    patch(augmenter.Augmenter, "sample", "augment: sampling")
    patch(augmenter.Augmenter, "__call__", "augment: level, report")
    patch(run, "_render_groups", "commit group records")
    patch(run, "merge_records", "merge metadata.jsonl")
    patch(run, "_export", "exports")
    patch(generate.GeneratePipeline, "prepare", _PREPARE)
    patch(generate, "plan_corpus", "plan")
    from synthaudio.pipelines.generate import quality
    from synthaudio.tts.festival import FestivalEngine

    patch(quality.ASRCheck, "score", "ASR check (quality.asr)")
    inner = FestivalEngine.synthesize

    def festival(self: Any, text: str, voice: Any) -> Any:
        proc = self._process()
        before = _proc_cpu_s(proc.pid)
        out = inner(self, text, voice)
        if not any(f[0] == _PREPARE for f in _stack()):
            _charge("tts:festival (its process)", _proc_cpu_s(proc.pid) - before)
        return out

    FestivalEngine.synthesize = festival  # type: ignore[method-assign]


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=Path("corpora/digits/corpus.yaml"))
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--cprofile", type=int, default=0, metavar="N")
    args = ap.parse_args(argv)

    from synthaudio.pipelines.generate.pipeline import generate_corpus

    install()
    profiler = cProfile.Profile() if args.cprofile else None
    with tempfile.TemporaryDirectory() as tmp:
        cpu0, wall0 = cpu_s(), time.perf_counter()
        if profiler is not None:
            profiler.enable()
        with stage("generate_corpus (checks, OUT, other)"):
            summary = generate_corpus(args.config, Path(tmp) / "out", jobs=1, limit=args.limit,
                                      progress=False)
        if profiler is not None:
            profiler.disable()
        total = cpu_s() - cpu0 + _TOTALS.get("tts:festival (its process)", 0.0)
        wall = time.perf_counter() - wall0
    audio_s = summary.audio_s
    staged = sum(_TOTALS.values())
    rows = dict(sorted(_TOTALS.items(), key=lambda kv: -kv[1]))
    rows["other (threads, unwrapped)"] = total - staged
    out = {
        "config": str(args.config), "limit": args.limit, "utterances": summary.rendered,
        "audio_s": round(audio_s, 1), "cpu_s": round(total, 2), "wall_s": round(wall, 1),
        "x_real_time_per_core": round(audio_s / total, 1),
        "stages": {k: {"cpu_s": round(v, 3), "ms_per_audio_s": round(1000 * v / audio_s, 2),
                       "share": round(v / total, 3), "calls": _CALLS.get(k, 0)}
                   for k, v in rows.items()},
    }
    print(json.dumps(out, indent=1))
    for k, v in out["stages"].items():  # the same, as a table, to stderr
        print(f"{k:<45} {v['cpu_s']:8.3f} s {v['ms_per_audio_s']:8.2f} ms/audio s "
              f"{100 * v['share']:5.1f}%", file=sys.stderr)
    if profiler is not None:
        buf = io.StringIO()
        pstats.Stats(profiler, stream=buf).sort_stats("tottime").print_stats(args.cprofile)
        print(buf.getvalue(), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

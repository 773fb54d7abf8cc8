"""Opus through libopus directly vs libsndfile's Ogg/Opus: CPU and distortion, same speech.

The channel's Opus codec (``augment.channel.codec``, kind ``opus``) runs through libopus
itself since STREAMS_VERSION 5 (:mod:`synthaudio.augment.opus_codec`), where libsndfile's
Ogg/Opus writer ran before. For each compression level of the default range (0.8-0.99):
CPU milliseconds per second of audio of each path, the SNR of each path's decoded audio
against its input (median over the clips: how much the codec distorts), and the SNR of
one path against the other.

    python benchmarks/bench_opus.py [--clips 12] [--repeats 3]

Clips: espeak-ng sentences at 16 kHz (three voices). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import numpy as np

TEXTS = ("turn on the light in the kitchen please", "the quick brown fox jumps over the lazy dog",
         "seven three nine zero two", "what time is it in london on the fourth of july")
LEVELS = (0.8, 0.85, 0.9, 0.95, 0.99)


def speech(count: int) -> list[np.ndarray]:
    import soxr

    from synthaudio.tts.espeak import EspeakEngine
    from synthaudio.tts.espeak_binding import EspeakVoice

    engine = EspeakEngine()
    out = []
    for i in range(count):
        voice = EspeakVoice(("en-us", "en-gb-x-rp", "en")[i % 3], ("m1", "f2", "m3")[i % 3],
                            160, 50, 50, 100, 10)
        synth = engine.synthesize(TEXTS[i % len(TEXTS)], voice)
        audio = soxr.resample(synth.audio, synth.sample_rate, 16000, quality="HQ")
        out.append(np.asarray(audio, dtype=np.float32) * np.float32(0.5))
    return out


def snr_db(x: np.ndarray, y: np.ndarray) -> float:
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    err = float(np.sum((x64 - y64) ** 2))
    return float("inf") if err == 0 else float(10 * np.log10(np.sum(x64**2) / err))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=12)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)

    from synthaudio.augment import channel, opus_codec

    rate = 16000
    clips = speech(args.clips)
    audio_s = sum(c.size for c in clips) / rate

    def libsndfile(x: np.ndarray, level: float) -> np.ndarray:
        decoded = channel._roundtrip(x, "opus", rate, level)
        delay = channel.codec_delay("opus", rate, level)
        return channel._fit(decoded[None, delay:], x.size)[0]

    def libopus(x: np.ndarray, level: float) -> np.ndarray:
        return opus_codec.roundtrip(x, rate, level)

    paths = {"libsndfile": libsndfile, "libopus": libopus}
    rows = {}
    for level in LEVELS:
        row: dict[str, object] = {}
        outs = {}
        for name, fn in paths.items():
            times = []
            for _ in range(args.repeats):
                start = time.process_time()
                outs[name] = [fn(c, level) for c in clips]
                times.append(time.process_time() - start)
            row[f"{name}_cpu_ms_per_audio_s"] = round(1000 * statistics.median(times) / audio_s, 2)
            row[f"{name}_snr_db"] = round(statistics.median(
                snr_db(c, o) for c, o in zip(clips, outs[name], strict=True)), 2)
        row["between_paths_snr_db"] = round(statistics.median(
            snr_db(a, b) for a, b in zip(outs["libsndfile"], outs["libopus"], strict=True)), 1)
        rows[str(level)] = row
    cost = {name: statistics.mean(float(r[f"{name}_cpu_ms_per_audio_s"])  # type: ignore[arg-type]
                                  for r in rows.values()) for name in paths}
    print(json.dumps({"clips": len(clips), "audio_s": round(audio_s, 1),
                      "libopus": opus_codec.version(), "levels": rows,
                      "mean_cpu_ms_per_audio_s": {k: round(v, 2) for k, v in cost.items()},
                      "speedup": round(cost["libsndfile"] / cost["libopus"], 2)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

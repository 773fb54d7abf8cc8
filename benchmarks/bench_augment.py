"""Benchmark: synthaudio's Augmenter vs audiomentations on reverb + background noise.

Both run in this process on the same inputs: ``--clips`` three-second 16 kHz clips cut
from the real-speech fixture, the same RIR files and the same noise files (written to a
temporary folder, since audiomentations reads files). Each side does one warm-up pass,
then ``--repeats`` timed passes, interleaved; the medians are compared.

    python benchmarks/bench_augment.py [--clips 200] [--repeats 5]

Prints one JSON object: both throughputs in clips/s and their ratio (target >= 2).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from synthaudio.augment.augmenter import Augmenter
from synthaudio.augment.config import AugmentConfig
from synthaudio.augment.noise import NoiseFolder, measure_snr_db
from synthaudio.augment.noise_colored import colored_noise
from synthaudio.augment.rirbank import RirBank

SR = 16000
CLIP_S = 3.0
SNR_DB = (5.0, 20.0)
FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "real_speech" / "wav"


def make_clips(count: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``count`` float32 clips of CLIP_S seconds at random offsets in the real speech."""
    files = sorted(FIXTURE.glob("*.wav"))
    if files:
        speech = np.concatenate([sf.read(str(f), dtype="float32")[0] for f in files])
    else:  # fixture missing: a modulated tone complex stands in
        t = np.arange(60 * SR) / SR
        speech = (0.1 * np.sin(2 * np.pi * 150 * t) * (1 + np.sin(2 * np.pi * 3 * t)))
        speech = speech.astype(np.float32)
    n = int(CLIP_S * SR)
    starts = rng.integers(0, speech.size - n, size=count)
    return [np.ascontiguousarray(speech[s:s + n]) for s in starts]


def write_rirs(folder: Path, count: int, rng: np.random.Generator) -> None:
    """Mono RIRs: a direct path then exponentially decaying noise, RT60 0.2-0.8 s."""
    folder.mkdir(parents=True)
    for i in range(count):
        rt60 = rng.uniform(0.2, 0.8)
        m = int(1.2 * rt60 * SR)
        delay = int(rng.integers(20, 200))
        h = 0.3 * rng.standard_normal(m) * np.exp(-6.9 * np.arange(m) / (rt60 * SR))
        h[:delay] = 0.0
        h[delay] = 1.0
        sf.write(str(folder / f"rir{i:03d}.wav"), h.astype(np.float32), SR, subtype="FLOAT")


def write_noises(folder: Path, count: int, rng: np.random.Generator) -> None:
    """20-second 16-bit noise files (pink, brown or white), like a MUSAN folder."""
    folder.mkdir(parents=True)
    for i in range(count):
        color = ("pink", "brown", "white")[i % 3]
        x = 0.05 * colored_noise(color, 20 * SR, SR, rng)
        sf.write(str(folder / f"noise{i:03d}.wav"), x, SR, subtype="PCM_16")


def time_pass(fn: Callable[[int, np.ndarray], np.ndarray], clips: list[np.ndarray]) -> float:
    start = time.perf_counter()
    for i, clip in enumerate(clips):
        fn(i, clip)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rirs", type=int, default=20)
    parser.add_argument("--noises", type=int, default=10)
    args = parser.parse_args()

    from audiomentations import AddBackgroundNoise, ApplyImpulseResponse, Compose
    from audiomentations import __version__ as am_version

    rng = np.random.default_rng(2024)
    clips = make_clips(args.clips, rng)
    with tempfile.TemporaryDirectory() as tmp:
        rir_dir, noise_dir = Path(tmp) / "rirs", Path(tmp) / "noise"
        write_rirs(rir_dir, args.rirs, rng)
        write_noises(noise_dir, args.noises, rng)

        config = AugmentConfig.model_validate({
            "room": {"probability": 1.0, "tail_s": 0.0},  # same length as audiomentations
            "noise": {"probability": 1.0, "snr_db": list(SNR_DB), "kinds": {"folder": 1.0},
                      "noise_dirs": [str(noise_dir)], "num_sources": [1, 1],
                      "point_source_probability": 0.0},
        })
        ours = Augmenter(config, rir_bank=RirBank.from_measured_folder(rir_dir, SR),
                         noise_folders=[NoiseFolder(noise_dir)])
        theirs = Compose([
            ApplyImpulseResponse(ir_path=str(rir_dir), p=1.0),
            AddBackgroundNoise(sounds_path=str(noise_dir), min_snr_db=SNR_DB[0],
                               max_snr_db=SNR_DB[1], p=1.0),
        ])
        snr_errors: list[float] = []

        def check_ours(i: int, clip: np.ndarray) -> np.ndarray:
            result = ours(clip, SR, np.random.default_rng([7, i]))
            assert result.params.noise is not None
            measured = measure_snr_db(result.speech, result.noise)
            snr_errors.append(abs(measured - result.params.noise.snr_db))
            return result.audio

        def run_ours(i: int, clip: np.ndarray) -> np.ndarray:
            return ours(clip, SR, np.random.default_rng([7, i])).audio

        def run_theirs(i: int, clip: np.ndarray) -> np.ndarray:
            return np.asarray(theirs(samples=clip, sample_rate=SR))

        time_pass(check_ours, clips)  # warm-up (file cache, RIR spectra) and SNR check
        time_pass(run_theirs, clips)
        ours_s, theirs_s = [], []
        for _ in range(args.repeats):
            ours_s.append(time_pass(run_ours, clips))
            theirs_s.append(time_pass(run_theirs, clips))

    ours_med, theirs_med = statistics.median(ours_s), statistics.median(theirs_s)
    print(json.dumps({
        "clips": args.clips,
        "clip_s": CLIP_S,
        "sample_rate": SR,
        "repeats": args.repeats,
        "rirs": args.rirs,
        "noise_files": args.noises,
        "synthaudio_clips_per_s": round(args.clips / ours_med, 1),
        "audiomentations_clips_per_s": round(args.clips / theirs_med, 1),
        "ratio": round(theirs_med / ours_med, 2),
        "synthaudio_pass_s": [round(s, 3) for s in ours_s],
        "audiomentations_pass_s": [round(s, 3) for s in theirs_s],
        "synthaudio_max_snr_error_db": float(f"{max(snr_errors):.2g}"),
        "audiomentations_version": am_version,
    }))


if __name__ == "__main__":
    main()

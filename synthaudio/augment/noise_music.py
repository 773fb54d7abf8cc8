"""The ``music`` noise kind: a tonal music-like bed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from synthaudio.augment.noise_sources import _unit_power

if TYPE_CHECKING:
    from synthaudio.augment.noise import NoiseSourceParams
    from synthaudio.augment.noise_kinds import Resources



_MAJOR = (0, 2, 4, 5, 7, 9, 11)


_MINOR = (0, 2, 3, 5, 7, 8, 10)


def music_bed(num_samples: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """A tonal music-like bed: chords of harmonic tones with attack/decay envelopes, unit RMS."""
    out = np.zeros(num_samples, dtype=np.float32)
    scale = _MAJOR if rng.random() < 0.5 else _MINOR
    key = int(rng.integers(45, 58))  # MIDI note of the tonic
    start = 0
    while start < num_samples:
        step_s = rng.uniform(0.3, 1.5)
        ring = min(int((step_s + rng.uniform(0.2, 0.8)) * sample_rate), num_samples - start)
        degree = int(rng.integers(0, 7))
        notes = [key + 12 * ((degree + i) // 7) + scale[(degree + i) % 7] for i in (0, 2, 4)]
        notes.append(notes[0] - 12)  # bass
        if rng.random() < 0.3:
            notes.append(key + 12 + scale[(degree + 6) % 7])  # a seventh-ish colour
        partial_f, partial_a = [], []
        for note in notes:
            f0 = 440.0 * 2 ** ((note - 69) / 12)
            for h in range(1, 6):
                if f0 * h < 0.45 * sample_rate:
                    partial_f.append(f0 * h)
                    partial_a.append(rng.uniform(0.5, 1.0) / h**1.5)
        t = np.arange(ring, dtype=np.float32) / np.float32(sample_rate)
        phases = rng.uniform(0, 2 * np.pi, len(partial_f)).astype(np.float32)
        arg = np.outer(2 * np.pi * np.asarray(partial_f, np.float32), t) + phases[:, None]
        # an explicit sum, not a BLAS product (its thread count would change the bytes)
        tone = np.sum(np.asarray(partial_a, np.float32)[:, None] * np.sin(arg), axis=0)
        attack, decay = rng.uniform(0.005, 0.06), rng.uniform(0.3, 1.5)
        env = (1.0 - np.exp(-t / attack)) * np.exp(-t / decay)
        out[start:start + ring] += rng.uniform(0.5, 1.0) * env * tone
        start += int(step_s * sample_rate)
    return _unit_power(out)


def render_music(src: NoiseSourceParams, num_samples: int, sample_rate: int,
                 rng: np.random.Generator, resources: Resources) -> np.ndarray:
    return music_bed(num_samples, sample_rate, rng)

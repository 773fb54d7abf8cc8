"""The ``impulsive`` noise kind: clicks, knocks, door slams at random times."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import scipy.signal

from synthaudio.augment.noise_sources import _unit_power

if TYPE_CHECKING:
    from synthaudio.augment.noise import NoiseSourceParams
    from synthaudio.augment.noise_kinds import Resources



def impulsive_events(num_samples: int, sample_rate: int, rng: np.random.Generator,
                     ) -> np.ndarray:
    """Short events at random times (clicks, knocks, door-slam-like bursts), unit RMS overall."""
    out = np.zeros(num_samples, dtype=np.float32)
    rate_hz = rng.uniform(0.3, 2.0)
    count = max(1, int(rng.poisson(rate_hz * num_samples / sample_rate)))
    for _ in range(count):
        at = int(rng.integers(0, num_samples))
        kind = int(rng.integers(0, 3))
        if kind == 0:  # click: ~1 ms broadband
            t = np.arange(int(0.004 * sample_rate)) / sample_rate
            burst = rng.standard_normal(t.size) * np.exp(-t / 5e-4)
        elif kind == 1:  # knock: damped low resonance plus a short transient
            t = np.arange(int(0.2 * sample_rate)) / sample_rate
            decay = np.exp(-t / rng.uniform(0.01, 0.05))
            burst = np.sin(2 * np.pi * rng.uniform(80, 400) * t) * decay
            burst += 0.3 * rng.standard_normal(t.size) * np.exp(-t / 0.002)
        else:  # slam: low-passed noise burst with a thump
            t = np.arange(int(0.7 * sample_rate)) / sample_rate
            pole = math.exp(-2 * math.pi * rng.uniform(150, 800) / sample_rate)
            noise = scipy.signal.lfilter([1 - pole], [1, -pole], rng.standard_normal(t.size))
            tau = rng.uniform(0.05, 0.2)
            burst = noise / (np.max(np.abs(noise)) + 1e-12) * np.exp(-t / tau)
            burst += np.sin(2 * np.pi * rng.uniform(40, 80) * t) * np.exp(-t / (tau / 2))
        burst *= 10 ** (rng.uniform(-10, 0) / 20) / (np.max(np.abs(burst)) + 1e-12)
        end = min(num_samples, at + burst.size)
        out[at:end] += burst[: end - at].astype(np.float32)
    return _unit_power(out)


def render_impulsive(src: NoiseSourceParams, num_samples: int, sample_rate: int,
                     rng: np.random.Generator, resources: Resources) -> np.ndarray:
    return impulsive_events(num_samples, sample_rate, rng)

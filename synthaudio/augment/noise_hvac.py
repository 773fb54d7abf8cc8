"""The ``hvac`` noise kind: ventilation as heard in offices, meeting rooms and cars.

Two parts, mono float32 ``(n,)`` at unit mean power:

- airflow rumble: Gaussian noise with power spectral density
  ``1 / (1 + (f / corner_hz) ** (slope_db_oct / 3.0103))`` (flat below the corner, falling
  ``slope_db_oct`` dB per octave above it), slowly modulated (turbulence, 0.1-0.6 Hz,
  up to 20 % depth);
- fan tones: the blade-pass frequency ``blade_hz`` (blades x revolutions per second) and
  its harmonics 2-4, each 6 dB below the one before, with random phases.

``tone_db = 10*log10(P_tones / P_rumble)`` sets their balance. ``sample_hvac`` draws
``blade_hz``, ``corner_hz``, ``slope_db_oct`` and ``tone_db`` into the source's
``options`` (recorded in metadata); the render draws only the noise and phases from the
source's seeded stream. Registered in :mod:`synthaudio.augment.noise_kinds` with weight 0:
a corpus uses it by naming it, e.g. ``kinds: {pink: 1, hvac: 1}``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.fft

from synthaudio.augment.noise_sources import mean_power

if TYPE_CHECKING:
    from synthaudio.augment.config import NoiseConfig
    from synthaudio.augment.noise import NoiseSourceParams
    from synthaudio.augment.noise_kinds import Resources, SampleContext

BLADE_HZ = (30.0, 150.0)  # e.g. 6 blades at 300-1500 rpm
CORNER_HZ = (60.0, 250.0)
SLOPE_DB_OCT = (9.0, 15.0)
TONE_DB = (-15.0, -3.0)
HARMONIC_STEP_DB = -6.0  # each harmonic this much below the previous one
HARMONICS = 4


def sample_hvac(cfg: NoiseConfig, rng: np.random.Generator, ctx: SampleContext,
                ) -> dict[str, Any]:
    """The values one hvac source is rendered with (its ``options``)."""
    return {"options": {
        "blade_hz": round(float(rng.uniform(*BLADE_HZ)), 3),
        "corner_hz": round(float(rng.uniform(*CORNER_HZ)), 3),
        "slope_db_oct": round(float(rng.uniform(*SLOPE_DB_OCT)), 3),
        "tone_db": round(float(rng.uniform(*TONE_DB)), 3),
    }}


def hvac_noise(num_samples: int, sample_rate: int, rng: np.random.Generator, *,
               blade_hz: float, corner_hz: float, slope_db_oct: float, tone_db: float,
               ) -> np.ndarray:
    """Rumble plus fan tones, unit mean power, float32 ``(num_samples,)``."""
    white = rng.standard_normal(num_samples, dtype=np.float32)
    freqs = np.fft.rfftfreq(num_samples, 1.0 / sample_rate)
    psd = 1.0 / (1.0 + (freqs / corner_hz) ** (slope_db_oct / 3.0103))
    spectrum = scipy.fft.rfft(white) * np.sqrt(psd).astype(np.float32)
    spectrum[0] = 0.0
    rumble = scipy.fft.irfft(spectrum, n=num_samples)
    t = np.arange(num_samples) / sample_rate
    depth, rate_hz = rng.uniform(0.0, 0.2), rng.uniform(0.1, 0.6)
    rumble *= 1.0 + depth * np.sin(2 * np.pi * rate_hz * t + rng.uniform(0, 2 * np.pi))
    rumble /= math.sqrt(mean_power(rumble) or 1.0)
    tones = np.zeros(num_samples)
    for k in range(1, HARMONICS + 1):
        if k * blade_hz >= 0.45 * sample_rate:
            break
        amp = 10 ** (HARMONIC_STEP_DB * (k - 1) / 20)
        tones += amp * np.sin(2 * np.pi * k * blade_hz * t + rng.uniform(0, 2 * np.pi))
    power = mean_power(tones)
    if power > 0:
        tones *= math.sqrt(10 ** (tone_db / 10) / power)
    out = rumble + tones
    return (out / math.sqrt(mean_power(out) or 1.0)).astype(np.float32)


def render_hvac(src: NoiseSourceParams, num_samples: int, sample_rate: int,
                rng: np.random.Generator, resources: Resources) -> np.ndarray:
    """The registry's renderer: :func:`hvac_noise` with the source's drawn options."""
    if not src.options:
        raise ValueError("hvac noise needs its drawn options (blade_hz, corner_hz, ...)")
    o = src.options
    return hvac_noise(num_samples, sample_rate, rng, blade_hz=o["blade_hz"],
                      corner_hz=o["corner_hz"], slope_db_oct=o["slope_db_oct"],
                      tone_db=o["tone_db"])

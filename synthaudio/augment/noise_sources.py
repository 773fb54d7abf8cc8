"""What the noise kinds share: the mean power (no BLAS) and unit-power scaling.

Each built-in kind is one module (``noise_colored``, ``noise_hum``, ``noise_music``,
``noise_impulsive``, ``noise_babble``, ``noise_folder``, ``noise_hvac``): its signal maker,
mono float32 ``(n_samples,)`` at unit mean power and a pure function of its arguments and
the Generator it is given, and its ``sample_*``/``render_*`` named in
:data:`synthaudio.augment.noise_kinds.NOISE_KINDS`.
"""

from __future__ import annotations

import math

import numpy as np


def mean_power(x: np.ndarray) -> float:
    """Mean of ``x**2`` over all samples, summed in float64 over 64k-sample chunks.

    numpy's own pairwise sum, not a BLAS dot product: BLAS sums in an order that depends on
    its thread count, which would make the mixed bytes depend on the machine's settings."""
    flat = np.ravel(x)
    if flat.size == 0:
        return 0.0
    total = 0.0
    for start in range(0, flat.size, 1 << 16):
        chunk = flat[start:start + (1 << 16)]
        total += float(np.sum(np.square(chunk, dtype=np.float64)))
    return total / flat.size


def _unit_power(x: np.ndarray) -> np.ndarray:
    """Scale ``x`` to mean power 1 over all its samples (a silent input is returned as is)."""
    x = x.astype(np.float32, copy=False)
    power = mean_power(x)
    if power <= 0.0:
        return x
    return x * np.float32(1.0 / math.sqrt(power))
















"""Measurements on RIRs built with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from synthaudio.augment.acoustics import (
    T30_RANGE_DB,
    direct_path_index,
    measure_c50_db,
    measure_drr_db,
    measure_rt60,
    schroeder_curve,
)

FS = 16000


def exp_decay(rt60_s: float, rng: np.random.Generator | None, channels: int = 1) -> np.ndarray:
    """(K, n) decaying 60 dB in rt60_s; Gaussian noise carrier, or a smooth one if rng is None."""
    n = int(1.5 * rt60_s * FS)
    env = np.exp(-6.9078 * np.arange(n) / FS / rt60_s)
    if rng is None:
        return np.tile(env, (channels, 1))
    return rng.standard_normal((channels, n)) * env


@pytest.mark.parametrize("rt60_s", [0.2, 0.5, 1.0, 2.0])
def test_rt60_of_a_pure_exponential_is_exact(rt60_s: float) -> None:
    h = exp_decay(rt60_s, None)[0]
    assert measure_rt60(h, FS) == pytest.approx(rt60_s, rel=0.002)
    assert measure_rt60(h, FS, T30_RANGE_DB) == pytest.approx(rt60_s, rel=0.002)


@pytest.mark.parametrize("rt60_s", [0.2, 0.5, 1.0])
def test_rt60_of_exponentially_decaying_noise_within_2_percent(rt60_s: float) -> None:
    h = exp_decay(rt60_s, np.random.default_rng(3), channels=8)
    assert measure_rt60(h, FS) == pytest.approx(rt60_s, rel=0.02)
    assert measure_rt60(h, FS, T30_RANGE_DB) == pytest.approx(rt60_s, rel=0.02)


@pytest.mark.parametrize("floor_db", [-60.0, -45.0])
def test_rt60_with_a_noise_floor(floor_db: float) -> None:
    rng = np.random.default_rng(5)
    h = exp_decay(0.6, rng, channels=4)
    h = np.concatenate([h, np.zeros((4, FS))], axis=1)  # a long flat stretch after the decay
    h += rng.standard_normal(h.shape) * 10 ** (floor_db / 20)
    assert measure_rt60(h, FS) == pytest.approx(0.6, rel=0.03)


def test_rt60_needs_enough_decay() -> None:
    h = exp_decay(2.0, None)[0][: int(0.5 * FS)]  # only 15 dB of decay
    with pytest.raises(ValueError, match="decays only"):
        measure_rt60(h, FS)
    with pytest.raises(ValueError, match="all zeros"):
        measure_rt60(np.zeros(100), FS)


def test_schroeder_curve_of_exponential_has_known_slope() -> None:
    h = exp_decay(0.5, None)[0]
    edc = schroeder_curve(h)
    assert edc[0] == 0.0
    assert np.all(np.diff(edc) <= 1e-9)
    slope = (edc[4000] - edc[2000]) / (2000 / FS)  # dB per second
    assert slope == pytest.approx(-60.0 / 0.5, rel=0.001)
    assert schroeder_curve(np.stack([h, h])).shape == (2, h.size)


def test_drr_and_c50_of_two_impulses() -> None:
    h = np.zeros(FS)
    h[100] = 1.0
    h[100 + int(0.010 * FS)] = 0.5  # 10 ms later: reverberant, but early for C50
    h[100 + int(0.080 * FS)] = 0.25  # 80 ms later: late for C50
    assert measure_drr_db(h, FS) == pytest.approx(10 * np.log10(1.0 / (0.25 + 0.0625)), abs=1e-9)
    assert measure_c50_db(h, FS) == pytest.approx(10 * np.log10(1.25 / 0.0625), abs=1e-9)
    # multichannel: mean of the per-channel values
    g = h.copy()
    g[100 + int(0.010 * FS)] = 0.0
    drr = (measure_drr_db(h, FS) + measure_drr_db(g, FS)) / 2
    assert measure_drr_db(np.stack([h, g]), FS) == pytest.approx(drr, abs=1e-9)


def test_direct_path_index_prefers_the_first_strong_arrival() -> None:
    h = np.zeros(1000)
    h[123] = 0.6  # direct path, weaker than ...
    h[300] = 1.0  # ... a reflection
    assert direct_path_index(h) == 123
    h[123] = 0.3  # under half of the reflection: the reflection wins
    assert direct_path_index(h) == 300
    assert direct_path_index(np.stack([np.roll(h, 5), h])) == 305  # channel 0

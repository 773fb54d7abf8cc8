"""Speed perturbation: duration, pitch and word timings scale with the factor."""

from __future__ import annotations

import numpy as np
import pytest

from synthaudio.augment.config import SpeedConfig
from synthaudio.augment.speed import (
    SpeedParams,
    apply_speed,
    rescale_words,
    sample_speed,
    speed_length,
)

SR = 16000


def _peak_hz(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.fft.rfftfreq(x.size, 1 / SR)[np.argmax(spec)])


@pytest.mark.parametrize("factor", [0.9, 1.1, 1.25])
def test_speed_changes_duration_and_pitch(factor: float) -> None:
    n = 3 * SR
    x = (0.5 * np.sin(2 * np.pi * 500 * np.arange(n) / SR)).astype(np.float32)
    y = apply_speed(x, SpeedParams(factor), SR)
    assert y.dtype == np.float32
    assert y.size == round(n / factor) == speed_length(n, factor)
    assert y.size / SR == pytest.approx(3.0 / factor, abs=1 / SR)
    assert _peak_hz(y) == pytest.approx(500 * factor, abs=1.0)


def test_speed_moves_an_event_to_t_over_factor() -> None:
    x = np.zeros(2 * SR, np.float32)
    x[SR] = 1.0  # event at 1.0 s
    for factor in (0.9, 1.1):
        y = apply_speed(x, SpeedParams(factor), SR)
        assert int(np.argmax(np.abs(y))) == pytest.approx(SR / factor, abs=1)


def test_speed_multichannel_and_identity() -> None:
    x = np.random.default_rng(0).standard_normal((3, 8000)).astype(np.float32)
    y = apply_speed(x, SpeedParams(1.1), SR)
    assert y.shape == (3, speed_length(8000, 1.1))
    assert apply_speed(x, SpeedParams(1.0), SR) is x
    with pytest.raises(ValueError, match="factor"):
        apply_speed(x, SpeedParams(0.0), SR)


def test_rescale_words() -> None:
    words = [["hello", 0.5, 0.4], ["world", 1.1, 0.55, 0.9]]
    out = rescale_words(words, 1.1)
    assert out is not None
    assert out[0] == ["hello", pytest.approx(0.5 / 1.1), pytest.approx(0.4 / 1.1)]
    assert out[1][1:] == [pytest.approx(1.0), pytest.approx(0.5), 0.9]
    assert words[0] == ["hello", 0.5, 0.4]  # input untouched
    assert rescale_words(None, 0.9) is None
    with pytest.raises(ValueError, match="word timing"):
        rescale_words([["oops", 1.0]], 1.0)


def test_sample_speed_discrete_and_continuous() -> None:
    cfg = SpeedConfig(probability=1.0)
    drawn = {sample_speed(cfg, np.random.default_rng(s)).factor for s in range(40)}
    assert drawn == {0.9, 1.0, 1.1}
    cont = SpeedConfig(probability=1.0, factor_range=(0.95, 1.05))
    values = [sample_speed(cont, np.random.default_rng(s)).factor for s in range(40)]
    assert all(0.95 <= v <= 1.05 for v in values) and len(set(values)) == 40
    assert SpeedParams(1.1).to_dict() == {"factor": 1.1}

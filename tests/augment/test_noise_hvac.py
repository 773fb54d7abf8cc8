"""The hvac noise kind: its spectrum and tone balance, measured, and its path through the
registry, the config and the Augmenter."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from synthaudio.augment.augmenter import Augmenter, AugmentParams
from synthaudio.augment.config import DEFAULT_NOISE_KINDS, AugmentConfig, NoiseConfig
from synthaudio.augment.noise import measure_snr_db, sample_noise
from synthaudio.augment.noise_hvac import hvac_noise
from synthaudio.augment.noise_kinds import NOISE_KINDS
from synthaudio.augment.noise_sources import mean_power

SR = 16000


def band_power(x: np.ndarray, lo_hz: float, hi_hz: float) -> float:
    spec = np.abs(np.fft.rfft(x.astype(np.float64))) ** 2
    f = np.fft.rfftfreq(x.size, 1 / SR)
    return float(spec[(f >= lo_hz) & (f < hi_hz)].sum())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_power_sits_below_1_khz_and_the_tones_match_tone_db(seed: int) -> None:
    rng = np.random.default_rng(seed)
    blade, tone_db = float(rng.uniform(30, 150)), float(rng.uniform(-15, -3))

    def render(db: float) -> np.ndarray:
        return hvac_noise(4 * SR, SR, np.random.default_rng([seed, 1]), blade_hz=blade,
                          corner_hz=120.0, slope_db_oct=12.0, tone_db=db)

    x = render(tone_db)
    assert x.dtype == np.float32 and x.shape == (4 * SR,)
    assert mean_power(x) == pytest.approx(1.0, rel=1e-4)
    assert band_power(x, 0, 1000) / band_power(x, 0, SR / 2) > 0.97
    # the same stream without tones is the rumble alone; x is exactly a mix of it and the
    # blade-pass harmonics: fit both at once (least squares) and compare their powers
    rumble = render(-120.0).astype(np.float64)
    t = np.arange(x.size) / SR
    harmonics = [fn(2 * np.pi * k * blade * t) for k in range(1, 5) for fn in (np.sin, np.cos)]
    basis = np.stack([rumble, *harmonics], axis=1)
    coef, *_ = np.linalg.lstsq(basis, x.astype(np.float64), rcond=None)
    assert mean_power(x - basis @ coef) < 1e-9  # nothing else in the signal
    tones = basis[:, 1:] @ coef[1:]
    measured = 10 * math.log10(mean_power(tones) / mean_power(coef[0] * rumble))
    assert measured == pytest.approx(tone_db, abs=0.01)
    power_db = [10 * math.log10(coef[1 + 2 * k] ** 2 + coef[2 + 2 * k] ** 2) for k in range(4)]
    assert np.diff(power_db) == pytest.approx([-6.0] * 3, abs=0.01)  # 6 dB per harmonic


def test_rumble_falls_with_the_drawn_slope() -> None:
    x = hvac_noise(8 * SR, SR, np.random.default_rng(5), blade_hz=40.0, corner_hz=100.0,
                   slope_db_oct=12.0, tone_db=-40.0)
    # two octaves well above the corner: 12 dB/octave less power density each
    d1 = band_power(x, 800, 1600) / 800
    d2 = band_power(x, 1600, 3200) / 1600
    assert 10 * math.log10(d1 / d2) == pytest.approx(12.0, abs=1.0)


def test_registered_opt_in_and_drawn_into_the_record() -> None:
    kind = NOISE_KINDS.get("hvac")
    assert kind.procedural and kind.needs is None and kind.default_weight == 0
    assert "hvac" not in DEFAULT_NOISE_KINDS  # default corpora keep their bytes
    cfg = NoiseConfig(kinds={"hvac": 1.0})
    params = sample_noise(cfg, np.random.default_rng(3), num_samples=SR, sample_rate=SR)
    options = params.sources[0].options
    assert options is not None and set(options) == {"blade_hz", "corner_hz", "slope_db_oct",
                                                     "tone_db"}
    assert 30 <= options["blade_hz"] <= 150 and -15 <= options["tone_db"] <= -3
    with pytest.raises(ValidationError, match="unknown noise kind 'hvca'; known: .*hvac"):
        NoiseConfig(kinds={"hvca": 1.0})


def test_through_the_augmenter_at_the_drawn_snr_and_replayed() -> None:
    aug = Augmenter(AugmentConfig(noise={"probability": 1, "kinds": {"hvac": 1},
                                         "snr_db": (10, 10), "num_sources": (1, 1)}))
    t = np.arange(SR) / SR
    speech = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    result = aug(speech, SR, np.random.default_rng(7))
    assert measure_snr_db(result.speech, result.noise) == pytest.approx(10.0, abs=1e-3)
    record = result.params.to_dict()
    assert record["noise"]["sources"][0]["kind"] == "hvac"
    replay = aug.apply(speech, SR, AugmentParams.from_dict(record, speech.size, SR))
    assert np.array_equal(replay.audio, result.audio)
    # the stem is hvac noise: its power is where the rumble and the blade tones are
    n = result.noise
    assert band_power(n, 0, 1000) / band_power(n, 0, SR / 2) > 0.97

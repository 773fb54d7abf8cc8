"""SNR, noise tilt and hum on synthaudio's noisy output with known SNR and noise colour."""

from __future__ import annotations

import numpy as np
import pytest

from synthaudio.augment.augmenter import Augmenter
from synthaudio.augment.config import AugmentConfig
from synthaudio.profile.noise import MAX_SNR_DB, measure_noise
from synthaudio.profile.vad import SileroVad


def _noisy(audios: list[np.ndarray], kind: str, snr: float, seed: int):  # type: ignore[no-untyped-def]
    aug = Augmenter(AugmentConfig.model_validate(
        {"noise": {"probability": 1, "snr_db": [snr, snr], "kinds": {kind: 1},
                   "num_sources": [1, 1]}}))
    for i, x in enumerate(audios):
        r = aug(x, 16000, np.random.default_rng([seed, i]))
        yield r.audio, r.report.to_dict()["snr_db"]


@pytest.fixture(scope="module")
def vad() -> SileroVad:
    return SileroVad()


@pytest.mark.parametrize("kind", ["white", "pink", "brown"])
def test_snr_within_2_db_from_0_to_30_db(clean_speech, vad, kind) -> None:  # type: ignore[no-untyped-def]
    errors = []
    for snr in (0.0, 10.0, 20.0, 30.0):
        for y, label in _noisy(clean_speech, kind, snr, int(snr)):
            assert abs(label - snr) < 0.01  # the Augmenter's own label
            mask = vad.segments(y).mask(len(y), 16000)
            errors.append(measure_noise(y, 16000, mask, (0.0, 8000.0))["snr_db"] - label)
    errors_a = np.abs(np.asarray(errors))
    print(f"{kind}: median |error| {np.median(errors_a):.2f} dB, max {errors_a.max():.2f} dB")
    assert np.median(errors_a) < 0.6
    assert np.mean(errors_a < 2.0) >= 0.9  # at most one of 24 is off by more than 2 dB


@pytest.mark.parametrize(("kind", "tilt"), [("white", 0.0), ("pink", -3.0), ("brown", -6.0),
                                            ("blue", 3.0)])
def test_noise_tilt(clean_speech, vad, kind, tilt) -> None:  # type: ignore[no-untyped-def]
    measured = []
    for y, _ in _noisy(clean_speech[:3], kind, 10.0, 7):
        mask = vad.segments(y).mask(len(y), 16000)
        measured.append(measure_noise(y, 16000, mask, (0.0, 8000.0))["noise_tilt_db_per_oct"])
    assert abs(float(np.median(measured)) - tilt) < 0.75, measured


def test_hum_detected_only_in_hum(clean_speech, vad) -> None:  # type: ignore[no-untyped-def]
    for kind, expect in (("hum", True), ("pink", False)):
        for y, _ in _noisy(clean_speech[:3], kind, 10.0, 3):
            mask = vad.segments(y).mask(len(y), 16000)
            res = measure_noise(y, 16000, mask, (0.0, 8000.0))
            assert (res["hum_hz"] in (50, 60)) is expect, (kind, res)


def test_digital_silence_is_max_snr(clean_speech, vad) -> None:  # type: ignore[no-untyped-def]
    x = clean_speech[0]
    res = measure_noise(x, 16000, vad.segments(x).mask(len(x), 16000), (0.0, 8000.0))
    assert res["snr_db"] == MAX_SNR_DB and res["noise_tilt_db_per_oct"] is None

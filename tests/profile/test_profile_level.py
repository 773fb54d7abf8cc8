"""Loudness, active level, peak and clipping against known levels."""

from __future__ import annotations

import numpy as np

from synthaudio.augment.augmenter import Augmenter
from synthaudio.augment.config import AugmentConfig
from synthaudio.profile.level import measure_level
from synthaudio.profile.vad import SileroVad


def test_sine_loudness_and_levels() -> None:
    t = np.arange(3 * 48000) / 48000
    x = (0.1 * np.sin(2 * np.pi * 997 * t)).astype(np.float32)  # -20 dBFS peak
    res = measure_level(x, 48000, np.ones(len(x), bool))
    # BS.1770: a 997 Hz sine at 0 dBFS peak reads -3.01 LUFS
    assert abs(res["loudness_lufs"] - (-23.01)) < 0.1
    assert abs(res["active_level_dbfs"] - (-23.01)) < 0.05
    assert abs(res["peak_dbfs"] - (-20.0)) < 0.01
    assert res["clip_fraction"] == 0.0


def test_active_level_ignores_silence_and_tracks_gain(clean_speech) -> None:  # type: ignore[no-untyped-def]
    vad = SileroVad()
    x = clean_speech[1]
    padded = np.pad(x, (16000, 16000))
    a = measure_level(x, 16000, vad.segments(x).mask(len(x), 16000))
    b = measure_level(padded, 16000, vad.segments(padded).mask(len(padded), 16000))
    assert abs(a["active_level_dbfs"] - b["active_level_dbfs"]) < 0.5
    aug = Augmenter(AugmentConfig.model_validate(
        {"channel": {"gain": {"probability": 1, "gain_db": [-9, -9]}}}))
    y = aug(x, 16000, np.random.default_rng(0)).audio
    c = measure_level(y, 16000, vad.segments(y).mask(len(y), 16000))
    assert abs(a["active_level_dbfs"] - 9 - c["active_level_dbfs"]) < 0.3
    assert abs(a["loudness_lufs"] - 9 - c["loudness_lufs"]) < 0.3


def test_clip_fraction_matches_the_augmenter_report(clean_speech) -> None:  # type: ignore[no-untyped-def]
    aug = Augmenter(AugmentConfig.model_validate(
        {"channel": {"clipping": {"probability": 1, "drive_db": [6, 6]}}}))
    r = aug(clean_speech[2], 16000, np.random.default_rng(0))
    res = measure_level(r.audio, 16000, np.ones(len(r.audio), bool))
    assert r.report.clipped_fraction > 0.001
    assert abs(res["clip_fraction"] - r.report.clipped_fraction) < 0.1 * r.report.clipped_fraction

"""Band edges, codec hints and DC offset on synthaudio channel output with known settings."""

from __future__ import annotations

import numpy as np
import pytest

from synthaudio.augment.augmenter import Augmenter
from synthaudio.augment.config import AugmentConfig
from synthaudio.profile.bandwidth import measure_bandwidth
from synthaudio.profile.vad import SileroVad


@pytest.fixture(scope="module")
def vad() -> SileroVad:
    return SileroVad()


def _measure(audios, vad, channel):  # type: ignore[no-untyped-def]
    aug = Augmenter(AugmentConfig.model_validate({"channel": channel}))
    out = []
    for i, x in enumerate(audios):
        y = aug(x, 16000, np.random.default_rng(i)).audio
        out.append(measure_bandwidth(y, 16000, vad.segments(y).mask(len(y), 16000), "PCM_16"))
    return out


@pytest.mark.parametrize("high_hz", [3000.0, 4000.0, 5500.0])
def test_upper_edge_of_band_limit(clean_speech, vad, high_hz) -> None:  # type: ignore[no-untyped-def]
    res = _measure(clean_speech, vad, {"band_limit": {"probability": 1, "low_hz": [100, 100],
                                                       "high_hz": [high_hz, high_hz]}})
    edges = np.array([r["band_high_hz"] for r in res])
    print(f"band_limit {high_hz:.0f} Hz: measured {np.round(edges)}")
    assert abs(np.median(edges) / high_hz - 1) < 0.12
    assert np.all(np.abs(edges / high_hz - 1) < 0.3)


def test_resample_to_8k_and_telephone_band(clean_speech, vad) -> None:  # type: ignore[no-untyped-def]
    res = _measure(clean_speech, vad, {"resample": {"probability": 1, "rates_hz": [8000]}})
    edges = np.array([r["band_high_hz"] for r in res])
    assert abs(np.median(edges) / 4000 - 1) < 0.15, edges
    res = _measure(clean_speech, vad, {"telephone": {"probability": 1}})
    high = np.array([r["band_high_hz"] for r in res])
    low = np.array([r["band_low_hz"] for r in res])
    print(f"telephone 300-3400 Hz: low {np.round(low)}, high {np.round(high)}")
    assert abs(np.median(high) / 3400 - 1) < 0.15
    assert 200 <= np.median(low) <= 500


def test_full_band_speech_reaches_nyquist_and_codec_hints(clean_speech, vad) -> None:  # type: ignore[no-untyped-def]
    clean = _measure(clean_speech, vad, {})
    assert np.median([r["band_high_hz"] for r in clean]) > 6500
    assert {r["codec_hint"] for r in clean} == {"pcm"}
    assert all(r["band_low_hz"] < 150 for r in clean)
    g711 = _measure(clean_speech, vad, {"codec": {"probability": 1, "kinds": {"mulaw": 1}}})
    assert {r["codec_hint"] for r in g711} == {"g711"}


def test_dc_offset(clean_speech, vad) -> None:  # type: ignore[no-untyped-def]
    x = clean_speech[0] + np.float32(0.02)
    res = measure_bandwidth(x, 16000, vad.segments(x).mask(len(x), 16000), "PCM_16")
    assert abs(res["dc_offset"] - 0.02) < 0.002
    assert measure_bandwidth(x, 16000, np.zeros(len(x), bool), "ULAW")["codec_hint"] == "mulaw"

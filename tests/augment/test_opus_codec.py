"""Opus through libopus directly: aligned, same length, and as distorting as libsndfile's
Ogg/Opus at the same compression level."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from synthaudio.augment import channel, opus_codec

SR = 16000

pytestmark = pytest.mark.skipif(not opus_codec.available(), reason="libopus not loadable")


def _speechlike(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    sos = scipy.signal.butter(4, [150, 3500], "bandpass", fs=SR, output="sos")
    x = scipy.signal.sosfilt(sos, rng.standard_normal(n))
    x *= 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * np.arange(n) / SR)
    return (0.3 * x / np.max(np.abs(x))).astype(np.float32)


def _snr_db(x: np.ndarray, y: np.ndarray) -> float:
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    return float(10 * np.log10(np.sum(x64**2) / np.sum((x64 - y64) ** 2)))


def test_bitrate_follows_libsndfile_levels() -> None:
    assert opus_codec.bitrate_bps(0.0) == 256000
    assert opus_codec.bitrate_bps(0.8) == 56000
    assert opus_codec.bitrate_bps(0.99) == 8500
    assert opus_codec.bitrate_bps(None) == 256000


@pytest.mark.parametrize("level", [0.8, 0.9, 0.97])
def test_round_trip_is_aligned_and_as_lossy_as_libsndfile(level: float) -> None:
    x = _speechlike(1.3, seed=int(level * 100))
    y = opus_codec.roundtrip(x, SR, level)
    assert y.shape == x.shape and y.dtype == np.float32
    corr = scipy.signal.correlate(y, x, mode="full", method="fft")
    assert abs(int(np.argmax(corr)) - (x.size - 1)) <= 1  # no delay left
    if "OGG" not in sf.available_formats():
        return
    ref = channel._fit(channel._roundtrip(x, "opus", SR, level)[None, :], x.size)[0]
    assert _snr_db(x, y) == pytest.approx(_snr_db(x, ref), abs=1.0)
    assert _snr_db(x, y) > {0.8: 15.0, 0.9: 8.0, 0.97: 3.0}[level]


def test_round_trip_is_deterministic_and_rejects_odd_rates() -> None:
    x = _speechlike(0.5)
    assert np.array_equal(opus_codec.roundtrip(x, SR, 0.9), opus_codec.roundtrip(x, SR, 0.9))
    with pytest.raises(ValueError, match="22050"):
        opus_codec.roundtrip(x, 22050, 0.9)


def test_channel_falls_back_to_libsndfile_without_libopus(monkeypatch: pytest.MonkeyPatch,
                                                          ) -> None:
    if "OGG" not in sf.available_formats():
        pytest.skip("libsndfile without Ogg")
    x = _speechlike(0.6)
    monkeypatch.setattr(opus_codec, "available", lambda: False)
    y, name, delay = channel.apply_codec(x[None, :], channel.CodecParams("opus", 0.9), SR)
    assert name == f"OGG/OPUS@{SR}" and y.shape == (1, x.size)
    monkeypatch.undo()
    z, name, delay = channel.apply_codec(x[None, :], channel.CodecParams("opus", 0.9), SR)
    assert name == f"OPUS/libopus@{SR}" and delay == 0
    assert _snr_db(x, z[0]) == pytest.approx(_snr_db(x, y[0]), abs=1.5)

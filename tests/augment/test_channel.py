"""Channel effects: clipping, G.711, codecs and their alignment, filters, packet loss."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal

from synthaudio.augment.channel import (
    ChannelParams,
    CodecParams,
    EqBand,
    PacketLossParams,
    apply_channel,
    biquad,
    codec_available,
    sample_channel,
)
from synthaudio.augment.config import ChannelConfig

SR = 16000


def _speechlike(seconds: float, sample_rate: int = SR, seed: int = 0) -> np.ndarray:
    """Band-limited noise with a syllable-rate envelope: broadband yet not stationary."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    x = rng.standard_normal(n)
    sos = scipy.signal.butter(4, [150, 3500], "bandpass", fs=sample_rate, output="sos")
    x = scipy.signal.sosfilt(sos, x)
    t = np.arange(n) / sample_rate
    x *= 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t)
    return (0.3 * x / np.max(np.abs(x))).astype(np.float32)


def _lag(reference: np.ndarray, other: np.ndarray) -> int:
    corr = scipy.signal.correlate(other, reference, mode="full", method="fft")
    return int(np.argmax(corr)) - (reference.size - 1)


def test_identity_params_change_nothing() -> None:
    x = _speechlike(0.5)
    y, report = apply_channel(x, ChannelParams(), SR)
    assert np.array_equal(x, y)
    assert report.clipped_fraction == 0.0 and report.codec is None
    assert ChannelParams().is_identity()


def test_clipped_fraction_is_fraction_at_full_scale() -> None:
    t = np.arange(SR) / SR
    x = (0.2 * np.sin(2 * np.pi * 100 * t)).astype(np.float32)
    y, report = apply_channel(x, ChannelParams(clip_drive_db=6.0), SR)
    at_full_scale = float(np.mean(np.abs(y) == 1.0))
    assert report.clipped_fraction == pytest.approx(at_full_scale, abs=1e-9)
    # a sine of amplitude A clipped at 1 spends 1 - (2/pi) * asin(1/A) of the time clipped
    amplitude = 10 ** (6.0 / 20)
    assert at_full_scale == pytest.approx(1 - 2 / math.pi * math.asin(1 / amplitude), abs=0.005)
    assert np.max(np.abs(y)) == 1.0
    # and on K channels, over all samples
    y2, report2 = apply_channel(np.stack([x, 0.5 * x]), ChannelParams(clip_drive_db=6.0), SR)
    assert report2.clipped_fraction == pytest.approx(float(np.mean(np.abs(y2) == 1.0)))
    assert y2.shape == (2, SR)


@pytest.mark.parametrize("kind", ["mulaw", "alaw"])
def test_g711_error_bounds(kind: str) -> None:
    x = np.linspace(-1, 1, 100_001).astype(np.float32)
    y, report = apply_channel(x, ChannelParams(codec=CodecParams(kind)), 8000)
    assert report.codec == ("WAV/ULAW@8000" if kind == "mulaw" else "WAV/ALAW@8000")
    assert y.shape == x.shape
    assert len(np.unique(y)) <= 256  # 8-bit code words
    err = np.abs(y - x)
    assert err.max() < 0.02  # top segment step 1/32, and mu-law's 0.980 ceiling
    loud = np.abs(x) > 0.01
    assert np.max(err[loud] / np.abs(x[loud])) < 0.05  # companding: relative error bounded
    quiet = np.abs(x) < 0.001
    assert err[quiet].max() < 6e-4  # fine steps near zero
    snr = 10 * np.log10(np.mean(x.astype(np.float64) ** 2) / np.mean((y - x) ** 2))
    assert snr > 35.0


@pytest.mark.parametrize(
    ("kind", "rate", "level", "expected_rate"),
    [("mp3", 16000, 0.0, 16000), ("mp3", 16000, 0.9, 16000), ("opus", 16000, 0.85, 16000),
     ("opus", 22050, 0.9, 24000), ("mp3", 8000, 0.5, 8000), ("opus", 44100, 0.85, 48000)],
)
def test_lossy_codec_round_trip_is_aligned(kind: str, rate: int, level: float,
                                           expected_rate: int) -> None:
    if not codec_available(kind):
        pytest.skip(f"libsndfile without {kind}")
    x = _speechlike(1.5, rate, seed=2)
    y, report = apply_channel(x, ChannelParams(codec=CodecParams(kind, level)), rate)
    fmt = "MP3/MPEG_LAYER_III" if kind == "mp3" else "OPUS/libopus"
    assert report.codec == f"{fmt}@{expected_rate}"
    assert y.shape == x.shape and y.dtype == np.float32
    assert abs(_lag(x, y)) <= round(0.001 * rate)  # within 1 ms
    assert np.corrcoef(x, y)[0, 1] > 0.7
    # a marker impulse stays where it was
    click = np.zeros_like(x)
    click[rate // 2] = 0.8
    z, _ = apply_channel(x * 0.1 + click, ChannelParams(codec=CodecParams(kind, level)), rate)
    env = np.abs(scipy.signal.hilbert(z - apply_channel(
        x * 0.1, ChannelParams(codec=CodecParams(kind, level)), rate)[0]))
    assert abs(int(np.argmax(env)) - rate // 2) <= round(0.001 * rate)


def test_bit_depth_error_is_half_a_step() -> None:
    x = _speechlike(0.5)
    for bits in (8, 12):
        y, _ = apply_channel(x, ChannelParams(bits=bits), SR)
        step = 2.0 ** -(bits - 1)
        assert np.max(np.abs(y - x)) <= step / 2 + 1e-7
        assert len(np.unique(y)) <= 2**bits + 1


def test_eq_biquads_hit_their_gains() -> None:
    for band, probe_hz in [(EqBand("peak", 1000.0, 6.0, 1.0), 1000.0),
                           (EqBand("low_shelf", 200.0, -8.0, 0.7071), 20.0),
                           (EqBand("high_shelf", 4000.0, 5.0, 0.7071), 7900.0)]:
        sos = biquad(band, SR)[None, :]
        _, h = scipy.signal.sosfreqz(sos, worN=[probe_hz], fs=SR)
        assert 20 * np.log10(abs(h[0])) == pytest.approx(band.gain_db, abs=0.3), band


def _band_gain_db(params: ChannelParams, freq: float, rate: int = SR) -> float:
    t = np.arange(rate) / rate
    x = (0.1 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    y, _ = apply_channel(x, params, rate)
    mid = slice(rate // 4, 3 * rate // 4)
    return float(20 * np.log10(np.std(y[mid]) / np.std(x[mid])))


def test_telephone_band_and_zero_phase() -> None:
    p = ChannelParams(telephone=True)
    assert abs(_band_gain_db(p, 1000.0)) < 0.5
    assert _band_gain_db(p, 100.0) < -20.0
    assert _band_gain_db(p, 6000.0) < -30.0
    x = _speechlike(1.0)
    y, _ = apply_channel(x, p, SR)
    assert _lag(x, y) == 0


def test_band_limit_and_resample() -> None:
    p = ChannelParams(band_hz=(200.0, 3000.0))
    assert abs(_band_gain_db(p, 1000.0)) < 0.5
    assert _band_gain_db(p, 6000.0) < -30.0
    r = ChannelParams(resample_hz=8000)
    assert abs(_band_gain_db(r, 1000.0)) < 0.2
    assert _band_gain_db(r, 5000.0) < -40.0
    x = _speechlike(1.0)
    y, _ = apply_channel(x, r, SR)
    assert y.shape == x.shape and _lag(x, y) == 0


@pytest.mark.parametrize("concealment", ["zero", "repeat"])
def test_packet_loss(concealment: str) -> None:
    x = _speechlike(4.0) + np.float32(0.05)  # no exact zeros in the input
    loss = PacketLossParams(frame_ms=20.0, loss_rate=0.2, concealment=concealment, seed=4)
    y, report = apply_channel(x, ChannelParams(packet_loss=loss), SR)
    frame = 320
    assert report.total_frames == 200
    assert 20 <= report.dropped_frames <= 60  # ~ 0.2 * 200
    changed = [i for i in range(200) if not np.array_equal(y[i * frame:(i + 1) * frame],
                                                           x[i * frame:(i + 1) * frame])]
    assert len(changed) == report.dropped_frames
    if concealment == "zero":
        assert all(not np.any(y[i * frame:(i + 1) * frame]) for i in changed)
    else:
        i = next(i for i in changed if i > 0 and i - 1 not in changed)
        assert np.allclose(y[i * frame:(i + 1) * frame], 0.7 * x[(i - 1) * frame:i * frame])


def test_sample_channel_probabilities_and_determinism() -> None:
    assert sample_channel(ChannelConfig(), np.random.default_rng(0), SR).is_identity()
    everything = ChannelConfig.model_validate({
        name: {"probability": 1.0} for name in ChannelConfig.model_fields})
    p = sample_channel(everything, np.random.default_rng(1), SR)
    assert p == sample_channel(everything, np.random.default_rng(1), SR)
    assert p.eq and p.clip_drive_db is not None and p.gain_db is not None and p.bits
    assert p.band_hz is not None and p.telephone and p.resample_hz in (8000, 11025, 12000)
    assert p.codec is not None and p.packet_loss is not None
    assert 8 <= p.bits <= 12 and -6.0 <= p.gain_db <= 0.0
    y, report = apply_channel(np.stack([_speechlike(1.0), _speechlike(1.0, seed=1)]), p, SR)
    assert y.shape == (2, SR) and np.all(np.isfinite(y))
    assert report.codec is not None
    assert p.to_dict()["codec"]["kind"] == p.codec.kind
    assert ChannelParams.from_dict(p.to_dict()) == p


@pytest.mark.parametrize("kind", ["mp3", "opus"])
def test_codec_delay_is_probed_once_per_rate_and_holds_at_every_level(kind: str) -> None:
    from synthaudio.augment import channel

    rate = 16000
    probe = np.random.default_rng(3).standard_normal(rate).astype(np.float32) * 0.1
    cached = channel.codec_delay(kind, rate, 0.9)
    assert channel.codec_delay(kind, rate, 0.1) == cached  # one probe per (kind, rate)
    for level in (0.0, 0.5, 0.95):  # the delay each level really has
        decoded = channel._roundtrip(probe, kind, rate, level)
        assert channel._lag(probe, decoded, int(0.05 * rate)) == cached

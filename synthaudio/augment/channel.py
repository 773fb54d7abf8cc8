"""Recording and transmission channel: microphone EQ, clipping, gain, bit depth, band limits,
down/up-sampling, codecs (G.711, MP3, Opus) and packet loss.

Arrays are float32, mono ``(n_samples,)`` or multichannel ``(n_channels, n_samples)``; every
effect treats the channels alike. ``sample_channel`` draws a ``ChannelParams`` record;
``apply_channel`` is deterministic (packet loss uses the seed stored in the record) and keeps
the length and the timing of the input: filters are zero-phase where they would otherwise
delay the signal, and codec delay is measured and removed.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.signal
import soundfile as sf
import soxr

from synthaudio.augment import opus_codec
from synthaudio.augment.checks import check_audio, check_sample_rate
from synthaudio.augment.config import ChannelConfig
from synthaudio.errors import ConfigError

TELEPHONE_BAND_HZ = (300.0, 3400.0)
MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
# kind -> (libsndfile format, subtype)
CODECS = {
    "mulaw": ("WAV", "ULAW"),
    "alaw": ("WAV", "ALAW"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
    "opus": ("OGG", "OPUS"),
}
_MAX_CODEC_DELAY_S = 0.05  # search window when measuring a codec's delay


@dataclass(frozen=True)
class EqBand:
    shape: str  # "peak", "low_shelf" or "high_shelf" (RBJ cookbook biquads)
    freq_hz: float  # centre (peak) or corner (shelf) frequency
    gain_db: float
    q: float  # peak bandwidth; shelves use slope 1

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EqBand:
        return cls(str(data["shape"]), float(data["freq_hz"]), float(data["gain_db"]),
                   float(data["q"]))


@dataclass(frozen=True)
class CodecParams:
    kind: str  # "mulaw", "alaw", "mp3" or "opus"
    compression_level: float | None = None  # libsndfile level (mp3/opus): 0 best .. 1 smallest

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CodecParams:
        level = data.get("compression_level")
        return cls(str(data["kind"]), None if level is None else float(level))


@dataclass(frozen=True)
class PacketLossParams:
    frame_ms: float  # length of one packet
    loss_rate: float  # probability that a packet is lost
    concealment: str  # "zero" (silence) or "repeat" (last packet again, attenuated)
    seed: int  # draws which packets are lost

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PacketLossParams:
        return cls(float(data["frame_ms"]), float(data["loss_rate"]), str(data["concealment"]),
                   int(data["seed"]))


@dataclass(frozen=True)
class ChannelParams:
    """Drawn channel effects, in the order applied; None (or False) = effect not applied."""

    eq: tuple[EqBand, ...] | None = None
    clip_drive_db: float | None = None  # peak driven this far above full scale, then clipped
    gain_db: float | None = None
    bits: int | None = None  # quantization to this bit depth
    band_hz: tuple[float, float] | None = None  # band-pass (low, high); low 0 = low-pass only
    telephone: bool = False  # 300-3400 Hz band-pass
    resample_hz: int | None = None  # down to this rate and back
    codec: CodecParams | None = None
    packet_loss: PacketLossParams | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "eq": None if self.eq is None else [b.to_dict() for b in self.eq],
            "clip_drive_db": self.clip_drive_db,
            "gain_db": self.gain_db,
            "bits": self.bits,
            "band_hz": None if self.band_hz is None else list(self.band_hz),
            "telephone": self.telephone,
            "resample_hz": self.resample_hz,
            "codec": None if self.codec is None else self.codec.to_dict(),
            "packet_loss": None if self.packet_loss is None else self.packet_loss.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChannelParams:
        """Inverse of ``to_dict`` (does not modify ``data``)."""
        eq, band, codec, loss = (data.get(k) for k in ("eq", "band_hz", "codec", "packet_loss"))
        opt = {k: data.get(k) for k in ("clip_drive_db", "gain_db")}
        bits, rate = data.get("bits"), data.get("resample_hz")
        return cls(
            eq=None if eq is None else tuple(EqBand.from_dict(b) for b in eq),
            clip_drive_db=None if opt["clip_drive_db"] is None else float(opt["clip_drive_db"]),
            gain_db=None if opt["gain_db"] is None else float(opt["gain_db"]),
            bits=None if bits is None else int(bits),
            band_hz=None if band is None else (float(band[0]), float(band[1])),
            telephone=bool(data.get("telephone", False)),
            resample_hz=None if rate is None else int(rate),
            codec=None if codec is None else CodecParams.from_dict(codec),
            packet_loss=None if loss is None else PacketLossParams.from_dict(loss),
        )

    def is_identity(self) -> bool:
        return self == ChannelParams()


@dataclass(frozen=True)
class ChannelReport:
    """Facts measured while applying the channel."""

    clipped_fraction: float = 0.0  # of all samples, held at full scale by the clipping effect
    codec: str | None = None  # what ran: "FORMAT/SUBTYPE@RATE"
    codec_delay_samples: int = 0  # delay the codec added (at the codec's rate), removed
    dropped_frames: int = 0
    total_frames: int = 0
    peak: float = 0.0  # max |sample| of the output

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# --- sampling -------------------------------------------------------------------------------


def codec_available(kind: str) -> bool:
    """Whether ``kind`` can be coded: libopus for Opus, else this libsndfile (MP3 needs
    >= 1.1, Opus >= 1.0.29)."""
    if kind == "opus" and opus_codec.available():
        return True
    fmt, subtype = CODECS[kind]
    return fmt in sf.available_formats() and subtype in sf.available_subtypes(fmt)


def check_codec_support(cfg: ChannelConfig) -> None:
    """Raise ConfigError if a codec with weight > 0 is missing from this libsndfile."""
    if cfg.codec.probability <= 0:
        return
    for kind, weight in cfg.codec.kinds.items():
        if weight > 0 and not codec_available(kind):
            raise ConfigError(
                f"augment.channel.codec.kinds.{kind} > 0 but libsndfile "
                f"{sf.__libsndfile_version__} cannot encode it (set its weight to 0)"
            )


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def _pick(rng: np.random.Generator, weights: Mapping[Any, float]) -> Any:
    keys = [k for k, w in weights.items() if w > 0]
    w = np.array([weights[k] for k in keys], dtype=np.float64)
    return keys[int(rng.choice(len(keys), p=w / w.sum()))]


def sample_channel(cfg: ChannelConfig, rng: np.random.Generator, sample_rate: int,
                   ) -> ChannelParams:
    """Draw which channel effects apply and their values (one coin per effect, in order).

    The effects and their order are the registry in :mod:`.channel_effects`.
    """
    from synthaudio.augment.channel_effects import sample_effects

    return sample_effects(cfg, rng, sample_rate)


# --- effects (2-D float32 in, 2-D float32 out) ------------------------------------------------


def biquad(band: EqBand, sample_rate: int) -> np.ndarray:
    """RBJ Audio-EQ-Cookbook biquad as one SOS row ``[b0, b1, b2, 1, a1, a2]``."""
    a = 10 ** (band.gain_db / 40)
    w0 = 2 * math.pi * band.freq_hz / sample_rate
    cos_w, sin_w = math.cos(w0), math.sin(w0)
    if band.shape == "peak":
        alpha = sin_w / (2 * band.q)
        b = [1 + alpha * a, -2 * cos_w, 1 - alpha * a]
        den = [1 + alpha / a, -2 * cos_w, 1 - alpha / a]
    else:
        beta = 2 * math.sqrt(a) * sin_w / 2 * math.sqrt(2.0)  # 2*sqrt(A)*alpha with slope 1
        sign = 1.0 if band.shape == "low_shelf" else -1.0
        b = [a * ((a + 1) - sign * (a - 1) * cos_w + beta),
             sign * 2 * a * ((a - 1) - sign * (a + 1) * cos_w),
             a * ((a + 1) - sign * (a - 1) * cos_w - beta)]
        den = [(a + 1) + sign * (a - 1) * cos_w + beta,
               -sign * 2 * ((a - 1) + sign * (a + 1) * cos_w),
               (a + 1) + sign * (a - 1) * cos_w - beta]
    return np.array([*(np.array(b) / den[0]), 1.0, den[1] / den[0], den[2] / den[0]])


def _zero_phase_band(x: np.ndarray, low_hz: float, high_hz: float, sample_rate: int,
                     order: int = 4) -> np.ndarray:
    nyq = sample_rate / 2
    if low_hz > 0 and high_hz < 0.99 * nyq:
        sos = scipy.signal.butter(order, [low_hz, high_hz], "bandpass", fs=sample_rate,
                                  output="sos")
    elif high_hz < 0.99 * nyq:
        sos = scipy.signal.butter(order, high_hz, "lowpass", fs=sample_rate, output="sos")
    elif low_hz > 0:
        sos = scipy.signal.butter(order, low_hz, "highpass", fs=sample_rate, output="sos")
    else:
        return x
    padlen = min(3 * (2 * len(sos) + 1), x.shape[-1] - 1)
    return scipy.signal.sosfiltfilt(sos, x, axis=-1, padlen=padlen).astype(np.float32)


def _resample(x: np.ndarray, rate_in: float, rate_out: float) -> np.ndarray:
    """Resample (K, n) along time with soxr (its one-shot call compensates its own delay)."""
    y = soxr.resample(np.ascontiguousarray(x.T), rate_in, rate_out, quality="HQ")
    return np.ascontiguousarray(np.asarray(y, dtype=np.float32).reshape(-1, x.shape[0]).T)


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    if x.shape[-1] >= n:
        return x[..., :n]
    return np.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, n - x.shape[-1])])


def _codec_rate(kind: str, sample_rate: int) -> int:
    """The rate the codec runs at: the input rate if supported, else the next one up."""
    rates = {"mp3": MP3_RATES, "opus": OPUS_RATES}.get(kind)
    if rates is None or sample_rate in rates:
        return sample_rate
    return next((r for r in rates if r >= sample_rate), rates[-1])


def _roundtrip(x: np.ndarray, kind: str, rate: int, level: float | None) -> np.ndarray:
    """Encode and decode mono ``x`` in memory; returns the decoded samples (any length)."""
    fmt, subtype = CODECS[kind]
    buf = io.BytesIO()
    sf.write(buf, np.clip(x, -1.0, 1.0), rate, format=fmt, subtype=subtype,
             compression_level=level)
    buf.seek(0)
    y, _ = sf.read(buf, dtype="float32")
    return np.asarray(y, dtype=np.float32)


def codec_delay(kind: str, rate: int, level: float | None) -> int:
    """Delay in samples the codec adds at ``rate``, measured on a broadband probe.

    Positive: decoded output lags the input. libsndfile >= 1.1 already removes the encoder
    delay and padding for MP3 and Opus, so this is normally 0; the probe keeps timings honest
    on other builds. Deterministic (fixed probe), cached per process and per (kind, rate):
    a codec's delay is set by its frame and look-ahead, not by its bitrate (LAME's 576 +
    decoder 529 samples, Opus's pre-skip), so the compression level is not probed each
    (measured with libsndfile 1.2.2: 0 at every level of MP3 and Opus at 8 and 16 kHz).
    A probe per level cost as much as coding the utterance (opus: 23 ms).
    """
    return _codec_delay(kind, rate)


@functools.lru_cache(maxsize=64)
def _codec_delay(kind: str, rate: int) -> int:
    probe_rng = np.random.default_rng(20240611)
    probe = probe_rng.standard_normal(rate).astype(np.float32) * np.float32(0.1)
    sos = scipy.signal.butter(4, [100.0, 0.4 * rate], "bandpass", fs=rate, output="sos")
    probe = scipy.signal.sosfilt(sos, probe).astype(np.float32)
    decoded = _roundtrip(probe, kind, rate, None)  # the codec's default level
    return _lag(probe, decoded, int(_MAX_CODEC_DELAY_S * rate))


def _lag(reference: np.ndarray, delayed: np.ndarray, max_lag: int) -> int:
    """Lag in samples (in [-max_lag, max_lag]) maximizing the cross-correlation."""
    n = reference.size
    delayed = _fit(delayed[None, :], n)[0]
    corr = scipy.signal.correlate(delayed, reference, mode="full", method="fft")
    lags = np.arange(-n + 1, n)
    window = np.abs(lags) <= max_lag
    return int(lags[window][np.argmax(corr[window])])


def apply_codec(x: np.ndarray, codec: CodecParams, sample_rate: int,
                ) -> tuple[np.ndarray, str, int]:
    """Round-trip (K, n) through the codec, aligned to the input and cut to its length.

    Returns (audio, "FORMAT/SUBTYPE@RATE", delay removed in samples at the codec rate).
    Opus runs through libopus directly where it loads (``OPUS/libopus@RATE``, see
    :mod:`.opus_codec`: half the CPU of libsndfile's Ogg/Opus writer), else through
    libsndfile (``OGG/OPUS@RATE``).
    """
    fmt, subtype = CODECS[codec.kind]
    rate = _codec_rate(codec.kind, sample_rate)
    y = x if rate == sample_rate else _resample(x, sample_rate, rate)
    n_rate = y.shape[-1]
    direct = codec.kind == "opus" and opus_codec.available()
    if direct:  # libopus' own packets: aligned by construction (its look-ahead removed)
        fmt, subtype, delay = "OPUS", "libopus", 0
    else:
        delay = codec_delay(codec.kind, rate, codec.compression_level)
    out = np.empty_like(y)
    for k in range(y.shape[0]):  # mono per channel: MP3 stops at 2 channels
        if direct:
            out[k] = opus_codec.roundtrip(y[k], rate, codec.compression_level)
            continue
        decoded = _roundtrip(y[k], codec.kind, rate, codec.compression_level)
        decoded = decoded[delay:] if delay >= 0 else np.pad(decoded, (-delay, 0))
        out[k] = _fit(decoded[None, :], n_rate)[0]
    if rate != sample_rate:
        out = _resample(out, rate, sample_rate)
    return _fit(out, x.shape[-1]), f"{fmt}/{subtype}@{rate}", delay


def apply_packet_loss(x: np.ndarray, loss: PacketLossParams, sample_rate: int,
                      ) -> tuple[np.ndarray, int, int]:
    """Drop packets of ``frame_ms``; returns (audio, dropped, total packets)."""
    frame = max(1, round(loss.frame_ms * sample_rate / 1000))
    n = x.shape[-1]
    total = math.ceil(n / frame)
    lost = np.random.default_rng(loss.seed).random(total) < loss.loss_rate
    out = x.copy()
    for i in np.flatnonzero(lost):
        start, end = i * frame, min(n, (i + 1) * frame)
        if loss.concealment == "repeat" and i > 0:
            prev = out[:, (i - 1) * frame:i * frame]
            out[:, start:end] = np.float32(0.7) * prev[:, : end - start]
        else:
            out[:, start:end] = 0.0
    return out, int(lost.sum()), total


def apply_channel(audio: np.ndarray, params: ChannelParams, sample_rate: int,
                  ) -> tuple[np.ndarray, ChannelReport]:
    """Apply the drawn effects in order; returns (audio of the input's shape, report).

    Args:
        audio: float32 ``(n,)`` or ``(K, n)``.
        params: from ``sample_channel``.
        sample_rate: Hz, of the input and the output.
    """
    from synthaudio.augment.channel_effects import apply_effects

    check_sample_rate(sample_rate)
    x = check_audio(audio).astype(np.float32, copy=False)
    mono = x.ndim == 1
    x, report = apply_effects(x[None, :] if mono else x, params, sample_rate)
    return (x[0] if mono else x), report

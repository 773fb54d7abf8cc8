"""The channel effect registry: one :class:`ChannelEffect` per section of ``augment.channel``.

Each entry names its ``ChannelConfig`` section, draws its values into
:class:`~synthaudio.augment.channel.ChannelParams` fields (after its own coin, in table
order: the order of the draws and of the effects), says whether drawn params hold it, and
applies it to 2-D float32 ``(K, n)`` audio, adding what it measured to the report.
``sample_channel``/``apply_channel`` and the public transforms (``synthaudio.Gain``...)
run through this table; the primitives (filters, codecs) live in :mod:`.channel`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.signal

from synthaudio.augment.channel import (
    TELEPHONE_BAND_HZ,
    ChannelParams,
    ChannelReport,
    CodecParams,
    EqBand,
    PacketLossParams,
    _fit,
    _log_uniform,
    _pick,
    _resample,
    _zero_phase_band,
    apply_codec,
    apply_packet_loss,
    biquad,
    check_codec_support,
)
from synthaudio.augment.config import ChannelConfig
from synthaudio.registry import Registry

Section = Any  # the effect's ChannelConfig section (EqConfig, GainConfig, ...)


@dataclass(frozen=True)
class ChannelEffect:
    name: str  # the ChannelConfig section, e.g. "gain"
    sample: Callable[[Section, np.random.Generator, int], dict[str, Any]]  # -> param fields
    active: Callable[[ChannelParams], bool]  # whether drawn params apply it
    apply: Callable[[np.ndarray, ChannelParams, int, dict[str, Any]], np.ndarray]
    description: str
    check: Callable[[ChannelConfig], None] | None = None  # raises ConfigError if unusable


CHANNEL_EFFECTS: Registry[ChannelEffect] = Registry("channel effect")


def sample_effects(cfg: ChannelConfig, rng: np.random.Generator, sample_rate: int,
                   ) -> ChannelParams:
    """One coin per effect in table order; the winners draw their values."""
    values: dict[str, Any] = {}
    for effect in CHANNEL_EFFECTS.entries(plugins=False):
        section = getattr(cfg, effect.name)
        if rng.random() < section.probability:
            values.update(effect.sample(section, rng, sample_rate))
    return ChannelParams(**values)


def apply_effects(x: np.ndarray, params: ChannelParams, sample_rate: int,
                  ) -> tuple[np.ndarray, ChannelReport]:
    """Every effect ``params`` holds, in table order, on ``(K, n)`` float32."""
    report: dict[str, Any] = {}
    for effect in CHANNEL_EFFECTS.entries(plugins=False):
        if effect.active(params):
            x = effect.apply(x, params, sample_rate, report)
    x = np.ascontiguousarray(x, dtype=np.float32)
    report["peak"] = float(np.max(np.abs(x))) if x.size else 0.0
    return x, ChannelReport(**report)


# --- the effects, in the order they run -----------------------------------------------------


def _sample_eq(cfg: Any, rng: np.random.Generator, sample_rate: int) -> dict[str, Any]:
    nyq_safe = 0.45 * sample_rate
    bands = []
    for _ in range(int(rng.integers(cfg.num_bands[0], cfg.num_bands[1] + 1))):
        shape = ("peak", "peak", "low_shelf", "high_shelf")[int(rng.integers(4))]
        lo, hi = {"peak": (200.0, 6000.0), "low_shelf": (80.0, 400.0),
                  "high_shelf": (2000.0, 8000.0)}[shape]
        hi = min(hi, nyq_safe)
        freq = _log_uniform(rng, min(lo, hi), hi)
        bands.append(EqBand(shape, freq, float(rng.uniform(*cfg.gain_db)),
                            float(rng.uniform(*cfg.q)) if shape == "peak" else 0.7071))
    return {"eq": tuple(bands)}


def _apply_eq(x: np.ndarray, p: ChannelParams, sr: int, report: dict[str, Any]) -> np.ndarray:
    assert p.eq
    sos = np.stack([biquad(b, sr) for b in p.eq])
    return scipy.signal.sosfilt(sos, x, axis=-1).astype(np.float32)


def _apply_clipping(x: np.ndarray, p: ChannelParams, sr: int, report: dict[str, Any],
                    ) -> np.ndarray:
    assert p.clip_drive_db is not None
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak > 0:
        x = x * np.float32(10 ** (p.clip_drive_db / 20) / peak)
        report["clipped_fraction"] = float(np.mean(np.abs(x) >= 1.0))
        x = np.clip(x, -1.0, 1.0)
    return x


def _apply_gain(x: np.ndarray, p: ChannelParams, sr: int, report: dict[str, Any]) -> np.ndarray:
    assert p.gain_db is not None
    return x * np.float32(10 ** (p.gain_db / 20))


def _apply_bits(x: np.ndarray, p: ChannelParams, sr: int, report: dict[str, Any]) -> np.ndarray:
    assert p.bits is not None
    step = np.float32(2.0 ** (p.bits - 1))
    return np.clip(np.round(x * step) / step, -1.0, 1.0)


def _sample_band(cfg: Any, rng: np.random.Generator, sample_rate: int) -> dict[str, Any]:
    low = float(rng.uniform(*cfg.low_hz))
    high = min(float(rng.uniform(*cfg.high_hz)), 0.45 * sample_rate)
    return {"band_hz": (low, high)} if low < high else {}


def _apply_band(x: np.ndarray, p: ChannelParams, sr: int, report: dict[str, Any]) -> np.ndarray:
    assert p.band_hz is not None
    return _zero_phase_band(x, p.band_hz[0], p.band_hz[1], sr)


def _sample_resample(cfg: Any, rng: np.random.Generator, sample_rate: int) -> dict[str, Any]:
    rates = [r for r in cfg.rates_hz if r < sample_rate]
    return {"resample_hz": int(rates[int(rng.integers(len(rates)))])} if rates else {}


def _apply_resample(x: np.ndarray, p: ChannelParams, sr: int, report: dict[str, Any],
                    ) -> np.ndarray:
    assert p.resample_hz is not None
    if p.resample_hz == sr:
        return x
    low = _resample(x, sr, p.resample_hz)
    return _fit(_resample(low, p.resample_hz, sr), x.shape[-1])


def _sample_codec(cfg: Any, rng: np.random.Generator, sample_rate: int) -> dict[str, Any]:
    kind = str(_pick(rng, cfg.kinds))
    level = None
    if kind in ("mp3", "opus"):
        span = cfg.mp3_compression if kind == "mp3" else cfg.opus_compression
        level = round(float(rng.uniform(*span)), 2)  # rounded: few distinct delay probes
    return {"codec": CodecParams(kind, level)}


def _apply_codec(x: np.ndarray, p: ChannelParams, sr: int, report: dict[str, Any],
                 ) -> np.ndarray:
    assert p.codec is not None
    x, report["codec"], report["codec_delay_samples"] = apply_codec(x, p.codec, sr)
    return x


def _sample_loss(cfg: Any, rng: np.random.Generator, sample_rate: int) -> dict[str, Any]:
    return {"packet_loss": PacketLossParams(
        frame_ms=float(rng.uniform(*cfg.frame_ms)),
        loss_rate=float(rng.uniform(*cfg.loss_rate)),
        concealment=str(_pick(rng, cfg.concealment)),
        seed=int(rng.integers(2**63 - 1)),
    )}


def _apply_loss(x: np.ndarray, p: ChannelParams, sr: int, report: dict[str, Any]) -> np.ndarray:
    assert p.packet_loss is not None
    x, report["dropped_frames"], report["total_frames"] = apply_packet_loss(
        x, p.packet_loss, sr)
    return x


for _effect in (
    ChannelEffect("eq", _sample_eq, lambda p: bool(p.eq), _apply_eq,
                  "microphone colouration: peaking and shelving biquads"),
    ChannelEffect("clipping", lambda c, r, sr: {"clip_drive_db": float(r.uniform(*c.drive_db))},
                  lambda p: p.clip_drive_db is not None, _apply_clipping,
                  "hard clipping after driving the peak drive_db above full scale"),
    ChannelEffect("gain", lambda c, r, sr: {"gain_db": float(r.uniform(*c.gain_db))},
                  lambda p: p.gain_db is not None, _apply_gain, "level change, dB"),
    ChannelEffect("bit_depth",
                  lambda c, r, sr: {"bits": int(r.integers(c.bits[0], c.bits[1] + 1))},
                  lambda p: p.bits is not None, _apply_bits, "quantization to fewer bits"),
    ChannelEffect("band_limit", _sample_band, lambda p: p.band_hz is not None, _apply_band,
                  "zero-phase Butterworth band-pass with drawn cutoffs"),
    ChannelEffect("telephone", lambda c, r, sr: {"telephone": True}, lambda p: p.telephone,
                  lambda x, p, sr, rep: _zero_phase_band(x, *TELEPHONE_BAND_HZ, sr),
                  "telephone band, 300-3400 Hz"),
    ChannelEffect("resample", _sample_resample,
                  lambda p: p.resample_hz is not None, _apply_resample,
                  "down to a drawn rate and back up"),
    ChannelEffect("codec", _sample_codec, lambda p: p.codec is not None, _apply_codec,
                  "G.711 mu-law/A-law, MP3 or Opus round trip (libsndfile, in memory)",
                  check=check_codec_support),
    ChannelEffect("packet_loss", _sample_loss, lambda p: p.packet_loss is not None,
                  _apply_loss, "dropped VoIP frames, zero-filled or repeated"),
):
    CHANNEL_EFFECTS.register(_effect)

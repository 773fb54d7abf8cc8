"""Voice conversion: a new speaker from any engine's voice, with the WORLD vocoder.

WORLD (``pyworld``) splits speech into F0, a spectral envelope and an aperiodicity; the
conversion scales F0 and warps the envelope (and aperiodicity) in frequency, which moves
every formant by the same factor, as a shorter or longer vocal tract would, then
resynthesizes. Frame by frame, so the output keeps the input's time axis: same length,
same word timings. Audio is float32 mono ``(n_samples,)`` at any rate.

A speaker's conversion is drawn once (:func:`sample_conversion`) from a
:class:`ConversionConfig`: the envelope warp ``w`` first, then F0 moved with it as real
voices do (``f0_scale = w ** f0_coupling``, times a small independent shift in semitones),
so that a shorter tract comes with a higher voice and a converted voice stays a plausible
person of its gender rather than a chipmunk or a giant.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from synthaudio.configbase import check_range
from synthaudio.errors import ConfigKeyError

Range = tuple[float, float]
FRAME_PERIOD_MS = 5.0  # WORLD analysis hop
F0_FLOOR_HZ = 60.0  # lowest F0 looked for (also sets CheapTrick's FFT size)
F0_CEIL_HZ = 600.0
D4C_THRESHOLD = 0.85  # WORLD's default voiced/unvoiced threshold of the aperiodicity
F0_LIMITS_HZ = (55.0, 450.0)  # converted F0 is kept inside a human range
# D4C (the aperiodicity, the costliest analysis) runs on every 4th frame and is
# interpolated between: aperiodicity changes slowly, and this makes conversion ~1.6x faster
APERIODICITY_STRIDE = 4
# analysis "fast" (the default since issue 27; "full" is the analysis before it): DIO finds
# F0 on the signal decimated to 4 kHz (speed 4; StoneMask refines it at the full rate:
# F0 within 0.2 cents, 0.3% of frames voiced differently), CheapTrick runs on every 2nd
# frame and D4C on every 8th, interpolated between (the envelope in log), and synthesis
# takes every 2nd bin of both (an FFT of 512 instead of 1024 per pulse, half the cost:
# the waveform correlates 0.9995 with the 1024 one). Conversion ~2x cheaper
# (benchmarks/README.md, "Voice conversion: the fast analysis").
# (DIO speed, CheapTrick frame stride, D4C frame stride, synthesis bin stride)
ANALYSES = {"full": (1, 1, APERIODICITY_STRIDE, 1), "fast": (4, 2, 8, 2)}
CONVERSION_SAMPLE_RATE = 16000  # Hz; the render stage converts at this rate (cheaper
# than 22.05 kHz, and every corpus rate up to it loses nothing)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ConversionConfig(_Model):
    """The ``speakers.conversion`` section: which speakers are converted, and how far."""

    share: float = Field(default=1.0, ge=0, le=1)  # fraction of the speakers converted
    # factor on every frequency of the spectral envelope: > 1 a shorter vocal tract
    warp: Range = (0.93, 1.08)
    # F0 follows the warp: f0_scale = warp ** f0_coupling (a female tract is ~1.17x a male
    # one and her voice ~1.7x higher: ln 1.7 / ln 1.17 = 3.4), times an independent shift
    f0_coupling: float = Field(default=3.0, ge=0, le=6)
    f0_semitones: Range = (-1.5, 1.5)  # the independent F0 shift
    f0_method: str = Field(default="dio", pattern="^(dio|harvest)$")  # WORLD's F0 tracker
    analysis: str = Field(default="fast", pattern="^(fast|full)$")  # see ANALYSES
    # the engines whose speakers may be converted (None: all). bench_voices: conversion
    # makes espeak-ng voices more intelligible, but Flite's (recorded voices) less
    engines: list[str] | None = Field(default=None, exclude_if=lambda v: v is None)

    @model_validator(mode="after")
    def _ranges(self) -> ConversionConfig:
        check_range(self.warp, "warp", 0.7, 1.4)
        check_range(self.f0_semitones, "f0_semitones", -12, 12)
        return self


@dataclass(frozen=True)
class ConversionParams:
    """One speaker's conversion."""

    f0_scale: float  # factor on F0
    warp: float  # factor on the frequency axis of the spectral envelope
    f0_method: str = "dio"  # "dio" (with StoneMask) or "harvest"
    analysis: str = "fast"  # "fast" or "full": see ANALYSES

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConversionParams:
        # a record without "analysis" was made before there was a choice: the full one
        return cls(float(data["f0_scale"]), float(data["warp"]),
                   str(data.get("f0_method", "dio")), str(data.get("analysis", "full")))


def sample_conversion(cfg: ConversionConfig, rng: np.random.Generator) -> ConversionParams | None:
    """One speaker's conversion, or None for a speaker left as the engine speaks (the
    ``1 - share`` of them). Always makes the same three draws."""
    converted = rng.uniform() < cfg.share
    warp = float(np.exp(rng.uniform(np.log(cfg.warp[0]), np.log(cfg.warp[1]))))
    semitones = float(rng.uniform(cfg.f0_semitones[0], cfg.f0_semitones[1]))
    if not converted:
        return None
    f0_scale = warp ** cfg.f0_coupling * 2 ** (semitones / 12)
    return ConversionParams(round(f0_scale, 4), round(warp, 4), cfg.f0_method, cfg.analysis)


def _pyworld() -> Any:
    """The pyworld module; ConfigError naming the extra when it is not installed."""
    with warnings.catch_warnings():  # pyworld 0.3 imports pkg_resources, deprecated
        warnings.simplefilter("ignore")
        try:
            import pyworld
        except ImportError as exc:
            raise ConfigKeyError("speakers.conversion needs the WORLD vocoder: pip install "
                              f"'synthaudio[vc]' (pyworld, setuptools<81): {exc}") from None
    return pyworld


def check_available() -> None:
    """ConfigError now, rather than in a worker, when pyworld cannot be imported."""
    _pyworld()


def warp_envelope(env: np.ndarray, warp: float) -> np.ndarray:
    """``env`` (frames, bins from 0 to Nyquist) with its frequency axis scaled by ``warp``:
    what was at bin ``k`` moves to bin ``k * warp`` (interpolated in log; past the top
    bin the top value holds)."""
    bins = env.shape[1]
    src = np.minimum(np.arange(bins) / warp, bins - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, bins - 1)
    frac = src - lo
    log_env = np.log(np.maximum(env, 1e-16))
    return np.exp(log_env[:, lo] * (1 - frac) + log_env[:, hi] * frac)


def _frames(n: int, stride: int) -> np.ndarray:
    """Every ``stride``-th of ``n`` frames, and the last."""
    return np.unique(np.append(np.arange(0, n, stride), n - 1))


def _interpolate(sparse: np.ndarray, idx: np.ndarray, n: int) -> np.ndarray:
    """Rows of ``sparse`` (at frames ``idx``) linearly interpolated to every one of ``n``
    frames (a stride of 1: ``sparse`` itself)."""
    if len(idx) == n:
        return sparse
    pos = np.interp(np.arange(n), idx, np.arange(len(idx)))
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, len(idx) - 1)
    frac = (pos - lo)[:, None]
    return sparse[lo] * (1 - frac) + sparse[hi] * frac


def _sparse_cheaptrick(pw: Any, x: np.ndarray, f0: np.ndarray, t: np.ndarray,
                       sample_rate: int, fft_size: int, stride: int) -> np.ndarray:
    """CheapTrick on every ``stride``-th frame (and the last), interpolated in log power."""
    idx = _frames(len(t), stride)
    sparse = pw.cheaptrick(x, np.ascontiguousarray(f0[idx]), np.ascontiguousarray(t[idx]),
                           sample_rate, f0_floor=F0_FLOOR_HZ, fft_size=fft_size)
    if len(idx) == len(t):
        return np.asarray(sparse)
    return np.exp(_interpolate(np.log(np.maximum(sparse, 1e-16)), idx, len(t)))


def _sparse_d4c(pw: Any, x: np.ndarray, f0: np.ndarray, t: np.ndarray, sample_rate: int,
                fft_size: int, stride: int = APERIODICITY_STRIDE) -> np.ndarray:
    """D4C on every ``stride``-th frame (and the last), linearly interpolated in time to
    every frame."""
    idx = _frames(len(t), stride)
    sparse = pw.d4c(x, np.ascontiguousarray(f0[idx]), np.ascontiguousarray(t[idx]),
                    sample_rate, threshold=D4C_THRESHOLD, fft_size=fft_size)
    aper = _interpolate(sparse, idx, len(t))
    # an unvoiced frame is fully aperiodic whatever its neighbours: keep D4C's own verdict
    aper[f0 == 0] = np.maximum(aper[f0 == 0], 1.0 - 1e-12)
    return np.ascontiguousarray(aper)


def apply_conversion(audio: np.ndarray, sample_rate: int,
                     params: ConversionParams) -> np.ndarray:
    """``audio`` spoken by the converted voice: same length and RMS level, float32."""
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"audio must be mono (n,), got shape {x.shape}")
    if x.size < sample_rate // 20 or not np.any(x):
        return np.asarray(audio, dtype=np.float32).copy()
    pw = _pyworld()
    if params.analysis not in ANALYSES:
        raise ValueError(f"conversion analysis must be one of {sorted(ANALYSES)}, got "
                         f"{params.analysis!r}")
    dio_speed, env_stride, aper_stride, bin_stride = ANALYSES[params.analysis]
    if params.f0_method == "harvest":
        f0, t = pw.harvest(x, sample_rate, f0_floor=F0_FLOOR_HZ, f0_ceil=F0_CEIL_HZ,
                           frame_period=FRAME_PERIOD_MS)
    else:
        f0, t = pw.dio(x, sample_rate, f0_floor=F0_FLOOR_HZ, f0_ceil=F0_CEIL_HZ,
                       frame_period=FRAME_PERIOD_MS, speed=dio_speed)
        f0 = pw.stonemask(x, f0, t, sample_rate)
    fft_size = pw.get_cheaptrick_fft_size(sample_rate, F0_FLOOR_HZ)  # one size for both
    env = _sparse_cheaptrick(pw, x, f0, t, sample_rate, fft_size, env_stride)
    aper = _sparse_d4c(pw, x, f0, t, sample_rate, fft_size, aper_stride)
    if bin_stride > 1:  # synthesis at fft_size / bin_stride: every bin_stride-th bin
        env, aper = env[:, ::bin_stride], aper[:, ::bin_stride]
    voiced = f0 > 0
    f0 = np.where(voiced, np.clip(f0 * params.f0_scale, *F0_LIMITS_HZ), 0.0)
    if params.warp != 1.0:
        env = warp_envelope(env, params.warp)
        aper = np.clip(warp_envelope(aper, params.warp), 0.0, 1.0)
    y = pw.synthesize(f0, np.ascontiguousarray(env), np.ascontiguousarray(aper),
                      sample_rate, FRAME_PERIOD_MS)
    y = np.pad(y[:x.size], (0, max(0, x.size - y.size)))
    rms_in, rms_out = np.sqrt(np.mean(x**2)), np.sqrt(np.mean(y**2))
    if rms_out > 0:
        y *= rms_in / rms_out
    peak = np.max(np.abs(y))
    if peak > 0.999:
        y *= 0.999 / peak
    return y.astype(np.float32)

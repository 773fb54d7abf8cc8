"""Bandwidth and channel: effective band edges, sample rate, codec hints, DC offset.

The long-term average spectrum (LTAS, Welch, ~31 Hz bins) of the speech segments is smoothed
over 1/6 octave; its reference level is the median over 300-3000 Hz, where any speech channel
passes. The upper band edge is the highest frequency where the LTAS is still within
``EDGE_DROP_DB`` of the level just below the steepest fall, found as the highest frequency
whose level is within ``EDGE_DROP_DB`` of the reference; the lower edge likewise from below.
Edges are capped at the Nyquist frequency and at 0 Hz.

Codec hints: the file's libsndfile subtype when it is a codec (``ULAW``, ``ALAW``,
``MPEG_LAYER_III``, ``OPUS``, ``VORBIS``...); else ``g711`` when the samples take at most
256 distinct values (mu-law and A-law decode to 256 levels), else ``pcm``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.signal

EDGE_DROP_DB = 30.0  # the band has ended where the LTAS is this far below its speech level
NYQUIST_SHARE = 0.97  # a crossing above this share of Nyquist: the band reaches Nyquist
LOWEST_EDGE_HZ = 60.0  # lower edges below this are reported as 0 Hz
_CODEC_SUBTYPES = {"ULAW": "mulaw", "ALAW": "alaw", "MPEG_LAYER_III": "mp3", "OPUS": "opus",
                   "VORBIS": "vorbis", "GSM610": "gsm", "G721_32": "g721", "IMA_ADPCM": "adpcm",
                   "MS_ADPCM": "adpcm"}


def ltas_db(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies (Hz) and long-term spectrum (dB) of ``audio``, Welch with ~31 Hz bins."""
    nperseg = max(64, int(round(512 * sample_rate / 16000)))
    if len(audio) < nperseg:
        audio = np.pad(audio, (0, nperseg - len(audio)))
    f, p = scipy.signal.welch(audio.astype(np.float64), sample_rate, nperseg=nperseg)
    return f, 10 * np.log10(p + 1e-20)


def _smooth_octave(f: np.ndarray, s_db: np.ndarray, fraction: float = 1 / 6) -> np.ndarray:
    out = np.empty_like(s_db)
    for i, fc in enumerate(f):
        half = max(fc * (2 ** (fraction / 2) - 1), f[1] - f[0])
        sel = (f >= fc - half) & (f <= fc + half)
        out[i] = np.mean(s_db[sel])
    return out


def _hinge_knee(x: np.ndarray, y: np.ndarray) -> float:
    """The knee ``k`` of the continuous two-line fit ``y ~ a + b*min(x-k, 0) + c*max(x-k, 0)``
    with the least squared error (k on the grid of ``x``, its ends excluded)."""
    best, best_k = np.inf, float(x[-1])
    for k in x[2:-2]:
        design = np.stack([np.ones_like(x), np.minimum(x - k, 0), np.maximum(x - k, 0)], axis=1)
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        err = float(np.sum((design @ coef - y) ** 2))
        if err < best and coef[2] < coef[1]:
            best, best_k = err, float(k)
    return best_k


def band_edges_hz(audio: np.ndarray, sample_rate: int) -> tuple[float, float]:
    """(lower, upper) effective band edge of speech audio, Hz.

    ``S``: the LTAS smoothed over 1/6 octave; ``ref``: its median over 300-3000 Hz. Upper:
    the highest frequency ``f_x`` where ``S`` is within ``EDGE_DROP_DB`` of ``ref``; when that
    is below ``NYQUIST_SHARE`` of Nyquist, the edge is the knee of a two-line fit of ``S``
    against log-frequency between 1 kHz and ``1.25 f_x`` (the cutoff of a filter; speech's own
    roll-off is the first line), and at least ``f_x / 1.25``. Lower: the lowest frequency
    below 1 kHz of the run above ``ref - EDGE_DROP_DB``, refined the same way between
    ``f_x / 1.25`` and 1 kHz.
    """
    f, s = ltas_db(audio, sample_rate)
    s = _smooth_octave(f, s)
    nyquist = sample_rate / 2
    core = (f >= 300) & (f <= min(3000, nyquist))
    ref = float(np.median(s[core])) if core.any() else float(np.max(s))
    above = s >= ref - EDGE_DROP_DB
    mid = int(np.searchsorted(f, min(1000.0, nyquist / 2)))
    hi_idx = np.flatnonzero(above[mid:]) + mid
    upper = nyquist
    if len(hi_idx) and f[hi_idx[-1]] < NYQUIST_SHARE * nyquist:
        fx = f[hi_idx[-1]]
        sel = (f >= f[mid]) & (f <= min(1.25 * fx, nyquist))
        if sel.sum() >= 6:
            knee = float(2 ** _hinge_knee(np.log2(f[sel]), s[sel]))
            upper = max(knee, float(fx) / 1.25)  # a short file's knee can fall on a formant
    lower = 0.0
    below = above[:mid + 1][::-1]
    gap = np.flatnonzero(~below)
    if len(gap):
        fx = f[mid - gap[0] + 1] if gap[0] > 0 else f[mid]
        sel = (f >= max(fx / 1.25, f[1])) & (f <= f[mid])
        if fx > LOWEST_EDGE_HZ and sel.sum() >= 6:
            knee = _hinge_knee(-np.log2(f[sel][::-1]), s[sel][::-1])
            lower = float(2 ** -knee)
    return lower, upper


def codec_hint(audio: np.ndarray, subtype: str) -> str:
    if subtype in _CODEC_SUBTYPES:
        return _CODEC_SUBTYPES[subtype]
    levels = np.unique(np.round(audio * 32768).astype(np.int32))
    if len(audio) > 4000 and len(levels) <= 256:
        return "g711"
    return "pcm"


def measure_bandwidth(audio: np.ndarray, sample_rate: int, speech_mask: np.ndarray,
                      subtype: str) -> dict[str, Any]:
    speech = audio[speech_mask] if speech_mask.sum() > sample_rate // 4 else audio
    low, high = band_edges_hz(speech, sample_rate)
    return {
        "band_low_hz": low,
        "band_high_hz": high,
        "sample_rate": int(sample_rate),
        "codec_hint": codec_hint(audio, subtype),
        "dc_offset": float(np.mean(audio, dtype=np.float64)),
    }

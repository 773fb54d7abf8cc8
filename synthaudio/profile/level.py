"""Level: BS.1770 integrated loudness (pyloudnorm), active speech level, peak, clipping.

- ``loudness_lufs``: ITU-R BS.1770-4 integrated loudness with its gating (pyloudnorm's Meter);
  None for audio shorter than one 400 ms gating block.
- ``active_level_dbfs``: 10*log10 of the mean power over the VAD's speech segments (the idea of
  ITU-T P.56's active level: silence does not count), dB re full scale (a full-scale sine is
  -3 dBFS).
- ``peak_dbfs``: 20*log10 max |x|.
- ``clip_fraction``: share of samples at full scale (|x| >= 32766/32768, so 16-bit files count).
"""

from __future__ import annotations

from typing import Any

import numpy as np

CLIP_LEVEL = 32766 / 32768  # |x| at or above this is taken as clipped
FLOOR_DB = -120.0  # reported for digital silence


def _db_power(p: float) -> float:
    return float(10 * np.log10(p)) if p > 0 else FLOOR_DB


def measure_level(audio: np.ndarray, sample_rate: int, speech_mask: np.ndarray) -> dict[str, Any]:
    """Level features of one utterance; ``speech_mask`` is True inside speech ``(n,)``."""
    import pyloudnorm

    x = audio.astype(np.float64)
    loudness = None
    if len(x) >= int(0.4 * sample_rate):
        value = pyloudnorm.Meter(sample_rate).integrated_loudness(x)
        loudness = float(value) if np.isfinite(value) else None
    active = x[speech_mask] if speech_mask.any() else x
    peak = float(np.max(np.abs(x)))
    return {
        "loudness_lufs": loudness,
        "active_level_dbfs": _db_power(float(np.mean(active ** 2))),
        "peak_dbfs": float(20 * np.log10(peak)) if peak > 0 else FLOOR_DB,
        "clip_fraction": float(np.mean(np.abs(x) >= CLIP_LEVEL)),
    }

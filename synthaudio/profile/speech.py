"""Speech: duration, speech time, speaking rate, pauses, F0 (WORLD's DIO + StoneMask).

- ``duration_s``: the file; ``speech_s``: inside the VAD's speech segments;
  ``speech_ratio``: their ratio; ``lead_silence_s`` / ``trail_silence_s``: before the first
  and after the last segment.
- ``speaking_rate_wps``: words of the transcript per second of speech (None without one).
- ``pause_mean_s`` / ``pause_max_s``: gaps between speech segments (0 with one segment).
- ``f0_median_hz``, ``f0_range_st``: median voiced F0 and the 5-95% range in semitones,
  from pyworld's DIO refined by StoneMask (5 ms frames, 50-500 Hz); None when under 10
  voiced frames.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from synthaudio.profile.vad import Segments

F0_FLOOR_HZ, F0_CEIL_HZ = 50.0, 500.0


def f0_stats(audio: np.ndarray, sample_rate: int) -> tuple[float | None, float | None]:
    with warnings.catch_warnings():  # pyworld imports the deprecated pkg_resources
        warnings.simplefilter("ignore")
        import pyworld

    x = np.ascontiguousarray(audio, dtype=np.float64)
    f0, t = pyworld.dio(x, sample_rate, f0_floor=F0_FLOOR_HZ, f0_ceil=F0_CEIL_HZ,
                        frame_period=5.0)
    f0 = pyworld.stonemask(x, f0, t, sample_rate)
    voiced = f0[f0 > 0]
    if len(voiced) < 10:
        return None, None
    lo, med, hi = np.quantile(voiced, [0.05, 0.5, 0.95])
    return float(med), float(12 * np.log2(hi / lo))


def measure_speech(audio: np.ndarray, sample_rate: int, segments: Segments,
                   text: str | None) -> dict[str, Any]:
    speech_s = segments.speech_s
    pauses = segments.pauses_s()
    words = len(text.split()) if text else 0
    f0_median, f0_range = f0_stats(audio, sample_rate)
    first = segments.speech[0][0] if segments.speech else segments.duration_s
    last = segments.speech[-1][1] if segments.speech else segments.duration_s
    return {
        "duration_s": segments.duration_s,
        "speech_s": speech_s,
        "speech_ratio": speech_s / segments.duration_s if segments.duration_s > 0 else 0.0,
        "lead_silence_s": first,
        "trail_silence_s": max(0.0, segments.duration_s - last),
        "speaking_rate_wps": words / speech_s if text and speech_s > 0 else None,
        "pause_mean_s": float(np.mean(pauses)) if pauses else 0.0,
        "pause_max_s": float(np.max(pauses)) if pauses else 0.0,
        "f0_median_hz": f0_median,
        "f0_range_st": f0_range,
    }

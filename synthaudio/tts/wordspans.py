"""Word spans an engine reports, tightened to where its signal is (as espeak-ng's are).

An engine's word boundaries come from its own model of time (segment end times, predicted
frames); a span often starts in the pause before the word or runs on into the one after.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

import numpy as np

from synthaudio.tts.base import WordTiming

FLOOR_DB = 35.0  # frames this far below the utterance's loudest are silence


def tighten(words: Sequence[WordTiming], audio: np.ndarray, sample_rate: int,
            floor_db: float = FLOOR_DB) -> tuple[WordTiming, ...]:
    """Each span trimmed of its leading and trailing 5 ms frames more than ``floor_db``
    below the loudest frame of ``audio`` (float32 ``(n_samples,)``); a span with no loud
    frame is kept as it is."""
    n = len(audio)
    frame = max(1, sample_rate // 200)
    n_frames = max(1, n // frame)
    energy = np.square(audio[: n_frames * frame].astype(np.float64)).reshape(n_frames, -1).mean(1)
    peak = float(energy.max()) if energy.size else 0.0
    if peak <= 0:
        return tuple(words)
    loud: list[int] = np.flatnonzero(energy > peak * 10 ** (-floor_db / 10)).tolist()
    out = []
    for w in words:
        b0 = int(round(w.start_s * sample_rate))
        b1 = int(round((w.start_s + w.dur_s) * sample_rate))
        i0 = bisect.bisect_left(loud, b0 // frame)
        i1 = bisect.bisect_left(loud, math.ceil(b1 / frame))
        if i1 > i0:
            s = max(loud[i0] * frame, b0)
            e = min(n, (loud[i1 - 1] + 1) * frame, b1)
            out.append(WordTiming(w.word, s / sample_rate, max(e - s, 0) / sample_rate))
        else:
            out.append(w)
    return tuple(out)

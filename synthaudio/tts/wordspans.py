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


def loud_frames(audio: np.ndarray, sample_rate: int,
                floor_db: float = FLOOR_DB) -> tuple[int, np.ndarray]:
    """(frame length in samples, indices of the 5 ms frames within ``floor_db`` of the
    loudest; none for silence)."""
    frame = max(1, sample_rate // 200)
    n_frames = max(1, len(audio) // frame)
    x = np.asarray(audio[:n_frames * frame], np.float64)
    level = np.square(np.pad(x, (0, n_frames * frame - len(x)))).reshape(n_frames, -1).mean(1)
    if level.max() <= 0:
        return frame, np.array([], int)
    return frame, np.flatnonzero(level > level.max() * 10 ** (-floor_db / 10))


def tighten(words: Sequence[WordTiming], audio: np.ndarray, sample_rate: int,
            floor_db: float = FLOOR_DB) -> tuple[WordTiming, ...]:
    """Each span trimmed of its leading and trailing 5 ms frames more than ``floor_db``
    below the loudest frame of ``audio`` (float32 ``(n_samples,)``); a span with no loud
    frame is kept as it is."""
    n = len(audio)
    frame, found = loud_frames(audio, sample_rate, floor_db)
    if not found.size:
        return tuple(words)
    loud: list[int] = found.tolist()
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


def reach_speech(words: Sequence[WordTiming], audio: np.ndarray, sample_rate: int,
                 floor_db: float = FLOOR_DB) -> tuple[WordTiming, ...]:
    """The first span started no later, and the last ended no earlier, than the speech of
    ``audio`` (its first and last 5 ms frames within ``floor_db`` of the loudest): nothing
    else is said before the first word or after the last, so that sound is theirs (a
    stressed vowel an engine's durations give to the pause before it, the start of a word
    an aligner missed). The spans between are kept."""
    frame, loud = loud_frames(audio, sample_rate, floor_db)
    if not words or not loud.size:
        return tuple(words)
    onset_s = int(loud[0]) * frame / sample_rate
    offset_s = min(len(audio), (int(loud[-1]) + 1) * frame) / sample_rate
    out = list(words)
    first = out[0]
    if onset_s < first.start_s:
        out[0] = WordTiming(first.word, onset_s, first.start_s + first.dur_s - onset_s)
    last = out[-1]
    if offset_s > last.start_s + last.dur_s:
        out[-1] = WordTiming(last.word, last.start_s, offset_s - last.start_s)
    return tuple(out)

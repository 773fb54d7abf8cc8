"""Word timings of an espeak-ng synthesis: its word events, tightened to the signal."""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

import numpy as np

from synthaudio.tts.base import WordTiming
from synthaudio.tts.espeak_binding import _EVENT_END, _EVENT_WORD


def word_timings(
    text: str, events: Sequence[tuple[int, int, int]], audio: np.ndarray, sample_rate: int
) -> tuple[WordTiming, ...]:
    """Word start and duration from espeak's word events, tightened to where the signal is.

    A word's span runs from its event to the next word's event (the last to the end event).
    Words espeak reports together (no event of their own) share their span in proportion to
    their length in characters. Each span is then trimmed of leading and trailing frames more
    than 35 dB below the utterance's loudest frame.
    """
    tokens = text.split()
    if not tokens:
        return ()
    starts_char, pos = [], 1
    for tok in tokens:
        pos = text.index(tok, pos - 1) + 1
        starts_char.append(pos)
        pos += len(tok)
    n = len(audio)
    word_sample: dict[int, int] = {}
    end_sample = n
    for kind, text_pos, sample in events:
        if kind == _EVENT_END:
            end_sample = min(n, max(sample, 0)) or n
        elif kind == _EVENT_WORD:
            idx = bisect.bisect_right(starts_char, text_pos) - 1
            if idx >= 0 and idx not in word_sample:
                word_sample[idx] = min(max(sample, 0), n)
    if 0 not in word_sample:
        word_sample[0] = 0
    anchors = sorted(word_sample)
    # plain floats (the same IEEE operations numpy would do, without its per-call overhead)
    bounds = [0.0] * (len(tokens) + 1)
    bounds[-1] = float(max(end_sample, word_sample[anchors[-1]]))
    for a, anchor in enumerate(anchors):
        nxt = anchors[a + 1] if a + 1 < len(anchors) else len(tokens)
        s0 = word_sample[anchor]
        s1 = word_sample[nxt] if nxt < len(tokens) else bounds[-1]
        total, done = sum(len(tokens[k]) for k in range(anchor, nxt)), 0
        for k in range(anchor, nxt):
            bounds[k] = s0 + (s1 - s0) * (done / total)
            done += len(tokens[k])
    frame = max(1, sample_rate // 200)  # 5 ms frames
    n_frames = max(1, n // frame)
    energy = np.square(audio[: n_frames * frame].astype(np.float64)).reshape(n_frames, -1).mean(1)
    threshold = energy.max() * 10 ** (-35 / 10) if energy.size and energy.max() > 0 else 0.0
    loud: list[int] = np.flatnonzero(energy > threshold).tolist()  # frame indices, ascending
    out = []
    for k, tok in enumerate(tokens):
        b0, b1 = int(bounds[k]), int(bounds[k + 1])
        f0, f1 = b0 // frame, math.ceil(bounds[k + 1] / frame)
        i0, i1 = bisect.bisect_left(loud, f0), bisect.bisect_left(loud, f1)
        if i1 > i0:  # loud frames inside [f0, f1)
            s = max(loud[i0] * frame, b0)
            e = min(n, (loud[i1 - 1] + 1) * frame, b1)
        else:
            s, e = b0, b1
        out.append(WordTiming(tok, s / sample_rate, max(e - s, 0) / sample_rate))
    return tuple(out)

"""Who spoke when: speech segments from word timings, and the ratios measured on them.

The gap rule (RTTM): the words of one speaker, in time order, are one segment while the
pause between one word's end and the next word's start is at most ``merge_gap_s``; a
longer pause ends the segment. A segment runs from its first word's start to its last
word's end, so it holds speech at both ends.

Ratios (the same definitions as :mod:`synthaudio.pipelines.sessions.config`):
``overlap_ratio = T(>= 2 talk) / T(>= 1 talks)``,
``silence_ratio = (duration - T(>= 1 talks)) / duration``.

:func:`stem_activity` is the independent check: where a speaker's stem (their
contribution at the microphone) is above an energy floor, frame by frame, with the same gap
rule; :func:`mask_ratios` gives the ratios of such frame masks.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Segment:
    speaker: str
    start_s: float
    end_s: float

    @property
    def dur_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Ratios:
    duration_s: float  # of the session
    speech_s: float  # time when at least one speaker talks
    overlap_s: float  # time when two or more talk
    overlap_ratio: float
    silence_ratio: float

    def to_dict(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in self.__dict__.items()}


def speech_segments(words: Iterable[tuple[str, float, float]], merge_gap_s: float,
                    ) -> list[Segment]:
    """Segments from ``(speaker, start_s, end_s)`` words by the gap rule, sorted by
    (start, speaker); times rounded to ms."""
    by_speaker: dict[str, list[tuple[float, float]]] = {}
    for speaker, start, end in words:
        if end > start:
            by_speaker.setdefault(speaker, []).append((start, end))
    out = []
    for speaker, spans in by_speaker.items():
        spans.sort()
        lo, hi = spans[0]
        for start, end in spans[1:]:
            if start - hi > merge_gap_s + 1e-9:
                out.append(Segment(speaker, round(lo, 3), round(hi, 3)))
                lo = start
            hi = max(hi, end)
        out.append(Segment(speaker, round(lo, 3), round(hi, 3)))
    out.sort(key=lambda s: (s.start_s, s.speaker, s.end_s))
    return out


def measure_ratios(segments: Sequence[Segment], duration_s: float) -> Ratios:
    """Speech, overlap and silence of ``segments`` over a session of ``duration_s``
    (a sweep over the segment boundaries: exact, no frames)."""
    events = sorted([(s.start_s, 1) for s in segments] + [(s.end_s, -1) for s in segments])
    speech = overlap = 0.0
    active, prev = 0, 0.0
    for t, step in events:
        if active >= 1:
            speech += t - prev
        if active >= 2:
            overlap += t - prev
        active += step
        prev = t
    return _ratios(duration_s, speech, overlap)


def activity_after(segments: Sequence[Segment], since_s: float) -> tuple[float, float]:
    """(speech_s, overlap_s) of ``segments`` from ``since_s`` on."""
    clipped = [Segment(s.speaker, max(s.start_s, since_s), s.end_s) for s in segments
               if s.end_s > since_s]
    r = measure_ratios(clipped, 0.0)
    return r.speech_s, r.overlap_s


def _ratios(duration_s: float, speech_s: float, overlap_s: float) -> Ratios:
    return Ratios(duration_s, speech_s, overlap_s,
                  overlap_s / speech_s if speech_s > 0 else 0.0,
                  max(0.0, duration_s - speech_s) / duration_s if duration_s > 0 else 0.0)


def stem_activity(stem: np.ndarray, sample_rate: int, merge_gap_s: float,
                  frame_s: float = 0.01, floor_db: float = -20.0) -> np.ndarray:
    """Frames (``frame_s`` each) where ``stem`` ``(n,)`` or ``(K, n)`` carries speech.

    A frame is active when its energy (mean over channels) is within ``floor_db`` of the
    stem's loudest frames (their 95th percentile: -20 dB ends a reverberant tail within a
    third of the RT60 and keeps espeak-ng's weakest consonants); inactive runs of at most
    ``merge_gap_s`` between active frames are filled (the gap rule).
    """
    x = np.asarray(stem, dtype=np.float64)
    x = x if x.ndim == 2 else x[None, :]
    hop = max(1, int(round(frame_s * sample_rate)))
    frames = x.shape[1] // hop
    energy = (x[:, : frames * hop] ** 2).reshape(x.shape[0], frames, hop).mean(axis=(0, 2))
    if frames == 0 or not np.any(energy > 0):
        return np.zeros(frames, dtype=bool)
    loud = float(np.percentile(energy[energy > 0], 95))
    active = energy > loud * 10 ** (floor_db / 10)
    fill = int(math.floor(merge_gap_s / frame_s + 1e-9))
    idx = np.flatnonzero(active)
    for a, b in zip(idx[:-1], idx[1:], strict=True):
        if 1 < b - a <= fill + 1:
            active[a:b] = True
    return active


def mask_ratios(masks: Sequence[np.ndarray], frame_s: float, duration_s: float) -> Ratios:
    """The ratios of per-speaker frame masks (equal lengths) over ``duration_s``."""
    count = np.sum(np.stack(masks), axis=0)
    return _ratios(duration_s, float(np.sum(count >= 1)) * frame_s,
                   float(np.sum(count >= 2)) * frame_s)


def segment_mask(segments: Sequence[Segment], speaker: str, frames: int,
                 frame_s: float) -> np.ndarray:
    """Frames covered by ``speaker``'s segments (a frame is covered from its middle)."""
    mask = np.zeros(frames, dtype=bool)
    mids = (np.arange(frames) + 0.5) * frame_s
    for s in segments:
        if s.speaker == speaker:
            mask |= (mids >= s.start_s) & (mids < s.end_s)
    return mask

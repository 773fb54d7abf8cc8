"""Placing turns on a session's time line so that the measured ratios follow the targets.

Turns arrive synthesized (dry audio and word timings known), one at a time. For each the
:class:`Timeline` draws a gap (``gap_s``) and an overlap (``overlap_s``, or with
``interruption_probability`` an interruption: the new talker starts 40-80 % into the
previous turn and the previous talker stops ``reaction_s`` later, at a word boundary), and
keeps the candidate (the drawn gap or overlap, or the shortest or longest of either range)
whose *measured* overlap and silence ratios (:func:`labels.measure_ratios`
on the word segments placed so far plus the candidate) come closest to the targets. A backchannel is
placed inside the current turn by another talker who is silent then. A talker never
overlaps themself.

Times are seconds on the session's dry time line (the render adds each talker's
direct-path delay); turn words are ``(word, start_s, end_s)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from synthaudio.pipelines.sessions.config import SessionsConfig
from synthaudio.pipelines.sessions.labels import Ratios, activity_after, speech_segments
from synthaudio.tts.base import WordTiming

_MAX_OVERLAP_SHARE = 0.8  # an overlap covers at most this share of either turn's speech
_INTERRUPT_AT = (0.4, 0.8)  # where in the previous turn's speech an interruption starts


@dataclass(frozen=True)
class DryTurn:
    """A synthesized turn before placement."""

    talker: int  # index into the session's talkers
    kind: str  # "turn" or "backchannel"
    text: str
    words: tuple[WordTiming, ...]  # relative to the start of its audio
    num_samples: int

    @property
    def speech_span_s(self) -> tuple[float, float]:
        spoken = [w for w in self.words if w.dur_s > 0]
        return spoken[0].start_s, spoken[-1].start_s + spoken[-1].dur_s


@dataclass
class PlacedTurn:
    turn: DryTurn
    offset_s: float  # where its audio starts in the session
    words: list[tuple[str, float, float]]  # kept words, session time
    keep_s: float | None = None  # audio kept up to this turn-relative time (cut when set)
    relation: dict[str, Any] = field(default_factory=dict)  # how it was placed (recorded)

    @property
    def start_s(self) -> float:
        return self.words[0][1]

    @property
    def end_s(self) -> float:
        return self.words[-1][2]


def _words_at(turn: DryTurn, offset_s: float) -> list[tuple[str, float, float]]:
    return [(w.word, round(offset_s + w.start_s, 3), round(offset_s + w.start_s + w.dur_s, 3))
            for w in turn.words if w.dur_s > 0]


class Timeline:
    """The turns of one session, placed one at a time (see the module docstring)."""

    def __init__(self, cfg: SessionsConfig, lead_s: float, trail_s: float,
                 rng: np.random.Generator) -> None:
        self.cfg, self.lead_s, self.trail_s, self.rng = cfg, lead_s, trail_s, rng
        self.turns: list[PlacedTurn] = []
        self._speech_s = self._overlap_s = 0.0  # measured on the placed turns' segments

    # --- measuring ------------------------------------------------------------------

    @property
    def end_s(self) -> float:
        """The end of the last word placed (0 before the first turn)."""
        return max((t.end_s for t in self.turns), default=0.0)

    def _floor(self) -> PlacedTurn | None:
        """The main turn whose speech ends last: the one the next turn follows."""
        mains = [t for t in self.turns if t.turn.kind == "turn"]
        return max(mains, key=lambda t: t.end_s) if mains else None

    def ratios(self) -> Ratios:
        """The measured ratios of the turns placed so far."""
        return self._measure(self._speech_s, self._overlap_s, self.turns)

    def _measure(self, speech_s: float, overlap_s: float, turns: Sequence[PlacedTurn],
                 ) -> Ratios:
        end = max(t.end_s for t in turns) + self.trail_s
        return Ratios(end, speech_s, overlap_s, overlap_s / speech_s if speech_s else 0.0,
                      max(0.0, end - speech_s) / end)

    def _after(self, turns: Sequence[PlacedTurn], since_s: float) -> tuple[float, float]:
        """(speech_s, overlap_s) of ``turns`` from ``since_s`` on: their words that end
        after ``since_s - merge_gap_s`` decide every segment there (the gap rule)."""
        lo = since_s - self.cfg.merge_gap_s
        words = [(str(t.turn.talker), s, e) for t in turns if t.end_s >= lo
                 for _, s, e in t.words if e >= lo]
        return activity_after(speech_segments(words, self.cfg.merge_gap_s), since_s)

    def _candidate(self, new: PlacedTurn, drop: PlacedTurn | None = None,
                   cut: PlacedTurn | None = None) -> tuple[Ratios, float, float]:
        """The measured ratios (and totals) with ``new`` placed (``drop`` replaced by
        ``cut``): only the time from ``new``'s start less one merge gap changes, so only
        that part is measured again (the rest is the running total)."""
        since = new.start_s - self.cfg.merge_gap_s
        turns = [t for t in self.turns if t is not drop] + [new] + ([cut] if cut else [])
        old_speech, old_overlap = self._after(self.turns, since)
        new_speech, new_overlap = self._after(turns, since)
        speech = self._speech_s - old_speech + new_speech
        overlap = self._overlap_s - old_overlap + new_overlap
        return self._measure(speech, overlap, turns), speech, overlap

    def _commit(self, new: PlacedTurn, drop: PlacedTurn | None = None,
                cut: PlacedTurn | None = None) -> None:
        _, self._speech_s, self._overlap_s = self._candidate(new, drop, cut)
        if drop is not None and cut is not None:
            self.turns[self.turns.index(drop)] = cut
        self.turns.append(new)

    def _error(self, r: Ratios) -> float:
        return (r.overlap_ratio - self.cfg.overlap_ratio) ** 2 + \
               (r.silence_ratio - self.cfg.silence_ratio) ** 2

    def _talker_free(self, talker: int, start_s: float, end_s: float) -> bool:
        return all(t.turn.talker != talker or t.end_s <= start_s or t.start_s >= end_s
                   for t in self.turns)

    # --- placing --------------------------------------------------------------------

    def add(self, turn: DryTurn) -> PlacedTurn:
        """Place a main turn after the floor holder's (by gap, overlap or interruption)."""
        a, b = turn.speech_span_s
        floor = self._floor()
        sess, rng = self.cfg, self.rng
        gap = round(float(rng.uniform(*sess.gap_s)), 3)
        overlap = round(float(rng.uniform(*sess.overlap_s)), 3)
        interrupt = bool(rng.random() < sess.interruption_probability)
        at = float(rng.uniform(*_INTERRUPT_AT))
        reaction = round(float(rng.uniform(*sess.reaction_s)), 3)
        if floor is None:
            placed = self._at(turn, self.lead_s, {"first": True})
            self._commit(placed)
            return placed
        end = floor.end_s
        options: list[tuple[PlacedTurn, PlacedTurn | None, PlacedTurn | None]] = []
        gaps = tuple(dict.fromkeys((gap, *sess.gap_s)))
        for g in gaps:
            options.append((self._at(turn, end + g, {"gap_s": g}), None, None))
        floor_span = floor.end_s - floor.start_s
        if interrupt and floor.turn.talker != turn.talker and len(floor.words) > 1:
            start = round(floor.start_s + at * floor_span, 3)
            kept = [w for w in floor.words if w[1] < start + reaction]
            if 0 < len(kept) < len(floor.words) and self._talker_free(
                    turn.talker, start, start + b - a):
                shortened = replace(floor, words=kept,
                                    keep_s=round(kept[-1][2] - floor.offset_s, 3),
                                    relation={**floor.relation, "interrupted": True})
                new = self._at(turn, start, {"interrupts": True, "reaction_s": reaction,
                                             "overlap_s": round(kept[-1][2] - start, 3)})
                options.append((new, floor, shortened))
        for drawn in dict.fromkeys((overlap, *sess.overlap_s)) if len(options) == len(gaps) \
                else ():  # no interruption: the drawn overlap, or the shortest or longest
            ov = min(drawn, _MAX_OVERLAP_SHARE * floor_span, _MAX_OVERLAP_SHARE * (b - a))
            start = round(end - ov, 3)
            if ov > 0 and floor.turn.talker != turn.talker and self._talker_free(
                    turn.talker, start, start + b - a):
                options.append((self._at(turn, start, {"overlap_s": round(ov, 3)}), None, None))
        errors = [self._error(self._candidate(*o)[0]) for o in options]
        chosen, drop, cut = options[int(np.argmin(errors))]
        self._commit(chosen, drop, cut)
        return chosen

    def _at(self, turn: DryTurn, speech_start_s: float, relation: dict[str, Any]) -> PlacedTurn:
        """``turn`` with its first word at ``speech_start_s`` (later when its audio would
        start before the session: a long leading silence)."""
        offset = max(0.0, round(speech_start_s - turn.speech_span_s[0], 3))
        return PlacedTurn(turn, offset, _words_at(turn, offset), relation=relation)

    def add_backchannel(self, turn: DryTurn) -> PlacedTurn | None:
        """Place a backchannel inside the floor holder's speech, or None when it does not
        fit (the turn is too short, or the talker is speaking then)."""
        floor = self._floor()
        at = float(self.rng.uniform(0.3, 0.7))
        if floor is None or floor.turn.talker == turn.talker:
            return None
        a, b = turn.speech_span_s
        start = round(floor.start_s + at * (floor.end_s - floor.start_s), 3)
        if start + (b - a) > floor.end_s - 0.1 or not self._talker_free(
                turn.talker, start - self.cfg.merge_gap_s, start + b - a + self.cfg.merge_gap_s):
            return None
        placed = self._at(turn, start, {"backchannel_to": floor.turn.talker})
        self._commit(placed)
        return placed

    @property
    def duration_s(self) -> float:
        """The session's length: the last word's end plus the trailing silence."""
        return round(self.end_s + self.trail_s, 3)

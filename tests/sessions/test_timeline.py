"""The scheduler on synthetic turns (no TTS): targets reached, interruptions cut words."""

from __future__ import annotations

import numpy as np
import pytest

from synthaudio.pipelines.sessions.config import SessionsConfig
from synthaudio.pipelines.sessions.labels import measure_ratios, speech_segments
from synthaudio.pipelines.sessions.timeline import DryTurn, Timeline
from synthaudio.tts.base import WordTiming


def _turn(rng: np.random.Generator, talker: int, words: int, kind: str = "turn") -> DryTurn:
    """``words`` words of 0.2-0.5 s with 0.05-0.15 s between them, after 0.1 s of silence."""
    t, out = 0.1, []
    for k in range(words):
        dur = float(rng.uniform(0.2, 0.5))
        out.append(WordTiming(f"w{k}", round(t, 3), round(dur, 3)))
        t += dur + float(rng.uniform(0.05, 0.15))
    return DryTurn(talker, kind, " ".join(w.word for w in out), tuple(out),
                   int((t + 0.2) * 16000))


@pytest.mark.parametrize(("overlap", "silence"), [(0.05, 0.05), (0.15, 0.12), (0.25, 0.2)])
def test_a_long_session_lands_on_its_targets(overlap: float, silence: float) -> None:
    cfg = SessionsConfig(count=1, overlap_ratio=overlap, silence_ratio=silence,
                         gap_s=(0.1, 2.5), overlap_s=(0.2, 3.0), interruption_probability=0.2)
    rng = np.random.default_rng(7)
    timeline = Timeline(cfg, 0.5, 0.5, np.random.default_rng(8))
    previous = -1
    for _ in range(120):
        talker = int(rng.choice([t for t in range(4) if t != previous]))
        timeline.add(_turn(rng, talker, int(rng.integers(4, 20))))
        previous = talker
    words = [(str(t.turn.talker), s, e) for t in timeline.turns for _, s, e in t.words]
    measured = measure_ratios(speech_segments(words, cfg.merge_gap_s), timeline.duration_s)
    steered = timeline.ratios()  # what the scheduler steers by is the measurement
    assert (steered.speech_s, steered.overlap_s, steered.duration_s) == pytest.approx(
        (measured.speech_s, measured.overlap_s, measured.duration_s), abs=1e-6)
    assert abs(measured.overlap_ratio - overlap) < 0.01, measured
    assert abs(measured.silence_ratio - silence) < 0.01, measured
    for talker in range(4):  # nobody talks over themself
        spans = sorted((t.start_s, t.end_s) for t in timeline.turns if t.turn.talker == talker)
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_an_interruption_cuts_the_previous_turn_at_a_word() -> None:
    cfg = SessionsConfig(count=1, interruption_probability=1.0, overlap_ratio=0.5,
                         silence_ratio=0.0, reaction_s=(0.3, 0.3))
    rng = np.random.default_rng(1)
    timeline = Timeline(cfg, 0.5, 0.5, np.random.default_rng(2))
    first = timeline.add(_turn(rng, 0, 12))
    second = timeline.add(_turn(rng, 1, 6))
    cut = timeline.turns[0]
    assert second.relation["interrupts"] and cut.relation["interrupted"]
    assert len(cut.words) < len(first.words) and cut.words == first.words[:len(cut.words)]
    assert cut.words[-1][1] < second.start_s + 0.3 <= first.words[len(cut.words)][1]
    assert cut.keep_s == pytest.approx(cut.words[-1][2] - cut.offset_s, abs=1e-3)
    assert second.relation["overlap_s"] == pytest.approx(cut.end_s - second.start_s, abs=1e-3)

"""The gap rule, the ratios and the stem activity check, on inputs built here."""

from __future__ import annotations

import numpy as np
import pytest

from synthaudio.pipelines.sessions.labels import (
    Segment,
    mask_ratios,
    measure_ratios,
    segment_mask,
    speech_segments,
    stem_activity,
)


def test_words_closer_than_the_merge_gap_are_one_segment() -> None:
    words = [("A", 0.0, 1.0), ("A", 1.3, 2.0), ("A", 2.31, 3.0), ("B", 0.5, 0.8)]
    assert speech_segments(words, merge_gap_s=0.3) == [
        Segment("A", 0.0, 2.0), Segment("B", 0.5, 0.8), Segment("A", 2.31, 3.0)]
    assert speech_segments(words, merge_gap_s=0.5) == [Segment("A", 0.0, 3.0),
                                                       Segment("B", 0.5, 0.8)]


@pytest.mark.parametrize(("segments", "duration", "overlap", "silence"), [
    ([("A", 0, 2), ("B", 1, 3)], 4.0, 1 / 3, 1 / 4),  # 1 s of 3 s speech overlapped
    ([("A", 0, 4), ("B", 1, 2), ("C", 1.5, 3)], 5.0, 2.0 / 4, 1 / 5),  # 3 talk 0.5 s: once
    ([("A", 0, 1), ("B", 2, 3)], 4.0, 0.0, 2 / 4),
])
def test_ratios_by_hand(segments: list[tuple[str, float, float]], duration: float,
                        overlap: float, silence: float) -> None:
    r = measure_ratios([Segment(*s) for s in segments], duration)
    assert (r.overlap_ratio, r.silence_ratio) == (pytest.approx(overlap), pytest.approx(silence))
    frames = int(duration / 0.01)
    masks = [segment_mask([Segment(*s) for s in segments], spk, frames, 0.01)
             for spk in sorted({s[0] for s in segments})]
    framed = mask_ratios(masks, 0.01, duration)  # the frame count agrees with the sweep
    assert framed.overlap_ratio == pytest.approx(overlap, abs=0.01)
    assert framed.silence_ratio == pytest.approx(silence, abs=0.01)


def test_stem_activity_finds_the_speech_and_fills_short_gaps() -> None:
    sr = 16000
    t = np.arange(4 * sr) / sr
    x = np.zeros_like(t, dtype=np.float32)
    on = ((t >= 1.0) & (t < 1.8)) | ((t >= 2.0) & (t < 2.5))  # 0.2 s pause inside
    x[on] = 0.3 * np.sin(2 * np.pi * 220 * t[on])
    x[(t >= 3.0) & (t < 3.2)] = 0.001  # 50 dB down: not speech
    active = stem_activity(x, sr, merge_gap_s=0.3)
    frames = np.flatnonzero(active)
    assert frames[0] == 100 and frames[-1] == 249 and active[100:250].all()
    apart = stem_activity(x, sr, merge_gap_s=0.1)
    assert not apart[185:195].any() and apart[100:180].all()
    two = stem_activity(np.stack([x, x]), sr, merge_gap_s=0.3)
    assert np.array_equal(two, active)

"""Keyword-spotting scores on hand-made score tracks: peaks, false accepts per hour, false
rejects, the DET curve and the false-reject rate at a false-accept budget."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from synthaudio.errors import InputError
from synthaudio.evaluate.kws import (
    DetPoint,
    StreamPeaks,
    clip_scores,
    det_curve,
    event_scores,
    frr_at,
    frr_difference,
    frr_interval,
    frr_points,
    judge_stream,
    kws_section,
    load_kws,
    peaks,
    write_kws,
)


def test_balanced_accuracy_se_is_the_spread_over_resampled_test_sets() -> None:
    # classes recalled at 0.9, 0.6 and 0.75 over 40, 15 and 24 clips: the balanced accuracy
    # of 4,000 test sets drawn so spreads as its standard error says
    recall, clips = np.array([0.9, 0.6, 0.75]), np.array([40, 15, 24])
    truth = [c for c, n in zip("abc", clips, strict=True) for _ in range(n)]
    one = [c if k < round(r * n) else "x" for c, r, n in zip("abc", recall, clips, strict=True)
           for k in range(n)]
    se = clip_scores(truth, one)["balanced_accuracy_se"]
    drawn = np.random.default_rng(0).binomial(clips, recall, size=(4000, 3)) / clips
    assert se == pytest.approx(float(drawn.mean(axis=1).std()), rel=0.05)


def test_clip_scores_balance_the_classes_present() -> None:
    # 6 clips of _unknown_ (5 right), 2 of yes (1 right), 2 of no (2 right); no _silence_
    truth = ["_unknown_"] * 6 + ["yes", "yes", "no", "no"]
    predicted = ["_unknown_"] * 5 + ["yes", "yes", "_unknown_", "no", "no"]
    s = clip_scores(truth, predicted)
    assert s["accuracy"] == pytest.approx(0.8)
    assert s["balanced_accuracy"] == pytest.approx((5 / 6 + 1 / 2 + 1) / 3)
    assert s["target_recall"] == pytest.approx(3 / 4)
    assert s["per_class"]["yes"] == [1, 2, 0.5]
    assert "_silence_" not in s["per_class"]
    # its standard error: sqrt(sum of r (1 - r) / n over the classes) / 3
    assert s["balanced_accuracy_se"] == pytest.approx(
        np.sqrt((5 / 6) * (1 / 6) / 6 + 0.5 * 0.5 / 2 + 0) / 3)
    assert clip_scores(["_unknown_"], ["yes"])["target_recall"] is None
    with pytest.raises(ValueError, match="2 true labels but 1"):
        clip_scores(["yes", "no"], ["yes"])


def test_peaks_suppress_their_neighbours() -> None:
    track = np.array([0.1, 0.9, 0.8, 0.1, 0.1, 0.7, 0.2])
    assert peaks(track, hop_s=0.1, refractory_s=0.2) == [(pytest.approx(0.1), 0.9),
                                                          (pytest.approx(0.5), 0.7)]
    # only local maxima: 0.8 beside 0.9 is its slope, not a peak, whatever the refractory
    assert [round(t, 3) for t, _ in peaks(track, hop_s=0.1, refractory_s=0.0)] == [0.1, 0.5]
    assert peaks(np.zeros(3), 0.1, 0.2) == []
    # a track's ends count as below it; a plateau's middle is its peak
    assert peaks(np.array([0.9, 0.5, 0.1, 0.6, 0.6, 0.6]), 0.1, 0.0) == [
        (0.0, 0.9), (pytest.approx(0.4), 0.6)]
    # a word's long run: its rising edge more than the refractory time before its top is
    # no peak of its own; two words in a row (a dip between, not below 0.5) are two peaks
    rise = np.array([0.55, 0.6, 0.7, 0.8, 0.9, 0.95, 0.97, 0.99, 0.9, 0.6, 0.1])
    assert [round(t, 3) for t, _ in peaks(rise, 0.1, 0.3)] == [0.7]
    twice = np.array([0.1, 0.9, 0.99, 0.9, 0.8, 0.7, 0.8, 0.95, 0.9, 0.1])
    assert [round(t, 3) for t, _ in peaks(twice, 0.1, 0.3)] == [0.2, 0.7]


def test_a_stream_counts_hits_and_false_accepts_per_label() -> None:
    # 10 s of windows every 0.5 s, window 1 s; labels: yes, no, _unknown_
    scores = np.zeros((20, 3))
    scores[4, 0] = 0.9  # "yes" at 2.0-3.0 s: the inserted yes at 2.2-2.6 s
    scores[12, 0] = 0.6  # "yes" at 6.0-7.0 s: nothing there, a false accept
    scores[12, 2] = 0.99  # _unknown_ is never a detection
    scores[16, 1] = 0.8  # "no" at 8.0-9.0 s over the inserted "yes": false for "no"
    events = [["yes", 2.2, 2.6], ["yes", 8.1, 8.5]]
    st = judge_stream(scores, ["yes", "no", "_unknown_"], 0.5, 1.0, events, 3600.0)
    assert st.true_scores == {0: 0.9}
    assert sorted(st.false_scores)[-2:] == [0.6, 0.8]
    assert st.events == 2 and st.hours == 1.0
    curve = det_curve([0.95, 0.7, 0.3, 0.1], [st], thresholds=[0.0, 0.5, 0.65, 0.85])
    # at 0.5: false peaks above it are 0.6 and 0.8 (2 an hour); 2 of 4 positives <= 0.5
    by_t = {p.threshold: p for p in curve}
    assert by_t[0.5].false_accepts_per_hour == 2.0 and by_t[0.5].false_reject_rate == 0.5
    assert by_t[0.85].false_accepts_per_hour == 0.0 and by_t[0.85].false_reject_rate == 0.75
    assert frr_at(curve, 0.5).threshold == 0.85  # 0.65 still lets the 0.8 "no" through
    assert frr_at(curve, 1.0).threshold == 0.65  # one an hour: FRR 0.5 (0.3 and 0.1)
    assert frr_at(curve, 2.0).threshold == 0.0  # no rejects at all
    assert frr_at(curve, 0.0).false_reject_rate == 0.75
    # 30 streams of 120 s are 0.9999999999 h: their one false accept is 1 an hour
    hours = sum([120 / 3600] * 30)
    assert 1 / hours > 1.0
    near = [DetPoint(0.9, 1 / hours, 0.6), DetPoint(0.99, 0.0, 0.66)]
    assert frr_at(near, 1.0).threshold == 0.9
    with pytest.raises(ValueError, match="needs positive clips and streams"):
        det_curve([], [st])
    # a second stage (a cascade's verifier) rescores the same peaks: it keeps the true one
    # lower, rejects the false "yes" (0) and passes the "no" higher
    seen: list[tuple[int, int, float]] = []

    def rescore(j: int, k: int, score: float) -> float:
        seen.append((j, k, score))
        return {(0, 4): 0.7, (0, 12): 0.0, (1, 16): 0.85}.get((j, k), score)

    verified = judge_stream(scores, ["yes", "no", "_unknown_"], 0.5, 1.0, events, 3600.0,
                            rescore=rescore)
    assert {(0, 4, 0.9), (0, 12, 0.6), (1, 16, 0.8)} <= set(seen)
    assert all(j != 2 for j, _, _ in seen)  # _unknown_ is never a candidate
    assert verified.true_scores == {0: 0.7}
    assert sorted(verified.false_scores)[-2:] == [0.0, 0.85]


def _stream(hits: list[float], false: list[float], hours: float = 0.5) -> StreamPeaks:
    return StreamPeaks(dict(enumerate(hits)), false, len(hits), hours)


def test_frr_interval_draws_whole_streams_again() -> None:
    rng = np.random.default_rng(0)
    # one stream: every resample is that stream, so the interval is frr_at's figure, also
    # where no threshold holds so few false accepts (the strictest threshold's)
    one = [_stream([0.95, 0.7, 0.3, 0.0], [0.6, 0.8], hours=1.0)]
    t = [0.0, 0.5, 0.65, 0.85]
    curve = det_curve([0.95, 0.7, 0.3, 0.0], one, thresholds=t)
    for fa in (0.0, 1.0, 2.0):
        want = frr_at(curve, fa).false_reject_rate
        assert frr_interval(one, fa, rng, thresholds=t, resamples=50) == (want, want)
    # two streams of 0.5 h without false peaks, one whose keywords are all found and one
    # whose keywords no peak hit (missed at any threshold): a resample draws both (FRR
    # 0.5, half the time), the first twice (0) or the second twice (1), so the 95% interval
    # spans 0 to 1 and the 40% interval is 0.5 alone
    found, missed = _stream([0.9, 0.9], []), _stream([0.0, 0.0], [])
    assert frr_interval([found, missed], 1.0, rng, thresholds=t) == (0.0, 1.0)
    assert frr_interval([found, missed], 1.0, rng, thresholds=t, level=0.4) == (0.5, 0.5)
    # 30 streams like a test hour: the interval holds the figure, and is the same for the
    # same generator state
    draw = np.random.default_rng(1)
    many = [_stream(list(draw.uniform(0.6, 1.0, 6)), list(draw.uniform(0.0, 0.9, 40)),
                    hours=120 / 3600) for _ in range(30)]
    point = frr_at(det_curve(event_scores(many), many), 1.0).false_reject_rate
    low, high = frr_interval(many, 1.0, np.random.default_rng(2))
    assert low < point < high and high - low > 0.05
    assert (low, high) == frr_interval(many, 1.0, np.random.default_rng(2))
    # the recipes' points: each rate's interval from the same resamples (seed 0), so the
    # interval at 1 FA/h is the one frr_interval gives from that seed
    points = frr_points(det_curve(event_scores(many), many), many)
    assert points["1.0"]["interval"] == list(frr_interval(many, 1.0, np.random.default_rng(0)))
    assert points["1.0"]["false_reject_rate"] == point
    assert points["5.0"]["interval"][1] <= high
    with pytest.raises(ValueError, match="needs streams"):
        frr_interval([], 1.0, rng)
    with pytest.raises(ValueError, match="level"):
        frr_interval(one, 1.0, rng, level=1.0)


def test_frr_difference_is_paired_over_the_same_streams() -> None:
    rng = np.random.default_rng(0)
    draw = np.random.default_rng(3)
    first = [_stream(list(draw.uniform(0.6, 1.0, 6)), list(draw.uniform(0.0, 0.9, 40)),
                     hours=120 / 3600) for _ in range(30)]
    assert frr_difference(first, first, 1.0, rng) == (0.0, 0.0, 0.0)
    # the second finds, at 0.95, the keywords of stream 0 the first scored lowest: fewer
    # misses wherever stream 0 is drawn, the same elsewhere
    second = [_stream([0.95] * 6, first[0].false_scores, first[0].hours), *first[1:]]
    point = (frr_at(det_curve(event_scores(second), second), 1.0).false_reject_rate
             - frr_at(det_curve(event_scores(first), first), 1.0).false_reject_rate)
    diff, low, high = frr_difference(first, second, 1.0, rng)
    assert diff == pytest.approx(point) and diff < 0
    assert low < 0 and high == 0.0  # a resample without stream 0: no difference
    # paired, the difference's interval is narrower than either detector's own
    own_low, own_high = frr_interval(first, 1.0, rng)
    assert high - low < own_high - own_low
    with pytest.raises(ValueError, match="same streams"):
        frr_difference(first, first[1:], 1.0, rng)


def test_kws_json_feeds_the_report_section(tmp_path: Path) -> None:
    scores = np.zeros((4, 2))
    st = judge_stream(scores, ["go", "_silence_"], 0.5, 1.0, [], 1800.0)
    curve = det_curve([0.2, 0.9], [st], thresholds=[0.0, 0.5, 1.0])
    write_kws(tmp_path / "eval" / "m1" / "kws.json",
              {"name": "m1", "accuracy": 0.875, "balanced_accuracy": 0.8125,
               "frr_at_target": 0.5, "frr_at_target_interval": [0.25, 0.75],
               "fa_per_hour_target": 1.0, "stream_hours": 0.5}, curve)
    (found,) = load_kws(tmp_path)
    assert found["det"][1] == {"threshold": 0.5, "false_accepts_per_hour": 0.0,
                               "false_reject_rate": 0.5}
    html = kws_section(tmp_path, tmp_path)
    assert "<td>87.5%</td><td>81.2%</td><td>1.0</td><td>50.0% (25.0-75.0%)</td>" in html
    assert (tmp_path / "kws_det.png").stat().st_size > 1000
    (tmp_path / "eval" / "m2").mkdir()
    (tmp_path / "eval" / "m2" / "kws.json").write_text(json.dumps({"name": "m2"}))
    with pytest.raises(InputError, match="no 'det'"):
        load_kws(tmp_path)

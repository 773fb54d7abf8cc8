"""Keyword-spotting scores: accuracy, false accepts per hour on streams, false rejects,
the DET curve, and the report section that shows them.

A detector's scores are posteriors in [0, 1]. Clips: a positive is rejected at threshold
``t`` when its target's score is <= ``t``. Streams: each label's score track (one value per
window, ``hop_s`` apart) is reduced to peaks by non-maximum suppression (a peak silences
its neighbours within ``refractory_s``); a peak above ``t`` is a detection, true when its
window overlaps an inserted positive of that label, else a false accept. The false-reject
rate at a number of false accepts an hour comes with a bootstrap interval over the streams
(``frr_interval``), and two detectors' with a paired one (``frr_difference``). ``kws.json``
(one per evaluation, ``OUT/eval/<name>/kws.json``) holds what the report draws.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synthaudio.errors import InputError

KWS_NAME = "kws.json"
# 0 to 0.99 in steps of 0.005, then 1 - 10^-k for k = 2.25 ... 6 (a detector's posteriors
# crowd near 1, where a few false accepts an hour are decided), then 1
THRESHOLDS = tuple(sorted({*(float(x) for x in np.round(np.linspace(0.0, 0.99, 199), 3)),
                           *(float(x) for x in np.round(1 - 10 ** -np.arange(2.25, 6.01, 0.25),
                                                        7)), 1.0}))


def clip_scores(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """Clip-classification scores of labelled clips: ``accuracy`` over all clips,
    ``balanced_accuracy`` (the mean recall over the classes present in ``truth``: what a
    test set with as many clips of each class gives), ``balanced_accuracy_se`` (its
    standard error, each class's recall a binomial proportion of its clips:
    ``sqrt(sum r (1 - r) / n) / classes``), ``target_recall`` (the share of clips of a
    target, labels not starting with "_", given their own label; None without such clips)
    and ``per_class`` ``{label: [right, clips, recall]}``."""
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} true labels but {len(predicted)} predictions")
    if not truth:
        raise ValueError("no clips to score")
    right = [t == p for t, p in zip(truth, predicted, strict=True)]
    per_class: dict[str, list[Any]] = {}
    for label in sorted(set(truth)):
        hits = [r for r, t in zip(right, truth, strict=True) if t == label]
        per_class[label] = [int(sum(hits)), len(hits), sum(hits) / len(hits)]
    targets = [r for r, t in zip(right, truth, strict=True) if not t.startswith("_")]
    return {"clips": len(truth), "accuracy": sum(right) / len(right),
            "balanced_accuracy": float(np.mean([v[2] for v in per_class.values()])),
            "balanced_accuracy_se": float(np.sqrt(sum(r * (1 - r) / n for _, n, r in
                                                      per_class.values())) / len(per_class)),
            "target_recall": sum(targets) / len(targets) if targets else None,
            "per_class": per_class}


def peaks(track: np.ndarray, hop_s: float, refractory_s: float) -> list[tuple[float, float]]:
    """(time_s, score) of the peaks of one label's score track, highest first: its local
    maxima (a plateau's middle; the ends of the track count as below it), each kept
    unless a kept higher one is within ``refractory_s`` (non-maximum suppression; scores of
    0 are never detections: left out). Only local maxima: a word's posterior run is
    longer than the refractory time (the window, the word and the smoothing), and the
    rising edge of its run more than ``refractory_s`` before its top is no peak of its
    own; two words said in a row are two peaks where the track dips between them."""
    from scipy.signal import find_peaks

    x = np.asarray(track, np.float64)
    tops = find_peaks(np.concatenate([[-np.inf], x, [-np.inf]]))[0] - 1
    order = tops[np.argsort(-x[tops], kind="stable")]
    taken = np.zeros(len(x), bool)
    radius = max(0, round(refractory_s / hop_s))
    out = []
    for k in order.tolist():
        if x[k] <= 0:
            break
        if taken[k]:
            continue
        out.append((k * hop_s, float(x[k])))
        taken[max(0, k - radius):k + radius + 1] = True
    return out


@dataclass(frozen=True)
class StreamPeaks:
    """The peaks of one stream, judged against its inserted positives."""

    true_scores: dict[int, float]  # event index -> its best true peak's score
    false_scores: list[float]  # scores of the peaks that hit no event of their label
    events: int
    hours: float
    false_labels: tuple[str, ...] = ()  # the label of each false peak, as false_scores
    event_labels: tuple[str, ...] = ()  # the label of each event

    def misses_and_false_accepts(self, thresholds: Mapping[str, float]) -> tuple[int, int]:
        """(events missed, false accepts) with a threshold per label."""
        missed = sum(1 for e, label in enumerate(self.event_labels)
                     if self.true_scores.get(e, 0.0) <= thresholds[label])
        return missed, sum(1 for s, label in zip(self.false_scores, self.false_labels,
                                                 strict=True) if s > thresholds[label])


def judge_stream(scores: np.ndarray, labels: Sequence[str], hop_s: float, window_s: float,
                 events: Sequence[Sequence[Any]], duration_s: float,
                 refractory_s: float | None = None,
                 rescore: Callable[[int, int, float], float] | None = None) -> StreamPeaks:
    """Peaks of each target label's track (``scores``: ``(n_windows, n_labels)``, window
    ``k`` covering ``[k * hop_s, k * hop_s + window_s)``) against ``events``
    (``[label, start_s, end_s]``); labels starting with "_" are not detected.
    ``rescore(label_index, window, score)``: each peak's score as a second stage gives it
    (a cascade's verifier; 0: rejected), the peaks themselves stay those of ``scores``."""
    refractory = window_s if refractory_s is None else refractory_s
    true: dict[int, float] = {}
    false: list[float] = []
    false_labels: list[str] = []
    for j, label in enumerate(labels):
        if label.startswith("_"):
            continue
        mine = [(e, float(ev[1]), float(ev[2])) for e, ev in enumerate(events) if ev[0] == label]
        for t, first in peaks(scores[:, j], hop_s, refractory):
            score = first if rescore is None else rescore(j, round(t / hop_s), first)
            hit = [e for e, a, b in mine if t < b and a < t + window_s
                   and min(b, t + window_s) - max(a, t) >= 0.5 * (b - a)]
            if hit:
                for e in hit:
                    true[e] = max(true.get(e, 0.0), score)
            else:
                false.append(score)
                false_labels.append(label)
    return StreamPeaks(true, false, len(events), duration_s / 3600, tuple(false_labels),
                       tuple(str(ev[0]) for ev in events))


def event_scores(streams: Sequence[StreamPeaks]) -> list[float]:
    """Each inserted positive's best true peak score (0 where none hit it): the positive
    scores of a DET curve over stream events (a miss at ``t``: score <= ``t``)."""
    return [st.true_scores.get(e, 0.0) for st in streams for e in range(st.events)]


@dataclass(frozen=True)
class DetPoint:
    threshold: float
    false_accepts_per_hour: float
    false_reject_rate: float  # of the positive clips


def det_curve(positive_scores: Sequence[float], streams: Sequence[StreamPeaks],
              thresholds: Sequence[float] = THRESHOLDS) -> list[DetPoint]:
    """False rejects of the positive clips against false accepts per hour of the streams,
    at each threshold."""
    pos = np.asarray(positive_scores, np.float64)
    false = np.asarray([s for st in streams for s in st.false_scores], np.float64)
    hours = sum(st.hours for st in streams)
    if pos.size == 0 or hours <= 0:
        raise ValueError("a DET curve needs positive clips and streams")
    return [DetPoint(t, float(np.sum(false > t)) / hours, float(np.mean(pos <= t)))
            for t in thresholds]


def frr_at(curve: Sequence[DetPoint], false_accepts_per_hour: float) -> DetPoint:
    """The point of lowest false-reject rate with at most that many false accepts an
    hour (the strictest threshold when none has so few)."""
    # a tolerance: 30 streams of 120 s sum to 0.9999999999 h, where 1 false accept is
    # 1.0000000001 an hour
    ok = [p for p in curve if p.false_accepts_per_hour <= false_accepts_per_hour * (1 + 1e-9)]
    if not ok:
        return max(curve, key=lambda p: p.threshold)
    return min(ok, key=lambda p: (p.false_reject_rate, -p.threshold))


def _resampled_frr(streams: Sequence[StreamPeaks], false_accepts_per_hour: float,
                   weights: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """``frr_at(det_curve(...), false_accepts_per_hour)`` of each resample of ``streams``
    (``weights``: ``(resamples, streams)``, how often each draws each stream); NaN for a
    resample without keywords."""
    t = np.asarray(thresholds, np.float64)
    misses, false = [], []  # a stream's misses and false accepts at each threshold
    for st in streams:
        hits = np.sort([st.true_scores.get(e, 0.0) for e in range(st.events)])
        misses.append(np.searchsorted(hits, t, side="right"))  # scores <= t
        wrong = np.sort(np.asarray(st.false_scores, np.float64))
        false.append(len(wrong) - np.searchsorted(wrong, t, side="right"))  # scores > t
    events = weights @ np.array([st.events for st in streams], np.float64)
    hours = weights @ np.array([st.hours for st in streams], np.float64)
    frr = (weights @ np.array(misses, np.float64)) / np.maximum(events, 1)[:, None]
    rate = (weights @ np.array(false, np.float64)) / hours[:, None]
    ok = rate <= false_accepts_per_hour * (1 + 1e-9)  # as frr_at
    strictest = frr[:, int(np.argmax(t))]
    best = np.where(ok.any(1), np.where(ok, frr, np.inf).min(1), strictest)
    return np.where(events > 0, best, np.nan)


def _resample_weights(n: int, rng: np.random.Generator, resamples: int,
                      level: float) -> np.ndarray:
    if n == 0 or resamples < 1 or not 0 < level < 1:
        raise ValueError("an interval needs streams, resamples >= 1 and 0 < level < 1")
    return np.stack([np.bincount(rng.integers(n, size=n), minlength=n)
                     for _ in range(resamples)])


def _percentiles(values: np.ndarray, level: float) -> tuple[float, float]:
    tail = 100 * (1 - level) / 2
    low, high = np.nanpercentile(values, [tail, 100 - tail])
    return float(low), float(high)


def frr_interval(streams: Sequence[StreamPeaks], false_accepts_per_hour: float,
                 rng: np.random.Generator, thresholds: Sequence[float] = THRESHOLDS,
                 resamples: int = 2000, level: float = 0.95) -> tuple[float, float]:
    """A percentile bootstrap interval of ``frr_at(det_curve(...), false_accepts_per_hour)``
    with the streams drawn again with replacement ``resamples`` times: a stream's keywords
    and false peaks share its voices, room and noise, so the stream, not the keyword, is
    the unit drawn. At 1 false accept an hour of a 1 h test set the threshold is set by
    the one or two highest false peaks, and the interval says how far another hour of
    the same kind of streams could move the figure."""
    weights = _resample_weights(len(streams), rng, resamples, level)
    return _percentiles(_resampled_frr(streams, false_accepts_per_hour, weights, thresholds),
                        level)


def frr_difference(first: Sequence[StreamPeaks], second: Sequence[StreamPeaks],
                   false_accepts_per_hour: float, rng: np.random.Generator,
                   thresholds: Sequence[float] = THRESHOLDS, resamples: int = 2000,
                   level: float = 0.95) -> tuple[float, float, float]:
    """Two detectors judged on the same streams (``first[i]`` and ``second[i]``: stream
    ``i``): the FRR at ``false_accepts_per_hour`` of the second less the first's, with its
    paired bootstrap interval (both drawn with the same streams each time, so what the
    streams share, the hard keywords and the noisy streams, cancels; narrower than the two
    ``frr_interval``, least so at the lowest rates, where each detector's threshold is its
    own highest false peak or two). An interval that holds 0: the streams cannot tell the
    two apart."""
    if len(first) != len(second) or any(a.events != b.events for a, b in zip(first, second,
                                                                            strict=True)):
        raise ValueError("the two detectors must be judged on the same streams")
    # the streams as they are (each once), then the resamples
    weights = np.vstack([np.ones((1, len(first))),
                         _resample_weights(len(first), rng, resamples, level)])
    diffs = (_resampled_frr(second, false_accepts_per_hour, weights, thresholds)
             - _resampled_frr(first, false_accepts_per_hour, weights, thresholds))
    return (float(diffs[0]), *_percentiles(diffs[1:], level))


FA_POINTS = (0.5, 1.0, 2.0, 5.0)  # false accepts an hour the recipes report the FRR at


def frr_points(curve: Sequence[DetPoint], streams: Sequence[StreamPeaks],
               rates: Sequence[float] = FA_POINTS, seed: int = 0) -> dict[str, Any]:
    """The DET curve's points at ``rates`` false accepts an hour (``frr_at``), by rate, each
    with the 95% bootstrap interval of its FRR over the ``streams`` the curve was measured
    on (``interval``: ``frr_interval`` with a generator from ``seed``, the same resamples
    of the streams for every rate)."""
    return {str(x): {**asdict(frr_at(curve, x)),
                     "interval": list(frr_interval(streams, x, np.random.default_rng(seed)))}
            for x in rates}


def write_kws(path: Path, summary: Mapping[str, Any], curve: Sequence[DetPoint]) -> None:
    """``kws.json``: the summary (accuracies, rates) and the DET curve."""
    from synthaudio.io.fileio import write_text_atomic

    write_text_atomic(path, json.dumps({**summary, "det": [asdict(p) for p in curve]},
                                       indent=1) + "\n")


def load_kws(out_dir: Path) -> list[dict[str, Any]]:
    """The ``kws.json`` of each evaluation of a corpus, by name."""
    found = []
    for path in sorted((out_dir / "eval").glob(f"*/{KWS_NAME}")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{path}: cannot read keyword-spotting scores ({exc})") from None
        if not isinstance(data, dict) or not isinstance(data.get("det"), list):
            raise InputError(f"{path}: not keyword-spotting scores (no 'det')")
        data.setdefault("name", path.parent.name)
        found.append(data)
    return found


def kws_section(out_dir: Path, img_dir: Path) -> str:
    """The report's keyword-spotting section (empty when no evaluation wrote kws.json)."""
    from synthaudio.evaluate import plots

    evals = load_kws(out_dir)
    if not evals:
        return ""
    rows = []
    for d in evals:
        cells = [d["name"], d.get("test", "-"), d.get("clips", "-"),
                 f"{100 * d['accuracy']:.1f}%" if "accuracy" in d else "-",
                 f"{100 * d['balanced_accuracy']:.1f}%" if "balanced_accuracy" in d else "-",
                 f"{d.get('fa_per_hour_target', '-')}",
                 (f"{100 * d['frr_at_target']:.1f}%" if "frr_at_target" in d else "-")
                 + (" ({:.1f}-{:.1f}%)".format(*(100 * v for v in d["frr_at_target_interval"]))
                    if "frr_at_target_interval" in d else ""),
                 f"{d.get('stream_hours', 0):.2f}"]
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in ("model", "test", "clips", "accuracy",
                                              "balanced accuracy", "FA/h",
                                              "FRR at FA/h (95% interval)",
                                              "stream hours"))
    plots.det_plot({d["name"]: [(p["false_accepts_per_hour"], p["false_reject_rate"])
                                for p in d["det"]] for d in evals}, img_dir / "kws_det.png")
    return ('<h2 id="kws">Keyword spotting</h2>'
            f"<table><tr>{head}</tr>{''.join(rows)}</table>"
            '<div class="plots"><img src="img/kws_det.png" alt="DET curve"></div>')

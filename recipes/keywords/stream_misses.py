#!/usr/bin/env python3
"""Why a keyword detector misses the keywords of a corpus's test streams.

    python recipes/keywords/stream_misses.py MODEL CORPUS [--test-streams DIR] [--cache DIR]
        [--fa-per-hour 1]

For each inserted keyword of the test streams: the best raw posterior of its label over the
windows that hold it whole (the model's view of the word, before smoothing), the best
smoothed one, and what the model says there instead; for each false peak, the words said
under it. Splits the misses at the threshold of ``--fa-per-hour`` into "never recognised"
(no window above 0.5), "recognised but below the threshold" (calibration), and lost to
smoothing; prints the false peaks above the threshold with their words, and the inserted
keywords recognised and found per condition of their stream (noise kind, SNR, RT60, codec)
and per engine of the voice that said them (``conditions``). ``--test-streams``: every
stream of that corpus (the recipe's ``<name>-streams-test``) is a test stream too.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from streaming import EDGE_S, run_script, stream_features, stream_records  # noqa: E402

from synthaudio.evaluate.kws import det_curve, event_scores, frr_at, judge_stream  # noqa: E402
from synthaudio.train.classifier import load_detector_settings  # noqa: E402
from synthaudio.train.detect import KeywordDetector, smooth_scores  # noqa: E402
from synthaudio.train.embedding import FRAME_S  # noqa: E402

SNR_BANDS_DB = (5.0, 15.0, 25.0)  # the bands' upper edges (the last band is open)
RT60_BANDS_S = (0.3, 0.5)


def _band(value: float | None, edges: Sequence[float], unit: str, none: str) -> str:
    """The band of ``edges`` (upper edges, the last band open) ``value`` falls in."""
    if value is None:
        return none
    lows = (None, *edges)
    for lo, hi in zip(lows, edges, strict=False):
        if value < hi:
            return f"<{hi:g} {unit}" if lo is None else f"{lo:g}-{hi:g} {unit}"
    return f">={edges[-1]:g} {unit}"


def conditions(record: Any, start_s: float, label: str) -> dict[str, str]:
    """The conditions an inserted keyword of a stream ``record`` was said in: its stream's
    noise kinds, SNR band, RT60 band and codec, and the engine of the phrase that said it
    (the phrase of its text that starts nearest ``start_s``)."""
    aug = record.augment or {}
    noise = aug.get("noise") or {}
    room = aug.get("room") or {}
    codec = (aug.get("channel") or {}).get("codec") or {}
    text = label.replace("_", " ")
    said = sorted((abs(p["start_s"] - start_s), str(p["engine"]))
                  for p in (record.tts or {}).get("phrases", []) if p["text"] == text)
    return {"noise": "+".join(sorted({s["kind"] for s in noise.get("sources", [])})) or "none",
            "snr": _band(noise.get("snr_db"), SNR_BANDS_DB, "dB", "no noise"),
            "rt60": _band(room.get("rt60_s"), RT60_BANDS_S, "s", "no room"),
            "codec": str(codec.get("kind", "none")),
            "engine": said[0][1] if said else "?"}


def by_condition(rows: Sequence[tuple[dict[str, str], bool, bool]],
                 ) -> dict[str, dict[str, tuple[int, int, int]]]:
    """Per factor and value: (keywords, recognised, found) over ``rows`` of (conditions,
    recognised, found at the threshold)."""
    out: dict[str, dict[str, tuple[int, int, int]]] = {}
    for cond, recognised, found in rows:
        for factor, value in cond.items():
            n, r, f = out.setdefault(factor, {}).get(value, (0, 0, 0))
            out[factor][value] = (n + 1, r + int(recognised), f + int(found))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", type=Path)
    p.add_argument("corpus", type=Path)
    p.add_argument("--cache", type=Path,
                   help="the recipe's OUT/cache/<features> (embedding, whisper)")
    p.add_argument("--fa-per-hour", type=float, default=1.0)
    p.add_argument("--test-streams", type=Path, action="append", default=[], metavar="DIR",
                   help="a streams corpus all of whose streams are test streams too "
                        "(the recipe's --test-streams corpus; repeatable)")
    args = p.parse_args(argv)
    detector = KeywordDetector(args.model, verify=False)  # InputError: not a model
    model, labels, feats_cfg = detector.model, detector.labels, detector.features
    det = load_detector_settings(args.model)
    smooth, refractory = int(det.get("smooth_frames", 3)), float(det.get("refractory_s", 1.0))
    window_s = float(det.get("window_s", 1.0))
    from synthaudio.train.classifier import posteriors

    index = {x: k for k, x in enumerate(labels)}
    rows, judged, false_words = [], [], []
    tests = [(corpus, r) for corpus in (args.corpus, *args.test_streams)
             for r in stream_records(corpus, "test")]
    for corpus, r in tests:
        windows = stream_features(corpus / r.audio, feats_cfg, window_s,  # type: ignore[arg-type]
                                  args.cache / f"{corpus.name}-frames" if args.cache else None)
        raw = posteriors(model, windows)
        sm = smooth_scores(raw, smooth)
        events = [ev for ev in r.extra["events"] if ev[0] in index]
        judged.append((judge_stream(sm, labels, FRAME_S, window_s, events, r.duration_s,
                                    refractory), r, sm))
        for label, a, b in events:
            ks = [k for k in range(len(windows)) if a >= k * FRAME_S - EDGE_S
                  and b <= k * FRAME_S + window_s + EDGE_S]
            j = index[label]
            cond = conditions(r, a, label)
            if not ks:
                rows.append((label, 0.0, 0.0, "-", b - a, cond))
                continue
            best = max(ks, key=lambda k: raw[k, j])
            said = labels[int(raw[best].argmax())]
            rows.append((label, float(raw[ks, j].max()),
                         float(sm[ks[0]:ks[-1] + smooth, j].max()), said, b - a, cond))
    streams = [j[0] for j in judged]
    curve = det_curve(event_scores(streams), streams)
    point = frr_at(curve, args.fa_per_hour)
    t = point.threshold
    n = len(rows)
    raw_best = np.array([x[1] for x in rows])
    smooth_best = np.array([x[2] for x in rows])
    print(f"{n} keywords; at {args.fa_per_hour} FA/h: threshold {t:.6f}, FRR "
          f"{100 * point.false_reject_rate:.1f}%")
    print(f"  never above 0.5 raw (not recognised): {np.mean(raw_best <= 0.5) * 100:.1f}%"
          f" (model said instead: {Counter(x[3] for x in rows if x[1] <= 0.5).most_common(6)})")
    print(f"  raw above 0.5, at or below the threshold raw: "
          f"{np.mean((raw_best > 0.5) & (raw_best <= t)) * 100:.1f}%")
    print(f"  raw above the threshold, smoothed not: "
          f"{np.mean((raw_best > t) & (smooth_best <= t)) * 100:.1f}%")
    for q in (0.5, 0.9, 0.99, 0.999):
        print(f"  keywords with a raw posterior above {q}: {np.mean(raw_best > q) * 100:.1f}%")
    per = Counter(x[0] for x in rows)
    print("  recall at the threshold per keyword: " + ", ".join(
        f"{w} {sum(1 for x in rows if x[0] == w and x[2] > t)}/{c}"
        for w, c in sorted(per.items())))
    print("recognised (raw above 0.5) / found at the threshold, per condition:")
    for factor, values in by_condition([(x[5], x[1] > 0.5, x[2] > t) for x in rows]).items():
        print(f"  {factor}: " + "; ".join(
            f"{v} {r}/{f}/{k}" for v, (k, r, f) in sorted(values.items(),
                                                          key=lambda kv: -kv[1][0])))
    for st, r, _ in judged:
        for score, label in zip(st.false_scores, st.false_labels, strict=True):
            if score > min(t, 0.99):
                false_words.append((round(score, 4), label, r.id))
    false_words.sort(reverse=True)
    print(f"false peaks above min(threshold, 0.99): {len(false_words)}: "
          + "; ".join(f"{label} {s} ({rid})" for s, label, rid in false_words[:15]))
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main, "stream_misses.py"))

#!/usr/bin/env python3
"""False accepts an hour of a keyword model on real recordings whose words are known.

    python recipes/keywords/real_false_accepts.py MODEL [--clips DIR ...] [--kaldi DIR ...]
                                                  [--threshold T] [--gap-s 0.3] [--no-verify]
                                                  [--order shuffled|name] [--seed 0]
                                                  [--curve T,T,...] [--json F]

``--clips DIR``: one word per file, in a Speech Commands folder (``<word>/*.wav``) or Free
Spoken Digit files (``<digit>_<speaker>_<n>.wav``: the digit's word); the clips of a
folder are joined in an order shuffled by ``--seed`` (``--order name``: name order),
``--gap-s`` of silence apart, into one recording the detector runs over as it would over
live audio. Name order puts a word's clips back to back, a second apart: the posterior of
"down" stays above the threshold from one "down" to the next, and where it hardly dips
between them their peaks merge; one digit said a hundred times in a row repeats one
confusion a hundred times. Shuffled, a word's neighbours are other words, as in speech
(seed 0's model of round 12 finds 46 of the 78 commands said shuffled, 37 in name order).

``--kaldi DIR``: each recording of a Kaldi dir with its transcript. A detection is true
where its keyword is said in the clip (or recording) it overlaps most, else a false
accept. Prints and returns the counts, false accepts an hour, and the keywords found of
those said. A model with the word-vector verifier (``word_classifier.npz`` beside it) runs
as the two-stage cascade, as ``synthaudio detect`` does (``--threshold``: the second
stage's); ``--no-verify``: the head alone. ``--curve T,T,...``: the keywords found and the
false accepts above each threshold too (a real-speech DET curve), counted from one run at
the lowest: a detection counts at ``T`` where its score is above ``T``, which is what a
run at ``T`` gives (the peaks, and the cascade's candidates, do not depend on it).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from streaming import run_script  # noqa: E402

from synthaudio.errors import SynthaudioError  # noqa: E402
from synthaudio.train.data import kaldi_dir_utterances  # noqa: E402
from synthaudio.train.detect import DetectorSettings, KeywordDetector  # noqa: E402
from synthaudio.train.features import load_mono  # noqa: E402

DIGITS = "zero one two three four five six seven eight nine".split()


def clip_words(folder: Path) -> list[tuple[Path, str]]:
    """(file, word) of a Speech Commands or Free Spoken Digit folder, in name order."""
    out = []
    for path in sorted(folder.rglob("*.wav")):
        first = path.stem.split("_")[0]
        word = (DIGITS[int(first)] if first.isdigit() and int(first) < 10
                else path.parent.name)
        out.append((path, word))
    return out


def ordered(clips: Sequence[tuple[Path, str]], order: str, seed: int
            ) -> list[tuple[Path, str]]:
    """``clips`` in ``order``: "name" as given, "shuffled" permuted by ``seed``."""
    if order == "name":
        return list(clips)
    if order != "shuffled":
        raise ValueError(f"order must be shuffled or name, got {order!r}")
    return [clips[int(k)] for k in np.random.default_rng(seed).permutation(len(clips))]


def joined(clips: Sequence[tuple[Path, str]], rate: int, gap_s: float
           ) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """The clips one after the other, ``gap_s`` apart; each clip's (start_s, end_s, word)."""
    parts, spans, t = [], [], 0
    gap = np.zeros(round(gap_s * rate), np.float32)
    for path, word in clips:
        audio = load_mono(path, rate)
        spans.append((t / rate, (t + len(audio)) / rate, word))
        parts += [audio, gap]
        t += len(audio) + len(gap)
    return np.concatenate(parts), spans


def judge(detector: KeywordDetector, audio: np.ndarray, spans: Sequence[tuple[float, float, str]],
          settings: DetectorSettings, name: str) -> dict[str, Any]:
    """Counts of one recording: detections true (the keyword said in the span the
    detection overlaps most) or false (``false``: keyword, start, score and the words said
    where it fired, None in a gap), keywords said and found, and each said keyword's best
    true score (``found_scores``, 0.0 where none: what ``--curve`` counts as found above
    a threshold)."""
    keywords = {x.replace("_", " ") for x in detector.labels if not x.startswith("_")}
    found = detector.detect(audio, name, settings)
    false: list[list[Any]] = []
    hit: dict[int, float] = {}  # span -> the best score of a true detection there
    for d in found:
        overlap = [(min(b, d.end_s) - max(a, d.start_s), k) for k, (a, b, _) in
                   enumerate(spans)]
        best = max(overlap)[1] if overlap and max(overlap)[0] > 0 else None
        if best is not None and f" {d.keyword.replace('_', ' ')} " in f" {spans[best][2]} ":
            hit[best] = max(hit.get(best, 0.0), float(d.score))
        else:
            false.append([d.keyword, d.start_s, round(d.score, 4),
                          None if best is None else spans[best][2]])
    said = [k for k, (_, _, w) in enumerate(spans) if any(
        f" {kw} " in f" {w} " for kw in keywords)]
    return {"seconds": round(len(audio) / detector.features.sample_rate, 1),
            "detections": len(found), "false_accepts": len(false),
            "keywords_said": len(said), "keywords_found": len(hit.keys() & set(said)),
            "false": false, "found_scores": [hit.get(k, 0.0) for k in said]}


def curve(results: Mapping[str, Mapping[str, Any]], thresholds: Sequence[float],
          hours: float) -> list[dict[str, float]]:
    """Keywords found and false accepts (an hour) above each threshold, from detections
    made at a lower one: a detection counts at ``t`` where its score is above ``t``."""
    scores = [s for r in results.values() for s in r["found_scores"]]
    false = [f[2] for r in results.values() for f in r["false"]]
    return [{"threshold": t, "keywords_found": sum(s > t for s in scores),
             "false_accepts": sum(f > t for f in false),
             "false_accepts_per_hour": round(sum(f > t for f in false) / hours, 2)}
            for t in thresholds]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", type=Path)
    p.add_argument("--clips", type=Path, action="append", default=[])
    p.add_argument("--kaldi", type=Path, action="append", default=[])
    p.add_argument("--threshold", type=float, help="one threshold for every keyword (with "
                   "the verifier: its second stage's)")
    p.add_argument("--no-verify", action="store_true", help="the head alone")
    p.add_argument("--gap-s", type=float, default=0.3)
    p.add_argument("--order", choices=("shuffled", "name"), default="shuffled",
                   help="the order a folder's clips are joined in (see the module doc)")
    p.add_argument("--seed", type=int, default=0, help="of the shuffled order")
    p.add_argument("--json", type=Path, help="write the counts here")
    p.add_argument("--curve", metavar="T,T,...",
                   help="also the keywords found and false accepts above each of these "
                        "thresholds (with the verifier: its second stage's), from one run "
                        "at the lowest of them")
    args = p.parse_args(argv)
    grid: list[float] = []
    if args.curve:
        try:
            grid = sorted(float(t) for t in args.curve.split(","))
        except ValueError:
            raise SynthaudioError(f"--curve must be thresholds joined by commas, got "
                                  f"{args.curve!r}") from None
        if args.threshold is not None and args.threshold > grid[0]:
            raise SynthaudioError(f"--threshold {args.threshold} is above --curve's lowest, "
                                  f"{grid[0]}: the curve is counted from one run at it")
        args.threshold = grid[0] if args.threshold is None else args.threshold
    detector = KeywordDetector(args.model, verify=not args.no_verify)
    rate = detector.features.sample_rate
    settings = detector.settings
    if args.threshold is not None:
        settings = (replace(settings, verify_threshold=args.threshold) if detector.verifier
                    else replace(settings, threshold=args.threshold, thresholds={}))
    results = {}
    for folder in args.clips:
        audio, spans = joined(ordered(clip_words(folder), args.order, args.seed), rate,
                              args.gap_s)
        results[str(folder)] = judge(detector, audio, spans, settings, folder.name)
    for kaldi in args.kaldi:
        for u in kaldi_dir_utterances(kaldi):
            audio = load_mono(u.audio_path, rate)
            results[f"{kaldi}/{u.id}"] = judge(detector, audio,
                                               [(0.0, len(audio) / rate, u.text)], settings,
                                               u.id)
    seconds = sum(r["seconds"] for r in results.values())
    fas = sum(r["false_accepts"] for r in results.values())
    total = {"seconds": round(seconds, 1), "false_accepts": fas,
             "false_accepts_per_hour": round(fas / (seconds / 3600), 2) if seconds else None,
             "keywords_said": sum(r["keywords_said"] for r in results.values()),
             "keywords_found": sum(r["keywords_found"] for r in results.values())}
    for name, r in results.items():
        print(f"{name}: {r['seconds']} s, {r['false_accepts']} false accepts, keywords found "
              f"{r['keywords_found']} of {r['keywords_said']}")
    print(f"all: {total['seconds']} s, {fas} false accepts ({total['false_accepts_per_hour']} "
          f"an hour), keywords found {total['keywords_found']} of {total['keywords_said']}")
    heard = Counter(f"{kw} <- {said or '(gap)'}" for r in results.values()
                    for kw, _, _, said in r["false"])
    if heard:
        print("false accepts (keyword <- what was said): "
              + ", ".join(f"{k} x{n}" for k, n in heard.most_common()))
    points = curve(results, grid, seconds / 3600) if grid and seconds else []
    for pt in points:
        print(f"above {pt['threshold']:g}: keywords found {pt['keywords_found']} of "
              f"{total['keywords_said']}, {pt['false_accepts']} false accepts "
              f"({pt['false_accepts_per_hour']} an hour)")
    if args.json:
        args.json.write_text(json.dumps({"total": total, "recordings": results,
                                         **({"curve": points} if points else {})}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main, "real_false_accepts.py"))

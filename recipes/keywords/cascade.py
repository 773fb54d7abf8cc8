#!/usr/bin/env python3
"""A two-stage (cascade) keyword detector against the head alone, on a corpus's test streams.

    python recipes/keywords/cascade.py MODEL CORPUS --stream-corpus DIR [--dev-streams DIR]
        [--cache DIR] [--candidates 0.1,0.2,0.3,0.5] [--weights 0.5] [--heads detector,clip]
        [--fa-per-hour 1] [--json FILE]

MODEL: a keywords recipe's ``model.pt`` with ``word_classifier.npz`` beside it. Stage 1,
the head over the speech embedding every 80 ms, proposes the peaks above a candidate
threshold; stage 2 (``synthaudio.train.verifier``) scores each candidate's 1.5 s by
EfficientWord-Net word vectors and the regression, fused with the head's posteriors
(the word vectors' share ``--weights``): the detector head's smoothed row there, or the
clip heads' posteriors over the candidate's smoothing windows (``--heads``; the clip heads
the model's settings name, else ``clip_model.pt``, ``clip_model-K.pt`` beside it). For
every candidate threshold, weight and head side: the
FRR at 0.5 / 1 / 2 / 5 FA/h of the test streams (the DET curve over the second
threshold), the pooled second threshold chosen on the dev streams (the last third of
``--stream-corpus``'s streams, and every stream of ``--dev-streams``) and what it gives
on the test streams, and the CPU the word vectors took an hour of audio.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from streaming import (  # noqa: E402
    judge_cascade,
    pooled_on_test,
    run_script,
    score_cascade,
    stream_features,
)

from synthaudio.errors import InputError  # noqa: E402
from synthaudio.evaluate.kws import det_curve, event_scores, frr_points  # noqa: E402
from synthaudio.io.metadata import iter_metadata  # noqa: E402
from synthaudio.train.classifier import (  # noqa: E402
    load_detector_settings,
    posteriors,
)
from synthaudio.train.detect import (  # noqa: E402
    WORD_CLASSIFIER,
    DetectorSettings,
    KeywordDetector,
)
from synthaudio.train.embedding import FRAME_S  # noqa: E402
from synthaudio.train.verifier import Verifier  # noqa: E402
from synthaudio.train.word_vectors import WordVectors, load_word_classifier  # noqa: E402


def stream_recs(corpus: Path, split: str = "test") -> list[Any]:
    return [r for r in iter_metadata(corpus) if r.split == split
            and r.extra.get("kind") == "stream"]


def clip_head_files(model: Path, settings: dict[str, Any]) -> list[str]:
    """The clip heads of a saved model: those its settings name, else the recipe's
    ``clip_model.pt`` and ``clip_model-K.pt`` found beside it."""
    named = list(settings.get("verify_models") or [])
    if named:
        return named
    found = ["clip_model.pt"] if (model.parent / "clip_model.pt").is_file() else []
    k = 2
    while (model.parent / f"clip_model-{k}.pt").is_file():
        found.append(f"clip_model-{k}.pt")
        k += 1
    return found


def summarize(test: Sequence[Any], dev: Sequence[Any], labels: Sequence[str], window_s: float,
              settings: DetectorSettings, candidate_t: float | None, weight: float,
              fa_per_hour: float, clip: bool = False) -> dict[str, Any]:
    """The DET figures of one cascade (``candidate_t`` None: the head alone; ``clip``: the
    word vectors fused with the clip heads' rows) on the test streams, and its pooled
    threshold from the dev streams."""
    judged = judge_cascade(test, labels, FRAME_S, window_s, settings.refractory_s,
                           candidate_t, weight, clip)
    curve = det_curve(event_scores(judged), judged)
    hours = sum(st.hours for st in judged)
    points = frr_points(curve, judged)
    out: dict[str, Any] = {"frr_at": {x: p["false_reject_rate"] for x, p in points.items()},
                           "frr_interval": {x: p["interval"] for x, p in points.items()},
                           "candidates_per_hour": None if candidate_t is None else sum(
                               1 for s in test for k in s.words
                               if s.smoothed[k, [j for j, x in enumerate(labels)
                                                 if not x.startswith("_")]].max()
                               > candidate_t) / hours}
    if dev:
        dev_judged = judge_cascade(dev, labels, FRAME_S, window_s, settings.refractory_s,
                                   candidate_t, weight, clip)
        out["pooled"] = pooled_on_test(dev_judged, judged, labels, fa_per_hour)
    out["det"] = [[p.threshold, round(p.false_accepts_per_hour, 3), round(p.false_reject_rate, 4)]
                  for p in curve]
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", type=Path)
    p.add_argument("corpus", type=Path, help="its test streams are scored")
    p.add_argument("--stream-corpus", type=Path, help="its last third: the dev streams")
    p.add_argument("--dev-streams", type=Path, action="append", default=[], metavar="DIR",
                   help="a streams corpus all of whose streams are dev streams too "
                        "(the recipe's --dev-streams corpus; repeatable)")
    p.add_argument("--cache", type=Path, help="the recipe's OUT/cache/embedding")
    p.add_argument("--word-classifier", type=Path, help=f"default: {WORD_CLASSIFIER} beside MODEL")
    p.add_argument("--candidates", default="0.1,0.2,0.3,0.5",
                   help="first-stage thresholds (comma list)")
    p.add_argument("--weights", default="0.5", help="the word vectors' shares (comma list)")
    p.add_argument("--heads", default="detector,clip",
                   help="the head side of stage 2's fusion (comma list): the detector head's "
                        "smoothed row, the clip heads' smoothed posteriors")
    p.add_argument("--fa-per-hour", type=float, default=1.0)
    p.add_argument("--shifts", default="0", help="the candidate's window moved by each "
                   "(seconds, comma list); the best fused posterior counts")
    p.add_argument("--threads", type=int, default=1, help="torch's and the ResNet's threads")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    detector = KeywordDetector(args.model, verify=False)  # InputError: not a model
    model, labels, feats_cfg = detector.model, detector.labels, detector.features
    det = load_detector_settings(args.model)
    settings = DetectorSettings(int(det.get("smooth_frames", 3)),
                                float(det.get("refractory_s", 1.0)))
    window_s = float(det.get("window_s", 1.0))
    params = load_word_classifier(args.word_classifier or args.model.parent / WORD_CLASSIFIER,
                                  labels)
    verifier = Verifier(params, vectors=WordVectors(threads=args.threads),
                        shifts_s=[float(x) for x in args.shifts.split(",")])
    candidates = sorted(float(x) for x in args.candidates.split(","))
    weights = [float(x) for x in args.weights.split(",")]
    heads = args.heads.split(",")
    if not set(heads) <= {"detector", "clip"}:
        raise InputError(f"--heads: detector or clip, got {args.heads!r}")
    second = None
    if "clip" in heads:
        files = clip_head_files(args.model, det)
        if not files:
            raise InputError(f"{args.model}: no clip heads beside it (--heads detector)")
        detector.clip_heads = [detector.load_clip_head(args.model, name) for name in files]
        second = detector.clip_scores

    def streams(corpus: Path, recs: Sequence[Any]) -> list[Any]:
        return [(stream_features(corpus / r.audio, feats_cfg,  # type: ignore[arg-type]
                                 window_s, args.cache / f"{corpus.name}-frames"
                                 if args.cache else None),
                 corpus / r.audio, r.extra["events"], r.duration_s) for r in recs]

    t0 = time.process_time()
    test, cpu_s, vectors = score_cascade(lambda w: posteriors(model, w),
                                         streams(args.corpus, stream_recs(args.corpus)),
                                         labels, FRAME_S, window_s, settings, verifier,
                                         candidates[0], second)
    hours = sum(s.duration_s for s in test) / 3600
    dev_sets = [(c, stream_recs(c)) for c in args.dev_streams]
    if args.stream_corpus is not None:  # its last third
        recs = stream_recs(args.stream_corpus)
        dev_sets.insert(0, (args.stream_corpus, recs[(2 * len(recs)) // 3:]))
    dev: list[Any] = []
    for corpus, recs in dev_sets:
        dev += score_cascade(lambda w: posteriors(model, w), streams(corpus, recs), labels,
                             FRAME_S, window_s, settings, verifier, candidates[0], second)[0]
    result: dict[str, Any] = {
        "model": str(args.model), "test_hours": hours,
        "dev_hours": sum(s.duration_s for s in dev) / 3600,
        "events": sum(len(s.events) for s in test),
        "stage2_cpu_s_per_hour": cpu_s / hours, "stage2_vectors_per_hour": vectors / hours,
        "stage2_cpu_s_per_vector": cpu_s / max(1, vectors),
        "head": summarize(test, dev, labels, window_s, settings, None, 0.0, args.fa_per_hour),
        "cascade": {f"{c}/{w}/{h}": summarize(test, dev, labels, window_s, settings, c, w,
                                               args.fa_per_hour, h == "clip")
                    for c in candidates for w in weights for h in heads}}
    print(f"{result['events']} keywords in {hours:.2f} h of test streams; stage 2: "
          f"{result['stage2_vectors_per_hour']:.0f} word vectors an hour (candidates above "
          f"{candidates[0]}), {result['stage2_cpu_s_per_hour']:.1f} CPU s an hour "
          f"({1000 * result['stage2_cpu_s_per_vector']:.0f} ms each); all "
          f"{time.process_time() - t0:.0f} CPU s")
    for name, r in [("head alone", result["head"])] + [
            (f"cascade {k}", v) for k, v in result["cascade"].items()]:
        pooled = r.get("pooled")
        print(f"{name:<22} FRR at 0.5/1/2/5 FA/h: " + " / ".join(
            f"{100 * v:.1f}" for v in r["frr_at"].values()) + "% (95% interval at 1 FA/h "
            + "-".join(f"{100 * v:.1f}" for v in r["frr_interval"]["1.0"]) + "%)"
            + (f"; {r['candidates_per_hour']:.0f} candidates/h" if r["candidates_per_hour"]
               is not None else "")
            + (f"; pooled dev threshold {pooled['threshold']:.6f}: test "
               f"{pooled['test_false_accepts_per_hour']:.1f} FA/h, FRR "
               f"{100 * pooled['test_miss_rate']:.1f}%" if pooled else ""))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main, "cascade.py"))

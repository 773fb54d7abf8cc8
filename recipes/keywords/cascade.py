#!/usr/bin/env python3
"""A two-stage (cascade) keyword detector against the head alone, on a corpus's test streams.

    python recipes/keywords/cascade.py MODEL CORPUS --stream-corpus DIR [--dev-streams DIR]
        [--test-streams DIR] [--cache DIR] [--candidates 0.1,0.2,0.3,0.5] [--weights 0.5]
        [--heads detector,clip] [--fa-per-hour 1] [--baseline MODEL] [--json FILE]

MODEL: a keywords recipe's ``model.pt`` with ``word_classifier.npz`` beside it. Stage 1, the
head over the speech embedding (or Whisper's frames) every 80 ms, proposes the peaks above a
candidate threshold; stage 2 (``synthaudio.train.verifier``) scores each candidate's 1.5 s
by EfficientWord-Net word vectors and the regression, fused with the head's posteriors (the
word vectors' share ``--weights``): the detector head's smoothed row there, or the clip
heads' posteriors over the candidate's smoothing windows (``--heads``; the clip heads the
model's settings name, else ``clip_model.pt``, ``clip_model-K.pt`` beside it). For every
candidate threshold, weight and head side: the FRR at 0.5 / 1 / 2 / 5 FA/h of the test
streams (the DET curve over the second threshold), the pooled second threshold chosen on the
dev streams (the last third of ``--stream-corpus``'s streams, and every stream of
``--dev-streams``) and what it gives on the test streams (CORPUS's, and every stream of
each ``--test-streams`` corpus: the recipe's ``<name>-streams-test``), and the CPU the
word vectors took an hour of audio. Each FRR comes with its 95% bootstrap interval over
the test streams, and each cascade's difference from the head alone with a paired one;
``--baseline`` scores a second model of the same labels the same way and gives each FRR's
difference from the baseline's with a paired interval
(``synthaudio.evaluate.kws.frr_difference``): two models on the same hour of streams
differ less by chance than their two intervals say. """

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from streaming import (  # noqa: E402
    judge_cascade,
    pooled_on_test,
    run_script,
    score_cascade,
    stream_features,
    stream_records,
)

from synthaudio.errors import InputError  # noqa: E402
from synthaudio.evaluate.kws import (  # noqa: E402
    FA_POINTS,
    det_curve,
    event_scores,
    frr_difference,
    frr_points,
)
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
from synthaudio.train.frontends import KINDS, kind_of  # noqa: E402
from synthaudio.train.verifier import Verifier  # noqa: E402
from synthaudio.train.word_vectors import WordVectors, load_word_classifier  # noqa: E402


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
              fa_per_hour: float, clip: bool = False) -> tuple[dict[str, Any], list[Any]]:
    """The DET figures of one cascade (``candidate_t`` None: the head alone; ``clip``: the
    word vectors fused with the clip heads' rows) on the test streams, and its pooled
    threshold from the dev streams; and the test streams judged (``StreamPeaks``)."""
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
    return out, judged


def front_end_cache(cache: Path | None, kind: str) -> Path | None:
    """The recipe's cache of front end ``kind``: ``--cache`` names one front end's
    (``OUT/cache/embedding``); a model (the ``--baseline``) over another reads its
    sibling (``OUT/cache/whisper``)."""
    if cache is not None and cache.name in KINDS:
        return cache.parent / kind
    return cache


def scored(model_path: Path, args: argparse.Namespace, candidate_t: float,
           heads: Sequence[str]) -> dict[str, Any]:
    """A saved model's test and dev streams scored by its head (``test``, ``dev``), the
    candidates above ``candidate_t`` verified; with its labels, settings, window and the
    second stage's CPU."""
    detector = KeywordDetector(model_path, verify=False)  # InputError: not a model
    model, labels, feats_cfg = detector.model, detector.labels, detector.features
    det = load_detector_settings(model_path)
    settings = DetectorSettings(int(det.get("smooth_frames", 3)),
                                float(det.get("refractory_s", 1.0)))
    window_s = float(det.get("window_s", 1.0))
    params = load_word_classifier(
        args.word_classifier if args.word_classifier and model_path == args.model
        else model_path.parent / WORD_CLASSIFIER, labels)
    verifier = Verifier(params, vectors=WordVectors(threads=args.threads),
                        shifts_s=[float(x) for x in args.shifts.split(",")])
    second = None
    if "clip" in heads:
        files = clip_head_files(model_path, det)
        if not files:
            raise InputError(f"{model_path}: no clip heads beside it (--heads detector)")
        detector.clip_heads = [detector.load_clip_head(model_path, name) for name in files]
        second = detector.clip_scores

    cache = front_end_cache(args.cache, kind_of(feats_cfg))

    def streams(corpus: Path, recs: Sequence[Any]) -> list[Any]:
        return [(stream_features(corpus / r.audio, feats_cfg,  # type: ignore[arg-type]
                                 window_s, cache / f"{corpus.name}-frames"
                                 if cache else None),
                 corpus / r.audio, r.extra["events"], r.duration_s) for r in recs]

    test: list[Any] = []
    cpu_s, vectors = 0.0, 0
    for corpus in (args.corpus, *args.test_streams):
        scored_set, cpu, count = score_cascade(lambda w: posteriors(model, w),
                                               streams(corpus, stream_records(corpus, "test")),
                                               labels, FRAME_S, window_s, settings, verifier,
                                               candidate_t, second)
        test, cpu_s, vectors = test + scored_set, cpu_s + cpu, vectors + count
    dev_sets = [(c, stream_records(c, "test")) for c in args.dev_streams]
    if args.stream_corpus is not None:  # its last third
        recs = stream_records(args.stream_corpus, "test")
        dev_sets.insert(0, (args.stream_corpus, recs[(2 * len(recs)) // 3:]))
    dev: list[Any] = []
    for corpus, recs in dev_sets:
        dev += score_cascade(lambda w: posteriors(model, w), streams(corpus, recs), labels,
                             FRAME_S, window_s, settings, verifier, candidate_t, second)[0]
    return {"test": test, "dev": dev, "labels": labels, "settings": settings,
            "window_s": window_s, "cpu_s": cpu_s, "vectors": vectors}


def figures(run: dict[str, Any], candidates: Sequence[float], weights: Sequence[float],
            heads: Sequence[str], fa_per_hour: float
            ) -> dict[str, tuple[dict[str, Any], list[Any]]]:
    """The head alone's and each cascade's ``summarize``, by name."""
    common = (run["test"], run["dev"], run["labels"], run["window_s"], run["settings"])
    out = {"head": summarize(*common, None, 0.0, fa_per_hour)}
    for c in candidates:
        for w in weights:
            for h in heads:
                out[f"{c}/{w}/{h}"] = summarize(*common, c, w, fa_per_hour, h == "clip")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", type=Path)
    p.add_argument("corpus", type=Path, help="its test streams are scored")
    p.add_argument("--stream-corpus", type=Path, help="its last third: the dev streams")
    p.add_argument("--dev-streams", type=Path, action="append", default=[], metavar="DIR",
                   help="a streams corpus all of whose streams are dev streams too "
                        "(the recipe's --dev-streams corpus; repeatable)")
    p.add_argument("--test-streams", type=Path, action="append", default=[], metavar="DIR",
                   help="a streams corpus all of whose streams are test streams too, scored "
                        "with CORPUS's (the recipe's --test-streams corpus; repeatable)")
    p.add_argument("--cache", type=Path,
                   help="the recipe's OUT/cache/<features> (a --baseline over another front "
                        "end reads its sibling)")
    p.add_argument("--word-classifier", type=Path, help=f"default: {WORD_CLASSIFIER} beside MODEL "
                   "(a --baseline model's: always its own)")
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
    p.add_argument("--baseline", type=Path, metavar="MODEL",
                   help="another model of the same labels, scored the same way on the same "
                        "streams: each FRR's difference from its (this model's less the "
                        "baseline's) with a paired bootstrap interval over the test streams")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    candidates = sorted(float(x) for x in args.candidates.split(","))
    weights = [float(x) for x in args.weights.split(",")]
    heads = args.heads.split(",")
    if not set(heads) <= {"detector", "clip"}:
        raise InputError(f"--heads: detector or clip, got {args.heads!r}")
    t0 = time.process_time()
    run = scored(args.model, args, candidates[0], heads)
    test, dev = run["test"], run["dev"]
    hours = sum(s.duration_s for s in test) / 3600
    found = figures(run, candidates, weights, heads, args.fa_per_hour)
    result: dict[str, Any] = {
        "model": str(args.model), "test_hours": hours,
        "dev_hours": sum(s.duration_s for s in dev) / 3600,
        "events": sum(len(s.events) for s in test),
        "stage2_cpu_s_per_hour": run["cpu_s"] / hours,
        "stage2_vectors_per_hour": run["vectors"] / hours,
        "stage2_cpu_s_per_vector": run["cpu_s"] / max(1, run["vectors"]),
        "head": found["head"][0],
        "cascade": {k: v[0] for k, v in found.items() if k != "head"}}
    def paired(first: list[Any], second: list[Any]) -> dict[str, list[float]]:
        """``frr_difference`` at each rate, the same resamples of the streams for all."""
        return {str(x): list(frr_difference(first, second, x, np.random.default_rng(0)))
                for x in FA_POINTS}

    for k, (summary, judged) in found.items():  # each cascade against the head alone
        if k != "head":
            summary["against_head"] = paired(found["head"][1], judged)
    if args.baseline is not None:  # the same figures of another model, paired
        base = scored(args.baseline, args, candidates[0], heads)
        if base["labels"] != run["labels"]:
            raise InputError(f"{args.baseline}: other labels than {args.model}")
        theirs = figures(base, candidates, weights, heads, args.fa_per_hour)
        result["baseline"] = {"model": str(args.baseline), "difference": {
            k: paired(theirs[k][1], found[k][1]) for k in found}}
    print(f"{result['events']} keywords in {hours:.2f} h of test streams; stage 2: "
          f"{result['stage2_vectors_per_hour']:.0f} word vectors an hour (candidates above "
          f"{candidates[0]}), {result['stage2_cpu_s_per_hour']:.1f} CPU s an hour "
          f"({1000 * result['stage2_cpu_s_per_vector']:.0f} ms each); all "
          f"{time.process_time() - t0:.0f} CPU s")
    for key, name, r in [("head", "head alone", result["head"])] + [
            (k, f"cascade {k}", v) for k, v in result["cascade"].items()]:
        pooled = r.get("pooled")
        print(f"{name:<22} FRR at 0.5/1/2/5 FA/h: " + " / ".join(
            f"{100 * v:.1f}" for v in r["frr_at"].values()) + "% (95% interval at 1 FA/h "
            + "-".join(f"{100 * v:.1f}" for v in r["frr_interval"]["1.0"]) + "%)"
            + (f"; {r['candidates_per_hour']:.0f} candidates/h" if r["candidates_per_hour"]
               is not None else "")
            + (f"; pooled dev threshold {pooled['threshold']:.6f}: test "
               f"{pooled['test_false_accepts_per_hour']:.1f} FA/h, FRR "
               f"{100 * pooled['test_miss_rate']:.1f}%" if pooled else ""))
        against = [("the head alone", r["against_head"])] if "against_head" in r else []
        if "baseline" in result:
            against.append(("the baseline", result["baseline"]["difference"][key]))
        for other, diffs in against:
            print(f"{'':<22} against {other}: " + " / ".join(
                "{:+.1f} ({:+.1f} to {:+.1f})".format(*(100 * v for v in d))
                for d in diffs.values()) + " points at 0.5/1/2/5 FA/h (95% paired interval)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main, "cascade.py"))

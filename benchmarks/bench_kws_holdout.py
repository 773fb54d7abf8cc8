"""Keyword models on voices they never heard: leave one TTS engine out.

Trains the keywords recipe's classifier (its settings, class-balanced loss) on a keywords
corpus's train clips of every engine but ``--held``, keeps the best epoch on the other
engines' dev clips, and scores the held-out engine's test and dev clips (positives, hard
negatives, other speech): the nearest a synthetic corpus gets to unseen real speakers.
Both front ends by default, one JSON line each.

    python benchmarks/bench_kws_holdout.py CORPUS [--held flite]
        [--features embedding,log-mel] [-j 2] [--threads 2]

CORPUS: a corpus ``recipes/keywords/run.py`` made (``OUT/corpora/kws-commands10-full``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "recipes" / "keywords"))
import run as recipe  # noqa: E402  (the recipe's settings and front ends)

from synthaudio.io.metadata import iter_metadata  # noqa: E402


def holdout(corpus: Path, held: str, kind: str, jobs: int, threads: int) -> dict[str, object]:
    from synthaudio.train.classifier import posteriors, train_classifier

    records = [r for r in iter_metadata(corpus)
               if r.extra.get("kind") not in ("background", "stream")]

    def engine(r: object) -> object:
        return (getattr(r, "tts", None) or {}).get("engine")

    train = [r for r in records if r.split == "train" and engine(r) != held]
    dev = [r for r in records if r.split == "dev" and engine(r) != held]
    test = [r for r in records if r.split in ("test", "dev") and engine(r) == held]
    if not test:
        raise SystemExit(f"bench_kws_holdout: no clips of engine {held!r} in {corpus}")
    labels = sorted({str(r.extra["label"]) for r in train})
    model_cfg, feats_cfg = recipe.front_end(kind, 1.0)
    feats = {name: recipe.clip_features([corpus / r.audio for r in rs], feats_cfg, jobs)
             for name, rs in (("train", train), ("dev", dev), ("test", test))}
    cfg = recipe.train_settings(kind, feats["train"], None, False, 0, threads)
    result = train_classifier(feats["train"], [str(r.extra["label"]) for r in train],
                              feats["dev"], [str(r.extra["label"]) for r in dev], labels,
                              model_cfg, cfg, log=lambda line: None, balance=recipe.BALANCE)
    guess = posteriors(result.model, feats["test"]).argmax(1)
    truth = np.array([labels.index(str(r.extra["label"])) for r in test])
    positive = np.array([r.extra["kind"] == "positive" for r in test])
    return {"held": held, "features": kind, "clips": len(test),
            "accuracy": float(np.mean(guess == truth)),
            "balanced_accuracy": float(np.mean([np.mean(guess[truth == k] == k)
                                                for k in np.unique(truth)])),
            "positives_found": float(np.mean(guess[positive] == truth[positive])),
            "dev_error_other_engines": result.best.dev_wer}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("corpus", type=Path)
    p.add_argument("--held", default="flite", help="the engine left out of training")
    p.add_argument("--features", default=",".join(recipe.FEATURES))
    p.add_argument("-j", "--jobs", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    for kind in args.features.split(","):
        print(json.dumps(holdout(args.corpus, args.held, kind, args.jobs, args.threads)),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

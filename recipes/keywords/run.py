#!/usr/bin/env python3
"""Keyword spotting trained on synthetic speech only: corpus, classifier, accuracy, DET.

    python recipes/keywords/run.py [--vocab words30|commands10|wake] [--quick] [--ablation]
                                   [--features embedding|log-mel] [--real-test DIR]
                                   [--out out/keywords]

Stages: derive the keywords config from recipes/keywords/keywords.yaml (targets from
--vocab) and generate it with ``synthaudio keywords`` under OUT/corpora/; features: a frozen
speech embedding trained on real speech (synthaudio.train.embedding; default) or log-mel;
train a small clip classifier (synthaudio.train.classifier) on the train split; score the
test split (accuracy, hard-negative false accepts), the test streams (false accepts per
hour, a DET curve, the false-reject rate at --fa-per-hour) and real recordings
(--real-test); write OUT/corpora/<name>/eval/<model>/kws.json and the corpus's HTML report.
``--quick`` is a CI smoke run that exits 1 unless training lowered the dev loss.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from synthaudio.errors import SynthaudioError
from synthaudio.evaluate.kws import clip_scores, det_curve, frr_at, judge_stream, write_kws
from synthaudio.keywords.pipeline import make_keywords
from synthaudio.manifests.metadata import iter_metadata
from synthaudio.train.data import Utterance, compute_features
from synthaudio.train.embedding import (
    FRAME_S,
    EmbeddingConfig,
    embedding_features,
    model_files,
    shared_embedding,
)
from synthaudio.train.features import FeatureConfig, load_mono, log_mel

if TYPE_CHECKING:  # torch-backed: imported where a model is trained
    from synthaudio.train.model import HeadConfig, ModelConfig
    from synthaudio.train.trainer import TrainConfig

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the recipe's own modules
from real_test import real_clips  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
BASE = Path(__file__).resolve().parent / "keywords.yaml"
VOCABS = {
    # Speech Commands v0.01's 30 words, and the 10 its usual task keeps (the rest: _unknown_)
    "words30": ("bed bird cat dog down eight five four go happy house left marvin nine no "
                "off on one right seven sheila six stop three tree two up wow yes zero").split(),
    "commands10": "yes no up down left right on off stop go".split(),
    "wake": ["hey jarvis"],
}
ROWS = {"full": "all engines, hard negatives", "no-hard": "without hard negatives",
        "only-espeak-ng": "one engine (espeak-ng)",
        "other-features": "the other front end"}  # the full row's corpus, other features
QUICK = {"speakers": 12, "positives": 16, "epochs": 8, "batch": 16, "streams": 1,
         "stream_s": 30}
FEATURES = ("embedding", "log-mel")
EPOCHS = {"embedding": 40, "log-mel": 20}
BATCH = {"embedding": 64, "log-mel": 32}  # log-mel: some 2,000 updates in a default run
HOP_S = {"embedding": FRAME_S, "log-mel": 0.1}  # stream windows: every 80 / 100 ms
# the digits recipe's network, narrower (16 conv channels, 64 GRU units a direction: 0.19 M
# parameters, about 3 ms of one core per clip and epoch), 4x time subsampling
MODEL_SETTINGS = {"time_stride": 4, "hidden": 64, "conv_channels": 16}
# over the speech embedding: two 1-D convolutions of 128 channels (88.5 k parameters, 12 classes)
HEAD_SETTINGS: dict[str, Any] = {"channels": 128, "layers": 2, "dropout": 0.3}
# class weighting: _unknown_ has ~9x the clips of one target in the corpus, and about as
# many as one in Speech Commands' test sets; weighting each class equally trains for that
BALANCE = 1.0
MIN_DEV_LOSS_DROP = 0.2  # --quick fails unless the dev loss falls at least this much


def derive_config(vocab: str, row: str, quick: bool, speakers: int | None,
                  positives: int | None) -> dict[str, Any]:
    cfg: dict[str, Any] = yaml.safe_load(BASE.read_text(encoding="utf-8"))
    cfg["name"] = f"kws-{vocab}-{row}" + ("-quick" if quick else "")
    cfg["targets"] = list(VOCABS[vocab])
    for source in cfg["text"]["sources"]:  # the derived config lives elsewhere
        source["file"] = str((BASE.parent / source["file"]).resolve())
    if vocab == "words30":
        cfg["counts"]["positives"] //= 2  # 30 targets: half as many clips each
    if vocab == "wake":
        cfg["clip_s"] = 1.5
        cfg["counts"]["positives"] *= 4  # one target: the clips of a few words
    spk = cfg["speakers"]
    if quick:
        spk["count"] = QUICK["speakers"]
        cfg["counts"]["positives"] = QUICK["positives"]
        cfg["counts"]["background_files"] = 2
        cfg["streams"].update(count=QUICK["streams"], duration_s=QUICK["stream_s"])
        cfg["augment"]["room"]["bank_size"] = 4
        row_engines = {"espeak-ng": 1.0}  # fast and always installed
        spk["engines"] = row_engines
        spk.pop("conversion", None)
    if speakers is not None:
        spk["count"] = speakers
    if positives is not None:
        cfg["counts"]["positives"] = positives
    if row == "no-hard":
        cfg["counts"]["hard_negatives"] = 0.0
    if row == "only-espeak-ng":
        spk["engines"] = {"espeak-ng": 1.0}
    return cfg


def stream_config(cfg: dict[str, Any], count: int, quick: bool) -> dict[str, Any]:
    """A corpus of ``count`` streams only (no clips worth training on): other voices (the
    seed + 1 draws its own speakers) saying sentences with the targets 3 times a minute,
    through the same environment. Its first two thirds give the detector's negative
    (and in-context positive) training windows, the last third are the dev streams the
    per-keyword thresholds are chosen on. None of its speakers is in the corpus's test
    split."""
    cfg = copy.deepcopy(cfg)
    cfg["name"] += "-streams"
    cfg["seed"] += 1
    cfg["speakers"]["count"] = 8 if quick else 48
    cfg["splits"] = {"train": 0.0, "dev": 0.0, "test": 1.0}
    cfg["counts"].update(positives=1, hard_negatives=0.0, speech=0.0, babble=0.0, noise=0.0,
                         silence=0.0, background_files=0)
    cfg["streams"].update(count=count, duration_s=QUICK["stream_s"] if quick else 120)
    cfg["augment"]["room"]["bank_size"] = 4 if quick else 20
    return cfg


def model_name(vocab: str, row: str, features: str) -> str:
    """``<vocab>-<row>``, plus ``-log-mel`` off the default front end (no clobbering)."""
    return f"{vocab}-{row}" + ("" if features == FEATURES[0] else f"-{features}")


def front_end(kind: str, clip_s: float) -> tuple[ModelConfig | HeadConfig,
                                                FeatureConfig | EmbeddingConfig]:
    """The model settings and features of a front end (``FEATURES``) for clips of ``clip_s``."""
    from synthaudio.train.model import HeadConfig, ModelConfig

    if kind == "embedding":
        return HeadConfig(**HEAD_SETTINGS), EmbeddingConfig(clip_s=clip_s)
    return ModelConfig(**MODEL_SETTINGS), FeatureConfig()


def train_settings(kind: str, feats: Sequence[np.ndarray], epochs: int | None, quick: bool,
                   seed: int, threads: int | None) -> TrainConfig:
    """The TrainConfig of a front end: its epochs and batch (``quick``: the smoke run's),
    SpecAugment for log-mel only (the embedding is frozen: masking its frames is not
    SpecAugment)."""
    from synthaudio.train.data import SpecAugmentConfig
    from synthaudio.train.trainer import TrainConfig

    batch = QUICK["batch"] if quick else BATCH[kind]
    longest = max(f.shape[0] for f in feats)
    return TrainConfig(epochs=epochs or (QUICK["epochs"] if quick else EPOCHS[kind]),
                       max_batch=batch, max_batch_frames=batch * (-(-longest // 16) * 16),
                       seed=seed, threads=threads,
                       spec_augment=SpecAugmentConfig() if kind == "log-mel" else None)


def make_corpus(cfg: dict[str, Any], out: Path, jobs: int) -> Path:
    path = out / "configs" / f"{cfg['name']}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    corpus = out / "corpora" / cfg["name"]
    summary = make_keywords(path, corpus, jobs=jobs, overwrite=True, progress=False)
    print(summary.format().splitlines()[1], f"({summary.wall_s:.0f} s)", flush=True)
    return corpus


def clip_features(paths: Sequence[Path], feats_cfg: FeatureConfig | EmbeddingConfig,
                  jobs: int) -> list[np.ndarray]:
    if isinstance(feats_cfg, EmbeddingConfig):
        return embedding_features(paths, feats_cfg, jobs)
    return compute_features([Utterance(str(k), p, "") for k, p in enumerate(paths)],
                            feats_cfg, jobs)


def stream_windows(path: Path, window_s: float,
                   feats_cfg: FeatureConfig | EmbeddingConfig) -> list[np.ndarray]:
    """Features of each ``window_s`` window of a stream, ``HOP_S`` apart: log-mel windows
    normalized on their own, as the clips were; embedding frames computed once over the
    stream and cut into windows of a clip's frames (the window's neighbourhood, not
    silence, fills its padding)."""
    audio = load_mono(path, feats_cfg.sample_rate)
    if isinstance(feats_cfg, EmbeddingConfig):
        return shared_embedding(feats_cfg).stream_windows(audio, window_s)
    n = round(window_s * feats_cfg.sample_rate)
    hop = round(HOP_S["log-mel"] * feats_cfg.sample_rate)
    return [log_mel(audio[s:s + n], feats_cfg) for s in range(0, max(1, len(audio) - n + 1), hop)]


def train_and_score(corpus: Path, out: Path, name: str, args: argparse.Namespace,
                    real_dir: Path | None, test_corpus: Path | None = None,
                    kind: str | None = None) -> dict[str, Any]:
    """Train on ``corpus``'s train split; score the test clips and streams of
    ``test_corpus`` (default: ``corpus``; the ablation scores every row on the full row's
    test split, hard negatives included) and ``real_dir``."""
    from synthaudio.evaluate.report import write_report
    from synthaudio.train.classifier import posteriors, save_classifier, train_classifier

    kind = kind or args.features
    window_s = float(yaml.safe_load((corpus / "corpus.yaml").read_text())["config"]["clip_s"])
    model_cfg, feats_cfg = front_end(kind, window_s)
    t0 = time.perf_counter()
    test_corpus = test_corpus or corpus
    records = [r for r in iter_metadata(corpus) if r.extra.get("kind") not in ("background",)]
    tests = [r for r in iter_metadata(test_corpus) if r.split == "test"]
    clips = {s: [r for r in records if r.split == s and r.extra["kind"] != "stream"]
             for s in ("train", "dev")}
    clips["test"] = [r for r in tests if r.extra["kind"] not in ("stream", "background")]
    labels = sorted({str(r.extra["label"]) for r in clips["train"]})
    feats = {s: clip_features([(test_corpus if s == "test" else corpus) / r.audio for r in rs],
                              feats_cfg, args.jobs)
             for s, rs in clips.items()}
    print(f"{name}: {len(clips['train'])} train / {len(clips['dev'])} dev / "
          f"{len(clips['test'])} test clips, {len(labels)} labels, features "
          f"{time.perf_counter() - t0:.0f} s", flush=True)
    train_cfg = train_settings(kind, feats["train"], args.epochs, args.quick, args.seed,
                               args.threads)
    result = train_classifier(feats["train"], [str(r.extra["label"]) for r in clips["train"]],
                              feats["dev"], [str(r.extra["label"]) for r in clips["dev"]],
                              labels, model_cfg, train_cfg,
                              log=lambda line: print(line, flush=True), balance=args.balance)
    exp = out / "exp" / name
    save_classifier(exp / "model.pt", result, feats_cfg)
    index = {label: k for k, label in enumerate(labels)}
    probs = posteriors(result.model, feats["test"])
    truth = np.array([index[str(r.extra["label"])] for r in clips["test"]])
    accuracy = float(np.mean(probs.argmax(1) == truth))
    # Speech Commands' test sets hold about as many clips of each class: the mean recall
    # over classes is what the same model would score there
    balanced = float(np.mean([np.mean(probs[truth == k].argmax(1) == k)
                              for k in np.unique(truth)]))
    positive = [k for k, r in enumerate(clips["test"]) if r.extra["kind"] == "positive"]
    hard = [k for k, r in enumerate(clips["test"]) if r.extra["kind"] == "hard_negative"]
    targets = [k for k, label in enumerate(labels) if not label.startswith("_")]
    hard_fa = (float(np.mean(np.isin(probs[hard].argmax(1), targets))) if hard else None)
    streams = []
    for r in tests:
        if r.extra.get("kind") == "stream":
            scores = posteriors(result.model, stream_windows(test_corpus / r.audio, window_s,
                                                             feats_cfg))
            streams.append(judge_stream(scores, labels, HOP_S[kind], window_s, r.extra["events"],
                                        r.duration_s))
    summary: dict[str, Any] = {"name": name, "test": f"test split of {test_corpus.name}",
                               "features": kind, "balance": args.balance,
                               "clips": len(truth), "accuracy": accuracy,
                               "balanced_accuracy": balanced,
                               "positive_accuracy": float(np.mean(probs[positive].argmax(1)
                                                                  == truth[positive])),
                               "hard_negative_false_accepts": hard_fa,
                               "best_epoch": result.best_epoch,
                               "dev_loss": [result.initial_dev_loss,
                                            result.best.dev_loss]}
    curve = []
    if streams and positive:
        pos_scores = probs[positive, truth[positive]]
        curve = det_curve(pos_scores.tolist(), streams)
        point = frr_at(curve, args.fa_per_hour)
        events = sum(s.events for s in streams)
        summary.update(fa_per_hour_target=args.fa_per_hour, frr_at_target=point.false_reject_rate,
                       threshold=point.threshold,
                       stream_hours=sum(s.hours for s in streams),
                       stream_events=events,
                       stream_event_recall=(sum(1 for s in streams for v in s.true_scores.values()
                                                if v > point.threshold) / events
                                            if events else None))
    if real_dir is not None:
        real = real_clips(real_dir, labels, out, window_s)
        rp = posteriors(result.model, clip_features([c.path for c in real], feats_cfg,
                                                    args.jobs))
        predicted = [labels[int(k)] for k in rp.argmax(1)]
        summary["real"] = {"dir": str(real_dir),
                           **clip_scores([c.label for c in real], predicted),
                           "per_word": {w: per_class[w] for w, per_class in clip_scores(
                               [c.word for c in real],
                               [c.word if p == c.label else "?" for p, c in
                                zip(predicted, real, strict=True)])["per_class"].items()}}
    eval_dir = test_corpus / "eval" / name
    write_kws(eval_dir / "kws.json", summary, curve)
    write_report(test_corpus)
    drop = 1.0 - result.best.dev_loss / result.initial_dev_loss
    summary["loss_ok"] = drop >= MIN_DEV_LOSS_DROP
    line = (f"{name}: accuracy {100 * accuracy:.1f}% ({len(truth)} test clips; "
            f"{100 * balanced:.1f}% balanced)"
            + (f", FRR {100 * summary['frr_at_target']:.1f}% at {args.fa_per_hour:g} FA/h "
               f"({summary['stream_hours']:.2f} h of streams)" if curve else "")
            + (f", hard negatives accepted {100 * hard_fa:.1f}%" if hard_fa is not None else "")
            + (real_line(summary["real"]) if "real" in summary else "")
            + f"; {(time.perf_counter() - t0) / 60:.1f} min")
    print(line, flush=True)
    return summary


def real_line(real: dict[str, Any]) -> str:
    """``, real: accuracy a%, balanced b%, target recall t% of n clips (per class ...)``."""
    unknown = real["per_class"].get("_unknown_")
    return (f", real: accuracy {100 * real['accuracy']:.1f}%, balanced "
            f"{100 * real['balanced_accuracy']:.1f}%, target recall "
            + ("-" if real["target_recall"] is None else f"{100 * real['target_recall']:.1f}%")
            + f" of {real['clips']} clips"
            + (f", other words rejected {unknown[0]}/{unknown[1]}" if unknown else "")
            + " (" + " ".join(f"{w} {100 * v[2]:.0f}" for w, v in real["per_class"].items()
                              if not w.startswith("_")) + ")")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=REPO / "out" / "keywords")
    p.add_argument("--vocab", choices=list(VOCABS), default="commands10",
                   help="targets: Speech Commands' 30 words, its 10 commands, or 'hey jarvis'")
    p.add_argument("--quick", action="store_true",
                   help=f"smoke run: {QUICK['speakers']} espeak-ng speakers, "
                        f"{QUICK['positives']} clips a target, {QUICK['epochs']} epochs; "
                        "exit 1 unless the dev loss falls")
    p.add_argument("--ablation", action="store_true",
                   help="also train without hard negatives, and on one engine (espeak-ng)")
    p.add_argument("--real-test", type=Path, metavar="DIR",
                   help="score real recordings: a Speech Commands folder (any rate), or a "
                        "Kaldi dir whose vocabulary words are cut out by forced alignment")
    p.add_argument("--fa-per-hour", type=float, default=1.0,
                   help="false accepts an hour at which the false-reject rate is reported")
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    p.add_argument("--features", choices=FEATURES, default="embedding",
                   help="the classifier's input: the speech embedding (a front end trained on "
                        "real speech, frozen; extra synthaudio[kws]) or log-mel from scratch")
    p.add_argument("--balance", type=float, default=BALANCE,
                   help="class weighting power of the loss (0: none, 1: every class equal)")
    p.add_argument("--epochs", type=int,
                   help=f"default {EPOCHS['embedding']} (log-mel {EPOCHS['log-mel']}, "
                        f"quick {QUICK['epochs']})")
    p.add_argument("--speakers", type=int, help="override speakers.count")
    p.add_argument("--positives", type=int, help="override counts.positives")
    p.add_argument("--seed", type=int, default=0, help="training seed")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import synthaudio.train.model  # noqa: F401 - its ImportError names the extra
    except ImportError as exc:
        print(f"run.py: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    out: Path = args.out.resolve()
    rows = list(ROWS) if args.ablation else ["full"]
    table: dict[str, dict[str, Any]] = {}
    full = Path()
    other = next(k for k in FEATURES if k != args.features)
    try:
        if "embedding" in (args.features, other if args.ablation else None):
            model_files()  # before any corpus is made
        real = args.real_test.resolve() if args.real_test is not None else None
        for row in rows:
            if row == "other-features":  # the full row's corpus through the other front end
                table[row] = train_and_score(full, out, model_name(args.vocab, "full", other),
                                             args, real, full, other)
                continue
            cfg = derive_config(args.vocab, row, args.quick, args.speakers, args.positives)
            corpus = make_corpus(cfg, out, args.jobs)
            full = full if row != "full" else corpus  # rows are scored on its test split
            table[row] = train_and_score(corpus, out,
                                         model_name(args.vocab, row, args.features), args, real,
                                         full)
    except SynthaudioError as exc:
        print(f"run.py: error: {exc}", file=sys.stderr)
        return 2
    print(f"\n{'training data (features)':<44}{'accuracy':>10}{'FRR@FA/h':>10}{'hard FA':>10}"
          f"{'real':>8}{'real bal':>10}{'real tgt':>10}")
    for row, s in table.items():
        def pct(v: float | None) -> str:
            return "-" if v is None else f"{100 * v:.1f}"
        print(f"{ROWS[row] + ' (' + s['features'] + ')':<44}{pct(s['accuracy']):>10}"
              f"{pct(s.get('frr_at_target')):>10}{pct(s.get('hard_negative_false_accepts')):>10}"
              f"{pct(s.get('real', {}).get('accuracy')):>8}"
              f"{pct(s.get('real', {}).get('balanced_accuracy')):>10}"
              f"{pct(s.get('real', {}).get('target_recall')):>10}")
    minutes = (time.perf_counter() - started) / 60
    (out / "results.json").write_text(json.dumps({"vocab": args.vocab, "rows": table,
                                                  "minutes": minutes}, indent=1) + "\n")
    print(f"total {minutes:.1f} min", flush=True)
    if args.quick and not all(s["loss_ok"] for s in table.values()):
        print("run.py: the dev loss did not fall enough", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Train a clip classifier (keyword spotting) on in-memory features; score clips.

Two networks: the CTC model's (:class:`~synthaudio.train.model.ClassifierModel`, on log-mel
features), its frame scores max-pooled over the clip, and a small convolutional head over
frozen speech-embedding frames (:class:`~synthaudio.train.model.EmbeddingClassifier`, on
:mod:`synthaudio.train.embedding` features); the model settings' type picks one. The loop is
the trainer's (:func:`fit_epochs`), with cross-entropy (optionally class-weighted; binary
cross-entropy per class for a one-vs-rest head, ``HeadConfig.output`` "sigmoid") and the dev
error rate (1 - accuracy) choosing the best epoch. Randomness as in
:mod:`synthaudio.train.trainer`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from synthaudio.train.data import length_batches
from synthaudio.train.frontends import FrontEndConfig, config_of, kind_of
from synthaudio.train.model import (
    ClassifierModel,
    EmbeddingClassifier,
    HeadConfig,
    ModelConfig,
    torch,
)
from synthaudio.train.trainer import EpochStats, TrainConfig, _batch, fit_epochs

Classifier = ClassifierModel | EmbeddingClassifier


def new_classifier(cfg: ModelConfig | HeadConfig, n_classes: int) -> Classifier:
    """The network the settings are for: log-mel (ModelConfig) or embedding head."""
    if isinstance(cfg, HeadConfig):
        return EmbeddingClassifier(cfg, n_classes)
    return ClassifierModel(cfg, n_classes)


def class_weights(ys: np.ndarray, n_classes: int, power: float) -> np.ndarray:
    """Loss weights ``(mean count / count) ** power`` per class (0: all 1; 1: every class
    weighs as much as any other in total). Classes without clips get weight 1."""
    counts = np.bincount(ys, minlength=n_classes).astype(np.float64)
    present = counts > 0
    weights = np.ones(n_classes)
    weights[present] = (counts[present].mean() / counts[present]) ** power
    return weights


@dataclass
class ClassifierResult:
    model: Classifier  # the best epoch's weights (lowest dev error, then dev loss)
    labels: tuple[str, ...]  # class index -> label
    initial_dev_loss: float  # dev losses: cross-entropy weighted by class as in training
    history: list[EpochStats] = field(default_factory=list)
    best_epoch: int = 0

    @property
    def best(self) -> EpochStats:
        return self.history[self.best_epoch - 1]


def one_vs_rest(cfg: ModelConfig | HeadConfig) -> bool:
    """Whether a network of these settings scores its classes with one-vs-rest sigmoids
    (``HeadConfig.output``), not a softmax over exclusive classes (every log-mel model)."""
    return getattr(cfg, "output", "softmax") == "sigmoid"


def posteriors(model: Classifier, feats: Sequence[np.ndarray],
               max_batch_frames: int = 16000) -> np.ndarray:
    """Class probabilities ``(n_clips, n_labels)``, in order (eval mode, no gradients): a
    softmax's (rows sum to 1), or a one-vs-rest head's sigmoids (each class's own)."""
    model.eval()
    out = np.zeros((len(feats), model.out.out_features), dtype=np.float32)
    squash = torch.sigmoid if one_vs_rest(model.cfg) else (lambda z: z.softmax(dim=-1))
    with torch.no_grad():
        for idx in length_batches([f.shape[0] for f in feats], max_batch_frames, 256):
            x, lens = _batch(feats, idx, None, None)
            out[idx] = squash(model(x, lens)).numpy()
    return out


def _dev_scores(model: Classifier, feats: Sequence[np.ndarray], ys: np.ndarray,
                max_batch_frames: int, weights: np.ndarray) -> tuple[float, float]:
    """(error rate, loss) on the dev clips, the loss weighted by class as the training
    loss is (``sum w_y * loss_y / sum w_y``): cross-entropy ``-log p_y``, or for a
    one-vs-rest head the binary cross-entropies summed over the classes."""
    probs = posteriors(model, feats, max_batch_frames)
    error = float(np.mean(probs.argmax(1) != ys))
    if one_vs_rest(model.cfg):
        target = np.eye(probs.shape[1], dtype=bool)[ys]
        p = np.clip(np.where(target, probs, 1.0 - probs), 1e-12, 1.0)
        per_clip = -np.log(p).sum(axis=1)
    else:
        per_clip = -np.log(np.maximum(probs[np.arange(len(ys)), ys], 1e-12))
    loss = float(np.sum(weights[ys] * per_clip) / np.sum(weights[ys]))
    return error, loss


def _one_vs_rest_loss(weights: torch.Tensor) -> Callable[[torch.Tensor, torch.Tensor],
                                                         torch.Tensor]:
    """A one-vs-rest head's loss, ``(logits (B, V), labels (B,))`` -> the binary
    cross-entropies against the one-hot labels, summed over the classes, averaged over the
    batch with class weights as ``CrossEntropyLoss(weight=...)`` averages."""
    def loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        target = torch.nn.functional.one_hot(y, logits.shape[1]).to(logits.dtype)
        per_clip = torch.nn.functional.binary_cross_entropy_with_logits(
            logits, target, reduction="none").sum(dim=1)
        w = weights[y]
        return (w * per_clip).sum() / w.sum()
    return loss


def train_classifier(train_feats: Sequence[np.ndarray], train_labels: Sequence[str],
                     dev_feats: Sequence[np.ndarray], dev_labels: Sequence[str],
                     labels: Sequence[str], model_cfg: ModelConfig | HeadConfig | None = None,
                     cfg: TrainConfig | None = None, log: Callable[[str], None] = print,
                     balance: float = 0.0,
                     class_scale: dict[str, float] | None = None,
                     mixup: float = 0.0) -> ClassifierResult:
    """Train on labelled clips; keep the epoch with the lowest dev error.

    Args:
        train_feats, dev_feats: ``(n_frames, n_features)`` float32 arrays (log-mel for a
            ModelConfig, embedding frames for a HeadConfig).
        train_labels, dev_labels: each clip's label, one of ``labels``.
        labels: the classes, in output order.
        balance: class weighting of the loss, :func:`class_weights`' power (0: none). A
            keywords corpus has many more ``_unknown_`` clips than clips of one target; a
            model that learns that prior says ``_unknown_`` to a target spoken unlike any
            training voice.
        class_scale: a label's loss weight is multiplied by this (after ``balance``): e.g.
            ``{"_unknown_": 4}`` for a detector that must reject hours of other speech.
        mixup: each batch mixed with itself in another order, ``lam * x + (1 - lam) * x'``
            with ``lam ~ Beta(mixup, mixup)`` and the loss mixed alike (0: none); drawn from
            ``[cfg.seed, 77]``.
    """
    model_cfg = model_cfg or ModelConfig()
    cfg = cfg or TrainConfig()
    index = {label: k for k, label in enumerate(labels)}
    unknown = sorted({x for x in (*train_labels, *dev_labels) if x not in index})
    if unknown:
        raise ValueError(f"labels {unknown} are not among the classes {list(labels)}")
    if not train_feats or not dev_feats:
        raise ValueError("need at least one training and one dev clip")
    train_y = np.array([index[x] for x in train_labels])
    dev_y = np.array([index[x] for x in dev_labels])
    lengths = [f.shape[0] for f in train_feats]
    threads = torch.get_num_threads()
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    weights = class_weights(train_y, len(labels), balance)
    for label, scale in (class_scale or {}).items():
        weights[index[label]] *= scale
    weight_t = torch.tensor(weights, dtype=torch.float32)
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = (
        _one_vs_rest_loss(weight_t) if one_vs_rest(model_cfg)
        else torch.nn.CrossEntropyLoss(weight=weight_t))
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            model = new_classifier(model_cfg, len(labels))
            result = ClassifierResult(model, tuple(labels),
                                      _dev_scores(model, dev_feats, dev_y,
                                                  cfg.max_batch_frames, weights)[1])
            log(f"epoch  0  dev loss {result.initial_dev_loss:.3f} (untrained)")

            mix_rng = np.random.default_rng([cfg.seed, 77])

            def batch_loss(x: torch.Tensor, lens: torch.Tensor,
                           idx: Sequence[int]) -> torch.Tensor:
                y = torch.from_numpy(train_y[list(idx)])
                if mixup <= 0:
                    return loss_fn(model(x, lens), y)
                lam = float(mix_rng.beta(mixup, mixup))
                perm = torch.from_numpy(mix_rng.permutation(len(idx)))
                logits = model(lam * x + (1 - lam) * x[perm], torch.maximum(lens, lens[perm]))
                return lam * loss_fn(logits, y) + (1 - lam) * loss_fn(logits, y[perm])

            result.history, result.best_epoch = fit_epochs(
                model, train_feats, lengths, cfg, batch_loss,
                lambda: _dev_scores(model, dev_feats, dev_y, cfg.max_batch_frames, weights),
                log,
                "error")
    finally:
        torch.set_num_threads(threads)
    return result


def save_classifier(path: Path, result: ClassifierResult,
                    features: FrontEndConfig,
                    detector: dict[str, Any] | None = None) -> None:
    """Weights, model and feature settings and the labels in one ``torch.save`` file;
    ``detector``: the stream detector's settings
    (:class:`synthaudio.train.detect.DetectorSettings` as a dict)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model_config": result.model.cfg.to_dict(), "feature_config": asdict(features),
                "feature_kind": kind_of(features),
                "labels": list(result.labels), "state_dict": result.model.state_dict(),
                "history": [asdict(h) for h in result.history],
                **({"detector": detector} if detector else {})}, path)


def load_detector_settings(path: Path) -> dict[str, Any]:
    """The detector settings saved with a classifier (empty when none were)."""
    blob = torch.load(path, map_location="cpu", weights_only=True)
    return dict(blob.get("detector") or {})


def load_classifier(path: Path) -> tuple[Classifier, tuple[str, ...], FrontEndConfig]:
    """The model (eval mode), labels and feature settings saved by `save_classifier`."""
    blob = torch.load(path, map_location="cpu", weights_only=True)
    labels = tuple(blob["labels"])
    settings = blob["model_config"]
    model_cfg = (HeadConfig(**settings) if settings.get("kind") == HeadConfig.kind
                 else ModelConfig(**settings))
    model = new_classifier(model_cfg, len(labels))
    model.load_state_dict(blob["state_dict"])
    model.eval()
    return model, labels, config_of(blob.get("feature_kind"), blob["feature_config"])

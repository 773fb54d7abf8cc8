"""Train a CTC model (`CTCModel` on log-mel, `EmbeddingCTCModel` on embedding frames) on
in-memory features, decode with greedy CTC, save and load it.

Randomness: batch order and SpecAugment masks come from ``np.random.default_rng([seed,
epoch])``; weight initialization and dropout use torch's generator, seeded inside
``torch.random.fork_rng`` so the caller's global torch state is left as it was.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from synthaudio.evaluate.scoring import score
from synthaudio.train.data import SpecAugmentConfig, length_batches, spec_augment
from synthaudio.train.embedding import EmbeddingConfig
from synthaudio.train.features import FeatureConfig
from synthaudio.train.frontends import config_of, kind_of
from synthaudio.train.model import (  # torch: guarded there
    AcousticModel,
    EmbeddingCTCConfig,
    ModelConfig,
    new_ctc_model,
    torch,
)
from synthaudio.train.tokens import Vocabulary


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 20
    max_batch_frames: int = 16000  # padded input frames per batch (10 ms frames)
    max_batch: int = 64  # utterances per batch, at most
    lr: float = 2e-3  # peak learning rate (AdamW, one-cycle schedule)
    weight_decay: float = 1e-2
    grad_clip: float = 5.0  # max gradient norm
    spec_augment: SpecAugmentConfig | None = SpecAugmentConfig()
    seed: int = 0
    threads: int | None = None  # torch intra-op threads; None: torch's default

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")


@dataclass(frozen=True)
class EpochStats:
    epoch: int
    train_loss: float  # mean CTC loss per target symbol over the epoch's batches
    dev_loss: float  # same, on the dev set, in eval mode
    dev_wer: float  # greedy decoding (a classifier's: its dev error rate)
    seconds: float


@dataclass
class TrainResult:
    model: AcousticModel  # the weights of the best epoch (lowest dev WER, then dev loss)
    vocab: Vocabulary
    initial_dev_loss: float  # before the first update
    history: list[EpochStats] = field(default_factory=list)
    best_epoch: int = 0

    @property
    def best(self) -> EpochStats:
        return self.history[self.best_epoch - 1]


def _batch(feats: Sequence[np.ndarray], idx: Sequence[int],
           aug: SpecAugmentConfig | None, rng: np.random.Generator | None
           ) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = [feats[i].shape[0] for i in idx]
    # Padding to a multiple of 16 frames: fewer distinct shapes, so oneDNN re-plans less.
    padded = -(-max(lengths) // 16) * 16
    out = np.zeros((len(idx), padded, feats[idx[0]].shape[1]), dtype=np.float32)
    for row, i in enumerate(idx):
        f = feats[i] if aug is None or rng is None else spec_augment(feats[i], aug, rng)
        out[row, :lengths[row]] = f
    return torch.from_numpy(out), torch.tensor(lengths, dtype=torch.int64)


def _targets(targets: Sequence[Sequence[int]], idx: Sequence[int]
             ) -> tuple[torch.Tensor, torch.Tensor]:
    flat = [t for i in idx for t in targets[i]]
    return (torch.tensor(flat, dtype=torch.int64),
            torch.tensor([len(targets[i]) for i in idx], dtype=torch.int64))


_CTC = torch.nn.CTCLoss(blank=0, reduction="mean", zero_infinity=True)


def mean_ctc_loss(model: AcousticModel, feats: Sequence[np.ndarray],
                  targets: Sequence[Sequence[int]], max_batch_frames: int = 16000) -> float:
    """Mean CTC loss per target symbol (utterance-weighted), in eval mode, no gradients."""
    model.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        for idx in length_batches([f.shape[0] for f in feats], max_batch_frames, 64):
            x, lens = _batch(feats, idx, None, None)
            logp, olens = model(x, lens)
            y, ylens = _targets(targets, idx)
            total += float(_CTC(logp.transpose(0, 1), y, olens, ylens)) * len(idx)
            n += len(idx)
    return total / max(n, 1)


def decode(model: AcousticModel, feats: Sequence[np.ndarray], vocab: Vocabulary,
           max_batch_frames: int = 16000, nonempty: bool = False) -> list[str]:
    """Greedy CTC transcripts of each utterance, in order.

    ``nonempty``: every utterance says something (a digits corpus has no empty prompt), so
    where the best path is all blank the symbol with the highest non-blank probability in
    any frame is the transcript (on speech unlike the training voices a CTC model often
    keeps blank above every symbol)."""
    from synthaudio.train.decoding import greedy_transcripts, log_posteriors

    return greedy_transcripts(log_posteriors(model, feats, max_batch_frames), vocab, nonempty)


def train_ctc(
    train_feats: Sequence[np.ndarray],
    train_texts: Sequence[str],
    dev_feats: Sequence[np.ndarray],
    dev_texts: Sequence[str],
    vocab: Vocabulary,
    model_cfg: ModelConfig | EmbeddingCTCConfig | None = None,
    cfg: TrainConfig | None = None,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Train a CTC model; keep the weights of the epoch with the best dev WER.

    Args:
        train_feats, dev_feats: ``(n_frames, n_features)`` float32 arrays (log-mel for a
            ModelConfig, embedding frames for an EmbeddingCTCConfig).
        train_texts, dev_texts: normalized transcripts, every unit in ``vocab``.
        vocab: output symbols.
        model_cfg, cfg: model and training settings (default: the dataclasses' defaults).
        log: receives one line per epoch.
    """
    model_cfg = model_cfg or ModelConfig()
    cfg = cfg or TrainConfig()
    if len(train_feats) != len(train_texts) or len(dev_feats) != len(dev_texts):
        raise ValueError("features and transcripts differ in number")
    if not train_feats or not dev_feats:
        raise ValueError("need at least one training and one dev utterance")
    train_y = [vocab.encode(t) for t in train_texts]
    dev_y = [vocab.encode(t) for t in dev_texts]
    lengths = [f.shape[0] for f in train_feats]
    threads = torch.get_num_threads()
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            model = new_ctc_model(model_cfg, len(vocab))
            result = TrainResult(model, vocab, mean_ctc_loss(model, dev_feats, dev_y,
                                                             cfg.max_batch_frames))
            log(f"epoch  0  dev loss {result.initial_dev_loss:.3f} (untrained)")
            _fit(model, train_feats, train_y, lengths, dev_feats, dev_y, dev_texts, cfg,
                 result, log)
    finally:
        torch.set_num_threads(threads)
    return result


def _fit(model: AcousticModel, feats: Sequence[np.ndarray], ys: Sequence[Sequence[int]],
         lengths: Sequence[int], dev_feats: Sequence[np.ndarray], dev_y: Sequence[Sequence[int]],
         dev_texts: Sequence[str], cfg: TrainConfig, result: TrainResult,
         log: Callable[[str], None]) -> None:
    def batch_loss(x: torch.Tensor, lens: torch.Tensor, idx: Sequence[int]) -> torch.Tensor:
        y, ylens = _targets(ys, idx)
        logp, olens = model(x, lens)
        return _CTC(logp.transpose(0, 1), y, olens, ylens)

    def evaluate() -> tuple[float, float]:
        dev_loss = mean_ctc_loss(model, dev_feats, dev_y, cfg.max_batch_frames)
        return score(list(dev_texts), decode(model, dev_feats, result.vocab)).wer, dev_loss

    result.history, result.best_epoch = fit_epochs(model, feats, lengths, cfg, batch_loss,
                                                   evaluate, log, "WER")


def fit_epochs(model: torch.nn.Module, feats: Sequence[np.ndarray], lengths: Sequence[int],
               cfg: TrainConfig,
               batch_loss: Callable[[torch.Tensor, torch.Tensor, Sequence[int]], torch.Tensor],
               evaluate: Callable[[], tuple[float, float]], log: Callable[[str], None],
               error_name: str = "WER") -> tuple[list[EpochStats], int]:
    """The training loop every model here shares: AdamW with a one-cycle schedule over
    length-sorted batches (SpecAugment on), one ``evaluate() -> (dev error, dev loss)`` per
    epoch; the weights of the epoch with the lowest (error, loss) are loaded at the end.

    ``batch_loss(features, lengths, indices)`` is the loss of one padded batch. Returns the
    history and the best epoch (1-based)."""
    steps_per_epoch = len(length_batches(lengths, cfg.max_batch_frames, cfg.max_batch))
    groups = getattr(model, "param_groups", lambda lr: None)(cfg.lr)  # or one group
    opt = torch.optim.AdamW(model.parameters() if groups is None else groups, lr=cfg.lr,
                            weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg.lr if groups is None else [g["lr"] for g in groups],
        total_steps=cfg.epochs * steps_per_epoch, pct_start=0.15)
    best_key = (math.inf, math.inf)
    best_state: dict[str, Any] = {}
    history: list[EpochStats] = []
    best_epoch = 0
    for epoch in range(1, cfg.epochs + 1):
        start = time.perf_counter()
        rng = np.random.default_rng([cfg.seed, epoch])
        model.train()
        total, n = 0.0, 0
        batches = length_batches(lengths, cfg.max_batch_frames, cfg.max_batch, rng)
        for idx in batches[:steps_per_epoch]:
            x, lens = _batch(feats, idx, cfg.spec_augment, rng)
            loss = batch_loss(x, lens, idx)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
            n += len(idx)
        dev_error, dev_loss = evaluate()
        stats = EpochStats(epoch, total / n, dev_loss, dev_error, time.perf_counter() - start)
        history.append(stats)
        log(f"epoch {epoch:2d}  train loss {stats.train_loss:.3f}  dev loss {dev_loss:.3f}  "
            f"dev {error_name} {100 * dev_error:5.1f}%  ({stats.seconds:.0f} s)")
        if (dev_error, dev_loss) < best_key:
            best_key = (dev_error, dev_loss)
            best_state = copy.deepcopy(model.state_dict())
            best_epoch = epoch
    model.load_state_dict(best_state)
    model.eval()
    return history, best_epoch


def save_model(path: Path, result: TrainResult,
               features: FeatureConfig | EmbeddingConfig) -> None:
    """Weights, model and feature settings, and the vocabulary in one ``torch.save`` file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({
        "model_config": result.model.cfg.to_dict(),
        "feature_config": asdict(features),
        "feature_kind": kind_of(features),
        "vocab": result.vocab.to_dict(),
        "state_dict": result.model.state_dict(),
        "history": [asdict(h) for h in result.history],
    }, path)


def load_model(path: Path) -> tuple[AcousticModel, Vocabulary,
                                    FeatureConfig | EmbeddingConfig]:
    """The model (eval mode), vocabulary and feature settings saved by `save_model`."""
    blob = torch.load(path, map_location="cpu", weights_only=True)
    vocab = Vocabulary.from_dict(blob["vocab"])
    settings = blob["model_config"]
    model_cfg: ModelConfig | EmbeddingCTCConfig = (
        EmbeddingCTCConfig(**settings) if settings.get("kind") == EmbeddingCTCConfig.kind
        else ModelConfig(**settings))
    model = new_ctc_model(model_cfg, len(vocab))
    model.load_state_dict(blob["state_dict"])
    model.eval()
    features = config_of(blob.get("feature_kind"), blob["feature_config"])
    if not isinstance(features, FeatureConfig | EmbeddingConfig):
        raise ValueError(f"{path}: a CTC model over Whisper's frames is not supported")
    return model, vocab, features

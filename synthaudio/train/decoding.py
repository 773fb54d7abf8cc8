"""Decoding a CTC model's frame posteriors: greedy, averaged over views, or over a closed set.

- `log_posteriors`: each utterance's ``(frames, symbols)`` log posteriors, batched as in
  training (padded to similar lengths).
- `mean_posteriors`: the mean of several views' posteriors of the same utterances (the same
  audio embedded with its words at other phases of the front end's frame grid, or several
  models), in the log domain; views one frame apart are cut to the shortest.
- `greedy_transcripts`: the best path, collapsed (``nonempty``: an all-blank path gives the
  symbol with the highest non-blank probability in any frame).
- `closed_set_transcripts`: the transcript among given choices with the highest CTC
  probability ``P(choice | frames)`` (the sum over all its alignments, as ``ctc_loss``
  computes it): isolated-word recognition with a one-word grammar, when the task says each
  clip holds one of the choices (an isolated-digit or a command set).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from synthaudio.train.data import length_batches
from synthaudio.train.model import torch
from synthaudio.train.tokens import Vocabulary, greedy_collapse


def log_posteriors(model: Any, feats: Sequence[np.ndarray],
                   max_batch_frames: int = 16000) -> list[np.ndarray]:
    """``log p(symbol | frame)`` of each utterance, ``(output frames, len(vocab))`` float32,
    in order (``model``: a CTC model or an ensemble, called as in training)."""
    from synthaudio.train.trainer import _batch

    model.eval()
    out: list[np.ndarray] = [np.zeros((0, 0), np.float32)] * len(feats)
    with torch.no_grad():
        for idx in length_batches([f.shape[0] for f in feats], max_batch_frames, 64):
            x, lens = _batch(feats, idx, None, None)
            logp, olens = model(x, lens)
            for row, i in enumerate(idx):
                out[i] = logp[row, :int(olens[row])].numpy().astype(np.float32)
    return out


def mean_posteriors(views: Sequence[Sequence[np.ndarray]]) -> list[np.ndarray]:
    """``log(mean_k p_k)`` per utterance over the views (each a list of log posteriors of
    the same utterances), each view cut to the utterance's shortest."""
    if not views:
        raise ValueError("mean_posteriors needs at least one view")
    n = {len(v) for v in views}
    if len(n) != 1:
        raise ValueError(f"views hold different numbers of utterances: {sorted(n)}")
    out = []
    for per_view in zip(*views, strict=True):
        frames = min(p.shape[0] for p in per_view)
        stacked = np.stack([p[:frames] for p in per_view]).astype(np.float64)
        top = stacked.max(axis=0)
        mean = top + np.log(np.exp(stacked - top).mean(axis=0))
        out.append(mean.astype(np.float32))
    return out


def greedy_transcripts(logps: Sequence[np.ndarray], vocab: Vocabulary,
                       nonempty: bool = False) -> list[str]:
    """Best-path transcripts (blank is symbol 0); ``nonempty``: every utterance says
    something, so an all-blank path gives the best non-blank symbol of any frame."""
    hyps = []
    for lp in logps:
        labels = greedy_collapse(lp.argmax(axis=-1).tolist()) if lp.size else []
        if not labels and nonempty and lp.shape[0]:
            frame = int(lp[:, 1:].max(axis=-1).argmax())
            labels = [int(lp[frame, 1:].argmax()) + 1]
        hyps.append(vocab.decode(labels))
    return hyps


def closed_set_scores(logps: Sequence[np.ndarray], vocab: Vocabulary,
                      choices: Sequence[str]) -> np.ndarray:
    """``log P(choice | frames)`` under CTC, ``(utterances, choices)``; ``-inf`` where a
    choice needs more frames than the utterance has. ValueError for a choice the vocabulary
    cannot write."""
    if not choices:
        raise ValueError("closed-set decoding needs at least one choice")
    targets = []
    for c in choices:
        ids = vocab.encode(c)
        if not ids:
            raise ValueError(f"choice {c!r}: no symbol of the model's vocabulary")
        targets.append(ids)
    lengths = torch.tensor([len(t) for t in targets], dtype=torch.int64)
    flat = torch.tensor([i for t in targets for i in t], dtype=torch.int64)
    scores = np.full((len(logps), len(choices)), -math.inf)
    for u, lp in enumerate(logps):
        if lp.shape[0] == 0:
            continue
        x = torch.from_numpy(np.ascontiguousarray(lp, np.float32))[:, None, :]
        x = x.expand(-1, len(choices), -1).contiguous()  # (T, choices, V)
        nll = torch.nn.functional.ctc_loss(
            x, flat, torch.full((len(choices),), lp.shape[0], dtype=torch.int64), lengths,
            blank=0, reduction="none", zero_infinity=False)
        scores[u] = -nll.numpy()
    return scores


def closed_set_transcripts(logps: Sequence[np.ndarray], vocab: Vocabulary,
                           choices: Sequence[str]) -> list[str]:
    """The most probable of ``choices`` for each utterance (ties: the first choice)."""
    scores = closed_set_scores(logps, vocab, choices)
    return [choices[int(np.argmax(row))] for row in scores]

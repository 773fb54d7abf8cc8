"""Utterances to train on or score: a split of a synthaudio corpus or a Kaldi directory.

Features are computed once, in worker processes, and kept in memory as a list of float32
``(n_frames, n_mels)`` arrays (a few hundred MB for ten thousand short utterances).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from synthaudio.errors import InputError
from synthaudio.evaluate.normalizer import EvalNormalizer
from synthaudio.io.kaldi import list_kaldi_dir
from synthaudio.io.metadata import iter_metadata
from synthaudio.train.features import FeatureConfig, file_features

T = TypeVar("T")


@dataclass(frozen=True)
class Utterance:
    id: str
    audio_path: Path
    text: str  # normalized transcript: lower-case words, single spaces
    speaker: str = ""  # "" where the source names none (then the utterance is its own)


def corpus_split(out_dir: Path, split: str) -> list[Utterance]:
    """The utterances of one split of a corpus, in id order."""
    utts = [Utterance(r.id, out_dir / r.audio, r.text, r.speaker)
            for r in iter_metadata(out_dir) if r.split == split]
    if not utts:
        raise InputError(f"{out_dir / 'metadata.jsonl'}: no utterances in split {split!r}")
    return utts


def kaldi_dir_utterances(kaldi_dir: Path) -> list[Utterance]:
    """The utterances of a Kaldi data directory (plain paths in wav.scp), in id order.

    Transcripts go through the evaluation normalizer, as the references are scored.
    """
    normalize = EvalNormalizer()
    return [Utterance(u.id, u.wav_path, normalize(u.text), u.speaker or "")
            for u in list_kaldi_dir(kaldi_dir)]


def speaker_mean_normalize(feats: Sequence[np.ndarray], utts: Sequence[Utterance]
                           ) -> list[np.ndarray]:
    """Each utterance's frames minus the mean frame of all its speaker's utterances in
    ``utts`` (Kaldi's per-speaker cepstral mean normalization, ``apply-cmvn --utt2spk``,
    over any frames): what a speaker or a recording channel adds to every frame is taken
    out, in training and at test alike. An utterance without a speaker is normalized by
    its own mean."""
    if len(feats) != len(utts):
        raise ValueError(f"{len(feats)} feature matrices for {len(utts)} utterances")
    keys = [u.speaker or f"utt:{u.id}" for u in utts]
    sums: dict[str, np.ndarray] = {}
    counts: dict[str, int] = {}
    for f, k in zip(feats, keys, strict=True):
        if f.shape[0]:
            sums[k] = sums.get(k, 0) + f.astype(np.float64).sum(axis=0)
            counts[k] = counts.get(k, 0) + f.shape[0]
    return [(f - (sums[k] / counts[k])).astype(f.dtype) if k in counts else f
            for f, k in zip(feats, keys, strict=True)]


def _features_of(job: tuple[Path, FeatureConfig]) -> np.ndarray:
    return file_features(*job)


def map_files(fn: Callable[[T], np.ndarray], work: Sequence[T], jobs: int,
              spawn: bool = False) -> list[np.ndarray]:
    """``fn`` over ``work``, in order; in ``jobs`` worker processes when there is enough.
    ``spawn``: fresh worker processes (``fn`` importable from a module, not ``__main__``),
    where the parent may hold a library that a forked child would deadlock in (CTranslate2's
    thread pool)."""
    if jobs <= 1 or len(work) < 64:
        return [fn(w) for w in work]
    # fork: no re-import of the caller's __main__; the parent runs no torch threads yet
    # when the recipe computes features.
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods and not spawn else "spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        return list(pool.map(fn, work, chunksize=32))


def compute_features(utts: Sequence[Utterance], cfg: FeatureConfig | None = None,
                     jobs: int = 1) -> list[np.ndarray]:
    """Features of each utterance, in order; ``jobs`` worker processes."""
    return map_files(_features_of, [(u.audio_path, cfg or FeatureConfig()) for u in utts], jobs)


def length_batches(lengths: Sequence[int], max_frames: int, max_batch: int,
                   rng: np.random.Generator | None = None) -> list[list[int]]:
    """Group indices of similar length into batches of at most ``max_frames`` padded frames.

    Indices are sorted by length (ties broken by a random order when ``rng`` is given),
    cut into batches of at most ``max_batch`` items whose padded size ``items x longest``
    stays within ``max_frames``; with ``rng`` the batch order is shuffled too.
    """
    if max_frames < 1 or max_batch < 1:
        raise ValueError(f"max_frames and max_batch must be >= 1, got {max_frames}, {max_batch}")
    order = np.arange(len(lengths))
    if rng is not None:
        order = rng.permutation(len(lengths))
    order = order[np.argsort(np.asarray(lengths)[order], kind="stable")]
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order.tolist():
        longest = lengths[i]  # sorted: the newest item is the longest
        if current and (len(current) >= max_batch or (len(current) + 1) * longest > max_frames):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


@dataclass(frozen=True)
class SpecAugmentConfig:
    """SpecAugment-style masking of training features (no time warping)."""

    freq_masks: int = 2  # masks per utterance
    max_freq_width: int = 10  # mel bands per mask, at most
    time_masks: int = 2
    max_time_frac: float = 0.08  # time mask width, at most this fraction of the utterance


def spec_augment(feats: np.ndarray, cfg: SpecAugmentConfig, rng: np.random.Generator) -> np.ndarray:
    """A copy of ``feats`` ``(n_frames, n_mels)`` with random bands and spans set to zero."""
    out = feats.copy()
    n_frames, n_mels = out.shape
    for _ in range(cfg.freq_masks):
        width = int(rng.integers(0, cfg.max_freq_width + 1))
        start = int(rng.integers(0, max(1, n_mels - width)))
        out[:, start:start + width] = 0.0
    max_t = int(cfg.max_time_frac * n_frames)
    for _ in range(cfg.time_masks):
        width = int(rng.integers(0, max_t + 1))
        start = int(rng.integers(0, max(1, n_frames - width)))
        out[start:start + width, :] = 0.0
    return out

"""The second stage of a keyword detector: EfficientWord-Net word vectors verify candidates.

A two-stage (cascade) detector, as openWakeWord's "custom verifier": the speech-embedding
head scored every 80 ms proposes candidate detections at a low threshold (cheap); each
candidate's 1.5 s of audio, centred on the candidate, goes through EfficientWord-Net's
ResNet-50 (1.0.5, Apache-2.0: its ONNX model ships in the wheel, nothing is downloaded;
64 log filter banks of a 1.5 s window; trained with an ArcFace loss to tell spoken words
apart on real recordings), a logistic regression over its unit word vector gives word
posteriors, and the candidate is accepted when the weighted geometric mean of the head's
posteriors (at the candidate) and the word posteriors, renormalized, passes a second
threshold for the candidate's keyword. The ResNet runs only on candidates (some hundred an
hour), not on every window (45,000 an hour).

The regression is the keywords recipe's ``word_classifier.npz`` (``coef``, ``intercept``,
``labels``, ``c``), saved beside the model.

The head's side of the fusion is, where the model names them (``verify_models``), the
clip classifier's heads instead of the detector's: their posteriors (geometric mean over
the heads) over the candidate's smoothing windows, averaged as the detector's track is
(:func:`smoothed_rows_at`). The clip heads (larger, and three of them) tell the words of a
candidate apart better than the detector's: with them the recipe's cascade misses 56.0% of
the keywords at 1 false accept an hour against 61.3% (the keywords recipe's RESULTS.md, round
12, four seeds).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from synthaudio.train.word_vectors import (
    FUSE_WEIGHT,
    WordVectors,
    fuse,
    window_at,
    word_posteriors,
)

SHIFTS_S = (0.0,)  # the candidate's 1.5 s centred on it moved by each; the best one counts


def best_fused(head_row: np.ndarray, words: np.ndarray, weight: float) -> np.ndarray:
    """Per label, the highest fused posterior of one candidate over its shifted windows
    (``words``: ``(shifts, labels)`` word posteriors; ``head_row``: the head's ``(labels,)``)."""
    rows = np.broadcast_to(np.asarray(head_row)[None], words.shape)
    return np.asarray(fuse(rows, words, weight).max(axis=0))


class Verifier:
    """Stage 2 of the cascade: the fused posteriors of candidates (see the module doc);
    ``shifts_s``: the candidate's window moved by each, the best fused posterior of a
    label counts."""

    def __init__(self, params: dict[str, Any], weight: float = FUSE_WEIGHT,
                 vectors: WordVectors | None = None,
                 shifts_s: Sequence[float] = SHIFTS_S) -> None:
        if not 0 <= weight <= 1:
            raise ValueError(f"the verifier's fuse weight must be within [0, 1], got {weight}")
        if not shifts_s:
            raise ValueError("the verifier needs at least one shift")
        self.params = params
        self.weight = weight
        self.vectors = vectors or WordVectors()
        self.shifts_s = tuple(float(x) for x in shifts_s)

    def word_scores(self, audio: np.ndarray, centres_s: Sequence[float]) -> np.ndarray:
        """The word posteriors ``(n, labels)`` of the 1.5 s windows centred at ``centres_s``."""
        return word_posteriors(self.params, self.vectors([window_at(audio, c)
                                                          for c in centres_s]))

    def shifted_word_scores(self, audio: np.ndarray, centres_s: Sequence[float]) -> np.ndarray:
        """The word posteriors ``(n, shifts, labels)`` of each candidate's shifted windows."""
        n, k = len(centres_s), len(self.params["labels"])
        if not n:
            return np.zeros((0, len(self.shifts_s), k), np.float32)
        rows = self.word_scores(audio, [c + d for c in centres_s for d in self.shifts_s])
        return rows.reshape(n, len(self.shifts_s), k)

    def scores(self, audio: np.ndarray, centres_s: Sequence[float],
               head_rows: np.ndarray) -> np.ndarray:
        """The fused posteriors ``(n, labels)`` of candidates centred at ``centres_s``,
        the head's posteriors at each ``head_rows`` ``(n, labels)`` (with several shifts:
        per label the best over them)."""
        words = self.shifted_word_scores(audio, centres_s)
        return np.stack([best_fused(h, w, self.weight) for h, w in
                         zip(np.asarray(head_rows), words, strict=True)]) if len(words) else (
            np.zeros((0, len(self.params["labels"])), np.float32))


def candidate_centre_s(window: int, hop_s: float, window_s: float, smooth_frames: int) -> float:
    """The middle of the audio behind smoothed window ``window`` (window ``k`` covers
    ``[k * hop_s, k * hop_s + window_s)``; a trailing mean over ``smooth_frames`` windows
    lags by half of them): where a candidate's 1.5 s are centred."""
    return window * hop_s + window_s / 2 - (smooth_frames - 1) * hop_s / 2


def smoothed_rows_at(score: Callable[[list[np.ndarray]], np.ndarray],
                     windows: Sequence[np.ndarray], ks: Sequence[int],
                     smooth_frames: int) -> np.ndarray:
    """Rows ``(len(ks), labels)`` of another model's track at windows ``ks``, smoothed as
    the detector's (a trailing mean over ``smooth_frames`` windows, fewer at the start),
    scoring only the windows behind them (``score``: windows -> posteriors)."""
    spans = [(max(0, k - smooth_frames + 1), k + 1) for k in ks]
    needed = sorted({j for a, b in spans for j in range(a, b)})
    if not needed:
        return np.zeros((0, 0), np.float32)
    rows = np.asarray(score([windows[j] for j in needed]), np.float64)
    at = {j: i for i, j in enumerate(needed)}
    return np.stack([rows[[at[j] for j in range(a, b)]].mean(axis=0) for a, b in spans])


def rows_at(score: Callable[[list[np.ndarray]], np.ndarray] | None,
            windows: Sequence[np.ndarray], smooth_frames: int
            ) -> Callable[[list[int]], np.ndarray] | None:
    """``cascade_detections``' ``rows_at`` over ``windows``: ``score``'s smoothed rows at
    the candidates' windows (:func:`smoothed_rows_at`; None: no ``score``, the detector
    head's smoothed row counts)."""
    if score is None:
        return None
    return lambda ks: smoothed_rows_at(score, windows, ks, smooth_frames)

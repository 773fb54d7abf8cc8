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
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from synthaudio.errors import InputError, SynthaudioError

RATE = 16000
WINDOW_S = 1.5  # the ResNet's input
FUSE_WEIGHT = 0.5  # the word vectors' share of the geometric mean of the posteriors
SHIFTS_S = (0.0,)  # the candidate's 1.5 s centred on it moved by each; the best one counts
NEEDS = ("the verifier needs EfficientWord-Net: pip install --no-deps EfficientWord-Net==1.0.5 "
         "(or run the head alone: --no-verify)")


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def word_posteriors(params: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """Class probabilities ``(n, len(labels))`` of the fitted regression ``params`` over the
    word vectors ``x`` ``(n, dim)``."""
    logits = _unit(np.asarray(x, np.float64)) @ np.asarray(params["coef"], np.float64).T
    logits += np.asarray(params["intercept"], np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)


def fuse(head: np.ndarray, words: np.ndarray, weight: float = FUSE_WEIGHT) -> np.ndarray:
    """The weighted geometric mean of two posterior matrices, renormalized per row
    (``weight``: the second's share)."""
    log = (1 - weight) * np.log(np.maximum(head, 1e-9)) + weight * np.log(
        np.maximum(words, 1e-9))
    p = np.exp(log - log.max(axis=1, keepdims=True))
    return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)


def load_word_classifier(path: Path, labels: Sequence[str] | None = None) -> dict[str, Any]:
    """The regression saved as ``.npz``; ``labels``: the detector's, which it must match.

    Raises:
        InputError: not such a file, or its labels are not ``labels``.
    """
    try:
        with np.load(path) as blob:
            params = {"coef": blob["coef"], "intercept": blob["intercept"],
                      "labels": [str(x) for x in blob["labels"]], "c": float(blob["c"])}
    except (OSError, KeyError, ValueError) as exc:
        raise InputError(f"{path}: not a word classifier ({str(exc).splitlines()[0]})"
                         ) from None
    if labels is not None and list(labels) != params["labels"]:
        raise InputError(f"{path}: its labels {params['labels']} are not the model's "
                         f"{list(labels)}")
    return params


def window_at(audio: np.ndarray, centre_s: float, window_s: float = WINDOW_S) -> np.ndarray:
    """``window_s`` of 16 kHz ``audio`` centred at ``centre_s`` (zeros beyond its ends)."""
    n = round(window_s * RATE)
    start = round(centre_s * RATE) - n // 2
    out = np.zeros(n, np.float32)
    lo, hi = max(0, start), min(len(audio), start + n)
    if hi > lo:
        out[lo - start:hi - start] = audio[lo:hi]
    return out


class WordVectors:
    """EfficientWord-Net 1.0.5's ResNet-50 word vector ``(2048,)`` of 1.5 s windows (the
    same network and features as ``eff_word_net``'s ``Resnet50_Arc_loss.audioToVector``,
    in a session of ``threads`` threads)."""

    def __init__(self, threads: int | None = 1) -> None:
        try:
            import onnxruntime as ort
            from eff_word_net.audio_processing import LIB_FOLDER_LOCATION
            from eff_word_net.audio_utils import logfbank
        except ImportError as exc:
            raise SynthaudioError(f"{NEEDS} ({exc})") from None
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        model = (Path(LIB_FOLDER_LOCATION) / "models" / "resnet_50_arc"
                 / "slim_93%_accuracy_72.7390%.onnx")
        self._session = ort.InferenceSession(str(model), sess_options=opts,
                                             providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self._logfbank = logfbank

    def __call__(self, windows: Sequence[np.ndarray]) -> np.ndarray:
        out = []
        for w in windows:
            if len(w) != round(WINDOW_S * RATE):
                raise ValueError(f"a word-vector window is {WINDOW_S} s, got {len(w)} samples")
            feats = self._logfbank(np.asarray(w, np.float32), samplerate=RATE, winlen=0.025,
                                   winstep=0.01, nfilt=64, nfft=512, preemph=0.0)
            x = np.asarray(feats, np.float32)[None, None]
            out.append(self._session.run(None, {self._input: x})[0][0])
        return np.stack(out).astype(np.float32) if out else np.zeros((0, 2048), np.float32)


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

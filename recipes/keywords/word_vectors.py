"""A second front end for the clip classifier: EfficientWord-Net's word vectors.

EfficientWord-Net 1.0.5 (Apache-2.0; its ONNX ResNet-50 ships in the wheel, nothing is
downloaded) maps a 1.5 s window of 16 kHz audio (64 log filter banks) to a 2048-value
vector, trained with an ArcFace loss to tell spoken words apart on real recordings. A
logistic regression over the unit vectors of the training clips (classes weighted equally,
its inverse regularization ``C`` chosen on the dev clips' balanced accuracy) gives a second
set of clip posteriors; the recipe's clip scores (the synthetic test clips, ``--real-test``)
use the geometric mean of the two models' posteriors (``fuse``). The stream detector
uses them only on the candidates of the speech-embedding head, as the second stage of a
cascade (``synthaudio.train.verifier``, which holds ``word_posteriors`` and ``fuse``): a
window every 80 ms of an hour of streams would cost the ResNet some 45,000 passes.

``pip install --no-deps EfficientWord-Net==1.0.5 scikit-learn`` (its own requirements name
pyaudio, which only its microphone engine imports).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from synthaudio.errors import SynthaudioError
from synthaudio.train.verifier import fuse, word_posteriors

__all__ = ["fit_word_classifier", "fuse", "save_word_classifier", "word_posteriors",
           "word_vectors"]

RATE = 16000
WINDOW_S = 1.5  # the network's input
SILENT = 1e-4  # leading and trailing samples below this are cut before centring
C_GRID = (0.3, 1.0, 3.0, 10.0)  # logistic regression's C, chosen on the dev clips


def centred(audio: np.ndarray, n: int) -> np.ndarray:
    """``audio`` without its leading and trailing near-zero samples, centred in ``n``
    samples (cut at both ends where longer)."""
    x = np.asarray(audio, np.float32)
    loud = np.flatnonzero(np.abs(x) > SILENT)
    x = x[loud[0]:loud[-1] + 1] if len(loud) else x
    start = max(0, (len(x) - n) // 2)
    x = x[start:start + n]
    left = (n - len(x)) // 2
    return np.pad(x, (left, n - len(x) - left))


def word_vectors(paths: Sequence[Path]) -> np.ndarray:
    """The word vector ``(n, 2048)`` of each clip (any rate: resampled to 16 kHz)."""
    try:
        from eff_word_net.audio_processing import Resnet50_Arc_loss
    except ImportError as exc:
        raise SynthaudioError(
            "--word-vectors ewn needs EfficientWord-Net: pip install --no-deps "
            "EfficientWord-Net==1.0.5 scikit-learn (or pass --word-vectors none)") from exc
    from synthaudio.train.features import load_mono

    model = Resnet50_Arc_loss()
    n = round(WINDOW_S * RATE)
    out = [model.audioToVector(centred(load_mono(p, RATE), n))[0] for p in paths]
    return np.stack(out).astype(np.float32) if out else np.zeros((0, 2048), np.float32)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _balanced(ys: Sequence[str], predicted: Sequence[str]) -> float:
    """Mean recall over the classes present."""
    recalls = []
    for label in sorted(set(ys)):
        hits = [p == label for y, p in zip(ys, predicted, strict=True) if y == label]
        recalls.append(float(np.mean(hits)))
    return float(np.mean(recalls))


def fit_word_classifier(x: np.ndarray, ys: Sequence[str], dev_x: np.ndarray,
                        dev_ys: Sequence[str], labels: Sequence[str],
                        c_grid: Sequence[float] = C_GRID) -> dict[str, Any]:
    """A logistic regression over the unit vectors ``x`` (classes weighted equally), its
    ``C`` the one of ``c_grid`` with the highest balanced accuracy on the dev clips (the
    first on a tie). Returns ``coef`` ``(len(labels), dim)``, ``intercept``, ``labels``,
    ``c`` and ``dev_balanced`` (per C), for :func:`word_posteriors`."""
    from sklearn.linear_model import LogisticRegression

    missing = sorted(set(labels) - set(ys))
    if missing:
        raise ValueError(f"no training clip of {missing}")
    best: dict[str, Any] | None = None
    scores: dict[str, float] = {}
    for c in c_grid:
        clf = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
        clf.fit(_unit(x), list(ys))
        order = [list(clf.classes_).index(label) for label in labels]
        params = {"coef": clf.coef_[order].astype(np.float32),
                  "intercept": clf.intercept_[order].astype(np.float32),
                  "labels": list(labels), "c": float(c)}
        probs = word_posteriors(params, dev_x)
        scores[str(c)] = _balanced(list(dev_ys), [labels[k] for k in probs.argmax(1)])
        if best is None or scores[str(c)] > scores[str(best["c"])]:
            best = params
    assert best is not None
    return {**best, "dev_balanced": scores}


def save_word_classifier(path: Path, params: dict[str, Any]) -> None:
    """The regression as ``.npz`` (coef, intercept, labels, c)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, coef=params["coef"], intercept=params["intercept"],
             labels=np.array(params["labels"]), c=np.array(params["c"]))

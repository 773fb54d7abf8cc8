"""EfficientWord-Net's word vectors: a second front end for word and keyword classifiers.

EfficientWord-Net 1.0.5 (Apache-2.0; its ONNX ResNet-50 ships in the wheel, nothing is
downloaded) maps a 1.5 s window of 16 kHz audio (64 log filter banks) to a 2048-value
vector, trained with an ArcFace loss to tell spoken words apart on real recordings. A
logistic regression over the unit vectors of the training clips (classes weighted equally,
its inverse regularization ``C`` chosen on the dev clips' balanced accuracy) gives a second
set of word posteriors, fused with another model's by a weighted geometric mean (``fuse``).
The keywords recipe's clip scores use it (``--word-vectors ewn``), and so does the second
stage of its stream detector (``synthaudio.train.verifier``), which runs it only on the
candidates of the speech-embedding head: a window every 80 ms of an hour of streams would
cost the ResNet some 45,000 passes. ``benchmarks/bench_digits_training.py --word-vectors``
measures it on the digits.

``pip install --no-deps EfficientWord-Net==1.0.5 scikit-learn`` (its own requirements name
pyaudio, which only its microphone engine imports).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from synthaudio.errors import InputError, SynthaudioError

RATE = 16000
WINDOW_S = 1.5  # the network's input
FUSE_WEIGHT = 0.5  # the word vectors' share of the geometric mean of the posteriors
NEEDS = ("the word vectors need EfficientWord-Net: pip install --no-deps "
         "EfficientWord-Net==1.0.5 scikit-learn (or go without them: --word-vectors none to "
         "train, --no-verify to detect)")

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
    """The word vector ``(n, 2048)`` of each clip file (any rate: resampled to 16 kHz)."""
    from synthaudio.train.features import load_mono

    vectors, n = WordVectors(), round(WINDOW_S * RATE)
    out = [vectors([centred(load_mono(p, RATE), n)])[0] for p in paths]
    return np.stack(out) if out else np.zeros((0, 2048), np.float32)


def clip_vectors(clips: Sequence[np.ndarray]) -> np.ndarray:
    """The word vector ``(n, 2048)`` of each 16 kHz clip, centred as ``word_vectors``
    centres a file's."""
    n = round(WINDOW_S * RATE)
    return WordVectors()([centred(c, n) for c in clips])


def fit_word_classifier(x: np.ndarray, ys: Sequence[str], dev_x: np.ndarray,
                        dev_ys: Sequence[str], labels: Sequence[str],
                        c_grid: Sequence[float] = C_GRID) -> dict[str, Any]:
    """A logistic regression over the unit vectors ``x`` (classes weighted equally), its
    ``C`` the one of ``c_grid`` with the highest balanced accuracy on the dev clips (the
    first on a tie). Returns ``coef`` ``(len(labels), dim)``, ``intercept``, ``labels``,
    ``c`` and ``dev_balanced`` (per C), for :func:`word_posteriors`."""
    from sklearn.linear_model import LogisticRegression

    from synthaudio.evaluate.kws import clip_scores

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
        scores[str(c)] = clip_scores(list(dev_ys), [labels[k] for k in probs.argmax(1)]
                                     )["balanced_accuracy"]
        if best is None or scores[str(c)] > scores[str(best["c"])]:
            best = params
    assert best is not None
    return {**best, "dev_balanced": scores}


def save_word_classifier(path: Path, params: dict[str, Any]) -> None:
    """The regression as ``.npz`` (coef, intercept, labels, c)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, coef=params["coef"], intercept=params["intercept"],
             labels=np.array(params["labels"]), c=np.array(params["c"]))


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


def geometric_mean(posteriors: Sequence[np.ndarray],
                   weights: Sequence[float] | None = None) -> np.ndarray:
    """The geometric mean of posterior matrices ``(n, classes)``, renormalized per row:
    weighted by ``weights`` (shares summing to 1), else each alike."""
    logs = [np.log(np.maximum(p, 1e-9)) for p in posteriors]
    log = (np.mean(logs, axis=0) if weights is None
           else sum(w * x for w, x in zip(weights, logs, strict=True)))
    p = np.exp(log - log.max(axis=1, keepdims=True))
    return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)


def fuse(head: np.ndarray, words: np.ndarray, weight: float = FUSE_WEIGHT) -> np.ndarray:
    """The weighted geometric mean of two posterior matrices, renormalized per row
    (``weight``: the second's share)."""
    return geometric_mean([head, words], [1 - weight, weight])


def choose_fuse_weight(dev: Mapping[float, Mapping[str, Any]], best_only: bool = False,
                       ) -> float:
    """The word vectors' share of ``fuse``, from each candidate share's scores on dev clips
    (``evaluate.kws.clip_scores``: ``balanced_accuracy``, ``balanced_accuracy_se``): the
    largest share whose balanced accuracy is within one standard error of the best one's
    (the one-standard-error rule). Dev clips of synthetic speech are the head's own
    domain, so they favour the head; among the shares they cannot tell apart, the one
    leaning most on the word vectors, a network trained on real recordings, is the one
    expected to carry over to real speech. ``best_only``: the best share itself (ties: the
    one nearest 0.5).

    Raises:
        ValueError: no candidate shares.
    """
    if not dev:
        raise ValueError("no fusion weights to choose from")
    best = max(dev, key=lambda w: (dev[w]["balanced_accuracy"], -abs(w - 0.5)))
    if best_only:
        return best
    floor = dev[best]["balanced_accuracy"] - dev[best]["balanced_accuracy_se"]
    return max(w for w, s in dev.items() if s["balanced_accuracy"] >= floor)


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
    bit for bit, in a session of ``threads`` threads)."""

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

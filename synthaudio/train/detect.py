"""Detect keywords in long recordings with a trained keyword model (``synthaudio detect``).

A keyword model is a clip classifier saved by
:func:`synthaudio.train.classifier.save_classifier` (the keywords recipe's ``model.pt``):
labels (targets, ``_unknown_``, ``_silence_``), weights, its features, and the detector
settings chosen for streams (:class:`DetectorSettings`). Over a recording (any rate:
resampled to the model's; the first channel) the model scores a window of the clip length
every hop (80 ms over the speech embedding or Whisper's encoder, whose frames are computed
over the recording: :func:`synthaudio.train.frontends.stream_windows`; 100 ms over log-mel);
each target's posterior track is smoothed by a trailing mean of ``smooth_frames`` windows
(what a live detector can do: it needs no future frames); a detection is a peak of a
keyword's smoothed track above its threshold (:func:`synthaudio.evaluate.kws.peaks`: a local
maximum, kept unless a higher one kept is within ``refractory_s``; the peaks
:func:`synthaudio.evaluate.kws.judge_stream` scores the DET curves and the thresholds by, so
that the detector a user runs is the one those figures measure). A live detector knows a
peak ``refractory_s`` after it. A keyword said twice a second apart is two peaks where the
track dips between them, though it never falls below the threshold (a run over both).

A two-stage (cascade) detector, where the model directory holds the word classifier saved
beside it (``word_classifier.npz``) and the model's settings a ``verify_threshold``: the
head's peaks above ``candidate_threshold`` are candidates, each verified by
:mod:`synthaudio.train.verifier` (EfficientWord-Net word vectors of its 1.5 s, fused with the
head's posteriors); a candidate whose fused posterior of its keyword is above
``verify_threshold`` is a detection, with that score. Where the settings name clip heads
(``verify_models``: the recipe's ``clip_model.pt``, ``clip_model-2.pt`` ... beside the
model), the head's side of that fusion is their posteriors over the candidate's smoothing
windows, not the detector head's.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from synthaudio.errors import InputError

if TYPE_CHECKING:  # EfficientWord-Net: imported where a model has a verifier
    from synthaudio.train.verifier import Verifier

DETECTIONS_COLUMNS = ("file", "keyword", "start_s", "end_s", "score")
WORD_CLASSIFIER = "word_classifier.npz"  # the cascade's word classifier, beside the model


@dataclass(frozen=True)
class DetectorSettings:
    """How posterior tracks become detections; stored in the model file."""

    smooth_frames: int = 3  # trailing mean over this many windows (1: none)
    refractory_s: float = 1.0  # one detection of a keyword at most this often
    threshold: float = 0.5  # of every keyword without its own
    thresholds: dict[str, float] = field(default_factory=dict)  # per keyword (dev streams)
    # the cascade (used where the word classifier is saved beside the model): the head's
    # candidates above candidate_threshold, accepted where the fused posterior is above
    # verify_threshold (None: the head alone); verify_weight: the word vectors' share;
    # verify_models: the files (beside the model) of the clip heads fused with the word
    # vectors in stage 2 (empty: the detector head's smoothed row)
    candidate_threshold: float = 0.5
    verify_threshold: float | None = None
    verify_weight: float = 0.5
    verify_models: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.smooth_frames < 1:
            raise ValueError(f"smooth_frames must be >= 1, got {self.smooth_frames}")
        if self.refractory_s < 0:
            raise ValueError(f"refractory_s must be >= 0, got {self.refractory_s}")
        object.__setattr__(self, "verify_models", tuple(self.verify_models))
        for name in self.verify_models:
            if not name or Path(name).name != name:
                raise ValueError(f"verify_models names files beside the model, got {name!r}")
        checked = {"threshold": self.threshold, "candidate_threshold": self.candidate_threshold,
                   "verify_weight": self.verify_weight, **self.thresholds}
        if self.verify_threshold is not None:
            checked["verify_threshold"] = self.verify_threshold
        for name, t in checked.items():
            if not 0 <= t <= 1:
                raise ValueError(f"threshold of {name!r} must be within [0, 1], got {t}")

    def threshold_of(self, label: str) -> float:
        return self.thresholds.get(label, self.threshold)


@dataclass(frozen=True)
class Detection:
    file: str
    keyword: str  # the target's label
    start_s: float
    end_s: float
    score: float  # the smoothed posterior at the detection


def smooth_scores(scores: np.ndarray, frames: int) -> np.ndarray:
    """Trailing mean of each column over ``frames`` rows (the first rows: over those so far)."""
    scores = np.asarray(scores, np.float64)
    if frames <= 1 or len(scores) == 0:
        return scores
    csum = np.cumsum(np.vstack([np.zeros((1, scores.shape[1])), scores]), axis=0)
    k = np.arange(1, len(scores) + 1)
    lo = np.maximum(0, k - frames)
    return (csum[k] - csum[lo]) / (k - lo)[:, None]


def find_detections(scores: np.ndarray, labels: Sequence[str], hop_s: float, window_s: float,
                    settings: DetectorSettings) -> list[tuple[str, float, float, float]]:
    """``(label, start_s, end_s, score)`` of each detection in smoothed ``scores``
    (``(n_windows, n_labels)``, window ``k`` covering ``[k * hop_s, k * hop_s + window_s)``):
    each label's peaks (:func:`synthaudio.evaluate.kws.peaks`, ``settings.refractory_s``
    apart) above its threshold, in time order; labels starting with "_" are never
    detected."""
    from synthaudio.evaluate.kws import peaks

    found = []
    for j, label in enumerate(labels):
        if label.startswith("_"):
            continue
        threshold = settings.threshold_of(label)
        for t_s, score in peaks(scores[:, j], hop_s, settings.refractory_s):
            if score <= threshold:
                break  # highest first
            k = round(t_s / hop_s)
            found.append((label, round(k * hop_s, 3), round(k * hop_s + window_s, 3), score))
    return sorted(found, key=lambda d: (d[1], d[0]))


def cascade_detections(smoothed: np.ndarray, labels: Sequence[str], hop_s: float,
                       window_s: float, settings: DetectorSettings, audio: np.ndarray,
                       verifier: Verifier,
                       rows_at: Callable[[list[int]], np.ndarray] | None = None
                       ) -> list[tuple[str, float, float, float]]:
    """The cascade's detections: ``find_detections`` at ``settings.candidate_threshold``
    (every keyword), each candidate kept where ``verifier``'s fused posterior of its
    keyword (its 1.5 s of 16 kHz ``audio`` centred on it, and the head's smoothed row
    there, or ``rows_at(windows)``'s rows: the clip heads') is above
    ``settings.verify_threshold``; the score is that posterior."""
    from synthaudio.train.verifier import candidate_centre_s

    if settings.verify_threshold is None:
        raise ValueError("the cascade needs a verify_threshold")
    first = replace(settings, threshold=settings.candidate_threshold, thresholds={})
    found = find_detections(smoothed, labels, hop_s, window_s, first)
    if not found:
        return []
    index = {label: j for j, label in enumerate(labels)}
    rows = [round(start_s / hop_s) for _, start_s, _, _ in found]
    fused = verifier.scores(audio, [candidate_centre_s(k, hop_s, window_s,
                                                       settings.smooth_frames) for k in rows],
                            smoothed[rows] if rows_at is None else rows_at(rows))
    return [(label, a, b, float(p[index[label]]))
            for (label, a, b, _), p in zip(found, fused, strict=True)
            if p[index[label]] > settings.verify_threshold]


def clip_head_posteriors(models: Sequence[Any], windows: Sequence[np.ndarray]) -> np.ndarray:
    """The clip heads' posteriors of ``windows``: the geometric mean of each head's,
    renormalized."""
    from synthaudio.train.classifier import posteriors
    from synthaudio.train.word_vectors import geometric_mean

    return geometric_mean([posteriors(m, windows) for m in models])


class KeywordDetector:
    """A loaded keyword model, its features and detector settings."""

    def __init__(self, model_path: Path, verify: bool = True) -> None:
        from synthaudio.train.classifier import load_classifier, load_detector_settings

        model_path = Path(model_path)
        if not model_path.is_file():
            raise InputError(f"{model_path}: no such keyword model")
        try:
            self.model, labels, self.features = load_classifier(model_path)
            settings = load_detector_settings(model_path)
        except Exception as exc:  # torch.load's many ways to refuse a file  # noqa: BLE001
            raise InputError(f"{model_path}: not a keyword model ({str(exc).splitlines()[0]})"
                             ) from None
        self.labels = labels
        known = {f.name for f in fields(DetectorSettings)}
        try:
            self.settings = DetectorSettings(**{k: v for k, v in settings.items()
                                                if k in known})
        except ValueError as exc:
            raise InputError(f"{model_path}: its detector settings: {exc}") from None
        self.verifier: Verifier | None = None  # the cascade's second stage
        self.clip_heads: list[Any] = []  # the models its fusion uses, where it names them
        words = model_path.parent / WORD_CLASSIFIER
        if verify and self.settings.verify_threshold is not None:
            if not words.is_file():
                raise InputError(f"{model_path}: its verifier {words} is missing (or run the "
                                 "head alone: --no-verify)")
            from synthaudio.train.verifier import Verifier
            from synthaudio.train.word_vectors import load_word_classifier

            self.verifier = Verifier(load_word_classifier(words, labels),
                                     self.settings.verify_weight)
            self.clip_heads = [self.load_clip_head(model_path, name)
                               for name in self.settings.verify_models]
        from synthaudio.train.embedding import FRAME_S
        from synthaudio.train.features import FeatureConfig
        from synthaudio.train.frontends import LOG_MEL_HOP_S

        if not isinstance(self.features, FeatureConfig):  # a frozen front end's 80 ms grid
            self.window_s = float(self.features.clip_s or 1.0)
            self.hop_s = FRAME_S
        else:
            self.window_s = float(settings.get("window_s", 1.0))
            self.hop_s = LOG_MEL_HOP_S

    def load_clip_head(self, model_path: Path, name: str) -> Any:
        """The clip head ``name`` beside the model, for the cascade's second stage."""
        from synthaudio.train.classifier import load_classifier

        path = model_path.parent / name
        if not path.is_file():
            raise InputError(f"{model_path}: its verifier's clip head {path} is missing (or "
                             "run the head alone: --no-verify)")
        try:
            model, labels, features = load_classifier(path)
        except Exception as exc:  # noqa: BLE001
            raise InputError(f"{path}: not a keyword model ({str(exc).splitlines()[0]})"
                             ) from None
        if labels != self.labels or features != self.features:
            raise InputError(f"{path}: its labels or features are not those of {model_path}")
        return model

    def windows(self, audio: np.ndarray) -> list[np.ndarray]:
        """The model's input windows of 16 kHz (the model's rate) audio, one per hop."""
        from synthaudio.train.frontends import stream_windows

        return stream_windows(self.features, audio, self.window_s)

    def clip_scores(self, windows: list[np.ndarray]) -> np.ndarray:
        """The clip heads' posteriors of ``windows`` (:func:`clip_head_posteriors`)."""
        return clip_head_posteriors(self.clip_heads, windows)

    def detect(self, audio: np.ndarray, file: str = "",
               settings: DetectorSettings | None = None) -> list[Detection]:
        """The detections in ``audio`` (mono, the model's rate)."""
        from synthaudio.train.classifier import posteriors

        settings = settings or self.settings
        windows = self.windows(audio)
        smoothed = smooth_scores(posteriors(self.model, windows), settings.smooth_frames)
        if self.verifier is not None and settings.verify_threshold is not None:
            from synthaudio.train.verifier import rows_at

            found = cascade_detections(smoothed, self.labels, self.hop_s, self.window_s,
                                       settings, audio, self.verifier,
                                       rows_at(self.clip_scores if self.clip_heads else None,
                                               windows, settings.smooth_frames))
        else:
            found = find_detections(smoothed, self.labels, self.hop_s, self.window_s, settings)
        return [Detection(file, *d) for d in found]


def detect_keywords(model: Path, audio_paths: Sequence[Path], threshold: float | None = None,
                    out_csv: Path | None = None, verify: bool = True) -> list[Detection]:
    """Run the keyword model ``model`` over each audio file (any rate, first channel);
    ``threshold`` replaces every keyword's own (with the cascade: the second stage's).
    ``verify``: the cascade where the model has one (see the module doc); False: the head
    alone, at its own thresholds. Writes ``out_csv`` (columns :data:`DETECTIONS_COLUMNS`)
    when given.

    Raises:
        InputError: a missing or unreadable model or audio file (before anything is written).
    """
    from synthaudio.train.features import load_mono

    if not audio_paths:
        raise InputError("no audio files given")
    if threshold is not None and not 0 <= threshold <= 1:
        raise InputError(f"--threshold must be within [0, 1], got {threshold}")
    detector = KeywordDetector(Path(model), verify)
    settings = detector.settings
    if threshold is not None:
        settings = (replace(settings, verify_threshold=threshold) if detector.verifier
                    else replace(settings, threshold=threshold, thresholds={}))
    rate = detector.features.sample_rate
    audio = {}
    for p in audio_paths:
        if not Path(p).is_file():
            raise InputError(f"{p}: no such audio file")
        audio[str(p)] = load_mono(Path(p), rate)
    found = [d for name, x in audio.items() for d in detector.detect(x, name, settings)]
    if out_csv is not None:
        write_detections(Path(out_csv), found)
    return found


def detections_csv(detections: Sequence[Detection]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(DETECTIONS_COLUMNS)
    for d in detections:
        writer.writerow([d.file, d.keyword, f"{d.start_s:.3f}", f"{d.end_s:.3f}",
                         f"{d.score:.4f}"])
    return buf.getvalue()


def write_detections(path: Path, detections: Sequence[Detection]) -> None:
    from synthaudio.io.fileio import write_text_atomic

    write_text_atomic(path, detections_csv(detections))


def settings_dict(settings: DetectorSettings, **extra: Any) -> dict[str, Any]:
    return {**asdict(settings), **extra}


def per_keyword_thresholds(false_scores: Mapping[str, Sequence[float]], hours: float,
                           fa_per_hour: float, floor: float = 0.5) -> dict[str, float]:
    """Per keyword, the lowest threshold (at least ``floor``) that lets at most
    ``fa_per_hour / len(false_scores)`` false accepts an hour of that keyword through on
    the dev streams (``false_scores``: each keyword's false peak scores there, ``hours``
    long): the budget shared equally between the keywords."""
    if hours <= 0:
        raise ValueError("the dev streams must be longer than 0 h")
    share = fa_per_hour / max(1, len(false_scores)) * hours  # false peaks allowed per keyword
    out = {}
    for label, scores in false_scores.items():
        s = np.sort(np.asarray(scores, np.float64))[::-1]
        allowed = int(np.floor(share + 1e-9))
        t = float(s[allowed]) if allowed < len(s) else 0.0  # peaks above t: at most allowed
        out[label] = round(max(floor, t), 6)
    return out


def pooled_threshold(false_scores: Sequence[float], hours: float, fa_per_hour: float,
                     floor: float = 0.5, tail: int = 8) -> float:
    """One threshold for every keyword from the false peaks of dev streams ``hours`` long
    (``false_scores``: all keywords' together): the lowest that lets at most
    ``fa_per_hour`` through when the dev streams hold at least one false accept's worth
    (``fa_per_hour * hours >= 1``); shorter dev streams cannot show so rare a false accept,
    so the rate is extrapolated from the ``tail`` highest false peaks: ``log(rate)`` is
    fitted as a straight line in ``logit(score)`` (a detector's false peaks thin out
    about exponentially in the logit) and solved for ``fa_per_hour``. At least ``floor``,
    at most 1 - 1e-7."""
    if hours <= 0:
        raise ValueError("the dev streams must be longer than 0 h")
    s = np.sort(np.asarray(false_scores, np.float64))[::-1]
    allowed = int(np.floor(fa_per_hour * hours + 1e-9))
    if allowed >= 1 or len(s) < 3:
        t = float(s[allowed]) if allowed < len(s) else 0.0
        return round(max(floor, t), 7)
    top = np.clip(s[:tail], 1e-7, 1 - 1e-7)
    logit = np.log(top / (1 - top))
    log_rate = np.log(np.arange(1, len(top) + 1) / hours)
    if np.ptp(logit) < 1e-9:
        return round(max(floor, float(top[0])), 7)
    slope, intercept = np.polyfit(logit, log_rate, 1)
    if slope >= 0:  # no thinning out to extrapolate: the highest false peak
        return round(max(floor, float(top[0])), 7)
    x = (np.log(fa_per_hour) - intercept) / slope
    t = float(1 / (1 + np.exp(-x)))
    return round(min(1 - 1e-7, max(floor, float(top[0]), t)), 7)

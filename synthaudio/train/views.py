"""Extra renderings ("views") of training audio for the speech-embedding front end.

The embedding is frozen, so the audio it sees is the only place to add variety after
generation: each view re-renders every training file once and embeds it again, and the
model trains on the original frames plus each view's (the transcripts repeat). Views:

- ``speed``: resampling by a factor drawn per utterance from ``[low, high]`` (tempo and
  pitch together, as Kaldi's speed perturbation): 0.9 makes the clip 11% longer and lower;
- ``narrowband``: down to ``narrow_rate_hz`` and back to 16 kHz (a telephone-band or 8 kHz
  recording's spectrum: nothing above ``narrow_rate_hz / 2``), the path an 8 kHz test file
  takes through ``load_mono``;
- ``shift``: ``[0, max_shift_s)`` of silence before the clip, drawn per utterance: the
  embedding has one frame per 80 ms, so the shift moves the words against that frame grid
  (the phase a test file's words happen to have; the recipe's test-time shifts average
  over it).

Sample, then apply: `draw_view` draws each utterance's parameter from
``np.random.default_rng([seed, view index])`` once (recorded in the returned list), and
`render_view` applies it with no randomness, so a view's frames depend only on the seed, the
file and its position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

from synthaudio.train.embedding import (
    SAMPLE_RATE,
    EmbeddingConfig,
    delayed,
    model_files,
    shared_embedding,
)

VIEW_KINDS = ("speed", "narrowband", "shift")


@dataclass(frozen=True)
class ViewConfig:
    """One extra rendering of every training file."""

    kind: str  # one of VIEW_KINDS
    low: float = 0.9  # speed: the factor's range (1.0: unchanged)
    high: float = 1.1
    narrow_rate_hz: int = 8000  # narrowband: the rate the audio passes through
    max_shift_s: float = 0.08  # shift: silence before the clip, drawn in [0, max_shift_s)

    def __post_init__(self) -> None:
        if self.kind not in VIEW_KINDS:
            raise ValueError(f"view kind must be one of {VIEW_KINDS}, got {self.kind!r}")
        if not 0.5 <= self.low <= self.high <= 2.0:
            raise ValueError(f"speed range must satisfy 0.5 <= low <= high <= 2, got "
                             f"[{self.low}, {self.high}]")
        if not 2000 <= self.narrow_rate_hz < SAMPLE_RATE:
            raise ValueError(f"narrow_rate_hz must be within [2000, {SAMPLE_RATE}), got "
                             f"{self.narrow_rate_hz}")
        if not 0 < self.max_shift_s <= 1:
            raise ValueError(f"max_shift_s must be within (0, 1] s, got {self.max_shift_s}")


def draw_view(cfg: ViewConfig, n: int, seed: int, index: int = 0) -> list[float]:
    """Each of ``n`` utterances' parameter for view ``cfg`` (the ``index``-th view): the speed
    factor, the shift in seconds, or the narrowband rate (no draw)."""
    if cfg.kind == "narrowband":
        return [float(cfg.narrow_rate_hz)] * n
    rng = np.random.default_rng([seed, index])
    if cfg.kind == "shift":
        return [float(v) for v in rng.uniform(0.0, cfg.max_shift_s, size=n)]
    return [float(v) for v in rng.uniform(cfg.low, cfg.high, size=n)]


def render_view(audio: np.ndarray, kind: str, param: float) -> np.ndarray:
    """The view of 16 kHz ``audio`` with a drawn parameter (deterministic)."""
    x = np.asarray(audio, np.float32)
    if kind == "speed":
        # played ``param`` times faster: the samples taken as at SAMPLE_RATE * param
        return soxr.resample(x, SAMPLE_RATE * param, SAMPLE_RATE, quality="HQ").astype(
            np.float32)
    if kind == "narrowband":
        low = soxr.resample(x, SAMPLE_RATE, int(param), quality="HQ")
        return soxr.resample(low, int(param), SAMPLE_RATE, quality="HQ").astype(np.float32)
    if kind == "shift":
        return delayed(x, param)
    raise ValueError(f"view kind must be one of {VIEW_KINDS}, got {kind!r}")


def _view_worker(job: tuple[Path, EmbeddingConfig, str, float]) -> np.ndarray:
    from synthaudio.train.features import load_mono

    path, cfg, kind, param = job
    return shared_embedding(cfg).clip(render_view(load_mono(path, SAMPLE_RATE), kind, param))


def view_features(paths: Sequence[Path], view: ViewConfig, seed: int, index: int = 0,
                  cfg: EmbeddingConfig | None = None, jobs: int = 1) -> list[np.ndarray]:
    """The embedding frames of each file's view (the ``index``-th view of the run, so two
    speed views draw different factors), in order; ``jobs`` worker processes."""
    from synthaudio.train.data import map_files

    cfg = cfg or EmbeddingConfig()
    model_files(cfg.model)
    params = draw_view(view, len(paths), seed, index)
    return map_files(_view_worker, [(Path(p), cfg, view.kind, q)
                                    for p, q in zip(paths, params, strict=True)], jobs)

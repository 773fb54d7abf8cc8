"""Speed perturbation by resampling: tempo and pitch change together (Kaldi / sox ``speed``).

Arrays are float32, mono ``(n_samples,)`` or multichannel ``(n_channels, n_samples)``.
A factor ``f`` plays the audio ``f`` times faster: the output has ``round(n / f)`` samples and
every time ``t`` in the input moves to ``t / f``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import soxr

from synthaudio.augment.checks import check_audio, check_sample_rate
from synthaudio.augment.config import SpeedConfig


@dataclass(frozen=True)
class SpeedParams:
    factor: float  # > 1 faster and higher, < 1 slower and lower

    def to_dict(self) -> dict[str, Any]:
        return {"factor": self.factor}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpeedParams:
        return cls(float(data["factor"]))


def sample_speed(cfg: SpeedConfig, rng: np.random.Generator) -> SpeedParams:
    """Draw a factor: uniform in ``factor_range`` if set, else one of ``factors``."""
    if cfg.factor_range is not None:
        return SpeedParams(float(rng.uniform(*cfg.factor_range)))
    return SpeedParams(float(cfg.factors[int(rng.integers(len(cfg.factors)))]))


def speed_length(num_samples: int, factor: float) -> int:
    """Number of samples ``apply_speed`` returns for ``num_samples`` input samples."""
    return max(1, round(num_samples / factor))


def apply_speed(audio: np.ndarray, params: SpeedParams, sample_rate: int) -> np.ndarray:
    """Resample so the audio plays ``params.factor`` times faster, float32, ``round(n / f)`` long.

    Args:
        audio: ``(n,)`` or ``(K, n)``.
        params: the factor.
        sample_rate: Hz (unchanged; the content is treated as if recorded at ``f * rate``).
    """
    if params.factor <= 0:
        raise ValueError(f"speed factor must be > 0, got {params.factor}")
    check_sample_rate(sample_rate)
    x = check_audio(audio).astype(np.float32, copy=False)
    if params.factor == 1.0:
        return x
    n_out = speed_length(x.shape[-1], params.factor)
    y = soxr.resample(np.ascontiguousarray(x.T), sample_rate * params.factor, sample_rate,
                      quality="HQ")
    y = np.asarray(y, dtype=np.float32).T
    if y.shape[-1] >= n_out:
        y = y[..., :n_out]
    else:
        y = np.pad(y, [(0, 0)] * (y.ndim - 1) + [(0, n_out - y.shape[-1])])
    return np.ascontiguousarray(y)


def rescale_words(words: Sequence[Sequence[Any]] | None, factor: float,
                  ) -> list[list[Any]] | None:
    """Word timings ``[[word, start_s, dur_s], ...]`` after speed ``factor`` (times / factor).

    Extra fields after ``dur_s`` are kept. ``None`` (no timings) stays ``None``.
    """
    if factor <= 0:
        raise ValueError(f"speed factor must be > 0, got {factor}")
    if words is None:
        return None
    out = []
    for item in words:
        if len(item) < 3:
            raise ValueError(f"word timing must be [word, start_s, dur_s], got {list(item)!r}")
        word, start_s, dur_s, *rest = item
        out.append([word, float(start_s) / factor, float(dur_s) / factor, *rest])
    return out

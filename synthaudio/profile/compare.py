"""``synthaudio compare A B``: how far apart two profiles are, per measurement and in one figure.

- per feature: the Wasserstein-1 distance between the per-utterance values of A and B
  (``scipy.stats.wasserstein_distance``, in the feature's unit) and the same divided by A's
  standard deviation (``w_std``: comparable across features);
- per category (sample rate, codec hint, hum): the total variation distance of the shares;
- voices: the cosine distance between the two embedding centroids;
- ``frechet``: the Frechet distance between Gaussians fitted to the per-utterance feature
  vectors (the features marked ``summary`` present in both), each feature standardized with
  A's mean and standard deviation, as FID/FAD do with embeddings:
  ``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))``. A is the reference (the real
  corpus): several B compared with one A are on one scale. Standard deviations are floored
  at one histogram bin (a feature constant in A, such as its sample rate, would otherwise
  divide by 0). A missing value (a file without a free decay, say) is A's median.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg
import scipy.stats

from synthaudio.profile.features import BY_NAME, FEATURES


@dataclass(frozen=True)
class FeatureDistance:
    name: str
    unit: str
    median_a: float
    median_b: float
    wasserstein: float  # in the feature's unit
    w_std: float  # divided by the pooled standard deviation


@dataclass(frozen=True)
class Comparison:
    features: tuple[FeatureDistance, ...]
    categories: dict[str, float]  # total variation distance per category
    voice_centroid_distance: float | None
    frechet: float | None
    summary_features: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "frechet": self.frechet,
            "summary_features": list(self.summary_features),
            "features": {f.name: {"unit": f.unit, "median_a": f.median_a, "median_b": f.median_b,
                                  "wasserstein": f.wasserstein, "w_std": f.w_std}
                         for f in self.features},
            "categories": self.categories,
            "voice_centroid_distance": self.voice_centroid_distance,
        }

    def format(self, name_a: str = "A", name_b: str = "B") -> str:
        lines = [f"{'feature':<24}{'unit':>18}{'median ' + name_a[:8]:>17}"
                 f"{'median ' + name_b[:8]:>17}{'wasserstein':>13}{'W/std':>8}"]
        for f in self.features:
            lines.append(f"{f.name:<24}{f.unit:>18}{f.median_a:>17.4g}{f.median_b:>17.4g}"
                         f"{f.wasserstein:>13.4g}{f.w_std:>8.3f}")
        for name, tv in self.categories.items():
            lines.append(f"{name:<24}{'shares (TV)':>18}{'':>17}{'':>17}{tv:>13.4g}")
        if self.voice_centroid_distance is not None:
            lines.append(f"{'voice centroid':<24}{'cosine distance':>18}{'':>34}"
                         f"{self.voice_centroid_distance:>13.4g}")
        fd = "n/a" if self.frechet is None else f"{self.frechet:.3f}"
        lines.append(f"Frechet distance (standardized {len(self.summary_features)} features): "
                     f"{fd}")
        return "\n".join(lines)


def _values(profile: Mapping[str, Any], name: str) -> np.ndarray:
    vals = [r.get(name) for r in profile["per_utterance"]]
    return np.asarray([v for v in vals if isinstance(v, (int, float))], dtype=np.float64)


def _scale(values: np.ndarray, name: str) -> float:
    """The standard deviation of ``values``, at least one histogram bin of the feature."""
    feat = BY_NAME[name]
    return max(float(values.std()), (feat.hi - feat.lo) / feat.bins)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to the rows of ``a`` and ``b`` (n, d)."""
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a = np.atleast_2d(np.cov(a, rowvar=False)) if len(a) > 1 else np.zeros((a.shape[1],) * 2)
    cov_b = np.atleast_2d(np.cov(b, rowvar=False)) if len(b) > 1 else np.zeros((b.shape[1],) * 2)
    with warnings.catch_warnings():  # few utterances: singular covariances are expected
        warnings.simplefilter("ignore")
        covmean = scipy.linalg.sqrtm(cov_a @ cov_b)
    covmean = np.real(covmean)
    value = float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2 * covmean))
    return max(value, 0.0)


def _matrix(profile: Mapping[str, Any], names: list[str], median: np.ndarray, mean: np.ndarray,
            std: np.ndarray) -> np.ndarray:
    rows = []
    for r in profile["per_utterance"]:
        row = [r.get(n) if isinstance(r.get(n), (int, float)) else median[i]
               for i, n in enumerate(names)]
        rows.append(row)
    m = np.asarray(rows, dtype=np.float64)
    return (m - mean) / std


def compare_profiles(a: Mapping[str, Any], b: Mapping[str, Any]) -> Comparison:
    """Distances between two loaded profiles (see the module docstring)."""
    feats = []
    summary: list[str] = []
    for feat in FEATURES:
        va, vb = _values(a, feat.name), _values(b, feat.name)
        if len(va) == 0 or len(vb) == 0:
            continue
        std = _scale(va, feat.name)
        w = float(scipy.stats.wasserstein_distance(va, vb))
        feats.append(FeatureDistance(feat.name, feat.unit, float(np.median(va)),
                                     float(np.median(vb)), w, w / std if std > 0 else 0.0))
        if feat.summary:
            summary.append(feat.name)
    cats: dict[str, float] = {}
    for name in sorted(set(a.get("categories", {})) & set(b.get("categories", {}))):
        ca, cb = a["categories"][name], b["categories"][name]
        na, nb = sum(ca.values()) or 1, sum(cb.values()) or 1
        keys = set(ca) | set(cb)
        cats[name] = 0.5 * sum(abs(ca.get(k, 0) / na - cb.get(k, 0) / nb) for k in keys)
    voice = None
    ca_, cb_ = a.get("voices", {}).get("centroid"), b.get("voices", {}).get("centroid")
    if ca_ and cb_:
        u, v = np.asarray(ca_), np.asarray(cb_)
        voice = float(1 - u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))
    frechet = None
    if summary:
        ref_cols = [_values(a, n) for n in summary]
        median = np.array([np.median(c) for c in ref_cols])
        mean = np.array([c.mean() for c in ref_cols])
        scale = np.array([_scale(c, n) for c, n in zip(ref_cols, summary, strict=True)])
        frechet = frechet_distance(_matrix(a, summary, median, mean, scale),
                                   _matrix(b, summary, median, mean, scale))
    return Comparison(tuple(feats), cats, voice, frechet, tuple(summary))


__all__ = ["BY_NAME", "Comparison", "compare_profiles", "frechet_distance"]

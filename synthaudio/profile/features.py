"""The per-utterance features: names, families, units and fixed histogram bins.

Fixed bins make two profiles' histograms comparable bin by bin. A value outside the bins
is counted in the first or last bin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FAMILIES = ("level", "noise", "channel", "reverb", "speech", "quality", "voices")


@dataclass(frozen=True)
class Feature:
    name: str
    family: str
    unit: str
    lo: float  # histogram range
    hi: float
    bins: int
    summary: bool = True  # in the standardized vector of the Frechet distance

    def edges(self) -> np.ndarray:
        return np.linspace(self.lo, self.hi, self.bins + 1)


FEATURES: tuple[Feature, ...] = (
    Feature("loudness_lufs", "level", "LUFS", -70, 0, 35),
    Feature("active_level_dbfs", "level", "dBFS", -70, 0, 35),
    Feature("peak_dbfs", "level", "dBFS", -60, 0, 30),
    Feature("clip_fraction", "level", "share of samples", 0, 0.05, 25),
    Feature("snr_db", "noise", "dB", -10, 80, 45),
    Feature("noise_level_dbfs", "noise", "dBFS", -120, 0, 40),
    Feature("noise_tilt_db_per_oct", "noise", "dB/octave", -12, 6, 36),
    Feature("hum_db", "noise", "dB", 0, 40, 20),
    Feature("band_low_hz", "channel", "Hz", 0, 1000, 40),
    Feature("band_high_hz", "channel", "Hz", 0, 24000, 96),
    Feature("dc_offset", "channel", "full scale", -0.05, 0.05, 20, summary=False),
    Feature("rt60_s", "reverb", "s", 0, 2, 40),
    Feature("duration_s", "speech", "s", 0, 30, 60),
    Feature("speech_ratio", "speech", "share", 0, 1, 20),
    Feature("lead_silence_s", "speech", "s", 0, 2, 40),
    Feature("trail_silence_s", "speech", "s", 0, 2, 40),
    Feature("speaking_rate_wps", "speech", "words/s", 0, 6, 30),
    Feature("pause_mean_s", "speech", "s", 0, 1.5, 30),
    Feature("pause_max_s", "speech", "s", 0, 3, 30, summary=False),
    Feature("f0_median_hz", "speech", "Hz", 50, 400, 35),
    Feature("f0_range_st", "speech", "semitones", 0, 36, 36),
    Feature("dnsmos_sig", "quality", "MOS", 1, 5, 32),
    Feature("dnsmos_bak", "quality", "MOS", 1, 5, 32),
    Feature("dnsmos_ovrl", "quality", "MOS", 1, 5, 32),
    Feature("voice_typicality", "voices", "cosine", 0, 1, 40),
)
BY_NAME = {f.name: f for f in FEATURES}
CATEGORIES = {"sample_rate": "channel", "codec_hint": "channel", "hum_hz": "noise"}
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def distribution(values: list[float | None], feature: Feature) -> dict[str, object]:
    """Count, mean, std, quantiles and the fixed-bin histogram of the non-None values."""
    v = np.asarray([x for x in values if x is not None], dtype=np.float64)
    out: dict[str, object] = {"unit": feature.unit, "family": feature.family, "count": len(v)}
    if len(v) == 0:
        return out
    counts, edges = np.histogram(np.clip(v, feature.lo, feature.hi), bins=feature.edges())
    out.update({
        "mean": round(float(v.mean()), 6),
        "std": round(float(v.std()), 6),
        "min": round(float(v.min()), 6),
        "max": round(float(v.max()), 6),
        "quantiles": {f"q{round(100 * q):02d}": round(float(np.quantile(v, q)), 6)
                      for q in QUANTILES},
        "histogram": {"edges": [round(float(e), 6) for e in edges],
                      "counts": [int(c) for c in counts]},
    })
    return out

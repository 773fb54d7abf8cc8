"""Train/dev/test by speaker: no speaker is in two splits."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import Field, model_validator

from synthaudio.configbase import ConfigModel

SPLITS = ("train", "dev", "test")


class SplitsConfig(ConfigModel):
    """Fractions of speakers per split; no speaker is in two splits."""

    train: float = Field(default=0.8, ge=0, le=1)
    dev: float = Field(default=0.1, ge=0, le=1)
    test: float = Field(default=0.1, ge=0, le=1)

    @model_validator(mode="after")
    def _sum(self) -> SplitsConfig:
        total = self.train + self.dev + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"split fractions must sum to 1, got {total:g}")
        return self


def split_counts(num_speakers: int, cfg: SplitsConfig) -> dict[str, int]:
    """Speakers per split: rounded fractions; every split with a nonzero fraction gets one
    speaker when there are enough speakers; train takes the remainder."""
    fractions = {"train": cfg.train, "dev": cfg.dev, "test": cfg.test}
    counts = {s: int(round(num_speakers * fractions[s])) for s in ("dev", "test")}
    nonzero = [s for s in SPLITS if fractions[s] > 0]
    for s in ("dev", "test"):
        if fractions[s] > 0 and counts[s] == 0 and num_speakers >= len(nonzero):
            counts[s] = 1
    counts["train"] = num_speakers - counts["dev"] - counts["test"]
    if counts["train"] < 0 or (fractions["train"] > 0 and counts["train"] == 0):
        overflow = 1 - counts["train"] if fractions["train"] > 0 else -counts["train"]
        for s in ("test", "dev"):
            take = min(overflow, max(counts[s] - 1, 0))
            counts[s] -= take
            overflow -= take
        counts["train"] = num_speakers - counts["dev"] - counts["test"]
    return counts


def assign_splits(
    speakers: Sequence[str], cfg: SplitsConfig, rng: np.random.Generator
) -> dict[str, str]:
    """Map each speaker id to a split, from a shuffled order drawn with ``rng``."""
    counts = split_counts(len(speakers), cfg)
    order = [speakers[i] for i in rng.permutation(len(speakers))]
    out: dict[str, str] = {}
    start = 0
    for split in SPLITS:
        for spk in order[start:start + counts[split]]:
            out[spk] = split
        start += counts[split]
    return out

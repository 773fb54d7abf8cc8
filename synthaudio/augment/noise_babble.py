"""The ``babble`` noise kind: talkers of the run's babble pool, summed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from synthaudio.augment.noise_sources import _unit_power

if TYPE_CHECKING:
    from synthaudio.augment.config import NoiseConfig
    from synthaudio.augment.noise import NoiseSourceParams
    from synthaudio.augment.noise_kinds import Resources, SampleContext



@dataclass(frozen=True)
class BabbleTalker:
    clip: int  # index into the babble pool
    offset: int  # samples into the (looped) clip where the output starts
    gain_db: float  # level of this talker, each clip first scaled to unit RMS

    def to_dict(self) -> dict[str, Any]:
        return {"clip": self.clip, "offset": self.offset, "gain_db": self.gain_db}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BabbleTalker:
        return cls(int(data["clip"]), int(data["offset"]), float(data["gain_db"]))


def babble(pool: Sequence[np.ndarray], talkers: Sequence[BabbleTalker], num_samples: int,
           ) -> np.ndarray:
    """Sum of looped speech clips (each at unit RMS times its gain), unit RMS, (num_samples,)."""
    out = np.zeros(num_samples, dtype=np.float32)
    for talker in talkers:
        clip = np.asarray(pool[talker.clip], dtype=np.float32)
        clip = _unit_power(clip) * np.float32(10 ** (talker.gain_db / 20))
        at, start = 0, talker.offset % clip.size  # the clip looped, as slices
        while at < num_samples:
            take = min(clip.size - start, num_samples - at)
            out[at:at + take] += clip[start:start + take]
            at, start = at + take, 0
    return _unit_power(out)


def sample_babble(cfg: NoiseConfig, rng: np.random.Generator, ctx: SampleContext,
                  ) -> dict[str, Any]:
    talkers = int(rng.integers(cfg.babble_talkers[0], cfg.babble_talkers[1] + 1))
    picks = []
    for _ in range(talkers):
        clip = int(rng.integers(len(ctx.babble_lengths)))
        picks.append(BabbleTalker(clip, int(rng.integers(ctx.babble_lengths[clip])),
                                  float(rng.uniform(-6.0, 0.0))))
    return {"talkers": tuple(picks)}


def render_babble(src: NoiseSourceParams, num_samples: int, sample_rate: int,
                  rng: np.random.Generator, resources: Resources) -> np.ndarray:
    if resources.babble_pool is None or src.talkers is None:
        raise ValueError("babble noise needs the babble pool it was sampled with")
    return babble(resources.babble_pool, src.talkers, num_samples)

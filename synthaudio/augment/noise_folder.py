"""The ``folder`` noise kind: recorded noise from ``augment.noise.noise_dirs``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from synthaudio.augment.config import NoiseConfig
    from synthaudio.augment.noise import NoiseSourceParams
    from synthaudio.augment.noise_kinds import Resources, SampleContext



def sample_folder(cfg: NoiseConfig, rng: np.random.Generator, ctx: SampleContext,
                  ) -> dict[str, Any]:
    from synthaudio.augment.noise import sample_folder_file  # NoiseFolder's own reader

    return sample_folder_file(ctx.folders, rng, ctx.num_samples, ctx.sample_rate)


def render_folder(src: NoiseSourceParams, num_samples: int, sample_rate: int,
                  rng: np.random.Generator, resources: Resources) -> np.ndarray:
    folders = resources.folders
    if src.folder is None or src.path is None or src.folder >= len(folders):
        raise ValueError(f"folder noise {src.path!r} needs the folder it was sampled from")
    return folders[src.folder].read(src.path, int(src.start_frame or 0), num_samples,
                                    sample_rate)

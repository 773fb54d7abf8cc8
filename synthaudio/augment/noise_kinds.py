"""The noise kind registry: one :class:`NoiseKind` per name ``augment.noise.kinds`` accepts.

An entry says how to draw a source's own parameters (``sample``: called with the noise
stream right after the source's kind and placement are drawn), how to render it
(``render``: a pure function of the source record and its seeded stream, mono float32
``(n,)``), which resource it needs (the babble pool, the noise folders) and its weight in
the default ``kinds``. ``augment.noise.kinds`` is validated against this table, and
:mod:`synthaudio.augment.noise` samples and renders through it.

Renderers are named as ``"module:attribute"`` strings, so this module imports no numpy
and config validation stays light. A new kind defaults to weight 0: adding one never
changes the bytes of an existing corpus. Another package may add kinds through the
``synthaudio.noise_kinds`` entry-point group.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from synthaudio.registry import Registry, resolve

if TYPE_CHECKING:
    import numpy as np

    from synthaudio.augment.config import NoiseConfig
    from synthaudio.augment.noise import NoiseFolder, NoiseSourceParams

Resource = Literal["babble_pool", "noise_folders"]
# what a kind lacking its resource says (after "augment.noise.kinds.<name> > 0 but ")
MISSING = {
    "babble_pool": "no babble pool of speech clips was given",
    "noise_folders": "no noise folder was loaded (augment.noise.noise_dirs)",
}


@dataclass(frozen=True)
class SampleContext:
    """What a kind's sampler may read besides the config and the stream."""

    num_samples: int  # samples to render for this source (pre-roll included)
    sample_rate: int
    folders: Sequence[NoiseFolder]
    babble_lengths: Sequence[int]  # samples of each clip of the babble pool


@dataclass(frozen=True)
class Resources:
    """What a kind's renderer may read besides its record: the caller's sources."""

    folders: Sequence[NoiseFolder] = ()
    babble_pool: Sequence[np.ndarray] | None = None


# (cfg, rng, ctx) -> fields of NoiseSourceParams (or {"options": {...}} for a new kind)
Sampler = Callable[["NoiseConfig", "np.random.Generator", SampleContext], Mapping[str, Any]]
# (src, num_samples, sample_rate, rng, resources) -> mono float32 (num_samples,)
Renderer = Callable[["NoiseSourceParams", int, int, "np.random.Generator", Resources],
                    "np.ndarray"]


@dataclass(frozen=True)
class NoiseKind:
    name: str  # the key in augment.noise.kinds, and "kind" of each source record
    render: Renderer | str  # or "module:attribute"
    description: str  # one line
    sample: Sampler | str | None = None  # draws the kind's own parameters; None: none
    default_weight: float = 0.0  # weight in the default kinds; 0 = opt-in
    # diffuse noise on K > 1 mics: independent renders per channel (True, for generated
    # signals), or time-shifted copies of one render (False: a recording, a babble)
    procedural: bool = True
    needs: Resource | None = None  # a resource the Augmenter must be given

    def draw(self, cfg: NoiseConfig, rng: np.random.Generator, ctx: SampleContext,
             ) -> dict[str, Any]:
        return {} if self.sample is None else dict(resolve(self.sample)(cfg, rng, ctx))

    def make(self, src: NoiseSourceParams, num_samples: int, sample_rate: int,
             rng: np.random.Generator, resources: Resources) -> np.ndarray:
        return resolve(self.render)(src, num_samples, sample_rate,  # type: ignore[no-any-return]
                                    rng, resources)



NOISE_KINDS: Registry[NoiseKind] = Registry("noise kind", "synthaudio.noise_kinds", NoiseKind)

_A = "synthaudio.augment."  # one module a kind (noise_<kind>.py)
for _kind in (  # registration order = the order of the default kinds
    NoiseKind("white", _A + "noise_colored:render_colored", "flat spectrum", default_weight=0.5),
    NoiseKind("pink", _A + "noise_colored:render_colored", "-3 dB/octave", default_weight=1.0),
    NoiseKind("brown", _A + "noise_colored:render_colored", "-6 dB/octave", default_weight=1.0),
    NoiseKind("blue", _A + "noise_colored:render_colored", "+3 dB/octave", default_weight=0.25),
    NoiseKind("hum", _A + "noise_hum:render_hum", "mains hum (augment.noise.hum_hz) and harmonics",
              sample=_A + "noise_hum:sample_hum", default_weight=0.5),
    NoiseKind("music", _A + "noise_music:render_music", "tonal music-like bed",
              default_weight=0.5),
    NoiseKind("impulsive", _A + "noise_impulsive:render_impulsive",
              "clicks, knocks, door slams", default_weight=0.5),
    NoiseKind("babble", _A + "noise_babble:render_babble", "summed talkers from the babble pool",
              sample=_A + "noise_babble:sample_babble", procedural=False, needs="babble_pool"),
    NoiseKind("folder", _A + "noise_folder:render_folder",
              "recorded noise from augment.noise.noise_dirs",
              sample=_A + "noise_folder:sample_folder", procedural=False, needs="noise_folders"),
    NoiseKind("hvac", "synthaudio.augment.noise_hvac:render_hvac",
              "ventilation: low-frequency airflow rumble and fan blade tones",
              sample="synthaudio.augment.noise_hvac:sample_hvac"),
):
    NOISE_KINDS.register(_kind)


def default_kinds() -> dict[str, float]:
    """The default ``augment.noise.kinds``: built-in kinds with a weight > 0, in order."""
    return {k.name: k.default_weight for k in NOISE_KINDS.entries(plugins=False)
            if k.default_weight > 0}

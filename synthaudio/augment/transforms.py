"""Named, composable transforms in the audiomentations manner, over the Augmenter.

::

    import synthaudio as sa
    augment = sa.Compose([sa.Reverb(bank, p=0.8), sa.AddNoise(snr_db=(5, 20)),
                          sa.Codec(p=0.2)], keep_length=True)
    out = augment(audio, 16000, rng)                      # float32 (n,) in, (n,) or (K, n) out
    params = augment.randomize_parameters(audio, 16000, rng)   # frozen AugmentParams
    out = augment.apply(audio, 16000, params)                  # pure: replays exactly

Each transform (``p`` its probability, 0.5 by default as in audiomentations) is one stage
section of an :class:`~synthaudio.augment.config.AugmentConfig`
(keywords as in the YAML, ranges as tuples); ``Compose`` merges
them into one config and one :class:`~synthaudio.augment.augmenter.Augmenter`, so a
composed pipeline draws and writes exactly what the ``augment:`` section would (point noise
sources in the drawn room, SNR measured on the mixed stems, every value in the params).
The stages run in synthaudio's fixed order, speed -> reverb -> noise -> channel effects (in
the channel registry's order); ``Compose`` rejects a list in another order instead of
silently reordering it. Nothing here holds random state: the caller passes a Generator.
Bad keywords raise a one-line :class:`~synthaudio.augment.config.AugmentConfigError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from pydantic import ValidationError

from synthaudio.augment.augmenter import Augmenter, AugmentParams, AugmentResult, RirBankLike
from synthaudio.augment.channel_effects import CHANNEL_EFFECTS
from synthaudio.augment.config import AugmentConfig as _AugmentConfig
from synthaudio.augment.config import AugmentConfigError, one_line_error
from synthaudio.augment.noise import NoiseFolder


class AugmentConfig(_AugmentConfig):
    """The ``augment:`` section, built from keywords: errors are one-line ConfigErrors.

    ``sa.AugmentConfig(noise={"probability": 1, "snr_db": (5, 20)})``.
    """

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise AugmentConfigError(one_line_error(exc, "AugmentConfig")) from None


def _config(where: str, data: dict[str, Any], strip: str = "") -> _AugmentConfig:
    try:
        return _AugmentConfig.model_validate(data)
    except ValidationError as exc:
        raise AugmentConfigError(one_line_error(exc, where, strip)) from None


class Transform:
    """One stage of the augmenter, with its probability ``p``; a Compose of one."""

    stage: ClassVar[str]  # "speed", "room", "noise" or "channel.<effect>"

    def __init__(self, p: float, **options: Any) -> None:
        self.p = p
        self.options = {"probability": p, **options}
        self._alone = Compose([self])  # validates the keywords now

    def section(self) -> dict[str, Any]:
        """This transform's part of the AugmentConfig, as a nested mapping."""
        *parents, leaf = self.stage.split(".")
        out: dict[str, Any] = {leaf: self.options}
        for parent in reversed(parents):
            out = {parent: out}
        return out

    def resources(self) -> dict[str, Any]:
        """Augmenter keywords this transform brings (an RIR bank, noise folders...)."""
        return {}

    def randomize_parameters(self, samples: np.ndarray, sample_rate: int,
                             rng: np.random.Generator) -> AugmentParams:
        return self._alone.randomize_parameters(samples, sample_rate, rng)

    def apply(self, samples: np.ndarray, sample_rate: int, params: AugmentParams) -> np.ndarray:
        return self._alone.apply(samples, sample_rate, params)

    def __call__(self, samples: np.ndarray, sample_rate: int, rng: np.random.Generator,
                 ) -> np.ndarray:
        return self._alone(samples, sample_rate, rng)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.options.items() if k != "probability")
        return f"{type(self).__name__}(p={self.p!r}{', ' if args else ''}{args})"


def _order() -> list[str]:
    return ["speed", "room", "noise",
            *(f"channel.{e.name}" for e in CHANNEL_EFFECTS.entries(plugins=False))]


class Compose:
    """Transforms merged into one Augmenter; sample, then apply, with frozen params.

    Args:
        transforms: in synthaudio's stage order (speed, reverb, noise, channel effects).
        keep_length: append no reverb tail, so the output is as long as the input
            (divided by the speed factor when Speed applies).
    """

    def __init__(self, transforms: Sequence[Transform], *, keep_length: bool = False) -> None:
        order = _order()
        stages = [t.stage for t in transforms]
        for a, b in zip(stages, stages[1:], strict=False):
            if order.index(a) >= order.index(b):
                raise AugmentConfigError(
                    f"Compose: {_name(b)} cannot come after {_name(a)} (stages run "
                    f"{' -> '.join(_name(s) for s in order)}, each once)")
        data: dict[str, Any] = {}
        resources: dict[str, Any] = {}
        for t in transforms:
            _merge(data, t.section())
            resources.update(t.resources())
        self.transforms = tuple(transforms)
        if len(transforms) == 1:  # a transform alone: its own keywords, no stage path
            t = transforms[0]
            self.config = _config(type(t).__name__, data, t.stage)
        else:
            self.config = _config("Compose", data)
        self.augmenter = Augmenter(self.config, keep_length=keep_length, **resources)

    def randomize_parameters(self, samples: np.ndarray, sample_rate: int,
                             rng: np.random.Generator) -> AugmentParams:
        """Draw every stage for ``samples`` (mono ``(n,)``): the frozen params record."""
        return self.augmenter.sample(rng, int(np.asarray(samples).shape[-1]), sample_rate)

    def apply(self, samples: np.ndarray, sample_rate: int, params: AugmentParams) -> np.ndarray:
        """Apply drawn ``params``: deterministic, no randomness."""
        return self.augmenter.apply(samples, sample_rate, params).audio

    def augment(self, samples: np.ndarray, sample_rate: int, rng: np.random.Generator,
                ) -> AugmentResult:
        """Sample and apply, returning everything: audio, params, stems, measured report."""
        return self.augmenter(samples, sample_rate, rng)

    def __call__(self, samples: np.ndarray, sample_rate: int, rng: np.random.Generator,
                 ) -> np.ndarray:
        return self.augment(samples, sample_rate, rng).audio

    def __repr__(self) -> str:
        return f"Compose({list(self.transforms)!r})"


def _name(stage: str) -> str:
    return _STAGE_NAMES.get(stage, stage)


def _merge(into: dict[str, Any], part: dict[str, Any]) -> None:
    for key, value in part.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


# --- the transforms --------------------------------------------------------------------------


class Speed(Transform):
    """Speed perturbation: ``factors`` (discrete, Kaldi's 0.9/1.0/1.1) or ``factor_range``."""

    stage = "speed"

    def __init__(self, p: float = 0.5, **options: Any) -> None:
        super().__init__(p, **options)


class Reverb(Transform):
    """Convolve with a room impulse response drawn from ``bank`` (an RirBank).

    Keywords as ``augment.room``: ``tail_s``, ``normalize_level``.
    """

    stage = "room"

    def __init__(self, bank: RirBankLike, p: float = 0.5, **options: Any) -> None:
        self.bank = bank
        super().__init__(p, **options)

    def resources(self) -> dict[str, Any]:
        return {"rir_bank": self.bank}


class AddNoise(Transform):
    """Background noise at an SNR drawn from ``snr_db`` (tuple, dB).

    Keywords as ``augment.noise``: ``kinds`` ({name: weight}, the noise kind registry),
    ``num_sources``, ``point_source_probability``... ``folders`` (NoiseFolder objects)
    and ``babble_pool`` (mono arrays) are the sources of the "folder" and "babble" kinds.
    """

    stage = "noise"

    def __init__(self, p: float = 0.5, *, folders: Sequence[NoiseFolder] = (),
                 babble_pool: Sequence[np.ndarray] | None = None, **options: Any) -> None:
        self.folders = tuple(folders)
        self.babble_pool = babble_pool
        if self.folders and "noise_dirs" not in options:
            options["noise_dirs"] = tuple(str(f.root) for f in self.folders)
        super().__init__(p, **options)

    def resources(self) -> dict[str, Any]:
        return {"noise_folders": self.folders, "babble_pool": self.babble_pool}


def _channel(effect: str, doc: str) -> type[Transform]:
    def __init__(self: Transform, p: float = 0.5, **options: Any) -> None:
        Transform.__init__(self, p, **options)

    name = "".join(part.capitalize() for part in effect.split("_"))
    return type(name, (Transform,), {"stage": f"channel.{effect}", "__init__": __init__,
                                     "__doc__": doc, "__module__": __name__})


Eq = _channel("eq", "Microphone colouration: ``num_bands`` biquads of ``gain_db``, ``q``.")
Clipping = _channel("clipping", "Hard clipping after driving the peak ``drive_db`` above 1.")
Gain = _channel("gain", "A level change drawn from ``gain_db``.")
BitDepth = _channel("bit_depth", "Quantization to ``bits`` (drawn from the range).")
BandLimit = _channel("band_limit", "Zero-phase band-pass with ``low_hz``/``high_hz`` cutoffs.")
Telephone = _channel("telephone", "The 300-3400 Hz telephone band.")
Resample = _channel("resample", "Down to one of ``rates_hz`` and back up.")
Codec = _channel("codec", "A lossy codec round trip: ``kinds`` of mulaw, alaw, mp3, opus.")
PacketLoss = _channel("packet_loss", "Dropped VoIP frames: ``loss_rate``, ``frame_ms``, "
                                     "``concealment``.")

_STAGE_NAMES = {"speed": "Speed", "room": "Reverb", "noise": "AddNoise",
                **{t.stage: t.__name__ for t in (Eq, Clipping, Gain, BitDepth, BandLimit,
                                                 Telephone, Resample, Codec, PacketLoss)}}

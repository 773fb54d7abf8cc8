"""The ``augment:`` section of ``corpus.yaml``: ranges and probabilities, validated when built.

Every model is frozen and forbids unknown keys. Ranges are ``[low, high]`` pairs named with
their unit; a value is drawn uniformly inside for each utterance. Every stage and every
channel effect has its own ``probability`` (0 = never, 1 = always). Paths are as written in
the YAML (relative to the config file); the corpus loader resolves them.

Example::

    augment:
      speed: {probability: 1.0, factors: [0.9, 1.0, 1.1]}
      room: {probability: 0.8, bank_size: 200, tail_s: 0.25, simulation: {...RoomConfig...}}
      noise:
        probability: 0.9
        snr_db: [5, 25]
        kinds: {pink: 1, babble: 1, music: 0.5, folder: 2}
        noise_dirs: [noise/musan]
        point_source_probability: 0.5
        num_sources: [1, 3]
      channel:
        codec: {probability: 0.3, kinds: {mulaw: 1, mp3: 1, opus: 1}}
        packet_loss: {probability: 0.05, loss_rate: [0.01, 0.1]}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, StrictInt, ValidationError, field_validator, model_validator

from synthaudio.augment.noise_kinds import NOISE_KINDS, default_kinds
from synthaudio.augment.room.config import RoomConfig
from synthaudio.configbase import (
    ConfigModel,
    check_range,
    first_error,
)
from synthaudio.errors import ConfigError

Range = tuple[float, float]
IntRange = tuple[int, int]

NoiseKind = str  # a name in the noise kind registry (synthaudio.augment.noise_kinds)
CodecKind = Literal["mulaw", "alaw", "mp3", "opus"]
Concealment = Literal["zero", "repeat"]

# Sources that need no resources: generated from a seed at apply time (the registry's
# default weights: white 0.5, pink 1, brown 1, blue 0.25, hum 0.5, music 0.5, impulsive 0.5).
DEFAULT_NOISE_KINDS: dict[NoiseKind, float] = default_kinds()
_DEFAULT_CODECS: dict[CodecKind, float] = {"mulaw": 1.0, "alaw": 1.0, "mp3": 1.0, "opus": 1.0}
_DEFAULT_CONCEALMENT: dict[Concealment, float] = {"zero": 1.0, "repeat": 1.0}
FOLDER_DEFAULT_WEIGHT = 3.0  # weight of "folder" when noise_dirs is set and kinds is not


def _check_weights(weights: Mapping[Any, float], name: str) -> None:
    if any(w < 0 for w in weights.values()):
        raise ValueError(f"{name}: weights must be >= 0, got {weights}")
    if sum(weights.values()) <= 0:
        raise ValueError(f"{name}: at least one weight must be > 0, got {weights}")


class AugmentConfigError(ConfigError, ValueError):
    """An augmentation config built with bad keywords: one line naming the key path.

    Also a ValueError, so that pydantic reports it under the enclosing field when one
    model is built inside another's validation.
    """


def one_line_error(exc: ValidationError, where: str = "", strip: str = "") -> str:
    """``where: key.path: message (and N more problems)`` from pydantic's first error;
    ``strip`` is a key path prefix left out (``"noise"``: ``snr_db``, not ``noise.snr_db``)."""
    loc, msg, more = first_error(exc)
    path = ".".join(str(p) for p in loc)
    if strip and (path == strip or path.startswith(strip + ".")):
        path = path[len(strip) + 1:]
    return ": ".join(x for x in (where, path, msg) if x) + more


_Model = ConfigModel


def _probability() -> Any:
    return Field(default=0.0, ge=0.0, le=1.0)  # 0 = never, 1 = always


class SpeedConfig(_Model):
    """Speed perturbation (resampling: tempo and pitch change together, like sox ``speed``)."""

    probability: float = _probability()
    factors: tuple[float, ...] = (0.9, 1.0, 1.1)  # discrete choice (Kaldi's convention)
    factor_range: Range | None = None  # if set: uniform draw in [low, high] instead of factors

    @model_validator(mode="after")
    def _ranges(self) -> SpeedConfig:
        if not self.factors:
            raise ValueError("factors: give at least one speed factor")
        bad = [f for f in self.factors if not 0.5 <= f <= 2.0]
        if bad:
            raise ValueError(f"factors: {bad} outside the allowed [0.5, 2.0]")
        if self.factor_range is not None:
            check_range(self.factor_range, "factor_range", 0.5, 2.0)
        return self


class RoomSection(_Model):
    """Reverberation with a room impulse response from the RIR bank."""

    probability: float = _probability()
    bank_size: StrictInt = Field(default=200, ge=1, le=100_000)  # rooms simulated for the bank
    measured_rirs: str | None = None  # folder of measured RIRs used instead of simulation
    tail_s: float = Field(default=0.25, ge=0.0, le=5.0)  # reverb tail kept after the speech
    normalize_level: bool = True  # scale reverberant speech to the dry speech's mean power
    simulation: RoomConfig = RoomConfig()  # room geometry, absorption and mic-array ranges


class NoiseConfig(_Model):
    """Background noise: 1..N sources summed into one noise stem, mixed at a drawn SNR."""

    probability: float = _probability()
    snr_db: Range = (5.0, 25.0)  # 10*log10(P_speech / P_noise), powers of the mixed stems
    kinds: dict[NoiseKind, float] = Field(default_factory=lambda: dict(DEFAULT_NOISE_KINDS))
    noise_dirs: tuple[str, ...] = ()  # folders of real noise (recursive wav/flac), kind "folder"
    point_source_probability: float = Field(default=0.5, ge=0.0, le=1.0)  # else diffuse
    num_sources: IntRange = (1, 2)  # sources per utterance
    relative_level_db: Range = (-12.0, 0.0)  # level of each extra source vs the first one
    coherence: Range = (0.0, 0.3)  # diffuse noise, K > 1 mics: correlation between channels
    hum_hz: tuple[float, ...] = (50.0, 60.0)  # mains frequencies for "hum"
    babble_talkers: IntRange = (3, 8)  # talkers summed for "babble"
    # noise_dirs files shorter than this are refused: a few samples looped are a tone
    min_file_s: float = Field(default=0.1, ge=0.0)

    @model_validator(mode="before")
    @classmethod
    def _folder_default(cls, data: Any) -> Any:
        # Setting noise_dirs alone should be enough to use them.
        if isinstance(data, dict) and data.get("noise_dirs") and "kinds" not in data:
            data = {**data, "kinds": {**DEFAULT_NOISE_KINDS, "folder": FOLDER_DEFAULT_WEIGHT}}
        return data

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, value: dict[str, float]) -> dict[str, float]:
        for name in value:  # noise kind registry hook
            if name not in NOISE_KINDS:
                raise ValueError(f"unknown noise kind {name!r}; known: "
                                 f"{', '.join(NOISE_KINDS.names())}")
        return value

    @model_validator(mode="after")
    def _ranges(self) -> NoiseConfig:
        check_range(self.snr_db, "snr_db", -20.0, 100.0)
        _check_weights(self.kinds, "kinds")
        check_range(self.num_sources, "num_sources", 1, 8)
        check_range(self.relative_level_db, "relative_level_db", -60.0, 20.0)
        check_range(self.coherence, "coherence", 0.0, 1.0)
        check_range(self.babble_talkers, "babble_talkers", 1, 32)
        if not self.hum_hz or any(not 16.0 <= f <= 400.0 for f in self.hum_hz):
            raise ValueError(f"hum_hz: give frequencies in [16, 400] Hz, got {list(self.hum_hz)}")
        if self.kinds.get("folder", 0.0) > 0 and not self.noise_dirs:
            raise ValueError("kinds.folder > 0 needs at least one folder in noise_dirs")
        if self.noise_dirs and self.kinds.get("folder", 0.0) <= 0:
            raise ValueError("noise_dirs is set but kinds.folder is 0 (give it a weight)")
        return self

    @property
    def mixes_babble(self) -> bool:
        """Whether babble is ever drawn: the run then needs a babble pool (synthetic
        speakers and prompts to say)."""
        return self.probability > 0 and self.kinds.get("babble", 0.0) > 0


class EqConfig(_Model):
    """Random microphone colouration: peaking and shelving biquads."""

    probability: float = _probability()
    num_bands: IntRange = (1, 3)
    gain_db: Range = (-8.0, 8.0)
    q: Range = (0.5, 2.0)  # peaking filters only

    @model_validator(mode="after")
    def _ranges(self) -> EqConfig:
        check_range(self.num_bands, "num_bands", 1, 8)
        check_range(self.gain_db, "gain_db", -24.0, 24.0)
        check_range(self.q, "q", 0.1, 10.0)
        return self


class ClippingConfig(_Model):
    """Hard clipping at full scale after driving the peak ``drive_db`` above it."""

    probability: float = _probability()
    drive_db: Range = (0.5, 9.0)

    @model_validator(mode="after")
    def _ranges(self) -> ClippingConfig:
        check_range(self.drive_db, "drive_db", 0.0, 40.0)
        return self


class GainConfig(_Model):
    probability: float = _probability()
    gain_db: Range = (-6.0, 0.0)

    @model_validator(mode="after")
    def _ranges(self) -> GainConfig:
        check_range(self.gain_db, "gain_db", -60.0, 24.0)
        return self


class BitDepthConfig(_Model):
    probability: float = _probability()
    bits: IntRange = (8, 12)

    @model_validator(mode="after")
    def _ranges(self) -> BitDepthConfig:
        check_range(self.bits, "bits", 2, 24)
        return self


class BandLimitConfig(_Model):
    """Butterworth band-pass with drawn cutoffs (zero phase)."""

    probability: float = _probability()
    low_hz: Range = (50.0, 300.0)
    high_hz: Range = (3000.0, 7000.0)
    order: StrictInt = Field(default=4, ge=1, le=10)

    @model_validator(mode="after")
    def _ranges(self) -> BandLimitConfig:
        check_range(self.low_hz, "low_hz", 0.0, 4000.0)
        check_range(self.high_hz, "high_hz", 500.0, 48000.0)
        if self.low_hz[1] >= self.high_hz[0]:
            raise ValueError(
                f"low_hz {list(self.low_hz)} must lie below high_hz {list(self.high_hz)}")
        return self


class TelephoneConfig(_Model):
    """Telephone band: 300-3400 Hz band-pass."""

    probability: float = _probability()


class ResampleConfig(_Model):
    """Down-sample to a drawn rate and back (loses the band above its Nyquist frequency)."""

    probability: float = _probability()
    rates_hz: tuple[int, ...] = (8000, 11025, 12000)

    @model_validator(mode="after")
    def _ranges(self) -> ResampleConfig:
        if not self.rates_hz or any(not 1000 <= r <= 192000 for r in self.rates_hz):
            raise ValueError(f"rates_hz: give rates in [1000, 192000], got {list(self.rates_hz)}")
        return self


class CodecConfig(_Model):
    """Lossy codecs: G.711 mu-law/A-law, MP3 and Opus (libsndfile, in memory)."""

    probability: float = _probability()
    kinds: dict[CodecKind, float] = Field(default_factory=lambda: dict(_DEFAULT_CODECS))
    mp3_compression: Range = (0.0, 0.99)  # libsndfile level: 0 = best quality, 0.99 ~ lowest rate
    opus_compression: Range = (0.8, 0.99)  # 0.8 ~ 60 kbit/s, 0.99 ~ 9 kbit/s

    @model_validator(mode="after")
    def _ranges(self) -> CodecConfig:
        _check_weights(self.kinds, "kinds")
        check_range(self.mp3_compression, "mp3_compression", 0.0, 0.99)
        check_range(self.opus_compression, "opus_compression", 0.0, 0.99)
        return self


class PacketLossConfig(_Model):
    """Dropped frames, as on a VoIP link: zero-filled or concealed by repetition."""

    probability: float = _probability()
    loss_rate: Range = (0.01, 0.1)  # fraction of frames dropped
    frame_ms: Range = (10.0, 40.0)
    concealment: dict[Concealment, float] = Field(
        default_factory=lambda: dict(_DEFAULT_CONCEALMENT))

    @model_validator(mode="after")
    def _ranges(self) -> PacketLossConfig:
        check_range(self.loss_rate, "loss_rate", 0.0, 0.9)
        check_range(self.frame_ms, "frame_ms", 2.5, 200.0)
        _check_weights(self.concealment, "concealment")
        return self


class ChannelConfig(_Model):
    """Recording and transmission channel; effects apply in the order of the fields."""

    eq: EqConfig = EqConfig()
    clipping: ClippingConfig = ClippingConfig()
    gain: GainConfig = GainConfig()
    bit_depth: BitDepthConfig = BitDepthConfig()
    band_limit: BandLimitConfig = BandLimitConfig()
    telephone: TelephoneConfig = TelephoneConfig()
    resample: ResampleConfig = ResampleConfig()
    codec: CodecConfig = CodecConfig()
    packet_loss: PacketLossConfig = PacketLossConfig()


class AugmentConfig(_Model):
    """The ``augment:`` section. Stages run speed -> room -> noise -> channel."""

    speed: SpeedConfig = SpeedConfig()
    room: RoomSection = RoomSection()
    noise: NoiseConfig = NoiseConfig()
    channel: ChannelConfig = ChannelConfig()

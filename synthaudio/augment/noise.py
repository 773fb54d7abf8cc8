"""Background noise: sources, one noise stem per utterance, and mixing at an SNR.

Arrays are float32, mono ``(n_samples,)`` or multichannel ``(n_channels, n_samples)``.
``sample_noise`` draws every choice into a frozen ``NoiseParams`` record. Rendering a source
is a deterministic function of its record: procedural signals are generated from the seed
stored in it, recorded noise is read from a ``NoiseFolder`` (the only I/O here), babble comes
from the caller's clip pool. ``mix_at_snr`` is pure.

SNR is defined once: ``snr_db = 10*log10(P_speech / P_noise)`` with ``P`` the mean power of
the speech stem and of the noise stem exactly as they are summed, over all channels.

Each noise kind is one module (``noise_colored``, ``noise_hum``, ``noise_music``,
``noise_impulsive``, ``noise_babble``, ``noise_folder``, ``noise_hvac``), registered in
:mod:`.noise_kinds`; this module keeps the stage's records, its sampler and renderer
(through the kind registry), the folder reader and the mixing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.fft
import scipy.signal
import soundfile as sf
import soxr

from synthaudio.augment.checks import check_audio
from synthaudio.augment.config import NoiseConfig
from synthaudio.augment.noise_babble import BabbleTalker
from synthaudio.augment.noise_kinds import MISSING, NOISE_KINDS, Resources, SampleContext
from synthaudio.augment.noise_sources import _unit_power, mean_power
from synthaudio.errors import ConfigKeyError, InputError
from synthaudio.io.fileio import audio_files_under

POINT_PREROLL_S = 0.5  # point sources start this early, so the room's reverb has built up
_SEED_MAX = 2**63 - 1


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return value


# --- recorded noise ----------------------------------------------------------------------


@dataclass(frozen=True)
class NoiseFile:
    path: str  # relative to the folder root, '/' separators
    frames: int
    sample_rate: int
    channels: int


class NoiseFolder:
    """A folder of recorded noise files (MUSAN style, recursive .wav/.flac).

    Building it reads only the file headers; ``read`` loads just the frames it needs and
    opens and closes the file each time (no handle is kept, so the object pickles).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise InputError(f"{self.root}: noise folder not found")
        files = [NoiseFile(path.relative_to(self.root).as_posix(), int(info.frames),
                           int(info.samplerate), int(info.channels))
                 for path, info in audio_files_under(self.root)]
        if not files:
            raise InputError(f"{self.root}: no .wav or .flac files in this noise folder")
        self.files: tuple[NoiseFile, ...] = tuple(files)
        self._index = {f.path: i for i, f in enumerate(files)}

    def __len__(self) -> int:
        return len(self.files)

    def __repr__(self) -> str:
        return f"NoiseFolder({str(self.root)!r}, files={len(self.files)})"

    def frames_needed(self, file: NoiseFile, num_samples: int, sample_rate: int) -> int:
        """Frames of ``file`` making ``num_samples`` at ``sample_rate`` (plus resampler margin)."""
        if file.sample_rate == sample_rate:
            return num_samples
        return math.ceil(num_samples * file.sample_rate / sample_rate) + 16

    def read(self, path: str, start_frame: int, num_samples: int, sample_rate: int) -> np.ndarray:
        """Mono float32 ``(num_samples,)`` at ``sample_rate`` from ``start_frame`` (file's rate).

        A file shorter than needed is looped. Channels are averaged.
        """
        try:
            file = self.files[self._index[path]]
        except KeyError:
            raise InputError(f"{self.root}: no noise file {path!r} in this folder") from None
        full = self.root / path
        need = self.frames_needed(file, num_samples, sample_rate)
        try:
            if start_frame + need <= file.frames:
                data, _ = sf.read(str(full), frames=need, start=start_frame, dtype="float32",
                                  always_2d=True)
            else:  # loop a short file
                data, _ = sf.read(str(full), dtype="float32", always_2d=True)
                data = data[(start_frame + np.arange(need)) % max(1, data.shape[0])]
        except (RuntimeError, OSError):
            raise InputError(f"{full}: not a readable audio file") from None
        if data.shape[0] == 0:
            raise InputError(f"{full}: empty audio file (0 frames)")
        mono = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1)
        if not np.all(np.isfinite(mono)):
            raise InputError(f"{full}: contains NaN or infinite samples")
        if not np.any(mono) and is_all_zero(full):  # no noise can be mixed at an SNR
            raise InputError(f"{full}: noise file is all zeros (silent); remove it from the folder")
        if file.sample_rate != sample_rate:
            mono = soxr.resample(mono, file.sample_rate, sample_rate)
        return _fit_length(np.asarray(mono, dtype=np.float32), num_samples)


def is_all_zero(path: Path) -> bool:
    """Whether every sample of the audio file is 0 (read in blocks; stops at the first
    non-zero block)."""
    for block in sf.blocks(str(path), blocksize=1 << 16, dtype="float32", always_2d=True):
        if np.any(block):
            return False
    return True


def _fit_length(x: np.ndarray, num_samples: int) -> np.ndarray:
    """Trim or zero-pad the last axis to ``num_samples``."""
    have = x.shape[-1]
    if have >= num_samples:
        return x[..., :num_samples]
    pad = [(0, 0)] * (x.ndim - 1) + [(0, num_samples - have)]
    return np.pad(x, pad)


# --- params: sample, render, mix ---------------------------------------------------------


@dataclass(frozen=True)
class NoiseSourceParams:
    kind: str  # a name of the noise kind registry (synthaudio.augment.noise_kinds)
    level_db: float  # level in the stem; each source is first rendered at unit mean power
    placement: str  # "diffuse" (at the mics) or "point" (through the room's noise RIR)
    seed: int  # seeds the procedural signal and the per-channel variants
    coherence: float  # diffuse with K > 1 mics: correlation between the channels
    preroll: int = 0  # point sources: samples rendered before the output starts
    hum_hz: float | None = None  # hum: mains frequency
    folder: int | None = None  # folder: index into the noise folders
    path: str | None = None  # folder: file path relative to that folder
    start_frame: int | None = None  # folder: first frame read, at the file's own rate
    talkers: tuple[BabbleTalker, ...] | None = None  # babble
    options: dict[str, float] | None = None  # drawn values of registered kinds (e.g. hvac)

    def to_dict(self) -> dict[str, Any]:
        return {k: _jsonable(v) for k, v in self.__dict__.items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NoiseSourceParams:
        """Inverse of ``to_dict`` (does not modify ``data``)."""

        def opt(key: str, kind: type) -> Any:
            value = data.get(key)
            return None if value is None else kind(value)

        talkers = data.get("talkers")
        return cls(
            kind=str(data["kind"]), level_db=float(data["level_db"]),
            placement=str(data["placement"]), seed=int(data["seed"]),
            coherence=float(data["coherence"]), preroll=int(data.get("preroll", 0)),
            hum_hz=opt("hum_hz", float), folder=opt("folder", int), path=opt("path", str),
            start_frame=opt("start_frame", int),
            talkers=None if talkers is None else tuple(BabbleTalker.from_dict(t) for t in talkers),
            options=None if data.get("options") is None else {
                str(k): float(v) for k, v in data["options"].items()},
        )


@dataclass(frozen=True)
class NoiseParams:
    snr_db: float  # 10*log10(P_speech / P_noise) of the mixed stems
    num_samples: int  # length of the noise stem
    sources: tuple[NoiseSourceParams, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"snr_db": self.snr_db, "num_samples": self.num_samples,
                "sources": [s.to_dict() for s in self.sources]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NoiseParams:
        return cls(float(data["snr_db"]), int(data["num_samples"]),
                   tuple(NoiseSourceParams.from_dict(s) for s in data["sources"]))


def check_noise_resources(cfg: NoiseConfig, num_folders: int, babble_pool_size: int) -> None:
    """Raise ConfigError when a kind with weight > 0 lacks what it needs."""
    have = {"babble_pool": babble_pool_size > 0, "noise_folders": num_folders > 0}
    for resource in MISSING:  # babble first, then folders
        for name, weight in cfg.kinds.items():
            if weight > 0 and NOISE_KINDS.get(name).needs == resource and not have[resource]:
                raise ConfigKeyError(f"augment.noise.kinds.{name} > 0 but {MISSING[resource]}")


def sample_noise(cfg: NoiseConfig, rng: np.random.Generator, *, num_samples: int,
                 sample_rate: int, point_source_ok: bool = False,
                 folders: Sequence[NoiseFolder] = (), babble_lengths: Sequence[int] = (),
                 ) -> NoiseParams:
    """Draw the SNR and 1..N sources for a noise stem of ``num_samples``.

    ``point_source_ok``: a room is applied, so sources may be placed in it.
    ``babble_lengths``: length in samples of each clip of the babble pool.
    """
    check_noise_resources(cfg, len(folders), len(babble_lengths))
    kinds = [k for k, w in cfg.kinds.items() if w > 0]
    weights = np.array([cfg.kinds[k] for k in kinds], dtype=np.float64)
    snr_db = float(rng.uniform(*cfg.snr_db))
    count = int(rng.integers(cfg.num_sources[0], cfg.num_sources[1] + 1))
    preroll_point = round(POINT_PREROLL_S * sample_rate)
    sources = []
    for i in range(count):
        kind = kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))]
        level_db = 0.0 if i == 0 else float(rng.uniform(*cfg.relative_level_db))
        point = point_source_ok and rng.random() < cfg.point_source_probability
        length = num_samples + (preroll_point if point else 0)
        extra = NOISE_KINDS.get(kind).draw(  # the kind's own parameters (registry hook)
            cfg, rng, SampleContext(length, sample_rate, folders, babble_lengths))
        sources.append(NoiseSourceParams(
            kind=kind, level_db=level_db, placement="point" if point else "diffuse",
            seed=int(rng.integers(_SEED_MAX)), coherence=float(rng.uniform(*cfg.coherence)),
            preroll=preroll_point if point else 0, **extra))
    return NoiseParams(snr_db=snr_db, num_samples=num_samples, sources=tuple(sources))


def sample_folder_file(folders: Sequence[NoiseFolder], rng: np.random.Generator,
                        num_samples: int, sample_rate: int) -> dict[str, Any]:
    sizes = np.array([len(f) for f in folders])
    pick = int(rng.integers(int(sizes.sum())))
    folder = int(np.searchsorted(np.cumsum(sizes), pick, side="right"))
    file = folders[folder].files[pick - int(sizes[:folder].sum())]
    need = folders[folder].frames_needed(file, num_samples, sample_rate)
    start = int(rng.integers(file.frames - need + 1)) if file.frames > need else int(
        rng.integers(file.frames))
    return {"folder": folder, "path": file.path, "start_frame": start}


def _render_mono(src: NoiseSourceParams, num_samples: int, sample_rate: int,
                 rng: np.random.Generator, folders: Sequence[NoiseFolder],
                 babble_pool: Sequence[np.ndarray] | None) -> np.ndarray:
    kind = NOISE_KINDS.find(src.kind)
    if kind is None:
        raise ValueError(f"unknown noise kind {src.kind!r}; expected one of "
                         f"{NOISE_KINDS.names()}")
    return kind.make(src, num_samples, sample_rate, rng, Resources(folders, babble_pool))




















# (mono (n,), num_out) -> (K, num_out): the noise RIR's convolution, the first num_out samples
Convolve = Callable[[np.ndarray, int], np.ndarray]


def render_source(src: NoiseSourceParams, num_samples: int, sample_rate: int,
                  num_channels: int = 1, *, noise_rir: np.ndarray | None = None,
                  folders: Sequence[NoiseFolder] = (),
                  babble_pool: Sequence[np.ndarray] | None = None,
                  normalize: bool = True, convolve: Convolve | None = None) -> np.ndarray:
    """One source as heard at the mics, ``(num_channels, num_samples)``, unit mean power.

    ``normalize=False`` skips the final scaling to unit power (a lone source is scaled to
    the SNR anyway).

    Point sources are convolved with ``noise_rir`` ``(K, m)`` after a pre-roll (by
    ``convolve`` when given: the Augmenter's FFT convolution with cached RIR spectra). Diffuse
    sources get one variant per channel, mixed as ``sqrt(c)*common + sqrt(1-c)*own``:
    independent renders for procedural kinds, time-shifted copies for recorded ones.
    """
    if src.placement == "point":
        if noise_rir is None or noise_rir.ndim != 2 or noise_rir.shape[0] != num_channels:
            raise ValueError(f"point noise needs a noise RIR of shape ({num_channels}, m)")
        length = num_samples + src.preroll
        mono = _render_mono(src, length, sample_rate, np.random.default_rng([src.seed, 0]),
                            folders, babble_pool)
        if convolve is not None:
            wet = convolve(mono, length)
        else:
            wet = scipy.signal.oaconvolve(mono[None, :],
                                          noise_rir.astype(np.float32, copy=False), axes=-1)
        wet = _fit_length(wet[:, src.preroll:], num_samples)
        return _unit_power(wet) if normalize else wet.astype(np.float32, copy=False)
    common = _render_mono(src, num_samples, sample_rate, np.random.default_rng([src.seed, 0]),
                          folders, babble_pool)
    if num_channels == 1:
        return (_unit_power(common) if normalize else common)[None, :]
    out = np.empty((num_channels, num_samples), dtype=np.float32)
    c = float(np.clip(src.coherence, 0.0, 1.0))
    for k in range(num_channels):
        rng = np.random.default_rng([src.seed, k + 1])
        if NOISE_KINDS.get(src.kind).procedural:
            own = _render_mono(src, num_samples, sample_rate, rng, folders, babble_pool)
        else:
            own = np.roll(common, int(rng.integers(num_samples // 4, 3 * num_samples // 4 + 1)))
        out[k] = math.sqrt(c) * common + math.sqrt(1.0 - c) * own
    return _unit_power(out) if normalize else out


def render_noise(params: NoiseParams, sample_rate: int, num_channels: int = 1, *,
                 noise_rir: np.ndarray | None = None, folders: Sequence[NoiseFolder] = (),
                 babble_pool: Sequence[np.ndarray] | None = None,
                 convolve: Convolve | None = None) -> np.ndarray:
    """The noise stem before SNR scaling: sum of the sources at their levels, ``(K, n)``.

    Each source is at unit mean power times its level; a lone source is left unscaled.
    """
    if len(params.sources) == 1 and params.sources[0].level_db == 0.0:
        return render_source(params.sources[0], params.num_samples, sample_rate, num_channels,
                             noise_rir=noise_rir, folders=folders, babble_pool=babble_pool,
                             normalize=False, convolve=convolve)  # the SNR sets its level
    stem = np.zeros((num_channels, params.num_samples), dtype=np.float32)
    for src in params.sources:
        x = render_source(src, params.num_samples, sample_rate, num_channels,
                          noise_rir=noise_rir, folders=folders, babble_pool=babble_pool,
                          convolve=convolve)
        stem += np.float32(10 ** (src.level_db / 20)) * x
    return stem


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float,
               ) -> tuple[np.ndarray, np.ndarray]:
    """Scale ``noise`` to ``snr_db`` against ``speech``; return ``(speech, scaled_noise)``.

    ``scaled_noise = noise * sqrt(P_s / (P_n * 10**(snr_db / 10)))`` where ``P_x`` is the
    mean of ``x**2`` over all channels and samples, so that
    ``10*log10(P_s / P(scaled_noise)) == snr_db``. The mix is ``speech + scaled_noise``.

    Args:
        speech: ``(n,)`` or ``(K, n)``.
        noise: same shape as ``speech``.
        snr_db: target signal-to-noise ratio in dB.

    Raises:
        ValueError: an array is not a non-empty finite float array, shapes differ,
            ``snr_db`` is not finite, or speech or noise is silent.
    """
    check_audio(speech, "speech")
    check_audio(noise, "noise")
    if speech.shape != noise.shape:
        raise ValueError(f"speech {speech.shape} and noise {noise.shape} must have the same shape")
    if isinstance(snr_db, bool) or not isinstance(snr_db, int | float | np.number) \
            or not math.isfinite(snr_db):
        raise ValueError(f"snr_db must be finite, got {snr_db}")
    p_speech, p_noise = mean_power(speech), mean_power(noise)
    if p_noise <= 0.0:
        raise ValueError("noise is silent (zero power): no SNR can be reached")
    if p_speech <= 0.0:
        raise ValueError("speech is silent (zero power): the SNR is undefined")
    scale = math.sqrt(p_speech / (p_noise * 10 ** (snr_db / 10)))
    scaled = noise.astype(np.float32, copy=False) * np.float32(scale)
    return speech.astype(np.float32, copy=False), scaled


def measure_snr_db(speech: np.ndarray, noise: np.ndarray) -> float:
    """``10*log10(P_speech / P_noise)`` over all channels and samples (inf for silent noise)."""
    if speech.shape != noise.shape:
        raise ValueError(f"speech {speech.shape} and noise {noise.shape} must have the same shape")
    p_speech, p_noise = mean_power(speech), mean_power(noise)
    if p_noise <= 0.0:
        return math.inf
    if p_speech <= 0.0:
        return -math.inf
    return 10.0 * math.log10(p_speech / p_noise)


def babble_lengths(pool: Sequence[np.ndarray] | None) -> list[int]:
    """Lengths of the pool's clips; ValueError unless each is a finite, non-silent 1-D array."""
    lengths = []
    for i, clip in enumerate(pool or ()):
        arr = np.asarray(clip)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"babble_pool[{i}]: expected a non-empty 1-D array, got {arr.shape}")
        if not np.all(np.isfinite(arr)) or not np.any(arr):
            raise ValueError(f"babble_pool[{i}]: contains NaN/inf or is silent")
        lengths.append(int(arr.size))
    return lengths


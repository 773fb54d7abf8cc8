"""Background noise: sources, one noise stem per utterance, and mixing at an SNR.

Arrays are float32, mono ``(n_samples,)`` or multichannel ``(n_channels, n_samples)``.
``sample_noise`` draws every choice into a frozen ``NoiseParams`` record. Rendering a source
is a deterministic function of its record: procedural signals are generated from the seed
stored in it, recorded noise is read from a ``NoiseFolder`` (the only I/O here), babble comes
from the caller's clip pool. ``mix_at_snr`` is pure.

SNR is defined once: ``snr_db = 10*log10(P_speech / P_noise)`` with ``P`` the mean power of
the speech stem and of the noise stem exactly as they are summed, over all channels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import numpy as np
import scipy.fft
import scipy.signal
import soundfile as sf
import soxr

from synthaudio.augment.checks import check_audio
from synthaudio.augment.config import NoiseConfig, NoiseKind
from synthaudio.errors import ConfigError, InputError
from synthaudio.fileio import check_wav_complete

NOISE_KINDS: tuple[str, ...] = get_args(NoiseKind)
PROCEDURAL_KINDS = frozenset({"white", "pink", "brown", "blue", "hum", "music", "impulsive"})
AUDIO_SUFFIXES = (".wav", ".flac")
POINT_PREROLL_S = 0.5  # point sources start this early, so the room's reverb has built up
_COLOR_EXPONENT = {"white": 0.0, "pink": -1.0, "brown": -2.0, "blue": 1.0}  # PSD ~ f**exponent
_COLOR_FLOOR_HZ = 20.0  # spectrum flat below this, so brown noise does not drift without bound
_SEED_MAX = 2**63 - 1


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return value


def mean_power(x: np.ndarray) -> float:
    """Mean of ``x**2`` over all samples, summed in float64 over 64k-sample chunks.

    numpy's own pairwise sum, not a BLAS dot product: BLAS sums in an order that depends on
    its thread count, which would make the mixed bytes depend on the machine's settings."""
    flat = np.ravel(x)
    if flat.size == 0:
        return 0.0
    total = 0.0
    for start in range(0, flat.size, 1 << 16):
        chunk = flat[start:start + (1 << 16)]
        total += float(np.sum(np.square(chunk, dtype=np.float64)))
    return total / flat.size


def _unit_power(x: np.ndarray) -> np.ndarray:
    """Scale ``x`` to mean power 1 over all its samples (a silent input is returned as is)."""
    x = x.astype(np.float32, copy=False)
    power = mean_power(x)
    if power <= 0.0:
        return x
    return x * np.float32(1.0 / math.sqrt(power))


# --- procedural sources ------------------------------------------------------------------


def colored_noise(color: str, num_samples: int, sample_rate: int, rng: np.random.Generator,
                  ) -> np.ndarray:
    """Gaussian noise with power spectral density ~ f**a, unit RMS, shape (num_samples,).

    a = 0 white, -1 pink (-3.01 dB/octave), -2 brown (-6.02 dB/octave), +1 blue
    (+3.01 dB/octave). The spectrum is flat below 20 Hz and has no DC.
    """
    white = rng.standard_normal(num_samples, dtype=np.float32)
    exponent = _COLOR_EXPONENT[color]
    if exponent == 0.0:
        return _unit_power(white)
    spectrum = scipy.fft.rfft(white)
    freqs = np.maximum(np.fft.rfftfreq(num_samples, 1.0 / sample_rate), _COLOR_FLOOR_HZ)
    spectrum *= (freqs ** (exponent / 2.0)).astype(np.float32)
    spectrum[0] = 0.0
    return _unit_power(scipy.fft.irfft(spectrum, n=num_samples))


def mains_hum(num_samples: int, sample_rate: int, base_hz: float, rng: np.random.Generator,
              ) -> np.ndarray:
    """Mains hum: ``base_hz`` (50 or 60 Hz) and its harmonics below 0.45*sample_rate, unit RMS."""
    count = max(1, min(12, int(0.45 * sample_rate // base_hz)))
    harmonics = np.arange(1, count + 1)
    amps = harmonics ** -rng.uniform(0.5, 1.5) * 10 ** (rng.uniform(-9.0, 3.0, count) / 20)
    phases = rng.uniform(0.0, 2 * np.pi, count)
    freq = base_hz * (1.0 + rng.uniform(-0.002, 0.002))  # the grid frequency is never exact
    t = np.arange(num_samples) / sample_rate
    out = np.zeros(num_samples)
    for k, amp, phase in zip(harmonics, amps, phases, strict=True):
        out += amp * np.sin(2 * np.pi * k * freq * t + phase)
    wobble_hz = rng.uniform(0.05, 0.5)
    out *= 1.0 + 0.1 * np.sin(2 * np.pi * wobble_hz * t + rng.uniform(0, 2 * np.pi))
    return _unit_power(out)


_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_MINOR = (0, 2, 3, 5, 7, 8, 10)


def music_bed(num_samples: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """A tonal music-like bed: chords of harmonic tones with attack/decay envelopes, unit RMS."""
    out = np.zeros(num_samples, dtype=np.float32)
    scale = _MAJOR if rng.random() < 0.5 else _MINOR
    key = int(rng.integers(45, 58))  # MIDI note of the tonic
    start = 0
    while start < num_samples:
        step_s = rng.uniform(0.3, 1.5)
        ring = min(int((step_s + rng.uniform(0.2, 0.8)) * sample_rate), num_samples - start)
        degree = int(rng.integers(0, 7))
        notes = [key + 12 * ((degree + i) // 7) + scale[(degree + i) % 7] for i in (0, 2, 4)]
        notes.append(notes[0] - 12)  # bass
        if rng.random() < 0.3:
            notes.append(key + 12 + scale[(degree + 6) % 7])  # a seventh-ish colour
        partial_f, partial_a = [], []
        for note in notes:
            f0 = 440.0 * 2 ** ((note - 69) / 12)
            for h in range(1, 6):
                if f0 * h < 0.45 * sample_rate:
                    partial_f.append(f0 * h)
                    partial_a.append(rng.uniform(0.5, 1.0) / h**1.5)
        t = np.arange(ring, dtype=np.float32) / np.float32(sample_rate)
        phases = rng.uniform(0, 2 * np.pi, len(partial_f)).astype(np.float32)
        arg = np.outer(2 * np.pi * np.asarray(partial_f, np.float32), t) + phases[:, None]
        # an explicit sum, not a BLAS product (its thread count would change the bytes)
        tone = np.sum(np.asarray(partial_a, np.float32)[:, None] * np.sin(arg), axis=0)
        attack, decay = rng.uniform(0.005, 0.06), rng.uniform(0.3, 1.5)
        env = (1.0 - np.exp(-t / attack)) * np.exp(-t / decay)
        out[start:start + ring] += rng.uniform(0.5, 1.0) * env * tone
        start += int(step_s * sample_rate)
    return _unit_power(out)


def impulsive_events(num_samples: int, sample_rate: int, rng: np.random.Generator,
                     ) -> np.ndarray:
    """Short events at random times (clicks, knocks, door-slam-like bursts), unit RMS overall."""
    out = np.zeros(num_samples, dtype=np.float32)
    rate_hz = rng.uniform(0.3, 2.0)
    count = max(1, int(rng.poisson(rate_hz * num_samples / sample_rate)))
    for _ in range(count):
        at = int(rng.integers(0, num_samples))
        kind = int(rng.integers(0, 3))
        if kind == 0:  # click: ~1 ms broadband
            t = np.arange(int(0.004 * sample_rate)) / sample_rate
            burst = rng.standard_normal(t.size) * np.exp(-t / 5e-4)
        elif kind == 1:  # knock: damped low resonance plus a short transient
            t = np.arange(int(0.2 * sample_rate)) / sample_rate
            decay = np.exp(-t / rng.uniform(0.01, 0.05))
            burst = np.sin(2 * np.pi * rng.uniform(80, 400) * t) * decay
            burst += 0.3 * rng.standard_normal(t.size) * np.exp(-t / 0.002)
        else:  # slam: low-passed noise burst with a thump
            t = np.arange(int(0.7 * sample_rate)) / sample_rate
            pole = math.exp(-2 * math.pi * rng.uniform(150, 800) / sample_rate)
            noise = scipy.signal.lfilter([1 - pole], [1, -pole], rng.standard_normal(t.size))
            tau = rng.uniform(0.05, 0.2)
            burst = noise / (np.max(np.abs(noise)) + 1e-12) * np.exp(-t / tau)
            burst += np.sin(2 * np.pi * rng.uniform(40, 80) * t) * np.exp(-t / (tau / 2))
        burst *= 10 ** (rng.uniform(-10, 0) / 20) / (np.max(np.abs(burst)) + 1e-12)
        end = min(num_samples, at + burst.size)
        out[at:end] += burst[: end - at].astype(np.float32)
    return _unit_power(out)


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
    positions = np.arange(num_samples)
    for talker in talkers:
        clip = np.asarray(pool[talker.clip], dtype=np.float32)
        clip = _unit_power(clip) * np.float32(10 ** (talker.gain_db / 20))
        out += clip[(positions + talker.offset) % clip.size]
    return _unit_power(out)


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
        files: list[NoiseFile] = []
        for path in sorted(self.root.rglob("*")):
            if path.suffix.lower() not in AUDIO_SUFFIXES or not path.is_file():
                continue
            if path.suffix.lower() == ".wav":
                check_wav_complete(path)
            try:
                info = sf.info(str(path))
            except (RuntimeError, OSError):
                raise InputError(f"{path}: not a readable audio file") from None
            if info.frames <= 0:
                raise InputError(f"{path}: empty audio file (0 frames)")
            rel = path.relative_to(self.root).as_posix()
            files.append(NoiseFile(rel, int(info.frames), int(info.samplerate), int(info.channels)))
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
        if not np.any(mono) and _is_all_zero(full):  # no noise can be mixed at an SNR
            raise InputError(f"{full}: noise file is all zeros (silent); remove it from the folder")
        if file.sample_rate != sample_rate:
            mono = soxr.resample(mono, file.sample_rate, sample_rate)
        return _fit_length(np.asarray(mono, dtype=np.float32), num_samples)


def _is_all_zero(path: Path) -> bool:
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
    kind: str  # one of NOISE_KINDS
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
    if cfg.kinds.get("babble", 0.0) > 0 and babble_pool_size == 0:
        raise ConfigError("augment.noise.kinds.babble > 0 but no babble pool of speech clips "
                          "was given")
    if cfg.kinds.get("folder", 0.0) > 0 and num_folders == 0:
        raise ConfigError("augment.noise.kinds.folder > 0 but no noise folder was loaded "
                          "(augment.noise.noise_dirs)")


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
        extra: dict[str, Any] = {}
        length = num_samples + (preroll_point if point else 0)
        if kind == "hum":
            extra["hum_hz"] = float(cfg.hum_hz[int(rng.integers(len(cfg.hum_hz)))])
        elif kind == "babble":
            talkers = int(rng.integers(cfg.babble_talkers[0], cfg.babble_talkers[1] + 1))
            picks = []
            for _ in range(talkers):
                clip = int(rng.integers(len(babble_lengths)))
                picks.append(BabbleTalker(clip, int(rng.integers(babble_lengths[clip])),
                                          float(rng.uniform(-6.0, 0.0))))
            extra["talkers"] = tuple(picks)
        elif kind == "folder":
            extra.update(_sample_folder_file(folders, rng, length, sample_rate))
        sources.append(NoiseSourceParams(
            kind=kind, level_db=level_db, placement="point" if point else "diffuse",
            seed=int(rng.integers(_SEED_MAX)), coherence=float(rng.uniform(*cfg.coherence)),
            preroll=preroll_point if point else 0, **extra))
    return NoiseParams(snr_db=snr_db, num_samples=num_samples, sources=tuple(sources))


def _sample_folder_file(folders: Sequence[NoiseFolder], rng: np.random.Generator,
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
    kind = src.kind
    if kind in _COLOR_EXPONENT:
        return colored_noise(kind, num_samples, sample_rate, rng)
    if kind == "hum":
        return mains_hum(num_samples, sample_rate, float(src.hum_hz or 50.0), rng)
    if kind == "music":
        return music_bed(num_samples, sample_rate, rng)
    if kind == "impulsive":
        return impulsive_events(num_samples, sample_rate, rng)
    if kind == "babble":
        if babble_pool is None or src.talkers is None:
            raise ValueError("babble noise needs the babble pool it was sampled with")
        return babble(babble_pool, src.talkers, num_samples)
    if kind == "folder":
        if src.folder is None or src.path is None or src.folder >= len(folders):
            raise ValueError(f"folder noise {src.path!r} needs the folder it was sampled from")
        mono = folders[src.folder].read(src.path, int(src.start_frame or 0), num_samples,
                                        sample_rate)
        return mono
    raise ValueError(f"unknown noise kind {kind!r}; expected one of {NOISE_KINDS}")


def render_source(src: NoiseSourceParams, num_samples: int, sample_rate: int,
                  num_channels: int = 1, *, noise_rir: np.ndarray | None = None,
                  folders: Sequence[NoiseFolder] = (),
                  babble_pool: Sequence[np.ndarray] | None = None,
                  normalize: bool = True) -> np.ndarray:
    """One source as heard at the mics, ``(num_channels, num_samples)``, unit mean power.

    ``normalize=False`` skips the final scaling to unit power (a lone source is scaled to
    the SNR anyway).

    Point sources are convolved with ``noise_rir`` ``(K, m)`` after a pre-roll. Diffuse
    sources get one variant per channel, mixed as ``sqrt(c)*common + sqrt(1-c)*own``:
    independent renders for procedural kinds, time-shifted copies for recorded ones.
    """
    if src.placement == "point":
        if noise_rir is None or noise_rir.ndim != 2 or noise_rir.shape[0] != num_channels:
            raise ValueError(f"point noise needs a noise RIR of shape ({num_channels}, m)")
        length = num_samples + src.preroll
        mono = _render_mono(src, length, sample_rate, np.random.default_rng([src.seed, 0]),
                            folders, babble_pool)
        wet = scipy.signal.oaconvolve(mono[None, :], noise_rir.astype(np.float32, copy=False),
                                      axes=-1)
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
        if src.kind in PROCEDURAL_KINDS:
            own = _render_mono(src, num_samples, sample_rate, rng, folders, babble_pool)
        else:
            own = np.roll(common, int(rng.integers(num_samples // 4, 3 * num_samples // 4 + 1)))
        out[k] = math.sqrt(c) * common + math.sqrt(1.0 - c) * own
    return _unit_power(out) if normalize else out


def render_noise(params: NoiseParams, sample_rate: int, num_channels: int = 1, *,
                 noise_rir: np.ndarray | None = None, folders: Sequence[NoiseFolder] = (),
                 babble_pool: Sequence[np.ndarray] | None = None) -> np.ndarray:
    """The noise stem before SNR scaling: sum of the sources at their levels, ``(K, n)``.

    Each source is at unit mean power times its level; a lone source is left unscaled.
    """
    if len(params.sources) == 1 and params.sources[0].level_db == 0.0:
        return render_source(params.sources[0], params.num_samples, sample_rate, num_channels,
                             noise_rir=noise_rir, folders=folders, babble_pool=babble_pool,
                             normalize=False)  # the SNR sets its level
    stem = np.zeros((num_channels, params.num_samples), dtype=np.float32)
    for src in params.sources:
        x = render_source(src, params.num_samples, sample_rate, num_channels,
                          noise_rir=noise_rir, folders=folders, babble_pool=babble_pool)
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


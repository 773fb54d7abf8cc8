"""Shoebox rooms: sampling configs, drawn room parameters and room impulse responses.

``sample_room(cfg, rng)`` draws a ``RoomParams`` record (room size, target RT60, source,
noise source and microphone positions); ``simulate_rir(params, sample_rate)`` turns it into
a float32 RIR of shape ``(K, n)``, one row per microphone. Positions are metres in room
coordinates (x along the length, y along the width, z up from the floor). RIR amplitudes
are in pyroomacoustics' units: the direct path of a source at distance r has amplitude 1/r.

``simulate_rir`` is a fast hybrid: low-order image sources from pyroomacoustics for the
early part, a calibrated stochastic tail for the rest. ``simulate_rir_full`` is the plain
pyroomacoustics image-source simulation, kept as the reference for the benchmark.
Neither touches global random state (no ray tracing, no randomized ISM).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import pyroomacoustics as pra
import scipy.fft
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pyroomacoustics.parameters import materials_absorption_table

from synthaudio.augment.acoustics import measure_rt60
from synthaudio.errors import ConfigError

Range = tuple[float, float]
Vec3 = tuple[float, float, float]
Source = Literal["speech", "noise"]

WALLS = ("west", "east", "south", "north", "floor", "ceiling")  # pyroomacoustics' wall order
SPEED_OF_SOUND = 343.0  # m/s, pyroomacoustics' default
_OCTAVE_CENTERS_HZ = (125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0)
_MAX_ROOM_TRIES = 20  # rooms drawn before sample_room gives up
_MAX_PLACE_TRIES = 200  # source/mic placements tried per room
_EARLY_ORDER = 3  # image-source order of the early part ...
_MAX_EARLY_ORDER = 9  # ... raised (by 2) until it covers _MIN_EARLY_S after the direct path
_MIN_EARLY_S = 0.015  # s of complete image-source response after the latest direct path
_FD_HALF = 20  # fractional-delay filter: 2 * 20 + 1 taps, Hann-windowed sinc
_XFADE_S = 0.005  # s, early/tail cross-fade (power complementary), ends at the mixing time
_DIRECT_GUARD_S = 0.0025  # s after the direct path excluded from the energy match
_TAIL_LENGTH = 1.2  # RIR runs this many target RT60s past the mixing time
_END_FADE_S = 0.005  # s, raised-cosine fade at the very end
_BAND_RT60_LIMITS = (0.67, 1.5)  # band RT60 relative to the mid-frequency RT60
_CALIB_ITERS = 5  # tail-decay calibration passes at most
_CALIB_TOL = 0.02  # stop when the measured RT60 is within 2 % of the target


# --------------------------------------------------------------------------- configs


class RoomConfigError(ConfigError, ValueError):
    """An invalid room config; ``path`` is the key path inside it (e.g. "mic_array.radius_m").

    Also a ValueError, so that pydantic reports it under the enclosing field when a
    RoomConfig is validated as part of a larger config.
    """

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(f"{path}: {detail}" if path else detail)
        self.path = path
        self.detail = detail


def _config_error(exc: ValidationError) -> RoomConfigError:
    """One line from the first pydantic error, with its key path."""
    err = exc.errors()[0]
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
    cause = err.get("ctx", {}).get("error")
    if isinstance(cause, RoomConfigError):
        path, detail = f"{path}.{cause.path}".strip("."), cause.detail
    else:
        detail = re.sub(r"^Value error, ", "", err["msg"])
    more = len(exc.errors()) - 1
    return RoomConfigError(path, detail + (f" (and {more} more errors)" if more else ""))


def _check_range(value: Range, lo: float, hi: float, unit: str) -> Range:
    a, b = value
    if not (lo <= a <= b <= hi):
        raise ValueError(
            f"must be (min, max) with {lo:g} <= min <= max <= {hi:g} {unit}, got {value}"
        )
    return value


class MicArrayConfig(BaseModel):
    """Microphone array geometry; the array lies in a horizontal plane, rotated at random."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["single", "linear", "circular"] = "single"
    num_mics: int = 1  # K, microphones (1 for "single")
    spacing_m: float | None = None  # linear only: distance between neighbouring mics
    radius_m: float | None = None  # circular only: array radius

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _config_error(exc) from None

    @model_validator(mode="after")
    def _check(self) -> MicArrayConfig:
        k = self.num_mics
        if self.kind == "single" and k != 1:
            raise RoomConfigError("num_mics", f"must be 1 for kind 'single', got {k}")
        if self.kind in ("linear", "circular") and not 2 <= k <= 64:
            raise RoomConfigError("num_mics", f"must be 2..64 for kind '{self.kind}', got {k}")
        for name, needed in (("spacing_m", "linear"), ("radius_m", "circular")):
            value = getattr(self, name)
            if self.kind == needed and value is None:
                raise RoomConfigError(name, f"is required for kind '{needed}'")
            if self.kind != needed and value is not None:
                raise RoomConfigError(name, f"is only used for kind '{needed}', not '{self.kind}'")
            if value is not None and not 0.001 <= value <= 1.0:
                raise RoomConfigError(name, f"must be within 0.001..1 m, got {value}")
        return self

    @property
    def extent_m(self) -> float:
        """Largest horizontal distance of a microphone from the array centre, m."""
        if self.kind == "linear":
            assert self.spacing_m is not None
            return (self.num_mics - 1) * self.spacing_m / 2.0
        if self.kind == "circular":
            assert self.radius_m is not None
            return self.radius_m
        return 0.0

    def offsets(self, angle_rad: float) -> np.ndarray:
        """Horizontal microphone offsets from the array centre, ``(K, 2)`` m, rotated."""
        k = self.num_mics
        if self.kind == "linear":
            assert self.spacing_m is not None
            along = (np.arange(k) - (k - 1) / 2.0) * self.spacing_m
            return np.stack([along * math.cos(angle_rad), along * math.sin(angle_rad)], axis=1)
        if self.kind == "circular":
            assert self.radius_m is not None
            phi = angle_rad + 2.0 * np.pi * np.arange(k) / k
            return self.radius_m * np.stack([np.cos(phi), np.sin(phi)], axis=1)
        return np.zeros((1, 2))


class RoomConfig(BaseModel):
    """Ranges that rooms are drawn from (uniformly); validated to be realizable.

    Building one with bad values raises ``RoomConfigError`` (a ``ConfigError``) naming the
    key path, e.g. ``mic_array.radius_m: must be within 0.001..1 m, got 3.0``; inside a
    larger pydantic model it surfaces as that model's ValidationError under its field.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # length (x), width (y), height (z) ranges, m
    dims_m: tuple[Range, Range, Range] = ((3.0, 10.0), (3.0, 8.0), (2.4, 4.0))
    rt60_s: Range = (0.2, 1.2)  # target reverberation time, s
    # pyroomacoustics material names drawn per wall (spectral colour); None: flat walls
    materials: tuple[str, ...] | None = None
    min_wall_distance_m: float = 0.5  # sources and mics keep this from the four walls
    source_mic_distance_m: Range = (0.5, 3.0)  # source to array centre, m
    mic_height_m: Range = (0.7, 1.5)  # array centre above the floor, m
    source_height_m: Range = (1.2, 1.9)  # speech and noise sources above the floor, m
    # frequency-dependent air absorption (pyroomacoustics' table: 20 C, 30-50 % humidity)
    air_absorption: bool = True
    mic_array: MicArrayConfig = Field(default_factory=MicArrayConfig)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _config_error(exc) from None

    @field_validator("dims_m")
    @classmethod
    def _check_dims(cls, v: tuple[Range, Range, Range]) -> tuple[Range, Range, Range]:
        for axis, r in zip(("length", "width", "height"), v, strict=True):
            try:
                _check_range(r, 1.0, 50.0, "m")
            except ValueError as exc:
                raise ValueError(f"{axis} {exc}") from None
        return v

    @field_validator("rt60_s")
    @classmethod
    def _check_rt60(cls, v: Range) -> Range:
        return _check_range(v, 0.05, 5.0, "s")

    @field_validator("source_mic_distance_m")
    @classmethod
    def _check_distance(cls, v: Range) -> Range:
        return _check_range(v, 0.05, 50.0, "m")

    @field_validator("mic_height_m", "source_height_m")
    @classmethod
    def _check_height(cls, v: Range) -> Range:
        return _check_range(v, 0.0, 50.0, "m")

    @field_validator("min_wall_distance_m")
    @classmethod
    def _check_wall(cls, v: float) -> float:
        if not 0.0 <= v <= 10.0:
            raise ValueError(f"must be within 0..10 m, got {v}")
        return v

    @field_validator("materials")
    @classmethod
    def _check_materials(cls, v: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if v is None:
            return v
        if not v:
            raise ValueError("must name at least one material (or be null for flat walls)")
        for name in v:
            if name not in materials_absorption_table:
                raise ValueError(f"unknown pyroomacoustics material {name!r}")
        return v

    @model_validator(mode="after")
    def _check_realizable(self) -> RoomConfig:
        w, ext = self.min_wall_distance_m, self.mic_array.extent_m
        (l_min, _), (wd_min, _), (h_min, _) = self.dims_m
        free_x, free_y = l_min - 2 * w, wd_min - 2 * w
        if min(free_x, free_y) <= 2 * ext:
            raise RoomConfigError(
                "dims_m",
                f"the smallest room ({l_min:g} x {wd_min:g} m) leaves no space for the array "
                f"(extent {ext:g} m) {w:g} m from the walls (min_wall_distance_m)",
            )
        for name in ("mic_height_m", "source_height_m"):
            lo, hi = getattr(self, name)
            if not (0.0 < lo and hi < h_min):
                raise RoomConfigError(
                    name, f"must lie inside the lowest room (0..{h_min:g} m), got {(lo, hi)}"
                )
        d_lo = self.source_mic_distance_m[0]
        if d_lo <= ext:
            raise RoomConfigError(
                "source_mic_distance_m",
                f"minimum {d_lo:g} m puts the source inside the array (extent {ext:g} m)",
            )
        (m_lo, m_hi), (s_lo, s_hi) = self.mic_height_m, self.source_height_m
        dz = max(abs(s_hi - m_lo), abs(m_hi - s_lo))
        reach = math.sqrt((free_x - ext) ** 2 + (free_y - ext) ** 2 + dz**2)
        if reach < d_lo:
            raise RoomConfigError(
                "source_mic_distance_m",
                f"minimum {d_lo:g} m does not fit in the smallest room (at most {reach:.2f} m)",
            )
        return self


# --------------------------------------------------------------------------- params


@dataclass(frozen=True)
class RoomParams:
    """One drawn room; enough to replay its RIRs exactly."""

    dims_m: Vec3  # length, width, height
    rt60_target_s: float  # broadband RT60 the RIR is calibrated to
    source_pos_m: Vec3  # speech source
    noise_source_pos_m: Vec3  # point noise source in the same room
    mic_pos_m: tuple[Vec3, ...]  # K microphones
    materials: tuple[str, ...] | None  # one pyroomacoustics material per wall (WALLS order)
    air_absorption: bool
    seed: int  # seeds the stochastic tail

    @property
    def num_mics(self) -> int:
        return len(self.mic_pos_m)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (already rounded when drawn: mm and ms)."""
        return {
            "dims_m": [round(x, 4) for x in self.dims_m],
            "rt60_target_s": round(self.rt60_target_s, 4),
            "source_pos_m": [round(x, 4) for x in self.source_pos_m],
            "noise_source_pos_m": [round(x, 4) for x in self.noise_source_pos_m],
            "mic_pos_m": [[round(x, 4) for x in p] for p in self.mic_pos_m],
            "materials": None
            if self.materials is None
            else dict(zip(WALLS, self.materials, strict=True)),
            "air_absorption": self.air_absorption,
            "seed": self.seed,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RoomParams:
        """Inverse of ``to_dict`` (does not modify ``data``)."""

        def vec(v: Any) -> Vec3:
            x, y, z = (float(c) for c in v)
            return (x, y, z)

        mats = data["materials"]
        return cls(
            dims_m=vec(data["dims_m"]),
            rt60_target_s=float(data["rt60_target_s"]),
            source_pos_m=vec(data["source_pos_m"]),
            noise_source_pos_m=vec(data["noise_source_pos_m"]),
            mic_pos_m=tuple(vec(p) for p in data["mic_pos_m"]),
            materials=None if mats is None else tuple(str(mats[w]) for w in WALLS),
            air_absorption=bool(data["air_absorption"]),
            seed=int(data["seed"]),
        )


def _mm(x: float) -> float:
    return round(float(x), 3)


def _inside(p: np.ndarray, dims: np.ndarray, wall_m: float) -> bool:
    return bool(
        np.all(p[:2] >= wall_m) and np.all(p[:2] <= dims[:2] - wall_m) and 0 < p[2] < dims[2]
    )


def _place(
    cfg: RoomConfig, dims: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, Vec3] | None:
    """Mic positions ``(K, 3)`` and the speech source, or None when no placement was found."""
    w, arr = cfg.min_wall_distance_m, cfg.mic_array
    ext = arr.extent_m
    for _ in range(_MAX_PLACE_TRIES):
        center = np.array(
            [
                rng.uniform(w + ext, dims[0] - w - ext),
                rng.uniform(w + ext, dims[1] - w - ext),
                rng.uniform(*cfg.mic_height_m),
            ]
        )
        angle = rng.uniform(0.0, 2.0 * np.pi)
        dist = rng.uniform(*cfg.source_mic_distance_m)
        src_z = rng.uniform(*cfg.source_height_m)
        azimuth = rng.uniform(0.0, 2.0 * np.pi)
        dz = src_z - center[2]
        if abs(dz) > dist:
            continue
        r = math.sqrt(dist**2 - dz**2)
        src = np.round(center + [r * math.cos(azimuth), r * math.sin(azimuth), dz], 3)
        mics = np.round(
            np.column_stack([center[:2] + arr.offsets(angle), np.full(arr.num_mics, center[2])]), 3
        )
        if _inside(src, dims, w) and all(_inside(m, dims, w) for m in mics):
            return mics, (_mm(src[0]), _mm(src[1]), _mm(src[2]))
    return None


def _place_noise(
    cfg: RoomConfig, dims: np.ndarray, center: np.ndarray, rng: np.random.Generator
) -> Vec3 | None:
    """A noise source anywhere in the room, at least the minimum source distance from the array."""
    w = cfg.min_wall_distance_m
    for _ in range(_MAX_PLACE_TRIES):
        p = np.round(
            [
                rng.uniform(w, dims[0] - w),
                rng.uniform(w, dims[1] - w),
                rng.uniform(*cfg.source_height_m),
            ],
            3,
        )
        if np.linalg.norm(p - center) >= cfg.source_mic_distance_m[0] and _inside(p, dims, w):
            return (_mm(p[0]), _mm(p[1]), _mm(p[2]))
    return None


def sample_room(cfg: RoomConfig, rng: np.random.Generator) -> RoomParams:
    """Draw one room: size, target RT60, wall materials, array, speech and noise source.

    Sizes and RT60 are uniform in their ranges; the array centre is uniform where the array
    keeps ``min_wall_distance_m`` from the walls; the source is placed at a uniform distance
    and azimuth from it (placements outside the room are redrawn, so long distances are
    rarer in small rooms). Values are rounded to mm / ms so the record replays exactly.
    """
    for _ in range(_MAX_ROOM_TRIES):
        dims = np.array([_mm(rng.uniform(lo, hi)) for lo, hi in cfg.dims_m])
        rt60 = _mm(rng.uniform(*cfg.rt60_s))
        materials = None
        if cfg.materials is not None:
            picks = rng.integers(0, len(cfg.materials), size=len(WALLS))
            materials = tuple(cfg.materials[int(i)] for i in picks)
        placed = _place(cfg, dims, rng)
        if placed is None:
            continue
        mics, src = placed
        noise = _place_noise(cfg, dims, mics.mean(axis=0), rng)
        if noise is None:
            continue
        return RoomParams(
            dims_m=(float(dims[0]), float(dims[1]), float(dims[2])),
            rt60_target_s=rt60,
            source_pos_m=src,
            noise_source_pos_m=noise,
            mic_pos_m=tuple((_mm(m[0]), _mm(m[1]), _mm(m[2])) for m in mics),
            materials=materials,
            air_absorption=cfg.air_absorption,
            seed=int(rng.integers(0, 2**32)),
        )
    raise ConfigError(
        f"room config: could not place the source and microphones in {_MAX_ROOM_TRIES} "
        "drawn rooms; "
        "widen dims_m or narrow source_mic_distance_m"
    )


# --------------------------------------------------------------------------- simulation


def _band_centers(sample_rate: int) -> tuple[float, ...]:
    return tuple(c for c in _OCTAVE_CENTERS_HZ if c < sample_rate / 2)


@lru_cache(maxsize=64)
def _band_weights(n_fft: int, sample_rate: int, n_bands: int) -> np.ndarray:
    """Zero-phase octave-band weights ``(B, n_fft // 2 + 1)`` that sum to one at every bin.

    Neighbouring bands cross-fade (cos^2 / sin^2) over log2-frequency between their centres.
    """
    centers = np.array(_band_centers(sample_rate)[:n_bands])
    f = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    pos = np.interp(np.log2(np.maximum(f, 1.0)), np.log2(centers), np.arange(n_bands))
    w = np.zeros((n_bands, f.size))
    low = np.floor(pos).astype(int)
    frac = pos - low
    w[low, np.arange(f.size)] = np.cos(0.5 * np.pi * frac) ** 2
    high = np.minimum(low + 1, n_bands - 1)
    w[high, np.arange(f.size)] += np.sin(0.5 * np.pi * frac) ** 2
    w.flags.writeable = False
    return w


def _wall_absorption(params: RoomParams, n_bands: int) -> np.ndarray:
    """Energy absorption ``(6, B)`` per wall and band, scaled to the target RT60 (Eyring)."""
    dims = np.array(params.dims_m)
    volume = float(np.prod(dims))
    areas = np.array([dims[1] * dims[2]] * 2 + [dims[0] * dims[2]] * 2 + [dims[0] * dims[1]] * 2)
    # Eyring: RT60 = 24 ln10 V / (-c S ln(1 - a))  =>  a = 1 - exp(-24 ln10 V / (c S RT60))
    alpha = 1.0 - math.exp(
        -24.0 * math.log(10.0) * volume / (SPEED_OF_SOUND * areas.sum() * params.rt60_target_s)
    )
    if params.materials is None:
        return np.full((len(WALLS), n_bands), alpha)
    table = []
    for name in params.materials:
        entry = materials_absorption_table[name]
        coeffs = np.interp(
            np.log2(_OCTAVE_CENTERS_HZ[:n_bands]), np.log2(entry["center_freqs"]), entry["coeffs"]
        )
        table.append(coeffs)
    spectra = np.array(table)
    mean = float((areas[:, None] * spectra).sum() / (areas.sum() * n_bands))
    return np.clip(spectra * (alpha / max(mean, 1e-6)), 0.001, 0.99)


def _band_decay_factors(params: RoomParams, absorption: np.ndarray, air: np.ndarray) -> np.ndarray:
    """Relative RT60 per band from Eyring with air absorption: 1 at mid frequencies.

    Normalized to the mean of the 500 Hz and 1 kHz bands and clipped to
    ``_BAND_RT60_LIMITS`` (material tables can differ tenfold across octaves, which would
    make the broadband decay strongly non-exponential).
    """
    dims = np.array(params.dims_m)
    volume = float(np.prod(dims))
    areas = np.array([dims[1] * dims[2]] * 2 + [dims[0] * dims[2]] * 2 + [dims[0] * dims[1]] * 2)
    mean_alpha = (areas[:, None] * absorption).sum(axis=0) / areas.sum()
    rt = 1.0 / (-areas.sum() * np.log1p(-mean_alpha) + 4.0 * air * volume)
    mid = float(np.mean(rt[2:4])) if rt.size >= 4 else float(np.mean(rt))  # 500 Hz and 1 kHz
    return np.asarray(np.clip(rt / mid, *_BAND_RT60_LIMITS))


def _frac_delay_sum(times: np.ndarray, amps: np.ndarray, n: int) -> np.ndarray:
    """Band-limited impulses summed per band: ``(B, n)``.

    ``times`` are arrival times ``(N,)`` in samples, ``amps`` amplitudes ``(B, N)``.
    """
    taps = np.arange(-_FD_HALF, _FD_HALF + 1)
    base = np.floor(times).astype(np.int64)
    idx = base[:, None] + taps[None, :]
    frac = idx - times[:, None]
    kernel = np.sinc(frac) * (0.5 + 0.5 * np.cos(np.pi * frac / (_FD_HALF + 1)))
    valid = (idx >= 0) & (idx < n)
    out = np.empty((amps.shape[0], n))
    for b in range(amps.shape[0]):
        out[b] = np.bincount(idx[valid], weights=(kernel * amps[b][:, None])[valid], minlength=n)[
            :n
        ]
    return out


def _combine_bands(bands: np.ndarray, sample_rate: int, pad: int) -> np.ndarray:
    """``(..., B, n)`` band signals -> ``(..., n)``: each band keeps its own octave."""
    n_bands, n = bands.shape[-2], bands.shape[-1]
    if n_bands == 1:
        return np.asarray(bands[..., 0, :])
    n_fft = scipy.fft.next_fast_len(n + pad, real=True)
    spec = scipy.fft.rfft(bands, n_fft, axis=-1)
    w = _band_weights(n_fft, sample_rate, n_bands)
    return np.asarray(scipy.fft.irfft((spec * w).sum(axis=-2), n_fft, axis=-1)[..., :n])


def _image_sources(
    params: RoomParams, source: np.ndarray, absorption: np.ndarray, mics: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """Images ``(3, N)``, amplitude damping ``(B, N)`` and the completeness time (s).

    The order is raised until images of the next order all arrive at least ``_MIN_EARLY_S``
    after the latest direct path; images up to that order form the early part, complete up
    to the returned time.
    """
    n_bands = absorption.shape[1]
    centers = list(_OCTAVE_CENTERS_HZ[:n_bands])
    walls = {
        w: pra.Material(
            {"coeffs": list(a), "center_freqs": centers} if n_bands > 1 else float(a[0])
        )
        for w, a in zip(WALLS, absorption, strict=True)
    }
    direct_max = float(np.linalg.norm(mics - source[:, None], axis=0).max()) / SPEED_OF_SOUND
    order = _EARLY_ORDER
    while True:
        room = pra.ShoeBox(
            list(params.dims_m),
            fs=16000,
            materials=walls,
            max_order=order + 1,
            air_absorption=False,
        )
        room.add_source(source)
        room.add_microphone_array(mics)
        room.image_source_model()
        src = room.sources[0]
        next_order = src.orders == order + 1
        dist = np.linalg.norm(src.images[:, next_order, None] - mics[:, None, :], axis=0)
        t_complete = float(dist.min()) / SPEED_OF_SOUND
        if t_complete >= direct_max + _MIN_EARLY_S or order >= _MAX_EARLY_ORDER:
            keep = src.orders <= order
            return src.images[:, keep], np.asarray(src.damping[:n_bands, keep]), t_complete
        order += 2


def simulate_rir(params: RoomParams, sample_rate: int, source: Source = "speech") -> np.ndarray:
    """Hybrid RIR: image sources for the early part, a calibrated noise tail after it.

    Early part: pyroomacoustics image sources up to a low order (3, more in long rooms)
    with wall absorption from Eyring's formula for the target RT60 (coloured per octave
    band by the drawn ``materials``) and air absorption; it is complete up to the mixing
    time ``t_mix`` (first arrival of the next order). Tail: Gaussian noise, independent per
    microphone, in octave bands each decaying as ``exp(-6.9 (t - t_mix) / RT60_band)``
    (band RT60s from Eyring with air absorption), energy-matched per microphone to the
    image-source reflections between the direct path and ``t_mix``, and cross-faded in over
    the 5 ms before ``t_mix``. The decay is then calibrated: the tail's RT60s are scaled
    until the RT60 measured by ``measure_rt60`` (T20, mean over microphones) is within 2 %
    of ``rt60_target_s`` (at most 4 passes; the closest pass is kept). The direct path keeps
    its true propagation delay.

    Args:
        params: the drawn room.
        sample_rate: Hz.
        source: "speech" (``source_pos_m``) or "noise" (``noise_source_pos_m``).

    Returns:
        float32 ``(K, n)``, n = mixing time + 1.2 RT60.
    """
    if source not in ("speech", "noise"):
        raise ValueError(f"source must be 'speech' or 'noise', got {source!r}")
    fs = float(sample_rate)
    src = np.array(
        params.source_pos_m if source == "speech" else params.noise_source_pos_m, dtype=float
    )
    mics = np.array(params.mic_pos_m, dtype=float).T  # (3, K)
    n_mics = mics.shape[1]
    colored = params.materials is not None or params.air_absorption
    n_bands = len(_band_centers(sample_rate)) if colored else 1
    air = np.zeros(n_bands)
    if params.air_absorption:
        table = pra.Physics().get_air_absorption()
        air = np.interp(
            np.log2(_OCTAVE_CENTERS_HZ[:n_bands]), np.log2(table["center_freqs"]), table["coeffs"]
        )
    absorption = _wall_absorption(params, n_bands)
    early, t_mix = _early_part(params, src, mics, absorption, air, sample_rate)

    n = int(math.ceil((t_mix + _TAIL_LENGTH * params.rt60_target_s) * fs))
    mix = int(round(t_mix * fs))
    xfade_start = mix - int(round(_XFADE_S * fs))
    # Energy-match windows: from just after each direct path to the mixing time.
    direct_s = np.linalg.norm(mics - src[:, None], axis=0) / SPEED_OF_SOUND
    windows = [(min(int(round((d + _DIRECT_GUARD_S) * fs)), mix), mix) for d in direct_s]
    start = min(xfade_start, *(lo for lo, _ in windows))  # where the tail noise begins

    head = np.zeros((n_mics, n))
    m = min(n, early.shape[1])
    head[:, :m] = early[:, :m]
    ramp = np.clip((np.arange(start, n) - xfade_start) / (mix - xfade_start), 0.0, 1.0)
    fade_in = np.sin(0.5 * np.pi * ramp)  # power complementary with the early fade-out
    head[:, start:] *= np.cos(0.5 * np.pi * ramp)
    n_end = max(int(_END_FADE_S * fs), 1)
    end_taper = 0.5 + 0.5 * np.cos(np.pi * np.arange(1, n_end + 1) / n_end)

    rng = np.random.default_rng([params.seed, 0 if source == "speech" else 1])
    noise_bands = _tail_noise(rng, n_mics, n - start, n_bands, sample_rate)
    rt_bands = params.rt60_target_s * (
        _band_decay_factors(params, absorption, air) if n_bands > 1 else np.ones(1)
    )
    tt = (np.arange(start, n) - mix) / fs  # time after the mixing time, s
    volume = float(np.prod(params.dims_m))

    def build(scale: float) -> np.ndarray:
        env = np.exp(-6.9078 * tt[None, :] / (scale * rt_bands[:, None]))  # (B, n - start)
        if n_bands == 1:
            tail = noise_bands[:, 0, :] * env[0]
        else:
            tail = np.einsum("kbn,bn->kn", noise_bands, env)
        out = head.copy()
        for k, (lo, hi) in enumerate(windows):
            e_early = float(np.sum(early[k, lo:hi] ** 2))
            e_tail = float(np.sum(tail[k, lo - start : hi - start] ** 2))
            if e_early > 0.0 and e_tail > 0.0:
                gain = math.sqrt(e_early / e_tail)
            else:  # statistical level: 4 pi c / (V fs) per sample at emission, decaying
                level = 4.0 * math.pi * SPEED_OF_SOUND / (volume * fs)
                gain = math.sqrt(level) * math.exp(-6.9078 * t_mix / params.rt60_target_s)
            out[k, start:] += gain * fade_in * tail[k]
        out[:, -n_end:] *= end_taper
        return out

    return _calibrate(build, params.rt60_target_s, sample_rate).astype(np.float32)


def _early_part(
    params: RoomParams,
    src: np.ndarray,
    mics: np.ndarray,
    absorption: np.ndarray,
    air: np.ndarray,
    sample_rate: int,
) -> tuple[np.ndarray, float]:
    """Image-source response ``(K, n_early)`` per microphone, and the mixing time (s).

    Amplitudes: per-band wall damping / distance, times air absorption
    ``exp(-0.5 m_b r)``; bands are recombined with zero-phase octave weights.
    """
    fs = float(sample_rate)
    images, damping, t_mix = _image_sources(params, src, absorption, mics)
    n_early = int(math.ceil(t_mix * fs)) + _FD_HALF + 1
    early = np.empty((mics.shape[1], n_early))
    for k in range(mics.shape[1]):
        dist = np.linalg.norm(images - mics[:, k : k + 1], axis=0)
        amps = damping / dist
        if np.any(air):
            amps = amps * np.exp(-0.5 * air[:, None] * dist)
        bands = _frac_delay_sum(dist / SPEED_OF_SOUND * fs, amps, n_early)
        early[k] = _combine_bands(bands, sample_rate, pad=2048)
    return early, t_mix


def _tail_noise(
    rng: np.random.Generator, n_mics: int, n: int, n_bands: int, sample_rate: int
) -> np.ndarray:
    """Independent Gaussian noise per microphone, split into octave bands: ``(K, B, n)``."""
    noise = rng.standard_normal((n_mics, n))
    if n_bands == 1:
        return noise[:, None, :]
    n_fft = scipy.fft.next_fast_len(n, real=True)
    spec = scipy.fft.rfft(noise, n_fft, axis=-1)
    w = _band_weights(n_fft, sample_rate, n_bands)
    return np.asarray(scipy.fft.irfft(spec[:, None, :] * w[None], n_fft, axis=-1)[..., :n])


def _calibrate(
    build: Callable[[float], np.ndarray], target_s: float, sample_rate: int
) -> np.ndarray:
    """``build(scale)`` for the tail-RT60 scale whose measured RT60 is closest to the target.

    Solves log(measured / target) = 0 with secant steps in log-log coordinates (a
    proportional step when the local slope is implausible); stops within ``_CALIB_TOL``
    or after ``_CALIB_ITERS`` passes and returns the closest pass.
    """
    log_scale, best, best_err = 0.0, None, math.inf
    history: list[tuple[float, float]] = []
    for _ in range(_CALIB_ITERS):
        rir = build(math.exp(log_scale))
        miss = math.log(measure_rt60(rir, sample_rate) / target_s)
        if abs(miss) < best_err:
            best, best_err = rir, abs(miss)
        if abs(miss) <= math.log1p(_CALIB_TOL):
            break
        slope = 1.0
        if history:
            prev_scale, prev_miss = history[-1]
            if log_scale != prev_scale:
                slope = (miss - prev_miss) / (log_scale - prev_scale)
            if not 0.2 <= slope <= 3.0:
                slope = 1.0
        history.append((log_scale, miss))
        log_scale -= miss / slope
    assert best is not None
    return best


def _reference_room(params: RoomParams, sample_rate: int) -> pra.ShoeBox:
    absorption, max_order = pra.inverse_sabine(params.rt60_target_s, list(params.dims_m))
    return pra.ShoeBox(
        list(params.dims_m),
        fs=sample_rate,
        materials=pra.Material(float(absorption)),
        max_order=max_order,
        air_absorption=params.air_absorption,
    )


def simulate_rir_full(
    params: RoomParams, sample_rate: int, source: Source = "speech"
) -> np.ndarray:
    """Reference: pyroomacoustics' full image-source RIR (``inverse_sabine`` absorption/order).

    Flat walls (``materials`` ignored). pyroomacoustics' global delay (40 samples) is
    removed so the direct path sits at its propagation delay, as in ``simulate_rir``.
    Raises ``ValueError`` when Sabine's formula cannot reach the target RT60 in this room.

    Returns:
        float32 ``(K, n)``.
    """
    room = _reference_room(params, sample_rate)
    room.add_source(list(params.source_pos_m if source == "speech" else params.noise_source_pos_m))
    room.add_microphone_array(np.array(params.mic_pos_m, dtype=float).T)
    room.compute_rir()
    delay = pra.constants.get("frac_delay_length") // 2
    rirs = [np.asarray(r[0], dtype=np.float64)[delay:] for r in room.rir]
    n = max(r.size for r in rirs)
    out = np.zeros((len(rirs), n), dtype=np.float32)
    for k, r in enumerate(rirs):
        out[k, : r.size] = r
    return out

"""Room sampling configs: the ranges rooms and microphone arrays are drawn from.

``RoomConfig`` (with its ``MicArrayConfig``) is validated when built: bad values raise
``RoomConfigError``, one line naming the key path. Positions are metres in room
coordinates (x along the length, y along the width, z up from the floor).
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from synthaudio.errors import ConfigError

Range = tuple[float, float]
Vec3 = tuple[float, float, float]
Source = Literal["speech", "noise"]

WALLS = ("west", "east", "south", "north", "floor", "ceiling")  # pyroomacoustics' wall order
SPEED_OF_SOUND = 343.0  # m/s, pyroomacoustics' default


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


def _materials() -> Any:
    """pyroomacoustics' material table, imported only when a config names materials
    (pyroomacoustics takes seconds to import; the configs should not)."""
    from pyroomacoustics.parameters import materials_absorption_table

    return materials_absorption_table


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
            if name not in _materials():
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

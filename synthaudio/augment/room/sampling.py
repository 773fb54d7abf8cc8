"""Drawing rooms: ``sample_room(cfg, rng)`` -> a frozen ``RoomParams`` record.

The record holds room size, target RT60, speech source, noise source and microphone
positions (metres, room coordinates), wall materials and the seed of the RIR's stochastic
tail: enough to replay the room's impulse responses exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from synthaudio.augment.room.config import WALLS, RoomConfig, Vec3
from synthaudio.errors import ConfigError

_MAX_ROOM_TRIES = 20  # rooms drawn before sample_room gives up
_MAX_PLACE_TRIES = 200  # source/mic placements tried per room


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
        src = _source_around(cfg, center, rng)
        if src is None:
            continue
        mics = np.round(
            np.column_stack([center[:2] + arr.offsets(angle), np.full(arr.num_mics, center[2])]), 3
        )
        if _inside(src, dims, w) and all(_inside(m, dims, w) for m in mics):
            return mics, (_mm(src[0]), _mm(src[1]), _mm(src[2]))
    return None


def _source_around(cfg: RoomConfig, center: np.ndarray, rng: np.random.Generator,
                   ) -> np.ndarray | None:
    """A source at a uniform distance, height and azimuth from ``center`` (mm-rounded), or
    None when the drawn height is out of reach of the drawn distance."""
    dist = rng.uniform(*cfg.source_mic_distance_m)
    src_z = rng.uniform(*cfg.source_height_m)
    azimuth = rng.uniform(0.0, 2.0 * np.pi)
    dz = src_z - center[2]
    if abs(dz) > dist:
        return None
    r = math.sqrt(dist**2 - dz**2)
    return np.round(center + [r * math.cos(azimuth), r * math.sin(azimuth), dz], 3)


def place_talker(cfg: RoomConfig, room: RoomParams, rng: np.random.Generator) -> Vec3:
    """One more speech source in a drawn room, placed as ``sample_room`` places its own
    (distance, height and azimuth from the array centre; inside the walls): a second talker
    of a conversation, or a talker who moved."""
    dims = np.array(room.dims_m)
    center = np.mean(np.array(room.mic_pos_m), axis=0)
    for _ in range(_MAX_PLACE_TRIES):
        src = _source_around(cfg, center, rng)
        if src is not None and _inside(src, dims, cfg.min_wall_distance_m):
            return (_mm(src[0]), _mm(src[1]), _mm(src[2]))
    return room.source_pos_m  # no other place found: where the room's own talker stands


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

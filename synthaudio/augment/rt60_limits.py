"""Which RT60 targets a room can reach, and the check that a simulated RIR reached its own.

Eyring's formula ``RT60 = 24 ln10 V / (-c S ln(1 - a))`` gives the shortest RT60 a
shoebox room of volume ``V`` and surface ``S`` can have: the one with the most absorbent
walls, ``a = MAX_WALL_ABSORPTION``. A target below it is not a room, and a simulation
aimed at it gives a RIR that decays far faster or slower than the label says.
"""

from __future__ import annotations

import math

from synthaudio.augment.room import SPEED_OF_SOUND, RoomConfig, RoomParams
from synthaudio.errors import ConfigError

MAX_WALL_ABSORPTION = 0.99  # energy absorption of the most absorbent walls (anechoic wedges)
RT60_TOLERANCE = 0.10  # a bank RIR's measured RT60 is within 10 % of its target


def shortest_rt60_s(dims_m: tuple[float, float, float]) -> float:
    """Eyring RT60 (s) of a ``dims_m`` shoebox with walls of ``MAX_WALL_ABSORPTION``."""
    x, y, z = dims_m
    volume = x * y * z
    surface = 2.0 * (x * y + x * z + y * z)
    return (
        24.0 * math.log(10.0) * volume
        / (-SPEED_OF_SOUND * surface * math.log1p(-MAX_WALL_ABSORPTION))
    )


def check_reachable(cfg: RoomConfig) -> None:
    """ConfigError unless some room in ``cfg.dims_m`` can reach some RT60 in ``cfg.rt60_s``.

    The smallest room has the shortest reachable RT60 (``V / S`` grows with every side).
    """
    smallest = (cfg.dims_m[0][0], cfg.dims_m[1][0], cfg.dims_m[2][0])
    floor_s = shortest_rt60_s(smallest)
    if cfg.rt60_s[1] < floor_s:
        raise ConfigError(
            f"room simulation: rt60_s {list(cfg.rt60_s)} cannot be reached in rooms of "
            f"dims_m {[list(r) for r in cfg.dims_m]}: even the smallest one "
            f"({smallest[0]:g} x {smallest[1]:g} x {smallest[2]:g} m) with fully absorbent "
            f"walls has RT60 >= {floor_s:.3f} s; raise rt60_s or make the rooms smaller"
        )


def is_reachable(params: RoomParams) -> bool:
    """Whether the drawn room can have the drawn target RT60."""
    return params.rt60_target_s >= shortest_rt60_s(params.dims_m)


def reached(target_s: float, measured_s: float) -> bool:
    """Whether a measured RT60 is within ``RT60_TOLERANCE`` of its target."""
    return math.isfinite(measured_s) and abs(measured_s - target_s) <= RT60_TOLERANCE * target_s

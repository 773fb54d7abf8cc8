"""Shoebox rooms, in three modules: :mod:`.config` (the sampling ranges, validated),
:mod:`.sampling` (``sample_room`` -> ``RoomParams``) and :mod:`.simulation`
(``simulate_rir``: the RIRs of a drawn room).

``sample_room(cfg, rng)`` draws a ``RoomParams`` record (room size, target RT60, source,
noise source and microphone positions); ``simulate_rir(params, sample_rate)`` turns it into
a float32 RIR of shape ``(K, n)``, one row per microphone. Positions are metres in room
coordinates (x along the length, y along the width, z up from the floor).
"""

from synthaudio.augment.room.config import (
    SPEED_OF_SOUND,
    WALLS,
    MicArrayConfig,
    Range,
    RoomConfig,
    RoomConfigError,
    Source,
    Vec3,
)
from synthaudio.augment.room.sampling import RoomParams, sample_room
from synthaudio.augment.room.simulation import simulate_rir, simulate_rir_full

__all__ = [
    "SPEED_OF_SOUND",
    "WALLS",
    "MicArrayConfig",
    "Range",
    "RoomConfig",
    "RoomConfigError",
    "RoomParams",
    "Source",
    "Vec3",
    "sample_room",
    "simulate_rir",
    "simulate_rir_full",
]

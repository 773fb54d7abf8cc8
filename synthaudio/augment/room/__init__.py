"""Shoebox rooms, in three modules: :mod:`.config` (the sampling ranges, validated),
:mod:`.sampling` (``sample_room`` -> ``RoomParams``) and :mod:`.simulation`
(``simulate_rir``: the RIRs of a drawn room).

``sample_room(cfg, rng)`` draws a ``RoomParams`` record (room size, target RT60, source,
noise source and microphone positions); ``simulate_rir(params, sample_rate)`` turns it into
a float32 RIR of shape ``(K, n)``, one row per microphone. Positions are metres in room
coordinates (x along the length, y along the width, z up from the floor).
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {  # imported on first use: the config alone does not load pyroomacoustics
    **dict.fromkeys(("SPEED_OF_SOUND", "WALLS", "MicArrayConfig", "Range", "RoomConfig",
                     "RoomConfigError", "Source", "Vec3"), "config"),
    **dict.fromkeys(("RoomParams", "place_talker", "sample_room"), "sampling"),
    **dict.fromkeys(("simulate_rir", "simulate_rir_full"), "simulation"),
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)

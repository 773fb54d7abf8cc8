"""A RIR bank never records an RT60 target its RIR does not reach."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from synthaudio.augment.rirbank import _render_entry, build_rir_bank
from synthaudio.augment.room import RoomConfig, sample_room
from synthaudio.augment.rt60_limits import is_reachable, shortest_rt60_s
from synthaudio.errors import ConfigError, SynthaudioError

FS = 16000


def test_eyring_floor_matches_the_formula() -> None:
    # 40 x 40 x 20 m: V = 32000, S = 6400; 24 ln10 V / (-c S ln 0.01) = 0.175 s
    assert shortest_rt60_s((40.0, 40.0, 20.0)) == pytest.approx(0.1750, abs=5e-4)
    assert shortest_rt60_s((3.0, 3.0, 2.5)) < shortest_rt60_s((6.0, 3.0, 2.5))


def test_unreachable_rt60_ranges_are_refused_before_writing(tmp_path: Path) -> None:
    cfg = RoomConfig(rt60_s=(0.05, 0.06), dims_m=((40.0, 50.0), (40.0, 50.0), (20.0, 30.0)))
    with pytest.raises(ConfigError, match=r"rt60_s \[0.05, 0.06\] cannot be reached.*0\.175 s"):
        build_rir_bank(tmp_path / "bank", cfg, count=2, sample_rate=FS, seed=1)
    assert not (tmp_path / "bank").exists()


def test_partly_reachable_ranges_redraw_and_every_rir_meets_its_target(tmp_path: Path) -> None:
    # Floors: 0.058 s (15 x 15 x 6 m) .. 0.078 s (20 x 20 x 8 m); targets 0.05..0.12 s.
    cfg = RoomConfig(rt60_s=(0.05, 0.12), dims_m=((15.0, 20.0), (15.0, 20.0), (6.0, 8.0)))
    draws = [sample_room(cfg, np.random.default_rng([3, i])) for i in range(6)]
    assert not all(is_reachable(p) for p in draws)  # some first draws are redrawn
    bank = build_rir_bank(tmp_path / "bank", cfg, count=6, sample_rate=FS, seed=3)
    for entry in bank.entries:
        assert entry.rt60_target_s is not None
        assert entry.rt60_target_s >= shortest_rt60_s(tuple(entry.room["dims_m"]))  # type: ignore[index]
        assert abs(entry.rt60_s - entry.rt60_target_s) <= 0.10 * entry.rt60_target_s


def test_a_rir_that_misses_its_target_never_enters_the_bank(tmp_path: Path) -> None:
    # Eyring allows 0.18 s in a 40 m hall, but the simulation decays far faster there.
    cfg = RoomConfig(rt60_s=(0.18, 0.19), dims_m=((40.0, 41.0), (40.0, 41.0), (20.0, 21.0)))
    params = sample_room(cfg, np.random.default_rng(0))
    assert is_reachable(params)
    with pytest.raises(SynthaudioError, match=r"measures RT60 0\.\d+ s against its target 0\.18"):
        _render_entry(tmp_path, "rir-000000", params, FS)
    assert list(tmp_path.iterdir()) == []

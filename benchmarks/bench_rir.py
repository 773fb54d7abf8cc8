"""Speed and RT60 fidelity of ``simulate_rir`` (hybrid) against pyroomacoustics' full ISM.

Usage: ``python benchmarks/bench_rir.py [--rooms 8] [--reps 5] [--fidelity-rooms 200]
[--full-fidelity-rooms 40]``. Prints one JSON object.

Speed: the same drawn rooms (flat walls, no air absorption, so both simulators run one
band) are simulated at target RT60s of 0.3, 0.45 and 0.6 s (and 0.8-1.0 s for
information) with both simulators, ``--reps`` passes each; medians of the per-pass times.
Targets: hybrid >= 20x faster at RT60 <= 0.6 s; >= 95 % of a bank drawn over 0.2-1.2 s
within 10 % of its target RT60 (T20, also shown for T30). pyroomacoustics' own
``inverse_sabine`` full simulation is measured on the same flat rooms for comparison.
Full simulations at RT60 ~1 s take seconds and GBs each: the run takes several minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from typing import Any

import numpy as np
import pyroomacoustics as pra

from synthaudio.augment.acoustics import T30_RANGE_DB, measure_rt60
from synthaudio.augment.room import (
    RoomConfig,
    RoomParams,
    sample_room,
    simulate_rir,
    simulate_rir_full,
)

SPEED_RT60S = (0.3, 0.45, 0.6)
INFO_RT60_RANGE = (0.8, 1.0)
SPEED_TARGET = 20.0
FIDELITY_TARGET = 0.95
TOLERANCE = 0.10


def _time_pass(fn: Any, rooms: list[RoomParams], sample_rate: int, repeat: int = 1) -> float:
    """Seconds per pass over ``rooms`` (averaged over ``repeat`` passes)."""
    start = time.perf_counter()
    for _ in range(repeat):
        for p in rooms:
            fn(p, sample_rate)
    return (time.perf_counter() - start) / repeat


def _speed(rooms: list[RoomParams], sample_rate: int, reps: int) -> dict[str, float]:
    """Median seconds per pass for hybrid (flat), hybrid with air absorption, and full.

    Each simulator gets an untimed warm-up pass; hybrid passes are repeated to last at
    least ~0.2 s so that timer and scheduler noise stay small.
    """
    with_air = [replace(p, air_absorption=True) for p in rooms]
    first = _time_pass(simulate_rir, rooms, sample_rate)  # warm-up
    _time_pass(simulate_rir, with_air, sample_rate)
    repeat = max(1, int(0.2 / max(first, 1e-6)))
    hybrid, hybrid_air, full = [], [], []
    for _ in range(reps):
        hybrid.append(_time_pass(simulate_rir, rooms, sample_rate, repeat))
        hybrid_air.append(_time_pass(simulate_rir, with_air, sample_rate, repeat))
        full.append(_time_pass(simulate_rir_full, rooms, sample_rate))
    n = len(rooms)
    h, ha, f = (statistics.median(x) for x in (hybrid, hybrid_air, full))
    return {
        "hybrid_ms_per_rir": round(1000 * h / n, 3),
        "hybrid_air_absorption_ms_per_rir": round(1000 * ha / n, 3),
        "full_ms_per_rir": round(1000 * f / n, 2),
        "speedup": round(f / h, 1),
    }


def _fidelity(targets: np.ndarray, t20: list[float], t30: list[float]) -> dict[str, Any]:
    e20 = np.abs(np.asarray(t20) / targets - 1)
    e30 = np.abs(np.asarray(t30) / targets - 1)
    return {
        "rooms": int(targets.size),
        "within_10pct_t20": round(float(np.mean(e20 <= TOLERANCE)), 4),
        "within_10pct_t30": round(float(np.mean(e30 <= TOLERANCE)), 4),
        "median_abs_err_t20": round(float(np.median(e20)), 4),
        "max_abs_err_t20": round(float(np.max(e20)), 4),
    }


def _measure(rirs: list[np.ndarray], sample_rate: int) -> tuple[list[float], list[float]]:
    t20 = [measure_rt60(h, sample_rate) for h in rirs]
    t30 = [measure_rt60(h, sample_rate, T30_RANGE_DB) for h in rirs]
    return t20, t30


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rooms", type=int, default=8, help="rooms per RT60 in the speed test")
    ap.add_argument("--reps", type=int, default=5, help="timed passes per simulator")
    ap.add_argument("--fidelity-rooms", type=int, default=200, help="hybrid bank size")
    ap.add_argument("--full-fidelity-rooms", type=int, default=40, help="full-ISM bank size")
    ap.add_argument("--sample-rate", type=int, default=16000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    fs = args.sample_rate

    flat = RoomConfig(air_absorption=False)
    geometry = [sample_room(flat, np.random.default_rng([args.seed, i])) for i in range(args.rooms)]
    speed: dict[str, Any] = {}
    for rt60 in SPEED_RT60S:
        rooms = [replace(p, rt60_target_s=rt60) for p in geometry]
        speed[f"rt60_{rt60:g}s"] = _speed(rooms, fs, args.reps)
    info_rng = np.random.default_rng([args.seed, 10**6])
    info_rooms = [
        replace(p, rt60_target_s=round(float(info_rng.uniform(*INFO_RT60_RANGE)), 3))
        for p in geometry
    ]
    speed_info = _speed(info_rooms, fs, max(1, args.reps - 1))

    # Fidelity: hybrid on the default config (air absorption) and on flat rooms, full ISM
    # (inverse_sabine) on the first flat rooms. Seeds differ from the speed rooms.
    default_rooms = [
        sample_room(RoomConfig(), np.random.default_rng([args.seed + 1, i]))
        for i in range(args.fidelity_rooms)
    ]
    flat_rooms = [
        sample_room(flat, np.random.default_rng([args.seed + 1, i]))
        for i in range(args.fidelity_rooms)
    ]
    fidelity: dict[str, Any] = {"rt60_range_s": list(RoomConfig().rt60_s)}
    for name, rooms in (("hybrid", default_rooms), ("hybrid_flat_walls", flat_rooms)):
        targets = np.array([p.rt60_target_s for p in rooms])
        fidelity[name] = _fidelity(targets, *_measure([simulate_rir(p, fs) for p in rooms], fs))
    full_rooms = flat_rooms[: args.full_fidelity_rooms]
    full_rirs, full_targets, failed = [], [], 0
    for p in full_rooms:
        try:
            full_rirs.append(simulate_rir_full(p, fs))
            full_targets.append(p.rt60_target_s)
        except ValueError:  # Sabine cannot reach the target in this room
            failed += 1
    full = _fidelity(np.array(full_targets), *_measure(full_rirs, fs))
    full["inverse_sabine_failed"] = failed
    fidelity["pra_full_inverse_sabine_flat_walls"] = full

    ratios = [speed[k]["speedup"] for k in speed]
    result = {
        "sample_rate": fs,
        "rooms_per_rt60": args.rooms,
        "reps": args.reps,
        "cpu_count": os.cpu_count(),
        "pyroomacoustics": pra.__version__,
        "pra_num_threads": pra.constants.get("num_threads"),
        "speed": speed,
        "speed_info_rt60_0.8_1.0s": speed_info,
        "min_speedup_rt60_le_0.6s": min(ratios),
        "speed_target": SPEED_TARGET,
        "speed_target_met": min(ratios) >= SPEED_TARGET,
        "fidelity": fidelity,
        "fidelity_target": FIDELITY_TARGET,
        "fidelity_target_met": fidelity["hybrid"]["within_10pct_t20"] >= FIDELITY_TARGET,
    }
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

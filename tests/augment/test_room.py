"""Room configs, room sampling and RIR simulation."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from synthaudio.augment.acoustics import (
    T30_RANGE_DB,
    direct_path_index,
    measure_c50_db,
    measure_drr_db,
    measure_rt60,
)
from synthaudio.augment.room import (
    SPEED_OF_SOUND,
    MicArrayConfig,
    RoomConfig,
    RoomParams,
    sample_room,
    simulate_rir,
    simulate_rir_full,
)
from synthaudio.errors import ConfigError

FS = 16000
BASE = RoomParams(
    dims_m=(6.0, 5.0, 3.0),
    rt60_target_s=0.6,
    source_pos_m=(1.0, 2.5, 1.5),
    noise_source_pos_m=(5.0, 4.0, 1.6),
    mic_pos_m=((3.0, 2.5, 1.5),),
    materials=None,
    air_absorption=True,
    seed=7,
)


# ----------------------------------------------------------------------------- configs


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rt60_s": (1.0, 0.5)}, "rt60_s: must be (min, max) with 0.05 <= min <= max <= 5 s"),
        ({"rt60_s": (0.0, 0.5)}, "rt60_s: must be (min, max)"),
        ({"dims_m": ((3, 10), (3, 8), (0.5, 3))}, "dims_m: height must be (min, max) with 1 <="),
        ({"min_wall_distance_m": 2.0}, "dims_m: the smallest room (3 x 3 m) leaves no space"),
        ({"source_mic_distance_m": (6.0, 8.0)}, "source_mic_distance_m: minimum 6 m does not fit"),
        ({"mic_height_m": (0.5, 2.5)}, "mic_height_m: must lie inside the lowest room (0..2.4 m)"),
        ({"materials": ["no_such_wall"]}, "materials: unknown pyroomacoustics material"),
        ({"colour": "blue"}, "colour: Extra inputs are not permitted"),
        ({"rt60_s": "long"}, "rt60_s: Input should be a valid tuple"),
        ({"mic_array": {"kind": "linear", "num_mics": 4}}, "mic_array.spacing_m: is required"),
        (
            {"mic_array": {"kind": "circular", "num_mics": 4, "radius_m": 0.05, "spacing_m": 0.1}},
            "mic_array.spacing_m: is only used for kind 'linear', not 'circular'",
        ),
        ({"mic_array": {"kind": "single", "num_mics": 2}}, "mic_array.num_mics: must be 1"),
        ({"mic_array": {"kind": "ring"}}, "mic_array.kind: Input should be 'single', 'linear'"),
    ],
)
def test_bad_config_raises_one_line_config_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        RoomConfig(**kwargs)  # type: ignore[arg-type]
    text = str(info.value)
    assert text.startswith(message), text
    assert "\n" not in text


def test_nested_validation_keeps_the_key_path() -> None:
    class Outer(BaseModel):  # e.g. the augment section of corpus.yaml
        simulation: RoomConfig = RoomConfig()

    with pytest.raises(ValidationError) as info:
        Outer.model_validate({"simulation": {"mic_array": {"kind": "linear", "num_mics": 3}}})
    err = info.value.errors()[0]
    assert err["loc"] == ("simulation",)
    assert err["msg"] == "Value error, mic_array.spacing_m: is required for kind 'linear'"


def test_direct_mic_array_error_and_defaults() -> None:
    with pytest.raises(ConfigError, match=r"^radius_m: must be within 0.001..1 m, got 3.0$"):
        MicArrayConfig(kind="circular", num_mics=4, radius_m=3.0)
    cfg = RoomConfig()
    assert cfg.rt60_s == (0.2, 1.2)
    assert cfg.mic_array.num_mics == 1
    assert RoomConfig.model_validate(json.loads(cfg.model_dump_json())) == cfg


# ----------------------------------------------------------------------------- sampling


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(["single", "linear", "circular"]))
def test_sampled_rooms_meet_every_constraint(seed: int, kind: str) -> None:
    arrays = {
        "single": MicArrayConfig(),
        "linear": MicArrayConfig(kind="linear", num_mics=4, spacing_m=0.05),
        "circular": MicArrayConfig(kind="circular", num_mics=6, radius_m=0.1),
    }
    cfg = RoomConfig(mic_array=arrays[kind], materials=("brickwork", "carpet_cotton"))
    p = sample_room(cfg, np.random.default_rng(seed))
    dims = np.array(p.dims_m)
    for (lo, hi), d in zip(cfg.dims_m, dims, strict=True):
        assert lo <= d <= hi
    assert cfg.rt60_s[0] <= p.rt60_target_s <= cfg.rt60_s[1]
    mics = np.array(p.mic_pos_m)
    assert mics.shape == (arrays[kind].num_mics, 3)
    w = cfg.min_wall_distance_m
    for q in [*mics, np.array(p.source_pos_m), np.array(p.noise_source_pos_m)]:
        assert np.all(q[:2] >= w) and np.all(q[:2] <= dims[:2] - w) and 0 < q[2] < dims[2]
    d = np.linalg.norm(np.array(p.source_pos_m) - mics.mean(axis=0))
    lo, hi = cfg.source_mic_distance_m
    assert lo - 0.002 <= d <= hi + 0.002  # positions are rounded to mm
    assert p.materials is not None and set(p.materials) <= {"brickwork", "carpet_cotton"}
    assert RoomParams.from_dict(json.loads(json.dumps(p.to_dict()))) == p


def test_sampling_gives_up_with_a_clear_error() -> None:
    # Valid (2.83 m fit diagonally in the free 2 x 2 m floor), but practically never drawn.
    cfg = RoomConfig(
        dims_m=((3, 3), (3, 3), (2.5, 2.5)),
        source_mic_distance_m=(2.8, 2.8),
        mic_height_m=(1.0, 1.0),
        source_height_m=(1.0, 1.0),
    )
    with pytest.raises(ConfigError, match="could not place the source and microphones"):
        sample_room(cfg, np.random.default_rng(0))


def test_sampling_is_deterministic_and_seed_dependent() -> None:
    cfg = RoomConfig()
    a = sample_room(cfg, np.random.default_rng([4, 2]))
    assert a == sample_room(cfg, np.random.default_rng([4, 2]))
    assert a != sample_room(cfg, np.random.default_rng([4, 3]))


# ----------------------------------------------------------------------------- simulation


def test_rir_shape_delay_and_determinism() -> None:
    h = simulate_rir(BASE, FS)
    assert h.dtype == np.float32 and h.shape[0] == 1
    # n = mixing time + 1.2 RT60
    assert 1.2 * 0.6 * FS < h.shape[1] < (1.2 * 0.6 + 0.1) * FS
    assert direct_path_index(h) == round(2.0 / SPEED_OF_SOUND * FS)
    assert abs(h[0].max() - 1 / 2.0) < 0.05  # direct path amplitude 1/r
    assert np.array_equal(h, simulate_rir(BASE, FS))
    noise = simulate_rir(BASE, FS, source="noise")
    d_noise = np.linalg.norm(np.subtract(BASE.noise_source_pos_m, BASE.mic_pos_m[0]))
    assert direct_path_index(noise) == round(d_noise / SPEED_OF_SOUND * FS)
    assert not np.array_equal(simulate_rir(replace(BASE, seed=8), FS), h)
    with pytest.raises(ValueError, match="source must be"):
        simulate_rir(BASE, FS, source="music")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "array",
    [
        MicArrayConfig(kind="linear", num_mics=4, spacing_m=0.05),
        MicArrayConfig(kind="circular", num_mics=6, radius_m=0.1),
    ],
)
def test_multichannel_rirs(array: MicArrayConfig) -> None:
    p = sample_room(RoomConfig(mic_array=array, rt60_s=(0.5, 0.5)), np.random.default_rng(1))
    h = simulate_rir(p, FS)
    k = array.num_mics
    assert h.shape[0] == k and h.dtype == np.float32
    src = np.array(p.source_pos_m)
    for ch in range(k):
        dist = np.linalg.norm(src - np.array(p.mic_pos_m[ch]))
        assert abs(direct_path_index(h[ch]) - dist / SPEED_OF_SOUND * FS) <= 1.0
    # late tails are decorrelated across microphones
    late = h[:, int(0.15 * FS) : int(0.4 * FS)].astype(np.float64)
    corr = np.asarray(np.corrcoef(late))
    assert np.abs(corr[~np.eye(k, dtype=bool)]).max() < 0.1
    assert measure_rt60(h, FS) == pytest.approx(0.5, rel=0.03)


@pytest.mark.parametrize("rt60_s", [0.2, 0.45, 0.8, 1.2])
@pytest.mark.parametrize("materials", [None, ("carpet_cotton", "plasterboard", "hard_surface")])
def test_measured_rt60_is_calibrated_to_target(rt60_s: float, materials: tuple[str] | None) -> None:
    p = replace(BASE, rt60_target_s=rt60_s, materials=None if materials is None else materials * 2)
    h = simulate_rir(p, FS)
    assert measure_rt60(h, FS) == pytest.approx(rt60_s, rel=0.03)
    assert measure_rt60(h, FS, T30_RANGE_DB) == pytest.approx(rt60_s, rel=0.10)


def test_drr_falls_with_distance() -> None:
    drr = []
    for d in (0.5, 1.0, 2.0, 3.5):
        p = replace(BASE, mic_pos_m=((1.0 + d, 2.5, 1.5),))
        drr.append(measure_drr_db(simulate_rir(p, FS), FS))
    assert np.all(np.diff(drr) < -3.0), drr  # about -6 dB per doubling of distance
    assert 0.0 > drr[0] > -5.0  # shoebox image sources: close to pyroomacoustics' -1.4 dB


def test_c50_falls_as_rt60_grows() -> None:
    c50 = [
        measure_c50_db(simulate_rir(replace(BASE, rt60_target_s=t), FS), FS)
        for t in (0.3, 0.6, 0.9, 1.2)
    ]
    assert np.all(np.diff(c50) < -1.0), c50
    assert c50[0] > 5.0 > 0.0 > c50[-1]


def test_air_absorption_makes_high_frequencies_decay_faster() -> None:
    p = replace(BASE, dims_m=(20.0, 15.0, 6.0), rt60_target_s=1.5, mic_pos_m=((10.0, 7.0, 1.5),))
    h = simulate_rir(p, FS)[0].astype(np.float64)
    rt = {}
    for f0 in (500.0, 4000.0):
        sos = scipy.signal.butter(4, [f0 / 1.41, f0 * 1.41], btype="bandpass", fs=FS, output="sos")
        rt[f0] = measure_rt60(scipy.signal.sosfiltfilt(sos, h), FS)
    # Eyring with ISO 9613-1 air absorption for this room predicts a ratio of 0.85
    assert 0.78 < rt[4000.0] / rt[500.0] < 0.92, rt
    flat = simulate_rir(replace(p, air_absorption=False), FS)[0].astype(np.float64)
    sos = scipy.signal.butter(4, [4000 / 1.41, 4000 * 1.41], btype="bandpass", fs=FS, output="sos")
    assert measure_rt60(scipy.signal.sosfiltfilt(sos, flat), FS) == pytest.approx(1.5, rel=0.1)


def test_full_reference_simulation() -> None:
    p = replace(BASE, dims_m=(4.0, 3.5, 2.6), rt60_target_s=0.25, mic_pos_m=((2.0, 2.0, 1.3),))
    full = simulate_rir_full(p, FS)
    assert full.dtype == np.float32 and full.shape[0] == 1
    dist = np.linalg.norm(np.subtract(p.source_pos_m, p.mic_pos_m[0]))
    assert direct_path_index(full) == round(dist / SPEED_OF_SOUND * FS)
    assert 0.15 < measure_rt60(full, FS) < 0.4  # plain Sabine + ISM: not calibrated

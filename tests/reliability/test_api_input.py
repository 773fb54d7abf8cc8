"""Bad input through the Python API: a ValueError (arrays, rates) or a SynthaudioError
(configs, files) whose message says which argument is wrong and how."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from relutil import write_tiny_config

from synthaudio.augment.augmenter import Augmenter
from synthaudio.augment.channel import ChannelParams, apply_channel
from synthaudio.augment.config import AugmentConfig, NoiseConfig, SpeedConfig
from synthaudio.augment.noise import NoiseFolder, mix_at_snr
from synthaudio.augment.rirbank import RirBank, apply_reverb, build_rir_bank
from synthaudio.augment.room import RoomConfig
from synthaudio.augment.speed import SpeedParams, apply_speed
from synthaudio.errors import ConfigError, InputError, SynthaudioError
from synthaudio.manifests.export import export_corpus
from synthaudio.pipelines.generate.pipeline import generate_corpus

SR = 16000
GOOD = (0.1 * np.sin(np.arange(SR) * 0.05)).astype(np.float32)


def _with(value: float, at: int = 10) -> np.ndarray:
    x = GOOD.copy()
    x[at] = value
    return x


BAD_ARRAYS: list[tuple[str, Any, str]] = [
    ("nan", _with(np.nan), "NaN or infinite"),
    ("inf", _with(np.inf), "NaN or infinite"),
    ("minus-inf", _with(-np.inf), "NaN or infinite"),
    ("empty", np.zeros(0, np.float32), "empty"),
    ("int16", (GOOD * 32767).astype(np.int16), "float32 or float64, got int16"),
    ("complex", GOOD.astype(np.complex64), "float32 or float64, got complex64"),
    ("list", [0.1, 0.2], "numpy array, got list"),
    ("3-d", GOOD.reshape(1, 1, -1), "shape"),
]
BAD_RATES: list[tuple[str, Any, str]] = [
    ("zero", 0, "sample_rate must be > 0, got 0"),
    ("negative", -16000, "sample_rate must be > 0"),
    ("float", 16000.0, "sample_rate must be an int, got float"),
    ("bool", True, "sample_rate must be an int, got bool"),
]
IDS = [c[0] for c in BAD_ARRAYS]
RATE_IDS = [c[0] for c in BAD_RATES]


def _augmenter() -> Augmenter:
    return Augmenter(AugmentConfig(speed=SpeedConfig(probability=1.0),
                                   noise=NoiseConfig(probability=1.0)))


CALLS: dict[str, Callable[[Any, Any], object]] = {
    "Augmenter": lambda x, sr: _augmenter()(x, sr, np.random.default_rng(0)),
    "apply_speed": lambda x, sr: apply_speed(x, SpeedParams(1.1), sr),
    "apply_channel": lambda x, sr: apply_channel(x, ChannelParams(gain_db=-3.0), sr),
}


@pytest.mark.parametrize("func", list(CALLS))
@pytest.mark.parametrize("audio, message", [c[1:] for c in BAD_ARRAYS], ids=IDS)
def test_bad_audio_array_is_a_value_error(func: str, audio: Any, message: str) -> None:
    if func == "Augmenter" and message == "shape":
        message = "mono with shape (n,)"
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        CALLS[func](audio, SR)


@pytest.mark.parametrize("func", list(CALLS))
@pytest.mark.parametrize("rate, message", [c[1:] for c in BAD_RATES], ids=RATE_IDS)
def test_bad_sample_rate_is_a_value_error(func: str, rate: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CALLS[func](GOOD, rate)


def test_augmenter_rejects_multichannel_input_and_a_missing_generator() -> None:
    with pytest.raises(ValueError, match=r"mono with shape \(n,\), got shape \(2, 16000\)"):
        _augmenter()(np.stack([GOOD, GOOD]), SR, np.random.default_rng(0))
    with pytest.raises(TypeError, match="numpy Generator"):
        _augmenter()(GOOD, SR, 0)  # type: ignore[arg-type]


@pytest.mark.parametrize("audio, message", [c[1:] for c in BAD_ARRAYS], ids=IDS)
@pytest.mark.parametrize("which", ["speech", "noise"])
def test_mix_at_snr_checks_both_arrays(which: str, audio: Any, message: str) -> None:
    args = {"speech": GOOD, "noise": GOOD[::-1].copy()}
    args[which] = audio
    with pytest.raises(ValueError, match=f"{which} .*" if message == "shape" else which):
        mix_at_snr(args["speech"], args["noise"], 10.0)


@pytest.mark.parametrize("snr", [np.nan, np.inf, "10", None])
def test_mix_at_snr_needs_a_finite_number(snr: Any) -> None:
    with pytest.raises(ValueError, match="snr_db must be finite"):
        mix_at_snr(GOOD, GOOD[::-1].copy(), snr)


def test_mix_at_snr_shape_mismatch_names_the_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(16000,\) and noise \(8000,\)"):
        mix_at_snr(GOOD, GOOD[:8000].copy(), 10.0)


@pytest.mark.parametrize("audio, message", [c[1:] for c in BAD_ARRAYS[:5]], ids=IDS[:5])
def test_apply_reverb_checks_audio_and_rir(audio: Any, message: str) -> None:
    rir = np.zeros((1, 100), np.float32)
    rir[0, 5] = 1.0
    with pytest.raises(ValueError, match="NaN|empty|float32|wants audio"):
        apply_reverb(audio, rir)
    with pytest.raises(ValueError, match="rir|wants audio"):
        apply_reverb(GOOD, np.atleast_2d(audio))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"jobs": 0}, "-j/--jobs must be >= 1, got 0"),
        ({"jobs": -2}, "-j/--jobs must be >= 1"),
        ({"jobs": 1.5}, "-j/--jobs must be an integer, got 1.5"),
        ({"jobs": True}, "-j/--jobs must be an integer, got True"),
        ({"limit": 0}, "--limit must be >= 1, got 0"),
        ({"limit": "3"}, "--limit must be an integer"),
        ({"seed": 1.5}, "--seed must be an integer"),
        ({"resume": True, "overwrite": True}, "exclude each other"),
    ],
)
def test_generate_corpus_checks_its_arguments(tmp_path: Path, kwargs: dict[str, Any],
                                              message: str) -> None:
    config = write_tiny_config(tmp_path / "cfg")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        generate_corpus(config, tmp_path / "out", progress=False, **kwargs)
    assert not (tmp_path / "out").exists()


def test_generate_corpus_refuses_an_out_that_is_a_file(tmp_path: Path) -> None:
    config = write_tiny_config(tmp_path / "cfg")
    (tmp_path / "out").write_text("mine")
    with pytest.raises(SynthaudioError, match="exists and is not a directory"):
        generate_corpus(config, tmp_path / "out", progress=False)
    assert (tmp_path / "out").read_text() == "mine"


def test_file_level_api_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=f"{tmp_path / 'none'}: noise folder not found"):
        NoiseFolder(tmp_path / "none")
    with pytest.raises(InputError, match="not a folder of measured RIRs"):
        RirBank.from_measured_folder(tmp_path / "none", SR)
    with pytest.raises(InputError, match="no RIR bank index"):
        RirBank.load(tmp_path)
    with pytest.raises(ConfigError, match="count must be >= 1"):
        build_rir_bank(tmp_path / "bank", RoomConfig(), 0, SR, seed=0)
    with pytest.raises(InputError, match="unknown export format 'parquet'"):
        export_corpus(tmp_path, ["parquet"])

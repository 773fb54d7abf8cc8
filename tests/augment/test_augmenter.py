"""The Augmenter end to end, with a small fake RIR bank (exponentially decaying noise RIRs)."""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.signal
import soundfile as sf
import yaml
from pydantic import ValidationError

from synthaudio.augment import augmenter as augmenter_mod
from synthaudio.augment.augmenter import FIT_PEAK, Augmenter, AugmentParams, AugmentResult
from synthaudio.augment.config import AugmentConfig, NoiseConfig
from synthaudio.augment.noise import NoiseFolder, measure_snr_db
from synthaudio.augment.rirbank import RirBank
from synthaudio.errors import ConfigError

SR = 16000
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "real_speech" / "wav"
DIRECT = 80  # samples: the fake RIRs' direct path (5 ms)


@dataclass(frozen=True)
class FakeEntry:
    rir_id: str
    num_channels: int
    sample_rate: int
    labels: dict[str, Any]
    noise_path: str | None = "noise.wav"


class FakeBank:
    """K-channel exponentially decaying noise RIRs with a direct path at DIRECT samples."""

    def __init__(self, num_channels: int = 4, count: int = 3, rt60_s: float = 0.4,
                 measured: bool = False) -> None:
        rng = np.random.default_rng(123)
        m = int(rt60_s * SR)
        decay = np.exp(-6.9 * np.arange(m) / (rt60_s * SR))
        self.entries = tuple(
            FakeEntry(f"r{i}", num_channels, SR,
                      {"rt60_s": rt60_s, "drr_db": 2.0, "c50_db": 6.0,
                       "rt60_target_s": rt60_s, "direct_delay_s": DIRECT / SR},
                      None if measured else "noise.wav")
            for i in range(count))
        self.rirs: dict[tuple[str, str], np.ndarray] = {}
        for e in self.entries:
            for source in ("speech", "noise"):
                h = (0.05 * rng.standard_normal((num_channels, m)) * decay).astype(np.float32)
                h[:, :DIRECT] = 0.0
                h[:, DIRECT] = 1.0
                self.rirs[(e.rir_id, source)] = h

    def choose(self, rng: np.random.Generator) -> FakeEntry:
        return self.entries[int(rng.integers(len(self.entries)))]

    def get(self, rir_id: str, source: str = "speech") -> np.ndarray:
        return self.rirs[(rir_id, source)]


def _speech(name: str = "cards-001.wav") -> np.ndarray:
    x, rate = sf.read(str(FIXTURE / name), dtype="float32")
    assert rate == SR
    return x


def _config(**sections: Any) -> AugmentConfig:
    base: dict[str, Any] = {
        "speed": {"probability": 1.0},
        "room": {"probability": 1.0, "tail_s": 0.2},
        "noise": {"probability": 1.0, "num_sources": [1, 3],
                  "kinds": {"white": 1, "pink": 1, "brown": 1, "blue": 1, "hum": 1,
                            "music": 1, "impulsive": 1, "babble": 1}},
    }
    base.update(sections)
    return AugmentConfig.model_validate(base)


def _augmenter(cfg: AugmentConfig | None = None, k: int = 4, **kw: Any) -> Augmenter:
    pool = [_speech("cards-002.wav"), _speech("cards-003.wav"), _speech("forever-01.wav")]
    return Augmenter(cfg or _config(), rir_bank=FakeBank(k, **kw), babble_pool=pool)


def test_snr_from_stems_matches_request_and_mix_is_the_sum() -> None:
    aug = _augmenter()
    x = _speech()
    for seed in range(12):
        r = aug(x, SR, np.random.default_rng([7, seed]))
        assert r.params.noise is not None and r.params.channel is None
        assert r.report.snr_db is not None
        assert abs(r.report.snr_db - r.params.noise.snr_db) < 0.1
        assert abs(measure_snr_db(r.speech, r.noise) - r.params.noise.snr_db) < 0.1
        assert np.array_equal(r.audio, r.speech + r.noise)  # channel off: the exact sum


def test_multichannel_shapes_and_length_policy() -> None:
    x = _speech()
    cfg = _config(speed={"probability": 1.0, "factors": [1.1]})
    r = _augmenter(cfg, k=4)(x, SR, np.random.default_rng(0))
    n_out = round(x.size / 1.1) + round(0.2 * SR)
    assert r.audio.shape == r.speech.shape == r.noise.shape == (4, n_out)
    assert r.audio.dtype == np.float32 and r.report.num_channels == 4
    mono = _augmenter(cfg, k=1)(x, SR, np.random.default_rng(0))
    assert mono.audio.shape == (n_out,)
    dry = Augmenter(AugmentConfig())(x, SR, np.random.default_rng(0))
    assert np.array_equal(dry.audio, x) and dry.params.to_dict() == {
        "speed": None, "room": None, "noise": None, "channel": None}


def test_determinism_pickling_and_json() -> None:
    cfg = _config(channel={"eq": {"probability": 1.0}, "codec": {"probability": 1.0},
                           "packet_loss": {"probability": 0.5}})
    aug = _augmenter(cfg)
    x = _speech()
    a = aug(x, SR, np.random.default_rng([1, 2]))
    b = aug(x, SR, np.random.default_rng([1, 2]))
    c = pickle.loads(pickle.dumps(aug))(x, SR, np.random.default_rng([1, 2]))
    assert a.audio.tobytes() == b.audio.tobytes() == c.audio.tobytes()
    assert a.params == b.params == c.params
    other = aug(x, SR, np.random.default_rng([1, 3]))
    assert other.params != a.params
    blob = json.loads(json.dumps(a.params.to_dict()))
    assert set(blob) == {"speed", "room", "noise", "channel"}
    assert blob["room"]["rir_id"] in {"r0", "r1", "r2"}
    assert blob["channel"]["codec"]["kind"] in {"mulaw", "alaw", "mp3", "opus"}
    json.dumps(a.report.to_dict())
    # replaying the stored params gives the same audio, also from their JSON form
    again = aug.apply(x, SR, a.params)
    assert again.audio.tobytes() == a.audio.tobytes()
    restored = AugmentParams.from_dict(blob, x.size, SR)
    assert restored == a.params
    assert aug.apply(x, SR, restored).audio.tobytes() == a.audio.tobytes()


def test_stage_streams_are_independent() -> None:
    x = _speech()
    a = _augmenter(_config())(x, SR, np.random.default_rng(5))
    b = _augmenter(_config(channel={"gain": {"probability": 1.0}}))(
        x, SR, np.random.default_rng(5))
    assert a.params.noise == b.params.noise and a.params.room == b.params.room


def test_reverb_is_the_linear_convolution() -> None:
    cfg = _config(speed={"probability": 0.0}, noise={"probability": 0.0},
                  room={"probability": 1.0, "tail_s": 1.0, "normalize_level": False})
    aug = _augmenter(cfg, k=2, rt60_s=0.3)
    x = _speech()
    r = aug(x, SR, np.random.default_rng(0))
    assert r.params.room is not None
    rir = aug.rir_bank.get(r.params.room.rir_id)  # type: ignore[union-attr]
    ref = scipy.signal.fftconvolve(x[None, :], rir, axes=-1)
    n_out = x.size + SR
    expected = np.pad(ref, ((0, 0), (0, n_out - ref.shape[-1])))
    assert r.audio.shape == (2, n_out)
    # above full scale the whole output is turned down by the recorded gain (fit_full_scale)
    gain = 10 ** (r.report.output_gain_db / 20)
    expected = expected * min(1.0, FIT_PEAK / np.max(np.abs(expected)))
    assert gain == pytest.approx(np.max(np.abs(expected)) / np.max(np.abs(ref)), rel=1e-3)
    assert np.max(np.abs(r.audio - expected)) < 1e-5 * np.max(np.abs(expected))
    short = _augmenter(cfg.model_copy(update={"room": cfg.room.model_copy(
        update={"tail_s": 0.1})}), k=2, rt60_s=0.3)(x, SR, np.random.default_rng(0))
    assert short.audio.shape == (2, x.size + SR // 10)
    cut = ref[:, : x.size + SR // 10]
    cut = cut * min(1.0, FIT_PEAK / np.max(np.abs(cut)))
    assert np.max(np.abs(short.audio - cut)) < 1e-5 * np.max(np.abs(cut))


def test_reverberant_speech_keeps_the_dry_level() -> None:
    cfg = _config(speed={"probability": 0.0}, noise={"probability": 0.0})
    x = _speech()
    r = _augmenter(cfg, k=4, rt60_s=0.8)(x, SR, np.random.default_rng(0))
    dry = float(np.mean(x.astype(np.float64) ** 2))
    assert np.mean(r.speech.astype(np.float64) ** 2) == pytest.approx(dry, rel=1e-4)


def test_overlap_add_path_matches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(augmenter_mod, "_SINGLE_FFT_MAX", 1024)  # force overlap-add
    cfg = _config(speed={"probability": 0.0}, noise={"probability": 0.0},
                  room={"probability": 1.0, "tail_s": 0.5, "normalize_level": False})
    aug = _augmenter(cfg, k=3, rt60_s=0.25)
    x = _speech("librivox-0870.wav")  # 7.1 s: several blocks
    r = aug(x, SR, np.random.default_rng(0))
    assert r.params.room is not None
    rir = aug.rir_bank.get(r.params.room.rir_id)  # type: ignore[union-attr]
    ref = scipy.signal.fftconvolve(x[None, :], rir, axes=-1)
    n_out = x.size + SR // 2
    assert r.audio.shape == (3, n_out)
    expected = np.pad(ref, ((0, 0), (0, n_out - ref.shape[-1])))
    assert np.max(np.abs(r.audio - expected)) < 1e-5 * np.max(np.abs(ref))
    short = _augmenter(cfg.model_copy(update={"room": cfg.room.model_copy(
        update={"tail_s": 0.05})}), k=3, rt60_s=0.25)(x, SR, np.random.default_rng(0))
    assert np.max(np.abs(short.audio - ref[:, : x.size + 800])) < 1e-5 * np.max(np.abs(ref))


@pytest.mark.parametrize("codec", [None, "mp3", "opus"])
def test_word_timings_follow_speed_and_direct_delay(codec: str | None) -> None:
    x = 0.01 * np.random.default_rng(0).standard_normal(2 * SR).astype(np.float32)
    x[SR] = 1.0  # an event at 1.0 s
    channel = {} if codec is None else {"codec": {"probability": 1.0, "kinds": {codec: 1.0},
                                                  "mp3_compression": [0.0, 0.0],
                                                  "opus_compression": [0.8, 0.8]}}
    cfg = _config(speed={"probability": 1.0, "factors": [0.9]}, noise={"probability": 0.0},
                  channel=channel)
    r = _augmenter(cfg, k=1)(x, SR, np.random.default_rng(0))
    assert (r.report.codec is None) == (codec is None)
    assert r.time_scale == pytest.approx(1 / 0.9) and r.time_offset_s == DIRECT / SR
    expected_s = r.map_time(1.0)
    assert expected_s == pytest.approx(1.0 / 0.9 + 0.005)
    peak_s = int(np.argmax(np.abs(r.audio))) / SR
    assert abs(peak_s - expected_s) <= 0.001
    words = r.map_words([["event", 1.0, 0.2]])
    assert words == [["event", pytest.approx(expected_s), pytest.approx(0.2 / 0.9)]]


def test_folder_noise_point_source_and_measured_rirs(tmp_path: Path) -> None:
    noise_dir = tmp_path / "noise"
    noise_dir.mkdir()
    rng = np.random.default_rng(0)
    sf.write(str(noise_dir / "fan.wav"), 0.1 * rng.standard_normal(8000 * 6), 8000)
    cfg = _config(noise={"probability": 1.0, "kinds": {"folder": 1.0},
                         "noise_dirs": [str(noise_dir)], "point_source_probability": 1.0})
    folder = NoiseFolder(noise_dir)
    aug = Augmenter(cfg, rir_bank=FakeBank(2), noise_folders=[folder])
    r = aug(_speech(), SR, np.random.default_rng(1))
    assert r.params.noise is not None
    assert {s.placement for s in r.params.noise.sources} == {"point"}
    assert {s.path for s in r.params.noise.sources} == {"fan.wav"}
    assert r.report.snr_db == pytest.approx(r.params.noise.snr_db, abs=0.1)
    measured = Augmenter(cfg, rir_bank=FakeBank(2, measured=True), noise_folders=[folder])
    m = measured(_speech(), SR, np.random.default_rng(1))
    assert m.params.noise is not None
    assert {s.placement for s in m.params.noise.sources} == {"diffuse"}


def test_with_the_real_rir_bank(tmp_path: Path) -> None:
    rir_dir = tmp_path / "rirs"
    rir_dir.mkdir()
    for i, rir in enumerate(FakeBank(2, count=2).rirs.values()):
        sf.write(str(rir_dir / f"m{i}.wav"), rir.T, SR, subtype="FLOAT")
    bank = RirBank.from_measured_folder(rir_dir, SR)
    aug = Augmenter(_config(), rir_bank=bank, babble_pool=[_speech("cards-002.wav")])
    r = aug(_speech(), SR, np.random.default_rng(3))
    assert r.audio.shape[0] == 2 and r.params.room is not None
    assert r.time_offset_s == pytest.approx(DIRECT / SR, abs=1 / SR)
    assert r.report.snr_db == pytest.approx(r.params.noise.snr_db, abs=0.1)  # type: ignore[union-attr]
    pickle.loads(pickle.dumps(aug))


@pytest.mark.parametrize(
    ("audio", "rate", "match"),
    [
        (np.array([0.0, np.nan], np.float32), SR, "NaN"),
        (np.array([0.0, np.inf]), SR, "NaN or infinite"),
        (np.zeros(0, np.float32), SR, "empty"),
        (np.zeros(10, np.int16), SR, "float32 or float64"),
        (np.zeros((2, 10), np.float32), SR, r"shape \(2, 10\)"),
        (np.zeros(10, np.float32), 0, "sample_rate must be > 0"),
        ([0.1, 0.2], SR, "numpy array"),
    ],
)
def test_input_validation(audio: Any, rate: int, match: str) -> None:
    aug = Augmenter(AugmentConfig())
    with pytest.raises(ValueError, match=match):
        aug(audio, rate, np.random.default_rng(0))


def test_float64_is_converted_and_params_must_match() -> None:
    aug = _augmenter()
    x = _speech().astype(np.float64)
    r = aug(x, SR, np.random.default_rng(0))
    assert r.audio.dtype == np.float32
    with pytest.raises(ValueError, match="params were drawn for"):
        aug.apply(x[:-1], SR, r.params)


def test_missing_resources_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"augment\.room\.probability"):
        Augmenter(_config())
    with pytest.raises(ConfigError, match=r"augment\.noise\.kinds\.babble"):
        Augmenter(_config(), rir_bank=FakeBank())


def test_config_yaml_shape_and_errors() -> None:
    text = """
speed: {probability: 1.0, factors: [0.9, 1.0, 1.1]}
room: {probability: 0.5, bank_size: 50, tail_s: 0.3,
       simulation: {rt60_s: [0.3, 0.9], mic_array: {kind: linear, num_mics: 2, spacing_m: 0.05}}}
noise: {probability: 0.8, snr_db: [0, 20], noise_dirs: [musan/noise], num_sources: [1, 3]}
channel:
  codec: {probability: 0.2, kinds: {mulaw: 1, opus: 2}}
  packet_loss: {probability: 0.1, loss_rate: [0.05, 0.2], frame_ms: [20, 20]}
"""
    cfg = AugmentConfig.model_validate(yaml.safe_load(text))
    assert cfg.room.simulation.mic_array.num_mics == 2
    assert cfg.noise.kinds["folder"] == 3.0 and cfg.noise.kinds["pink"] == 1.0
    assert cfg.channel.codec.kinds == {"mulaw": 1, "opus": 2}
    bad = [
        ({"noise": {"snr_db": [30, 5]}}, "snr_db: inverted range"),
        ({"noise": {"probability": 1.5}}, "less than or equal to 1"),
        ({"noise": {"kinds": {"folder": 1.0}}}, "needs at least one folder"),
        ({"noise": {"kinds": {"pinkk": 1.0}}}, "pink"),
        ({"speed": {"factors": [3.0]}}, r"factors: \[3.0\] outside"),
        ({"channel": {"codec": {"mp3_compression": [0.5, 1.0]}}}, "mp3_compression"),
        ({"channel": {"eqq": {}}}, "Extra inputs"),
    ]
    for data, match in bad:
        with pytest.raises(ValidationError, match=match):
            AugmentConfig.model_validate(data)
    assert NoiseConfig().kinds.get("folder") is None


def test_result_type() -> None:
    r = _augmenter()(_speech(), SR, np.random.default_rng(0))
    assert isinstance(r, AugmentResult)
    assert r.map_words(None) is None

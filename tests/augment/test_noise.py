"""Noise sources, the noise folder, sampling and mixing at an SNR."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import scipy.signal
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from synthaudio.augment import noise as noise_mod
from synthaudio.augment.config import NoiseConfig
from synthaudio.augment.noise import (
    NoiseFolder,
    NoiseParams,
    NoiseSourceParams,
    measure_snr_db,
    mix_at_snr,
    render_noise,
    render_source,
    sample_noise,
)
from synthaudio.augment.noise_babble import BabbleTalker, babble
from synthaudio.augment.noise_colored import colored_noise
from synthaudio.augment.noise_hum import mains_hum
from synthaudio.augment.noise_impulsive import impulsive_events
from synthaudio.augment.noise_music import music_bed
from synthaudio.errors import ConfigError, InputError

SR = 16000


def _slope_db_per_octave(x: np.ndarray, sample_rate: int) -> float:
    f, psd = scipy.signal.welch(x, fs=sample_rate, nperseg=4096)
    band = (f >= 100) & (f <= 4000)
    slope, _ = np.polyfit(np.log2(f[band]), 10 * np.log10(psd[band]), 1)
    return float(slope)


@pytest.mark.parametrize(
    ("color", "expected"), [("white", 0.0), ("pink", -3.01), ("brown", -6.02), ("blue", 3.01)]
)
def test_colored_noise_spectral_slope(color: str, expected: float) -> None:
    x = colored_noise(color, 2**18, SR, np.random.default_rng(1))
    assert x.dtype == np.float32 and x.shape == (2**18,)
    assert abs(_slope_db_per_octave(x, SR) - expected) < 1.0
    assert np.sqrt(np.mean(x.astype(np.float64) ** 2)) == pytest.approx(1.0, rel=1e-4)


def test_procedural_sources_unit_rms_and_seeded() -> None:
    makers = {
        "hum": lambda r: mains_hum(SR, SR, 50.0, r),
        "music": lambda r: music_bed(2 * SR, SR, r),
        "impulsive": lambda r: impulsive_events(2 * SR, SR, r),
    }
    for name, make in makers.items():
        a, b = make(np.random.default_rng(5)), make(np.random.default_rng(5))
        assert a.dtype == np.float32, name
        assert np.array_equal(a, b), name
        assert np.mean(a.astype(np.float64) ** 2) == pytest.approx(1.0, rel=1e-4), name
        assert not np.array_equal(a, make(np.random.default_rng(6))), name


@pytest.mark.parametrize("base_hz", [50.0, 60.0])
def test_hum_energy_at_mains_harmonics(base_hz: float) -> None:
    x = mains_hum(4 * SR, SR, base_hz, np.random.default_rng(0))
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(x.size, 1 / SR)
    near = np.zeros_like(f, dtype=bool)
    for k in range(1, 13):
        near |= np.abs(f - k * base_hz) < 2.0
    assert spec[near].sum() / spec.sum() > 0.99


def test_impulsive_events_are_sparse() -> None:
    x = impulsive_events(10 * SR, SR, np.random.default_rng(3))
    # most of the time is near silence: a high crest factor
    assert np.max(np.abs(x)) > 8.0
    assert np.mean(np.abs(x) < 0.01) > 0.5


def test_babble_sums_looped_clips() -> None:
    rng = np.random.default_rng(0)
    pool: list[np.ndarray] = [rng.standard_normal(1000).astype(np.float32) * 3,
                              rng.standard_normal(700)]
    talkers = (BabbleTalker(0, 10, 0.0), BabbleTalker(1, 650, -6.0))
    out = babble(pool, talkers, 5000)
    assert out.shape == (5000,)
    assert np.mean(out.astype(np.float64) ** 2) == pytest.approx(1.0, rel=1e-4)
    # one talker alone is the clip at unit RMS, looped from its offset
    single = babble(pool, (BabbleTalker(0, 10, 0.0),), 2000)
    clip = pool[0] / np.sqrt(np.mean(pool[0].astype(np.float64) ** 2))
    assert np.allclose(single[:990], clip[10:], atol=1e-5)
    assert np.allclose(single[990:1990], clip, atol=1e-5)


# --- mixing ---------------------------------------------------------------------------------


def test_mix_at_snr_exact() -> None:
    rng = np.random.default_rng(0)
    speech = rng.standard_normal((2, 8000)).astype(np.float32) * 0.1
    noise = rng.standard_normal((2, 8000)).astype(np.float32) * 3.0
    s, n = mix_at_snr(speech, noise, 7.5)
    assert s is speech or np.array_equal(s, speech)
    assert measure_snr_db(s, n) == pytest.approx(7.5, abs=1e-4)
    p_s = np.mean(speech.astype(np.float64) ** 2)
    assert np.mean(n.astype(np.float64) ** 2) == pytest.approx(p_s / 10 ** 0.75, rel=1e-5)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(16, 4000),
    k=st.integers(1, 4),
    snr_db=st.floats(-15.0, 60.0),
    speech_db=st.floats(-60.0, 10.0),
    noise_db=st.floats(-80.0, 20.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_mix_at_snr_property(n: int, k: int, snr_db: float, speech_db: float, noise_db: float,
                             seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = (n,) if k == 1 else (k, n)
    speech = (rng.standard_normal(shape) * 10 ** (speech_db / 20)).astype(np.float32)
    noise = (rng.laplace(size=shape) * 10 ** (noise_db / 20)).astype(np.float32)
    s, scaled = mix_at_snr(speech, noise, snr_db)
    assert scaled.shape == shape and scaled.dtype == np.float32
    assert abs(measure_snr_db(s, scaled) - snr_db) < 0.01


def test_mix_at_snr_errors() -> None:
    a = np.ones(10, np.float32)
    with pytest.raises(ValueError, match=r"\(10,\).*\(2, 10\)"):
        mix_at_snr(a, np.ones((2, 10), np.float32), 10.0)
    with pytest.raises(ValueError, match="noise is silent"):
        mix_at_snr(a, np.zeros(10, np.float32), 10.0)
    with pytest.raises(ValueError, match="speech is silent"):
        mix_at_snr(np.zeros(10, np.float32), a, 10.0)
    with pytest.raises(ValueError, match="finite"):
        mix_at_snr(a, a, math.nan)
    assert measure_snr_db(a, np.zeros(10, np.float32)) == math.inf
    assert measure_snr_db(a, 0.1 * a) == pytest.approx(20.0)


# --- noise folder ---------------------------------------------------------------------------


def _write(path: Path, data: np.ndarray, rate: int, subtype: str = "PCM_16") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), data, rate, subtype=subtype)
    return path


def test_noise_folder_indexes_headers_and_reads_only_the_segment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    big = rng.standard_normal(SR * 120).astype(np.float32) * 0.1  # two minutes
    _write(tmp_path / "musan" / "noise" / "big.wav", big, SR)
    _write(tmp_path / "musan" / "noise" / "sub" / "small.flac", big[:4000], SR)
    (tmp_path / "musan" / "README").write_text("not audio, skipped")
    reads: list[dict[str, object]] = []
    real_read = sf.read

    def no_read(*args: object, **kwargs: object) -> None:
        raise AssertionError("indexing must not read audio data")

    monkeypatch.setattr(noise_mod.sf, "read", no_read)
    folder = NoiseFolder(tmp_path / "musan")
    assert [f.path for f in folder.files] == ["noise/big.wav", "noise/sub/small.flac"]
    assert folder.files[0].frames == SR * 120

    def spy(*args: object, **kwargs: object) -> object:
        reads.append(dict(kwargs))
        return real_read(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(noise_mod.sf, "read", spy)
    seg = folder.read("noise/big.wav", 50 * SR, 8000, SR)
    assert reads == [{"frames": 8000, "start": 50 * SR, "dtype": "float32", "always_2d": True}]
    pcm16 = np.round(big[50 * SR: 50 * SR + 8000] * 32767) / 32767
    assert np.allclose(seg, pcm16, atol=1e-4)


def test_noise_folder_resamples_and_loops(tmp_path: Path) -> None:
    t = np.arange(8000) / 8000
    _write(tmp_path / "n" / "tone8k.wav", 0.5 * np.sin(2 * np.pi * 440 * t), 8000)
    folder = NoiseFolder(tmp_path / "n")
    seg = folder.read("tone8k.wav", 0, 3 * SR, SR)  # 3 s from a 1 s file at 8 kHz
    assert seg.shape == (3 * SR,) and seg.dtype == np.float32
    f = np.fft.rfftfreq(seg.size, 1 / SR)
    assert f[np.argmax(np.abs(np.fft.rfft(seg)))] == pytest.approx(440.0, abs=1.0)
    assert np.sqrt(np.mean(seg[SR: 2 * SR] ** 2)) == pytest.approx(0.5 / math.sqrt(2), rel=0.02)


def test_noise_folder_bad_files(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "fake.wav").write_text("hello, not a wav")
    with pytest.raises(InputError, match=r"fake\.wav: not a readable audio file"):
        NoiseFolder(tmp_path / "a")
    _write(tmp_path / "b" / "empty.wav", np.zeros(0, np.float32), SR)
    with pytest.raises(InputError, match=r"empty\.wav: empty audio file"):
        NoiseFolder(tmp_path / "b")
    bad = np.ones(4000, np.float32)
    bad[100] = np.nan
    _write(tmp_path / "c" / "nan.wav", bad, SR, subtype="FLOAT")
    folder = NoiseFolder(tmp_path / "c")
    with pytest.raises(InputError, match=r"nan\.wav: contains NaN"):
        folder.read("nan.wav", 0, 1000, SR)
    (tmp_path / "d").mkdir()
    with pytest.raises(InputError, match="no .wav or .flac files"):
        NoiseFolder(tmp_path / "d")
    with pytest.raises(InputError, match="noise folder not found"):
        NoiseFolder(tmp_path / "missing")
    for err in (InputError("x"),):
        assert "\n" not in str(err)


# --- sampling and rendering -------------------------------------------------------------------


def test_sample_noise_ranges_and_determinism(tmp_path: Path) -> None:
    _write(tmp_path / "f" / "n.wav", np.random.default_rng(0).standard_normal(SR * 5) * 0.1, SR)
    folder = NoiseFolder(tmp_path / "f")
    cfg = NoiseConfig(probability=1.0, snr_db=(3.0, 9.0), num_sources=(2, 3),
                      kinds={"pink": 1.0, "folder": 1.0, "babble": 1.0},
                      noise_dirs=(str(tmp_path / "f"),))
    kinds = set()
    for seed in range(30):
        p = sample_noise(cfg, np.random.default_rng(seed), num_samples=SR, sample_rate=SR,
                         folders=[folder], babble_lengths=[500, 800])
        assert p == sample_noise(cfg, np.random.default_rng(seed), num_samples=SR,
                                 sample_rate=SR, folders=[folder], babble_lengths=[500, 800])
        assert 3.0 <= p.snr_db <= 9.0 and 2 <= len(p.sources) <= 3
        assert p.sources[0].level_db == 0.0
        for s in p.sources:
            kinds.add(s.kind)
            assert s.placement == "diffuse"  # no room
            if s.kind == "folder":
                assert s.path == "n.wav" and 0 <= (s.start_frame or 0) <= 4 * SR
            if s.kind == "babble":
                assert s.talkers is not None and 3 <= len(s.talkers) <= 8
    assert kinds == {"pink", "folder", "babble"}
    with pytest.raises(ConfigError, match="babble"):
        sample_noise(cfg, np.random.default_rng(0), num_samples=SR, sample_rate=SR,
                     folders=[folder])


def test_diffuse_multichannel_coherence() -> None:
    n = 4 * SR
    for coherence in (0.0, 0.5):
        src = NoiseSourceParams("pink", 0.0, "diffuse", seed=11, coherence=coherence)
        x = render_source(src, n, SR, num_channels=4)
        assert x.shape == (4, n)
        assert np.mean(x.astype(np.float64) ** 2) == pytest.approx(1.0, rel=1e-4)
        corr = np.corrcoef(x)[np.triu_indices(4, 1)]
        assert np.all(np.abs(corr - coherence) < 0.1), corr


def test_point_source_goes_through_the_noise_rir() -> None:
    rir = np.zeros((2, 400), np.float32)
    rir[0, 10], rir[1, 250] = 1.0, 0.5
    src = NoiseSourceParams("white", 0.0, "point", seed=3, coherence=0.0, preroll=8000)
    x = render_source(src, SR, SR, num_channels=2, noise_rir=rir)
    dry = colored_noise("white", SR + 8000, SR, np.random.default_rng([3, 0]))
    # channel 1 is channel 0 delayed by 240 samples at half the amplitude
    assert np.allclose(x[1, 240:], 0.5 * x[0, :-240], atol=1e-5)
    assert np.corrcoef(x[0], dry[8000 - 10: 8000 - 10 + SR])[0, 1] > 0.999
    with pytest.raises(ValueError, match="noise RIR"):
        render_source(src, SR, SR, num_channels=2)


def test_render_noise_levels() -> None:
    params = NoiseParams(
        snr_db=10.0, num_samples=SR,
        sources=(NoiseSourceParams("white", 0.0, "diffuse", 1, 0.0),
                 NoiseSourceParams("brown", -10.0, "diffuse", 2, 0.0)))
    stem = render_noise(params, SR)
    assert stem.shape == (1, SR)
    # independent sources: powers add, 1 + 0.1
    assert np.mean(stem.astype(np.float64) ** 2) == pytest.approx(1.1, rel=0.05)
    assert params.to_dict()["sources"][1] == {"kind": "brown", "level_db": -10.0,
                                              "placement": "diffuse", "seed": 2,
                                              "coherence": 0.0, "preroll": 0}


@pytest.mark.parametrize(("color", "expected"), [("pink", -3.01), ("brown", -6.02),
                                                  ("blue", 3.01)])
def test_colored_noise_of_a_slow_fft_length_keeps_its_slope(color: str, expected: float) -> None:
    n = 2**17 + 1  # 3 x 43691: shaped over the next fast length, then cut
    x = colored_noise(color, n, SR, np.random.default_rng(4))
    assert x.shape == (n,) and x.dtype == np.float32
    assert np.mean(x.astype(np.float64) ** 2) == pytest.approx(1.0, rel=1e-4)
    assert abs(_slope_db_per_octave(x, SR) - expected) < 1.0
    assert np.array_equal(x, colored_noise(color, n, SR, np.random.default_rng(4)))

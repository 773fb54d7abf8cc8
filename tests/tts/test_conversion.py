import librosa
import numpy as np
import pytest

from synthaudio.tts.align import align_words
from synthaudio.tts.conversion import (
    ConversionConfig,
    ConversionParams,
    apply_conversion,
    sample_conversion,
    warp_envelope,
)
from synthaudio.tts.espeak import EspeakEngine
from synthaudio.tts.espeak_binding import EspeakVoice

TEXT = "the birch canoe slid on the smooth planks"


@pytest.fixture(scope="module")
def speech():
    s = EspeakEngine().synthesize(TEXT, EspeakVoice("en-us", "m3", 160, 45, 50, 100, 0))
    return s


def median_f0(audio, sr):
    f0 = librosa.yin(audio, fmin=50, fmax=500, sr=sr, frame_length=1024)
    rms = librosa.feature.rms(y=audio, frame_length=1024)[0][:len(f0)]
    return float(np.median(f0[:len(rms)][rms > 0.3 * rms.max()]))


def log_spectrum(audio, sr):
    """Mean log power on a log-frequency grid (300..4000 Hz, 200 points)."""
    spec = np.abs(librosa.stft(audio, n_fft=1024)) ** 2
    freqs = librosa.fft_frequencies(sr=sr, n_fft=1024)
    loud = spec.sum(0) > 0.05 * spec.sum(0).max()
    mean = np.log(spec[:, loud].mean(1) + 1e-12)
    grid = np.exp(np.linspace(np.log(300), np.log(4000), 200))
    return grid, np.interp(grid, freqs, mean)


def best_shift(a, b, grid):
    """The log-frequency shift of b against a that correlates best."""
    step = np.log(grid[1] / grid[0])
    best, best_k = -np.inf, 0
    for k in range(-30, 31):
        x = a[30:-30]
        y = b[30 + k:len(b) - 30 + k]
        c = np.corrcoef(x, y)[0, 1]
        if c > best:
            best, best_k = c, k
    return best_k * step


def test_f0_and_formants_move_by_the_drawn_factors_and_time_is_kept(speech):
    sr = speech.sample_rate
    params = ConversionParams(f0_scale=1.3, warp=1.12)
    out = apply_conversion(speech.audio, sr, params)
    assert out.dtype == np.float32 and out.shape == speech.audio.shape
    rms = [np.sqrt(np.mean(a.astype(float) ** 2)) for a in (speech.audio, out)]
    assert rms[1] == pytest.approx(rms[0], rel=0.01)
    assert median_f0(out, sr) / median_f0(speech.audio, sr) == pytest.approx(1.3, rel=0.05)
    grid, a = log_spectrum(speech.audio, sr)
    _, b = log_spectrum(out, sr)
    assert np.exp(best_shift(a, b, grid)) == pytest.approx(1.12, abs=0.04)
    # word timings of the converted audio are those of the original
    aligned = align_words(out, sr, TEXT.split())
    errs = [abs(x.start_s - y.start_s) for x, y in zip(aligned, speech.words, strict=True)]
    assert np.median(errs) <= 0.03
    assert np.array_equal(out, apply_conversion(speech.audio, sr, params))  # deterministic


def test_identity_resynthesis_keeps_the_signal_close(speech):
    sr = speech.sample_rate
    out = apply_conversion(speech.audio, sr, ConversionParams(1.0, 1.0))
    grid, a = log_spectrum(speech.audio, sr)
    _, b = log_spectrum(out, sr)
    assert best_shift(a, b, grid) == 0
    assert median_f0(out, sr) == pytest.approx(median_f0(speech.audio, sr), rel=0.03)


def test_warp_envelope_moves_a_peak():
    env = np.full((2, 101), 1e-4)
    env[:, 40] = 1.0
    out = warp_envelope(env, 1.25)
    assert np.argmax(out[0]) == 50
    assert out.shape == env.shape


def test_sample_conversion_draws_coupled_factors_in_range():
    cfg = ConversionConfig(share=1.0, warp=(0.9, 1.1), f0_coupling=3.0, f0_semitones=(-1, 1))
    draws = [sample_conversion(cfg, np.random.default_rng(i)) for i in range(200)]
    warps = np.array([d.warp for d in draws])
    f0 = np.array([d.f0_scale for d in draws])
    assert warps.min() >= 0.9 - 1e-4 and warps.max() <= 1.1 + 1e-4
    semis = 12 * np.log2(f0 / warps**3.0)
    assert semis.min() >= -1.01 and semis.max() <= 1.01
    assert np.corrcoef(np.log(warps), np.log(f0))[0, 1] > 0.8  # moved together
    assert sample_conversion(cfg, np.random.default_rng(5)) == draws[5]
    none = ConversionConfig(share=0.0)
    assert sample_conversion(none, np.random.default_rng(0)) is None
    half = ConversionConfig(share=0.5)
    n = sum(sample_conversion(half, np.random.default_rng(i)) is not None for i in range(400))
    assert 160 < n < 240
    assert ConversionParams.from_dict(draws[0].to_dict()) == draws[0]


def test_config_validates_ranges():
    with pytest.raises(ValueError, match="inverted range"):
        ConversionConfig(warp=(1.1, 0.9))
    with pytest.raises(ValueError, match="outside the allowed"):
        ConversionConfig(warp=(0.5, 1.0))


def test_fast_analysis_converts_as_the_full_one(speech):
    sr = speech.sample_rate
    fast = apply_conversion(speech.audio, sr, ConversionParams(1.2, 1.08, "dio", "fast"))
    full = apply_conversion(speech.audio, sr, ConversionParams(1.2, 1.08, "dio", "full"))
    assert fast.shape == full.shape and not np.array_equal(fast, full)
    assert median_f0(fast, sr) == pytest.approx(median_f0(full, sr), rel=0.02)
    grid, a = log_spectrum(full, sr)
    _, b = log_spectrum(fast, sr)
    assert best_shift(a, b, grid) == 0  # the same formants
    assert np.max(np.abs(a - b)) < 1.0  # mean log power within 1 neper at every frequency
    with pytest.raises(ValueError, match="analysis"):
        apply_conversion(speech.audio, sr, ConversionParams(1.0, 1.0, "dio", "quick"))


def test_records_without_analysis_replay_the_full_one():
    cfg = ConversionConfig()
    drawn = sample_conversion(cfg, np.random.default_rng(0))
    assert drawn is not None and drawn.analysis == "fast"
    old = {"f0_scale": 1.1, "warp": 1.02, "f0_method": "dio"}  # a record before issue 27
    assert ConversionParams.from_dict(old).analysis == "full"
    assert ConversionConfig(analysis="full").analysis == "full"
    with pytest.raises(ValueError):
        ConversionConfig(analysis="quick")

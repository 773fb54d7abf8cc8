"""Training-audio views for the embedding front end (synthaudio.train.views) and the CTC
ensemble (synthaudio.train.ensemble)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from synthaudio.train.embedding import SAMPLE_RATE, EmbeddingConfig, SpeechEmbedding
from synthaudio.train.views import ViewConfig, draw_view, render_view, view_features

needs_model = pytest.mark.skipif(importlib.util.find_spec("openwakeword") is None,
                                 reason="the model files come with openwakeword (extra 'kws')")


def _tone(freq_hz: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (0.3 * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def _peak_hz(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)[spec.argmax()])


def test_draws_are_seeded_ranged_and_differ_per_view() -> None:
    speed = ViewConfig("speed", 0.85, 1.15)
    a = draw_view(speed, 200, seed=7, index=1)
    assert a == draw_view(speed, 200, seed=7, index=1)
    assert a != draw_view(speed, 200, seed=7, index=2)  # a second speed view differs
    assert a != draw_view(speed, 200, seed=8, index=1)
    assert min(a) >= 0.85 and max(a) <= 1.15 and max(a) - min(a) > 0.25
    assert draw_view(ViewConfig("narrowband"), 3, seed=0) == [8000.0] * 3
    with pytest.raises(ValueError, match="view kind"):
        ViewConfig("reverb")
    with pytest.raises(ValueError, match="speed range"):
        ViewConfig("speed", 1.2, 1.1)
    with pytest.raises(ValueError, match="narrow_rate_hz"):
        ViewConfig("narrowband", narrow_rate_hz=16000)


def test_speed_view_scales_length_and_pitch() -> None:
    x = _tone(1000.0)
    fast = render_view(x, "speed", 1.25)
    slow = render_view(x, "speed", 0.8)
    assert len(fast) == pytest.approx(len(x) / 1.25, abs=2)
    assert len(slow) == pytest.approx(len(x) / 0.8, abs=2)
    assert _peak_hz(fast) == pytest.approx(1250.0, abs=5)
    assert _peak_hz(slow) == pytest.approx(800.0, abs=5)
    np.testing.assert_array_equal(fast, render_view(x, "speed", 1.25))  # no randomness
    assert fast.dtype == np.float32


def test_narrowband_view_removes_what_8_khz_cannot_hold() -> None:
    low, high = _tone(1000.0), _tone(6000.0)
    nb_low, nb_high = render_view(low, "narrowband", 8000), render_view(high, "narrowband", 8000)
    assert len(nb_low) == len(low)
    assert np.sqrt(np.mean(nb_low[2000:-2000] ** 2)) == pytest.approx(0.3 / np.sqrt(2), rel=0.02)
    assert np.sqrt(np.mean(nb_high[2000:-2000] ** 2)) < 0.003  # 6 kHz: above 4 kHz, gone


@needs_model
def test_view_features_are_the_embedding_of_the_rendered_audio(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    paths = []
    for k in range(3):
        path = tmp_path / f"u{k}.wav"
        sf.write(path, (0.1 * rng.standard_normal(SAMPLE_RATE)).astype(np.float32),
                 SAMPLE_RATE, subtype="FLOAT")
        paths.append(path)
    view = ViewConfig("speed", 0.9, 1.1)
    feats = view_features(paths, view, seed=5, index=1)
    factors = draw_view(view, 3, seed=5, index=1)
    model = SpeechEmbedding(EmbeddingConfig())
    for path, f, q in zip(paths, feats, factors, strict=True):
        x, _ = sf.read(path, dtype="float32")
        np.testing.assert_array_equal(f, model.clip(render_view(x, "speed", q)))
    # a slower clip is longer: more frames
    slow = view_features(paths[:1], ViewConfig("speed", 0.7, 0.7), seed=0)[0]
    assert slow.shape[0] > feats[0].shape[0] - 1


def test_ensemble_is_the_mean_of_the_members_posteriors() -> None:
    torch = pytest.importorskip("torch")
    from synthaudio.train.ensemble import EnsembleCTCModel
    from synthaudio.train.model import EmbeddingCTCConfig, new_ctc_model

    cfg = EmbeddingCTCConfig(conv_layers=2, gru_layers=0, channels=16)
    members = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        members.append(new_ctc_model(cfg, 11).eval())
    ens = EnsembleCTCModel(members).eval()
    x = torch.randn(2, 12, 96)
    lens = torch.tensor([12, 9])
    with torch.no_grad():
        logp, olens = ens(x, lens)
        p0, p1 = (m(x, lens)[0].exp() for m in members)
    assert logp.shape == (2, 12, 11) and olens.tolist() == [12, 9]
    np.testing.assert_allclose(logp.exp().numpy(), ((p0 + p1) / 2).numpy(), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(logp.exp().sum(-1).numpy(), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match="at least one"):
        EnsembleCTCModel([])


def test_shift_view_puts_drawn_silence_before_the_clip() -> None:
    cfg = ViewConfig("shift", max_shift_s=0.08)
    shifts = draw_view(cfg, 200, seed=5, index=1)
    assert shifts == draw_view(cfg, 200, seed=5, index=1)
    assert 0 <= min(shifts) and max(shifts) < 0.08 and np.std(shifts) > 0.015
    x = _tone(440.0, 0.5)
    y = render_view(x, "shift", 0.05)
    assert len(y) == len(x) + 800 and not y[:800].any() and np.array_equal(y[800:], x)
    with pytest.raises(ValueError, match="max_shift_s"):
        ViewConfig("shift", max_shift_s=0.0)


@needs_model
def test_a_shift_of_one_frame_moves_the_embedding_by_one_frame(tmp_path: Path) -> None:
    from synthaudio.train.embedding import FRAME_S, embedding_features

    rng = np.random.default_rng(1)
    audio = (0.1 * rng.standard_normal(SAMPLE_RATE)).astype(np.float32)
    sf.write(tmp_path / "a.wav", audio, SAMPLE_RATE)
    plain = embedding_features([tmp_path / "a.wav"])[0]
    moved = embedding_features([tmp_path / "a.wav"], shift_s=FRAME_S)[0]
    half = embedding_features([tmp_path / "a.wav"], shift_s=FRAME_S / 2)[0]
    assert moved.shape[0] == plain.shape[0] + 1
    assert np.abs(moved[1:] - plain).max() < 1e-3 * np.abs(plain).max()
    assert np.abs(half[1:plain.shape[0]] - plain[1:]).max() > 0.05 * np.abs(plain).max()
    with pytest.raises(ValueError, match="shift_s"):
        embedding_features([tmp_path / "a.wav"], shift_s=-0.1)

"""SVOX Pico: deterministic audio per utterance, pitch and rate that really move."""

from __future__ import annotations

import numpy as np
import pytest

from synthaudio.tts.pico import SHIPPED, PicoConfig, PicoEngine, PicoVoice, speaker_voices

pytest.importorskip("ttspico", reason="the pico extra is part of the test extra")
TEXT = "turn on the light in the kitchen twenty three"


def median_f0(audio: np.ndarray) -> float:
    import librosa

    # the first 1.2 s are enough for a median, and keep pyin quick
    f0, voiced, _ = librosa.pyin(audio[:19200], fmin=60, fmax=500, sr=16000,
                                 frame_length=1024)
    return float(np.median(f0[voiced]))


@pytest.mark.parametrize("name", list(SHIPPED))
def test_each_voice_speaks_without_word_timings(name: str) -> None:
    s = PicoEngine().synthesize(TEXT, PicoVoice(name))
    assert s.sample_rate == 16000 and s.audio.dtype == np.float32 and s.words is None
    assert 1.5 < len(s.audio) / 16000 < 4.0 and np.sqrt(np.mean(s.audio**2)) > 0.02


def test_an_utterance_does_not_depend_on_the_one_before() -> None:
    engine = PicoEngine()
    first = engine.synthesize(TEXT, PicoVoice("en-US", 95, 105)).audio
    engine.synthesize("something else", PicoVoice("en-GB", 120, 90))
    assert np.array_equal(engine.synthesize(TEXT, PicoVoice("en-US", 95, 105)).audio, first)


def test_pitch_scales_f0_and_rate_scales_tempo() -> None:
    engine = PicoEngine()
    low = engine.synthesize(TEXT, PicoVoice("en-US", pitch_percent=80)).audio
    high = engine.synthesize(TEXT, PicoVoice("en-US", pitch_percent=120)).audio
    assert median_f0(high) / median_f0(low) == pytest.approx(1.5, rel=0.08)
    slow = engine.synthesize(TEXT, PicoVoice("en-GB", rate_percent=85)).audio
    fast = engine.synthesize(TEXT, PicoVoice("en-GB", rate_percent=115)).audio
    assert len(slow) / len(fast) == pytest.approx(115 / 85, rel=0.08)


def test_speakers_share_the_voices_with_drawn_pitch_and_rate() -> None:
    cfg = PicoConfig(pitch_percent=(90, 110))
    dealt = speaker_voices(PicoEngine(), cfg, 4, np.random.default_rng(3))
    assert sorted(v.voice for v, _ in dealt) == ["en-GB", "en-GB", "en-US", "en-US"]
    assert all(90 <= v.pitch_percent <= 110 and g == "f" for v, g in dealt)
    with pytest.raises(ValueError, match="not a Pico English voice"):
        PicoConfig(voices=["de-DE"])

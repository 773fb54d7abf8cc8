"""Festival through `festival --pipe`: audio, word timings against the signal, levers."""

from __future__ import annotations

import numpy as np
import pytest
from audio_checks import median_f0, speech_end_s, words_end_s

from synthaudio.errors import SynthaudioError
from synthaudio.tts import festival
from synthaudio.tts.festival import (
    SHIPPED,
    FestivalConfig,
    FestivalEngine,
    FestivalVoice,
    sample_voice,
    speaker_voices,
)

TEXT = "turn on the light in the kitchen twenty three"


@pytest.fixture(scope="module")
def engine() -> FestivalEngine:
    return FestivalEngine()




@pytest.mark.parametrize("name", list(SHIPPED))
def test_each_voice_speaks_with_word_timings_that_match_the_audio(
        engine: FestivalEngine, name: str) -> None:
    s = engine.synthesize(TEXT, FestivalVoice(name))
    duration = len(s.audio) / s.sample_rate
    assert 1.5 < duration < 5.0 and s.audio.dtype == np.float32
    prev_end = words_end_s(s.words, TEXT)
    assert abs(prev_end - speech_end_s(s.audio, s.sample_rate)) < 0.08
    mask = np.zeros(len(s.audio), bool)
    for w in s.words:
        mask[int(w.start_s * s.sample_rate):int((w.start_s + w.dur_s) * s.sample_rate)] = True
    assert np.sum(s.audio[mask] ** 2) / np.sum(s.audio**2) > 0.97


def test_an_utterance_does_not_depend_on_the_one_before(engine: FestivalEngine) -> None:
    voice = FestivalVoice("ked", duration_stretch=1.1, f0_mean_hz=120.0, f0_std_hz=12.0)
    first = engine.synthesize(TEXT, voice).audio
    engine.synthesize("something else", FestivalVoice("ked", duration_stretch=0.8,
                                                      f0_mean_hz=90.0, f0_std_hz=30.0))
    engine.synthesize("and more", FestivalVoice("slt_hts", hts_rate=1.1))
    assert np.array_equal(engine.synthesize(TEXT, voice).audio, first)


def test_diphone_voices_follow_f0_mean_and_stretch_hts_follows_rate(
        engine: FestivalEngine) -> None:
    low = engine.synthesize(TEXT, FestivalVoice("ked", f0_mean_hz=85.0)).audio
    high = engine.synthesize(TEXT, FestivalVoice("ked", f0_mean_hz=135.0)).audio
    assert median_f0(high, 16000) / median_f0(low, 16000) > 1.35
    long = engine.synthesize(TEXT, FestivalVoice("kal", duration_stretch=1.15)).audio
    short = engine.synthesize(TEXT, FestivalVoice("kal", duration_stretch=0.9)).audio
    assert len(long) / len(short) == pytest.approx(1.15 / 0.9, rel=0.06)
    slow = engine.synthesize(TEXT, FestivalVoice("slt_hts", hts_rate=0.9)).audio
    fast = engine.synthesize(TEXT, FestivalVoice("slt_hts", hts_rate=1.1)).audio
    assert len(slow) / len(fast) == pytest.approx(1.1 / 0.9, rel=0.06)


def test_sampler_gives_each_voice_only_what_it_follows() -> None:
    cfg = FestivalConfig()
    hts = sample_voice(cfg, "slt_hts", np.random.default_rng(1))
    assert hts.hts_rate is not None and hts.duration_stretch is None and hts.f0_mean_hz is None
    ked = sample_voice(cfg, "ked", np.random.default_rng(1))
    assert ked.hts_rate is None and ked.f0_mean_hz is not None
    assert cfg.f0_mean_hz[0] <= ked.f0_mean_hz <= cfg.f0_mean_hz[1]
    assert cfg.voices == ["ked", "slt_hts"]  # kal: the speaker of Flite's kal16
    dealt = speaker_voices(FestivalEngine(), FestivalConfig(voices=list(SHIPPED)), 6,
                           np.random.default_rng(0))
    assert sorted(v.voice for v, _ in dealt) == sorted(list(SHIPPED) * 2)
    assert {g for v, g in dealt if v.voice == "slt_hts"} == {"f"}
    with pytest.raises(ValueError, match="not a Festival voice"):
        FestivalConfig(voices=["don"])


def test_missing_festival_is_one_line_naming_the_packages(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(festival, "PROGRAM", "festival-not-here")
    with pytest.raises(SynthaudioError) as err:
        FestivalEngine()
    assert "apt-get install festival" in str(err.value) and "\n" not in str(err.value)

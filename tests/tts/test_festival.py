"""Festival through `festival --pipe`: audio, word timings against the signal, levers."""

from __future__ import annotations

import numpy as np
import pytest
from audio_checks import median_f0, speech_end_s, words_end_s

from synthaudio.errors import SynthaudioError
from synthaudio.tts import festival
from synthaudio.tts.base import WordTiming
from synthaudio.tts.festival import (
    SHIPPED,
    FestivalConfig,
    FestivalEngine,
    FestivalVoice,
    has_burst,
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


# What one render worker's Festival said before "the singer bowed to the cheering crowd"
# (a keywords streams corpus): after these 13, this Festival ends that utterance in a burst
# of about 50 ms near full scale that a fresh process does not make.
HISTORY = [
    ("apartment six has a red door", FestivalVoice("ked", duration_stretch=1.081,
                                                   f0_mean_hz=107.3, f0_std_hz=9.1)),
    ("stop", FestivalVoice("ked", duration_stretch=1.081, f0_mean_hz=107.3, f0_std_hz=9.1)),
    ("quick thinking saved the climber's life", FestivalVoice(
        "ked", duration_stretch=0.912, f0_mean_hz=91.9, f0_std_hz=13.4)),
    ("grandma knitted a warm wool scarf", FestivalVoice("slt_hts", hts_rate=0.955)),
    ("the answer is one hundred forty four", FestivalVoice(
        "ked", duration_stretch=0.905, f0_mean_hz=119.4, f0_std_hz=15.4)),
    ("the choir has forty singers", FestivalVoice("ked", duration_stretch=0.905,
                                                  f0_mean_hz=119.4, f0_std_hz=15.4)),
    ("two plus two equals four", FestivalVoice("slt_hts", hts_rate=0.955)),
    ("go", FestivalVoice("slt_hts", hts_rate=1.027)),
    ("the path wound through tall grass and thorny bushes", FestivalVoice(
        "ked", duration_stretch=0.912, f0_mean_hz=91.9, f0_std_hz=13.4)),
    ("call the office", FestivalVoice("ked", duration_stretch=0.912, f0_mean_hz=91.9,
                                      f0_std_hz=13.4)),
    ("a swarm of bees buzzed around the hive", FestivalVoice("slt_hts", hts_rate=0.955)),
    ("the temperature dropped to minus five last night", FestivalVoice("slt_hts",
                                                                       hts_rate=0.955)),
    ("a heap of dry logs lay beside the shed", FestivalVoice(
        "ked", duration_stretch=0.905, f0_mean_hz=119.4, f0_std_hz=15.4)),
]
AFTER = ("the singer bowed to the cheering crowd",
         FestivalVoice("ked", duration_stretch=0.912, f0_mean_hz=91.9, f0_std_hz=13.4))


def test_reset_gives_the_next_utterance_a_fresh_process() -> None:
    fresh = FestivalEngine().synthesize(*AFTER).audio
    worker = FestivalEngine()
    for text, voice in HISTORY:
        worker.synthesize(text, voice)
    with worker._lock:
        after_history = worker._say(*AFTER)  # as the process says it, not checked
    # why the reset exists: the same utterance after that history is not the same audio
    # (it ends in a burst the fresh one lacks)
    assert len(after_history.audio) == len(fresh)
    assert not np.array_equal(after_history.audio, fresh)
    tail = slice(int(0.9 * len(fresh)), None)
    assert np.abs(after_history.audio[tail]).max() > 0.5 > np.abs(fresh[tail]).max()
    assert after_history.words is not None
    assert has_burst(after_history.audio, after_history.sample_rate, after_history.words)
    for text, voice in HISTORY:
        worker.synthesize(text, voice)
    folder = worker._dir
    worker.reset()
    assert worker._proc is None  # it had spoken: stopped, and its folder removed
    assert folder is not None and not folder.exists()
    worker.reset()  # nothing to stop
    assert np.array_equal(worker.synthesize(*AFTER).audio, fresh)


def test_an_utterance_with_a_burst_is_said_again_by_a_fresh_process() -> None:
    fresh = FestivalEngine().synthesize(*AFTER)
    assert fresh.words is not None
    assert not has_burst(fresh.audio, fresh.sample_rate, fresh.words)
    worker = FestivalEngine()
    for text, voice in HISTORY:
        worker.synthesize(text, voice)
    pid = worker._proc.pid if worker._proc is not None else None
    said = worker.synthesize(*AFTER)  # this process would end it in the burst
    assert np.array_equal(said.audio, fresh.audio) and said.words == fresh.words
    assert worker._proc is not None and worker._proc.pid != pid and worker._spoken == 1


def test_has_burst_is_a_peak_outside_the_words() -> None:
    rate = 16000
    t = np.arange(rate) / rate
    audio = np.zeros(2 * rate, np.float32)
    audio[4000:4000 + rate] = (0.8 * np.sin(2 * np.pi * 150 * t)).astype(np.float32)
    words = [WordTiming("a", 0.25, 0.5), WordTiming("b", 0.75, 0.5)]
    decay = audio.copy()
    decay[int(1.3 * rate):int(1.4 * rate)] = 0.3  # under half the words' peak: speech's decay
    assert not has_burst(audio, rate, words) and not has_burst(decay, rate, words)
    burst = audio.copy()
    burst[int(1.7 * rate):int(1.7 * rate) + 400] = 0.9  # 25 ms near full scale after them
    assert has_burst(burst, rate, words)
    early = audio.copy()
    early[100:300] = -0.9  # before the first word
    assert has_burst(early, rate, words)
    edge = audio.copy()
    edge[int(1.29 * rate)] = 0.9  # within the 50 ms after the last word: its own
    assert not has_burst(edge, rate, words)
    assert not has_burst(np.zeros(rate, np.float32), rate, [WordTiming("a", 0.2, 0.3)])


def test_a_render_group_session_resets_festival() -> None:
    from synthaudio.tts.config import SpeakersConfig
    from synthaudio.tts.render import SpeechRenderer

    def speak(renderer: SpeechRenderer, lines: list[tuple[str, FestivalVoice]]) -> np.ndarray:
        with renderer.tts_session():
            return [renderer.speak(text, voice)[0] for text, voice in lines][-1]

    def spoken(renderer: SpeechRenderer) -> int:
        return int(renderer._engines["festival"]._spoken)  # type: ignore[attr-defined]

    fresh = speak(SpeechRenderer(SpeakersConfig(count=1), 16000), [AFTER])
    worker = SpeechRenderer(SpeakersConfig(count=1), 16000)
    speak(worker, HISTORY)  # one render group, then the next
    assert spoken(worker) == len(HISTORY)
    assert np.array_equal(speak(worker, [AFTER]), fresh) and spoken(worker) == 1
    speak(worker, HISTORY[:3])
    assert spoken(worker) == 3  # each group from a process of its own


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

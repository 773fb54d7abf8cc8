"""Flite through ctypes: audio, word timings against the signal, prosody that really moves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from audio_checks import median_f0, speech_end_s, words_end_s

from synthaudio.errors import ConfigError, SynthaudioError
from synthaudio.tts import flite
from synthaudio.tts.flite import (
    RESPONDS,
    SHIPPED,
    FliteConfig,
    FliteEngine,
    FliteVoice,
    sample_voice,
    speaker_voices,
)

TEXT = "turn on the light in the kitchen twenty three"




@pytest.mark.parametrize("name", list(SHIPPED))
def test_each_voice_speaks_with_word_timings_that_match_the_audio(name: str) -> None:
    s = FliteEngine().synthesize(TEXT, FliteVoice(name, 1.0))
    assert s.sample_rate == (8000 if name == "kal" else 16000)
    duration = len(s.audio) / s.sample_rate
    assert 1.5 < duration < 5.0 and s.audio.dtype == np.float32
    prev_end = words_end_s(s.words, TEXT)
    assert prev_end <= duration
    # the last word ends where the speech ends, measured by energy
    assert abs(prev_end - speech_end_s(s.audio, s.sample_rate)) < 0.06
    # and the words hold nearly all of the signal's energy
    mask = np.zeros(len(s.audio), bool)
    for w in s.words:
        mask[int(w.start_s * s.sample_rate):int((w.start_s + w.dur_s) * s.sample_rate)] = True
    assert np.sum(s.audio[mask] ** 2) / np.sum(s.audio**2) > 0.97


def test_synthesis_depends_on_its_own_text_and_voice_only() -> None:
    engine = FliteEngine()
    voice = FliteVoice("slt", 1.0, f0_shift=1.1)
    first = engine.synthesize(TEXT, voice).audio
    engine.synthesize("something else entirely", FliteVoice("rms", 0.95))
    assert np.array_equal(engine.synthesize(TEXT, voice).audio, first)


def test_other_threads_drawing_from_libc_rand_do_not_change_the_audio() -> None:
    """Flite's rand() is its own: a thread drawing from the process's rand() meanwhile
    (as ONNX Runtime, espeak-ng or Ray's threads may) leaves every utterance's bytes as
    they are (with one shared rand() state, the draws interleave and the audio changes)."""
    import ctypes
    import threading

    eng = FliteEngine()
    voices = [FliteVoice("kal16", 1.0), FliteVoice("slt", 1.0, f0_shift=1.1),
              FliteVoice("rms", 1.0, duration_stretch=1.1)]
    texts = ["the birch canoe slid on the smooth planks", "seven three nine four"]
    alone = [eng.synthesize(t, v).audio.tobytes() for v in voices for t in texts]
    libc = ctypes.CDLL(None)
    stop = threading.Event()
    draws = [0]

    def draw() -> None:
        while not stop.is_set():
            libc.rand()
            draws[0] += 1

    thread = threading.Thread(target=draw, daemon=True)
    thread.start()
    try:
        busy = [eng.synthesize(t, v).audio.tobytes() for v in voices for t in texts]
    finally:
        stop.set()
        thread.join()
    assert draws[0] > 1000  # the other thread really drew meanwhile
    assert busy == alone


def test_speed_moves_pitch_and_duration_of_every_voice_together() -> None:
    engine = FliteEngine()
    slow = engine.synthesize(TEXT, FliteVoice("rms", 0.9))
    fast = engine.synthesize(TEXT, FliteVoice("rms", 1.1))
    ratio = 1.1 / 0.9
    assert len(slow.audio) / len(fast.audio) == pytest.approx(ratio, rel=0.01)
    f0_ratio = median_f0(fast.audio, 16000) / median_f0(slow.audio, 16000)
    assert f0_ratio == pytest.approx(ratio, rel=0.05)
    assert slow.words is not None and fast.words is not None
    assert slow.words[-1].start_s / fast.words[-1].start_s == pytest.approx(ratio, rel=0.01)


def test_unset_features_keep_the_voice_own_pitch_and_stretch_moves_every_voice() -> None:
    engine = FliteEngine()
    plain = engine.synthesize(TEXT, FliteVoice("slt", 1.0)).audio
    engine.synthesize(TEXT, FliteVoice("kal16", 1.0, 1.0, 1.0, 90.0, 10.0))
    engine.synthesize(TEXT, FliteVoice("slt", 1.0, f0_shift=0.8))
    assert np.array_equal(engine.synthesize(TEXT, FliteVoice("slt", 1.0)).audio, plain)
    assert median_f0(plain, 16000) > 150  # slt's own, not a default target mean
    for name in ("rms", "slt"):
        long = engine.synthesize(TEXT, FliteVoice(name, 1.0, duration_stretch=1.15)).audio
        short = engine.synthesize(TEXT, FliteVoice(name, 1.0, duration_stretch=0.9)).audio
        assert len(long) / len(short) == pytest.approx(1.15 / 0.9, rel=0.05)


def test_f0_shift_moves_slt_and_f0_mean_and_stretch_move_kal16() -> None:
    engine = FliteEngine()
    low = engine.synthesize(TEXT, FliteVoice("slt", 1.0, f0_shift=0.85)).audio
    high = engine.synthesize(TEXT, FliteVoice("slt", 1.0, f0_shift=1.2)).audio
    assert median_f0(high, 16000) / median_f0(low, 16000) == pytest.approx(1.2 / 0.85, rel=0.08)
    kal = dict(duration_stretch=1.0, f0_stddev_hz=10.0)
    low = engine.synthesize(TEXT, FliteVoice("kal16", 1.0, f0_mean_hz=85.0, **kal)).audio
    high = engine.synthesize(TEXT, FliteVoice("kal16", 1.0, f0_mean_hz=130.0, **kal)).audio
    assert median_f0(high, 16000) / median_f0(low, 16000) > 1.35
    long = engine.synthesize(TEXT, FliteVoice("kal16", 1.0, duration_stretch=1.15,
                                              f0_mean_hz=100.0, f0_stddev_hz=10.0)).audio
    short = engine.synthesize(TEXT, FliteVoice("kal16", 1.0, duration_stretch=0.9,
                                               f0_mean_hz=100.0, f0_stddev_hz=10.0)).audio
    assert len(long) / len(short) == pytest.approx(1.15 / 0.9, rel=0.05)


def test_sampler_draws_only_what_each_voice_follows_within_the_ranges() -> None:
    cfg = FliteConfig(speed=(0.9, 1.1), f0_shift=(0.9, 1.1))
    for name in SHIPPED:
        v = sample_voice(cfg, name, np.random.default_rng(4))
        assert 0.9 <= v.speed <= 1.1
        drawn = {k for k in ("f0_shift", "duration_stretch", "f0_mean_hz", "f0_stddev_hz")
                 if getattr(v, k) is not None}
        assert drawn == set(RESPONDS[name])
        assert "path" not in v.to_dict() and v.to_dict()["voice"] == name
    # the same generator state gives the same voice
    assert sample_voice(cfg, "slt", np.random.default_rng(4)) == sample_voice(
        cfg, "slt", np.random.default_rng(4))


def test_speaker_voices_use_every_voice_evenly() -> None:
    voices = speaker_voices(FliteEngine(), FliteConfig(), 12, np.random.default_rng(0))
    counts = {n: sum(v.voice == n for v, _ in voices) for n in SHIPPED}
    assert sorted(counts.values()) == [2, 2, 2, 3, 3]
    assert {g for v, g in voices if v.voice == "slt"} == {"f"}


def test_a_flitevox_file_loads_and_speaks(tmp_path: Path) -> None:
    vox = tmp_path / "rms_copy.flitevox"
    flite.dump_voice("rms", vox)
    cfg = FliteConfig(voices=["rms_copy.flitevox"])
    voice = sample_voice(cfg, "rms_copy.flitevox", np.random.default_rng(0), tmp_path)
    assert voice.path == str(vox) and voice.f0_shift is not None
    s = FliteEngine().synthesize(TEXT, voice)
    ref = FliteEngine().synthesize(TEXT, FliteVoice("rms", voice.speed,
                                                    duration_stretch=voice.duration_stretch))
    assert s.words is not None and [w.word for w in s.words] == TEXT.split()
    assert abs(len(s.audio) - len(ref.audio)) < 0.02 * len(ref.audio)
    missing = sample_voice(cfg, "rms_copy.flitevox", np.random.default_rng(0), tmp_path / "x")
    with pytest.raises(ConfigError, match="does not exist"):
        FliteEngine().synthesize(TEXT, missing)


def test_config_rejects_unknown_voices_and_inverted_ranges() -> None:
    with pytest.raises(ValueError, match="neither a shipped Flite voice"):
        FliteConfig(voices=["kevin"])
    with pytest.raises(ValueError, match="inverted range"):
        FliteConfig(speed=(1.1, 0.9))


def test_missing_library_is_one_line_naming_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(flite, "LIBFLITE", "libflite_not_here.so.1")
    monkeypatch.setattr(flite, "_LIBRARY", None)
    with pytest.raises(SynthaudioError) as err:
        FliteEngine()
    assert "libflite1" in str(err.value) and "\n" not in str(err.value)


def test_voices_command_lists_the_shipped_voices(capsys: pytest.CaptureFixture[str]) -> None:
    from synthaudio.cli import main

    assert main(["voices", "--engine", "flite"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("flite 2.2: 5 voices")
    assert [line.split()[0] for line in lines[1:]] == list(SHIPPED)

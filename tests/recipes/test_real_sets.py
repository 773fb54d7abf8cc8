"""The importers of real test sets: Kaldi dirs, Speech Commands and Free Spoken Digit folders,
and digit words cut out of a Kaldi dir by alignment."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from synthaudio.errors import InputError
from synthaudio.io.importers import folders
from synthaudio.io.importers.words import cut_words
from synthaudio.train.data import kaldi_dir_utterances

REPO = Path(__file__).resolve().parents[2]


def real_sets():
    return folders


def tone(path: Path, sr: int, seconds: float = 0.3) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(sr * seconds)) / sr
    sf.write(path, (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), sr)


def test_free_spoken_digit_layout(tmp_path: Path) -> None:
    rs = real_sets()
    src = tmp_path / "fsdd" / "recordings"
    for name in ("0_jackson_0.wav", "7_jackson_12.wav", "3_nicolas_4.wav"):
        tone(src / name, 8000)
    (src / "README.txt").write_text("not audio")
    out = rs.as_kaldi_dir(tmp_path / "fsdd", tmp_path / "work")
    assert rs.detect_layout(tmp_path / "fsdd") == "fsdd"
    utts = kaldi_dir_utterances(out)
    assert {(u.text) for u in utts} == {"zero", "seven", "three"}
    text = (out / "text").read_text().splitlines()
    assert text == sorted(text, key=str.encode)
    assert (out / "utt2spk").read_text().split("\n")[0].split()[1] == "jackson"
    assert sf.info(utts[0].audio_path).samplerate == 8000


def test_speech_commands_layout(tmp_path: Path) -> None:
    rs = real_sets()
    root = tmp_path / "sc"
    tone(root / "five" / "0a7c2a8d_nohash_0.wav", 16000)
    tone(root / "five" / "0a7c2a8d_nohash_1.wav", 16000)
    tone(root / "nine" / "1b4c9b89_nohash_0.wav", 16000)
    tone(root / "_background_noise_" / "white.wav", 16000)
    out = rs.as_kaldi_dir(root, tmp_path / "work")
    utts = kaldi_dir_utterances(out)
    assert sorted(u.text for u in utts) == ["five", "five", "nine"]
    spk2utt = (out / "spk2utt").read_text().splitlines()
    assert spk2utt[0].split()[0] == "0a7c2a8d" and len(spk2utt[0].split()) == 3


def test_kaldi_dir_is_used_as_is_and_other_folders_are_refused(tmp_path: Path) -> None:
    rs = real_sets()
    fixture = REPO / "tests" / "fixtures" / "real_speech"
    assert rs.as_kaldi_dir(fixture, tmp_path) == fixture
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="not a Kaldi data dir"):
        rs.as_kaldi_dir(tmp_path / "empty", tmp_path / "work")
    with pytest.raises(InputError, match="not found"):
        rs.as_kaldi_dir(tmp_path / "missing", tmp_path / "work")


def test_ablation_rows_and_voice_source_configs() -> None:
    import yaml

    spec = importlib.util.spec_from_file_location("digits_run", REPO / "recipes/digits/run.py")
    assert spec is not None and spec.loader is not None
    run = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = run
    spec.loader.exec_module(run)
    config_dir = REPO / "corpora" / "digits"
    base = yaml.safe_load((config_dir / "corpus.yaml").read_text())
    rows = run.ablation_rows(base, None)
    assert rows[:3] == ["clean-1voice", "voices", "full"]
    assert {f"only-{e}" for e in run.SOURCE_ENGINES} <= set(rows)
    only = run.derive_config(base, "only-espeak-ng", config_dir, 6, 2, quick=False)
    full = run.derive_config(base, "full", config_dir, 6, 2, quick=False)
    assert only["speakers"]["engines"] == {"espeak-ng": 1.0}
    assert only["augment"] == full["augment"] and only["text"] == full["text"]
    novc = run.derive_config({**base, "speakers": {**base["speakers"], "conversion": {}}},
                             "mix-novc", config_dir, 6, 2, quick=False)
    assert "conversion" not in novc["speakers"]
    with pytest.raises(run.SynthaudioError, match="unknown row"):
        run.ablation_rows(base, "full,bogus")
    run.check_condition(only, "only-espeak-ng")
    bad = {**only, "speakers": {**only["speakers"], "engines": {"no-such-engine": 1.0}}}
    with pytest.raises(run.SynthaudioError, match="cannot be rendered here"):
        run.check_condition(bad, "only-espeak-ng")


def test_digit_words_cut_out_of_real_speech(tmp_path):
    fixture = REPO / "tests/fixtures/real_speech"
    out, n = cut_words(fixture, folders.DIGIT_WORDS, tmp_path / "digits")
    utts = kaldi_dir_utterances(out)
    # "four queen of clubs", "seven of clubs", "five five", "eight of spades four of clubs
    # seven of hearts": seven digit words
    assert n == len(utts) == 7
    assert [u.text for u in utts] == ["four", "seven", "five", "five", "eight", "four",
                                      "seven"]
    for u in utts:
        audio, sr = sf.read(u.audio_path, dtype="float32")
        assert sr == 16000 and 0.15 < len(audio) / sr < 1.0, (u.id, len(audio) / sr)
        assert np.abs(audio).max() > 0.05  # speech, not a silent gap
    # the two "five"s of "five five" are two stretches of the recording, one after the other
    source, _ = sf.read(fixture / "wav/cards-004.wav", dtype="float32")
    first, _ = sf.read(utts[2].audio_path, dtype="float32")
    second, _ = sf.read(utts[3].audio_path, dtype="float32")
    assert len(first) + len(second) <= len(source)
    assert not np.array_equal(first[:len(second)], second[:len(first)])


def test_prepare_one_layout_into_a_named_folder(tmp_path: Path) -> None:
    root = tmp_path / "sc"
    tone(root / "yes" / "aa11_nohash_0.wav", 16000)
    tone(root / "no" / "bb22_nohash_3.wav", 16000)
    out = folders.prepare_speech_commands(root, tmp_path / "kaldi-sc")
    assert out == tmp_path / "kaldi-sc"
    assert (out / "text").read_text().splitlines() == ["aa11-yes-0 yes", "bb22-no-3 no"]
    assert folders.audio_files(root) == [
        ("no_bb22_nohash_3", "no", (root / "no" / "bb22_nohash_3.wav").resolve()),
        ("yes_aa11_nohash_0", "yes", (root / "yes" / "aa11_nohash_0.wav").resolve())]
    with pytest.raises(InputError, match="no recordings found in the fsdd layout"):
        folders.prepare_fsdd(root, tmp_path / "kaldi-fsdd")

"""profile on the three kinds of input; -j independence; the schema; bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import soundfile as sf

from synthaudio.cli import main
from synthaudio.errors import InputError
from synthaudio.profile.features import FAMILIES
from synthaudio.profile.profile import (
    PROFILE_FORMAT,
    ProfileOptions,
    load_profile,
    profile_corpus,
)
from synthaudio.profile.sources import open_source

REAL_SPEECH = Path(__file__).resolve().parents[1] / "fixtures" / "real_speech"

LIGHT = ProfileOptions(families=("level", "noise", "channel", "reverb", "speech"))


@pytest.fixture(scope="module")
def real_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The full profile (every measurement) of the real fixture."""
    out = tmp_path_factory.mktemp("real") / "real.json"
    profile_corpus(REAL_SPEECH, out)
    return out


def test_real_fixture_profile(real_profile: Path) -> None:
    p = load_profile(real_profile)
    assert p["format"] == PROFILE_FORMAT and p["version"] == 1
    assert p["source"]["kind"] == "kaldi" and p["source"]["transcripts"] is True
    assert p["utterances"] == 11 and p["families"] == list(FAMILIES)
    total_s = sum(sf.info(str(w)).duration for w in (REAL_SPEECH / "wav").glob("*.wav"))
    assert abs(p["hours"] * 3600 - total_s) < 0.01  # 37.7 s (the fixture README says 45.7)
    feats = p["features"]
    for name in ("snr_db", "band_high_hz", "rt60_s", "speaking_rate_wps", "f0_median_hz",
                 "dnsmos_ovrl", "voice_typicality", "loudness_lufs"):
        assert feats[name]["count"] >= 9, name
        assert sum(feats[name]["histogram"]["counts"]) == feats[name]["count"]
        q = feats[name]["quantiles"]
        assert q["q05"] <= q["q50"] <= q["q95"]
    assert p["categories"]["sample_rate"] == {"16000": 11}
    assert p["voices"]["within_speaker_similarity"] > p["voices"]["between_speaker_similarity"]
    # real read speech: male readers, some noise, short rooms
    assert 70 < feats["f0_median_hz"]["quantiles"]["q50"] < 180
    assert 10 < feats["snr_db"]["quantiles"]["q50"] < 50
    assert feats["rt60_s"]["quantiles"]["q50"] < 0.4
    print({k: v["quantiles"]["q50"] for k, v in feats.items() if "quantiles" in v})


def test_folder_and_out_inputs_and_jobs(tmp_path: Path, clean_corpus: Path) -> None:
    folder = tmp_path / "folder" / "spkA"
    folder.mkdir(parents=True)
    for name in ("cards-001", "librivox-0880"):
        shutil.copy(REAL_SPEECH / "wav" / f"{name}.wav", folder / f"{name}.wav")
    x, rate = sf.read(str(REAL_SPEECH / "wav" / "cards-003.wav"))
    sf.write(str(folder / "cards-003.flac"), x, rate)
    (folder / "notes.txt").write_text("not audio", encoding="utf-8")
    src = open_source(tmp_path / "folder")
    assert src.kind == "folder" and [i.utt_id for i in src.items] == [
        "spkA_cards-001", "spkA_cards-003", "spkA_librivox-0880"]
    assert all(i.text is None and i.speaker == "spkA" for i in src.items)
    profile_corpus(tmp_path / "folder", tmp_path / "f.json", options=LIGHT)
    p = load_profile(tmp_path / "f.json")
    assert p["features"]["speaking_rate_wps"]["count"] == 0 and p["utterances"] == 3

    assert open_source(clean_corpus).kind == "synthaudio"
    profile_corpus(clean_corpus, tmp_path / "j1.json", options=LIGHT, jobs=1)
    profile_corpus(clean_corpus, tmp_path / "j2.json", options=LIGHT, jobs=2)
    assert (tmp_path / "j1.json").read_bytes() == (tmp_path / "j2.json").read_bytes()
    assert load_profile(tmp_path / "j1.json")["source"]["kind"] == "synthaudio"


def test_bad_input_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    for args, needle in (
        ([str(tmp_path / "missing"), "-o", str(tmp_path / "p.json")], "not found"),
        ([str(tmp_path / "empty"), "-o", str(tmp_path / "p.json")], "no audio files"),
        ([str(REAL_SPEECH), "-o", str(tmp_path / "p.json"), "--skip", "colour"],
         "unknown measurement 'colour'"),
        ([str(REAL_SPEECH), "-o", str(tmp_path)], "is a directory"),
    ):
        assert main(["profile", *args, "-q"]) == 2
        err = capsys.readouterr().err
        assert needle in err and err.count("\n") == 1, err
    assert not (tmp_path / "p.json").exists()
    broken = tmp_path / "kaldi"
    shutil.copytree(REAL_SPEECH, broken)
    (broken / "wav" / "cards-002.wav").write_bytes(b"RIFF....garbage")
    with pytest.raises(InputError, match="cards-002.wav"):
        open_source(broken)
    (tmp_path / "x.json").write_text(json.dumps({"format": "other"}), encoding="utf-8")
    assert main(["compare", str(tmp_path / "x.json"), str(tmp_path / "x.json")]) == 2
    assert "not a synthaudio profile" in capsys.readouterr().err

"""Reading a Kaldi data directory as input: the real fixture, and every refusal named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from synthaudio.errors import InputError
from synthaudio.io.kaldi import check_id, read_kaldi_dir

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "real_speech"
FIXTURE_DURATIONS_S = {  # from the file headers (1.1 s to 7.1 s)
    "cards-001": 1.095375, "cards-005": 3.5025, "librivox-0870": 7.1, "librivox-0930": 3.29,
}


def copy_fixture(dest: Path, absolute_paths: bool = True) -> Path:
    """The fixture's tables in ``dest`` (audio not copied: wav.scp points at the fixture)."""
    dest.mkdir(parents=True)
    for name in ("text", "utt2spk", "spk2utt"):
        shutil.copy(FIXTURE / name, dest / name)
    lines = []
    for line in (FIXTURE / "wav.scp").read_text().splitlines():
        utt, rel = line.split(" ", 1)
        lines.append(f"{utt} {FIXTURE / rel if absolute_paths else rel}")
    (dest / "wav.scp").write_text("\n".join(lines) + "\n")
    return dest


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_reads_the_real_fixture() -> None:
    kd = read_kaldi_dir(FIXTURE)
    assert len(kd) == 11
    ids = [u.utt_id for u in kd.utterances]
    assert ids == sorted(ids, key=str.encode) and ids[0] == "cards-001"
    assert kd.speakers == ("cards", "forever", "librivox")
    by_id = {u.utt_id: u for u in kd.utterances}
    assert by_id["cards-005"].text == "eight of spades four of clubs seven of hearts"
    assert by_id["librivox-0880"].speaker == "librivox"
    for utt, dur in FIXTURE_DURATIONS_S.items():
        assert by_id[utt].duration_s == pytest.approx(dur, abs=1e-6)
    # 37.73 s in all (the fixture README says 45.7 s)
    assert sum(u.duration_s for u in kd.utterances) == pytest.approx(37.730125, abs=1e-6)
    assert all(u.sample_rate == 16000 and u.num_channels == 1 for u in kd.utterances)
    assert all(u.audio.is_absolute() and u.gender is None for u in kd.utterances)
    assert [u.wav_line for u in kd.utterances] == list(range(1, 12))


def test_relative_paths_try_the_cwd_first_then_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the fixture's paths are relative to its own folder: found there from any CWD
    monkeypatch.chdir(tmp_path)
    kd = read_kaldi_dir(FIXTURE)
    assert kd.utterances[0].audio == FIXTURE / "wav" / "cards-001.wav"
    # a file of the same relative name in the CWD wins (Kaldi's rule)
    (tmp_path / "wav").mkdir()
    shutil.copy(FIXTURE / "wav" / "cards-002.wav", tmp_path / "wav" / "cards-001.wav")
    kd = read_kaldi_dir(FIXTURE)
    assert kd.utterances[0].audio == tmp_path / "wav" / "cards-001.wav"
    assert kd.utterances[0].duration_s == pytest.approx(1.96025)


def test_spk2gender_is_read_and_must_cover_every_speaker(tmp_path: Path) -> None:
    d = copy_fixture(tmp_path / "d")
    (d / "spk2gender").write_text("cards m\nforever f\nlibrivox f\n")
    genders = {u.speaker: u.gender for u in read_kaldi_dir(d).utterances}
    assert genders == {"cards": "m", "forever": "f", "librivox": "f"}
    (d / "spk2gender").write_text("cards m\nlibrivox f\n")
    with pytest.raises(InputError, match="speaker 'forever' has no gender"):
        read_kaldi_dir(d)
    (d / "spk2gender").write_text("cards x\nforever f\nlibrivox f\n")
    with pytest.raises(InputError, match=r"spk2gender:1: expected"):
        read_kaldi_dir(d)


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        ("wav.scp", "cards-002 /", "cards-002 sox /", r"wav\.scp:2: path contains whitespace"),
        ("utt2spk", "cards-003 cards\n", "", r"wav\.scp:3: utterance 'cards-003' is not in "
                                             r"utt2spk"),
        ("text", "cards-004 five five\n", "", r"wav\.scp:4: utterance 'cards-004' is not in text"),
        ("text", "forever-01 ", "forever-02 ", r"text:6: utterance 'forever-02' is not in wav"),
        ("text", "cards-004 five five", "cards-004 ", r"text:4: cards-004: empty transcript"),
        ("text", "cards-004 five five", "cards-004 five\u00a0five",
         r"text:4: cards-004: transcript contains non-printable character U\+00A0"),
        ("text", "cards-004 five five", "cards-004 five five\r", r"text:4: contains a carriage"),
        ("utt2spk", "cards-003 cards", "cards-003 cards extra", r"utt2spk:3: expected"),
        ("utt2spk", "cards-003 cards", "cards-003 ca/rds", r"utt2spk:3: speaker id 'ca/rds' "
                                                            r"contains a path separator"),
        ("spk2utt", "cards cards-001 ", "cards ", r"spk2utt: utterance 'cards-001' of utt2spk"),
        ("spk2utt", "forever forever-01", "forever cards-001",
         r"spk2utt:2: utterance 'cards-001' of speaker 'forever' does not match"),
        ("text", "cards-002", "cards-001", r"text:2: duplicate id: 'cards-001' after 'cards-001'"),
    ],
)
def test_malformed_tables_name_file_and_line(
    tmp_path: Path, file: str, old: str, new: str, message: str
) -> None:
    d = copy_fixture(tmp_path / "d")
    edit(d / file, old, new)
    with pytest.raises(InputError, match=message) as err:
        read_kaldi_dir(d)
    assert "\n" not in str(err.value)


def test_unsorted_wav_scp_is_refused_with_file_and_line(tmp_path: Path) -> None:
    d = copy_fixture(tmp_path / "d")
    lines = (d / "wav.scp").read_text().splitlines()
    lines[1], lines[2] = lines[2], lines[1]
    (d / "wav.scp").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"wav\.scp:3: not sorted: 'cards-002' after "
                                         r"'cards-003' \(Kaldi needs .*LC_ALL=C"):
        read_kaldi_dir(d)


def test_byte_order_not_locale_order(tmp_path: Path) -> None:
    # in C order "B" (0x42) sorts before "a" (0x61); a locale-aware sort would not
    d = tmp_path / "d"
    d.mkdir()
    wav = FIXTURE / "wav" / "cards-001.wav"
    (d / "wav.scp").write_text(f"B-1 {wav}\na-1 {wav}\n")
    (d / "text").write_text("B-1 one\na-1 two\n")
    (d / "utt2spk").write_text("B-1 B\na-1 a\n")
    assert [u.utt_id for u in read_kaldi_dir(d).utterances] == ["B-1", "a-1"]


@pytest.mark.parametrize(
    "entry",
    ["cat /tmp/x.wav |", "sph2pipe -f wav x.sph|", "x.wav;touch y", "$(touch y).wav",
     "`touch y`", "x.wav>y"],
)
def test_pipe_commands_are_refused_and_never_run(tmp_path: Path, entry: str) -> None:
    d = copy_fixture(tmp_path / "d")
    marker = tmp_path / "ran"
    entry = entry.replace("y", str(marker)) if "touch" in entry else entry
    edit(d / "wav.scp", f"cards-003 {FIXTURE}/wav/cards-003.wav", f"cards-003 {entry}")
    with pytest.raises(InputError, match=r"wav\.scp:3: pipe commands are not supported"):
        read_kaldi_dir(d)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("wav/nothere.wav", r"wav\.scp:5: audio file not found: wav/nothere\.wav \(tried from "
                            r"the current directory and"),
        ("/abs/nothere.wav", r"wav\.scp:5: audio file not found: /abs/nothere\.wav\Z"),
        ("feats.ark:1234", r"wav\.scp:5: archive offsets are not supported"),
        ("-", r"wav\.scp:5: reading audio from stdin"),
        ("~/x.wav", r"wav\.scp:5: '~' is not expanded"),
    ],
)
def test_bad_wav_scp_paths(tmp_path: Path, entry: str, message: str) -> None:
    d = copy_fixture(tmp_path / "d")
    edit(d / "wav.scp", f"cards-005 {FIXTURE}/wav/cards-005.wav", f"cards-005 {entry}")
    with pytest.raises(InputError, match=message):
        read_kaldi_dir(d)


def test_unreadable_audio_is_named(tmp_path: Path) -> None:
    d = copy_fixture(tmp_path / "d")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF....not audio")
    edit(d / "wav.scp", f"cards-005 {FIXTURE}/wav/cards-005.wav", f"cards-005 {bad}")
    with pytest.raises(InputError, match=r"wav\.scp:5: cannot read audio .*bad\.wav"):
        read_kaldi_dir(d)


def test_missing_directory_files_and_segments(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nothere: Kaldi data directory not found"):
        read_kaldi_dir(tmp_path / "nothere")
    d = copy_fixture(tmp_path / "d")
    (d / "utt2spk").unlink()
    (d / "text").unlink()
    with pytest.raises(InputError, match=r"missing text, utt2spk \(a Kaldi data directory"):
        read_kaldi_dir(d)
    d = copy_fixture(tmp_path / "e")
    (d / "segments").write_text("cards-001 rec 0.0 1.0\n")  # the other utterances lack one
    with pytest.raises(InputError, match=r"text:\d+: utterance '[^']+' is not in segments"):
        read_kaldi_dir(d)
    (d / "segments").unlink()
    (d / "text").write_text("")
    with pytest.raises(InputError, match=r"text: file is empty"):
        read_kaldi_dir(d)


@pytest.mark.parametrize(
    ("value", "why"),
    [("a/b", "a path separator"), ("..", "'..'"), ("x..y", "'..'"), ("a\\b", "a path separator"),
     ("a\u00a0b", "whitespace"), ("a\x00b", "a non-printable character")],
)
def test_unsafe_ids(value: str, why: str) -> None:
    with pytest.raises(InputError, match=f"f:1: utterance id .* contains {why}"):
        check_id(value, "utterance", "f:1")
    check_id("103-1240-0000.x", "utterance", "f:1")  # dots and dashes are fine


def test_id_with_dotdot_in_wav_scp(tmp_path: Path) -> None:
    d = copy_fixture(tmp_path / "d")
    for name in ("wav.scp", "text", "utt2spk"):
        edit(d / name, "cards-001", "..-001")
    with pytest.raises(InputError, match=r"wav\.scp:1: utterance id '\.\.-001' contains '\.\.'"):
        read_kaldi_dir(d)

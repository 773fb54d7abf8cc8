from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fake_corpus import FakeCorpus, build_corpus, have_kaldi_tools, run_kaldi_script, write_records

from synthaudio.errors import InputError
from synthaudio.io.metadata import iter_metadata
from synthaudio.manifests.kaldi import (
    ALL_FILES,
    utt2spk_to_spk2utt,
    validate_kaldi_dir,
    write_kaldi_dirs,
)

needs_kaldi_tools = pytest.mark.skipif(not have_kaldi_tools(), reason="needs bash, perl, awk")

# Speaker ids chosen so that naive joins ("_") or numeric sorting would break Kaldi's rules.
TRICKY_SPEAKERS = {"train": ["s1", "s10", "s1_b", "S2"], "dev": ["s2", "s20"], "test": ["x9", "x_"]}


def export(out: Path, absolute_paths: bool = False) -> dict[str, int]:
    return write_kaldi_dirs(out, iter_metadata(out), absolute_paths)


def kaldi_validates(data_dir: Path) -> subprocess.CompletedProcess[str]:
    return run_kaldi_script("validate_data_dir.sh", "--no-feats", str(data_dir))


def test_writes_every_file_with_expected_lines(corpus: FakeCorpus) -> None:
    counts = export(corpus.out)
    assert counts == {"train": 9, "dev": 6, "test": 6}
    d = corpus.out / "data" / "dev"
    assert sorted(p.name for p in d.iterdir()) == sorted(ALL_FILES)
    dev = corpus.split("dev")
    first = dev[0]
    assert (d / "wav.scp").read_text().splitlines()[0] == f"{first['id']} {first['audio']}"
    assert (d / "text").read_text().splitlines()[0] == f"{first['id']} {first['text']}"
    assert (d / "utt2spk").read_text().splitlines()[0] == f"{first['id']} spk004"
    assert (d / "spk2utt").read_text() == (
        "spk004 " + " ".join(r["id"] for r in dev if r["speaker"] == "spk004") + "\n"
        "spk005 " + " ".join(r["id"] for r in dev if r["speaker"] == "spk005") + "\n"
    )
    assert (d / "spk2gender").read_text() == "spk004 m\nspk005 f\n"
    assert (d / "utt2lang").read_text().splitlines()[0] == f"{first['id']} en-us"
    dur = float((d / "utt2dur").read_text().split()[1])
    assert dur == pytest.approx(first["duration_s"], abs=1e-4)
    assert (d / "reco2dur").read_bytes() == (d / "utt2dur").read_bytes()
    for name in ALL_FILES:
        data = (d / name).read_bytes()
        assert data.endswith(b"\n") and b"  " not in data and b"\t" not in data


def test_default_paths_resolve_from_out_and_absolute_paths_from_anywhere(
    corpus: FakeCorpus,
) -> None:
    export(corpus.out)
    for line in (corpus.out / "data" / "train" / "wav.scp").read_text().splitlines():
        path = line.split(" ", 1)[1]
        assert not os.path.isabs(path) and (corpus.out / path).is_file()
    export(corpus.out, absolute_paths=True)
    for line in (corpus.out / "data" / "train" / "wav.scp").read_text().splitlines():
        path = line.split(" ", 1)[1]
        assert os.path.isabs(path) and Path(path).is_file()


@pytest.mark.parametrize("speakers", [None, TRICKY_SPEAKERS])
def test_python_validator_accepts_export(tmp_path: Path, speakers: dict[str, list[str]]) -> None:
    out = build_corpus(tmp_path / "out", speakers=speakers).out
    export(out)
    for split in ("train", "dev", "test"):
        assert validate_kaldi_dir(out / "data" / split) == []


@needs_kaldi_tools
@pytest.mark.parametrize("speakers", [None, TRICKY_SPEAKERS])
def test_real_kaldi_validate_data_dir_accepts_export(
    tmp_path: Path, speakers: dict[str, list[str]]
) -> None:
    out = build_corpus(tmp_path / "out", speakers=speakers).out
    export(out)
    for split in ("train", "dev", "test"):
        result = kaldi_validates(out / "data" / split)
        assert "Successfully validated data-directory" in result.stdout, (
            result.stdout + result.stderr
        )
        assert result.returncode == 0


@needs_kaldi_tools
def test_real_kaldi_fix_data_dir_changes_nothing(tmp_path: Path) -> None:
    out = build_corpus(tmp_path / "out", speakers=TRICKY_SPEAKERS).out
    export(out)
    src = out / "data" / "train"
    work = tmp_path / "fixed"
    shutil.copytree(src, work)
    result = run_kaldi_script("fix_data_dir.sh", str(work))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "kept all 12 utterances" in result.stdout
    for name in ALL_FILES:
        assert filecmp.cmp(src / name, work / name, shallow=False), name


@needs_kaldi_tools
def test_spk2utt_matches_kaldi_perl_script(tmp_path: Path) -> None:
    out = build_corpus(tmp_path / "out", speakers=TRICKY_SPEAKERS).out
    export(out)
    d = out / "data" / "train"
    perl = subprocess.run(
        ["perl", "utils/utt2spk_to_spk2utt.pl", str(d / "utt2spk")],
        cwd=Path(__file__).parent / "kaldi_utils",
        capture_output=True,
        text=True,
        check=True,
    )
    assert perl.stdout == (d / "spk2utt").read_text()
    pairs = [tuple(x.split()) for x in (d / "utt2spk").read_text().splitlines()]
    ours = utt2spk_to_spk2utt((u, s) for u, s in pairs)
    assert "".join(" ".join([s, *u]) + "\n" for s, u in ours) == perl.stdout


def test_optional_files_only_when_complete(tmp_path: Path) -> None:
    out = build_corpus(tmp_path / "out", genders=False, lang=None).out
    export(out)
    d = out / "data" / "train"
    assert not (d / "spk2gender").exists() and not (d / "utt2lang").exists()
    assert validate_kaldi_dir(d) == []


def test_reexport_removes_stale_files_and_splits(corpus: FakeCorpus) -> None:
    export(corpus.out)
    records = [dict(r) for r in corpus.records if r["split"] != "test"]
    records[0]["gender"] = None
    records[1]["gender"] = None
    records[2]["gender"] = None
    write_records(corpus.out, records)
    export(corpus.out)
    assert not (corpus.out / "data" / "test").exists()
    assert not (corpus.out / "data" / "train" / "spk2gender").exists()
    assert (corpus.out / "data" / "dev" / "spk2gender").exists()


def test_inconsistent_speaker_gender_is_input_error(corpus: FakeCorpus) -> None:
    records = [dict(r) for r in corpus.records]
    records[1]["gender"] = "f"
    write_records(corpus.out, records)
    with pytest.raises(
        InputError, match=r"metadata.jsonl:2: speaker spk001 has more than one gender"
    ):
        export(corpus.out)
    assert [p for p in (corpus.out / "data").rglob("*") if p.is_file()] == []  # temps removed


def test_lhotse_imports_kaldi_dir_from_out(
    corpus: FakeCorpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lhotse.kaldi import load_kaldi_data_dir

    export(corpus.out)
    monkeypatch.chdir(corpus.out)  # relative wav.scp paths are taken from the CWD
    recordings, supervisions, _ = load_kaldi_data_dir("data/test", sampling_rate=16000)
    assert supervisions is not None
    test = corpus.split("test")
    assert sorted(s.id for s in supervisions) == [r["id"] for r in test]
    texts = {s.id: s.text for s in supervisions}
    assert texts == {r["id"]: r["text"] for r in test}
    rec = recordings[test[0]["id"]]
    assert rec.duration == pytest.approx(test[0]["duration_s"], abs=1e-3)
    np.testing.assert_allclose(rec.load_audio()[0], corpus.samples(test[0]["id"])[:, 0] / 32768)


def test_multichannel_uses_documented_sox_pipe(tmp_path: Path) -> None:
    c = build_corpus(tmp_path / "out", num_channels=3)
    export(c.out)
    lines = (c.out / "data" / "train" / "wav.scp").read_text().splitlines()
    first = c.split("train")[0]
    assert lines[0] == f"{first['id']} sox {first['audio']} -t wav - remix 1 |"
    assert validate_kaldi_dir(c.out / "data" / "train") == []
    if have_kaldi_tools():
        assert "Successfully" in kaldi_validates(c.out / "data" / "train").stdout
    if shutil.which("sox") is None:
        pytest.skip("sox not installed: pipe output not checked")
    cmd = lines[0].split(" ", 1)[1].rstrip("|")
    wav = subprocess.run(cmd, shell=True, cwd=c.out, capture_output=True, check=True).stdout
    import io

    mono, _ = sf.read(io.BytesIO(wav), dtype="int16", always_2d=True)
    assert mono.shape[1] == 1
    np.testing.assert_array_equal(mono[:, 0], c.samples(first["id"])[:, 0])


def test_multichannel_refuses_unsafe_path_in_command(tmp_path: Path) -> None:
    c = build_corpus(tmp_path / "out dir", num_channels=2)
    with pytest.raises(InputError, match="refusing to put path"):
        export(c.out, absolute_paths=True)
    export(c.out)  # relative paths are our own sanitized ones: fine


def test_whitespace_in_absolute_path_is_input_error(tmp_path: Path) -> None:
    c = build_corpus(tmp_path / "out dir")
    with pytest.raises(InputError, match="wav.scp paths cannot contain whitespace"):
        export(c.out, absolute_paths=True)


# --- the validator finds what Kaldi's script finds, with file and line --------------------


def _corrupt(d: Path, name: str, line_no: int, new: str | None) -> None:
    lines = (d / name).read_text(encoding="utf-8").splitlines()
    if new is None:
        lines[line_no - 2], lines[line_no - 1] = lines[line_no - 1], lines[line_no - 2]
    else:
        lines[line_no - 1] = new
    (d / name).write_text("".join(x + "\n" for x in lines), encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "line_no", "new", "message", "kaldi_rejects"),
    [
        ("text", 3, None, "not sorted", True),
        ("utt2spk", 4, None, "not sorted", True),
        ("text", 2, "{id} hello <s> world", "'<s>'", True),
        ("text", 2, "{id} hello\u00a0world", "U+00A0", True),
        ("text", 2, "{id}", "empty transcript", False),  # Kaldi's script lets this through
        ("text", 2, "{id}  two  spaces", "single spaces", False),
        ("spk2utt", 1, "spk001 spk001-000000", "does not match", True),
        ("spk2gender", 1, "spk001 male", "expected '<speaker> m'", True),
        ("utt2dur", 2, "{id} -1", "positive seconds", True),
        ("wav.scp", 2, "spk001-999999 x.wav", "is not in utt2spk", True),
    ],
)
def test_validator_reports_corruption_with_line(
    corpus: FakeCorpus, name: str, line_no: int, new: str | None, message: str, kaldi_rejects: bool
) -> None:
    export(corpus.out)
    d = corpus.out / "data" / "train"
    uid = (d / "utt2spk").read_text().splitlines()[line_no - 1].split()[0]
    _corrupt(d, name, line_no, None if new is None else new.format(id=uid))
    problems = validate_kaldi_dir(d)
    assert any(
        p.path == d / name and p.line == line_no and message in p.message for p in problems
    ), problems
    if have_kaldi_tools():
        real = kaldi_validates(d)
        assert ("Successfully validated" not in real.stdout) == kaldi_rejects, (
            real.stdout + real.stderr
        )


def test_validator_reports_missing_newline_and_files(corpus: FakeCorpus) -> None:
    export(corpus.out)
    d = corpus.out / "data" / "dev"
    (d / "text").write_bytes((d / "text").read_bytes().rstrip(b"\n"))
    (d / "wav.scp").unlink()
    problems = {(p.path.name, p.line, p.message) for p in validate_kaldi_dir(d)}
    assert ("text", 6, "last line does not end in a newline") in problems
    assert ("wav.scp", None, "missing") in problems

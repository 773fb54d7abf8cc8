"""Never lose a user's file in the newer commands either: ``profile -o`` and ``match -o``
never replace an input nor a file synthaudio did not write; ``--overwrite`` removes only the
files ``.synthaudio-written`` lists and keeps the user's (named in a note); a failed
removal leaves nothing behind for long; ``sessions-eval --name`` writes only under OUT."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from relutil import TINY_CONFIG, write_tiny_config

from synthaudio.cli import main
from synthaudio.errors import SynthaudioError
from synthaudio.run import outdir
from synthaudio.run.outdir import TRASH_NAME, WRITTEN_NAME

SMALL = TINY_CONFIG.replace("per_speaker: 6", "per_speaker: 1")
OTHER = SMALL.replace("seed: 11", "seed: 12")


def _error(code: int, err: str, *expected: str) -> None:
    assert code == 2, err
    assert err.startswith("synthaudio: error: ") and err.count("\n") == 1, err
    for text in expected:
        assert text in err, err


def _hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _generate(config: Path, out: Path, *extra: str) -> int:
    return main(["generate", str(config), "-o", str(out), "-q", "-j", "1", *extra])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    assert _generate(write_tiny_config(root / "cfg", SMALL), root / "out") == 0
    return root / "out"


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "folder"
    folder.mkdir()
    t = np.arange(16000) / 16000
    sf.write(folder / "a.wav", (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000)
    return folder


@pytest.mark.parametrize("target", ["folder/a.wav", "kaldi/text", "out/metadata.jsonl"])
def test_profile_never_replaces_an_input_nor_a_file_it_did_not_write(
        tmp_path: Path, corpus: Path, target: str, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _folder(tmp_path)
    out = tmp_path / "out"
    shutil.copytree(corpus, out)
    kaldi = out / "data" / "train"
    shutil.copytree(kaldi, tmp_path / "kaldi")
    sources = {"folder": folder, "kaldi": tmp_path / "kaldi", "out": out}
    source = sources[target.split("/")[0]]
    before = _hashes(tmp_path)
    code = main(["profile", str(source), "-o", str(tmp_path / target), "-q",
                 "--skip", "quality,voices"])
    _error(code, capsys.readouterr().err, f"{tmp_path / target}: exists and is not a profile "
           "synthaudio wrote; it is kept")
    assert _hashes(tmp_path) == before


def test_profile_rewrites_its_own_profile(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    target = tmp_path / "p.json"
    args = ["profile", str(folder), "-o", str(target), "-q", "--skip", "quality,voices"]
    assert main(args) == 0
    first = target.read_bytes()
    assert main(args) == 0  # its own output of that kind: replaced (same bytes)
    assert target.read_bytes() == first


def test_match_never_replaces_its_inputs(tmp_path: Path, real_profile: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    config = write_tiny_config(tmp_path / "cfg", "# my notes\n" + SMALL)
    profile = tmp_path / "p.json"
    shutil.copy(real_profile, profile)
    before = _hashes(tmp_path)
    for target in (config, profile):
        code = main(["match", str(profile), str(config), "-o", str(target)])
        _error(code, capsys.readouterr().err, f"{target}: -o is an input of this command")
    assert _hashes(tmp_path) == before
    (tmp_path / "mine.yaml").write_text("mine: 1\n")
    code = main(["match", str(profile), str(config), "-o", str(tmp_path / "mine.yaml")])
    _error(code, capsys.readouterr().err, "mine.yaml: exists and is not a matched config")
    matched = tmp_path / "matched.yaml"
    assert main(["match", str(profile), str(config), "-o", str(matched)]) == 0
    assert main(["match", str(profile), str(config), "-o", str(matched)]) == 0  # its own
    assert (tmp_path / "mine.yaml").read_text() == "mine: 1\n"


def test_overwrite_keeps_user_files_inside_synthaudio_folders(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert _generate(write_tiny_config(tmp_path / "a", SMALL), out) == 0
    (out / "audio" / "train" / "mine.wav").write_bytes(b"RIFF my recording")
    (out / "data" / "train" / "feats.scp").write_text("u1 /my/feats.ark:12\n")
    # what a later command writes into OUT is synthaudio's too (the record grows)
    assert main(["export", str(out), "--format", "speechbrain", "-q"]) == 0
    assert (out / "manifests" / "speechbrain" / "train.csv").is_file()
    capsys.readouterr()
    assert _generate(write_tiny_config(tmp_path / "b", OTHER), out, "--overwrite") == 0
    printed = capsys.readouterr().out
    assert not (out / "manifests" / "speechbrain").exists()  # replaced with the old corpus
    assert (out / "audio" / "train" / "mine.wav").read_bytes() == b"RIFF my recording"
    assert (out / "data" / "train" / "feats.scp").read_text() == "u1 /my/feats.ark:12\n"
    assert "kept 2 file(s) synthaudio did not write" in printed, printed
    assert "audio/train/mine.wav" in printed and "data/train/feats.scp" in printed
    listed = (out / WRITTEN_NAME).read_text().splitlines()
    assert "audio/train/mine.wav" not in listed and "data/train/feats.scp" not in listed
    assert any(n.startswith("audio/train/") for n in listed)
    # and the next --overwrite keeps them again
    assert _generate(tmp_path / "a" / "corpus.yaml", out, "--overwrite") == 0
    assert (out / "audio" / "train" / "mine.wav").read_bytes() == b"RIFF my recording"


def test_a_replaced_corpus_that_cannot_be_removed_is_removed_by_the_next_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    assert _generate(write_tiny_config(tmp_path / "a", SMALL), out) == 0
    real = outdir._remove_tree

    def stuck(path: Path) -> None:
        if path.name == TRASH_NAME and path.exists():
            raise SynthaudioError(f"{path / 'audio'}: cannot remove: Permission denied")
        real(path)

    monkeypatch.setattr(outdir, "_remove_tree", stuck)
    new = write_tiny_config(tmp_path / "b", OTHER)
    assert _generate(new, out, "--overwrite") == 0  # the new corpus is in place
    printed = capsys.readouterr().out
    assert f"the replaced corpus {out / TRASH_NAME} is left" in printed, printed
    assert (out / TRASH_NAME).is_dir()
    monkeypatch.setattr(outdir, "_remove_tree", real)
    assert _generate(new, out) == 0  # any later run into OUT removes it
    assert not (out / TRASH_NAME).exists()


@pytest.mark.parametrize("name", ["../../escape", "/tmp/synthaudio-escape-test", "..", ""])
def test_sessions_eval_writes_only_under_out(
        tmp_path: Path, session_corpus: Path, name: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    shutil.copytree(session_corpus, out)
    hyp = tmp_path / "hyp.rttm"
    hyp.write_text("".join(p.read_text() for p in sorted(
        (out / "manifests" / "rttm" / "test").glob("*.rttm"))))
    code = main(["sessions-eval", str(out), "--diarization", f"hyp:{hyp}", "--name", name])
    _error(code, capsys.readouterr().err, f"--name: {name!r} must name a folder inside")
    assert not list(tmp_path.rglob("scores.json"))
    assert not Path("/tmp/synthaudio-escape-test").exists()


def test_audio_of_an_interrupted_run_is_synthaudio_s_not_the_user_s(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import os
    import re

    from synthaudio.io import fileio

    real_write = fileio._write_file
    out = tmp_path / "out"
    three = TINY_CONFIG.replace("per_speaker: 6", "per_speaker: 3")
    config = write_tiny_config(tmp_path / "a", three)
    assert _generate(config, out, "--limit", "2") == 0  # a complete run: files recorded
    (out / "audio" / "mine.txt").write_text("mine\n")
    seen = [0]

    def failing(path: Path, data: bytes) -> None:
        if re.match(r"\.spk.*\.wav\.", Path(path).name):
            seen[0] += 1
            if seen[0] > 2:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_write(path, data)

    monkeypatch.setattr(fileio, "_write_file", failing)
    assert _generate(config, out) == 2  # extending it stops half way (disk full)
    listed = set((out / WRITTEN_NAME).read_text().splitlines())
    unlisted = [p for p in (out / "audio").rglob("*.wav")
                if str(p.relative_to(out)) not in listed]
    assert unlisted  # the unfinished run's audio, in no record yet
    monkeypatch.setattr(fileio, "_write_file", real_write)
    capsys.readouterr()
    other = write_tiny_config(tmp_path / "b", three.replace("seed: 11", "seed: 12"))
    assert _generate(other, out, "--overwrite") == 0  # no file of the same name refused
    printed = capsys.readouterr().out
    assert "kept 1 file(s) synthaudio did not write, inside its folders: audio/mine.txt" \
        in printed, printed
    fresh = tmp_path / "fresh"
    assert _generate(other, fresh) == 0
    assert sorted(p.relative_to(out) for p in (out / "audio").rglob("*")) == sorted(
        [*(p.relative_to(fresh) for p in (fresh / "audio").rglob("*")), Path("audio/mine.txt")])


def test_rirs_never_replaces_an_index_it_did_not_write(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "index.jsonl").write_text('{"my": "catalogue"}\n')
    before = _hashes(folder)
    code = main(["rirs", "-o", str(folder), "--count", "1", "-q", "-j", "1"])
    _error(code, capsys.readouterr().err, f"{folder / 'index.jsonl'}:1: missing key",
           "is not the index of a RIR bank synthaudio wrote and is kept")
    assert _hashes(folder) == before
    bank = tmp_path / "bank"
    assert main(["rirs", "-o", str(bank), "--count", "1", "-q", "-j", "1"]) == 0
    assert main(["rirs", "-o", str(bank), "--count", "2", "-q", "-j", "1"]) == 0  # its own

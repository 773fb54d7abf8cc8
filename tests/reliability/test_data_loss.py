"""Never lose a user's files: ``--overwrite`` replaces only a corpus synthaudio made, never
its own inputs, and only once the new corpus is complete; no write goes through a link
inside OUT; one run at a time per OUT."""

from __future__ import annotations

import errno
import hashlib
import os
import re
from pathlib import Path

import pytest
from relutil import TINY_CONFIG, Child, tree_hashes, wait_for, write_tiny_config

from synthaudio.cli import main
from synthaudio.io import fileio
from synthaudio.run.outdir import LOCK_NAME, STAGING_NAME, WRITTEN_NAME

SMALL = TINY_CONFIG.replace("per_speaker: 6", "per_speaker: 1")
OTHER = SMALL.replace("seed: 11", "seed: 12")
_REAL_WRITE = fileio._write_file


def _error(code: int, err: str, *expected: str) -> None:
    assert code == 2, err
    assert err.startswith("synthaudio: error: ") and err.count("\n") == 1, err
    for text in expected:
        assert text in err, err


def _all_hashes(root: Path) -> dict[str, str]:
    """Every file under ``root`` (hidden ones and logs too)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _generate(config: Path, out: Path, *extra: str) -> int:
    return main(["generate", str(config), "-o", str(out), "-q", "-j", "1", *extra])


def test_overwrite_refuses_a_folder_synthaudio_did_not_make(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "mine"
    (out / "audio").mkdir(parents=True)
    (out / "audio" / "mine.wav").write_bytes(b"RIFF my recording")
    (out / "data").mkdir()
    (out / "data" / "keep.txt").write_text("keep\n")
    (out / "metadata.jsonl").write_text('{"mine": 1}\n')
    before = _all_hashes(out)
    config = write_tiny_config(tmp_path / "cfg", SMALL)
    _error(_generate(config, out, "--overwrite"), capsys.readouterr().err,
           f"{out}: --overwrite only replaces a corpus synthaudio made",
           "audio, data, metadata.jsonl")
    assert _all_hashes(out) == before


def test_overwrite_refuses_the_folder_holding_the_config(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "here"
    write_tiny_config(folder, SMALL)
    before = _all_hashes(folder)
    monkeypatch.chdir(folder)
    for extra in ((), ("--overwrite",)):
        code = main(["generate", "corpus.yaml", "-o", ".", "-q", *extra])
        _error(code, capsys.readouterr().err,
               f"{folder.resolve() / 'corpus.yaml'}: this input of the run is inside the output "
               f"folder, where the run writes {folder.resolve() / 'corpus.yaml'}")
    assert _all_hashes(folder) == before  # corpus.yaml is still the user's config
    # a synthaudio corpus holding the config where the run writes: refused, naming it
    out = tmp_path / "out"
    assert _generate(folder / "corpus.yaml", out) == 0
    inside = write_tiny_config(out / "data" / "cfg", OTHER)
    before = _all_hashes(out)
    _error(_generate(inside, out, "--overwrite"), capsys.readouterr().err,
           f"{inside}: this input of the run is inside the output folder",
           f"writes {out.resolve() / 'data'}")
    assert _all_hashes(out) == before


def test_overwrite_keeps_what_synthaudio_did_not_write(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _generate(write_tiny_config(tmp_path / "a", SMALL), out) == 0
    assert [n for n in (out / WRITTEN_NAME).read_text().splitlines() if "/" not in n] == sorted(
        p.name for p in out.iterdir() if not p.name.startswith("."))
    (out / "NOTES.md").write_text("my notes\n")
    assert _generate(write_tiny_config(tmp_path / "b", OTHER), out, "--overwrite") == 0
    assert (out / "NOTES.md").read_text() == "my notes\n"
    fresh = tmp_path / "fresh"
    assert _generate(tmp_path / "b" / "corpus.yaml", fresh) == 0
    assert tree_hashes(out) == {**tree_hashes(fresh), "NOTES.md": tree_hashes(out)["NOTES.md"]}


def test_a_failed_overwrite_leaves_the_old_corpus_whole_and_resumes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    assert _generate(write_tiny_config(tmp_path / "a", SMALL), out) == 0
    old = _all_hashes(out)
    seen = [0]

    def failing(path: Path, data: bytes) -> None:
        if re.match(r"\.spk.*\.wav\.", Path(path).name):
            seen[0] += 1
            if seen[0] > 2:
                raise OSError(errno.EACCES, os.strerror(errno.EACCES))
        _REAL_WRITE(path, data)

    monkeypatch.setattr(fileio, "_write_file", failing)
    new_config = write_tiny_config(tmp_path / "b", OTHER)
    code = _generate(new_config, out, "--overwrite")
    err = capsys.readouterr().err
    _error(code, err, f"{out / STAGING_NAME}/audio/", ".wav: cannot write: Permission denied")
    assert not re.search(r"error: spk\d", err)  # the full path, never a base name
    kept = {k: v for k, v in _all_hashes(out).items() if not k.startswith(STAGING_NAME)}
    assert kept == old  # the old corpus is whole
    monkeypatch.setattr(fileio, "_write_file", _REAL_WRITE)
    assert _generate(new_config, out, "--overwrite") == 0
    fresh = tmp_path / "fresh"
    assert _generate(new_config, fresh) == 0
    assert tree_hashes(out) == tree_hashes(fresh)
    assert not (out / STAGING_NAME).exists() and not (out / LOCK_NAME).exists()


def test_export_refuses_a_linked_folder_inside_out(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert _generate(write_tiny_config(tmp_path / "a", SMALL), out) == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "data" / "train").rename(tmp_path / "train-moved")
    (out / "data" / "train").symlink_to(elsewhere)
    code = main(["export", str(out), "--format", "kaldi"])
    _error(code, capsys.readouterr().err, f"{out / 'data' / 'train'}: is a symbolic link",
           str(elsewhere))
    assert list(elsewhere.iterdir()) == []


def test_resume_refuses_a_linked_folder_inside_out(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    config = write_tiny_config(tmp_path / "a", SMALL)
    assert _generate(config, out) == 0
    elsewhere = tmp_path / "elsewhere"
    (out / "audio" / "test").rename(elsewhere)
    (out / "audio" / "test").symlink_to(elsewhere)
    before = _all_hashes(elsewhere)
    for extra in ((), ("--resume",)):
        _error(_generate(config, out, *extra), capsys.readouterr().err,
               f"{out / 'audio' / 'test'}: is a symbolic link")
        assert _all_hashes(elsewhere) == before


def test_augment_refuses_a_linked_folder_inside_out(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "corpus"
    assert _generate(write_tiny_config(tmp_path / "a", SMALL), corpus) == 0
    out = tmp_path / "aug"
    args = ["augment", str(corpus / "data" / "train"), "-o", str(out), "-q", "-j", "1"]
    assert main(args) == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "logs").rename(tmp_path / "logs-moved")
    (out / "logs").symlink_to(elsewhere)
    _error(main(args), capsys.readouterr().err, f"{out / 'logs'}: is a symbolic link")
    assert list(elsewhere.iterdir()) == []


def test_a_second_run_into_the_same_out_names_the_first(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    config = write_tiny_config(tmp_path / "a", TINY_CONFIG)
    first = Child(["generate", str(config), "-o", str(out), "-q", "-j", "1"],
                  tmp_path / "first.log", real=False)
    assert wait_for(first, lambda: (out / "corpus.yaml").exists())
    code = _generate(config, out)
    running = first.poll() is None
    err = capsys.readouterr().err
    assert first.wait() == 0, first.output()
    assert running  # (the first run takes seconds: it was still writing)
    _error(code, err, f"{out}: another synthaudio run (process {first.pid}) is writing here")
    assert not (out / LOCK_NAME).exists()


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK_NAME).write_text("999999\n")  # left by a killed run: no process holds it
    assert _generate(write_tiny_config(tmp_path / "a", SMALL), out) == 0
    assert (out / "metadata.jsonl").is_file() and not (out / LOCK_NAME).exists()

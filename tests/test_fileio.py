"""The one atomic writer: every file it writes gets 0o666 less the umask, whatever the
module that writes it (audio, manifests, eval results), and no temporary file is left."""

import os
from pathlib import Path

import numpy as np
import pytest

from synthaudio.evaluate import plots
from synthaudio.io import fileio
from synthaudio.io.fileio import AtomicTextFile, write_audio_atomic, write_lines_atomic


def _writers(root: Path) -> list[Path]:
    fileio.write_text_atomic(root / "a" / "text.txt", "x\n")
    fileio.write_bytes_atomic(root / "bytes.bin", b"\0")
    write_lines_atomic(root / "lines.txt", iter(["a\n", "b\n"]))
    write_audio_atomic(root / "audio" / "x.wav", np.zeros(160, np.float32), 16000)
    with AtomicTextFile(root / "gz.txt.gz", gzip_output=True) as f:
        f.write_line("hello")
    plots.histogram({"train": [1.0, 2.0]}, "duration (s)", "t", root / "eval" / "plot.png")
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002])
def test_every_writer_gives_the_umask_mode(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        files = _writers(tmp_path)
    finally:
        os.umask(old)
    assert len(files) == 6
    assert {p.name: p.stat().st_mode & 0o777 for p in files} == {
        p.name: 0o666 & ~umask for p in files}
    assert not [p for p in tmp_path.rglob("*") if fileio.is_temp_name(p.name)]


def test_files_and_their_folder_are_synced_around_the_rename(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """fsync(file) before the rename that publishes it, fsync(folder) after: after a power
    loss a published name holds the complete file, and the order of publication holds."""
    import stat

    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        mode = os.fstat(fd).st_mode
        events.append("fsync-dir" if stat.S_ISDIR(mode) else "fsync-file")
        real_fsync(fd)

    def replace(src: object, dst: object) -> None:
        events.append("rename")
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(fileio.os, "fsync", fsync)
    monkeypatch.setattr(fileio.os, "replace", replace)
    fileio.write_text_atomic(tmp_path / "a.txt", "x\n")
    fileio.write_lines_atomic(tmp_path / "b.txt", ["y\n"])
    with fileio.AtomicTextFile(tmp_path / "c.jsonl.gz", gzip_output=True) as f:
        f.write_line("{}")
    fileio.write_audio_atomic(tmp_path / "d.wav", np.zeros(16, dtype=np.float32), 16000)
    assert events == ["fsync-file", "rename", "fsync-dir"] * 4
    assert (tmp_path / "a.txt").read_text() == "x\n"
    events.clear()
    monkeypatch.setattr(fileio, "FSYNC", False)
    fileio.write_text_atomic(tmp_path / "a.txt", "z\n")
    assert events == ["rename"]

"""A full disk or a permission error mid-run: exit 2 with one line naming the path, nothing
half-written kept, and the same command, once the problem is gone, finishes the corpus
byte-identical to a clean run. Errors raised in worker processes arrive the same way."""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

import pytest
from relutil import check_consistent, temp_files, tree_hashes

from synthaudio.cli import main
from synthaudio.io import fileio

_REAL_WRITE = fileio._write_file


def _fail_writes(pattern: str, after: int, code: int):  # noqa: ANN202
    """A ``fileio._write_file`` that fails once ``after`` writes matched ``pattern`` (a
    regex on the temporary file's name, which starts with the final name)."""
    seen = [0]

    def write(path: Path, data: bytes) -> None:
        if re.match(pattern, Path(path).name):
            seen[0] += 1
            if seen[0] > after:
                raise OSError(code, os.strerror(code))  # as open()/write() report it: no path
        _REAL_WRITE(path, data)

    return write


CASES = [
    # name, temp-name pattern, writes that succeed first, jobs, errno
    ("corpus-yaml", r"\.corpus\.yaml\.", 0, 1, errno.ENOSPC),
    ("rir-bank-in-workers", r"\.rir-", 2, 2, errno.ENOSPC),
    ("audio", r"\.spk.*\.wav\.", 4, 1, errno.ENOSPC),
    ("audio-in-workers", r"\.spk.*\.wav\.", 2, 2, errno.ENOSPC),
    ("record", r"\.group-.*\.jsonl\.", 0, 1, errno.ENOSPC),
    ("stem", r"\.(speech|noise)\.wav\.", 3, 1, errno.EDQUOT),
    ("metadata", r"\.metadata\.jsonl\.", 0, 1, errno.ENOSPC),
    ("permission", r"\.spk.*\.wav\.", 3, 1, errno.EACCES),
]


@pytest.mark.parametrize("name, pattern, after, jobs, code", CASES, ids=[c[0] for c in CASES])
def test_write_failure_stops_cleanly_and_rerun_finishes_byte_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    tiny_reference: tuple[Path, dict[str, str]], name: str, pattern: str, after: int,
    jobs: int, code: int,
) -> None:
    config, ref = tiny_reference
    out = tmp_path / "out"
    argv = ["generate", str(config), "-o", str(out), "-q", "-j", str(jobs)]
    monkeypatch.setattr(fileio, "_write_file", _fail_writes(pattern, after, code))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("synthaudio: error: "), err
    assert os.strerror(code) in err and "Traceback" not in err
    named = err.removeprefix("synthaudio: error: ").split(": cannot write")[0]
    assert Path(named).is_relative_to(out) and re.match(pattern, f".{Path(named).name}."), err
    check_consistent(out)  # what was complete is kept, nothing half-written shows

    monkeypatch.undo()  # space is back
    assert main(argv) == 0
    assert tree_hashes(out) == ref
    assert not temp_files(out)


def test_export_failure_names_the_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    tiny_reference: tuple[Path, dict[str, str]],
) -> None:
    config, ref = tiny_reference
    out = tmp_path / "out"
    argv = ["generate", str(config), "-o", str(out), "-q"]
    real_commit = fileio.AtomicFile.commit
    calls = [0]

    def commit(self: fileio.AtomicFile) -> None:
        calls[0] += 1
        if calls[0] > 5:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_commit(self)

    monkeypatch.setattr(fileio.AtomicFile, "commit", commit)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err, err
    assert f"{out}/data/" in err or f"{out}/manifests/" in err, err
    check_consistent(out)
    monkeypatch.undo()
    assert main(argv) == 0
    assert tree_hashes(out) == ref and not temp_files(out)

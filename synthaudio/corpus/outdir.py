"""Keeping a user's files safe around a run's output folder OUT.

What the run engine (:mod:`synthaudio.corpus.run`) does with OUT before and after it writes:

- **one run at a time**: :func:`out_lock` holds ``OUT/.synthaudio.lock`` (an ``flock``, with
  the holder's process id in the file) for the whole run; a second run into the same OUT
  stops at once naming that process. The kernel drops the lock when its process dies, so a
  lock file left by a killed run is simply taken over.
- **no writes through links**: :func:`check_no_symlinks` refuses an OUT where a folder or file
  synthaudio writes (``audio/``, ``data/train``, ...) is a symbolic link, naming it: a write
  there would land outside OUT.
- **what synthaudio wrote** is listed in ``OUT/.synthaudio-written`` (the top-level entries,
  one a line), with ``corpus.yaml`` holding a fingerprint the mark of a synthaudio output:
  ``--overwrite`` refuses a folder without that mark, and a run whose inputs (its config,
  prompt files) lie among the entries it would replace.
- **replace, never lose**: ``--overwrite`` builds the new corpus beside the old one in
  ``OUT/.synthaudio-new`` and swaps it in only when complete (:func:`swap_in`); a failure
  before then leaves the old corpus whole (the new one's complete work is kept there, so
  the same command resumes it).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from synthaudio.errors import SynthaudioError
from synthaudio.fileio import (  # noqa: F401 - check_no_symlinks is part of this job
    check_no_symlinks,
    is_temp_name,
    write_text_atomic,
)

LOCK_NAME = ".synthaudio.lock"
WRITTEN_NAME = ".synthaudio-written"  # the top-level entries a run wrote, one a line
STAGING_NAME = ".synthaudio-new"  # the corpus --overwrite builds before swapping it in
TRASH_NAME = ".synthaudio-old"  # the replaced corpus, while it is being removed
# Entries of OUT that are the engine's own bookkeeping, not a corpus's content.
BOOKKEEPING = (LOCK_NAME, WRITTEN_NAME, STAGING_NAME, TRASH_NAME)


@contextlib.contextmanager
def out_lock(out_dir: Path) -> Iterator[None]:
    """Hold OUT's lock for the block (OUT is made when missing, and removed again when the
    block fails and leaves it holding nothing but the lock).

    Raises:
        SynthaudioError: another process holds the lock (naming its process id), or OUT
            cannot be made.
    """
    created = not out_dir.exists()
    if out_dir.exists() and not out_dir.is_dir():
        raise SynthaudioError(f"{out_dir}: output path exists and is not a directory")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(out_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise SynthaudioError(f"{out_dir}: cannot create the output directory "
                              f"({exc.strerror or exc})") from None
    ok = locked = False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            locked = True
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise SynthaudioError(
                f"{out_dir}: another synthaudio run (process {holder}) is writing here; "
                f"wait for it to finish (lock {out_dir / LOCK_NAME})") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield
        ok = True
    finally:
        if locked:  # removed while still held, so no other run can be holding it
            with contextlib.suppress(OSError):
                (out_dir / LOCK_NAME).unlink()
                if created and not ok:
                    out_dir.rmdir()  # only when empty: a refused run leaves no folder
        os.close(fd)


def written_entries(out_dir: Path, outputs: Sequence[str]) -> list[str]:
    """The top-level entries of OUT that synthaudio wrote: those its record lists, and any
    of ``outputs`` present (later commands add ``eval/``, ``report/``, manifests)."""
    listed: set[str] = set()
    with contextlib.suppress(OSError, UnicodeDecodeError):
        text = (out_dir / WRITTEN_NAME).read_text(encoding="utf-8")
        listed = {n for n in text.splitlines() if n and "/" not in n and n not in ("..", ".")}
    present = {n for n in outputs if (out_dir / n).exists() or (out_dir / n).is_symlink()}
    return sorted(listed | present)


def record_written(out_dir: Path, outputs: Sequence[str]) -> None:
    """Write OUT's record of what synthaudio wrote (the top-level entries present)."""
    names = [n for n in outputs if (out_dir / n).exists()]
    write_text_atomic(out_dir / WRITTEN_NAME, "".join(f"{n}\n" for n in sorted(names)))


def check_inputs_outside(out_dir: Path, names: Iterable[str], inputs: Iterable[Path]) -> None:
    """SynthaudioError when one of the run's ``inputs`` is one of the entries ``names`` of
    OUT that the run replaces (or lies inside one): it would be overwritten or removed."""
    root = out_dir.resolve()
    replaced = set(names)
    for path in inputs:
        try:
            rel = Path(path).resolve().relative_to(root)
        except ValueError:
            continue
        if rel.parts and rel.parts[0] in replaced:
            raise SynthaudioError(
                f"{os.path.abspath(path)}: this input of the run is inside the output folder, "
                f"where the run writes {root / rel.parts[0]}; keep the config and its files "
                "outside OUT (e.g. -o OUT with OUT a new folder)")


def swap_in(out_dir: Path, build_dir: Path, old_names: Sequence[str], marker: str) -> None:
    """Replace OUT's entries ``old_names`` with the entries of ``build_dir`` (renames within
    OUT, so each is instantaneous); then remove the old ones.

    ``marker`` (``corpus.yaml``) is replaced in one rename, between moving the old entries
    out and the new ones in, so that a run killed while swapping always leaves OUT marked
    with one of the two configs: the old one (the same command swaps again) or the new one
    (the same command finishes it in place).

    Raises:
        SynthaudioError: naming the full path of what could not be moved or removed.
    """
    trash = out_dir / TRASH_NAME
    _remove_tree(trash)
    try:
        trash.mkdir()
        for name in old_names:
            if name != marker and ((out_dir / name).exists() or (out_dir / name).is_symlink()):
                os.replace(out_dir / name, trash / name)
        os.replace(build_dir / marker, out_dir / marker)
        for entry in sorted(build_dir.iterdir()):
            if not is_temp_name(entry.name):
                os.replace(entry, out_dir / entry.name)
        shutil.rmtree(build_dir)
    except OSError as exc:
        where = exc.filename if exc.filename is not None else out_dir
        raise SynthaudioError(f"{where}: cannot replace the corpus in {out_dir}: "
                              f"{exc.strerror or exc}") from None
    _remove_tree(trash)


def _remove_tree(path: Path) -> None:
    """Remove ``path`` (a folder or file, if present); SynthaudioError naming the full path
    of a file that cannot be removed."""
    if path.is_symlink() or path.is_file():
        path.unlink()
        return
    if not path.exists():
        return

    def fail(function: object, name: str, excinfo: object) -> None:
        exc = excinfo[1] if isinstance(excinfo, tuple) else excinfo
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise SynthaudioError(f"{name}: cannot remove: {reason}")

    shutil.rmtree(path, onerror=fail)

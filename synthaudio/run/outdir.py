"""Keeping a user's files safe around a run's output folder OUT.

What the run engine (:mod:`synthaudio.run.engine`) does with OUT before and after it writes:

- **one run at a time**: :func:`out_lock` holds ``OUT/.synthaudio.lock`` (an ``flock``, with
  the holder's process id in the file) for the whole run; a second run into the same OUT
  stops at once naming that process. The kernel drops the lock when its process dies, so a
  lock file left by a killed run is simply taken over.
- **no writes through links**: :func:`check_no_symlinks` refuses an OUT where a folder or file
  synthaudio writes (``audio/``, ``data/train``, ...) is a symbolic link, naming it: a write
  there would land outside OUT.
- **what synthaudio wrote** is listed in ``OUT/.synthaudio-written`` (the top-level entries,
  one a line, then every file inside them as ``entry/sub/path``), with ``corpus.yaml``
  holding a fingerprint the mark of a synthaudio output: ``--overwrite`` refuses a folder
  without that mark, and a run whose inputs (its config, prompt files) lie among the
  entries it would replace. A file inside synthaudio's folders that the record does not
  list (the user's) is never removed: ``--overwrite`` moves it into the new corpus and
  names it in a note (:func:`foreign_files`). Later commands writing into OUT (export,
  evaluate, report) add their files to the record (:func:`recording`).
- **replace, never lose**: ``--overwrite`` builds the new corpus beside the old one in
  ``OUT/.synthaudio-new`` and swaps it in only when complete (:func:`swap_in`); a failure
  before then leaves the old corpus whole (the new one's complete work is kept there, so
  the same command resumes it). A replaced corpus that could not be removed is removed by
  the next run into OUT.
- **single output files** (``profile -o``, ``match -o``): :func:`check_output_file` refuses
  an input of the same command and an existing file that is not synthaudio's own output of
  that kind; :func:`check_inside` keeps every output path inside the folder a command
  writes to.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from synthaudio.errors import SynthaudioError
from synthaudio.io.fileio import (
    is_temp_name,
    write_text_atomic,
)

LOCK_NAME = ".synthaudio.lock"
WRITTEN_NAME = ".synthaudio-written"  # the top-level entries a run wrote, one a line
USER_MARK = "! "  # a record line naming a user's file, while a run is unfinished
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
        listed = {n for n in text.splitlines()
                  if n and "/" not in n and n not in ("..", ".") and not n.startswith("!")}
    present = {n for n in outputs if (out_dir / n).exists() or (out_dir / n).is_symlink()}
    return sorted(listed | present)


def _files_under(out_dir: Path, names: Iterable[str]) -> Iterator[str]:
    """``entry/sub/path`` of every file (or link) inside the folders ``names`` of OUT."""
    for name in names:
        top = out_dir / name
        if top.is_dir() and not top.is_symlink():
            for path in top.rglob("*"):
                if path.is_symlink() or path.is_file():
                    yield path.relative_to(out_dir).as_posix()


def listed_files(out_dir: Path) -> set[str] | None:
    """The files inside OUT's entries that its record lists; None when the record lists no
    files (none, or one written by an older synthaudio: every file of its entries is then
    synthaudio's)."""
    try:
        text = (out_dir / WRITTEN_NAME).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    files = {n for n in text.splitlines() if "/" in n and not n.startswith(USER_MARK)}
    return files or None


def _referenced(out_dir: Path) -> set[str]:
    """Every string of OUT's own records (``metadata.jsonl``, the work records of an
    unfinished run, the RIR bank's index, as ``rirs/...``): the paths synthaudio wrote."""
    found: set[str] = set()

    def walk(value: object, prefix: str) -> None:
        if isinstance(value, str):
            found.add(prefix + value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v, prefix)
        elif isinstance(value, list):
            for v in value:
                walk(v, prefix)

    sources = [(out_dir / "metadata.jsonl", ""), (out_dir / "rirs" / "index.jsonl", "rirs/")]
    sources += [(p, "") for p in sorted((out_dir / ".work" / "records").glob("*.jsonl"))]
    for path, prefix in sources:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            for line in path.read_text(encoding="utf-8").splitlines():
                with contextlib.suppress(ValueError):
                    walk(json.loads(line), prefix)
    return found


def foreign_files(out_dir: Path, outputs: Sequence[str]) -> list[str]:
    """Files inside OUT's synthaudio folders that synthaudio did not write, sorted: never
    removed, never replaced. Those the record lists are synthaudio's, and so are those its
    records name (the audio of a run interrupted after the last record was written)."""
    listed = listed_files(out_dir)
    if listed is None:
        return []
    unlisted = [f for f in _files_under(out_dir, outputs) if f not in listed]
    if not unlisted:
        return []
    referenced = _referenced(out_dir)
    return sorted(f for f in unlisted if f not in referenced)


def claim_user_files(out_dir: Path, outputs: Sequence[str], in_place: bool) -> list[str]:
    """The user's files inside OUT's synthaudio folders, decided when a run claims OUT and
    kept in the record (a ``!`` line, then ``! path`` lines) until a run finishes and
    rewrites the record: the files of an unfinished run are in no record yet, so a run that
    finds the ``!`` line keeps the list the unfinished run decided. Only a run writing in
    place (``in_place``, not one building beside OUT for ``--overwrite``) marks the record."""
    listed = listed_files(out_dir)
    if listed is None:
        return []
    try:
        lines = (out_dir / WRITTEN_NAME).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    if USER_MARK.strip() in lines:  # a run claimed OUT and did not finish
        stored = [n[len(USER_MARK):] for n in lines if n.startswith(USER_MARK)]
        user = [f for f in stored if (out_dir / f).exists() or (out_dir / f).is_symlink()]
    else:
        user = foreign_files(out_dir, outputs)
    if in_place:
        kept = [n for n in lines if not n.startswith(USER_MARK.strip())]
        marks = [USER_MARK.strip(), *(USER_MARK + f for f in user)]
        write_text_atomic(out_dir / WRITTEN_NAME, "".join(f"{n}\n" for n in [*kept, *marks]))
    return user


def record_written(out_dir: Path, outputs: Sequence[str], foreign: Iterable[str] = ()) -> None:
    """Write OUT's record of what synthaudio wrote: the top-level entries present, then
    every file inside them except ``foreign`` (the user's)."""
    names = sorted(n for n in outputs if (out_dir / n).exists())
    skip = set(foreign)
    files = sorted(f for f in _files_under(out_dir, names) if f not in skip)
    write_text_atomic(out_dir / WRITTEN_NAME, "".join(f"{n}\n" for n in [*names, *files]))


def _snapshot(out_dir: Path, outputs: Sequence[str]) -> dict[str, int]:
    out = {}
    for rel in _files_under(out_dir, outputs):
        with contextlib.suppress(OSError):
            out[rel] = (out_dir / rel).lstat().st_mtime_ns
    for name in outputs:
        with contextlib.suppress(OSError):
            if (out_dir / name).is_file():
                out[name] = (out_dir / name).lstat().st_mtime_ns
    return out


@contextlib.contextmanager
def recording(out_dir: Path, outputs: Sequence[str]) -> Iterator[None]:
    """Add the files a command writes into a synthaudio OUT (export, evaluate, report) to
    OUT's record, so that ``--overwrite`` later knows them from the user's: the files new
    or rewritten during the block. Nothing when OUT has no per-file record."""
    out_dir = Path(out_dir)
    if listed_files(out_dir) is None:
        yield
        return
    before = _snapshot(out_dir, outputs)
    yield
    after = _snapshot(out_dir, outputs)
    new = {rel for rel, t in after.items() if before.get(rel) != t}
    if not new:
        return
    text = (out_dir / WRITTEN_NAME).read_text(encoding="utf-8")
    lines = set(text.splitlines()) | {rel.split("/")[0] for rel in new} | {
        rel for rel in new if "/" in rel}
    tops = sorted(n for n in lines if "/" not in n)
    files = sorted(n for n in lines if "/" in n)
    write_text_atomic(out_dir / WRITTEN_NAME, "".join(f"{n}\n" for n in [*tops, *files]))


def remove_old_corpus(out_dir: Path) -> str | None:
    """Remove a replaced corpus an earlier ``--overwrite`` could not remove
    (``OUT/.synthaudio-old``); a note when it still cannot be."""
    try:
        _remove_tree(out_dir / TRASH_NAME)
    except SynthaudioError as exc:
        return f"note: the replaced corpus {out_dir / TRASH_NAME} is left: {exc}"
    return None


def check_output_file(out: Path | str, what: str, *, inputs: Iterable[Path | str] = (),
                      is_own: Callable[[Path], bool] | None = None, flag: str = "-o") -> Path:
    """The one rule for a command's single output file: never an input of the same command,
    never a file synthaudio did not write (an existing file is replaced only when
    ``is_own`` says it is synthaudio's own output of that kind, ``what``).

    Raises:
        SynthaudioError: naming the path and what to do.
    """
    path = Path(out)
    if path.is_dir():
        raise SynthaudioError(f"{path}: {flag} is a directory (give the {what}'s file name)")
    target = path.resolve()
    for given in inputs:
        if Path(given).resolve() == target:
            raise SynthaudioError(f"{path}: {flag} is an input of this command; write the "
                                  f"{what} to another file")
    if path.exists() or path.is_symlink():
        own = False
        if is_own is not None and path.is_file():
            with contextlib.suppress(OSError, UnicodeDecodeError, ValueError):
                own = is_own(path)
        if not own:
            raise SynthaudioError(f"{path}: exists and is not a {what} synthaudio wrote; it "
                                  f"is kept: give {flag} a new file name (or remove it)")
    return path


def check_inside(base: Path, name: str, flag: str) -> Path:
    """``base / name`` when it resolves inside ``base``; SynthaudioError naming ``flag``
    otherwise (``..``, an absolute path, a link out)."""
    root = Path(base).resolve()
    path = (root / name).resolve()
    if (not name or name in (".", "..") or Path(name).is_absolute() or "\\" in name
            or not path.is_relative_to(root) or path == root):
        raise SynthaudioError(f"{flag}: {name!r} must name a folder inside {base} (no '..', "
                              "no absolute path)")
    return Path(base) / name


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


def swap_in(out_dir: Path, build_dir: Path, old_names: Sequence[str], marker: str,
            keep: Sequence[str] = ()) -> list[str]:
    """Replace OUT's entries ``old_names`` with the entries of ``build_dir`` (renames within
    OUT, so each is instantaneous); then remove the old ones. Return notes.

    ``keep`` are files inside the old entries that synthaudio did not write
    (:func:`foreign_files`): they are moved into the new corpus first, at the same place,
    and named in a note; one where the new corpus has a file is refused before anything
    moves.

    ``marker`` (``corpus.yaml``) is replaced in one rename, between moving the old entries
    out and the new ones in, so that a run killed while swapping always leaves OUT marked
    with one of the two configs: the old one (the same command swaps again) or the new one
    (the same command finishes it in place). An old corpus that cannot be removed is left
    in ``OUT/.synthaudio-old`` (a note), which the next run removes.

    Raises:
        SynthaudioError: naming the full path of what could not be moved.
    """
    trash = out_dir / TRASH_NAME
    notes: list[str] = []
    _remove_tree(trash)
    kept = [rel for rel in keep if (out_dir / rel).exists() or (out_dir / rel).is_symlink()]
    for rel in kept:
        if (build_dir / rel).exists() or (build_dir / rel).is_symlink():
            raise SynthaudioError(
                f"{out_dir / rel}: synthaudio did not write this file and the new corpus "
                f"writes one at the same place; move it out of {out_dir}, then run the same "
                "command again (the new corpus is kept and resumes)")
    try:
        for rel in kept:
            (build_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(out_dir / rel, build_dir / rel)
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
    if kept:
        shown = ", ".join(kept[:5]) + (f" and {len(kept) - 5} more" if len(kept) > 5 else "")
        notes.append(f"note: kept {len(kept)} file(s) synthaudio did not write, inside its "
                     f"folders: {shown}")
    left = remove_old_corpus(out_dir)
    if left is not None:
        notes.append(left + " (the next run into this folder removes it)")
    return notes


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

"""Atomic, byte-deterministic file writing for the manifest exports.

Every export file is written under a temporary name in its destination folder
and moved into place with ``os.replace`` only when complete, so a crash or an
error never leaves a half-written manifest behind. Gzip output carries no
timestamp and no file name, so the same content always gives the same bytes.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, TypeVar

R = TypeVar("R")

FILE_MODE = 0o644  # permissions of every written file (mkstemp would leave 0o600)
GZIP_LEVEL = 6  # fixed so output bytes do not depend on library defaults


class AtomicFile:
    """A binary file written under a temporary name, moved to ``path`` on :meth:`commit`.

    Use as a context manager: leaving the block normally commits, leaving it
    with an exception (or after :meth:`discard`) removes the temporary file.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent
        )
        self._tmp = Path(tmp)
        self._raw: BinaryIO = os.fdopen(fd, "wb")
        self._done = False

    @property
    def raw(self) -> BinaryIO:
        """The underlying binary stream."""
        return self._raw

    def write(self, data: bytes) -> None:
        self._raw.write(data)

    def commit(self) -> None:
        """Close and move the file into place (no-op when already done)."""
        if self._done:
            return
        self._done = True
        self._raw.close()
        os.chmod(self._tmp, FILE_MODE)
        os.replace(self._tmp, self.path)

    def discard(self) -> None:
        """Close and delete the temporary file; ``path`` is left untouched."""
        if self._done:
            return
        self._done = True
        self._raw.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            try:
                self.commit()
            except OSError as err:
                with contextlib.suppress(OSError):
                    self._raw.close()
                self._tmp.unlink(missing_ok=True)
                raise _with_path(err, self.path) from err
        else:
            self.discard()
            if isinstance(exc, OSError) and exc.filename is None:
                raise _with_path(exc, self.path) from exc


def _with_path(exc: OSError, path: Path) -> OSError:
    """``exc`` naming ``path`` when it names no file (a failed write or close names none)."""
    if exc.filename is not None:
        return exc
    return OSError(exc.errno, exc.strerror or str(exc), str(path))


class AtomicTextFile(AtomicFile):
    """An :class:`AtomicFile` that takes ``str`` lines: UTF-8, ``\\n`` newlines.

    With ``gzip=True`` the content is gzip-compressed deterministically
    (mtime 0, no file name in the header).
    """

    def __init__(self, path: Path, gzip_output: bool = False) -> None:
        super().__init__(path)
        self._gz: gzip.GzipFile | None = None
        target: BinaryIO = self._raw
        if gzip_output:
            self._gz = gzip.GzipFile(
                filename="", mode="wb", fileobj=self._raw, compresslevel=GZIP_LEVEL, mtime=0
            )
            target = self._gz  # type: ignore[assignment]
        self._text = io.TextIOWrapper(target, encoding="utf-8", newline="\n")

    def write_line(self, line: str) -> None:
        """Write ``line`` followed by a newline."""
        self._text.write(line)
        self._text.write("\n")

    def commit(self) -> None:
        if self._done:
            return
        self._text.flush()
        self._text.detach()
        if self._gz is not None:
            self._gz.close()  # writes the trailer; leaves the raw file open
        super().commit()

    def discard(self) -> None:
        if self._done:
            return
        try:
            self._text.detach()
            if self._gz is not None:
                self._gz.close()
        except (OSError, ValueError):
            pass
        super().discard()

    def __enter__(self) -> AtomicTextFile:
        return self


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8, ``\\n`` newlines) to ``path`` atomically."""
    with AtomicFile(path) as f:
        f.write(text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with AtomicFile(path) as f:
        f.write(data)


def write_lines_per_split(
    records: Iterable[R], split_of: Callable[[R], str], path_of: Callable[[str], Path],
    line_of: Callable[[R], str], splits: Iterable[str],
) -> dict[str, int]:
    """Stream ``records`` into one file per split (``path_of(split)``, atomically), a line
    each; remove the files of the ``splits`` no record has; return the lines per split."""
    counts: dict[str, int] = {}
    with contextlib.ExitStack() as stack:
        files: dict[str, AtomicTextFile] = {}
        for rec in records:
            split = split_of(rec)
            f = files.get(split)
            if f is None:
                f = files[split] = stack.enter_context(AtomicTextFile(path_of(split)))
            f.write_line(line_of(rec))
            counts[split] = counts.get(split, 0) + 1
    for split in splits:
        if split not in counts:
            path_of(split).unlink(missing_ok=True)
    return counts

"""Per-split line files for the manifest exports, on the package's one atomic writer
(:mod:`synthaudio.io.fileio`: one temporary-file rule, one file mode)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from synthaudio.io.fileio import AtomicTextFile

R = TypeVar("R")


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

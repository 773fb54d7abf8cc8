"""A problem found in a corpus: which file, which line, what is wrong."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One finding of :func:`synthaudio.manifests.validate.validate_corpus`.

    ``line`` is 1-based; ``None`` when the problem concerns the whole file.
    """

    path: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}: {self.message}"


def format_problems(problems: Iterable[Problem]) -> str:
    """One ``path:line: message`` per line (empty string when there are none)."""
    return "".join(f"{p}\n" for p in problems)

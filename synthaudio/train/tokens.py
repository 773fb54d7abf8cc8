"""Output symbols of a CTC model: characters or words, with the blank at index 0."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Unit = Literal["char", "word"]
BLANK = "<blank>"
SPACE = " "  # the word separator, a symbol of its own in char mode


@dataclass(frozen=True)
class Vocabulary:
    """Symbol inventory; ``symbols[0]`` is the CTC blank."""

    unit: Unit
    symbols: tuple[str, ...]
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.unit not in ("char", "word"):
            raise ValueError(f"unit must be 'char' or 'word', got {self.unit!r}")
        if not self.symbols or self.symbols[0] != BLANK:
            raise ValueError(f"symbols must start with {BLANK!r}")
        if len(set(self.symbols)) != len(self.symbols):
            raise ValueError("symbols must be unique")
        object.__setattr__(self, "_index", {s: i for i, s in enumerate(self.symbols)})

    @classmethod
    def build(cls, texts: Iterable[str], unit: Unit) -> Vocabulary:
        """The sorted symbols of ``texts`` (normalized transcripts), blank first."""
        found: set[str] = set()
        for text in texts:
            found.update(split_units(text, unit))
        return cls(unit, (BLANK, *sorted(found)))

    def __len__(self) -> int:
        return len(self.symbols)

    def covers(self, text: str) -> bool:
        """Whether every unit of ``text`` is a symbol."""
        return all(u in self._index for u in split_units(text, self.unit))

    def encode(self, text: str) -> list[int]:
        """Symbol indices of ``text``; raise ValueError naming a unit that is not a symbol."""
        out = []
        for u in split_units(text, self.unit):
            if u not in self._index:
                raise ValueError(f"{u!r} (in {text!r}) is not in the vocabulary")
            out.append(self._index[u])
        return out

    def decode(self, ids: Iterable[int]) -> str:
        """Text of a symbol index sequence (blanks ignored), single-spaced."""
        units = [self.symbols[i] for i in ids if i != 0]
        text = "".join(units) if self.unit == "char" else " ".join(units)
        return " ".join(text.split())

    def to_dict(self) -> dict[str, Any]:
        return {"unit": self.unit, "symbols": list(self.symbols)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Vocabulary:
        return cls(d["unit"], tuple(d["symbols"]))


def split_units(text: str, unit: Unit) -> list[str]:
    """Words, or characters with single spaces between words."""
    words = text.split()
    return words if unit == "word" else list(" ".join(words))


def greedy_collapse(best: Sequence[int], blank: int = 0) -> list[int]:
    """CTC best path to labels: merge repeated symbols, then drop blanks."""
    out: list[int] = []
    prev = -1
    for i in best:
        i = int(i)
        if i != prev and i != blank:
            out.append(i)
        prev = i
    return out

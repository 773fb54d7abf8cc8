"""Prompts: the utterances to synthesize, from prompt files or template grammars.

A prompt file is UTF-8 text with one utterance per line, either ``text`` or
``id<TAB>text``. Ids are made of ``[A-Za-z0-9_-]`` only, so that they are safe as
file names and as Kaldi keys. A line without an id gets ``<stem>-<line:05d>``,
where ``<stem>`` is the file stem with every other character replaced by ``_``.

A template is one line of text with slots ``{a|b|c}``; an option may hold several
words or be empty (``{|please}``). Slots do not nest.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synthaudio.errors import InputError, InputKeyError

__all__ = [
    "MAX_ENUMERATED",
    "MAX_LINE_CHARS",
    "Prompt",
    "expand_template",
    "normalize_prompts",
    "parse_template",
    "read_prompt_file",
    "template_prompts",
]

MAX_LINE_CHARS = 10_000  # longest accepted prompt-file line, in characters
MAX_ENUMERATED = 100_000  # most expansions expand_template(count=None) will list
_ID_RE = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Prompt:
    """One utterance to synthesize, as written."""

    id: str  # [A-Za-z0-9_-]+, unique within a corpus
    raw_text: str  # the text as written (stripped), before normalization
    source: str  # where it came from: "path:line" or "template:N"


def read_prompt_file(path: Path) -> list[Prompt]:
    """Read a prompt file (``text`` or ``id<TAB>text`` per line); blank lines are skipped.

    Raises InputError naming the path and line for a missing or empty file,
    bytes that are not UTF-8, control characters, lines over MAX_LINE_CHARS,
    malformed or duplicate ids.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: prompt file not found") from None
    except IsADirectoryError:
        raise InputError(f"{path}: prompt file is a directory") from None
    except OSError as err:
        raise InputError(f"{path}: cannot read prompt file ({err.strerror})") from None
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError as err:
        bad_line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise InputError(f"{path}:{bad_line}: not valid UTF-8 (byte 0x{data[err.start]:02x} at "
                         f"byte column {column})") from None
    stem = re.sub(r"[^A-Za-z0-9_-]", "_", path.stem)
    prompts: list[Prompt] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(content.removeprefix("\ufeff").split("\n"), start=1):
        line = line.removesuffix("\r")
        where = f"{path}:{number}"
        if len(line) > MAX_LINE_CHARS:
            raise InputError(f"{where}: line is {len(line):,} characters long "
                             f"(limit {MAX_LINE_CHARS:,})")
        _check_controls(line, where)
        if not line.strip():
            continue
        if "\t" in line:
            prompt_id, _, text = line.partition("\t")
            if "\t" in text:
                raise InputError(f"{where}: more than one tab; expected 'id<TAB>text'")
            if not _ID_RE.fullmatch(prompt_id):
                raise InputError(f"{where}: invalid prompt id {prompt_id!r} "
                                 "(use only letters, digits, '_' and '-')")
            if not text.strip():
                raise InputError(f"{where}: prompt {prompt_id!r} has no text")
        else:
            prompt_id, text = f"{stem}-{number:05d}", line
        if prompt_id in first_line:
            raise InputError(f"{where}: duplicate prompt id {prompt_id!r} "
                             f"(first on line {first_line[prompt_id]})")
        first_line[prompt_id] = number
        prompts.append(Prompt(id=prompt_id, raw_text=text.strip(), source=where))
    if not prompts:
        raise InputError(f"{path}: no prompts (the file is empty or has only blank lines)")
    return prompts


def _check_controls(line: str, where: str) -> None:
    for column, ch in enumerate(line, start=1):
        if ch != "\t" and unicodedata.category(ch) == "Cc":
            raise InputError(f"{where}: control character U+{ord(ch):04X} at column {column}")


def parse_template(template: str) -> list[list[str]]:
    """Split a template into segments: literal text -> [text], slot -> its options."""
    segments: list[list[str]] = []
    literal_start, slot_start = 0, -1
    for i, ch in enumerate(template):
        if ch == "{":
            if slot_start >= 0:
                raise InputKeyError(f"template {template!r}: unbalanced braces ('{{' inside a "
                                 f"slot at column {i + 1}; slots do not nest)")
            segments.append([template[literal_start:i]])
            slot_start = i
        elif ch == "}":
            if slot_start < 0:
                raise InputKeyError(f"template {template!r}: unbalanced braces ('}}' without "
                                 f"'{{' at column {i + 1})")
            segments.append(template[slot_start + 1:i].split("|"))
            slot_start, literal_start = -1, i + 1
    if slot_start >= 0:
        raise InputKeyError(f"template {template!r}: unbalanced braces ('{{' at column "
                         f"{slot_start + 1} is never closed)")
    segments.append([template[literal_start:]])
    return [s for s in segments if s != [""]]


def expand_template(template: str, count: int | None, rng: np.random.Generator) -> list[str]:
    """Expand a ``{a|b}`` template into texts (whitespace collapsed).

    Args:
        template: the template text.
        count: None lists every expansion in order (the first slot varies slowest,
            options in written order; at most MAX_ENUMERATED); N draws N
            expansions with ``rng``, without replacement when N is at most the
            number of expansions, else with replacement.
        rng: the random stream; unused when count is None.

    Duplicates are kept: ``{a|a}`` has two expansions.
    """
    segments = parse_template(template)
    sizes = [len(s) for s in segments]
    total = math.prod(sizes)
    if count is None:
        if total > MAX_ENUMERATED:
            raise InputKeyError(f"template {template!r} has {total:,} expansions (limit "
                             f"{MAX_ENUMERATED:,} when listing them all; give a count)")
        return [_join(parts) for parts in itertools.product(*segments)]
    if count < 0:
        raise InputKeyError(f"template {template!r}: count must be >= 0, got {count}")
    if count > total:
        choices = [tuple(int(rng.integers(n)) for n in sizes) for _ in range(count)]
    elif total <= 10 * count + 1_000_000:
        flat = rng.choice(total, size=count, replace=False)
        choices = [_unravel(int(index), sizes) for index in flat]
    else:  # too many to permute; rejection is cheap because count << total
        seen: set[tuple[int, ...]] = set()
        choices = []
        while len(choices) < count:
            choice = tuple(int(rng.integers(n)) for n in sizes)
            if choice not in seen:
                seen.add(choice)
                choices.append(choice)
    return [_join(s[i] for s, i in zip(segments, choice, strict=True)) for choice in choices]


def template_prompts(template: str, count: int | None, rng: np.random.Generator,
                     id_prefix: str) -> list[Prompt]:
    """``expand_template`` as Prompts with ids ``<id_prefix>-<N:05d>``, source "template:N"."""
    if not _ID_RE.fullmatch(id_prefix):
        raise InputError(f"invalid prompt id prefix {id_prefix!r} "
                         "(use only letters, digits, '_' and '-')")
    texts = expand_template(template, count, rng)
    return [Prompt(id=f"{id_prefix}-{n:05d}", raw_text=text, source=f"template:{n}")
            for n, text in enumerate(texts, start=1)]


def normalize_prompts(
    prompts: Iterable[Prompt], normalizer: Callable[[str], str]
) -> tuple[list[tuple[Prompt, str]], list[tuple[Prompt, str]]]:
    """Normalize each prompt: (kept [(prompt, spoken text)], skipped [(prompt, reason)]).

    A prompt whose spoken form is empty is skipped, never kept with an empty text.
    """
    kept: list[tuple[Prompt, str]] = []
    skipped: list[tuple[Prompt, str]] = []
    for prompt in prompts:
        spoken = normalizer(prompt.raw_text)
        if spoken.strip():
            kept.append((prompt, spoken))
        else:
            skipped.append((prompt, f"{prompt.source}: prompt {prompt.id!r} has nothing "
                                    f"to say after normalization ({prompt.raw_text!r})"))
    return kept, skipped


def _unravel(index: int, sizes: list[int]) -> tuple[int, ...]:
    """Flat index -> one option index per segment (last segment varies fastest)."""
    out = []
    for size in reversed(sizes):
        index, rem = divmod(index, size)
        out.append(rem)
    return tuple(reversed(out))


def _join(parts: Iterable[str]) -> str:
    return " ".join("".join(parts).split())

"""Prompt files, templates and prompt normalization."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from synthaudio.errors import InputError
from synthaudio.text.normalize import TextNormalizer
from synthaudio.text.prompts import (
    MAX_ENUMERATED,
    Prompt,
    expand_template,
    normalize_prompts,
    parse_template,
    read_prompt_file,
    template_prompts,
)


def _write(tmp_path: Path, data: bytes | str, name: str = "set.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


# -- read_prompt_file ----------------------------------------------------------


def test_reads_ids_default_ids_and_skips_blank_lines(tmp_path: Path) -> None:
    path = _write(tmp_path, "a-1\tHello there.\n\n   \nTurn on the light\r\nb_2\t  $5 \n")
    prompts = read_prompt_file(path)
    assert [(p.id, p.raw_text, p.source) for p in prompts] == [
        ("a-1", "Hello there.", f"{path}:1"),
        ("set-00004", "Turn on the light", f"{path}:4"),
        ("b_2", "$5", f"{path}:5"),
    ]


def test_byte_order_mark_and_missing_final_newline(tmp_path: Path) -> None:
    path = _write(tmp_path, "\ufeffx\tone\ny\ttwo")
    assert [(p.id, p.raw_text) for p in read_prompt_file(path)] == [("x", "one"), ("y", "two")]


def test_default_ids_from_an_awkward_file_name_are_valid(tmp_path: Path) -> None:
    path = _write(tmp_path, "hi\n", name="my set.v2.txt")
    assert read_prompt_file(path)[0].id == "my_set_v2-00001"


def _error(path: Path) -> str:
    with pytest.raises(InputError) as info:
        read_prompt_file(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


BAD_FILES: list[tuple[str, bytes, str]] = [
    ("empty", b"", r"no prompts"),
    ("blank lines only", b"\n  \n\t\n", r"no prompts"),
    ("bad utf-8 on line 3", b"ok\nfine\nbad \xff byte\n", r":3: not valid UTF-8 \(byte 0xff"),
    ("latin-1 on line 2", "one\ncaf\u00e9\n".encode("latin-1"), r":2: not valid UTF-8"),
    ("bell character", b"ok\nring \x07 bell\n", r":2: control character U\+0007 at column 6"),
    ("escape character", b"\x1b[31mred\n", r":1: control character U\+001B"),
    ("stray carriage return", b"a\rb\n", r":1: control character U\+000D"),
    ("too long", b"ok\n" + b"a" * 10_001 + b"\n", r":2: line is 10,001 characters long"),
    ("space in id", b"my id\ttext\n", r":1: invalid prompt id 'my id'"),
    ("slash in id", b"a/b\ttext\n", r"invalid prompt id 'a/b'"),
    ("dot-dot id", b"..\ttext\n", r"invalid prompt id '\.\.'"),
    ("dot in id", b"a.b\ttext\n", r"invalid prompt id 'a\.b'"),
    ("empty id", b"\ttext\n", r":1: invalid prompt id ''"),
    ("id without text", b"a\t  \n", r":1: prompt 'a' has no text"),
    ("two tabs", b"a\tb\tc\n", r":1: more than one tab"),
    ("duplicate id", b"a\tone\nb\ttwo\n\na\tthree\n",
     r":4: duplicate prompt id 'a' \(first on line 1\)"),
    ("explicit id clashes with a default id", b"hello\nset-00001\tagain\n",
     r":2: duplicate prompt id 'set-00001'"),
]


@pytest.mark.parametrize(("case", "data", "pattern"), BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_bad_prompt_files(tmp_path: Path, case: str, data: bytes, pattern: str) -> None:
    assert re.search(pattern, _error(_write(tmp_path, data))), case


def test_missing_file_and_directory(tmp_path: Path) -> None:
    assert "not found" in _error(tmp_path / "nope.txt")
    assert "directory" in _error(tmp_path)


def test_line_of_exactly_the_limit_is_accepted(tmp_path: Path) -> None:
    path = _write(tmp_path, "a" * 10_000 + "\n")
    assert len(read_prompt_file(path)[0].raw_text) == 10_000


# -- templates -----------------------------------------------------------------

LIGHTS = "{|please} turn {on|off} the {kitchen|living room|bedroom} {light|lights}"


def test_parse_template_segments() -> None:
    assert parse_template("{|please} turn {on|off}") == [["", "please"], [" turn "], ["on", "off"]]
    assert parse_template("no slots") == [["no slots"]]


def test_enumerates_every_expansion_in_order() -> None:
    texts = expand_template(LIGHTS, None, np.random.default_rng(0))
    assert len(texts) == 2 * 2 * 3 * 2 == len(set(texts))
    assert texts[:3] == ["turn on the kitchen light", "turn on the kitchen lights",
                         "turn on the living room light"]
    assert texts[-1] == "please turn off the bedroom lights"
    assert all("  " not in t and t == t.strip() for t in texts)


def test_enumeration_does_not_use_the_rng() -> None:
    rng = np.random.default_rng(5)
    expand_template(LIGHTS, None, rng)
    assert rng.integers(1 << 30) == np.random.default_rng(5).integers(1 << 30)


def test_duplicate_options_are_kept_and_empty_template_has_one_expansion() -> None:
    assert expand_template("{a|a} b", None, np.random.default_rng(0)) == ["a b", "a b"]
    assert expand_template("", None, np.random.default_rng(0)) == [""]


@pytest.mark.parametrize("count", [0, 1, 10, 24])
def test_draws_without_replacement_up_to_the_total(count: int) -> None:
    texts = expand_template(LIGHTS, count, np.random.default_rng(3))
    assert len(texts) == len(set(texts)) == count
    assert set(texts) <= set(expand_template(LIGHTS, None, np.random.default_rng(0)))


def test_draws_with_replacement_beyond_the_total() -> None:
    texts = expand_template(LIGHTS, 500, np.random.default_rng(3))
    assert len(texts) == 500
    assert len(set(texts)) == 24  # every expansion is drawn at least once in 500 draws


def test_draws_are_deterministic_for_a_seed() -> None:
    first = expand_template(LIGHTS, 10, np.random.default_rng(42))
    assert first == expand_template(LIGHTS, 10, np.random.default_rng(42))
    assert first != expand_template(LIGHTS, 10, np.random.default_rng(43))


def test_huge_template_can_be_drawn_but_not_enumerated() -> None:
    template = "{a|b|c|d|e|f|g|h|i|j}" * 6  # 10**6 expansions
    with pytest.raises(InputError, match=r"1,000,000 expansions \(limit 100,000"):
        expand_template(template, None, np.random.default_rng(0))
    texts = expand_template(template * 5, 1000, np.random.default_rng(0))  # 10**30
    assert len(set(texts)) == 1000 and all(len(t) == 30 for t in texts)
    assert len(expand_template("{a|b|c|d|e}" * 7, None, np.random.default_rng(0))) == 5**7
    assert 5**7 < MAX_ENUMERATED


@pytest.mark.parametrize(("template", "problem"), [
    ("{a|b", "'{' at column 1 is never closed"),
    ("turn on}", "'}' without '{' at column 8"),
    ("{a|{b|c}}", "'{' inside a slot at column 4"),
])
def test_unbalanced_braces(template: str, problem: str) -> None:
    with pytest.raises(InputError, match=re.escape(problem)) as info:
        expand_template(template, 3, np.random.default_rng(0))
    assert repr(template) in str(info.value)


def test_negative_count() -> None:
    with pytest.raises(InputError, match="count must be >= 0"):
        expand_template(LIGHTS, -1, np.random.default_rng(0))


def test_template_prompts_ids_and_sources() -> None:
    prompts = template_prompts("{hi|hello} there", None, np.random.default_rng(0), "greet")
    assert prompts == [Prompt("greet-00001", "hi there", "template:1"),
                       Prompt("greet-00002", "hello there", "template:2")]
    with pytest.raises(InputError, match="invalid prompt id prefix 'a b'"):
        template_prompts("x", None, np.random.default_rng(0), "a b")


# -- normalize_prompts ---------------------------------------------------------


def test_normalize_prompts_keeps_speakable_and_skips_the_rest() -> None:
    prompts = [Prompt("p1", "Pay $5 now!", "f.txt:1"), Prompt("p2", "!!!", "f.txt:2"),
               Prompt("p3", "", "template:3"), Prompt("p4", "Dr. No", "f.txt:4")]
    kept, skipped = normalize_prompts(prompts, TextNormalizer("en"))
    assert [(p.id, text) for p, text in kept] == [("p1", "pay five dollars now"),
                                                 ("p4", "doctor no")]
    assert [p.id for p, _ in skipped] == ["p2", "p3"]
    assert skipped[0][1].startswith("f.txt:2: prompt 'p2' has nothing to say")
    assert all("\n" not in reason for _, reason in skipped)

"""The hard-negative finder on known pairs: CMU-dictionary neighbours, a wake phrase's near
misses, and never the target, another target or a homophone of one."""

from __future__ import annotations

import pytest

from synthaudio.pipelines.keywords.config import ConfusableConfig
from synthaudio.pipelines.keywords.confusable import (
    english_lexicon,
    espeak_lexicon,
    find_confusables,
)


def _texts(target: str, exclude: tuple[str, ...] = (), **cfg: object) -> dict[str, tuple[str, int]]:
    found = find_confusables(target, english_lexicon(), ConfusableConfig(**cfg), exclude)
    return {c.text: (c.kind, c.distance) for c in found}


@pytest.mark.parametrize(("target", "near"), [
    ("bed", "bad"), ("bed", "bet"), ("cat", "cut"), ("dog", "dig"), ("stop", "step"),
    ("five", "fine"), ("down", "town"),
])
def test_known_cmudict_neighbours_are_one_phoneme_away(target: str, near: str) -> None:
    found = _texts(target, neighbours=30)
    assert found[near] == ("neighbour", 1)
    assert target not in found


def test_a_wake_phrase_gets_near_misses_parts_and_reorders_never_itself() -> None:
    found = _texts("hey jarvis")
    assert "hey jarvis" not in found
    neighbours = {t: d for t, (k, d) in found.items() if k == "neighbour"}
    assert len(neighbours) == 8
    for text, distance in neighbours.items():  # one word swapped for a near one
        words = text.split()
        assert len(words) == 2 and (words[0] == "hey") != (words[1] == "jarvis"), text
        assert 1 <= distance <= 2
    assert found["hey"][0] == found["jarvis"][0] == "partial"
    assert found["jarvis hey"][0] == "reordered"
    # distances are phoneme edits: "jarvis" drops the two phonemes of "hey" (HH EY)
    assert found["jarvis"][1] == 2


def test_other_targets_and_homophones_are_never_negatives() -> None:
    found = _texts("tree", exclude=("three",), neighbours=50)
    assert "three" not in found and found  # THREE is one edit from TREE, but a target
    assert "three" in _texts("tree", neighbours=50)  # ... and proposed when it is not
    two = _texts("two", neighbours=50)
    assert not {"to", "too"} & set(two)  # distance 0: they sound the same
    assert all(d >= 1 for _, d in two.values())


def test_embedded_words_hold_the_target_phonemes() -> None:
    found = {t: d for t, (k, d) in _texts("stop", embedded=5).items() if k == "embedded"}
    assert found and all("stop" in t or d >= 1 for t, d in found.items())
    lex = english_lexicon()
    target = lex.encode(lex.pronounce("stop"))
    for text, distance in found.items():
        code = lex.encode(lex.pronounce(text))
        assert target in code and distance == len(code) - len(target)


def test_other_languages_use_espeak_phonemes() -> None:
    lex = espeak_lexicon(["guten", "tag", "gut", "haus", "maus", "nacht"], "de")
    found = {c.text: c for c in find_confusables("haus", lex, ConfusableConfig())}
    assert found["maus"].distance == 1 and found["maus"].kind == "neighbour"
    assert "haus" not in found
    phrase = {c.text: c.kind for c in find_confusables("guten tag", lex, ConfusableConfig())}
    assert phrase["gut tag"] == "neighbour" and phrase["tag guten"] == "reordered"

"""The prompt sets shipped in corpora/prompt_sets read cleanly and are all speakable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from synthaudio.text.normalize import TextNormalizer
from synthaudio.text.prompts import normalize_prompts, read_prompt_file

PROMPT_SETS = Path(__file__).resolve().parents[2] / "corpora" / "prompt_sets"
# file stem -> (fewest lines, most lines)
EXPECTED_SIZES = {
    "digits": (140, 160),
    "numbers": (95, 110),
    "times_dates": (75, 90),
    "commands": (110, 130),
    "sentences": (140, 160),
}


@pytest.mark.parametrize("stem", sorted(EXPECTED_SIZES))
def test_prompt_set_reads_and_every_line_is_speakable(stem: str) -> None:
    path = PROMPT_SETS / f"{stem}.txt"
    prompts = read_prompt_file(path)
    low, high = EXPECTED_SIZES[stem]
    assert low <= len(prompts) <= high
    assert [p.id for p in prompts] == [f"{stem}-{i:04d}" for i in range(1, len(prompts) + 1)]
    assert len({p.raw_text for p in prompts}) == len(prompts)
    kept, skipped = normalize_prompts(prompts, TextNormalizer("en"))
    assert skipped == []
    assert all(re.fullmatch(r"[a-z']+(?: [a-z']+)*", text) for _, text in kept)


def test_digit_prompts_are_spaced_digits_of_length_one_to_seven() -> None:
    prompts = read_prompt_file(PROMPT_SETS / "digits.txt")
    lengths = [len(p.raw_text.split()) for p in prompts]
    assert all(re.fullmatch(r"[0-9](?: [0-9])*", p.raw_text) for p in prompts)
    assert set(lengths) == set(range(1, 8))
    kept, _ = normalize_prompts(prompts, TextNormalizer("en"))
    assert all(len(text.split()) == n for (_, text), n in zip(kept, lengths, strict=True))


def test_prompt_sets_exercise_the_number_rules() -> None:
    normalize = TextNormalizer("en")
    spoken = " ".join(normalize(p.raw_text) for stem in ("numbers", "times_dates")
                      for p in read_prompt_file(PROMPT_SETS / f"{stem}.txt"))
    for phrase in ("dollars", "cents", "euros", "pound", "percent", "point", "minus", "first",
                   "o'clock", "oh five", "p m", "nineteen ninety nine", "march fifth"):
        assert phrase in spoken

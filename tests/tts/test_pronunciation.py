"""Accent pronunciation rules on espeak-ng IPA phonemes: what each rule rewrites, what it
leaves, and the per-speaker draw."""

from __future__ import annotations

import numpy as np
import pytest

from synthaudio.tts.pronunciation import (
    RULES,
    PronunciationConfig,
    apply_rules,
    sample_rules,
)

# espeak-ng en-us, as piper splits it: one symbol each, words split by " "
DIGITS = list("zˈiəɹoʊ wˈʌn tˈuː θɹˈiː fˈɔːɹ fˈaɪv sˈɪks sˈɛvən ˈeɪt nˈaɪn")
WITH = list("wˈɪð ðə θˈɪŋ")


def said(rules: list[str], phonemes: list[str] = DIGITS) -> str:
    out = apply_rules(phonemes, rules)
    assert len(out) == len(phonemes)  # one for one: engines' word timings stay right
    return "".join(out)


@pytest.mark.parametrize(("rule", "expected"), [
    ("th-stopping", "zˈiəɹoʊ wˈʌn tˈuː tɹˈiː"),
    ("th-fronting", "zˈiəɹoʊ wˈʌn tˈuː fɹˈiː"),
    ("th-alveolar", "zˈiəɹoʊ wˈʌn tˈuː sɹˈiː"),
    ("r-tap", "zˈiəɾoʊ wˈʌn tˈuː θɾˈiː fˈɔːɾ"),
    ("r-trill", "zˈiəroʊ wˈʌn tˈuː θrˈiː fˈɔːr"),
    ("w-to-v", "zˈiəɹoʊ vˈʌn"),
    ("z-devoicing", "sˈiəɹoʊ"),
    ("monophthongs", "zˈiəɹoː"),
])
def test_each_rule_rewrites_its_phonemes(rule: str, expected: str) -> None:
    assert said([rule]).startswith(expected)


def test_vowel_rules_leave_diphthongs_and_devoicing_takes_word_ends_only() -> None:
    # six: ɪ -> i; five, nine keep their aɪ; eight keeps eɪ unless monophthongs
    assert said(["tense-vowels"]) == "zˈiəɹoʊ wˈʌn tˈuː θɹˈiː fˈɔːɹ fˈaɪv sˈiks sˈɛvən ˈeɪt nˈaɪn"
    assert "ˈeːt" in said(["monophthongs"]) and "fˈaɪv" in said(["monophthongs"])
    # five's v is final, seven's is not; zero's initial z stays
    assert said(["final-devoicing"]) == ("zˈiəɹoʊ wˈʌn tˈuː θɹˈiː fˈɔːɹ fˈaɪf sˈɪks sˈɛvən "
                                         "ˈeɪt nˈaɪn")
    assert said(["v-to-w"]).endswith("fˈaɪw sˈɪks sˈɛwən ˈeɪt nˈaɪn")
    # rules compose: with's ð stopped to d, then devoiced at the word's end
    assert said(["th-stopping", "final-devoicing"], WITH) == "wˈɪt də tˈɪŋ"
    assert said([], WITH) == "".join(WITH)


def test_a_speaker_draws_consistent_rules_and_always_the_same_number_of_draws() -> None:
    cfg = PronunciationConfig(share=0.5)
    drawn = [cfg.sample(np.random.default_rng(k)) for k in range(400)]
    with_rules = [d for d in drawn if d]
    assert 0.4 < len(with_rules) / len(drawn) < 0.6
    assert {len(d) for d in with_rules} == {1, 2, 3}
    assert {r for d in with_rules for r in d} == set(RULES)
    for d in with_rules:  # one th rule and one r rule at most
        assert sum(r.startswith("th-") for r in d) <= 1
        assert sum(r.startswith("r-") for r in d) <= 1
    # the outcome does not change how much of the generator a speaker uses
    a, b = np.random.default_rng(7), np.random.default_rng(7)
    sample_rules(RULES, 0.0, (1, 3), a)
    sample_rules(RULES, 1.0, (1, 3), b)
    assert a.random() == b.random()
    assert PronunciationConfig(share=1.0, rules=("r-tap",)).sample(
        np.random.default_rng(0)) == ("r-tap",)


def test_bad_rules_are_config_errors() -> None:
    with pytest.raises(ValueError, match="no pronunciation rule 'h-dropping'"):
        PronunciationConfig(share=0.5, rules=("r-tap", "h-dropping"))
    with pytest.raises(ValueError, match="share"):
        PronunciationConfig(share=1.5)
    with pytest.raises(ValueError, match="per_speaker"):
        PronunciationConfig(per_speaker=(0, 2))

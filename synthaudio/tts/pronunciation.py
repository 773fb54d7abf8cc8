"""Accent pronunciation rules: the sound substitutions of regional and non-native English,
applied to a speaker's espeak-ng IPA phonemes before a phoneme-driven voice says them.

A TTS voice says every word the one way its lexicon gives, where real speakers do not: a
Spanish or Greek speaker taps the r of "three" and says its vowel tense, an Irish or Indian
one stops its th ("tree"), a Londoner fronts it ("free"), a German says "one" with a v and
devoices the end of "five". ``sample_rules`` draws a set of such rules for a speaker (a
share of the speakers gets any), and ``apply_rules`` rewrites phonemes with them, for every
word that speaker says (an accent is consistent). Every rule replaces one phoneme symbol by
one other, so the number of phonemes, and with it the word timings that engines take from
phoneme durations, is unchanged.

The rules (their names are what configs list and what is recorded per utterance):

=================  =========================================  ==========================
rule               substitution                               heard in
=================  =========================================  ==========================
th-stopping        θ → t, ð → d                               Irish, Indian, Nigerian,
                                                              Caribbean English
th-fronting        θ → f, ð → v                               London, African American
th-alveolar        θ → s, ð → z                               French, German, Japanese L1
r-tap              ɹ → ɾ                                      Spanish, Greek, Italian,
                                                              Indian, Scottish
r-trill            ɹ → r                                      Russian, Arabic, Italian L1
w-to-v             w → v                                      German, Slavic L1
v-to-w             v → w                                      Indian English
tense-vowels       ɪ → i, ʊ → u (not in a diphthong)          Spanish, Greek, Italian L1
monophthongs       eɪ → eː, oʊ → oː                           Indian, Scottish, Spanish
z-devoicing        z → s                                      Spanish, Greek L1
final-devoicing    a word's last b d ɡ v z ð → p t k f s θ    German, Dutch, Russian L1
=================  =========================================  ==========================

Rules that rewrite the same phoneme exclude each other (one th rule, one r rule); the first
drawn wins.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import Field, model_validator

from synthaudio.configbase import ConfigModel

_VOWEL_BEFORE = frozenset("aeoɔɑə")  # first halves of aɪ eɪ ɔɪ oʊ aʊ əʊ
_SUBSTITUTIONS: dict[str, dict[str, str]] = {
    "th-stopping": {"θ": "t", "ð": "d"},
    "th-fronting": {"θ": "f", "ð": "v"},
    "th-alveolar": {"θ": "s", "ð": "z"},
    "r-tap": {"ɹ": "ɾ"},
    "r-trill": {"ɹ": "r"},
    "w-to-v": {"w": "v"},
    "v-to-w": {"v": "w"},
    "tense-vowels": {"ɪ": "i", "ʊ": "u"},
    "z-devoicing": {"z": "s"},
}
_MONOPHTHONGS = {("e", "ɪ"): "ː", ("o", "ʊ"): "ː"}
_FINAL_DEVOICING = {"b": "p", "d": "t", "ɡ": "k", "v": "f", "z": "s", "ð": "θ"}
RULES: tuple[str, ...] = (*_SUBSTITUTIONS, "monophthongs", "final-devoicing")
# phonemes each rule rewrites: two rules sharing one exclude each other
_TOUCHES: dict[str, frozenset[str]] = {
    **{name: frozenset(sub) for name, sub in _SUBSTITUTIONS.items()},
    "monophthongs": frozenset({"eɪ", "oʊ"}),
    "final-devoicing": frozenset({"final"}),
}
# stress marks, the word break, and piper's BOS, EOS and PAD: symbols that are no phoneme
NOT_PHONEMES = frozenset({"ˈ", "ˌ", " ", "^", "$", "_"})


class PronunciationConfig(ConfigModel):
    """Which speakers get accent rules, and which rules (a phoneme-driven engine's
    ``pronunciation`` section)."""

    share: float = Field(default=0.0, ge=0.0, le=1.0)  # of the engine's speakers
    rules: tuple[str, ...] = RULES  # drawn from
    per_speaker: tuple[int, int] = (1, 3)  # rules a speaker with any gets, at most

    @model_validator(mode="after")
    def _known(self) -> PronunciationConfig:
        for rule in self.rules:
            if rule not in RULES:
                raise ValueError(f"rules: no pronunciation rule {rule!r}; choose from "
                                 f"{', '.join(RULES)}")
        lo, hi = self.per_speaker
        if not 1 <= lo <= hi:
            raise ValueError(f"per_speaker: [{lo}, {hi}] must satisfy 1 <= min <= max")
        return self

    def sample(self, rng: np.random.Generator) -> tuple[str, ...]:
        """One speaker's rules (``sample_rules``)."""
        return sample_rules(self.rules, self.share, self.per_speaker, rng)


def sample_rules(rules: Sequence[str], share: float, per_speaker: tuple[int, int],
                 rng: np.random.Generator) -> tuple[str, ...]:
    """One speaker's rules: none with probability ``1 - share``, else between
    ``per_speaker`` low and high of ``rules`` in a drawn order, each that rewrites a
    phoneme an earlier one rewrites skipped. Always three draws from ``rng`` (so later
    draws do not depend on the outcome)."""
    has = float(rng.random()) < share
    count = int(rng.integers(per_speaker[0], per_speaker[1] + 1))
    order = rng.permutation(len(rules))
    if not has or not rules:
        return ()
    chosen: list[str] = []
    touched: set[str] = set()
    for k in order:
        rule = rules[int(k)]
        if len(chosen) == count:
            break
        if rule in chosen or touched & _TOUCHES[rule]:
            continue
        chosen.append(rule)
        touched |= _TOUCHES[rule]
    return tuple(chosen)


def apply_rules(phonemes: Sequence[str], rules: Sequence[str]) -> list[str]:
    """``phonemes`` (one IPA symbol each, words split by ``" "``) said by a speaker with
    ``rules``: the same length, each symbol replaced as the rules say."""
    out = list(phonemes)
    if not rules:
        return out
    table: dict[str, str] = {}
    for rule in rules:
        table.update(_SUBSTITUTIONS.get(rule, {}))
    monophthongs = "monophthongs" in rules
    for i, ph in enumerate(phonemes):
        prev = _previous(phonemes, i)
        if monophthongs and (prev, ph) in _MONOPHTHONGS:
            out[i] = _MONOPHTHONGS[(prev, ph)]
        elif ph in ("ɪ", "ʊ") and prev in _VOWEL_BEFORE:
            continue  # the second half of a diphthong stays
        elif ph in table:
            out[i] = table[ph]
    if "final-devoicing" in rules:
        for i, ph in enumerate(out):  # after the other rules: "with" wɪð, wɪd, wɪt
            if ph in _FINAL_DEVOICING and _word_final(out, i):
                out[i] = _FINAL_DEVOICING[ph]
    return out


def _previous(phonemes: Sequence[str], i: int) -> str:
    """The phoneme before position ``i`` within its word, stress marks skipped ("" at the
    word's start)."""
    for j in range(i - 1, -1, -1):
        if phonemes[j] == " ":
            return ""
        if phonemes[j] not in NOT_PHONEMES:
            return phonemes[j]
    return ""


def _word_final(phonemes: Sequence[str], i: int) -> bool:
    """True when no phoneme follows position ``i`` in its word."""
    for ph in phonemes[i + 1:]:
        if ph == " ":
            return True
        if ph not in NOT_PHONEMES:
            return False
    return True

"""EnglishEvalNormalizer: written and spoken forms meet, on a table of pairs."""

from __future__ import annotations

import pytest

from synthaudio.evaluate.normalizer import EnglishEvalNormalizer

NORMALIZE = EnglishEvalNormalizer()

# (Whisper-style written form, synthaudio spoken-form label): both normalize the same
PAIRS = [
    ("10 of clubs.", "ten of clubs"),
    ("4 queen of clubs", "four queen of clubs"),
    ("5, 5", "five five"),
    ("21", "twenty one"),
    ("Twenty-one", "twenty one"),
    ("$3.50", "three dollars fifty cents"),
    ("It's 3:45 pm.", "it is three forty five p m"),
    ("one hundred and five", "one hundred five"),
    ("a hundred and five", "105"),
    ("In 1987.", "in nineteen eighty seven"),
    ("the 2nd of May", "the second of may"),
    ("10%", "ten percent"),
    ("Mr. John Dashwood", "mister john dashwood"),
    ("I don't know.", "i do not know"),
    ("We'll see, won't we?", "we will see will not we"),
    ("I can't", "i cannot"),
    ("They're here, I've seen", "they are here i have seen"),
    ("The colour of the theatre", "the color of the theater"),
    ("Um, yes. Uh, hmm, no.", "yes no"),
    ("[noise] <sil> HELLO(2) World!", "hello world"),
    ("Let's go", "let us go"),
    ("48833", "four eight eight three three"),  # Whisper writes spoken digits as a number
    ("731", "seven three one"),
    ("9,701,924", "nine seven zero one nine two four"),
    ("10:05", "ten oh five"),
    ("2005", "two thousand five"),
]


@pytest.mark.parametrize(("written", "spoken"), PAIRS)
def test_written_and_spoken_forms_meet(written: str, spoken: str) -> None:
    assert NORMALIZE(written) == NORMALIZE(spoken)


@pytest.mark.parametrize(("text", "want"), [
    ("10 of clubs.", "10 of clubs"),
    ("ten of clubs", "10 of clubs"),
    ("Um, I don't know the colour.", "i do not know the color"),
    ("four eight eight three", "4883"),
    ("forty eight thousand eight hundred thirty three", "48833"),
    ("in nineteen eighty seven", "in 1987"),
    ("oh no, seven oh three", "oh no 703"),
    ("John's car", "john's car"),  # a possessive stays
    ("the rise of rumour", "the rise of rumor"),  # only listed British words change
    ("", ""),
])
def test_normalized_forms(text: str, want: str) -> None:
    assert NORMALIZE(text) == want

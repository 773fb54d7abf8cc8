"""Text normalization for scoring: the same callable is applied to references and hypotheses.

jiwer only splits on whitespace; case, punctuation and recognizer filler tokens are the
caller's job, and must be handled identically on both sides or the WER is meaningless.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Recognizer non-speech tokens: pocketsphinx `<s>`, `</s>`, `<sil>`, `[NOISE]`, `[SPEECH]`,
# old Sphinx `++NOISE++`, whisper `<|endoftext|>`.
_FILLER_RE = re.compile(r"<[^<>\s]*>|\[[^\[\]]*\]|\+\+[^+\s]*\+\+")
# Pocketsphinx alternate-pronunciation suffix: "the(2)" -> "the".
_ALT_PRON_RE = re.compile(r"(?<=\w)\(\d+\)")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})


@dataclass(frozen=True)
class EvalNormalizer:
    """Callable text normalizer for WER/CER scoring.

    Steps: NFKC, filler removal, lower-case, every punctuation or symbol character becomes a
    space except an apostrophe between two word characters ("don't" stays, "'quoted'" loses
    its quotes), whitespace collapsed. Digits are kept as they are (no number expansion).
    """

    lowercase: bool = True  # fold case before comparing
    remove_fillers: bool = True  # drop <sil>, [noise], <s>, ++um++ and the like

    def __call__(self, text: str) -> str:
        text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES)
        if self.remove_fillers:
            text = _FILLER_RE.sub(" ", text)
            text = _ALT_PRON_RE.sub("", text)
        if self.lowercase:
            text = text.lower()
        chars: list[str] = []
        for i, ch in enumerate(text):
            if ch == "'":
                before = text[i - 1] if i > 0 else " "
                after = text[i + 1] if i + 1 < len(text) else " "
                chars.append("'" if _is_word_char(before) and _is_word_char(after) else " ")
            elif unicodedata.category(ch)[0] in "PSZC":
                chars.append(" ")
            else:
                chars.append(ch)
        return " ".join("".join(chars).split())


def _is_word_char(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LN"


# British spellings -> American (a small table of the words read prompts use most); the
# regular -our/-ise families are listed, not derived, so "four" or "rise" never change.
_BRITISH = {
    "colour": "color", "colours": "colors", "coloured": "colored", "favour": "favor",
    "favourite": "favorite", "favourites": "favorites", "flavour": "flavor",
    "behaviour": "behavior", "honour": "honor", "humour": "humor", "labour": "labor",
    "neighbour": "neighbor", "neighbours": "neighbors", "harbour": "harbor",
    "rumour": "rumor", "centre": "center", "centres": "centers", "theatre": "theater",
    "metre": "meter", "metres": "meters", "litre": "liter", "litres": "liters",
    "realise": "realize", "realised": "realized", "organise": "organize",
    "organised": "organized", "recognise": "recognize", "recognised": "recognized",
    "apologise": "apologize", "analyse": "analyze", "travelled": "traveled",
    "travelling": "traveling", "cancelled": "canceled", "grey": "gray",
    "programme": "program", "cheque": "check", "defence": "defense", "licence": "license",
    "catalogue": "catalog", "dialogue": "dialog", "jewellery": "jewelry", "tyre": "tire",
    "aluminium": "aluminum", "mum": "mom", "practise": "practice", "offence": "offense",
    "towards": "toward", "afterwards": "afterward", "whilst": "while", "amongst": "among",
}
# Contractions -> full forms, the irregular ones first; the regular suffixes after.
_CONTRACTIONS = {
    "won't": "will not", "can't": "can not", "cannot": "can not", "shan't": "shall not",
    "ain't": "is not", "let's": "let us", "i'm": "i am", "y'all": "you all",
    "gonna": "going to", "wanna": "want to", "gotta": "got to", "o'clock": "o'clock",
}
_SUFFIXES = (("n't", " not"), ("'re", " are"), ("'ve", " have"), ("'ll", " will"),
             ("'d", " would"), ("'m", " am"))
# 's of pronouns and "there/here/that/what/where/who/how" is "is"; elsewhere a possessive
_IS_WORDS = {"it", "he", "she", "that", "there", "here", "what", "where", "who", "how"}
_FILLER_WORDS = {"um", "umm", "uh", "uhh", "er", "erm", "ah", "hmm", "hm", "mm", "mhm",
                 "uh-huh", "eh"}
_NUMBER_WORDS = set(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty "
    "seventy eighty ninety hundred thousand million billion trillion".split())


class EnglishEvalNormalizer:
    """English WER normalizer that makes written and spoken forms comparable.

    On both sides: recognizer fillers removed (as :class:`EvalNormalizer`), then synthaudio's
    spoken-form normalizer (:class:`synthaudio.text.normalize.TextNormalizer`) writes
    numbers, currency, times, dates, ordinals and abbreviations as words ("7" seven, "$3.50"
    three dollars fifty cents, "twenty-one" twenty one, "Mr." mister) and drops punctuation
    and case; then contractions are expanded ("don't" do not, "it's" it is), British
    spellings become American ("colour" color), hesitations ("um", "uh", "hmm") go, and
    spoken numbers take one form ("one hundred and five" and "a hundred five" are "one
    hundred five"). Use it for English only.
    """

    def __init__(self, lang: str = "en-us", digits: bool = True) -> None:
        from synthaudio.text.normalize import TextNormalizer

        self.lang = lang
        self.digits = digits  # False: numbers stay words, one per spoken word (alignment)
        self._spoken = TextNormalizer(lang)
        self._basic = EvalNormalizer()

    def __call__(self, text: str) -> str:
        text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES)
        text = _ALT_PRON_RE.sub("", _FILLER_RE.sub(" ", text))
        try:
            spoken = self._spoken(text)
        except Exception:  # text the spoken-form rules refuse: the basic normalizer's words
            spoken = self._basic(text)
        out: list[str] = []
        for word in spoken.split():
            out.extend(_expand(word))
        out = [w for w in out if w not in _FILLER_WORDS]
        out = _one_number_form(out)
        return " ".join(_as_digits(out) if self.digits else out)


def _expand(word: str) -> list[str]:
    """A contraction as its words, a British spelling as the American one."""
    if word in _CONTRACTIONS:
        return _CONTRACTIONS[word].split()
    if word.endswith("'s") and word[:-2] in _IS_WORDS:
        return [word[:-2], "is"]
    for suffix, full in _SUFFIXES:
        if word.endswith(suffix) and len(word) > len(suffix):
            stem = word[: -len(suffix)]
            return [stem, full.strip()]
    return [_BRITISH.get(word, word)]


def _one_number_form(words: list[str]) -> list[str]:
    """"and" between number words dropped, "a hundred/thousand" as "one ..."."""
    out: list[str] = []
    for i, w in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if (w == "and" and out and out[-1] in ("hundred", "thousand", "million", "billion")
                and nxt in _NUMBER_WORDS):
            continue
        if w == "a" and nxt in ("hundred", "thousand", "million", "billion"):
            out.append("one")
            continue
        out.append(w)
    return out


_UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine".split())}
_TEENS = {w: 10 + i for i, w in enumerate(
    "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 20 + 10 * i for i, w in enumerate(
    "twenty thirty forty fifty sixty seventy eighty ninety".split())}
_BIG = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}


class _Number:
    """Spoken number words read into digits: a cardinal grows while the next word can extend
    it ("forty" "eight", "seven" "hundred"); a word that cannot starts a new part, and the
    parts are written one after the other ("four" "eight" 48, "nineteen" "eighty" 1980), as
    a written digit string or year reads."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.total = 0  # of the finished thousands, millions...
        self.current: int | None = None  # below a thousand, being built
        self.last = ""  # kind of the last word: unit, teen, tens, tens_unit, hundred, big

    def _close(self) -> None:
        if self.current is not None or self.total:
            self.parts.append(str(self.total + (self.current or 0)))
        self.total, self.current, self.last = 0, None, ""

    def add(self, word: str) -> bool:
        """Take ``word`` if it is a number word; False otherwise."""
        if word in _UNITS:
            if self.last not in ("", "tens", "hundred", "big"):
                self._close()
            self.current = (self.current or 0) + _UNITS[word]
            self.last = "tens_unit" if self.last == "tens" else "unit"
        elif word in _TEENS or word in _TENS:
            if self.last not in ("", "hundred", "big"):
                self._close()
            self.current = (self.current or 0) + (_TEENS.get(word) or _TENS[word])
            self.last = "teen" if word in _TEENS else "tens"
        elif word == "hundred":
            if self.current is None or self.current >= 100 or self.last == "hundred":
                self._close()
                self.current = 1
            self.current *= 100
            self.last = "hundred"
        elif word in _BIG:
            if self.current is None and not self.total:
                self.current = 1
            self.total += (self.current or 0) * _BIG[word]
            self.current, self.last = None, "big"
        else:
            return False
        return True

    def flush(self) -> str | None:
        self._close()
        out = "".join(self.parts) if self.parts else None
        self.parts = []
        return out


def _as_digits(words: list[str]) -> list[str]:
    """Runs of number words as one digit string ("four eight eight" 488, "nineteen eighty
    seven" 1987, "seven hundred thirty one" 731), so that a written "488" (read by the
    spoken-form step as "four hundred eighty eight") and a spoken digit string meet; "oh"
    between two number words is a zero."""
    out: list[str] = []
    number = _Number()
    for i, w in enumerate(words):
        if (w == "oh" and number.last and i + 1 < len(words)
                and words[i + 1] in _NUMBER_WORDS):
            w = "zero"
        if number.add(w):
            continue
        digits = number.flush()
        if digits is not None:
            out.append(digits)
        out.append(w)
    digits = number.flush()
    if digits is not None:
        out.append(digits)
    return out

"""Hard negatives: words and phrases that sound like a target but are not it.

Four kinds, each with its phoneme edit distance to the target (Levenshtein over phonemes,
insertions, deletions and substitutions costing 1):

- ``neighbour``: lexicon words (or, for a phrase, the phrase with one word swapped for a
  lexicon neighbour of it) within ``max_distance`` edits, closest first, then the most
  frequent;
- ``partial``: the first or last word(s) of a multi-word phrase;
- ``embedded``: longer lexicon words holding the target's phonemes ("stop" in "nonstop");
- ``reordered``: the phrase's words in another order.

Never the target itself, another target, nor a homophone of either (distance 0: "two" is
not a negative of "to"), nor a phrase any run of whose words says one of them
(:func:`says_any`: "please yes" and "yes plays" are no negatives when "yes" is a target).

Pronunciations: for English, the CMU pronouncing dictionary that pocketsphinx ships
(ARPABET, no stress), with frequencies from pocketsphinx's own unigram model; a word it
lacks gets letter rules (``synthaudio.tts.align.letter_phones``). For other languages,
espeak-ng's IPA phonemes of the words of the config's lexicon file and text sources.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from synthaudio.errors import InputError, InputKeyError
from synthaudio.pipelines.keywords.config import ConfusableConfig

KINDS = ("neighbour", "partial", "embedded", "reordered")
_OOV_LOGPROB = -536870912  # pocketsphinx's log probability of a word outside its model


@dataclass(frozen=True)
class Confusable:
    text: str  # what is said
    kind: str  # one of KINDS
    distance: int  # phoneme edits from the target

    def to_dict(self) -> dict[str, object]:
        return {"text": self.text, "kind": self.kind, "distance": self.distance}


class Lexicon:
    """Words with their phonemes (tuples of phoneme symbols) and a frequency score."""

    def __init__(self, phones: Mapping[str, tuple[str, ...]],
                 logprob: Mapping[str, float] | None = None,
                 fallback: object = None, phone_set: str = "arpabet") -> None:
        self.phones = dict(phones)
        self.logprob = dict(logprob or {})
        self.phone_set = phone_set
        self._fallback = fallback  # callable(word) -> phonemes for words not in the lexicon
        symbols = sorted({p for ph in self.phones.values() for p in ph})
        self._code = {p: chr(0x100 + i) for i, p in enumerate(symbols)}
        self._words = sorted(self.phones)
        self._strings = [self.encode(self.phones[w]) for w in self._words]

    def encode(self, phones: Sequence[str]) -> str:
        """One character per phoneme (rapidfuzz compares strings fast)."""
        for p in phones:
            if p not in self._code:
                self._code[p] = chr(0x100 + len(self._code))
        return "".join(self._code[p] for p in phones)

    def pronounce(self, text: str) -> tuple[str, ...]:
        """The phonemes of a word or phrase (words joined)."""
        out: list[str] = []
        for word in text.split():
            ph = self.phones.get(word)
            if ph is None:
                if self._fallback is None:
                    raise InputError(f"no pronunciation of {word!r}: add it to "
                                     "confusable.lexicon")
                ph = tuple(self._fallback(word))  # type: ignore[operator]
            out.extend(ph)
        return tuple(out)

    def distance(self, a: str, b: str) -> int:
        return int(Levenshtein.distance(self.encode(self.pronounce(a)),
                                        self.encode(self.pronounce(b))))

    def frequency(self, word: str) -> float:
        return self.logprob.get(word, float(_OOV_LOGPROB))

    def near(self, phones: Sequence[str], max_distance: int,
             limit: int) -> list[tuple[str, int]]:
        """Lexicon words within ``max_distance`` edits of ``phones`` (0 included), closest
        first, then most frequent, then alphabetical; at most ``limit``."""
        query = self.encode(phones)
        hits = process.extract(query, self._strings, scorer=Levenshtein.distance,
                               score_cutoff=max_distance, limit=None)
        found = [(self._words[i], int(d)) for _, d, i in hits]
        found.sort(key=lambda x: (x[1], -self.frequency(x[0]), x[0]))
        return found[:limit]

    def containing(self, phones: Sequence[str]) -> list[tuple[str, int]]:
        """Lexicon words whose phonemes hold ``phones`` with more around them, with the
        number of extra phonemes; fewest extra first, then most frequent."""
        query = self.encode(phones)
        found = [(w, len(s) - len(query)) for w, s in zip(self._words, self._strings,
                                                          strict=True)
                 if query in s and len(s) > len(query)]
        found.sort(key=lambda x: (x[1], -self.frequency(x[0]), x[0]))
        return found


@lru_cache(maxsize=1)
def english_lexicon() -> Lexicon:
    """The CMU dictionary pocketsphinx ships, restricted to the words its unigram model
    knows (real words, not the dictionary's many rare names), with their log probability."""
    import pocketsphinx

    from synthaudio.tts.align import letter_phones

    model = Path(pocketsphinx.get_model_path()) / "en-us"
    lm = pocketsphinx.NGramModel(pocketsphinx.Config(), pocketsphinx.LogMath(),
                                 str(model / "en-us.lm.bin"))
    phones: dict[str, tuple[str, ...]] = {}
    logprob: dict[str, float] = {}
    with (model / "cmudict-en-us.dict").open(encoding="utf-8") as f:
        for line in f:
            word, *ph = line.split()
            if "(" in word or not word.isalpha() or len(word) < 2 or word in phones:
                continue  # alternative pronunciations, abbreviations
            p = lm.prob([word])
            if p <= _OOV_LOGPROB:
                continue
            phones[word], logprob[word] = tuple(ph), float(p)
    full = _full_cmudict(model / "cmudict-en-us.dict")

    def fallback(word: str) -> tuple[str, ...]:
        return full.get(word) or tuple(letter_phones(word).split())

    return Lexicon(phones, logprob, fallback, "arpabet")


@lru_cache(maxsize=1)
def _full_cmudict(path: Path) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    with path.open(encoding="utf-8") as f:
        for line in f:
            word, *ph = line.split()
            if "(" not in word:
                out.setdefault(word, tuple(ph))
    return out


def espeak_lexicon(words: Iterable[str], language: str) -> Lexicon:
    """IPA phonemes of ``words`` from espeak-ng's ``language`` voice (any language it
    speaks); no frequencies (ties are alphabetical)."""
    from synthaudio.tts.espeak import EspeakEngine

    engine = EspeakEngine()
    chosen = sorted({w for w in words if w and not any(c.isspace() for c in w)})
    phones: dict[str, tuple[str, ...]] = {}
    for start in range(0, len(chosen), 200):  # one library instance per batch of words
        batch = chosen[start:start + 200]
        per_word = engine.phonemes(" . ".join(batch), language)
        if len(per_word) == len(batch):
            phones.update(zip(batch, (tuple(p) for p in per_word), strict=True))
        else:  # a word espeak splits (digits, abbreviations): one at a time
            for w in batch:
                ph = [p for word in engine.phonemes(w, language) for p in word]
                if ph:
                    phones[w] = tuple(ph)

    def fallback(word: str) -> tuple[str, ...]:
        return tuple(p for w in engine.phonemes(word, language) for p in w)

    return Lexicon(phones, None, fallback, f"espeak-ng:{language}")


def find_confusables(target: str, lexicon: Lexicon, cfg: ConfusableConfig,
                     exclude: Sequence[str] = ()) -> list[Confusable]:
    """The hard negatives of ``target`` (lower-case words), in kind order (see the module
    docstring); ``exclude`` are the other targets, never proposed, nor their homophones."""
    words = target.split()
    banned_phones = {lexicon.encode(lexicon.pronounce(t)) for t in (target, *exclude)}
    banned_text = {target, *exclude}
    out: list[Confusable] = []
    seen: set[str] = set()

    def add(text: str, kind: str) -> None:
        if text in seen or text in banned_text:
            return
        code = lexicon.encode(lexicon.pronounce(text))
        if code in banned_phones:  # a homophone of a target
            return
        if says_any(text.split(), lexicon, banned_phones):  # it says a target within it
            return
        seen.add(text)
        out.append(Confusable(text, kind, lexicon.distance(text, target)))

    if cfg.neighbours:
        for text in _neighbours(words, lexicon, cfg.max_distance, cfg.neighbours, banned_text,
                                banned_phones):
            add(text, "neighbour")
    if cfg.partial and len(words) > 1:
        for k in range(1, len(words)):
            add(" ".join(words[:k]), "partial")
            add(" ".join(words[k:]), "partial")
    if cfg.embedded:
        count = 0
        for word, _ in lexicon.containing(lexicon.pronounce(target)):
            if count >= cfg.embedded:
                break
            before = len(out)
            add(word, "embedded")
            count += len(out) - before
    if cfg.reordered and len(words) > 1:
        for perm in itertools.permutations(words):
            add(" ".join(perm), "reordered")
    return out


def says_any(words: Sequence[str], lexicon: Lexicon, banned: set[str]) -> bool:
    """True when a run of consecutive ``words`` sounds like one of ``banned`` (phoneme
    codes, :meth:`Lexicon.encode`): the word itself, a homophone, or a phrase said across
    words. The one rule for every clip labelled as not a target."""
    longest = max((len(b) for b in banned), default=1)
    codes = [lexicon.encode(lexicon.pronounce(w)) for w in words]
    for a in range(len(codes)):
        joined = ""
        for b in range(a, len(codes)):
            joined += codes[b]
            if joined in banned:
                return True
            if len(joined) > longest:
                break
    return False


def sound_alike(targets: Sequence[str], lexicon: Lexicon) -> tuple[str, str] | None:
    """The first two ``targets`` with the same phonemes (homophones), or None."""
    seen: dict[str, str] = {}
    for t in targets:
        code = lexicon.encode(lexicon.pronounce(t))
        if code in seen:
            return seen[code], t
        seen[code] = t
    return None


def _neighbours(words: list[str], lexicon: Lexicon, max_distance: int, limit: int,
                banned_text: set[str], banned_phones: set[str]) -> list[str]:
    """Neighbours of a word, or of a phrase: each word swapped for one of its own
    neighbours (the others kept), closest overall first."""
    pool = limit * 4 + 8  # more than needed: some are banned
    if len(words) == 1:
        return [w for w, d in lexicon.near(lexicon.pronounce(words[0]), max_distance, pool)
                if d > 0 and w not in banned_text
                and lexicon.encode(lexicon.phones[w]) not in banned_phones][:limit]
    options: list[tuple[int, float, str]] = []
    for k, word in enumerate(words):
        for near, d in lexicon.near(lexicon.pronounce(word), max_distance, pool):
            if d == 0:
                continue
            text = " ".join([*words[:k], near, *words[k + 1:]])
            options.append((d, -lexicon.frequency(near), text))
    options.sort()
    return [text for _, _, text in options][:limit]


def lexicon_for(language: str, extra_words: Iterable[str]) -> Lexicon:
    """The English lexicon for ``en*`` languages (``extra_words`` get pronunciations from
    the dictionary or letter rules as needed), else espeak-ng's phonemes of
    ``extra_words``."""
    if language.split("-")[0] == "en":
        return english_lexicon()
    words = list(extra_words)
    if not words:
        raise InputKeyError(f"language {language!r}: hard negatives need candidate words; give "
                         "confusable.lexicon (a word file) or text sources")
    return espeak_lexicon(words, language)


def read_word_file(path: Path) -> list[str]:
    """Words of a lexicon file: the first field of each non-empty line, lower case."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the lexicon ({exc})") from None
    return [line.split()[0].lower() for line in lines if line.strip()]

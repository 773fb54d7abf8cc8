"""WER/CER with jiwer: pooled scores, per-utterance alignments, breakdowns by condition.

Texts passed here must already be normalized (see `normalizer.EvalNormalizer`); jiwer only
collapses and splits whitespace. Rates are pooled over a set of utterances,
``(S + D + I) / (H + S + D)``, never a mean of per-utterance rates. CER counts characters
including the single spaces between words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import jiwer


@dataclass(frozen=True)
class Counts:
    """Edit counts of an alignment (words or characters)."""

    hits: int = 0
    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0

    @property
    def ref_len(self) -> int:
        """Reference length: H + S + D."""
        return self.hits + self.substitutions + self.deletions

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    def rate(self) -> float:
        """(S + D + I) / (H + S + D); with an empty reference, jiwer's rule: the insertion count."""
        if self.ref_len == 0:
            return float(self.insertions)
        return self.errors / self.ref_len

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.hits + other.hits,
            self.substitutions + other.substitutions,
            self.deletions + other.deletions,
            self.insertions + other.insertions,
        )

    def to_dict(self) -> dict[str, int]:
        return {
            "hits": self.hits,
            "sub": self.substitutions,
            "del": self.deletions,
            "ins": self.insertions,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Counts:
        return cls(int(d["hits"]), int(d["sub"]), int(d["del"]), int(d["ins"]))


@dataclass(frozen=True)
class Scores:
    """Pooled scores over a set of utterances."""

    wer: float
    cer: float
    hits: int
    substitutions: int
    deletions: int
    insertions: int
    ref_words: int  # H + S + D over the set
    char_hits: int
    char_substitutions: int
    char_deletions: int
    char_insertions: int
    ref_chars: int  # characters in the references, spaces between words included
    count: int  # number of utterances

    @classmethod
    def from_counts(cls, words: Counts, chars: Counts, count: int) -> Scores:
        return cls(
            wer=words.rate(),
            cer=chars.rate(),
            hits=words.hits,
            substitutions=words.substitutions,
            deletions=words.deletions,
            insertions=words.insertions,
            ref_words=words.ref_len,
            char_hits=chars.hits,
            char_substitutions=chars.substitutions,
            char_deletions=chars.deletions,
            char_insertions=chars.insertions,
            ref_chars=chars.ref_len,
            count=count,
        )

    @property
    def word_counts(self) -> Counts:
        return Counts(self.hits, self.substitutions, self.deletions, self.insertions)

    @property
    def char_counts(self) -> Counts:
        return Counts(
            self.char_hits, self.char_substitutions, self.char_deletions, self.char_insertions
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["wer"] = round(self.wer, 6)
        d["cer"] = round(self.cer, 6)
        return d


@dataclass(frozen=True)
class UttScore:
    """Scores and word alignment of one utterance."""

    id: str
    reference: str
    hypothesis: str
    words: Counts
    chars: Counts
    alignment: tuple[tuple[str, str, str], ...]  # (op, ref words, hyp words); op != "equal"

    @property
    def wer(self) -> float:
        return self.words.rate()

    @property
    def cer(self) -> float:
        return self.chars.rate()

    def to_record(self) -> dict[str, Any]:
        """Its per_utt.jsonl fields; the caller adds conditions and gate."""
        return {
            "id": self.id,
            "reference": self.reference,
            "hypothesis": self.hypothesis,
            "errors": self.words.to_dict(),
            "char_errors": self.chars.to_dict(),
            "wer": round(self.wer, 6),
            "cer": round(self.cer, 6),
            "alignment": [list(a) for a in self.alignment],
        }


def _word_counts(out: jiwer.WordOutput | jiwer.CharacterOutput) -> Counts:
    return Counts(out.hits, out.substitutions, out.deletions, out.insertions)


def score(refs: Sequence[str], hyps: Sequence[str]) -> Scores:
    """Pooled WER and CER of normalized reference/hypothesis pairs.

    Args:
        refs: normalized references, one per utterance.
        hyps: normalized hypotheses, same length and order as ``refs``.
    """
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses")
    if not refs:
        return Scores.from_counts(Counts(), Counts(), 0)
    words = jiwer.process_words(list(refs), list(hyps))
    chars = jiwer.process_characters(list(refs), list(hyps))
    return Scores.from_counts(_word_counts(words), _word_counts(chars), len(refs))


def score_utterance(utt_id: str, ref: str, hyp: str) -> UttScore:
    """Counts and the word alignment of one normalized reference/hypothesis pair."""
    words = jiwer.process_words(ref, hyp)
    chars = jiwer.process_characters(ref, hyp)
    ref_words, hyp_words = words.references[0], words.hypotheses[0]
    alignment = tuple(
        (
            chunk.type,
            " ".join(ref_words[chunk.ref_start_idx : chunk.ref_end_idx]),
            " ".join(hyp_words[chunk.hyp_start_idx : chunk.hyp_end_idx]),
        )
        for chunk in words.alignments[0]
        if chunk.type != "equal"
    )
    return UttScore(utt_id, ref, hyp, _word_counts(words), _word_counts(chars), alignment)


def pool(records: Iterable[Mapping[str, Any]]) -> Scores:
    """Pooled scores from per-utterance records (``errors`` and ``char_errors`` count dicts)."""
    words, chars, n = Counts(), Counts(), 0
    for rec in records:
        words = words + Counts.from_dict(rec["errors"])
        chars = chars + Counts.from_dict(rec["char_errors"])
        n += 1
    return Scores.from_counts(words, chars, n)


def breakdown(
    per_utt_records: Iterable[Mapping[str, Any]],
    key: str | Callable[[Mapping[str, Any]], str],
) -> dict[str, Scores]:
    """Pooled scores per bucket; the buckets' counts add up to the pooled totals.

    Args:
        per_utt_records: per_utt.jsonl records (``errors``, ``char_errors``, ``conditions``).
        key: a condition name looked up in ``record["conditions"]`` (missing: bucket
            "none"), or a function of the record that returns its bucket.
    """
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for rec in per_utt_records:
        if callable(key):
            bucket = key(rec)
        else:
            bucket = str(rec.get("conditions", {}).get(key, "none"))
        groups.setdefault(bucket, []).append(rec)
    return {bucket: pool(recs) for bucket, recs in sorted(groups.items())}

"""Corpus-constrained language model for pocketsphinx: an ARPA n-gram plus a restricted dictionary.

The model is built from the very transcripts being evaluated, so its WER is an optimistic
bound that measures mostly acoustic intelligibility (what a quality gate on synthetic speech
needs), not a fair ASR benchmark.

Smoothing is interpolated Witten-Bell:
``P(w | h) = (c(h, w) + T(h) * P(w | h')) / (c(h) + T(h))``, where ``c(h)`` counts the
history ``h``, ``T(h)`` the distinct words seen after it and ``h'`` is ``h`` without its
oldest word; unigrams are maximum likelihood (closed vocabulary). In ARPA form each seen
n-gram stores the interpolated probability and each history the back-off weight
``T(h) / (c(h) + T(h))``, which makes the back-off model equal the interpolated one.

Words missing from the pronouncing dictionary are reported and left out: they are dropped
from the LM training text and the dictionary, so the decoder can never output them and each
one costs an error. No pronunciations are guessed.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from synthaudio.errors import InputError

BOS, EOS = "<s>", "</s>"
_LOG10_ZERO = -99.0  # ARPA convention for "never predicted" (<s>)


@dataclass(frozen=True)
class CorpusLM:
    """Files of a corpus-constrained model and what was left out."""

    lm_path: Path  # ARPA text file
    dict_path: Path  # pocketsphinx pronouncing dictionary restricted to the LM words
    vocabulary: tuple[str, ...]  # words in both, sorted
    oov_words: tuple[str, ...]  # corpus words without a pronunciation, sorted


def build_arpa(sentences: Iterable[Sequence[str]], order: int = 3) -> str:
    """ARPA text of an interpolated Witten-Bell n-gram model.

    Args:
        sentences: tokenized sentences without ``<s>``/``</s>``; empty ones are skipped.
        order: highest n-gram order, 1 to 5.
    """
    if not 1 <= order <= 5:
        raise ValueError(f"order must be 1..5, got {order}")
    counts: list[Counter[tuple[str, ...]]] = [Counter() for _ in range(order + 1)]
    for sent in sentences:
        if not sent:
            continue
        tokens = (BOS, *sent, EOS)
        for k in range(1, order + 1):
            for i in range(len(tokens) - k + 1):
                gram = tokens[i : i + k]
                if k == 1 and gram == (BOS,):
                    continue  # <s> is never predicted
                counts[k][gram] += 1
    if not counts[1]:
        raise ValueError("no words to build a language model from")

    # History statistics: c(h) and T(h) for every history of every order >= 2.
    hist_count: Counter[tuple[str, ...]] = Counter()
    hist_types: Counter[tuple[str, ...]] = Counter()
    for k in range(2, order + 1):
        for gram, c in counts[k].items():
            hist_count[gram[:-1]] += c
            hist_types[gram[:-1]] += 1

    total = sum(counts[1].values())
    prob: dict[tuple[str, ...], float] = {g: c / total for g, c in counts[1].items()}
    for k in range(2, order + 1):
        for gram, c in counts[k].items():
            h = gram[:-1]
            c_h, t_h = hist_count[h], hist_types[h]
            prob[gram] = (c + t_h * prob[gram[1:]]) / (c_h + t_h)

    def backoff(h: tuple[str, ...]) -> float | None:
        if len(h) >= order or hist_types[h] == 0:
            return None
        return hist_types[h] / (hist_count[h] + hist_types[h])

    sections: list[list[str]] = []
    unigrams = sorted([*counts[1], (BOS,)])
    sections.append([_arpa_line(_log10(prob.get(g)), g, backoff(g)) for g in unigrams])
    for k in range(2, order + 1):
        sections.append([_arpa_line(_log10(prob[g]), g, backoff(g)) for g in sorted(counts[k])])

    lines = ["\\data\\"]
    lines += [f"ngram {k}={len(sec)}" for k, sec in enumerate(sections, start=1)]
    for k, sec in enumerate(sections, start=1):
        lines += ["", f"\\{k}-grams:", *sec]
    lines += ["", "\\end\\", ""]
    return "\n".join(lines)


def _log10(p: float | None) -> float:
    return _LOG10_ZERO if p is None or p <= 0.0 else math.log10(p)


def _arpa_line(logp: float, gram: tuple[str, ...], bo: float | None) -> str:
    line = f"{logp:.6f}\t{' '.join(gram)}"
    if bo is not None:
        line += f"\t{_log10(bo):.6f}"
    return line


def read_dictionary(path: Path) -> dict[str, list[str]]:
    """Pronouncing dictionary: base word -> its lines (``word PH ...``, ``word(2) PH ...``)."""
    entries: dict[str, list[str]] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise InputError(f"{path}: cannot read pronouncing dictionary ({e.strerror})") from e
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 2:
            continue
        word = fields[0]
        if word.endswith(")") and "(" in word:
            word = word[: word.rindex("(")]
        entries.setdefault(word, []).append(" ".join(fields))
    return entries


def write_corpus_lm(
    sentences: Iterable[str], out_dir: Path, dictionary_path: Path, order: int = 3
) -> CorpusLM:
    """Build the ARPA model and restricted dictionary of normalized transcripts in ``out_dir``.

    Writes ``corpus.arpa``, ``corpus.dict`` and ``oov.txt`` (one word per line).
    """
    pron = read_dictionary(dictionary_path)
    tokenized = [s.split() for s in sentences]
    words = {w for sent in tokenized for w in sent}
    oov = sorted(w for w in words if w not in pron)
    vocab = sorted(words - set(oov))
    if not vocab:
        raise InputError(
            f"{dictionary_path}: none of the {len(words)} corpus words has a pronunciation"
        )
    oov_set = set(oov)
    kept = [[w for w in sent if w not in oov_set] for sent in tokenized]
    out_dir.mkdir(parents=True, exist_ok=True)
    lm_path = out_dir / "corpus.arpa"
    dict_path = out_dir / "corpus.dict"
    lm_path.write_text(build_arpa(kept, order=order), encoding="utf-8")
    dict_path.write_text("".join(line + "\n" for w in vocab for line in pron[w]), encoding="utf-8")
    (out_dir / "oov.txt").write_text("".join(w + "\n" for w in oov), encoding="utf-8")
    return CorpusLM(lm_path, dict_path, tuple(vocab), tuple(oov))

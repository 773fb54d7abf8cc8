from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
import soundfile as sf

from synthaudio.evaluate.asr import PocketSphinxBackend, bundled_dictionary
from synthaudio.evaluate.lm import build_arpa, read_dictionary, write_corpus_lm

SENTENCES = [
    s.split()
    for s in [
        "ten of clubs",
        "four queen of clubs",
        "seven of clubs",
        "five five",
        "eight of spades four of clubs seven of hearts",
    ]
]


def parse_arpa(text: str) -> dict[tuple[str, ...], tuple[float, float]]:
    """{ngram: (log10 prob, log10 backoff)} of an ARPA file."""
    grams: dict[tuple[str, ...], tuple[float, float]] = {}
    order = 0
    for line in text.splitlines():
        if line.startswith("\\") and line.endswith("-grams:"):
            order = int(line[1])
            continue
        fields = line.split("\t")
        if order and len(fields) >= 2:
            gram = tuple(fields[1].split())
            assert len(gram) == order
            grams[gram] = (float(fields[0]), float(fields[2]) if len(fields) > 2 else 0.0)
    return grams


def prob(grams: dict[tuple[str, ...], tuple[float, float]], h: tuple[str, ...], w: str) -> float:
    """Back-off probability P(w | h) from ARPA entries."""
    gram = h + (w,)
    if gram in grams:
        return 10 ** grams[gram][0]
    if not h:
        return 0.0
    bo = grams.get(h, (0.0, 0.0))[1]
    return 10**bo * prob(grams, h[1:], w)


def test_arpa_header_counts_and_sorted() -> None:
    text = build_arpa(SENTENCES, order=3)
    grams = parse_arpa(text)
    for k in (1, 2, 3):
        n = sum(1 for g in grams if len(g) == k)
        assert f"ngram {k}={n}\n" in text
    assert grams[("<s>",)][0] == -99.0
    assert text.endswith("\\end\\\n")
    assert build_arpa(SENTENCES, order=3) == text  # deterministic


@pytest.mark.parametrize("order", [1, 2, 3])
def test_every_context_is_a_distribution(order: int) -> None:
    grams = parse_arpa(build_arpa(SENTENCES, order=order))
    vocab = sorted({g[0] for g in grams if len(g) == 1} - {"<s>"})
    contexts: list[tuple[str, ...]] = [()]
    for k in range(1, order):
        contexts += list(itertools.product(["<s>", *vocab], repeat=k))
    for h in contexts:
        total = sum(prob(grams, h, w) for w in vocab)
        assert math.isclose(total, 1.0, abs_tol=1e-4), (h, total)


def test_witten_bell_value() -> None:
    # "of" is followed by clubs x4, spades x1, hearts x1: c(h)=6, T(h)=3.
    grams = parse_arpa(build_arpa(SENTENCES, order=2))
    n_tokens = sum(len(s) + 1 for s in SENTENCES)
    p_clubs = 4 / n_tokens
    expected = (4 + 3 * p_clubs) / (6 + 3)
    assert 10 ** grams[("of", "clubs")][0] == pytest.approx(expected, rel=1e-5)
    assert 10 ** grams[("of",)][1] == pytest.approx(3 / 9, rel=1e-5)


def test_dictionary_restricted_and_oov_reported(tmp_path: Path) -> None:
    lm = write_corpus_lm(["ten of clubs", "the zorblax of a"], tmp_path, bundled_dictionary())
    assert lm.oov_words == ("zorblax",)
    assert (tmp_path / "oov.txt").read_text() == "zorblax\n"
    entries = read_dictionary(lm.dict_path)
    assert sorted(entries) == ["a", "clubs", "of", "ten", "the"] == list(lm.vocabulary)
    assert any(line.startswith("a(2) ") for line in entries["a"])  # alternates kept
    assert "zorblax" not in lm.lm_path.read_text()


def test_pocketsphinx_decodes_with_corpus_lm(tmp_path: Path, real_speech: Path) -> None:
    lm = write_corpus_lm(
        ["four queen of clubs", "seven of hearts", "ten of spades"],
        tmp_path,
        bundled_dictionary(),
    )
    audio, sr = sf.read(str(real_speech / "wav" / "cards-002.wav"), dtype="float32")
    hyp = PocketSphinxBackend(lm.lm_path, lm.dict_path).transcribe(audio, sr)
    assert hyp == "four queen of clubs"  # the default model hears "for queen of clubs"

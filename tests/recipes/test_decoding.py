"""CTC decoding of frame posteriors (synthaudio.train.decoding): averaging views, greedy and
closed-set (isolated-word) transcripts, checked against brute-force sums over alignments."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from synthaudio.train.tokens import Vocabulary, greedy_collapse

torch = pytest.importorskip("torch")

from synthaudio.train.decoding import (  # noqa: E402 - needs torch
    closed_set_scores,
    closed_set_transcripts,
    greedy_transcripts,
    log_posteriors,
    mean_posteriors,
)

VOCAB = Vocabulary.build(["one two"], "word")  # blank, one, two


def _random_posteriors(rng: np.random.Generator, frames: int) -> np.ndarray:
    p = rng.dirichlet(np.ones(len(VOCAB)), size=frames)
    return np.log(p).astype(np.float32)


def _brute_force(logp: np.ndarray) -> dict[str, float]:
    """log P(transcript) by summing every alignment's probability."""
    sums: dict[str, float] = {}
    p = np.exp(logp.astype(np.float64))
    for path in itertools.product(range(len(VOCAB)), repeat=logp.shape[0]):
        text = VOCAB.decode(greedy_collapse(list(path)))
        sums[text] = sums.get(text, 0.0) + float(np.prod(p[np.arange(len(path)), path]))
    return {k: float(np.log(v)) for k, v in sums.items()}


def test_closed_set_scores_are_the_ctc_sums_over_alignments() -> None:
    rng = np.random.default_rng(3)
    logps = [_random_posteriors(rng, 5) for _ in range(4)]
    choices = ["one", "two", "one two", "two two", "one one one"]
    scores = closed_set_scores(logps, VOCAB, choices)
    for lp, row in zip(logps, scores, strict=True):
        exact = _brute_force(lp)
        assert row == pytest.approx([exact[c] for c in choices], abs=1e-4)
    # a choice longer than the frames allow (with the blank it needs between repeats)
    short = [_random_posteriors(rng, 2)]
    assert closed_set_scores(short, VOCAB, ["one one"])[0, 0] == -np.inf
    with pytest.raises(ValueError, match="three"):
        closed_set_scores(logps, VOCAB, ["three"])


def test_closed_set_picks_the_word_greedy_decoding_splits() -> None:
    # greedy reads "one two" (two frames each just ahead of blank); summed over alignments
    # "two" alone is the more probable single word
    p = np.array([[0.35, 0.45, 0.20], [0.30, 0.05, 0.65], [0.30, 0.05, 0.65]])
    logp = np.log(p).astype(np.float32)
    assert greedy_transcripts([logp], VOCAB) == ["one two"]
    assert closed_set_transcripts([logp], VOCAB, ["one", "two"]) == ["two"]
    exact = _brute_force(logp)
    assert exact["two"] > exact["one"]


def test_mean_posteriors_is_the_log_of_the_mean_cut_to_the_shortest() -> None:
    rng = np.random.default_rng(7)
    a = [_random_posteriors(rng, 6), _random_posteriors(rng, 3)]
    b = [_random_posteriors(rng, 5), _random_posteriors(rng, 3)]
    out = mean_posteriors([a, b])
    assert [o.shape for o in out] == [(5, 3), (3, 3)]
    want = np.log((np.exp(a[0][:5].astype(np.float64)) + np.exp(b[0])) / 2)
    assert out[0] == pytest.approx(want, abs=1e-5)
    assert np.exp(out[1]).sum(axis=1) == pytest.approx(np.ones(3), abs=1e-5)
    with pytest.raises(ValueError, match="different numbers"):
        mean_posteriors([a, b[:1]])


def test_log_posteriors_match_one_utterance_at_a_time() -> None:
    from synthaudio.train.model import EmbeddingCTCConfig, new_ctc_model

    torch.manual_seed(0)
    model = new_ctc_model(EmbeddingCTCConfig(), len(VOCAB)).eval()
    rng = np.random.default_rng(0)
    feats = [rng.standard_normal((n, 96)).astype(np.float32) for n in (9, 16, 4)]
    batched = log_posteriors(model, feats)
    for f, lp in zip(feats, batched, strict=True):
        alone = log_posteriors(model, [f])[0]
        assert lp.shape == (f.shape[0], len(VOCAB))
        assert lp == pytest.approx(alone, abs=1e-5)
        assert np.exp(lp).sum(axis=1) == pytest.approx(np.ones(len(lp)), abs=1e-5)

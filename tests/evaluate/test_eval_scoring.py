from __future__ import annotations

import jiwer
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthaudio.evaluate.scoring import Scores, breakdown, pool, score, score_utterance

WORDS = ["a", "b", "cat", "dog", "sat"]
sentence = st.lists(st.sampled_from(WORDS), min_size=0, max_size=6).map(" ".join)
pairs = st.lists(st.tuples(sentence, sentence), min_size=1, max_size=12)


def test_known_counts() -> None:
    u = score_utterance("u1", "a cat sat down", "a sat down here")
    assert (u.words.hits, u.words.substitutions, u.words.deletions, u.words.insertions) == (
        3,
        0,
        1,
        1,
    )
    assert u.wer == pytest.approx(2 / 4)
    assert u.alignment == (("delete", "cat", ""), ("insert", "", "here"))
    rec = u.to_record()
    assert rec["errors"] == {"hits": 3, "sub": 0, "del": 1, "ins": 1}
    assert rec["wer"] == 0.5


def test_pooled_is_not_mean_of_rates() -> None:
    s = score(["a", "a b c d"], ["b", "a b c d"])
    assert s.wer == pytest.approx(1 / 5)  # a mean of rates would be 0.5
    assert s.ref_words == 5 and s.count == 2


def test_empty_reference_follows_jiwer() -> None:
    s = score(["", "a b"], ["x y", "a b"])
    assert s.insertions == 2 and s.ref_words == 2
    assert s.wer == pytest.approx(jiwer.wer(["", "a b"], ["x y", "a b"]))
    assert score_utterance("e", "", "").wer == 0.0
    assert score([], []).count == 0


@settings(max_examples=60, deadline=None)
@given(pairs)
def test_pooled_equals_jiwer_and_sum_of_utterances(data: list[tuple[str, str]]) -> None:
    refs = [r for r, _ in data]
    hyps = [h for _, h in data]
    s = score(refs, hyps)
    w = jiwer.process_words(refs, hyps)
    c = jiwer.process_characters(refs, hyps)
    assert (s.hits, s.substitutions, s.deletions, s.insertions) == (
        w.hits,
        w.substitutions,
        w.deletions,
        w.insertions,
    )
    assert s.wer == pytest.approx(w.wer)
    assert s.cer == pytest.approx(c.cer)
    records = [score_utterance(f"u{i}", r, h).to_record() for i, (r, h) in enumerate(data)]
    assert pool(records) == s


@settings(max_examples=60, deadline=None)
@given(pairs, st.lists(st.sampled_from(["x", "y", "z"]), min_size=12, max_size=12))
def test_breakdown_buckets_add_up(data: list[tuple[str, str]], labels: list[str]) -> None:
    records = []
    for i, (r, h) in enumerate(data):
        rec = score_utterance(f"u{i}", r, h).to_record()
        rec["conditions"] = {"snr": labels[i]}
        records.append(rec)
    total = pool(records)
    table = breakdown(records, "snr")
    for field in (
        "hits",
        "substitutions",
        "deletions",
        "insertions",
        "ref_words",
        "count",
        "char_hits",
        "char_substitutions",
        "char_deletions",
        "char_insertions",
        "ref_chars",
    ):
        assert sum(getattr(b, field) for b in table.values()) == getattr(total, field), field
    # Each bucket is the pooled score of its own utterances.
    for label, b in table.items():
        sub = [d for d, lab in zip(data, labels, strict=False) if lab == label]
        assert b == score([r for r, _ in sub], [h for _, h in sub])


def test_breakdown_missing_condition_is_none_bucket() -> None:
    rec = score_utterance("u", "a", "a").to_record()
    assert list(breakdown([rec], "codec")) == ["none"]
    assert list(breakdown([rec], lambda r: r["id"])) == ["u"]


def test_scores_to_dict_roundtrip_fields() -> None:
    d = score(["a b"], ["a"]).to_dict()
    assert d["wer"] == 0.5 and d["deletions"] == 1 and d["count"] == 1
    assert set(d) == set(Scores.__dataclass_fields__)

"""Other-word clips (``counts.words``): single lexicon words said alone, label ``_unknown_``,
drawn from the lexicon's most frequent words without a target, a homophone of one or a hard
negative; planned from the config alone, the plan without them unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthaudio.errors import InputError
from synthaudio.pipelines.keywords.config import KeywordsConfig
from synthaudio.pipelines.keywords.confusable import english_lexicon
from synthaudio.pipelines.keywords.plan import KeywordsPlan, plan_keywords

SENTENCES = Path(__file__).resolve().parents[2] / "corpora" / "prompt_sets" / "sentences.txt"
COUNTS = {"positives": 20, "hard_negatives": 0.5, "speech": 0.2, "words": 0.5, "babble": 0.0,
          "noise": 0.0, "silence": 0.0, "background_files": 0}


def _plan(targets: tuple[str, ...] = ("no", "right", "hey jarvis"), vocabulary: int = 400,
          **counts: float) -> KeywordsPlan:
    cfg = KeywordsConfig.model_validate({
        "name": "kw-words", "seed": 3, "targets": list(targets),
        "counts": {**COUNTS, **counts}, "other_words": {"vocabulary": vocabulary},
        "text": {"sources": [{"file": str(SENTENCES)}]},
        "speakers": {"count": 6, "variants": ["m1", "f2", "m3"]}})
    return plan_keywords(cfg, SENTENCES.parent)


def test_other_words_are_frequent_words_that_are_no_target_nor_hard_negative() -> None:
    plan = _plan()
    lexicon = english_lexicon()
    ranked = sorted(lexicon.phones, key=lambda w: (-lexicon.frequency(w), w))[:400]
    pool = plan.other_words
    assert set(pool) <= set(ranked) and 300 < len(pool) < 400
    negatives = {c.text for found in plan.negatives.values() for c in found}
    targets = {lexicon.pronounce(t) for t in ("no", "right", "jarvis", "hey")}
    left_out = set(ranked) - set(pool)
    assert {"no", "right", "know"} <= left_out  # targets and a homophone ("write": rarer)
    assert negatives & set(ranked) <= left_out  # and the hard negatives ("now", "night")
    for word in pool:
        assert word not in negatives and lexicon.pronounce(word) not in targets
    speech = [c for c in plan.clips if c.kind == "speech"]
    assert len(speech) == round(0.2 * 60) + round(0.5 * 60)  # windows + 0.5 x 60 positives
    words = [c for c in speech if c.text in pool]
    assert len(words) >= 30 and len({c.text for c in words}) >= 30  # 30 draws, no repeat
    for clip in words:
        assert clip.label == "_unknown_" and clip.speaker is not None
    assert len({c.speaker_id for c in words}) == 6  # every voice says some


def test_the_plan_without_other_words_is_the_plan_before_them() -> None:
    without = _plan(words=0.0)
    counts = {k: v for k, v in COUNTS.items() if k != "words"}
    absent = plan_keywords(KeywordsConfig.model_validate({
        "name": "kw-words", "seed": 3, "targets": ["no", "right", "hey jarvis"],
        "counts": counts, "text": {"sources": [{"file": str(SENTENCES)}]},
        "speakers": {"count": 6, "variants": ["m1", "f2", "m3"]}}), SENTENCES.parent)
    assert without.clips == absent.clips and without.other_words == absent.other_words == ()
    assert _plan().clips == _plan().clips  # the config and seed decide every clip


def test_no_word_left_is_one_line_error() -> None:
    with pytest.raises(InputError, match="counts.words: every word of the lexicon's 1 most"):
        _plan(("the",), vocabulary=1)

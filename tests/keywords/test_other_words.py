"""Other-word clips (``counts.words``): single lexicon words said alone, label ``_unknown_``,
drawn from the lexicon's most frequent words without a target, a homophone of one or a hard
negative; planned from the config alone, the plan without them unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthaudio.errors import InputError
from synthaudio.pipelines.keywords.config import parse_keywords_config
from synthaudio.pipelines.keywords.confusable import english_lexicon
from synthaudio.pipelines.keywords.plan import plan_keywords

REPO = Path(__file__).resolve().parents[2]
SENTENCES = REPO / "corpora" / "prompt_sets" / "sentences.txt"
CONFIG = f"""\
name: kw-words
seed: 3
targets: ["no", "right", "hey jarvis"]
counts: {{positives: 20, hard_negatives: 0.5, speech: 0.2, words: 0.5, babble: 0.0,
         noise: 0.0, silence: 0.0, background_files: 0}}
other_words: {{vocabulary: 400}}
text: {{sources: [{{file: {SENTENCES}}}]}}
speakers: {{count: 6, variants: [m1, f2, m3]}}
"""


def _plan(text: str):  # noqa: ANN202 - the plan
    return plan_keywords(parse_keywords_config(text), REPO)


def test_other_words_are_frequent_words_that_are_no_target_nor_hard_negative() -> None:
    plan = _plan(CONFIG)
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
    without = _plan(CONFIG.replace("words: 0.5,", "words: 0.0,"))
    absent = _plan(CONFIG.replace(" words: 0.5,", "").replace("other_words: {vocabulary: 400}\n",
                                                              ""))
    assert without.clips == absent.clips and without.other_words == absent.other_words == ()
    again = _plan(CONFIG)
    assert again.clips == _plan(CONFIG).clips  # the config and seed decide every clip


def test_no_word_left_is_one_line_error() -> None:
    text = CONFIG.replace('targets: ["no", "right", "hey jarvis"]', 'targets: ["the"]').replace(
        "vocabulary: 400", "vocabulary: 1")
    with pytest.raises(InputError, match="counts.words: every word of the lexicon's 1 most"):
        _plan(text)

"""The one registry of random stream tags.

Every random draw of a corpus pipeline comes from ``np.random.default_rng([seed, tag, ...])``
with ``tag`` from :data:`STREAMS`; two stages drawing from the same ``[seed, tag]`` would be
correlated (``plan``'s voice assignment and the RIR bank both used tag 6 before
:data:`STREAMS_VERSION` 2). A new stage takes the next free number here, and a test checks
that no two tags are equal.

The augment pipeline (``synthaudio augment``): copy ``k`` (>= 1) of input utterance ``i``
draws from ``default_rng([seed, STREAM_AUGMENT, k, i])``; its RIR bank uses
:data:`STREAM_RIRS` as ``generate`` does. (Before, a copy drew from ``[seed, k, i]``, which
for ``k`` = 1, 2 or 9 is the ``text``, ``speaker`` or ``order`` stream of item ``i``: the
tag moved, so augment's bytes changed; its resolved config names the tag, so such an OUT
is not resumed into.)

A pipeline names its tags in its registry entry (``PipelineEntry.stream_tags``); a test
checks every registered pipeline's tags against this table.

:data:`STREAMS_VERSION` is part of every run fingerprint: changing a tag changes output
bytes, so the version is bumped and an OUT made with other tags is never resumed into.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

# bump when a tag changes, or what a stream's draws are used for (it changes output bytes).
# 3: speakers.balance shares genders out across all engines of a mixed corpus (the voices
# each engine's stream draws go to other speakers); espeak-ng-only corpora draw as in 2
# 4: coloured noise (pink, brown, blue) is drawn at the next fast FFT length and cut to the
# utterance's (issue 27: the FFT at the utterance's own length was often a slow size)
# 5: Opus is coded by libopus directly (packets in memory) where it loads, not through
# libsndfile's Ogg writer (same bitrate and distortion, other samples), and point noise is
# convolved through the cached RIR spectra (float rounding) (issue 27)
STREAMS_VERSION = 5

STREAMS = MappingProxyType({
    "text": 1,  # template expansion: [seed, 1, source index]
    "speaker": 2,  # speaker i's voice: [seed, 2, i]
    "split": 3,  # speakers -> train/dev/test
    "assign": 4,  # prompts -> speakers
    "utterance": 5,  # utterance i, stage sub: [seed, 5, i, sub]
    "voices": 6,  # which speakers get which engine and Coqui voice
    "babble": 7,  # the babble pool of a corpus
    "rirs": 8,  # the seed of the corpus's RIR bank (was 6, colliding with "voices")
    "order": 9,  # speaker s's own order of its prompts (speakers.balance): [seed, 9, s]
    "session": 17,  # session i of a session corpus, stage sub: [seed, 17, i, sub]
    "keywords_plan": 30,  # a keyword corpus's plan (30+: apart from other new pipelines)
    "keywords_clip": 31,  # keyword clip i, stage sub: [seed, 31, i, sub]
    "augment": 40,  # copy k of input utterance i of `synthaudio augment`: [seed, 40, k, i]
})

STREAM_TEXT = STREAMS["text"]
STREAM_SPEAKER = STREAMS["speaker"]
STREAM_SPLIT = STREAMS["split"]
STREAM_ASSIGN = STREAMS["assign"]
STREAM_UTTERANCE = STREAMS["utterance"]
STREAM_VOICES = STREAMS["voices"]
STREAM_BABBLE = STREAMS["babble"]
STREAM_RIRS = STREAMS["rirs"]
STREAM_ORDER = STREAMS["order"]
STREAM_SESSION = STREAMS["session"]
STREAM_KEYWORDS_PLAN = STREAMS["keywords_plan"]
STREAM_KEYWORDS_CLIP = STREAMS["keywords_clip"]
STREAM_AUGMENT = STREAMS["augment"]

ItemRng = Callable[[int, int, int], "np.random.Generator"]


def item_rng(tag: int) -> ItemRng:
    """``rng(seed, index, sub)``: the stream of stage ``sub`` of item ``index`` (utterance,
    clip, session) of a pipeline whose items draw from ``[seed, tag, index, sub]``."""
    import numpy as np  # not at import: this module is a leaf every layer reads

    def rng(seed: int, index: int, sub: int) -> np.random.Generator:
        return np.random.default_rng([seed, tag, index, sub])

    return rng


def check_distinct(tags: Mapping[str, int]) -> None:
    """RuntimeError naming the first two names whose tags are equal (this table at import;
    the tests add every registered pipeline's own tags)."""
    seen: dict[int, str] = {}
    for name, tag in tags.items():
        if tag in seen:
            raise RuntimeError(f"synthaudio.streams: stream tags {seen[tag]!r} and {name!r} "
                               f"are both {tag}")
        seen[tag] = name


check_distinct(STREAMS)

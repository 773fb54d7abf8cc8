"""The random stream tag registry: unique tags, and the values drawn since the fix."""

from pathlib import Path

import numpy as np
import pytest

from synthaudio import streams
from synthaudio.augment import environment
from synthaudio.augment.environment import rir_bank_seed
from synthaudio.augment.room import sample_room
from synthaudio.pipelines.generate import plan
from synthaudio.pipelines.generate.config import load_corpus_config
from synthaudio.run.pipelines import PIPELINES

QUICKSTART = Path(__file__).resolve().parents[1] / "corpora" / "quickstart" / "corpus.yaml"


def test_every_tag_is_distinct() -> None:
    streams.check_distinct(streams.STREAMS)
    with pytest.raises(RuntimeError, match="tags 'a' and 'c' are both 3"):
        streams.check_distinct({"a": 3, "b": 4, "c": 3})
    # every pipeline's tags: the table's own (same name, same number), or new numbers
    tags = dict(streams.STREAMS)
    for entry in PIPELINES.entries():
        for name, tag in entry.stream_tags.items():
            if streams.STREAMS.get(name) != tag:
                tags[f"{entry.name}.{name}"] = tag
    streams.check_distinct(tags)
    # augment's copies once drew from [seed, k, i]: the text, speaker and order streams
    assert PIPELINES.get("augment").stream_tags["augment"] == streams.STREAM_AUGMENT
    assert streams.STREAM_AUGMENT not in range(1, 40)


def test_rir_bank_and_voice_assignment_no_longer_share_a_stream() -> None:
    # before STREAMS_VERSION 2 both were default_rng([seed, 6])
    assert plan.STREAM_VOICES != environment.STREAM_RIRS
    voices = np.random.default_rng([0, plan.STREAM_VOICES]).integers(2**31)
    assert rir_bank_seed(0) != int(voices)


def test_drawn_values_pinned() -> None:
    """The first room of the quickstart corpus's RIR bank, as drawn with STREAMS_VERSION 2
    (3 changed only which voices mixed-engine corpora deal to which speakers, 4 only the
    FFT length coloured noise is shaped over, 5 only how Opus is coded and point noise
    convolved)."""
    assert streams.STREAMS_VERSION == 5
    assert rir_bank_seed(0) == 679961800
    cfg = load_corpus_config(QUICKSTART)
    assert cfg.augment is not None and cfg.augment.room is not None
    assert rir_bank_seed(cfg.seed) == 91975181
    room = sample_room(cfg.augment.room.simulation,
                       np.random.default_rng([rir_bank_seed(cfg.seed), 0])).to_dict()
    assert room["dims_m"] == [3.08, 4.402, 3.106]
    assert room["rt60_target_s"] == 0.769
    assert room["seed"] == 765712355

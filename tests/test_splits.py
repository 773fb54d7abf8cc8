import numpy as np
import pytest

from synthaudio.splits import SplitsConfig, assign_splits, split_counts
from synthaudio.tts.speakers import speaker_ids


@pytest.mark.parametrize("n", [1, 2, 3, 5, 10, 37, 200])
def test_every_speaker_in_exactly_one_split(n):
    ids = speaker_ids(n)
    out = assign_splits(ids, SplitsConfig(), np.random.default_rng(0))
    assert sorted(out) == ids
    counts = split_counts(n, SplitsConfig())
    assert sum(counts.values()) == n and min(counts.values()) >= 0
    if n >= 3:
        assert all(counts[s] >= 1 for s in ("train", "dev", "test"))
    if n >= 10:
        assert counts["dev"] == round(n * 0.1) or counts["dev"] == 1


def test_zero_fraction_split_gets_nobody():
    counts = split_counts(10, SplitsConfig(train=0.9, dev=0.0, test=0.1))
    assert counts == {"train": 9, "dev": 0, "test": 1}


def test_speaker_ids_sort_bytewise_like_numbers():
    ids = speaker_ids(1200)
    assert ids == sorted(ids) and ids[0] == "spk0001"

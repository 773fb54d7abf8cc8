from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fake_corpus import FakeCorpus, build_corpus

from synthaudio.io.metadata import iter_metadata
from synthaudio.manifests.lhotse_export import lhotse_manifest_path, write_lhotse_manifests

lhotse = pytest.importorskip("lhotse")


def test_manifests_load_validate_and_play(corpus: FakeCorpus) -> None:
    from lhotse.qa import validate_recordings_and_supervisions

    counts = write_lhotse_manifests(corpus.out, iter_metadata(corpus.out))
    assert counts == {"train": 9, "dev": 6, "test": 6}
    for split in ("train", "dev", "test"):
        recordings = lhotse.load_manifest(lhotse_manifest_path(corpus.out, "recordings", split))
        supervisions = lhotse.load_manifest(lhotse_manifest_path(corpus.out, "supervisions", split))
        cuts = lhotse.load_manifest(lhotse_manifest_path(corpus.out, "cuts", split))
        assert isinstance(recordings, lhotse.RecordingSet)
        assert isinstance(supervisions, lhotse.SupervisionSet)
        assert isinstance(cuts, lhotse.CutSet)
        validate_recordings_and_supervisions(recordings, supervisions, read_data=True)
        expected = corpus.split(split)
        assert [c.id for c in cuts] == [r["id"] for r in expected]
        for cut, rec in zip(cuts, expected, strict=True):
            sup = cut.supervisions[0]
            assert sup.text == rec["text"] and sup.speaker == rec["speaker"]
            assert sup.language == "en-us" and sup.gender == rec["gender"]
            assert cut.duration == pytest.approx(rec["duration_s"], abs=1e-6)
            audio = cut.load_audio()
            np.testing.assert_allclose(audio[0], corpus.samples(rec["id"])[:, 0] / 32768)
            if rec["words"] is None:
                assert sup.alignment is None
            else:
                words = [(a.symbol, a.start, a.duration) for a in sup.alignment["word"]]
                assert words == [tuple(w) for w in rec["words"]]


def test_multichannel_gives_multicut(tmp_path: Path) -> None:
    c = build_corpus(tmp_path / "out", num_channels=2)
    write_lhotse_manifests(c.out, iter_metadata(c.out))
    cuts = lhotse.load_manifest(lhotse_manifest_path(c.out, "cuts", "test"))
    cut = next(iter(cuts))
    assert type(cut).__name__ == "MultiCut"
    audio = cut.load_audio()
    assert audio.shape == (2, cut.num_samples)
    np.testing.assert_allclose(audio.T, c.samples(cut.id) / 32768)


def test_gzip_is_deterministic(corpus: FakeCorpus) -> None:
    write_lhotse_manifests(corpus.out, iter_metadata(corpus.out))
    path = lhotse_manifest_path(corpus.out, "cuts", "train")
    first = path.read_bytes()
    assert first[4:8] == b"\0\0\0\0"  # gzip mtime 0
    assert first[3] & 0x08 == 0  # no FNAME in the header
    write_lhotse_manifests(corpus.out, iter_metadata(corpus.out))
    assert path.read_bytes() == first

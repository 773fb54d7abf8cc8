from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fake_corpus import FakeCorpus, build_corpus

from synthaudio.errors import InputError
from synthaudio.io.metadata import iter_metadata
from synthaudio.manifests.webdataset_export import shard_path, write_shards

wds = pytest.importorskip("webdataset")


def read_back(urls: list[str]) -> list[dict[str, object]]:
    return list(wds.WebDataset(urls, shardshuffle=False, empty_check=False))


@pytest.mark.parametrize("num_channels", [1, 2])
def test_webdataset_reads_every_sample_back(tmp_path: Path, num_channels: int) -> None:
    c = build_corpus(tmp_path / "out", num_channels=num_channels)
    shards = write_shards(c.out, iter_metadata(c.out), shard_size=4)
    assert shards == {"train": 3, "dev": 2, "test": 2}  # 9, 6, 6 samples
    for split, n in shards.items():
        urls = [str(shard_path(c.out, split, i)) for i in range(n)]
        samples = read_back(urls)
        expected = c.split(split)
        assert [s["__key__"] for s in samples] == [r["id"] for r in expected]
        for sample, rec in zip(samples, expected, strict=True):
            assert json.loads(sample["json"]) == rec  # type: ignore[arg-type]
            audio, rate = sf.read(io.BytesIO(sample["flac"]), dtype="int16", always_2d=True)  # type: ignore[arg-type]
            assert rate == rec["sample_rate"]
            np.testing.assert_array_equal(audio, c.samples(rec["id"]))


def test_tar_members_are_deterministic(corpus: FakeCorpus) -> None:
    write_shards(corpus.out, iter_metadata(corpus.out), shard_size=100)
    path = shard_path(corpus.out, "dev", 0)
    first = path.read_bytes()
    with tarfile.open(path) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names) and len(names) == 12
    assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 and m.uname == "" for m in members)
    assert all(m.mode == 0o644 for m in members)
    write_shards(corpus.out, iter_metadata(corpus.out), shard_size=100)
    assert path.read_bytes() == first


def test_stale_shards_are_removed(corpus: FakeCorpus) -> None:
    write_shards(corpus.out, iter_metadata(corpus.out), shard_size=1)
    assert shard_path(corpus.out, "train", 8).is_file()
    write_shards(corpus.out, iter_metadata(corpus.out), shard_size=5)
    names = sorted(p.name for p in (corpus.out / "shards" / "train").iterdir())
    assert names == ["shard-000000.tar", "shard-000001.tar"]


def test_bad_shard_size_and_float_audio(corpus: FakeCorpus) -> None:
    with pytest.raises(InputError, match="shard size must be at least 1"):
        write_shards(corpus.out, iter_metadata(corpus.out), shard_size=0)
    first = corpus.records[0]
    sf.write(corpus.out / first["audio"], np.zeros(100, np.float32), 16000, subtype="FLOAT")
    with pytest.raises(InputError, match=r"metadata.jsonl:1: .*FLOAT audio cannot be stored"):
        write_shards(corpus.out, iter_metadata(corpus.out))

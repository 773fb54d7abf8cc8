from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fake_corpus import FakeCorpus, write_records

from synthaudio.errors import InputError
from synthaudio.manifests.export import DEFAULT_FORMATS, FORMATS, export_corpus, resolve_formats


def tree_digest(out: Path) -> dict[str, str]:
    """sha256 of every file under out, except the inputs (audio, metadata)."""
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.suffix != ".wav" and p != out / "metadata.jsonl"
    }


def test_resolve_formats() -> None:
    assert FORMATS == ("kaldi", "espnet", "nemo", "lhotse", "hf", "ctm", "webdataset",
                       "speechbrain", "sessions",
                       "speech_commands")
    assert DEFAULT_FORMATS == ("kaldi", "nemo", "lhotse", "hf", "ctm")
    assert resolve_formats(["all"]) == FORMATS
    assert resolve_formats(["ctm", "Kaldi", "ctm"]) == ("kaldi", "ctm")
    with pytest.raises(InputError) as err:
        resolve_formats(["kaldi", "tfrecord"])
    assert str(err.value) == (
        "unknown export format 'tfrecord'; valid formats: "
        "kaldi, espnet, nemo, lhotse, hf, ctm, webdataset, speechbrain, sessions, "
        "speech_commands, all"
    )


def test_default_export_writes_each_format(corpus: FakeCorpus) -> None:
    report = export_corpus(corpus.out, DEFAULT_FORMATS)
    assert report.formats == DEFAULT_FORMATS
    assert report.utterances == {"train": 9, "dev": 6, "test": 6}
    assert report.ctm_omitted == sum(1 for r in corpus.records if not r["words"])
    out = corpus.out
    for split in ("train", "dev", "test"):
        assert (out / "data" / split / "wav.scp").is_file()
        assert (out / "manifests" / "nemo" / f"{split}.json").is_file()
        assert (out / "manifests" / "lhotse" / f"cuts_{split}.jsonl.gz").is_file()
        assert (out / "audio" / split / "metadata.jsonl").is_file()
        assert (out / "alignments" / f"{split}.ctm").is_file()
    assert not (out / "shards").exists()
    assert not (out / "data" / "espnet_dropped.txt").exists()
    assert "exported kaldi, nemo, lhotse, hf, ctm for 21 utterances" in report.format()


def test_export_all_is_idempotent_and_byte_identical(corpus: FakeCorpus) -> None:
    export_corpus(corpus.out, ["all"], shard_size=4)
    first = tree_digest(corpus.out)
    assert len(first) > 40
    report = export_corpus(corpus.out, ["all"], shard_size=4)
    assert tree_digest(corpus.out) == first
    assert report.shards == {"train": 3, "dev": 2, "test": 2}
    leftovers = [p for p in corpus.out.rglob("*.tmp")]
    assert leftovers == []


def test_streamed_records_export_the_same_bytes(corpus: FakeCorpus,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A corpus over KEEP_RECORDS is read again by each format: the same files."""
    from synthaudio.io import metadata as metadata_io
    from synthaudio.manifests import export

    export_corpus(corpus.out, ["all"], shard_size=4)
    kept = tree_digest(corpus.out)
    passes = []
    real = metadata_io.iter_metadata

    def counting(out_dir: Path):  # type: ignore[no-untyped-def]
        passes.append(out_dir)
        return real(out_dir)

    monkeypatch.setattr(export, "iter_metadata", counting)
    export_corpus(corpus.out, ["all"], shard_size=4)
    assert len(passes) == 1  # 21 records: parsed once, shared
    monkeypatch.setattr(export, "KEEP_RECORDS", 5)
    export_corpus(corpus.out, ["all"], shard_size=4)
    assert len(passes) > 5  # streamed: one pass per format
    assert tree_digest(corpus.out) == kept


def test_bad_metadata_fails_before_writing(corpus: FakeCorpus) -> None:
    records = [dict(r) for r in corpus.records]
    records[-1]["text"] = ""
    write_records(corpus.out, records)
    with pytest.raises(InputError, match=rf"metadata.jsonl:{len(records)}: .*empty transcript"):
        export_corpus(corpus.out, ["all"])
    assert sorted(p.name for p in corpus.out.iterdir()) == ["audio", "metadata.jsonl"]
    assert not list((corpus.out / "audio").rglob("metadata.jsonl"))


def test_missing_audio_fails_before_writing(corpus: FakeCorpus) -> None:
    (corpus.out / corpus.records[4]["audio"]).unlink()
    with pytest.raises(InputError, match=r"metadata.jsonl:5: audio file audio/.* not found"):
        export_corpus(corpus.out, ["all"])
    assert not (corpus.out / "data").exists()


def test_bad_arguments(corpus: FakeCorpus, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="shard size must be at least 1"):
        export_corpus(corpus.out, ["webdataset"], shard_size=0)
    with pytest.raises(InputError, match="metadata.jsonl: not found"):
        export_corpus(tmp_path / "nowhere", ["kaldi"])

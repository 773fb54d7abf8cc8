from __future__ import annotations

import importlib.util
import json
import os
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from fake_corpus import FakeCorpus, build_corpus

from synthaudio.errors import InputError
from synthaudio.io.metadata import iter_metadata
from synthaudio.manifests.hf import hf_metadata_path, write_hf_metadata

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
datasets = pytest.importorskip("datasets")


def _stub_torchcodec(monkeypatch: pytest.MonkeyPatch) -> None:
    """datasets' Audio feature imports torchcodec even to store a file path.

    Without torchcodec (it also needs FFmpeg) a stub lets load_dataset index the
    files; nothing is decoded through it: the test reads the audio itself.
    """
    if importlib.util.find_spec("torchcodec") is not None:
        try:
            importlib.import_module("torchcodec.encoders")
            return
        except Exception:  # installed but unusable (no FFmpeg libraries)
            pass
    package = types.ModuleType("torchcodec")
    encoders = types.ModuleType("torchcodec.encoders")
    encoders.AudioEncoder = type("AudioEncoder", (), {})  # type: ignore[attr-defined]
    package.encoders = encoders  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torchcodec", package)
    monkeypatch.setitem(sys.modules, "torchcodec.encoders", encoders)


def load_audiofolder(out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    _stub_torchcodec(monkeypatch)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True, raising=False)
    return datasets.load_dataset(
        "audiofolder", data_dir=str(out / "audio"), cache_dir=str(tmp_path / "hf_cache")
    )


def test_audiofolder_loads_three_splits_with_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # dev has no gender at all: its column must still be a string column like train's
    speakers = {"train": ["spk001", "spk002"], "dev": ["spk004"], "test": ["spk006"]}
    c = build_corpus(tmp_path / "out", speakers=speakers, utts_per_speaker=2)
    records = [dict(r, gender=None) if r["split"] == "dev" else r for r in c.records]
    (c.out / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    assert write_hf_metadata(c.out, iter_metadata(c.out)) == {"train": 4, "dev": 2, "test": 2}

    ds = load_audiofolder(c.out, tmp_path, monkeypatch)
    assert sorted(ds.keys()) == ["test", "train", "validation"]
    for hf_split, split in [("train", "train"), ("validation", "dev"), ("test", "test")]:
        part = ds[hf_split].cast_column("audio", datasets.Audio(decode=False))
        expected = {r["id"]: r for r in records if r["split"] == split}
        assert part.num_rows == len(expected)
        for row in part:
            rec = expected[row["id"]]
            assert row["text"] == rec["text"]
            assert row["speaker_id"] == rec["speaker"]
            assert row["gender"] == (rec["gender"] or "")
            assert row["lang"] == "en-us"
            assert row["duration"] == pytest.approx(rec["duration_s"], abs=1e-4)
            assert Path(row["audio"]["path"]).resolve() == (c.out / rec["audio"]).resolve()
            samples, _ = sf.read(row["audio"]["path"], dtype="int16")
            np.testing.assert_array_equal(samples, c.samples(rec["id"])[:, 0])


def test_metadata_file_names_are_relative_to_split_folder(corpus: FakeCorpus) -> None:
    write_hf_metadata(corpus.out, iter_metadata(corpus.out))
    path = hf_metadata_path(corpus.out, "dev")
    assert path == corpus.out / "audio" / "dev" / "metadata.jsonl"
    for line in path.read_text().splitlines():
        row = json.loads(line)
        assert (path.parent / row["file_name"]).is_file()


def test_audio_outside_split_folder_is_input_error(corpus: FakeCorpus) -> None:
    records = [dict(r) for r in corpus.records]
    records[0]["audio"] = "elsewhere/x.wav"
    (corpus.out / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    with pytest.raises(InputError, match=r"metadata.jsonl:1: audio 'elsewhere/x.wav' is not under"):
        write_hf_metadata(corpus.out, iter_metadata(corpus.out))

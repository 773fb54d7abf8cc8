from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import soundfile as sf
from fake_corpus import FakeCorpus

from synthaudio.io.metadata import iter_metadata
from synthaudio.manifests.nemo import nemo_manifest_path, write_nemo_manifests


def load(path: Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def test_relative_paths_resolve_against_manifest_folder(corpus: FakeCorpus) -> None:
    assert write_nemo_manifests(corpus.out, iter_metadata(corpus.out)) == {
        "train": 9,
        "dev": 6,
        "test": 6,
    }
    for split in ("train", "dev", "test"):
        path = nemo_manifest_path(corpus.out, split)
        assert path == corpus.out / "manifests" / "nemo" / f"{split}.json"
        entries = load(path)
        expected = corpus.split(split)
        assert [e["text"] for e in entries] == [r["text"] for r in expected]
        for entry, rec in zip(entries, expected, strict=True):
            assert list(entry) == ["audio_filepath", "duration", "text", "speaker", "lang"]
            audio = str(entry["audio_filepath"])
            assert not os.path.isabs(audio)
            # NeMo: manifest_dir / audio_file when the path is relative
            resolved = path.parent / audio
            assert resolved.resolve() == (corpus.out / rec["audio"]).resolve()
            assert entry["duration"] == pytest.approx(sf.info(str(resolved)).duration, abs=1e-4)
            assert entry["speaker"] == rec["speaker"] and entry["lang"] == "en-us"


def test_absolute_paths(corpus: FakeCorpus) -> None:
    write_nemo_manifests(corpus.out, iter_metadata(corpus.out), absolute_paths=True)
    for entry in load(nemo_manifest_path(corpus.out, "dev")):
        audio = str(entry["audio_filepath"])
        assert os.path.isabs(audio) and Path(audio).is_file()

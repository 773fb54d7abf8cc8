"""The SpeechBrain CSV export, read the way SpeechBrain's ``load_data_csv`` reads it."""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf
from fake_corpus import FakeCorpus

from synthaudio.io.metadata import iter_metadata
from synthaudio.manifests.export import export_corpus
from synthaudio.manifests.speechbrain import (
    speechbrain_csv_path,
    speechbrain_row,
    write_speechbrain_csvs,
)


def load_data_csv(path: Path, replacements: dict[str, str]) -> dict[str, dict[str, Any]]:
    """speechbrain.dataio.dataio.load_data_csv (1.1.2), which needs torchaudio to import:
    DictReader with skipinitialspace, rows keyed by a unique ID, duration as float,
    ``$name`` replaced in every other field."""
    finder = re.compile(r"\$([\w.]+)")
    out: dict[str, dict[str, Any]] = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f, skipinitialspace=True):
            data_id = row.pop("ID")
            assert data_id not in out, f"duplicate id {data_id}"
            for key, value in row.items():
                row[key] = finder.sub(lambda m: replacements[m[1]], value)
            row["duration"] = float(row["duration"])  # type: ignore[assignment]
            out[data_id] = row
    return out


def test_csv_per_split_resolves_with_data_root(corpus: FakeCorpus) -> None:
    counts = write_speechbrain_csvs(corpus.out, iter_metadata(corpus.out))
    assert counts == {"train": 9, "dev": 6, "test": 6}
    for split in ("train", "dev", "test"):
        path = speechbrain_csv_path(corpus.out, split)
        assert path == corpus.out / "manifests" / "speechbrain" / f"{split}.csv"
        raw = path.read_bytes()
        assert raw.startswith(b"ID,duration,wav,spk_id,wrd\n") and b"\r" not in raw
        rows = load_data_csv(path, {"data_root": str(corpus.out)})
        expected = corpus.split(split)
        assert list(rows) == [r["id"] for r in expected]
        for (uid, row), rec in zip(rows.items(), expected, strict=True):
            assert row["wrd"] == rec["text"] and row["spk_id"] == rec["speaker"]
            assert Path(row["wav"]) == corpus.out / rec["audio"]
            info = sf.info(row["wav"])
            assert row["duration"] == pytest.approx(info.duration, abs=1e-3)
            assert uid.startswith(row["spk_id"] + "-")


def test_absolute_paths_and_quoting(corpus: FakeCorpus) -> None:
    rec = next(iter_metadata(corpus.out))
    line = speechbrain_row(rec, corpus.out, absolute_paths=True)
    wav = next(csv.reader([line]))[2]
    assert os.path.isabs(wav) and Path(wav) == (corpus.out / rec.audio).resolve()
    odd = rec.__class__(**{**rec.__dict__, "text": 'say "yes", then no'})
    fields = next(csv.reader([speechbrain_row(odd, corpus.out, False)]))
    assert fields[4] == 'say "yes", then no' and len(fields) == 5


def test_registered_export_format_writes_and_reports(corpus: FakeCorpus) -> None:
    report = export_corpus(corpus.out, ["speechbrain"])
    assert report.formats == ("speechbrain",)
    assert report.format().splitlines()[-1] == "speechbrain: 21 rows in manifests/speechbrain/"
    first = speechbrain_csv_path(corpus.out, "train").read_bytes()
    export_corpus(corpus.out, ["all"])
    assert speechbrain_csv_path(corpus.out, "train").read_bytes() == first  # deterministic

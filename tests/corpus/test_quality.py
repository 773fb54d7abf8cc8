"""The quality gate: clean renderings the ASR cannot read are re-drawn, then dropped."""

from __future__ import annotations

import json
from pathlib import Path

from test_generate import write_config

from synthaudio.corpus.generate import generate_corpus


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_impossible_gate_drops_everything_with_reasons(tmp_path: Path) -> None:
    config = write_config(tmp_path / "cfg", speakers=3, per_speaker=1,
                          extra="quality: {max_cer: 0.0, max_redraws: 1}\n")
    # max_cer 0: only a perfect reading passes; with this seed some pass and some drop
    out = tmp_path / "out"
    summary = generate_corpus(config, out, progress=False)
    kept = lines(out / "metadata.jsonl")
    dropped = lines(out / "quality_dropped.jsonl")
    assert dropped and len(kept) + len(dropped) == 3 and summary.utterances == len(kept)
    for r in kept:  # what passed was read perfectly
        assert r["quality"]["cer"] == 0.0 and 1 <= r["quality"]["attempts"] <= 2
    for d in dropped:
        assert d["quality"]["attempts"] == 2 and d["quality"]["cer"] > 0
        assert d["dropped"].startswith("cer ") and "after 2 renderings" in d["dropped"]
        assert not list((out / "audio").rglob(f"{d['id']}.wav"))
    assert any(f"quality gate: {len(dropped)} utterances dropped" in n for n in summary.notes)


def test_lenient_gate_keeps_everything_and_records_the_verdict(tmp_path: Path) -> None:
    config = write_config(tmp_path / "cfg", speakers=3, per_speaker=1,
                          extra="quality: {max_cer: 10.0}\n")
    out = tmp_path / "out"
    generate_corpus(config, out, progress=False)
    kept = lines(out / "metadata.jsonl")
    assert len(kept) == 3 and not (out / "quality_dropped.jsonl").exists()
    for r in kept:
        assert r["quality"]["attempts"] == 1
        assert 0.0 <= r["quality"]["cer"] <= 10.0 and isinstance(r["quality"]["hypothesis"], str)
    # the corpus-constrained decoder reads most of this clean synthetic speech
    assert sum(r["quality"]["cer"] for r in kept) / 3 < 0.6

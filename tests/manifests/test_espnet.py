from __future__ import annotations

from pathlib import Path

import pytest
from fake_corpus import build_corpus

from synthaudio.manifests.espnet import drop_reason
from synthaudio.manifests.export import export_corpus

SPEAKERS = {"train": ["a1", "a2"], "dev": ["b1"], "test": ["c1"]}


def durations(index: int) -> float:
    # index 0: 0.05 s (too short), index 3: 20.5 s (too long), the rest normal
    return {0: 0.05, 3: 20.5}.get(index, 0.4)


@pytest.mark.parametrize(
    ("seconds", "reason"),
    [(0.05, "shorter than 0.1 s"), (0.1, None), (20.0, None), (20.01, "longer than 20 s")],
)
def test_drop_reason_uses_espnet_defaults(seconds: float, reason: str | None) -> None:
    assert drop_reason(seconds) == reason


def test_espnet_lists_dropped_utterances_and_keeps_kaldi_dirs_whole(tmp_path: Path) -> None:
    c = build_corpus(
        tmp_path / "out",
        speakers=SPEAKERS,
        utts_per_speaker=2,
        sample_rate=8000,
        duration_s=durations,
    )
    report = export_corpus(c.out, ["espnet"])
    assert report.espnet_dropped == 2
    assert "espnet: 2 utterances outside 0.1-20 s" in report.format()
    lines = (c.out / "data" / "espnet_dropped.txt").read_text().splitlines()
    assert lines == [
        "train a1-000000 0.05 shorter than 0.1 s",
        "train a2-000003 20.5 longer than 20 s",
    ]
    utts = (c.out / "data" / "train" / "utt2spk").read_text().splitlines()
    assert len(utts) == 4  # ESPnet's own filter decides; the data directory stays complete

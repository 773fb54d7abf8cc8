"""The run engine with a third, toy pipeline: tones instead of speech, on the same engine."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from synthaudio.errors import SynthaudioError
from synthaudio.io.fileio import write_audio_atomic
from synthaudio.io.metadata import MetadataRecord, iter_metadata
from synthaudio.pipelines.front import Exports
from synthaudio.run.engine import (
    Record,
    RunStats,
    RunSummary,
    fingerprint,
    group_path,
    run_pipeline,
)

RATE = 8000


def _init(out_dir: str, amplitude: float) -> tuple[Path, float]:
    return Path(out_dir), amplitude


def _render(state: tuple[Path, float], items: list[int]) -> list[Record]:
    out_dir, amplitude = state
    records = []
    for i in items:
        if i == 3 and amplitude < 0:
            raise SynthaudioError(f"item {i}: refused")
        t = np.arange(RATE // 4) / RATE
        tone = (amplitude * np.sin(2 * np.pi * (200 + 50 * i) * t)).astype(np.float32)
        rel = f"audio/train/tone/tone-{i:03d}.wav"
        n = write_audio_atomic(out_dir / rel, tone, RATE)
        records.append(MetadataRecord(id=f"tone-{i:03d}", split="train", speaker="tone",
                                      text=f"tone {i}", audio=rel, duration_s=n / RATE,
                                      sample_rate=RATE, num_channels=1).to_dict())
    return records


class TonePipeline(Exports):
    name = "tones"
    group_size = 2
    max_groups_per_task = 2
    exports = ("kaldi",)
    shard_size = 10

    def __init__(self, n: int, amplitude: float = 0.5) -> None:
        self.num_items, self.amplitude = n, amplitude
        self.resolved: dict[str, Any] = {"kind": "tones", "n": n, "amplitude": amplitude}
        self.resolved["fingerprint"] = fingerprint(self.resolved)
        self.init, self.render_group = _init, _render

    def prepare(self, out_dir: Path, jobs: int) -> tuple[Any, ...]:
        return (str(out_dir), self.amplitude)

    def payload(self, group: int, items: range) -> list[int]:
        return list(items)

    def group_of(self, record: Record) -> int | None:
        return int(record["id"].rsplit("-", 1)[1]) // self.group_size

    def merge_order(self) -> Iterable[int]:
        return range(-(-self.num_items // self.group_size))


@dataclass(kw_only=True)
class ToneSummary(RunSummary):
    stats: RunStats

    def format(self) -> str:
        return f"tones: {self.utterances}, rendered now: {self.rendered}"


def _run(pipeline: TonePipeline, out: Path, **kwargs: Any) -> RunStats:
    def summarize(stats: RunStats) -> ToneSummary:
        return ToneSummary(out_dir=out, utterances=stats.utterances, hours=stats.audio_s / 3600,
                           rendered=stats.rendered, wall_s=1.0, stats=stats)

    return run_pipeline(pipeline, out, summarize, progress=False, **kwargs).stats


def _hashes(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file() and "logs" not in p.parts}


def test_a_third_pipeline_runs_resumes_and_exports(tmp_path: Path) -> None:
    out = tmp_path / "a"
    stats = _run(TonePipeline(5), out)
    assert (stats.utterances, stats.rendered, stats.groups, stats.resumed_groups) == (5, 5, 3, 0)
    records = list(iter_metadata(out))
    assert [r.id for r in records] == [f"tone-{i:03d}" for i in range(5)]
    for r in records:  # durations are measured from the written audio
        info = sf.info(str(out / r.audio))
        assert r.duration_s == info.frames / info.samplerate == 0.25
    assert (out / "data" / "train" / "wav.scp").read_text().count("\n") == 5
    assert not (out / ".work").exists()
    assert "tones: 5, rendered now: 5" in (out / "logs" / "tones.log").read_text()
    assert abs(stats.audio_s - 1.25) < 1e-9

    again = _run(TonePipeline(5), out)  # a finished run: adopted
    assert (again.rendered, again.resumed_groups, again.utterances) == (0, 3, 5)
    parallel = tmp_path / "b"
    _run(TonePipeline(5), parallel, jobs=2)
    assert _hashes(parallel) == _hashes(out)


def test_a_failed_group_keeps_the_others_for_the_rerun(tmp_path: Path) -> None:
    out = tmp_path / "out"
    broken = TonePipeline(5, amplitude=-0.5)
    with pytest.raises(SynthaudioError, match="item 3: refused"):
        _run(broken, out)
    assert group_path(out, 0).is_file() and not group_path(out, 1).exists()
    with pytest.raises(SynthaudioError, match="not made from this config"):
        _run(TonePipeline(5), out)
    stats = _run(TonePipeline(5), out, overwrite=True)
    assert stats.rendered == 5 and len(list(iter_metadata(out))) == 5

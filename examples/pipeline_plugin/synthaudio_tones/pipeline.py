"""The tones pipeline: its config, plan (tone ``i`` from its index), task and summary."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, StrictInt

from synthaudio.configbase import ConfigModel, parse_config, read_config_text
from synthaudio.io.fileio import write_audio_atomic, write_text_atomic
from synthaudio.io.metadata import MetadataRecord
from synthaudio.manifests.formats import ExportContext, ExportOutcome
from synthaudio.pipelines.front import Exports, resumed_note, start_run
from synthaudio.run.engine import Record, RunStats, RunSummary, fingerprint, run_pipeline
from synthaudio.streams import STREAMS_VERSION, item_rng

GROUP_SIZE = 4  # tones per render group (committed together); the bytes do not depend on it
tone_rng = item_rng(90)  # tone i draws from [seed, 90, i, sub] (the entry's stream_tags)


class TonesConfig(ConfigModel):
    seed: StrictInt = Field(default=0, ge=0)
    count: StrictInt = Field(ge=1, le=100_000)
    sample_rate: StrictInt = Field(default=16000, ge=8000, le=48000)
    freq_hz: tuple[float, float] = (200.0, 800.0)
    duration_s: tuple[float, float] = (0.2, 0.5)
    exports: list[str] = ["kaldi", "tonelist"]
    shard_size: StrictInt = 1000


def load_tones_config(path: Path) -> TonesConfig:
    return parse_config(TonesConfig, read_config_text(path), str(path))


# ---- the task (module level: it runs in the workers) -----------------------------------


def init(cfg_data: dict[str, Any], out_dir: str) -> tuple[TonesConfig, Path]:
    return TonesConfig.model_validate(cfg_data), Path(out_dir)


def render_group(state: tuple[TonesConfig, Path], items: Sequence[int]) -> list[Record]:
    cfg, out_dir = state
    records = []
    for i in items:
        rng = tone_rng(cfg.seed, i, 0)
        freq_hz = round(float(rng.uniform(*cfg.freq_hz)), 3)
        n = int(round(float(rng.uniform(*cfg.duration_s)) * cfg.sample_rate))
        audio = 0.5 * np.sin(2 * np.pi * freq_hz * np.arange(n) / cfg.sample_rate)
        utt_id = f"tone-{i:06d}"
        rel = f"audio/train/tone/{utt_id}.wav"
        write_audio_atomic(out_dir / rel, audio.astype(np.float32), cfg.sample_rate)
        records.append(MetadataRecord(
            id=utt_id, split="train", speaker="tone", text="tone", audio=rel,
            duration_s=round(n / cfg.sample_rate, 6), sample_rate=cfg.sample_rate,
            num_channels=1, tts={"engine": "sine", "freq_hz": freq_hz}).to_dict())
    return records


# ---- the plan on the run engine --------------------------------------------------------


class TonesPipeline(Exports):
    name = "tones"
    group_size = GROUP_SIZE
    max_groups_per_task = 1

    def __init__(self, cfg: TonesConfig, resolved: dict[str, Any]) -> None:
        self.cfg, self.resolved = cfg, resolved
        self.num_items = cfg.count
        self.exports, self.shard_size = cfg.exports, cfg.shard_size
        self.init, self.render_group = init, render_group

    def prepare(self, out_dir: Path, jobs: int) -> tuple[Any, ...]:
        return (self.cfg.model_dump(mode="json"), str(out_dir))

    def payload(self, group: int, items: range) -> list[int]:
        return list(items)

    def group_of(self, record: Record) -> int | None:
        index = int(str(record["id"]).rsplit("-", 1)[1])
        return index // GROUP_SIZE if index < self.num_items else None

    def merge_order(self) -> Iterable[int]:
        return range(-(-self.num_items // GROUP_SIZE))


@dataclass(kw_only=True)
class TonesSummary(RunSummary):
    def format(self) -> str:
        return "\n".join([f"tones: {self.utterances} ({self.hours * 3600:.1f} s), rendered "
                          f"now: {self.rendered}", self.timing_line(), *self.notes])


def make_tones(config_path: Path, out_dir: Path, *, jobs: int = 1, seed: int | None = None,
               overwrite: bool = False, resume: bool = False, progress: bool = True,
               executor: str = "local", ray_address: str | None = None) -> TonesSummary:
    run = start_run(config_path, out_dir, load_tones_config, TonesConfig, jobs=jobs,
                    seed=seed, executor=executor, resume=resume, overwrite=overwrite)
    body: dict[str, Any] = {"config": run.cfg.model_dump(mode="json"), "kind": "tones",
                            "render_group_size": GROUP_SIZE, "random_streams": STREAMS_VERSION}
    body["fingerprint"] = fingerprint(body)

    def summarize(stats: RunStats) -> TonesSummary:
        return TonesSummary(out_dir=run.out_dir, utterances=stats.utterances,
                            hours=stats.audio_s / 3600, rendered=stats.rendered,
                            wall_s=run.wall_s(), audio_s=stats.rendered_audio_s,
                            notes=resumed_note(stats, f"groups of {GROUP_SIZE} tones"))

    return run_pipeline(TonesPipeline(run.cfg, body), run.out_dir, summarize, jobs=jobs,
                        overwrite=overwrite, resume=resume, progress=progress,
                        executor=executor, ray_address=ray_address, inputs=[run.config_path])


# ---- its export format -----------------------------------------------------------------


def write_tonelist(ctx: ExportContext) -> ExportOutcome:
    lines = [f"{rec.id}\t{rec.tts['freq_hz'] if rec.tts else ''}\n" for rec in ctx.records()]
    write_text_atomic(ctx.out_dir / "tones.tsv", "".join(lines))
    return ExportOutcome(f"tonelist: {len(lines)} tones -> {ctx.out_dir / 'tones.tsv'}")

"""``synthaudio keywords``: a keywords config in, a keyword-spotting corpus folder out.

The keyword pipeline on the run engine (:mod:`synthaudio.run.engine`): every input is
checked and the plan made (:mod:`synthaudio.pipelines.keywords.plan`: speakers, hard negatives,
clips) before OUT is touched; ``prepare`` writes ``OUT/negatives.json`` and builds the
environment (the RIR bank and babble pool of the corpus pipeline); groups of
:data:`GROUP_SIZE` clips render in workers (:mod:`synthaudio.pipelines.keywords.render`); the
engine merges ``metadata.jsonl``, exports (the Speech Commands lists, Kaldi dirs ...),
and logs. Resumable and byte-identical for any ``-j`` as ``generate`` is.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthaudio.augment.environment import babble_pool_draws
from synthaudio.io.fileio import write_text_atomic
from synthaudio.pipelines import front
from synthaudio.pipelines.generate.config import CorpusConfig
from synthaudio.pipelines.keywords.config import KeywordsConfig, load_keywords_config
from synthaudio.pipelines.keywords.plan import KeywordsPlan, plan_keywords
from synthaudio.pipelines.keywords.render import init_worker, render_group
from synthaudio.run.engine import (
    Record,
    RunStats,
    RunSummary,
    fingerprint,
    run_pipeline,
)

GROUP_SIZE = 16  # clips per render group (one TTS session); the bytes depend on it
NEGATIVES_NAME = "negatives.json"


@dataclass(kw_only=True)
class KeywordsSummary(RunSummary):
    per_kind: dict[str, int] = field(default_factory=dict)
    per_label: dict[str, int] = field(default_factory=dict)
    dropped: int = 0

    def format(self) -> str:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.per_kind.items()))
        lines = [f"keyword corpus: {self.out_dir}",
                 f"clips: {self.utterances} ({self.hours:.3f} h), rendered now: "
                 f"{self.rendered}, dropped: {self.dropped}", f"  kinds: {kinds}",
                 f"  labels: {len(self.per_label)}", self.timing_line()]
        lines.extend(self.notes)
        return "\n".join(lines)


def negatives_json(plan: KeywordsPlan, cfg: KeywordsConfig, phone_set: str) -> dict[str, Any]:
    """``OUT/negatives.json``: per target its hard negatives with their phoneme distance,
    who says what in each clip of the babble pool that babble noise mixes (a noise
    source's ``talkers[].clip`` indexes it; empty without babble noise), and the words the
    other-word clips draw from (empty without ``counts.words``)."""
    return {"phone_set": phone_set, "max_distance": cfg.confusable.max_distance,
            "targets": {str(t.label): {"text": t.text,
                                       "negatives": [c.to_dict()
                                                     for c in plan.negatives[str(t.label)]]}
                        for t in cfg.targets},
            "babble_pool": [{"speaker": s.speaker_id, "text": p.text}
                            for s, p in babble_pool_draws(plan.babble, cfg.seed)]
            if cfg.babble_noise else [],
            "other_words": list(plan.other_words)}


class KeywordsPipeline(front.Exports):
    """The keyword plan on the run engine (:class:`synthaudio.run.engine.Pipeline`)."""

    name = "keywords"
    group_size = GROUP_SIZE
    max_groups_per_task = 1

    def __init__(self, cfg: KeywordsConfig, corpus_cfg: CorpusConfig, config_dir: Path,
                 plan: KeywordsPlan, resolved: dict[str, Any], negatives: dict[str, Any]) -> None:
        self.cfg, self.corpus_cfg, self.config_dir = cfg, corpus_cfg, config_dir
        self.plan, self.resolved, self.negatives = plan, resolved, negatives
        self.num_items = len(plan.clips)
        self.exports: Sequence[str] = cfg.exports
        self.shard_size = cfg.shard_size
        self.init = init_worker
        self.render_group = render_group
        self._position = {c.clip_id: c.index for c in plan.clips}

    def prepare(self, out_dir: Path, jobs: int) -> tuple[Any, ...]:
        write_text_atomic(out_dir / NEGATIVES_NAME,
                          json.dumps(self.negatives, indent=1, ensure_ascii=False) + "\n")
        env, check = front.prepare_shared(self.cfg, self.corpus_cfg, self.plan.corpus,
                                          [p.text for p in self.plan.corpus.prompts], out_dir,
                                          self.config_dir, jobs, babble=self.plan.babble)
        stream_speakers = self.plan.speakers_in("test")
        stream_texts = self.plan.other_texts
        return (self.cfg.model_dump(mode="json"), self.corpus_cfg.model_dump(mode="json"), env,
                str(self.config_dir), str(out_dir), stream_speakers, stream_texts, check)

    def payload(self, group: int, items: range) -> list[Any]:
        return [self.plan.clips[i] for i in items]

    def group_of(self, record: Record) -> int | None:
        index = self._position.get(str(record["id"]))
        return None if index is None else index // GROUP_SIZE

    def merge_order(self) -> Iterable[int]:
        return range(-(-self.num_items // GROUP_SIZE))


def resolved_config(cfg: KeywordsConfig, plan: KeywordsPlan,
                    negatives: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "keywords",
        "config": cfg.model_dump(mode="json"),
        **front.run_body(GROUP_SIZE, (s.engine for s in plan.corpus.speakers)),
        "clips": len(plan.clips),
    }
    body["fingerprint"] = fingerprint(body, [[p.prompt.id, p.text] for p in plan.corpus.prompts],
                                      negatives)
    return body


def make_keywords(config_path: Path, out_dir: Path, *, jobs: int = 1, seed: int | None = None,
                  overwrite: bool = False, resume: bool = False, progress: bool = True,
                  executor: str = "local", ray_address: str | None = None) -> KeywordsSummary:
    """Generate the keyword-spotting corpus described by ``config_path`` into ``out_dir``.

    Re-running the same config into the same OUT finishes an interrupted run; the result
    is byte-identical to an uninterrupted run, whatever ``jobs``.

    Raises:
        SynthaudioError: bad input (ConfigError, InputError) before anything is written; a
            failed write names the path and keeps what is complete for a later run.
    """
    run = front.start_run(config_path, out_dir, load_keywords_config, KeywordsConfig,
                          jobs=jobs, seed=seed, executor=executor, resume=resume,
                          overwrite=overwrite)
    cfg, config_path, out_dir = run.cfg, run.config_path, run.out_dir
    corpus_cfg = cfg.corpus_config()
    with front.naming_config(config_path):
        notes = front.check_tts_inputs(cfg, config_path.parent)
        plan = plan_keywords(cfg, config_path.parent, corpus_cfg)
    negatives = negatives_json(plan, cfg, plan.phone_set)
    notes.extend(plan.notes)
    resolved = resolved_config(cfg, plan, negatives)
    pipeline = KeywordsPipeline(cfg, corpus_cfg, config_path.parent, plan, resolved, negatives)
    kinds: Counter[str] = Counter()
    labels: Counter[str] = Counter()

    def observe(record: Record) -> None:
        kinds[str(record.get("kind"))] += 1
        labels[str(record.get("label"))] += 1

    def summarize(stats: RunStats) -> KeywordsSummary:
        notes.extend(front.resumed_note(stats, f"groups of {GROUP_SIZE} clips"))
        if stats.dropped:
            notes.append(f"{stats.dropped} clips dropped (speech longer than the clip, or "
                         "misread by the asr check; reasons in quality_dropped.jsonl)")
        notes.extend(front.asr_check_notes(cfg, out_dir))
        return KeywordsSummary(out_dir=out_dir, utterances=stats.utterances,
                               hours=stats.audio_s / 3600, rendered=stats.rendered,
                               wall_s=run.wall_s(),
                               audio_s=stats.rendered_audio_s, notes=notes,
                               per_kind=dict(kinds), per_label=dict(labels),
                               dropped=stats.dropped)

    inputs = [config_path, *(config_path.parent / s.file for s in corpus_cfg.text.sources
                             if s.file is not None)]
    return run_pipeline(pipeline, out_dir, summarize, jobs=jobs, overwrite=overwrite,
                        resume=resume, progress=progress, executor=executor,
                        ray_address=ray_address, observe=observe, inputs=inputs)

"""``synthaudio generate``: a corpus config in, a finished corpus directory out.

This module is the generate pipeline's plan and task; the run itself (claim OUT, work
records, resume, merge, exports, log) is the run engine's, :mod:`synthaudio.run.engine`.
Order of work: validate everything (config, prompts, voices, codecs, noise folders, measured
RIRs) before touching OUT; then the engine claims OUT and writes the resolved
``corpus.yaml``; :meth:`GeneratePipeline.prepare` builds the RIR bank, the babble pool and the
quality gate; each pending render group of :data:`GROUP_SIZE` utterances is rendered by
:func:`_render_group` in a worker (audio first, then the group's records, both atomically);
the engine merges ``metadata.jsonl``, exports, removes ``.work/`` and appends a log under
``logs/``. See docs/reliability.md for the guarantees.
"""

from __future__ import annotations

import bisect
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthaudio.augment.environment import (
    EnvironmentResources,
)
from synthaudio.pipelines import front
from synthaudio.pipelines.generate.config import CorpusConfig, load_corpus_config
from synthaudio.pipelines.generate.plan import CorpusPlan, UtteranceSpec, plan_corpus
from synthaudio.pipelines.generate.quality import ASRCheck
from synthaudio.pipelines.generate.render import Renderer
from synthaudio.run.engine import (
    Record,
    RunStats,
    RunSummary,
    check_int,
    fingerprint,
    run_pipeline,
)
from synthaudio.splits import SPLITS

# Utterances are rendered in fixed groups of consecutive indices, whatever -j is: a group is
# rendered in one TTS session and its records are committed together, so an interrupted
# group is rendered again from its start and the bytes never depend on where a run stopped.
GROUP_SIZE = 16


@dataclass(kw_only=True)
class GenerateSummary(RunSummary):
    speakers_per_split: dict[str, int]
    utterances_per_split: dict[str, int]
    skipped_prompts: int

    def format(self) -> str:
        lines = [f"corpus: {self.out_dir}",
                 f"utterances: {self.utterances} ({self.hours:.3f} h), "
                 f"rendered now: {self.rendered}, prompts skipped: {self.skipped_prompts}"]
        for split in SPLITS:
            lines.append(f"  {split:<5} speakers: {self.speakers_per_split.get(split, 0):>4}  "
                         f"utterances: {self.utterances_per_split.get(split, 0):>6}")
        lines.append(self.timing_line())
        lines.extend(self.notes)
        return "\n".join(lines)


def resolved_config(cfg: CorpusConfig, plan: CorpusPlan, limit: int | None) -> dict[str, Any]:
    """The fully resolved config, the engines' versions, and a fingerprint of both."""
    prompts = [[p.prompt.id, p.text] for p in plan.prompts]
    body: dict[str, Any] = {
        "config": cfg.model_dump(mode="json"),
        # no "limit": a run with a larger one (or none) extends the corpus (see plan.py)
        **front.run_body(GROUP_SIZE, (s.engine for s in plan.speakers)),
        "prompts": {"count": len(prompts), "skipped": len(plan.skipped)},
    }
    body["fingerprint"] = fingerprint(body, prompts)
    return body


# ---- the task (runs in the workers) ------------------------------------------------------


def _init_worker(cfg_data: dict[str, Any], out_dir: str, env: EnvironmentResources | None,
                 gate: ASRCheck | None = None, config_dir: str | None = None,
                 ) -> tuple[Renderer, Path]:
    """Per-worker state: a renderer (its TTS engines and augmenter) and OUT."""
    cfg = CorpusConfig.model_validate(cfg_data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # resampled measured RIRs: the parent notes them once
        augmenter = env.augmenter() if env is not None else None
    return (Renderer(cfg, augmenter, gate, None if config_dir is None else Path(config_dir)),
            Path(out_dir))


def _render_group(state: tuple[Renderer, Path], specs: Sequence[UtteranceSpec]) -> list[Record]:
    """Render one group in one TTS session; return its records (the engine commits them)."""
    renderer, out_dir = state
    with renderer.session(specs):
        checked = renderer.check_group(specs)  # the ASR check, packed: the group at once
        return [renderer.render(spec, out_dir, None if checked is None else checked[spec.index])
                for spec in specs]


# ---- the pipeline -----------------------------------------------------------------------


class GeneratePipeline(front.Exports):
    """The generate plan on the run engine (:class:`synthaudio.run.engine.Pipeline`)."""

    name = "generate"
    group_size = GROUP_SIZE
    max_groups_per_task = 1  # a group is one TTS session already

    def __init__(self, cfg: CorpusConfig, config_dir: Path, plan: CorpusPlan,
                 resolved: dict[str, Any]) -> None:
        self.cfg, self.config_dir, self.plan, self.resolved = cfg, config_dir, plan, resolved
        self.num_items = len(plan.utterances)
        self.exports: Sequence[str] = cfg.exports
        self.shard_size = cfg.shard_size
        self.init = _init_worker
        self.render_group = _render_group

    def prepare(self, out_dir: Path, jobs: int) -> tuple[Any, ...]:
        """The RIR bank and babble pool, and the quality gate; the workers' init args."""
        env, gate = front.prepare_shared(self.cfg, self.cfg, self.plan,
                                         [p.text for p in self.plan.prompts], out_dir,
                                         self.config_dir, jobs)
        return (self.cfg.model_dump(mode="json"), str(out_dir), env, gate,
                str(self.config_dir))

    def payload(self, group: int, items: range) -> list[UtteranceSpec]:
        return [self.plan.utterances[i] for i in items]

    def group_of(self, record: Record) -> int | None:
        """From the id's index part (``spk003-000012``: utterance 12)."""
        index = int(str(record["id"]).rsplit("-", 1)[1])
        position = self.plan.utterances.position_of(index)
        return None if position is None else index // GROUP_SIZE

    def groups(self) -> list[int]:
        """The groups of the full plan that hold an item of this one (all, without a
        limit), under their numbers in the full plan."""
        utts = self.plan.utterances
        if self.num_items == 0:
            return []
        first, last = utts.global_index(0), utts.global_index(self.num_items - 1)
        return [g for g in range(first // GROUP_SIZE, last // GROUP_SIZE + 1)
                if len(self.items_of(g))]

    def items_of(self, group: int) -> range:
        """The positions of this plan's items in full-plan group ``group``."""
        utts = self.plan.utterances
        lo, hi = group * GROUP_SIZE, (group + 1) * GROUP_SIZE
        start = bisect.bisect_left(_Indices(utts), lo)
        end = bisect.bisect_left(_Indices(utts), hi)
        return range(start, end)

    def merge_order(self) -> Iterable[int]:
        return self.groups()


class _Indices(Sequence[int]):
    """The corpus indices of a plan's utterances, in order (for bisect)."""

    def __init__(self, utts: Any) -> None:
        self._utts = utts

    def __len__(self) -> int:
        return len(self._utts)

    def __getitem__(self, k: Any) -> Any:
        return self._utts.global_index(k)


def generate_corpus(
    config_path: Path,
    out_dir: Path,
    *,
    jobs: int = 1,
    limit: int | None = None,
    seed: int | None = None,
    overwrite: bool = False,
    resume: bool = False,
    progress: bool = True,
    executor: str = "local",
    ray_address: str | None = None,
) -> GenerateSummary:
    """Generate the corpus described by ``config_path`` into ``out_dir``.

    Re-running the same config into the same OUT finishes an interrupted run and skips
    what is complete; the result is byte-identical to an uninterrupted run (logs aside).

    Args:
        config_path: the corpus.yaml.
        out_dir: the corpus folder (created).
        jobs: worker processes (>= 1).
        limit: render N utterances (>= 1), every split in proportion; a later run with a
            larger limit or none extends the corpus (the limit is not in the fingerprint).
        seed: overrides the config's seed.
        overwrite: replace an OUT that was made from another config.
        resume: insist on finishing an earlier run of the same config in ``out_dir``
            (SynthaudioError when there is none); without it a re-run resumes too.
        progress: show a progress bar.
        executor: "local" (a process pool of ``jobs`` workers) or "ray" (tasks on the Ray
            cluster at ``ray_address``, or a local Ray instance with ``jobs`` CPUs); both
            write byte-identical files.

    Raises:
        SynthaudioError: bad input (ConfigError, InputError) before anything is written;
            a failed write (full disk, permissions) names the path, and keeps what is
            complete for a later run to resume.
    """
    if limit is not None:
        check_int(limit, "--limit", 1)
    run = front.start_run(config_path, out_dir, load_corpus_config, CorpusConfig,
                          jobs=jobs, seed=seed, executor=executor, resume=resume,
                          overwrite=overwrite)
    cfg, config_path, out_dir = run.cfg, run.config_path, run.out_dir
    with front.naming_config(config_path):
        notes = front.check_tts_inputs(cfg, config_path.parent)
        plan = plan_corpus(cfg, config_path.parent, limit)
    if any(s.engine == "piper" for s in plan.speakers):  # cuda asked for, none here: say so
        from synthaudio.tts.piper import resolve_device

        piper_device = resolve_device(cfg.speakers.engine_section("piper").device)[1]
        notes += [piper_device] if piper_device else []
    resolved = resolved_config(cfg, plan, limit)
    pipeline = GeneratePipeline(cfg, config_path.parent, plan, resolved)

    def summarize(stats: RunStats) -> GenerateSummary:
        notes.extend(front.resumed_note(stats, f"groups of {GROUP_SIZE} utterances"))
        if stats.dropped:
            notes.append(f"asr check: {stats.dropped} utterances dropped "
                         "(reasons in quality_dropped.jsonl)")
        notes.extend(front.asr_check_notes(cfg, out_dir))
        return GenerateSummary(
            out_dir=out_dir,
            utterances=stats.utterances,
            hours=stats.audio_s / 3600,
            speakers_per_split={s: len(v) for s, v in stats.speakers.items()},
            utterances_per_split=dict(stats.per_split),
            rendered=stats.rendered,
            skipped_prompts=len(plan.skipped),
            wall_s=run.wall_s(),
            audio_s=stats.rendered_audio_s,
            notes=notes,
        )

    inputs = [config_path, *(config_path.parent / s.file for s in cfg.text.sources
                             if s.file is not None)]
    return run_pipeline(pipeline, out_dir, summarize, jobs=jobs, overwrite=overwrite,
                        resume=resume, progress=progress, executor=executor,
                        ray_address=ray_address, inputs=inputs)

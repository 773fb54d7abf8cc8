"""``synthaudio sessions``: a sessions config in, a finished session corpus out.

The session pipeline on the run engine (:mod:`synthaudio.run.engine`): every input is
checked first (config, prompts, dialogue files, voices, noise folders); each render group
is one session (its TTS session, room and files), rendered by :func:`_render_group` in a
worker; the engine merges ``metadata.jsonl`` (one record per session), runs the
``sessions`` export (:mod:`synthaudio.pipelines.sessions.export`) and logs the summary. Resume,
``--overwrite`` and byte-identical output for any ``-j`` are the engine's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthaudio.augment.environment import check_environment_inputs
from synthaudio.errors import ConfigKeyError
from synthaudio.pipelines import front
from synthaudio.pipelines.sessions.config import SessionCorpusConfig, load_sessions_config
from synthaudio.pipelines.sessions.plan import SessionPlan, SessionSpec, plan_sessions
from synthaudio.pipelines.sessions.render import SessionRenderer, TextPool
from synthaudio.run.engine import (
    Record,
    RunStats,
    RunSummary,
    fingerprint,
    run_pipeline,
)
from synthaudio.splits import SPLITS

GROUP_SIZE = 1  # one session per group: a session is one TTS session and one room


@dataclass(kw_only=True)
class SessionsSummary(RunSummary):
    sessions_per_split: dict[str, int]
    overlap: tuple[float, float]  # (target, mean measured) overlap ratio
    silence: tuple[float, float]  # (target, mean measured) silence ratio
    speakers: tuple[int, int]  # fewest and most talkers in a session

    def format(self) -> str:
        lines = [f"session corpus: {self.out_dir}",
                 f"sessions: {self.utterances} ({self.hours:.3f} h), rendered now: "
                 f"{self.rendered}, talkers per session: {self.speakers[0]}-{self.speakers[1]}"]
        lines += [f"  {s:<5} sessions: {self.sessions_per_split.get(s, 0):>5}" for s in SPLITS]
        lines.append(f"overlap ratio: target {self.overlap[0]:.3f}, measured mean "
                     f"{self.overlap[1]:.3f}; silence ratio: target {self.silence[0]:.3f}, "
                     f"measured mean {self.silence[1]:.3f}")
        lines.append(self.timing_line())
        lines.extend(self.notes)
        return "\n".join(lines)


@dataclass
class _Measured:
    """Sums of the measured ratios over the merged records (streamed: no list grows)."""

    sessions: int = 0
    overlap: float = 0.0
    silence: float = 0.0
    fewest: int = 0
    most: int = 0

    def observe(self, record: Record) -> None:
        session = record["session"]
        talkers = int(session["num_speakers"])
        self.fewest = min(self.fewest, talkers) if self.sessions else talkers
        self.most = max(self.most, talkers)
        self.sessions += 1
        self.overlap += float(session["measured"]["overlap_ratio"])
        self.silence += float(session["measured"]["silence_ratio"])

    def mean(self, total: float) -> float:
        return total / self.sessions if self.sessions else 0.0


def _init_worker(cfg_data: dict[str, Any], text: TextPool, config_dir: str,
                 noise_dirs: tuple[str, ...], out_dir: str) -> tuple[SessionRenderer, Path]:
    cfg = SessionCorpusConfig.model_validate(cfg_data)
    return SessionRenderer(cfg, text, Path(config_dir), noise_dirs), Path(out_dir)


def _render_group(state: tuple[SessionRenderer, Path], specs: Sequence[SessionSpec],
                  ) -> list[Record]:
    renderer, out_dir = state
    return [renderer.render(spec, out_dir) for spec in specs]


@dataclass
class SessionsPipeline(front.Exports):
    """The session plan on the run engine (:class:`synthaudio.run.engine.Pipeline`)."""

    cfg: SessionCorpusConfig
    config_dir: Path
    plan: SessionPlan
    resolved: dict[str, Any]  # OUT/corpus.yaml, with its fingerprint
    name = "sessions"
    group_size = GROUP_SIZE
    max_groups_per_task = 4  # short sessions: fewer round trips

    def __post_init__(self) -> None:
        self.num_items = len(self.plan.sessions)
        self.exports: Sequence[str] = self.cfg.exports
        self.shard_size = self.cfg.shard_size
        self.init, self.render_group = _init_worker, _render_group

    def prepare(self, out_dir: Path, jobs: int) -> tuple[Any, ...]:
        text = TextPool(tuple(p.text for p in self.plan.prompts), self.plan.dialogues,
                        self.plan.backchannels)
        aug = self.cfg.augment
        dirs = () if aug is None else tuple(str(_resolve(self.config_dir, d))
                                            for d in aug.noise.noise_dirs)
        return (self.cfg.model_dump(mode="json"), text, str(self.config_dir), dirs,
                str(out_dir))

    def payload(self, group: int, items: range) -> list[SessionSpec]:
        return [self.plan.sessions[i] for i in items]

    def group_of(self, record: Record) -> int | None:
        index = int(str(record["id"]).rsplit("-", 1)[1])
        return index // GROUP_SIZE if 0 <= index < self.num_items else None

    def merge_order(self) -> Iterable[int]:
        return range(-(-self.num_items // GROUP_SIZE))


def _resolve(base: Path, name: str) -> Path:
    path = Path(name)
    return path if path.is_absolute() else base / path


def check_sessions_inputs(cfg: SessionCorpusConfig, config_dir: Path) -> list[str]:
    """What a session corpus needs beyond a corpus's: simulated rooms (a talker's place),
    no babble (it needs the babble pool of ``generate``), no quality gate. Returns the
    notes: the environment's, and the augment stages sessions do not apply (speed, the
    channel: a turn's timing and the stems' sum stay exact)."""
    if cfg.quality is not None:
        raise ConfigKeyError("quality: the quality gate is for utterances (generate); leave it "
                          "out of a sessions config")
    aug = cfg.augment
    if aug is None:
        return []
    notes = []
    channel = [name for name, section in aug.channel if section.probability > 0]
    if aug.speed.probability > 0 or channel:
        skipped = ["speed"] * (aug.speed.probability > 0) + [f"channel.{c}" for c in channel]
        notes.append("note: sessions apply augment.room and augment.noise; not applied: "
                     + ", ".join(f"augment.{x}" for x in skipped))
    if aug.room.probability > 0 and aug.room.measured_rirs:
        raise ConfigKeyError("augment.room.measured_rirs: sessions place each talker in a "
                          "simulated room; leave measured_rirs out")
    if aug.noise.mixes_babble:
        raise ConfigKeyError("augment.noise.kinds.babble: not available for sessions (the "
                          "other talkers are the babble); give it weight 0")
    return notes + check_environment_inputs(aug, cfg.audio.sample_rate, config_dir)


def cap_notes(cfg: SessionCorpusConfig, plan: Any) -> list[str]:
    """Notes for the talker counts a split's speaker pool caps (never in silence)."""
    if cfg.sessions.dialogues:
        return []
    most = cfg.sessions.speakers[1]
    pools = plan.sessions.pools
    return [f"note: sessions.speakers asks up to {most} talkers, but the {split} split has "
            f"{len(pools[split])} speakers: its sessions have at most {len(pools[split])} "
            "(raise speakers.count)"
            for split in plan.sessions.splits if len(pools[split]) < most]


def generate_sessions(
    config_path: Path,
    out_dir: Path,
    *,
    jobs: int = 1,
    seed: int | None = None,
    overwrite: bool = False,
    resume: bool = False,
    progress: bool = True,
    executor: str = "local",
    ray_address: str | None = None,
) -> SessionsSummary:
    """Generate the session corpus described by ``config_path`` into ``out_dir``.

    Same run rules as :func:`synthaudio.pipelines.generate.pipeline.generate_corpus`: a re-run
    resumes, the bytes never depend on ``jobs`` or the executor, nothing is written on bad input.

    Raises:
        SynthaudioError: bad input (ConfigError, InputError) before anything is written;
            a failed write names the path.
    """
    run = front.start_run(config_path, out_dir, load_sessions_config, SessionCorpusConfig,
                          jobs=jobs, seed=seed, executor=executor, resume=resume,
                          overwrite=overwrite)
    cfg, config_path, out_dir = run.cfg, run.config_path, run.out_dir
    with front.naming_config(config_path):
        front.check_speaker_voices(cfg.speakers)
        notes = check_sessions_inputs(cfg, config_path.parent)
        plan = plan_sessions(cfg, config_path.parent)
        notes += cap_notes(cfg, plan)
    body: dict[str, Any] = {
        "config": cfg.model_dump(mode="json"),
        "kind": "sessions",
        **front.run_body(GROUP_SIZE, (s.engine for s in plan.corpus.speakers)),
        "prompts": {"count": len(plan.prompts), "skipped": len(plan.corpus.skipped)},
    }
    body["fingerprint"] = fingerprint(body, [p.text for p in plan.prompts],
                                      [[ln.label, ln.text] for d in plan.dialogues for ln in d])
    pipeline = SessionsPipeline(cfg, config_path.parent, plan, body)
    measured = _Measured()

    def summarize(stats: RunStats) -> SessionsSummary:
        notes.extend(front.resumed_note(stats, "sessions"))
        for what, target, got in (("overlap", cfg.sessions.overlap_ratio, measured.overlap),
                                  ("silence", cfg.sessions.silence_ratio, measured.silence)):
            if measured.sessions and abs(measured.mean(got) - target) > 0.03:
                notes.append(f"note: the mean {what} ratio ({measured.mean(got):.3f}) is more "
                             f"than 0.03 from its target ({target:.3f}): one turn change is a "
                             "gap or an overlap, so widen sessions.gap_s / overlap_s or "
                             "shorten sessions.turn_words")
        longest_s = cfg.sessions.length_s[1] + 2 * cfg.sessions.lead_s[1]
        if stats.utterances and stats.audio_s / stats.utterances > 1.5 * longest_s:
            notes.append(f"note: sessions are {stats.audio_s / stats.utterances:.1f} s long on "
                         f"average, sessions.length_s asks {cfg.sessions.length_s[0]:g}-"
                         f"{cfg.sessions.length_s[1]:g} s: every talker says at least one turn "
                         "of sessions.turn_words words (lower turn_words or speakers, or raise "
                         "length_s)")
        return SessionsSummary(
            out_dir=out_dir, utterances=stats.utterances, hours=stats.audio_s / 3600,
            rendered=stats.rendered, wall_s=run.wall_s(),
            audio_s=stats.rendered_audio_s, notes=notes,
            sessions_per_split=dict(stats.per_split),
            overlap=(cfg.sessions.overlap_ratio, measured.mean(measured.overlap)),
            silence=(cfg.sessions.silence_ratio, measured.mean(measured.silence)),
            speakers=(measured.fewest, measured.most))

    inputs = [config_path, *(config_path.parent / s.file for s in cfg.text.sources
                             if s.file is not None),
              *(_resolve(config_path.parent, d) for d in cfg.sessions.dialogues)]
    return run_pipeline(pipeline, out_dir, summarize, jobs=jobs, overwrite=overwrite,
                        resume=resume, progress=progress, executor=executor,
                        ray_address=ray_address, observe=measured.observe, inputs=inputs)

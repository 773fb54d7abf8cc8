"""``synthaudio generate``: a corpus config in, a finished corpus directory out.

Order of work: validate everything (config, prompts, voices, noise folders, measured RIRs)
before touching OUT; claim OUT (refuse a non-empty OUT made from another config unless
``overwrite``; sweep temporary files a killed run left); write the resolved ``corpus.yaml``;
build the RIR bank; render each pending utterance in worker processes (audio first, then its
record under ``.work/``, both atomically, so a killed run resumes where it stopped); merge
the records into ``metadata.jsonl`` (atomically); derive the exports (atomically); remove
``.work/``; append a log under ``logs/``. See docs/reliability.md for the guarantees.
"""

from __future__ import annotations

import json
import shutil
import time
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from tqdm import tqdm

import synthaudio
from synthaudio.augment.config import AugmentConfig
from synthaudio.augment.noise import NoiseFolder
from synthaudio.augment.rirbank import RirBank
from synthaudio.config import CorpusConfig, load_corpus_config
from synthaudio.corpus.environment import (
    EnvironmentResources,
    check_environment_paths,
    prepare_environment,
)
from synthaudio.corpus.plan import CorpusPlan, UtteranceSpec, plan_corpus
from synthaudio.corpus.quality import QualityGate
from synthaudio.corpus.render import Renderer
from synthaudio.errors import ConfigError, SynthaudioError
from synthaudio.executors import check_executor, run_tasks
from synthaudio.fileio import (
    is_temp_name,
    remove_temp_files,
    write_error,
    write_lines_atomic,
    write_text_atomic,
)
from synthaudio.manifests.export import export_corpus
from synthaudio.splits import SPLITS
from synthaudio.tts.engines import engine_versions
from synthaudio.tts.espeak import EspeakEngine
from synthaudio.workers import os_error, portable_error

WORK_DIR = ".work"
# What generate writes under OUT (removed by --overwrite; nothing else is touched), in the
# order --overwrite removes them: the files that point at audio go first, so that a run
# killed while removing never leaves a manifest line pointing at a deleted file.
GENERATED = ("metadata.jsonl", "quality_dropped.jsonl", "corpus.yaml", "data", "manifests",
             "alignments", "shards", "eval", "report", WORK_DIR, "audio", "stems", "rirs", "logs")
# Utterances are rendered in fixed groups of consecutive indices, whatever -j is: a group is
# rendered in one TTS session and its records are committed together, so an interrupted
# group is rendered again from its start and the bytes never depend on where a run stopped.
GROUP_SIZE = 16


class TimedRun:
    """What a run's summary says about speed; needs ``audio_s`` and ``wall_s`` fields."""

    audio_s: float
    wall_s: float

    @property
    def real_time_factor(self) -> float:
        """Seconds of audio made per second of wall time in this run."""
        return self.audio_s / self.wall_s if self.wall_s > 0 else 0.0

    def timing_line(self) -> str:
        return f"wall time: {self.wall_s:.1f} s, real-time factor: {self.real_time_factor:.1f}x"

    def format(self) -> str:
        raise NotImplementedError

    def append_log(self, log: Path, jobs: int) -> None:
        """Append this summary, stamped with the time and ``jobs``, to ``log``."""
        log.parent.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        with log.open("a", encoding="utf-8") as f:
            f.write(f"[{stamp}] jobs={jobs}\n{self.format()}\n")


@dataclass
class GenerateSummary(TimedRun):
    out_dir: Path
    utterances: int
    hours: float
    speakers_per_split: dict[str, int]
    utterances_per_split: dict[str, int]
    rendered: int  # utterances rendered by this run (the rest were already complete)
    skipped_prompts: int
    wall_s: float
    audio_s: float = 0.0
    notes: list[str] = field(default_factory=list)

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
        "limit": limit,
        "render_group_size": GROUP_SIZE,  # the bytes depend on it: no resume across sizes
        "versions": {"synthaudio": synthaudio.__version__,
                     **engine_versions({s.engine for s in plan.speakers})},
        "prompts": {"count": len(prompts), "skipped": len(plan.skipped)},
    }
    digest = json.dumps([body, prompts], sort_keys=True)
    import hashlib

    body["fingerprint"] = hashlib.sha256(digest.encode()).hexdigest()[:16]
    return body


def _previous_fingerprint(out_dir: Path) -> str | None:
    """The fingerprint in OUT/corpus.yaml, or None when there is none (or it is unreadable)."""
    try:
        previous = yaml.safe_load((out_dir / "corpus.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    fingerprint = previous.get("fingerprint") if isinstance(previous, dict) else None
    return fingerprint if isinstance(fingerprint, str) else None


def _claim_out_dir(out_dir: Path, fingerprint: str, overwrite: bool, resume: bool = False,
                   ) -> bool:
    """Make sure OUT may be written; return True when it holds a run of the same config.

    Temporary files a killed run left are not content: an OUT holding only those is empty.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise SynthaudioError(f"{out_dir}: output path exists and is not a directory")
    previous = _previous_fingerprint(out_dir) if out_dir.is_dir() else None
    same = previous == fingerprint
    if resume and not same:
        if previous is None:
            raise SynthaudioError(f"{out_dir}: --resume: there is no earlier run here to "
                                  "resume (no corpus.yaml); leave out --resume to start one")
        raise SynthaudioError(
            f"{out_dir}: --resume: the run here was made from another config (fingerprint "
            f"{previous}, this config {fingerprint}); use --overwrite to replace it")
    try:
        content = out_dir.is_dir() and any(not is_temp_name(p.name) for p in out_dir.iterdir())
    except OSError as exc:
        raise SynthaudioError(f"{out_dir}: cannot read the output directory "
                              f"({exc.strerror or exc})") from None
    if content and not same:
        if not overwrite:
            raise SynthaudioError(
                f"{out_dir}: output directory is not empty and was not made from this config "
                "(use --overwrite to replace it)")
        for name in GENERATED:
            target = out_dir / name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        remove_temp_files(out_dir, GENERATED)
    except OSError as exc:
        raise SynthaudioError(f"{out_dir}: cannot create the output directory "
                              f"({exc.strerror or exc})") from None
    return same


# ---- worker side -------------------------------------------------------------------------

_WORKER: tuple[Renderer, Path] | None = None


def _init_worker(cfg_data: dict[str, Any], out_dir: str,
                 env: EnvironmentResources | None, gate: QualityGate | None = None,
                 config_dir: str | None = None) -> None:
    global _WORKER
    cfg = CorpusConfig.model_validate(cfg_data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # resampled measured RIRs: the parent notes them once
        augmenter = env.augmenter() if env is not None else None
    _WORKER = (Renderer(cfg, augmenter, gate,
                        None if config_dir is None else Path(config_dir)), Path(out_dir))


def _render_group(group: int, specs: Sequence[UtteranceSpec]) -> list[tuple[str, float]]:
    """Render one group and commit its records; errors leave as one-line SynthaudioErrors."""
    assert _WORKER is not None, "worker not initialized"
    renderer, out_dir = _WORKER
    lines, done = [], []
    try:
        with renderer.session(specs):
            for spec in specs:
                record = renderer.render(spec, out_dir)
                lines.append(json.dumps(record, ensure_ascii=False) + "\n")
                done.append((spec.utt_id, float(record.get("duration_s", 0.0))))
        write_text_atomic(group_path(out_dir, group), "".join(lines))
    except SynthaudioError as exc:
        raise portable_error(exc) from None
    except OSError as exc:
        raise os_error(exc) from None
    return done


def _render_group_item(item: tuple[int, Sequence[UtteranceSpec]]) -> list[tuple[str, float]]:
    return _render_group(*item)


def group_path(out_dir: Path, group: int) -> Path:
    return out_dir / WORK_DIR / "records" / f"group-{group:07d}.jsonl"


def _groups(n: int) -> Iterator[tuple[int, range]]:
    for g in range(-(-n // GROUP_SIZE)):
        yield g, range(g * GROUP_SIZE, min((g + 1) * GROUP_SIZE, n))


# ---- orchestration -----------------------------------------------------------------------


def _render_all(cfg: CorpusConfig, out_dir: Path, plan: CorpusPlan, pending: list[int],
                jobs: int, env: EnvironmentResources | None, gate: QualityGate | None,
                progress: bool, executor: str = "local", ray_address: str | None = None,
                config_dir: Path | None = None) -> float:
    """Render the pending groups; return the seconds of audio made."""
    audio_s = 0.0
    tqdm.monitor_interval = 0
    total = sum(len(r) for g, r in _groups(len(plan.utterances)) if g in set(pending))
    bar = tqdm(total=total, unit="utt", disable=not progress, dynamic_ncols=True,
               desc="generate")
    start = time.perf_counter()

    def advance(done: list[tuple[str, float]]) -> None:
        nonlocal audio_s
        audio_s += sum(d for _, d in done)
        bar.update(len(done))
        elapsed = time.perf_counter() - start
        bar.set_postfix(rtf=f"{audio_s / elapsed:.0f}x" if elapsed > 0 else "-")

    n = len(plan.utterances)

    def specs(group: int) -> list[UtteranceSpec]:
        return [plan.utterances[i] for i in range(group * GROUP_SIZE,
                                                  min((group + 1) * GROUP_SIZE, n))]

    init_args = (cfg.model_dump(mode="json"), str(out_dir), env, gate,
                 None if config_dir is None else str(config_dir))
    try:
        run_tasks(_render_group_item, ((g, specs(g)) for g in pending), advance, jobs=jobs,
                  init=_init_worker, init_args=init_args, executor=executor,
                  ray_address=ray_address)
        return audio_s
    finally:
        bar.close()


def _group_complete(out_dir: Path, group: int, n: int) -> bool:
    """True when the group's records are committed (one per utterance of the group) and every
    audio file they name exists."""
    try:
        with group_path(out_dir, group).open(encoding="utf-8") as f:
            count = 0
            for line in f:
                record = json.loads(line)
                count += 1
                if "dropped" not in record and not (out_dir / record["audio"]).is_file():
                    return False
        return count == min((group + 1) * GROUP_SIZE, n) - group * GROUP_SIZE
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
        return False


def _previous_lines(out_dir: Path) -> Iterator[tuple[int, str]]:
    """(utterance index, line) of a finished run's metadata.jsonl, in order, streamed.

    Only used when a run of the same config finished and its work folder is gone; lines
    whose audio is missing are not yielded, so their groups are rendered again."""
    path = out_dir / "metadata.jsonl"
    if not path.is_file() or (out_dir / WORK_DIR).exists():
        return
    with path.open(encoding="utf-8") as f:
        for line in f:
            try:
                record = json.loads(line)
                if (out_dir / record["audio"]).is_file():
                    yield int(str(record["id"]).rsplit("-", 1)[1]), line
            except (json.JSONDecodeError, KeyError, TypeError, ValueError, IndexError):
                continue


def _adopt_finished_run(out_dir: Path, n: int) -> None:
    """Turn a finished run's metadata into committed groups (so resume has one source)."""
    previous = _previous_lines(out_dir)
    by_group: dict[int, list[str]] = {}
    current = -1
    for index, line in previous:
        g = index // GROUP_SIZE
        if g != current and current in by_group:
            _commit_adopted(out_dir, current, by_group.pop(current), n)
        current = g
        by_group.setdefault(g, []).append(line)
    for g, lines in by_group.items():
        _commit_adopted(out_dir, g, lines, n)


def _commit_adopted(out_dir: Path, group: int, lines: list[str], n: int) -> None:
    size = min((group + 1) * GROUP_SIZE, n) - group * GROUP_SIZE
    if len(lines) == size:  # a group with a dropped utterance is rendered again
        write_text_atomic(group_path(out_dir, group), "".join(lines))


@dataclass
class _MergeStats:
    utterances: int = 0
    dropped: int = 0
    audio_s: float = 0.0
    speakers: dict[str, set[str]] = field(default_factory=lambda: {s: set() for s in SPLITS})
    per_split: Counter[str] = field(default_factory=Counter)


def _merge_records(out_dir: Path, n: int) -> _MergeStats:
    """Stream the committed groups, in id order, into metadata.jsonl; the dropped
    utterances go to quality_dropped.jsonl."""
    stats = _MergeStats()
    dropped: list[str] = []

    def kept_lines() -> Iterator[str]:
        for g, _ in _groups(n):
            with group_path(out_dir, g).open(encoding="utf-8") as f:
                for line in f:
                    record = json.loads(line)
                    if "dropped" in record:
                        dropped.append(line)
                        continue
                    stats.utterances += 1
                    stats.audio_s += float(record["duration_s"])
                    stats.speakers[record["split"]].add(record["speaker"])
                    stats.per_split[record["split"]] += 1
                    yield line

    write_lines_atomic(out_dir / "metadata.jsonl", kept_lines())
    stats.dropped = len(dropped)
    dropped_path = out_dir / "quality_dropped.jsonl"
    if dropped:
        write_text_atomic(dropped_path, "".join(dropped))
    else:
        dropped_path.unlink(missing_ok=True)
    return stats


def _check_environment_inputs(aug: AugmentConfig, sample_rate: int, base: Path) -> list[str]:
    """Open the noise folders and measured RIRs before OUT is touched (InputError naming the
    file when one is not usable audio); return notes on what will be done to fit them."""
    check_environment_paths(aug, base)

    def resolve(path: str) -> Path:
        p = Path(path)
        return p if p.is_absolute() else base / p

    notes = []
    noise = aug.noise
    if noise.probability > 0 and noise.kinds.get("folder", 0.0) > 0:
        for d in noise.noise_dirs:
            folder = NoiseFolder(resolve(d))
            other = [f for f in folder.files if f.sample_rate != sample_rate]
            if other:
                notes.append(f"note: noise: {len(other)} of {len(folder)} file(s) in "
                             f"{folder.root} are not at {sample_rate} Hz and are resampled "
                             f"when read (e.g. {other[0].path} at {other[0].sample_rate} Hz)")
            multi = [f for f in folder.files if f.channels > 1]
            if multi:
                notes.append(f"note: noise: {len(multi)} file(s) in {folder.root} have more "
                             f"than one channel and are averaged to mono (e.g. {multi[0].path}"
                             f", {multi[0].channels} channels)")
    room = aug.room
    if room.probability > 0 and room.measured_rirs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # said in the notes instead
            bank = RirBank.from_measured_folder(resolve(room.measured_rirs), sample_rate)
        resampled = [e for e in bank.entries if e.resampled_from is not None]
        if resampled:
            notes.append(f"note: room: {len(resampled)} of {len(bank)} measured RIR(s) in "
                         f"{bank.root} are resampled to {sample_rate} Hz (e.g. "
                         f"{resampled[0].path} from {resampled[0].resampled_from} Hz)")
        channels = sorted({e.num_channels for e in bank.entries})
        if channels != [1]:
            counts = ", ".join(str(k) for k in channels)
            notes.append(f"note: room: the measured RIRs in {bank.root} have {counts} "
                         "channel(s); an utterance reverberated with a K-channel RIR has K "
                         "channels")
    return notes


def _check_int(value: Any, name: str, minimum: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")


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
        limit: render only the first N utterances (>= 1).
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
    _check_int(jobs, "-j/--jobs", 1)
    if limit is not None:
        _check_int(limit, "--limit", 1)
    if seed is not None:
        _check_int(seed, "--seed")
    check_executor(executor)
    if resume and overwrite:
        raise ConfigError("--resume and --overwrite exclude each other: --resume finishes the "
                          "run in OUT, --overwrite replaces it")
    config_path, out_dir = Path(config_path), Path(out_dir)
    started = time.perf_counter()
    cfg = load_corpus_config(config_path)
    if seed is not None:
        cfg = CorpusConfig.model_validate({**cfg.model_dump(mode="json"), "seed": seed})
    notes: list[str] = []
    try:  # these name the key (or the file, when it is another one): add the config file
        engine = EspeakEngine()
        engine.check_voices(cfg.speakers.voices,
                            [None if v == "none" else v for v in cfg.speakers.variants])
        if cfg.augment is not None:
            notes = _check_environment_inputs(cfg.augment, cfg.audio.sample_rate,
                                              config_path.parent)
        plan = plan_corpus(cfg, config_path.parent, limit)
    except SynthaudioError as exc:
        if str(exc).startswith(("speakers.", "augment.", "template ")):
            raise ConfigError(f"{config_path}: {exc}") from None
        raise
    resolved = resolved_config(cfg, plan, limit)
    same_config = _claim_out_dir(out_dir, resolved["fingerprint"], overwrite, resume)
    try:
        return _generate_into(cfg, config_path, out_dir, plan, resolved, same_config, jobs,
                              progress, notes, started, executor, ray_address)
    except OSError as exc:  # anything a helper did not already name
        raise write_error(exc.filename if exc.filename is not None else out_dir, exc) from exc


def _generate_into(cfg: CorpusConfig, config_path: Path, out_dir: Path, plan: CorpusPlan,
                   resolved: dict[str, Any], same_config: bool, jobs: int, progress: bool,
                   notes: list[str], started: float, executor: str = "local",
                   ray_address: str | None = None) -> GenerateSummary:
    """Everything after OUT is claimed: each step is atomic or resumable."""
    write_text_atomic(out_dir / "corpus.yaml",
                      yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True))
    env = None
    if cfg.augment is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # resampled measured RIRs: said in the notes
            env = prepare_environment(
                cfg.augment, cfg.audio.sample_rate, cfg.seed, out_dir, config_path.parent,
                plan, jobs,
                synthesize_babble=Renderer(cfg, config_dir=config_path.parent).clean_audio,
            )
    n = len(plan.utterances)
    if same_config:
        _adopt_finished_run(out_dir, n)
    pending = [g for g, _ in _groups(n) if not _group_complete(out_dir, g, n)]
    done_groups = -(-n // GROUP_SIZE) - len(pending)
    if done_groups:
        notes.append(f"resumed: {done_groups} of {-(-n // GROUP_SIZE)} groups of "
                     f"{GROUP_SIZE} utterances were already complete")
    gate = None
    if cfg.quality is not None:
        gate = QualityGate.build(cfg.quality, [p.text for p in plan.prompts],
                                 out_dir / WORK_DIR / "quality-lm")
    audio_s = _render_all(cfg, out_dir, plan, pending, jobs, env, gate, progress, executor,
                          ray_address, config_path.parent)
    stats = _merge_records(out_dir, n)
    export_corpus(out_dir, cfg.exports, shard_size=cfg.shard_size, jobs=jobs, executor=executor,
                  ray_address=ray_address)
    shutil.rmtree(out_dir / WORK_DIR, ignore_errors=True)
    if stats.dropped:
        notes.append(f"quality gate: {stats.dropped} utterances dropped "
                     "(reasons in quality_dropped.jsonl)")
    summary = GenerateSummary(
        out_dir=out_dir,
        utterances=stats.utterances,
        hours=stats.audio_s / 3600,
        speakers_per_split={s: len(v) for s, v in stats.speakers.items()},
        utterances_per_split=dict(stats.per_split),
        rendered=sum(len(r) for g, r in _groups(n) if g in set(pending)),
        skipped_prompts=len(plan.skipped),
        wall_s=time.perf_counter() - started,
        audio_s=audio_s,
        notes=notes,
    )
    summary.append_log(out_dir / "logs" / "generate.log", jobs)
    return summary

"""The run engine: one way to turn a checked plan into a finished corpus folder OUT.

``generate`` (text -> TTS -> environment) and ``augment`` (a real Kaldi dir -> environment)
are two pipelines on this engine, and later ones (sessions, keywords) plug in the same way.
A pipeline is a :class:`Pipeline`: a plan of ``num_items`` items cut into fixed groups of
``group_size`` consecutive items, a task that renders one group into metadata records (and
writes their audio), and the resolved config that names the run. Everything the user gave
is checked before the engine is called; from then on the engine does, in order:

1. **claim OUT** (:func:`claim_out_dir`, under OUT's lock): refuse a non-empty OUT made
   from another config unless ``overwrite`` (then only a synthaudio corpus, which is
   replaced by one built beside it in ``OUT/.synthaudio-new`` and swapped in when
   complete), an OUT holding the run's inputs where it writes, and links inside OUT
   (:mod:`synthaudio.run.outdir`); sweep temporary files a killed run left;
2. write ``OUT/corpus.yaml``: the resolved config and its :func:`fingerprint`;
3. ``pipeline.prepare(out_dir, jobs)``: shared resources (the RIR bank, a babble pool, a
   quality gate), returning the arguments of the per-worker ``init``;
4. **adopt a finished run** of the same config: its ``metadata.jsonl`` lines become
   committed work records again (so resume has one source);
5. **render** the groups whose work record is missing or incomplete, through
   :func:`synthaudio.run.executors.run_tasks` (in this process, a process pool or Ray): each
   group's records are committed together as ``.work/records/group-NNNNNNN.jsonl``, after
   its audio, so a killed run re-renders only unfinished groups and the bytes never depend on
   where it stopped, on ``-j`` or on the executor;
6. **merge**, streamed: the work records, group by group in ``pipeline.merge_order()``, into
   ``metadata.jsonl`` (records marked ``"dropped"`` go to ``quality_dropped.jsonl``);
7. **finish**: the exports, then remove ``.work/``, then append the run's summary (the
   pipeline's ``summarize(stats)``) to ``OUT/logs/<name>.log``.

Memory does not grow with the corpus here: groups are handed out lazily, records are
streamed from disk, and only counts are kept (a pipeline's ``observe`` sees every record).

Adding a pipeline: write its input checks, its plan (what item ``i`` is, its id), a
module-level ``init(*args) -> state`` and ``render_group(state, payload) -> list[record]``,
and a :class:`Pipeline` that names them; then call :func:`run_pipeline` with a function
that turns :class:`RunStats` into its :class:`RunSummary`. See
docs/architecture.md ("The run engine").

(A little over 400 lines on purpose: the steps above are one unit a reader follows top to
bottom; each part is short and only the engine uses them.)
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import yaml
from tqdm import tqdm

from synthaudio.errors import ConfigError, SynthaudioError
from synthaudio.io.fileio import (
    check_no_symlinks,
    is_temp_name,
    remove_temp_files,
    write_error,
    write_lines_atomic,
    write_text_atomic,
)
from synthaudio.run.executors import check_executor, run_tasks
from synthaudio.run.outdir import (
    BOOKKEEPING,
    STAGING_NAME,
    WRITTEN_NAME,
    check_inputs_outside,
    claim_user_files,
    out_lock,
    record_written,
    remove_old_corpus,
    swap_in,
    written_entries,
)
from synthaudio.splits import SPLITS

WORK_DIR = ".work"
CONFIG_NAME = "corpus.yaml"
METADATA_NAME = "metadata.jsonl"
DROPPED_NAME = "quality_dropped.jsonl"
# What a run (and export, evaluate, report) writes under OUT: what --overwrite replaces once
# the new corpus is complete (nothing else is touched; see run/outdir.py). A pipeline adds
# its own (PipelineEntry.outputs): run_outputs().
OUTPUTS = (METADATA_NAME, DROPPED_NAME, CONFIG_NAME, "data", "manifests", "alignments",
           "shards", "eval", "report", WORK_DIR, "audio", "stems", "rirs", "logs")
TASKS_PER_JOB = 4  # a pipeline with small groups batches them: this many tasks per worker

Record = dict[str, Any]


def run_outputs() -> tuple[str, ...]:
    """:data:`OUTPUTS` and what the registered pipelines write besides."""
    from synthaudio.run.pipelines import pipeline_outputs

    return OUTPUTS + tuple(n for n in pipeline_outputs() if n not in OUTPUTS)


def fingerprint(*parts: Any) -> str:
    """16 hex digits of sha256 over the JSON of ``parts`` (keys sorted): equal resolved
    configs (and inputs) give equal fingerprints. One part is hashed as itself, several as a
    list."""
    data = parts[0] if len(parts) == 1 else list(parts)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


class Pipeline(Protocol):
    """What a pipeline gives the engine (see the module docstring)."""

    name: str  # "generate", "augment": the progress label and logs/<name>.log
    resolved: dict[str, Any]  # OUT/corpus.yaml, with its "fingerprint"
    num_items: int  # items of the plan (utterances, copies, sessions ...)
    group_size: int  # items per group: a group is rendered and committed as one
    max_groups_per_task: int  # >1 batches small groups into one task (fewer round trips)
    exports: Sequence[str]  # export formats run at the end
    shard_size: int  # WebDataset shard size

    @property
    def init(self) -> Callable[..., Any]:
        """Module-level: ``init(*prepare(...))`` -> the per-worker state."""
        ...

    @property
    def render_group(self) -> Callable[[Any, Any], list[Record]]:
        """Module-level: ``render_group(state, payload)`` -> the group's records, in item
        order, its audio already written (a record marked ``"dropped"`` has none)."""
        ...

    def prepare(self, out_dir: Path, jobs: int) -> tuple[Any, ...]:
        """Shared resources, after OUT is claimed; returns the arguments of ``init``."""
        ...

    def payload(self, group: int, items: range) -> Any:
        """What the task of ``group`` (items ``items``) needs, picklable."""
        ...

    def group_of(self, record: Record) -> int | None:
        """The group a finished run's metadata record belongs to (None: not of this plan)."""
        ...

    def merge_order(self) -> Iterable[int]:
        """Groups in the order their records go into metadata.jsonl (sorted by id)."""
        ...

    # Optional: ``export(out_dir, jobs, executor, ray_address) -> formats written``, run
    # after the merge (synthaudio.pipelines.front.Exports: the export registry's formats).


@dataclass
class RunStats:
    """What the engine measured: the merge's counts and what this run rendered."""

    utterances: int = 0
    dropped: int = 0
    audio_s: float = 0.0  # in metadata.jsonl
    rendered: int = 0  # items rendered by this run (the rest were already complete)
    rendered_audio_s: float = 0.0  # seconds of audio this run made
    groups: int = 0
    resumed_groups: int = 0  # groups already complete when the run started
    speakers: dict[str, set[str]] = field(default_factory=lambda: {s: set() for s in SPLITS})
    per_split: Counter[str] = field(default_factory=Counter)
    exported: tuple[str, ...] = ()


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


@dataclass(kw_only=True)
class RunSummary(TimedRun):
    """What every pipeline's summary holds; a pipeline adds its fields and ``format``."""

    out_dir: Path
    utterances: int  # in metadata.jsonl
    hours: float  # of audio in metadata.jsonl
    rendered: int  # items rendered by this run (the rest were already complete)
    wall_s: float
    audio_s: float = 0.0  # of audio made by this run
    notes: list[str] = field(default_factory=list)


# ---- OUT --------------------------------------------------------------------------------


def previous_fingerprint(out_dir: Path) -> str | None:
    """The fingerprint in OUT/corpus.yaml, or None when there is none (or it is unreadable)."""
    try:
        previous = yaml.safe_load((out_dir / CONFIG_NAME).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    value = previous.get("fingerprint") if isinstance(previous, dict) else None
    return value if isinstance(value, str) else None


def claim_out_dir(out_dir: Path, run_fingerprint: str, overwrite: bool, resume: bool = False,
                  inputs: Sequence[Path] = ()) -> bool:
    """Make sure OUT may be written; return True when it holds a run of the same config.

    Temporary files a killed run left, and the engine's bookkeeping
    (:data:`~synthaudio.run.outdir.BOOKKEEPING`), are not content: an OUT holding only
    those is empty. Nothing is removed here: ``--overwrite`` builds beside the old corpus
    (:func:`run_pipeline`).

    Raises:
        SynthaudioError: OUT holds something else and ``overwrite`` is not given; or it is
            given and OUT is not a synthaudio output, or holds one of the run's ``inputs``
            where the run writes.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise SynthaudioError(f"{out_dir}: output path exists and is not a directory")
    previous = previous_fingerprint(out_dir) if out_dir.is_dir() else None
    same = previous == run_fingerprint
    if resume and not same:
        if previous is None:
            raise SynthaudioError(f"{out_dir}: --resume: there is no earlier run here to "
                                  "resume (no corpus.yaml); leave out --resume to start one")
        raise SynthaudioError(
            f"{out_dir}: --resume: the run here was made from another config (fingerprint "
            f"{previous}, this config {run_fingerprint}); use --overwrite to replace it")
    try:
        content = sorted(p.name for p in out_dir.iterdir()
                         if not is_temp_name(p.name) and p.name not in BOOKKEEPING
                         ) if out_dir.is_dir() else []
    except OSError as exc:
        raise SynthaudioError(f"{out_dir}: cannot read the output directory "
                              f"({exc.strerror or exc})") from None
    check_inputs_outside(out_dir, run_outputs(), inputs)
    if content and not same:
        if not overwrite:
            raise SynthaudioError(
                f"{out_dir}: output directory is not empty and was not made from this config "
                "(use --overwrite to replace it)")
        if previous is None:
            shown = ", ".join(content[:3]) + (", ..." if len(content) > 3 else "")
            raise SynthaudioError(
                f"{out_dir}: --overwrite only replaces a corpus synthaudio made, and this "
                f"folder is not one (no corpus.yaml with a fingerprint; it holds {shown}): "
                "choose a new or empty folder")
    return same


def _claim_build_dir(out_dir: Path, run_fingerprint: str, overwrite: bool, resume: bool,
                     inputs: Sequence[Path]) -> tuple[Path, bool]:
    """Where this run builds (OUT, or beside the corpus it replaces) and whether that
    folder holds a run of the same config (to resume)."""
    same = claim_out_dir(out_dir, run_fingerprint, overwrite, resume, inputs)
    content = any(p.name not in BOOKKEEPING and not is_temp_name(p.name)
                  for p in out_dir.iterdir())
    build_dir = out_dir / STAGING_NAME if content and not same else out_dir
    staging = out_dir / STAGING_NAME
    if build_dir == out_dir or previous_fingerprint(staging) != run_fingerprint:
        shutil.rmtree(staging, ignore_errors=True)  # an unfinished build of another config
    try:
        build_dir.mkdir(parents=True, exist_ok=True)
        # a killed run's temporary files: of its outputs, and of the record of what it
        # wrote (rewritten as the run goes)
        remove_temp_files(build_dir, (*run_outputs(), WRITTEN_NAME))
        remove_temp_files(out_dir, (WRITTEN_NAME,))
    except OSError as exc:
        raise SynthaudioError(f"{build_dir}: cannot create the output directory "
                              f"({exc.strerror or exc})") from None
    check_no_symlinks(build_dir, run_outputs())
    return build_dir, previous_fingerprint(build_dir) == run_fingerprint


# ---- work records -----------------------------------------------------------------------


def group_path(out_dir: Path, group: int) -> Path:
    """The work record of ``group``: its records, one JSON line each, committed together."""
    return out_dir / WORK_DIR / "records" / f"group-{group:07d}.jsonl"


def group_items(group: int, group_size: int, num_items: int) -> range:
    return range(group * group_size, min((group + 1) * group_size, num_items))


def num_groups(group_size: int, num_items: int) -> int:
    return -(-num_items // group_size)


def plan_groups(pipeline: Pipeline) -> Sequence[int]:
    """The groups of ``pipeline``'s plan: ``0 .. num_groups - 1``, unless the pipeline
    numbers them itself (optional ``groups()`` and ``items_of(group)``: a ``--limit`` keeps
    some items of the full plan's groups, under their numbers, so that a later run without
    it finds them)."""
    groups = getattr(pipeline, "groups", None)
    return groups() if groups is not None else range(num_groups(pipeline.group_size,
                                                                pipeline.num_items))


def plan_items(pipeline: Pipeline, group: int) -> range:
    """The items of ``group`` (positions in the plan, consecutive)."""
    items_of = getattr(pipeline, "items_of", None)
    if items_of is not None:
        return items_of(group)  # type: ignore[no-any-return]
    return group_items(group, pipeline.group_size, pipeline.num_items)


def record_line(record: Record) -> str:
    """A record as a work-record line (the form metadata.jsonl keeps)."""
    return json.dumps(record, ensure_ascii=False) + "\n"


def group_complete(out_dir: Path, group: int, size: int) -> bool:
    """True when the group's records are committed (``size`` of them) and every audio file
    they name exists."""
    try:
        with group_path(out_dir, group).open(encoding="utf-8") as f:
            count = 0
            for line in f:
                record = json.loads(line)
                count += 1
                if "dropped" not in record and not (out_dir / record["audio"]).is_file():
                    return False
        return count == size
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
        return False


def adopt_finished_run(out_dir: Path, pipeline: Pipeline) -> None:
    """Turn a finished run's metadata.jsonl and quality_dropped.jsonl into committed groups
    (streamed).

    Only when the work folder is gone (the run finished); lines whose audio is missing are
    left out, so their groups are rendered again. A dropped utterance's record (in
    quality_dropped.jsonl, no audio) counts for its group, so a finished corpus with drops
    is not rendered again; its place in the group file does not matter (the merge writes
    metadata.jsonl from the kept records and quality_dropped.jsonl from the dropped ones,
    each in group order)."""
    path = out_dir / METADATA_NAME
    if not path.is_file() or (out_dir / WORK_DIR).exists():
        return
    partial: dict[int, list[str]] = {}
    dropped_path = out_dir / DROPPED_NAME
    for source in (path, dropped_path):
        if not source.is_file():
            continue
        with source.open(encoding="utf-8") as f:
            for line in f:
                try:
                    record = json.loads(line)
                    group = pipeline.group_of(record)
                    if group is None or ("dropped" not in record
                                         and not (out_dir / record["audio"]).is_file()):
                        continue
                except (json.JSONDecodeError, KeyError, TypeError, ValueError, IndexError):
                    continue
                lines = partial.setdefault(group, [])
                lines.append(line)
                if len(lines) == len(plan_items(pipeline, group)):
                    write_text_atomic(group_path(out_dir, group), "".join(partial.pop(group)))


# ---- the task ---------------------------------------------------------------------------


def _init_engine(out_dir: str, render: Callable[[Any, Any], list[Record]],
                 init: Callable[..., Any], init_args: tuple[Any, ...],
                 ) -> tuple[Path, Callable[[Any, Any], list[Record]], Any]:
    return Path(out_dir), render, init(*init_args)


def _render_groups(state: tuple[Path, Callable[[Any, Any], list[Record]], Any],
                   batch: Sequence[tuple[int, Any]]) -> list[tuple[int, float]]:
    """Render each (group, payload) of ``batch`` and commit its records (after its audio);
    return (items, seconds of audio) per group."""
    out_dir, render, pipeline_state = state
    done = []
    for group, payload in batch:
        records = render(pipeline_state, payload)
        write_text_atomic(group_path(out_dir, group), "".join(record_line(r) for r in records))
        done.append((len(records), sum(float(r.get("duration_s", 0.0)) for r in records)))
    return done


def _render_pending(pipeline: Pipeline, out_dir: Path, pending: list[int], jobs: int,
                    init_args: tuple[Any, ...], progress: bool, executor: str,
                    ray_address: str | None, stats: RunStats) -> None:
    tqdm.monitor_interval = 0  # no monitor thread: the local pool forks
    bar = tqdm(total=sum(len(plan_items(pipeline, g)) for g in pending), unit="utt",
               disable=not progress, dynamic_ncols=True, desc=pipeline.name)
    start = time.perf_counter()

    def advance(done: list[tuple[int, float]]) -> None:
        for items, audio_s in done:
            stats.rendered += items
            stats.rendered_audio_s += audio_s
            bar.update(items)
        elapsed = time.perf_counter() - start
        bar.set_postfix(rtf=f"{stats.rendered_audio_s / elapsed:.0f}x" if elapsed > 0 else "-")

    per_task = 1 if jobs <= 1 else max(1, min(pipeline.max_groups_per_task,
                                              len(pending) // (jobs * TASKS_PER_JOB) or 1))

    def batches() -> Iterator[list[tuple[int, Any]]]:
        for i in range(0, len(pending), per_task):
            yield [(g, pipeline.payload(g, plan_items(pipeline, g)))
                   for g in pending[i:i + per_task]]

    try:
        run_tasks(_render_groups, batches(), advance, jobs=jobs, init=_init_engine,
                  init_args=(str(out_dir), pipeline.render_group, pipeline.init, init_args),
                  executor=executor, ray_address=ray_address)
    finally:
        bar.close()


# ---- merge and finish -------------------------------------------------------------------


def merge_records(out_dir: Path, groups: Iterable[int], stats: RunStats,
                  observe: Callable[[Record], None] | None = None) -> None:
    """Stream the committed groups, in the given order, into metadata.jsonl; the dropped
    utterances go to quality_dropped.jsonl (they are few: held until the end)."""
    dropped: list[str] = []

    def kept_lines() -> Iterator[str]:
        for g in groups:
            with group_path(out_dir, g).open(encoding="utf-8") as f:
                for line in f:
                    record = json.loads(line)
                    if "dropped" in record:
                        dropped.append(line)
                        continue
                    stats.utterances += 1
                    stats.audio_s += float(record["duration_s"])
                    stats.speakers.setdefault(record["split"], set()).add(record["speaker"])
                    stats.per_split[record["split"]] += 1
                    if observe is not None:
                        observe(record)
                    yield line

    write_lines_atomic(out_dir / METADATA_NAME, kept_lines())
    stats.dropped = len(dropped)
    dropped_path = out_dir / DROPPED_NAME
    if dropped:
        write_text_atomic(dropped_path, "".join(dropped))
    else:
        dropped_path.unlink(missing_ok=True)


S = TypeVar("S", bound=RunSummary)


def check_int(value: Any, name: str, minimum: int | None = None) -> None:
    """ConfigError naming ``name`` unless ``value`` is an int (not a bool) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")


def check_run_options(jobs: int, seed: int | None, executor: str, resume: bool,
                      overwrite: bool) -> None:
    """The checks of a run's options (generate, sessions, keywords), before anything is
    read or written: one-line ConfigErrors."""
    check_int(jobs, "-j/--jobs", 1)
    if seed is not None:
        check_int(seed, "--seed", 0)
    check_executor(executor)
    if resume and overwrite:
        raise ConfigError("--resume and --overwrite exclude each other: --resume finishes the "
                          "run in OUT, --overwrite replaces it")


def run_pipeline(pipeline: Pipeline, out_dir: Path, summarize: Callable[[RunStats], S], *,
                 jobs: int = 1, overwrite: bool = False, resume: bool = False,
                 progress: bool = True, executor: str = "local", ray_address: str | None = None,
                 observe: Callable[[Record], None] | None = None,
                 inputs: Sequence[Path] = ()) -> S:
    """Run ``pipeline`` into ``out_dir``: claim, render what is pending, merge, export, log.

    Call it once every input is checked: from here on files are written. ``summarize``
    turns the run's :class:`RunStats` into the pipeline's summary, which is appended to
    ``OUT/logs/<name>.log`` and returned. ``inputs`` are the files the run reads (its config,
    prompt files): refused when they lie where the run writes. OUT is locked for the run
    and never written through a link; ``overwrite`` builds the new corpus beside the old
    one and swaps it in when complete (:mod:`synthaudio.run.outdir`).

    Raises:
        SynthaudioError: OUT cannot be claimed; a task failed (its one-line error); a failed
            write names the path and keeps what is complete for a later run to resume.
    """
    out_dir = Path(out_dir)
    with out_lock(out_dir):
        build_dir, same_config = _claim_build_dir(out_dir, pipeline.resolved["fingerprint"],
                                                  overwrite, resume, inputs)
        left = remove_old_corpus(out_dir)  # what an earlier --overwrite could not remove
        notes = [left] if left is not None else []
        # the user's files: kept, never listed (decided by the first of unfinished runs)
        outputs = run_outputs()
        foreign = claim_user_files(out_dir, outputs, in_place=build_dir == out_dir)
        try:
            stats = _run_claimed(pipeline, build_dir, same_config, jobs, progress, executor,
                                 ray_address, observe, export=build_dir == out_dir)
            if build_dir != out_dir:  # the new corpus is complete: it replaces the old one
                notes += swap_in(out_dir, build_dir, written_entries(out_dir, outputs),
                                 CONFIG_NAME, keep=foreign)
                stats.exported = _export(pipeline, out_dir, jobs, executor, ray_address)
            summary = summarize(stats)
            if hasattr(summary, "notes"):
                summary.notes.extend(notes)
            summary.append_log(out_dir / "logs" / f"{pipeline.name}.log", jobs)
            record_written(out_dir, outputs, foreign)
            return summary
        except OSError as exc:  # anything a helper did not already name
            raise write_error(exc.filename if exc.filename is not None else out_dir,
                              exc) from exc


def _export(pipeline: Pipeline, out_dir: Path, jobs: int, executor: str,
            ray_address: str | None) -> tuple[str, ...]:
    """The pipeline's exports (its optional ``export``; none without one)."""
    export = getattr(pipeline, "export", None)
    return () if export is None else tuple(export(out_dir, jobs, executor, ray_address))


def _run_claimed(pipeline: Pipeline, out_dir: Path, same_config: bool, jobs: int,
                 progress: bool, executor: str, ray_address: str | None,
                 observe: Callable[[Record], None] | None, export: bool = True) -> RunStats:
    """Everything after OUT is claimed: each step is atomic or resumable."""
    write_text_atomic(out_dir / CONFIG_NAME,
                      yaml.safe_dump(pipeline.resolved, sort_keys=False, allow_unicode=True))
    init_args = pipeline.prepare(out_dir, jobs)
    if same_config:
        adopt_finished_run(out_dir, pipeline)
    groups = plan_groups(pipeline)
    stats = RunStats(groups=len(groups))
    pending = [g for g in groups
               if not group_complete(out_dir, g, len(plan_items(pipeline, g)))]
    stats.resumed_groups = stats.groups - len(pending)
    _render_pending(pipeline, out_dir, pending, jobs, init_args, progress, executor,
                    ray_address, stats)
    merge_records(out_dir, pipeline.merge_order(), stats, observe)
    if export:
        stats.exported = _export(pipeline, out_dir, jobs, executor, ray_address)
    shutil.rmtree(out_dir / WORK_DIR, ignore_errors=True)
    return stats

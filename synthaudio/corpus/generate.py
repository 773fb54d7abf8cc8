"""``synthaudio generate``: a corpus config in, a finished corpus directory out.

Order of work: validate everything (config, prompts, voices) before touching OUT; claim OUT
(refuse a non-empty OUT made from another config unless ``overwrite``); write the resolved
``corpus.yaml``; render each pending utterance in worker processes (audio first, then its
record under ``.work/``, both atomically, so a killed run resumes where it stopped); merge
the records into ``metadata.jsonl``; derive the exports; write a log under ``logs/``.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from tqdm import tqdm

import synthaudio
from synthaudio.config import CorpusConfig, load_corpus_config
from synthaudio.corpus.environment import (
    EnvironmentResources,
    check_environment_paths,
    prepare_environment,
)
from synthaudio.corpus.plan import CorpusPlan, UtteranceSpec, plan_corpus
from synthaudio.corpus.render import Renderer
from synthaudio.errors import ConfigError, SynthaudioError
from synthaudio.fileio import write_text_atomic
from synthaudio.manifests.export import export_corpus
from synthaudio.splits import SPLITS
from synthaudio.tts.espeak import EspeakEngine

WORK_DIR = ".work"
# What generate writes under OUT (removed by --overwrite; nothing else is touched).
GENERATED = ("audio", "data", "manifests", "alignments", "rirs", "stems", "shards", "eval",
             "report", "logs", WORK_DIR, "metadata.jsonl", "corpus.yaml")


@dataclass
class GenerateSummary:
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

    @property
    def real_time_factor(self) -> float:
        """Seconds of audio made per second of wall time in this run."""
        return self.audio_s / self.wall_s if self.wall_s > 0 else 0.0

    def format(self) -> str:
        lines = [f"corpus: {self.out_dir}",
                 f"utterances: {self.utterances} ({self.hours:.3f} h), "
                 f"rendered now: {self.rendered}, prompts skipped: {self.skipped_prompts}"]
        for split in SPLITS:
            lines.append(f"  {split:<5} speakers: {self.speakers_per_split.get(split, 0):>4}  "
                         f"utterances: {self.utterances_per_split.get(split, 0):>6}")
        lines.append(f"wall time: {self.wall_s:.1f} s, real-time factor: "
                     f"{self.real_time_factor:.1f}x")
        lines.extend(self.notes)
        return "\n".join(lines)


def resolved_config(cfg: CorpusConfig, plan: CorpusPlan, limit: int | None) -> dict[str, Any]:
    """The fully resolved config, the engines' versions, and a fingerprint of both."""
    prompts = [[p.prompt.id, p.text] for p in plan.prompts]
    body: dict[str, Any] = {
        "config": cfg.model_dump(mode="json"),
        "limit": limit,
        "versions": {"synthaudio": synthaudio.__version__,
                     "espeak-ng": EspeakEngine().version()},
        "prompts": {"count": len(prompts), "skipped": len(plan.skipped)},
    }
    digest = json.dumps([body, prompts], sort_keys=True)
    import hashlib

    body["fingerprint"] = hashlib.sha256(digest.encode()).hexdigest()[:16]
    return body


def _claim_out_dir(out_dir: Path, fingerprint: str, overwrite: bool) -> bool:
    """Make sure OUT may be written; return True when it holds a run of the same config."""
    if out_dir.exists() and not out_dir.is_dir():
        raise SynthaudioError(f"{out_dir}: output path exists and is not a directory")
    same = False
    if out_dir.is_dir() and any(out_dir.iterdir()):
        try:
            previous = yaml.safe_load((out_dir / "corpus.yaml").read_text(encoding="utf-8"))
            same = isinstance(previous, dict) and previous.get("fingerprint") == fingerprint
        except (OSError, yaml.YAMLError):
            same = False
        if not same and not overwrite:
            raise SynthaudioError(
                f"{out_dir}: output directory is not empty and was not made from this config "
                "(use --overwrite to replace it)")
        if not same:
            for name in GENERATED:
                target = out_dir / name
                if target.is_dir():
                    shutil.rmtree(target)
                elif target.exists():
                    target.unlink()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / f".write-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise SynthaudioError(f"{out_dir}: output directory is not writable "
                              f"({exc.strerror or exc})") from None
    return same


# ---- worker side -------------------------------------------------------------------------

_WORKER: tuple[Renderer, Path] | None = None


def _init_worker(cfg_data: dict[str, Any], out_dir: str, env: EnvironmentResources | None,
                 ignore_sigint: bool) -> None:
    global _WORKER
    if ignore_sigint:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the pool
    cfg = CorpusConfig.model_validate(cfg_data)
    augmenter = env.augmenter() if env is not None else None
    _WORKER = (Renderer(cfg, augmenter), Path(out_dir))


def _render_chunk(specs: Sequence[UtteranceSpec]) -> list[tuple[str, float]]:
    assert _WORKER is not None, "worker not initialized"
    renderer, out_dir = _WORKER
    done = []
    for spec in specs:
        record = renderer.render(spec, out_dir)
        write_text_atomic(record_path(out_dir, spec.utt_id),
                          json.dumps(record, ensure_ascii=False) + "\n")
        done.append((spec.utt_id, float(record["duration_s"])))
    return done


def record_path(out_dir: Path, utt_id: str) -> Path:
    return out_dir / WORK_DIR / "records" / f"{utt_id}.json"


# ---- orchestration -----------------------------------------------------------------------


def _render_all(cfg: CorpusConfig, out_dir: Path, pending: list[UtteranceSpec], jobs: int,
                env: EnvironmentResources | None, progress: bool) -> float:
    """Render the pending utterances; return the seconds of audio made."""
    audio_s = 0.0
    tqdm.monitor_interval = 0
    bar = tqdm(total=len(pending), unit="utt", disable=not progress, dynamic_ncols=True,
               desc="generate")
    start = time.perf_counter()

    def advance(done: list[tuple[str, float]]) -> None:
        nonlocal audio_s
        audio_s += sum(d for _, d in done)
        bar.update(len(done))
        elapsed = time.perf_counter() - start
        bar.set_postfix(rtf=f"{audio_s / elapsed:.0f}x" if elapsed > 0 else "-")

    try:
        if jobs <= 1:
            _init_worker(cfg.model_dump(mode="json"), str(out_dir), env, ignore_sigint=False)
            for spec in pending:
                advance(_render_chunk([spec]))
            return audio_s
        chunk = max(1, min(16, len(pending) // (jobs * 4) or 1))
        chunks = [pending[i:i + chunk] for i in range(0, len(pending), chunk)]
        # fork: workers start in milliseconds and need no importable __main__; safe here
        # because espeak-ng is loaded per utterance and no thread is running (tqdm's monitor
        # thread is off).
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        pool = ProcessPoolExecutor(
            max_workers=jobs, mp_context=ctx, initializer=_init_worker,
            initargs=(cfg.model_dump(mode="json"), str(out_dir), env, True),
        )
        try:
            queued = iter(chunks)
            running: set[Future[list[tuple[str, float]]]] = set()
            for c in queued:  # keep a bounded number of chunks in flight
                running.add(pool.submit(_render_chunk, c))
                if len(running) >= jobs * 3:
                    break
            while running:
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for fut in finished:
                    advance(fut.result())
                    nxt = next(queued, None)
                    if nxt is not None:
                        running.add(pool.submit(_render_chunk, nxt))
        except BaseException:
            for proc in list(getattr(pool, "_processes", {}).values()):
                proc.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return audio_s
    finally:
        bar.close()


def _finished_records(out_dir: Path) -> dict[str, str]:
    """Lines of an existing metadata.jsonl whose audio is present, keyed by id."""
    path = out_dir / "metadata.jsonl"
    if not path.exists():
        return {}
    done = {}
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if (out_dir / record["audio"]).exists():
            done[record["id"]] = line
    return done


def _merge_records(out_dir: Path, specs: Sequence[UtteranceSpec],
                   finished: dict[str, str]) -> list[dict[str, Any]]:
    """Write metadata.jsonl (sorted by id) from the per-utterance records."""
    lines, records = [], []
    for spec in sorted(specs, key=lambda s: s.utt_id):
        text = finished.get(spec.utt_id) or record_path(out_dir, spec.utt_id).read_text(
            encoding="utf-8")
        records.append(json.loads(text))
        lines.append(text)
    write_text_atomic(out_dir / "metadata.jsonl", "".join(lines))
    return records


def generate_corpus(
    config_path: Path,
    out_dir: Path,
    *,
    jobs: int = 1,
    limit: int | None = None,
    seed: int | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> GenerateSummary:
    """Generate the corpus described by ``config_path`` into ``out_dir``.

    Re-running the same config into the same OUT finishes an interrupted run and skips
    what is complete; the result is byte-identical to an uninterrupted run (logs aside).
    """
    if jobs < 1:
        raise ConfigError(f"-j/--jobs must be >= 1, got {jobs}")
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit must be >= 1, got {limit}")
    started = time.perf_counter()
    cfg = load_corpus_config(config_path)
    if seed is not None:
        cfg = CorpusConfig.model_validate({**cfg.model_dump(mode="json"), "seed": seed})
    engine = EspeakEngine()
    engine.check_voices(cfg.speakers.voices,
                        [None if v == "none" else v for v in cfg.speakers.variants])
    if cfg.augment is not None:
        check_environment_paths(cfg.augment, config_path.parent)
    plan = plan_corpus(cfg, config_path.parent, limit)
    resolved = resolved_config(cfg, plan, limit)
    same_config = _claim_out_dir(out_dir, resolved["fingerprint"], overwrite)
    write_text_atomic(out_dir / "corpus.yaml",
                      yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True))

    env = None
    if cfg.augment is not None:
        env = prepare_environment(
            cfg.augment, cfg.audio.sample_rate, cfg.seed, out_dir, config_path.parent, plan, jobs,
            synthesize_babble=Renderer(cfg).clean_audio,
        )
    finished = _finished_records(out_dir) if same_config else {}
    pending = [s for s in plan.utterances
               if s.utt_id not in finished and not record_path(out_dir, s.utt_id).exists()]
    audio_s = _render_all(cfg, out_dir, pending, jobs, env, progress)
    records = _merge_records(out_dir, plan.utterances, finished)
    export_corpus(out_dir, cfg.exports)
    shutil.rmtree(out_dir / WORK_DIR, ignore_errors=True)

    per_split_spk: dict[str, set[str]] = {s: set() for s in SPLITS}
    for r in records:
        per_split_spk[r["split"]].add(r["speaker"])
    summary = GenerateSummary(
        out_dir=out_dir,
        utterances=len(records),
        hours=sum(r["duration_s"] for r in records) / 3600,
        speakers_per_split={s: len(v) for s, v in per_split_spk.items()},
        utterances_per_split=dict(Counter(r["split"] for r in records)),
        rendered=len(pending),
        skipped_prompts=len(plan.skipped),
        wall_s=time.perf_counter() - started,
        audio_s=audio_s,
    )
    _append_log(out_dir, summary, jobs)
    return summary


def _append_log(out_dir: Path, summary: GenerateSummary, jobs: int) -> None:
    log = out_dir / "logs" / "generate.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    with log.open("a", encoding="utf-8") as f:
        f.write(f"[{stamp}] jobs={jobs}\n{summary.format()}\n")

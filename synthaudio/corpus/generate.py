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
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
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
from synthaudio.corpus.render import Renderer, check_path_component
from synthaudio.errors import ConfigError, SynthaudioError
from synthaudio.fileio import is_temp_name, remove_temp_files, write_error, write_text_atomic
from synthaudio.manifests.export import export_corpus
from synthaudio.splits import SPLITS
from synthaudio.tts.espeak import EspeakEngine
from synthaudio.workers import os_error, portable_error, worker_pool

WORK_DIR = ".work"
# What generate writes under OUT (removed by --overwrite; nothing else is touched), in the
# order --overwrite removes them: the files that point at audio go first, so that a run
# killed while removing never leaves a manifest line pointing at a deleted file.
GENERATED = ("metadata.jsonl", "corpus.yaml", "data", "manifests", "alignments", "shards",
             "eval", "report", WORK_DIR, "audio", "stems", "rirs", "logs")


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
                 env: EnvironmentResources | None) -> None:
    global _WORKER
    cfg = CorpusConfig.model_validate(cfg_data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # resampled measured RIRs: the parent notes them once
        augmenter = env.augmenter() if env is not None else None
    _WORKER = (Renderer(cfg, augmenter), Path(out_dir))


def _render_chunk(specs: Sequence[UtteranceSpec]) -> list[tuple[str, float]]:
    """Render and record each utterance; errors leave as one-line SynthaudioErrors."""
    assert _WORKER is not None, "worker not initialized"
    renderer, out_dir = _WORKER
    done = []
    try:
        for spec in specs:
            record = renderer.render(spec, out_dir)
            write_text_atomic(record_path(out_dir, spec.utt_id),
                              json.dumps(record, ensure_ascii=False) + "\n")
            done.append((spec.utt_id, float(record["duration_s"])))
    except SynthaudioError as exc:
        raise portable_error(exc) from None
    except OSError as exc:
        raise os_error(exc) from None
    return done


def record_path(out_dir: Path, utt_id: str) -> Path:
    return out_dir / WORK_DIR / "records" / f"{check_path_component(utt_id)}.json"


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
            _init_worker(cfg.model_dump(mode="json"), str(out_dir), env)
            for spec in pending:
                advance(_render_chunk([spec]))
            return audio_s
        chunk = max(1, min(16, len(pending) // (jobs * 4) or 1))
        chunks = [pending[i:i + chunk] for i in range(0, len(pending), chunk)]
        # fork where available: workers start in milliseconds and need no importable
        # __main__; safe because espeak-ng is loaded per utterance and no thread is running
        # (tqdm's monitor thread is off). The pool stops its workers on Ctrl-C or an error.
        with worker_pool(jobs, _init_worker,
                         (cfg.model_dump(mode="json"), str(out_dir), env)) as pool:
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
            if (out_dir / record["audio"]).is_file():
                done[str(record["id"])] = line
        except (json.JSONDecodeError, KeyError, TypeError):
            continue  # not a line this program wrote: the utterance is rendered again
    return done


def _record_complete(out_dir: Path, utt_id: str) -> bool:
    """True when the utterance's record under .work/ and the audio it names are present."""
    try:
        record = json.loads(record_path(out_dir, utt_id).read_text(encoding="utf-8"))
        return bool((out_dir / record["audio"]).is_file())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
        return False


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
                              progress, notes, started)
    except OSError as exc:  # anything a helper did not already name
        raise write_error(exc.filename if exc.filename is not None else out_dir, exc) from exc


def _generate_into(cfg: CorpusConfig, config_path: Path, out_dir: Path, plan: CorpusPlan,
                   resolved: dict[str, Any], same_config: bool, jobs: int, progress: bool,
                   notes: list[str], started: float) -> GenerateSummary:
    """Everything after OUT is claimed: each step is atomic or resumable."""
    write_text_atomic(out_dir / "corpus.yaml",
                      yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True))
    env = None
    if cfg.augment is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # resampled measured RIRs: said in the notes
            env = prepare_environment(
                cfg.augment, cfg.audio.sample_rate, cfg.seed, out_dir, config_path.parent,
                plan, jobs, synthesize_babble=Renderer(cfg).clean_audio,
            )
    finished = _finished_records(out_dir) if same_config else {}
    pending = [s for s in plan.utterances
               if s.utt_id not in finished and not _record_complete(out_dir, s.utt_id)]
    if len(pending) < len(plan.utterances):
        notes.append(f"resumed: {len(plan.utterances) - len(pending)} of "
                     f"{len(plan.utterances)} utterances were already complete")
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
        notes=notes,
    )
    _append_log(out_dir, summary, jobs)
    return summary


def _append_log(out_dir: Path, summary: GenerateSummary, jobs: int) -> None:
    log = out_dir / "logs" / "generate.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    with log.open("a", encoding="utf-8") as f:
        f.write(f"[{stamp}] jobs={jobs}\n{summary.format()}\n")

"""``synthaudio augment``: a real Kaldi data directory in, K augmented copies out as a corpus.

The real-speech counterpart of ``generate`` and of Kaldi's ``reverberate_data_dir.py``:
each utterance of the input is put through the Augmenter (room, noise, channel, speed) K
times, and the copies are written as a synthaudio corpus (``OUT/metadata.jsonl``, 16-bit
PCM audio, the RIR bank under ``OUT/rirs``, then the Kaldi/NeMo/lhotse/HF exports).

Ids: copy ``k`` of utterance ``<utt>`` of speaker ``<spk>`` is speaker ``rev<k>_<spk>`` and
utterance ``rev<k>_<utt>`` when ``<utt>`` starts with ``<spk>-`` (Kaldi's prefix rule),
else ``rev<k>_<spk>-<utt>``. The exports need ids of ``[A-Za-z0-9_]`` (plus the one ``-``
after the speaker), so any other character of an input id becomes ``_``; two ids that
become equal are refused. The original ids are kept in each record's ``source``.

Randomness: copy ``k`` of the utterance at position ``i`` (sorted input order) draws from
``np.random.default_rng([seed, STREAM_AUGMENT, k, i])`` (:mod:`synthaudio.streams`), so the
output does not depend on ``-j``.

This module is the augment pipeline's plan and task; the run (claim OUT, work records,
resume, merge, exports, log) is the run engine's, :mod:`synthaudio.run.engine`, as for
``generate``: read and check the input and the config, codecs and noise folders included
(nothing is written on bad input); then the engine claims OUT (a different config into a
non-empty OUT needs ``overwrite``), writes ``OUT/corpus.yaml``, builds the RIR bank
(:meth:`AugmentPipeline.prepare`), augments each pending copy in the workers (audio, then
its record under ``.work/``, both atomically, so a re-run skips what is complete), merges
``metadata.jsonl`` streamed, exports and logs under ``logs/``.

(A little over 400 lines: the augment pipeline's checks, plan and task, read top to
bottom; the engine is synthaudio.run.engine.)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr

import synthaudio
from synthaudio.augment.augmenter import Augmenter
from synthaudio.augment.channel import check_codec_support
from synthaudio.augment.environment import (
    EnvironmentResources,
    check_environment_inputs,
    check_environment_paths,
    prepare_environment,
)
from synthaudio.errors import ConfigError, InputError, SynthaudioError
from synthaudio.io.fileio import check_finite_audio, write_audio_atomic
from synthaudio.io.kaldi import KaldiDir, KaldiUtterance, read_kaldi_dir
from synthaudio.io.metadata import MetadataRecord
from synthaudio.pipelines import front
from synthaudio.pipelines.augment_dir.config import (
    AugmentDirConfig,
    load_augment_config,
)
from synthaudio.run.engine import (
    Record,
    RunStats,
    RunSummary,
    check_run_options,
    fingerprint,
    run_pipeline,
)
from synthaudio.streams import STREAM_AUGMENT, STREAMS_VERSION, item_rng

SPLIT = "train"  # every copy goes to this split
ID_PREFIX = "rev"  # copy k gets "rev<k>_" in front of its speaker and utterance ids
_UNSAFE_ID_CHARS = re.compile(r"[^A-Za-z0-9_]")


# ---- ids -------------------------------------------------------------------------------


copy_rng = item_rng(STREAM_AUGMENT)  # copy k of input i: [seed, STREAM_AUGMENT, k, i]


def copy_ids(speaker: str, utt_id: str, copy: int) -> tuple[str, str]:
    """(speaker id, utterance id) of copy ``copy`` (1-based), both ``[A-Za-z0-9_]`` plus
    the ``-`` between speaker and the rest of the utterance id."""
    spk = f"{ID_PREFIX}{copy}_{_UNSAFE_ID_CHARS.sub('_', speaker)}"
    rest = utt_id[len(speaker) + 1:] if utt_id.startswith(speaker + "-") else utt_id
    return spk, f"{spk}-{_UNSAFE_ID_CHARS.sub('_', rest) or '_'}"


def _check_id_collisions(kaldi: KaldiDir) -> None:
    """Two input ids (or speakers) must not become the same output id."""
    wav_scp = kaldi.path / "wav.scp"
    speakers: dict[str, tuple[str, int]] = {}
    utts: dict[str, tuple[str, int]] = {}
    for u in kaldi.utterances:
        spk, uid = copy_ids(u.speaker, u.utt_id, 1)
        other_spk, line = speakers.setdefault(spk, (u.speaker, u.wav_line))
        if other_spk != u.speaker:
            raise InputError(f"{wav_scp}:{u.wav_line}: speakers {u.speaker!r} and {other_spk!r}"
                             f" (line {line}) both become {spk!r} (ids may only hold "
                             "[A-Za-z0-9_]; other characters become '_')")
        other, line = utts.setdefault(uid, (u.utt_id, u.wav_line))
        if other != u.utt_id:
            raise InputError(f"{wav_scp}:{u.wav_line}: utterances {u.utt_id!r} and {other!r} "
                             f"(line {line}) both become {uid!r} (ids may only hold "
                             "[A-Za-z0-9_]; other characters become '_')")


# ---- summary ---------------------------------------------------------------------------


@dataclass(kw_only=True)
class AugmentSummary(RunSummary):
    input_dir: Path
    input_utterances: int
    copies: int
    sample_rate: int
    exports: tuple[str, ...]

    def format(self) -> str:
        lines = [f"corpus: {self.out_dir} (augmented from {self.input_dir})",
                 f"utterances: {self.utterances} ({self.input_utterances} input x "
                 f"{self.copies} copies, {self.hours:.3f} h), rendered now: {self.rendered}",
                 f"split: {SPLIT}, sample rate: {self.sample_rate} Hz, "
                 f"exports: {', '.join(self.exports)}",
                 self.timing_line()]
        lines.extend(self.notes)
        return "\n".join(lines)


# ---- the task (runs in the workers) ----------------------------------------------------


@dataclass(frozen=True)
class _Job:
    """What every worker needs (picklable)."""

    out_dir: str
    kaldi_dir: str
    utterances: tuple[KaldiUtterance, ...]
    seed: int
    sample_rate: int
    env: EnvironmentResources


def _init_worker(job: _Job) -> tuple[_Job, Augmenter]:
    """Per-worker state: the job and its augmenter (the RIR bank loaded once)."""
    return job, job.env.augmenter()


def _read_input(utt: KaldiUtterance, sample_rate: int, where: str) -> np.ndarray:
    """Channel 0 of the input utterance (its segment of the file) as float32 ``(n,)`` at
    ``sample_rate``."""
    try:
        audio, rate = sf.read(str(utt.audio), frames=utt.num_samples, start=utt.start_sample,
                              dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        detail = str(exc).replace("\n", " ")
        raise InputError(f"{where}: cannot read audio {utt.audio}: {detail}") from None
    x = audio[:, 0]
    if not np.all(np.isfinite(x)):
        raise InputError(f"{where}: audio {utt.audio} contains NaN or infinite samples")
    if rate != sample_rate:
        x = soxr.resample(x, rate, sample_rate, quality="HQ")
    if x.size == 0:
        raise InputError(f"{where}: audio {utt.audio} has no samples at {sample_rate} Hz")
    return np.ascontiguousarray(x, dtype=np.float32)


def augment_one(job: _Job, augmenter: Augmenter, copy: int, index: int) -> dict[str, Any]:
    """Augment copy ``copy`` of utterance ``index``; write its audio; return its record."""
    utt = job.utterances[index]
    out_dir = Path(job.out_dir)
    where = f"{Path(job.kaldi_dir) / 'wav.scp'}:{utt.wav_line}"
    x = _read_input(utt, job.sample_rate, where)
    try:
        result = augmenter(x, job.sample_rate, copy_rng(job.seed, copy, index))
    except ValueError as exc:  # e.g. digitally silent input: no SNR can be set
        raise InputError(f"{where}: {utt.utt_id}: cannot augment: {exc}") from None
    audio = result.audio  # never above full scale: see augmenter.fit_full_scale
    speaker, uid = copy_ids(utt.speaker, utt.utt_id, copy)
    rel = f"audio/{SPLIT}/{speaker}/{uid}.wav"
    num_samples = write_audio_atomic(out_dir / rel, audio, job.sample_rate)
    return MetadataRecord(
        id=uid,
        split=SPLIT,
        speaker=speaker,
        gender=utt.gender,
        lang=None,
        text=utt.text,
        raw_text=utt.text,
        prompt_id=utt.utt_id,  # copies of one input utterance share it
        audio=rel,
        duration_s=round(num_samples / job.sample_rate, 6),
        sample_rate=job.sample_rate,
        num_channels=1 if audio.ndim == 1 else int(audio.shape[0]),
        words=None,  # real speech: no word timings
        tts=None,
        augment={**result.params.to_dict(),
                 "measured": result.report.to_dict()},
        extra={"source": {
            "kaldi_dir": job.kaldi_dir,
            "utt_id": utt.utt_id,
            "speaker": utt.speaker,
            "copy": copy,
            "audio": str(utt.audio),
            "sample_rate": utt.sample_rate,
            "num_channels": utt.num_channels,
            "channel": 0,
            **({} if utt.recording is None else {  # a Kaldi segment of a longer recording
                "recording": utt.recording, "start_sample": utt.start_sample,
                "num_samples": utt.num_samples}),
        }},
    ).to_dict()


def _augment_group(state: tuple[_Job, Augmenter], item: tuple[int, int]) -> list[Record]:
    """The task: copy ``item[0]`` of input utterance ``item[1]``, as a group of one."""
    job, augmenter = state
    return [augment_one(job, augmenter, *item)]


# ---- orchestration ---------------------------------------------------------------------


def _corpus_rate(kaldi: KaldiDir, cfg: AugmentDirConfig, source: str) -> int:
    """The output rate: the config's ``sample_rate``, else the input's (which must agree)."""
    if cfg.sample_rate is not None:
        return cfg.sample_rate
    first = kaldi.utterances[0]
    for u in kaldi.utterances:
        if u.sample_rate != first.sample_rate:
            raise InputError(
                f"{kaldi.path / 'wav.scp'}:{u.wav_line}: {u.utt_id} is at {u.sample_rate} Hz, "
                f"{first.utt_id} (line {first.wav_line}) at {first.sample_rate} Hz; set "
                f"sample_rate in the {source} to resample all input to one rate")
    if not 8000 <= first.sample_rate <= 192000:
        raise InputError(f"{kaldi.path / 'wav.scp'}:{first.wav_line}: input at "
                         f"{first.sample_rate} Hz; set sample_rate (8000..192000) in the "
                         f"{source}")
    return first.sample_rate


def _input_digest(kaldi: KaldiDir) -> str:
    """A hash of what the input says and of its audio files' sizes."""
    h = hashlib.sha256()
    for u in kaldi.utterances:
        size = u.audio.stat().st_size
        h.update(json.dumps([u.utt_id, u.speaker, u.text, u.gender, str(u.audio), size,
                             u.sample_rate, u.num_channels, u.num_samples]
                            + ([u.start_sample] if u.start_sample else [])).encode())
    return h.hexdigest()[:16]


def resolved_config(cfg: AugmentDirConfig, kaldi: KaldiDir, kaldi_dir: str, copies: int,
                    seed: int, sample_rate: int) -> dict[str, Any]:
    """What ``OUT/corpus.yaml`` holds: the resolved config, the input, and a fingerprint."""
    body: dict[str, Any] = {
        "kind": "augment",
        "input": {"kaldi_dir": kaldi_dir, "utterances": len(kaldi),
                  "digest": _input_digest(kaldi)},
        "copies": copies,
        "seed": seed,
        "sample_rate": sample_rate,
        "split": SPLIT,
        "random_streams": STREAMS_VERSION,
        "stream_tag": STREAM_AUGMENT,  # [seed, k, i] before: the tag is part of the bytes
        "config": cfg.model_dump(mode="json"),
        "versions": {"synthaudio": synthaudio.__version__},
    }
    body["fingerprint"] = fingerprint(body)
    return body


class AugmentPipeline(front.Exports):
    """The augment plan on the run engine (:class:`synthaudio.run.engine.Pipeline`).

    Item ``j`` is copy ``j // N + 1`` of input utterance ``j % N`` (N inputs); each is a
    group of its own (copies are independent), batched up to 16 to a task."""

    name = "augment"
    group_size = 1
    max_groups_per_task = 16

    def __init__(self, cfg: AugmentDirConfig, kaldi: KaldiDir, kaldi_abs: str, copies: int,
                 seed: int, sample_rate: int, config_dir: Path,
                 resolved: dict[str, Any]) -> None:
        self.cfg, self.kaldi, self.kaldi_abs = cfg, kaldi, kaldi_abs
        self.seed, self.sample_rate, self.config_dir = seed, sample_rate, config_dir
        self.resolved = resolved
        self.num_items = copies * len(kaldi)
        self.exports: Sequence[str] = cfg.exports
        self.shard_size = cfg.shard_size
        self.init = _init_worker
        self.render_group = _augment_group
        self.ids = [copy_ids(self._utt(j).speaker, self._utt(j).utt_id, self._copy(j))[1]
                    for j in range(self.num_items)]
        self._group_of_id = {uid: j for j, uid in enumerate(self.ids)}

    def _copy(self, item: int) -> int:
        return item // len(self.kaldi) + 1

    def _utt(self, item: int) -> KaldiUtterance:
        return self.kaldi.utterances[item % len(self.kaldi)]

    def prepare(self, out_dir: Path, jobs: int) -> tuple[Any, ...]:
        env = prepare_environment(self.cfg.augment, self.sample_rate, self.seed, out_dir,
                                  self.config_dir, plan=None, jobs=jobs)
        return (_Job(str(out_dir), self.kaldi_abs, self.kaldi.utterances, self.seed,
                     self.sample_rate, env),)

    def payload(self, group: int, items: range) -> tuple[int, int]:
        return self._copy(group), group % len(self.kaldi)

    def group_of(self, record: Record) -> int | None:
        return self._group_of_id.get(record["id"])

    def merge_order(self) -> Iterable[int]:
        return sorted(range(self.num_items), key=self.ids.__getitem__)


def augment_kaldi_dir(
    kaldi_dir: Path,
    out_dir: Path,
    *,
    config_path: Path | None = None,
    copies: int = 1,
    jobs: int = 1,
    seed: int = 0,
    overwrite: bool = False,
    resume: bool = False,
    progress: bool = True,
    executor: str = "local",
    ray_address: str | None = None,
) -> AugmentSummary:
    """Write ``copies`` augmented copies of every utterance of ``kaldi_dir`` to ``out_dir``.

    Args:
        kaldi_dir: input Kaldi data directory (wav.scp, text, utt2spk; no segments).
        out_dir: output corpus folder.
        config_path: augment YAML (see :func:`parse_augment_config`); None: the defaults
            (:data:`DEFAULT_AUGMENT`, documented in ``corpora/augment/default.yaml``).
        copies: K >= 1 copies per utterance, ids prefixed ``rev1_`` .. ``revK_``.
        jobs: worker processes; the output is byte-identical for any number.
        seed: >= 0; copy k of the utterance at sorted position i draws from
            ``default_rng([seed, STREAM_AUGMENT, k, i])``.
        overwrite: replace a corpus made from another command in ``out_dir``.
        resume: insist on finishing an earlier run of the same input and config in
            ``out_dir`` (SynthaudioError when there is none); without it a re-run resumes
            too.
        progress: show a progress bar.
        executor: "local" (a process pool of ``jobs`` workers) or "ray" (tasks on the Ray
            cluster at ``ray_address``, or a local Ray instance with ``jobs`` CPUs); both
            write byte-identical files.

    Re-running the same command skips the copies that are complete.
    """
    started = time.perf_counter()
    if copies < 1:
        raise ConfigError(f"--copies must be >= 1, got {copies}")
    check_run_options(jobs, seed, executor, resume, overwrite)
    out_dir = Path(out_dir)
    cfg = load_augment_config(config_path)
    source = f"config {config_path}" if config_path is not None else "config (--config)"
    config_dir = config_path.parent if config_path is not None else Path.cwd()
    check_environment_paths(cfg.augment, config_dir)  # the config first, then the input
    check_codec_support(cfg.augment.channel)
    kaldi = read_kaldi_dir(Path(kaldi_dir))
    if os.path.realpath(out_dir) == os.path.realpath(kaldi.path):
        raise SynthaudioError(f"{out_dir}: the output folder must not be the input folder")
    _check_id_collisions(kaldi)
    sample_rate = _corpus_rate(kaldi, cfg, source)
    env_notes = check_environment_inputs(cfg.augment, sample_rate, config_dir)
    for utt in kaldi.utterances:  # before OUT is claimed: nothing is written for bad input
        check_finite_audio(Path(utt.audio), f"audio of {utt.utt_id}")
    kaldi_abs = os.path.abspath(kaldi.path)
    resolved = resolved_config(cfg, kaldi, kaldi_abs, copies, seed, sample_rate)
    pipeline = AugmentPipeline(cfg, kaldi, kaldi_abs, copies, seed, sample_rate, config_dir,
                               resolved)
    scaled = [0]

    def observe(record: Record) -> None:
        if record["augment"]["measured"].get("output_gain_db", 0.0) < 0:
            scaled[0] += 1

    def summarize(stats: RunStats) -> AugmentSummary:
        return AugmentSummary(
            out_dir=out_dir, input_dir=kaldi.path, input_utterances=len(kaldi), copies=copies,
            utterances=stats.utterances, hours=stats.audio_s / 3600, rendered=stats.rendered,
            sample_rate=sample_rate, exports=stats.exported,
            wall_s=time.perf_counter() - started, audio_s=stats.rendered_audio_s,
            notes=env_notes + _notes(kaldi, scaled[0], sample_rate))

    inputs = [Path(kaldi.path), *([config_path] if config_path is not None else [])]
    return run_pipeline(pipeline, out_dir, summarize, jobs=jobs, overwrite=overwrite,
                        resume=resume, progress=progress, executor=executor,
                        ray_address=ray_address, observe=observe, inputs=inputs)


def _notes(kaldi: KaldiDir, scaled: int, sample_rate: int) -> list[str]:
    notes = []
    multi = [u for u in kaldi.utterances if u.num_channels > 1]
    if multi:
        notes.append(f"note: {len(multi)} input file(s) have more than one channel "
                     f"(e.g. {multi[0].utt_id}: {multi[0].num_channels}); channel 0 was used")
    rates = Counter(u.sample_rate for u in kaldi.utterances if u.sample_rate != sample_rate)
    for rate, n in sorted(rates.items()):
        notes.append(f"note: {n} input file(s) resampled from {rate} Hz to {sample_rate} Hz")
    if scaled:
        notes.append(f"note: {scaled} output(s) scaled down to avoid clipping "
                     "(augment.measured.output_gain_db)")
    return notes

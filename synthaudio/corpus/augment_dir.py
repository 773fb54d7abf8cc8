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
``np.random.default_rng([seed, k, i])``, so the output does not depend on ``-j``.

Order of work, as in ``generate``: read and check the input and the config (nothing is
written on bad input); claim OUT (a different config into a non-empty OUT needs
``overwrite``); write ``OUT/corpus.yaml``; build the RIR bank; augment each pending copy
in worker processes (audio, then its record under ``.work/``, both atomically, so a re-run
skips what is complete); merge ``metadata.jsonl``; export; log under ``logs/``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr
import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator
from tqdm import tqdm

import synthaudio
from synthaudio.augment.augmenter import Augmenter
from synthaudio.augment.channel import check_codec_support
from synthaudio.augment.config import AugmentConfig
from synthaudio.config import _format_error, _yaml_line, load_yaml, read_config_text
from synthaudio.corpus.environment import (
    EnvironmentResources,
    check_environment_paths,
    prepare_environment,
)
from synthaudio.corpus.generate import WORK_DIR, TimedRun, _claim_out_dir
from synthaudio.errors import ConfigError, InputError, SynthaudioError
from synthaudio.executors import check_executor, run_tasks
from synthaudio.fileio import write_audio_atomic, write_text_atomic
from synthaudio.kaldi_input import KaldiDir, KaldiUtterance, read_kaldi_dir
from synthaudio.manifests.export import export_corpus
from synthaudio.workers import os_error, portable_error

SPLIT = "train"  # every copy goes to this split
ID_PREFIX = "rev"  # copy k gets "rev<k>_" in front of its speaker and utterance ids
DEFAULT_EXPORTS = ("kaldi", "nemo", "lhotse", "hf")  # no CTM: real speech has no word timings

# The augmentation used without --config; corpora/augment/default.yaml documents the same.
# Like reverberate_data_dir.py: most copies reverberant, most noisy, a few coloured or coded.
DEFAULT_AUGMENT: dict[str, Any] = {
    "room": {"probability": 0.8, "bank_size": 200, "tail_s": 0.25},
    "noise": {"probability": 0.8, "snr_db": [5.0, 25.0]},
    "channel": {
        "eq": {"probability": 0.3},
        "gain": {"probability": 0.3, "gain_db": [-6.0, 0.0]},
        "codec": {"probability": 0.1},
    },
}

_UNSAFE_ID_CHARS = re.compile(r"[^A-Za-z0-9_]")


class AugmentDirConfig(BaseModel):
    """An ``augment`` config file in its wrapped form (the bare form is just ``augment``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    augment: AugmentConfig = AugmentConfig.model_validate(DEFAULT_AUGMENT)
    sample_rate: StrictInt | None = Field(default=None, ge=8000, le=192000)  # None: the input's
    exports: tuple[str, ...] = DEFAULT_EXPORTS  # formats of synthaudio export, or "all"
    shard_size: StrictInt = Field(default=1000, ge=1)  # samples per WebDataset shard

    @field_validator("exports")
    @classmethod
    def _known_formats(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from synthaudio.manifests.formats import EXPORTERS  # export format registry hook

        unknown = [f for f in value if f != "all" and f not in EXPORTERS]
        if unknown:
            raise ValueError(f"unknown export format {unknown[0]!r}; valid formats: "
                             f"{', '.join(EXPORTERS.names())}, all")
        if not value:
            raise ValueError("give at least one export format")
        return value


_WRAPPED_KEYS = set(AugmentDirConfig.model_fields)


def parse_augment_config(text: str, source: str = "<config>") -> AugmentDirConfig:
    """Parse an augment config: ``{augment: ..., sample_rate: ..., exports: ...}`` or the
    bare ``augment`` mapping (``speed``/``room``/``noise``/``channel``).

    In the bare form, stages not given are off; in the wrapped form, a missing ``augment``
    key means the default augmentation. Raises ConfigError naming ``file:line`` and key.
    """
    data = load_yaml(text, source)
    if data is None:
        raise ConfigError(f"{source}: the augment config is empty (write 'augment: {{}}' for "
                          "no effects, or leave out --config for the defaults)")
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the augment config must be a YAML mapping, "
                          f"got {type(data).__name__}")
    wrapped = bool(_WRAPPED_KEYS & set(data))
    try:
        if wrapped:
            cfg = AugmentDirConfig.model_validate(data)
        else:
            cfg = AugmentDirConfig(augment=AugmentConfig.model_validate(data))
    except ValidationError as exc:
        raise ConfigError(_format_error(source, text, exc)) from None
    noise = cfg.augment.noise
    if noise.probability > 0 and noise.kinds.get("babble", 0.0) > 0:
        loc = ("augment", "noise", "kinds", "babble") if wrapped else ("noise", "kinds", "babble")
        line = _yaml_line(text, loc)
        where = f"{source}:{line}" if line else source
        raise ConfigError(f"{where}: {'.'.join(loc)}: babble noise needs synthetic speakers "
                          "and works in generate only; give it weight 0 here")
    return cfg


def load_augment_config(path: Path | None) -> AugmentDirConfig:
    """Read ``path`` (None: the defaults); ConfigError on a missing or invalid file."""
    if path is None:
        return AugmentDirConfig()
    return parse_augment_config(read_config_text(path), str(path))


# ---- ids -------------------------------------------------------------------------------


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


@dataclass
class AugmentSummary(TimedRun):
    out_dir: Path
    input_dir: Path
    input_utterances: int
    copies: int
    utterances: int
    hours: float
    rendered: int  # copies made by this run (the rest were already complete)
    sample_rate: int
    exports: tuple[str, ...]
    wall_s: float
    audio_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    def format(self) -> str:
        lines = [f"corpus: {self.out_dir} (augmented from {self.input_dir})",
                 f"utterances: {self.utterances} ({self.input_utterances} input x "
                 f"{self.copies} copies, {self.hours:.3f} h), rendered now: {self.rendered}",
                 f"split: {SPLIT}, sample rate: {self.sample_rate} Hz, "
                 f"exports: {', '.join(self.exports)}",
                 self.timing_line()]
        lines.extend(self.notes)
        return "\n".join(lines)


# ---- worker side -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    """What every worker needs (picklable)."""

    out_dir: str
    kaldi_dir: str
    utterances: tuple[KaldiUtterance, ...]
    seed: int
    sample_rate: int
    env: EnvironmentResources


_WORKER: tuple[_Job, Augmenter] | None = None


def _init_worker(job: _Job) -> None:
    global _WORKER
    _WORKER = (job, job.env.augmenter())


def record_path(out_dir: Path, utt_id: str) -> Path:
    return out_dir / WORK_DIR / "records" / f"{utt_id}.json"


def _read_input(utt: KaldiUtterance, sample_rate: int, where: str) -> np.ndarray:
    """Channel 0 of the input file as float32 ``(n,)`` at ``sample_rate``."""
    try:
        audio, rate = sf.read(str(utt.audio), dtype="float32", always_2d=True)
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
        result = augmenter(x, job.sample_rate, np.random.default_rng([job.seed, copy, index]))
    except ValueError as exc:  # e.g. digitally silent input: no SNR can be set
        raise InputError(f"{where}: {utt.utt_id}: cannot augment: {exc}") from None
    audio = result.audio
    # 16-bit PCM clips at full scale: scale down instead (levels and SNRs are relative).
    gain_db = 0.0
    if result.report.peak > 1.0:
        audio = audio * np.float32(1.0 / result.report.peak)
        gain_db = round(-20.0 * math.log10(result.report.peak), 3)
    speaker, uid = copy_ids(utt.speaker, utt.utt_id, copy)
    rel = f"audio/{SPLIT}/{speaker}/{uid}.wav"
    num_samples = write_audio_atomic(out_dir / rel, audio, job.sample_rate)
    return {
        "id": uid,
        "split": SPLIT,
        "speaker": speaker,
        "gender": utt.gender,
        "lang": None,
        "text": utt.text,
        "raw_text": utt.text,
        "prompt_id": utt.utt_id,  # copies of one input utterance share it
        "audio": rel,
        "duration_s": round(num_samples / job.sample_rate, 6),
        "sample_rate": job.sample_rate,
        "num_channels": 1 if audio.ndim == 1 else int(audio.shape[0]),
        "words": None,  # real speech: no word timings
        "tts": None,
        "augment": {**result.params.to_dict(),
                    "measured": {**result.report.to_dict(), "output_gain_db": gain_db}},
        "source": {
            "kaldi_dir": job.kaldi_dir,
            "utt_id": utt.utt_id,
            "speaker": utt.speaker,
            "copy": copy,
            "audio": str(utt.audio),
            "sample_rate": utt.sample_rate,
            "num_channels": utt.num_channels,
            "channel": 0,
        },
    }


def _augment_chunk(items: Sequence[tuple[int, int]]) -> list[float]:
    """Augment and record each (copy, index); errors leave as one-line SynthaudioErrors."""
    assert _WORKER is not None, "worker not initialized"
    job, augmenter = _WORKER
    out_dir = Path(job.out_dir)
    done = []
    try:
        for copy, index in items:
            record = augment_one(job, augmenter, copy, index)
            write_text_atomic(record_path(out_dir, record["id"]),
                              json.dumps(record, ensure_ascii=False) + "\n")
            done.append(float(record["duration_s"]))
    except SynthaudioError as exc:
        raise portable_error(exc) from None
    except OSError as exc:
        raise os_error(exc) from None
    return done


def _augment_all(job: _Job, pending: list[tuple[int, int]], jobs: int, progress: bool,
                 executor: str = "local", ray_address: str | None = None) -> float:
    """Augment the pending (copy, index) items; return the seconds of audio made."""
    audio_s = 0.0
    tqdm.monitor_interval = 0  # no monitor thread: the local pool forks
    bar = tqdm(total=len(pending), unit="utt", disable=not progress, dynamic_ncols=True,
               desc="augment")

    def advance(durations: list[float]) -> None:
        nonlocal audio_s
        audio_s += sum(durations)
        bar.update(len(durations))

    # chunks of up to 16 items, at least 4 per worker (one per item when serial)
    chunk = 1 if jobs <= 1 else max(1, min(16, len(pending) // (jobs * 4) or 1))
    chunks = (pending[i:i + chunk] for i in range(0, len(pending), chunk))
    try:
        run_tasks(_augment_chunk, chunks, advance, jobs=jobs, init=_init_worker,
                  init_args=(job,), executor=executor, ray_address=ray_address)
        return audio_s
    finally:
        bar.close()


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
                             u.sample_rate, u.num_channels, u.num_samples]).encode())
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
        "config": cfg.model_dump(mode="json"),
        "versions": {"synthaudio": synthaudio.__version__},
    }
    body["fingerprint"] = hashlib.sha256(
        json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
    return body


def _record_complete(out_dir: Path, utt_id: str) -> bool:
    """True when the copy's record under .work/ and the audio it names are present."""
    try:
        record = json.loads(record_path(out_dir, utt_id).read_text(encoding="utf-8"))
        return bool((out_dir / record["audio"]).is_file())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
        return False


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
                done[record["id"]] = line
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
    return done


def augment_kaldi_dir(
    kaldi_dir: Path,
    out_dir: Path,
    *,
    config_path: Path | None = None,
    copies: int = 1,
    jobs: int = 1,
    seed: int = 0,
    overwrite: bool = False,
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
            ``default_rng([seed, k, i])``.
        overwrite: replace a corpus made from another command in ``out_dir``.
        progress: show a progress bar.
        executor: "local" (a process pool of ``jobs`` workers) or "ray" (tasks on the Ray
            cluster at ``ray_address``, or a local Ray instance with ``jobs`` CPUs); both
            write byte-identical files.

    Re-running the same command skips the copies that are complete.
    """
    started = time.perf_counter()
    if copies < 1:
        raise ConfigError(f"--copies must be >= 1, got {copies}")
    if jobs < 1:
        raise ConfigError(f"-j/--jobs must be >= 1, got {jobs}")
    if seed < 0:
        raise ConfigError(f"--seed must be >= 0, got {seed}")
    check_executor(executor)
    out_dir = Path(out_dir)
    cfg = load_augment_config(config_path)
    source = f"config {config_path}" if config_path is not None else "config (--config)"
    config_dir = config_path.parent if config_path is not None else Path.cwd()
    check_environment_paths(cfg.augment, config_dir)
    check_codec_support(cfg.augment.channel)
    kaldi = read_kaldi_dir(Path(kaldi_dir))
    if os.path.realpath(out_dir) == os.path.realpath(kaldi.path):
        raise SynthaudioError(f"{out_dir}: the output folder must not be the input folder")
    _check_id_collisions(kaldi)
    sample_rate = _corpus_rate(kaldi, cfg, source)
    kaldi_abs = os.path.abspath(kaldi.path)
    resolved = resolved_config(cfg, kaldi, kaldi_abs, copies, seed, sample_rate)

    same = _claim_out_dir(out_dir, resolved["fingerprint"], overwrite)
    write_text_atomic(out_dir / "corpus.yaml",
                      yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True))
    env = prepare_environment(cfg.augment, sample_rate, seed, out_dir, config_dir,
                              plan=None, jobs=jobs)
    job = _Job(str(out_dir), kaldi_abs, kaldi.utterances, seed, sample_rate, env)
    items = [(k, i) for k in range(1, copies + 1) for i in range(len(kaldi))]
    ids = {item: copy_ids(kaldi.utterances[item[1]].speaker,
                          kaldi.utterances[item[1]].utt_id, item[0])[1] for item in items}
    finished = _finished_records(out_dir) if same else {}
    pending = [it for it in items
               if ids[it] not in finished and not _record_complete(out_dir, ids[it])]
    audio_s = _augment_all(job, pending, jobs, progress, executor, ray_address)

    lines = [finished.get(uid) or record_path(out_dir, uid).read_text(encoding="utf-8")
             for uid in sorted(ids.values())]
    write_text_atomic(out_dir / "metadata.jsonl", "".join(lines))
    report = export_corpus(out_dir, cfg.exports, shard_size=cfg.shard_size, jobs=jobs,
                           executor=executor, ray_address=ray_address)
    shutil.rmtree(out_dir / WORK_DIR, ignore_errors=True)

    records = [json.loads(line) for line in lines]
    summary = AugmentSummary(
        out_dir=out_dir, input_dir=kaldi.path, input_utterances=len(kaldi), copies=copies,
        utterances=len(records), hours=sum(r["duration_s"] for r in records) / 3600,
        rendered=len(pending), sample_rate=sample_rate, exports=report.formats,
        wall_s=time.perf_counter() - started, audio_s=audio_s,
        notes=_notes(kaldi, records, sample_rate))
    summary.append_log(out_dir / "logs" / "augment.log", jobs)
    return summary


def _notes(kaldi: KaldiDir, records: list[dict[str, Any]], sample_rate: int) -> list[str]:
    notes = []
    multi = [u for u in kaldi.utterances if u.num_channels > 1]
    if multi:
        notes.append(f"note: {len(multi)} input file(s) have more than one channel "
                     f"(e.g. {multi[0].utt_id}: {multi[0].num_channels}); channel 0 was used")
    rates = Counter(u.sample_rate for u in kaldi.utterances if u.sample_rate != sample_rate)
    for rate, n in sorted(rates.items()):
        notes.append(f"note: {n} input file(s) resampled from {rate} Hz to {sample_rate} Hz")
    scaled = sum(1 for r in records if r["augment"]["measured"].get("output_gain_db", 0.0) < 0)
    if scaled:
        notes.append(f"note: {scaled} output(s) scaled down to avoid clipping "
                     "(augment.measured.output_gain_db)")
    return notes

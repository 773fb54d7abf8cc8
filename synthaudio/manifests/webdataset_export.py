"""WebDataset shards ``OUT/shards/<split>/shard-000000.tar``.

Each sample is two tar members sharing the utterance id as key:
``<id>.flac`` (the audio, losslessly re-encoded from 16/24-bit PCM WAV, or
copied when already FLAC) and ``<id>.json`` (the utterance's metadata.jsonl
object, keys sorted). Ids never contain ``.``, so the key is the whole id.
``shard_size`` samples per shard, in id order. Tar members are deterministic:
USTAR format, mtime 0, uid/gid 0, no user names, mode 0644.
"""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from synthaudio.errors import InputError
from synthaudio.io.fileio import AtomicFile
from synthaudio.io.metadata import SPLITS, MetadataRecord, dump_record, metadata_path
from synthaudio.run.executors import run_tasks
from synthaudio.run.progress import progress_bar

SHARDS_DIR = "shards"
_SHARD_RE = re.compile(r"shard-(\d{6})\.tar\Z")
# libsndfile subtype of the source -> FLAC subtype that holds it losslessly
_FLAC_SUBTYPE = {"PCM_S8": "PCM_S8", "PCM_U8": "PCM_S8", "PCM_16": "PCM_16", "PCM_24": "PCM_24"}


def shard_path(out_dir: Path, split: str, index: int) -> Path:
    """``OUT/shards/<split>/shard-<index:06d>.tar``."""
    return Path(out_dir) / SHARDS_DIR / split / f"shard-{index:06d}.tar"


def flac_bytes(audio: Path) -> bytes:
    """The audio of ``audio`` as FLAC bytes (lossless); raises ``OSError``/``ValueError``."""
    if audio.suffix == ".flac":
        return audio.read_bytes()
    if not audio.is_file():
        raise FileNotFoundError("audio file not found")
    info = sf.info(str(audio))
    subtype = _FLAC_SUBTYPE.get(info.subtype)
    if subtype is None:
        raise ValueError(f"{info.subtype} audio cannot be stored losslessly as FLAC")
    samples, rate = sf.read(str(audio), dtype="int32", always_2d=True)
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format="FLAC", subtype=subtype)
    return buf.getvalue()


def _add_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    tar.addfile(info, io.BytesIO(data))


@dataclass(frozen=True)
class _Sample:
    line: int  # in metadata.jsonl, for error messages
    id: str
    audio: str  # relative to OUT
    json: str  # the metadata object, keys sorted


@dataclass(frozen=True)
class _ShardJob:
    out_dir: str
    split: str
    index: int
    samples: tuple[_Sample, ...]


def _write_shard(state: None, job: _ShardJob) -> int:
    """Write one shard (atomically) from the audio files; runs in a worker."""
    out_dir = Path(job.out_dir)
    with AtomicFile(shard_path(out_dir, job.split, job.index)) as f:
        with tarfile.open(fileobj=f.raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            for sample in job.samples:
                try:
                    audio = flac_bytes(out_dir / sample.audio)
                except (OSError, ValueError, sf.LibsndfileError) as e:
                    raise InputError(f"{metadata_path(out_dir)}:{sample.line}: "
                                     f"{sample.audio}: {e}") from None
                _add_member(tar, f"{sample.id}.flac", audio)
                _add_member(tar, f"{sample.id}.json", sample.json.encode("utf-8"))
    return len(job.samples)


def _shard_jobs(out_dir: Path, records: Iterable[MetadataRecord], shard_size: int,
                counts: dict[str, int]) -> Iterator[_ShardJob]:
    """Cut the record stream into shards: per split, ``shard_size`` records in id order.

    Only the metadata of the shards not yet handed out is held; ``counts`` receives the
    number of shards per split."""
    filling: dict[str, list[_Sample]] = {}
    for rec in records:
        samples = filling.setdefault(rec.split, [])
        samples.append(_Sample(rec.line, rec.id, rec.audio, dump_record(rec.raw)))
        if len(samples) == shard_size:
            index = counts.get(rec.split, 0)
            counts[rec.split] = index + 1
            yield _ShardJob(str(out_dir), rec.split, index, tuple(samples))
            filling[rec.split] = []
    for split, samples in filling.items():
        if samples:
            index = counts.get(split, 0)
            counts[split] = index + 1
            yield _ShardJob(str(out_dir), split, index, tuple(samples))


def write_shards(
    out_dir: Path, records: Iterable[MetadataRecord], shard_size: int = 1000, *,
    jobs: int = 1, executor: str = "local", ray_address: str | None = None,
    progress: bool = False, total: int | None = None,
) -> dict[str, int]:
    """Write the shards of every split present; return the number of shards per split.

    Each shard is written whole by one worker (``jobs`` processes, or Ray tasks with
    ``executor="ray"``) from the audio files: this process only cuts the metadata stream
    into shards, so no process holds the corpus. The bytes do not depend on ``jobs`` or
    the executor. Shards left over from an earlier export with other settings are removed.
    ``progress``: a bar on stderr (when it is a terminal) over the ``total`` utterances.
    """
    if shard_size < 1:
        raise InputError(f"shard size must be at least 1, got {shard_size}")
    out_dir = Path(out_dir)
    shards: dict[str, int] = {}
    with progress_bar(total or 0, "export webdataset", progress=progress) as bar:
        run_tasks(_write_shard, _shard_jobs(out_dir, records, shard_size, shards), bar.update,
                  jobs=jobs, executor=executor, ray_address=ray_address)
    for split in SPLITS:
        folder = out_dir / SHARDS_DIR / split
        if folder.is_dir():
            for p in folder.iterdir():
                m = _SHARD_RE.match(p.name)
                if m and int(m.group(1)) >= shards.get(split, 0):
                    p.unlink()
    return shards

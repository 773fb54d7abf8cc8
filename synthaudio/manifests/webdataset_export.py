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
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from synthaudio.errors import InputError
from synthaudio.manifests.atomic import AtomicFile
from synthaudio.manifests.metadata import SPLITS, MetadataRecord, dump_record, metadata_path

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


@dataclass
class _OpenShard:
    file: AtomicFile
    tar: tarfile.TarFile
    index: int
    count: int = 0

    def close(self) -> None:
        self.tar.close()  # writes the end-of-archive blocks; leaves the file open
        self.file.commit()


def write_shards(
    out_dir: Path, records: Iterable[MetadataRecord], shard_size: int = 1000
) -> dict[str, int]:
    """Write the shards of every split present; return the number of shards per split.

    Shards left over from an earlier export with other settings are removed.
    """
    if shard_size < 1:
        raise InputError(f"shard size must be at least 1, got {shard_size}")
    out_dir = Path(out_dir)
    shards: dict[str, int] = {}
    with ExitStack() as stack:
        open_shards: dict[str, _OpenShard] = {}
        for rec in records:
            shard = open_shards.get(rec.split)
            if shard is not None and shard.count >= shard_size:
                shard.close()
                shard = None
            if shard is None:
                index = shards.get(rec.split, 0)
                f = stack.enter_context(AtomicFile(shard_path(out_dir, rec.split, index)))
                tar = tarfile.open(fileobj=f.raw, mode="w", format=tarfile.USTAR_FORMAT)
                shard = open_shards[rec.split] = _OpenShard(f, tar, index)
                shards[rec.split] = index + 1
            try:
                audio = flac_bytes(out_dir / rec.audio)
            except (OSError, ValueError, sf.LibsndfileError) as e:
                raise InputError(f"{metadata_path(out_dir)}:{rec.line}: {rec.audio}: {e}") from None
            _add_member(shard.tar, f"{rec.id}.flac", audio)
            _add_member(shard.tar, f"{rec.id}.json", dump_record(rec.raw).encode("utf-8"))
            shard.count += 1
        for shard in open_shards.values():
            shard.close()
    for split in SPLITS:
        folder = out_dir / SHARDS_DIR / split
        if folder.is_dir():
            for p in folder.iterdir():
                m = _SHARD_RE.match(p.name)
                if m and int(m.group(1)) >= shards.get(split, 0):
                    p.unlink()
    return shards

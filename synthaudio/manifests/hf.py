"""Hugging Face ``audiofolder`` layout: ``OUT/audio/<split>/metadata.jsonl``.

``datasets.load_dataset("audiofolder", data_dir="OUT/audio")`` takes split
names from the folder names (``dev`` becomes ``validation``) and only reads a
``metadata.jsonl`` that lies inside a split's folder, with ``file_name``
relative to it (``spk003/spk003-000012.wav``). Columns: ``file_name``,
``id``, ``text``, ``speaker_id``, ``gender``, ``lang``, ``duration``,
``sample_rate``, ``num_channels``, ``raw_text``, ``prompt_id``.

Every split's metadata file must have the same column types, so unknown
strings are written as ``""`` rather than null (a split where all are null
would get type ``null`` and ``datasets`` refuses to load). Word timings are
left out for the same reason (an empty list has no element type); they are
in the lhotse and CTM exports.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from synthaudio.errors import InputError
from synthaudio.io.metadata import METADATA_NAME, SPLITS, MetadataRecord, metadata_path
from synthaudio.manifests.atomic import write_lines_per_split

AUDIO_DIR = "audio"


def hf_metadata_path(out_dir: Path, split: str) -> Path:
    """``OUT/audio/<split>/metadata.jsonl``."""
    return Path(out_dir) / AUDIO_DIR / split / METADATA_NAME


def _str_or_empty(value: Any) -> str:
    return value if isinstance(value, str) else ""


def hf_row(rec: MetadataRecord, out_dir: Path) -> dict[str, Any]:
    """The audiofolder metadata row for one utterance."""
    prefix = f"{AUDIO_DIR}/{rec.split}/"
    if not rec.audio.startswith(prefix):
        raise InputError(
            f"{metadata_path(out_dir)}:{rec.line}: audio {rec.audio!r} is not under {prefix} "
            "(needed by the Hugging Face audiofolder layout)"
        )
    return {
        "file_name": rec.audio[len(prefix) :],
        "id": rec.id,
        "text": rec.text,
        "speaker_id": rec.speaker,
        "gender": _str_or_empty(rec.gender),
        "lang": _str_or_empty(rec.lang),
        "duration": round(rec.duration_s, 4),
        "sample_rate": rec.sample_rate,
        "num_channels": rec.num_channels,
        "raw_text": _str_or_empty(rec.raw.get("raw_text")),
        "prompt_id": _str_or_empty(rec.raw.get("prompt_id")),
    }


def write_hf_metadata(out_dir: Path, records: Iterable[MetadataRecord]) -> dict[str, int]:
    """Write ``OUT/audio/<split>/metadata.jsonl`` per split present; remove stale ones."""
    out_dir = Path(out_dir)
    return write_lines_per_split(
        records, lambda r: r.split, lambda split: hf_metadata_path(out_dir, split),
        lambda r: json.dumps(hf_row(r, out_dir), ensure_ascii=False), SPLITS)

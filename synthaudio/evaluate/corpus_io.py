"""Reading what evaluation and the report need: metadata.jsonl and audio files (Kaldi
directories through :func:`synthaudio.kaldi.list_kaldi_dir`).

Audio comes back as float32 ``(n_channels, n_samples)``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from synthaudio.errors import InputError
from synthaudio.fileio import write_text_atomic  # noqa: F401 - re-exported
from synthaudio.kaldi import ListedUtterance, list_kaldi_dir
from synthaudio.manifests.metadata import MetadataRecord


@dataclass(frozen=True)
class MetaRecord:
    """One metadata.jsonl line and where it came from (for error messages)."""

    where: str  # "path:line"
    data: Mapping[str, Any]  # the JSON object (the report reads optional keys from it)
    record: MetadataRecord  # the same, checked

    @property
    def id(self) -> str:
        return str(self.data["id"])


def read_metadata(out_dir: Path) -> list[MetaRecord]:
    """Records of ``out_dir/metadata.jsonl``, checked for ``id``, ``audio`` and ``text``."""
    path = out_dir / "metadata.jsonl"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as e:
        raise InputError(f"{path}: not found (is {out_dir} a synthaudio corpus?)") from e
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read ({e})") from e
    records: list[MetaRecord] = []
    seen: set[str] = set()
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{where}: invalid JSON ({e.msg})") from e
        try:
            record = MetadataRecord.from_dict(data, lineno)
        except ValueError as e:
            raise InputError(f"{where}: {e}") from None
        if record.id in seen:
            raise InputError(f"{where}: duplicate id {record.id!r}")
        seen.add(record.id)
        records.append(MetaRecord(where, data, record))
    return records


# The old names, for code written against them: the one Kaldi reader is
# synthaudio.kaldi.list_kaldi_dir, the one atomic writer synthaudio.fileio's.
KaldiUtt = ListedUtterance
read_kaldi_dir = list_kaldi_dir


def load_audio(path: Path, where: str, segment: tuple[float, float | None] | None = None,
               ) -> tuple[np.ndarray, int]:
    """float32 ``(n_channels, n_samples)`` and the sample rate; errors name ``where``.

    ``segment``: (start_s, end_s or None for the file's end), a Kaldi ``segments`` line.
    """
    try:
        if segment is not None:
            rate = sf.info(str(path)).samplerate
            start = int(round(segment[0] * rate))
            stop = None if segment[1] is None else int(round(segment[1] * rate))
            data, sample_rate = sf.read(str(path), start=start, stop=stop, dtype="float32",
                                        always_2d=True)
        else:
            data, sample_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as e:
        raise InputError(f"{where}: cannot read audio {path} ({e})") from e
    return np.ascontiguousarray(data.T), int(sample_rate)

"""Reading what evaluation and the report need: metadata.jsonl, Kaldi directories, audio files.

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


@dataclass(frozen=True)
class MetaRecord:
    """One metadata.jsonl line and where it came from (for error messages)."""

    where: str  # "path:line"
    data: Mapping[str, Any]

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
        if not isinstance(data, dict):
            raise InputError(f"{where}: expected a JSON object")
        for key in ("id", "audio", "text"):
            if not isinstance(data.get(key), str):
                raise InputError(f"{where}: missing or non-string field {key!r}")
        if data["id"] in seen:
            raise InputError(f"{where}: duplicate id {data['id']!r}")
        seen.add(data["id"])
        records.append(MetaRecord(where, data))
    return records


def _read_kaldi_map(path: Path, required: bool = True) -> dict[str, tuple[str, str]]:
    """``<id> <rest>`` lines -> {id: (rest, "path:line")}; missing optional file -> {}."""
    if not path.exists():
        if required:
            raise InputError(f"{path}: not found")
        return {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read ({e})") from e
    out: dict[str, tuple[str, str]] = {}
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.split(maxsplit=1)
        where = f"{path}:{lineno}"
        if fields[0] in out:
            raise InputError(f"{where}: duplicate id {fields[0]!r}")
        out[fields[0]] = (fields[1].strip() if len(fields) > 1 else "", where)
    return out


@dataclass(frozen=True)
class KaldiUtt:
    id: str
    wav_path: Path
    text: str
    speaker: str | None
    gender: str | None
    where: str  # wav.scp line


def read_kaldi_dir(kaldi_dir: Path) -> list[KaldiUtt]:
    """Utterances of a Kaldi data directory with plain file paths in ``wav.scp``.

    Relative paths are tried against ``kaldi_dir`` first, then the current directory.
    """
    if not kaldi_dir.is_dir():
        raise InputError(f"{kaldi_dir}: not a directory")
    wavs = _read_kaldi_map(kaldi_dir / "wav.scp")
    texts = _read_kaldi_map(kaldi_dir / "text")
    if (kaldi_dir / "segments").exists():
        raise InputError(f"{kaldi_dir / 'segments'}: segmented Kaldi directories are not supported")
    utt2spk = _read_kaldi_map(kaldi_dir / "utt2spk", required=False)
    spk2gender = _read_kaldi_map(kaldi_dir / "spk2gender", required=False)
    for utt_id, (_, where) in sorted(texts.items()):
        if utt_id not in wavs:
            raise InputError(f"{where}: utterance {utt_id!r} is not in wav.scp")
    utts: list[KaldiUtt] = []
    for utt_id, (rxfile, where) in sorted(wavs.items()):
        if utt_id not in texts:
            raise InputError(f"{where}: utterance {utt_id!r} has no line in text")
        if rxfile.endswith("|") or len(rxfile.split()) != 1:
            raise InputError(f"{where}: only plain file paths are supported, got {rxfile!r}")
        path = Path(rxfile)
        if not path.is_absolute():
            path = kaldi_dir / path if (kaldi_dir / path).exists() else Path.cwd() / path
        speaker = utt2spk.get(utt_id, ("", ""))[0] or None
        gender = (spk2gender.get(speaker, ("", ""))[0] or None) if speaker else None
        utts.append(KaldiUtt(utt_id, path, texts[utt_id][0], speaker, gender, where))
    if not utts:
        raise InputError(f"{kaldi_dir / 'wav.scp'}: no utterances")
    return utts


def load_audio(path: Path, where: str) -> tuple[np.ndarray, int]:
    """float32 ``(n_channels, n_samples)`` and the sample rate; errors name ``where``."""
    try:
        data, sample_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as e:
        raise InputError(f"{where}: cannot read audio {path} ({e})") from e
    return np.ascontiguousarray(data.T), int(sample_rate)

"""What ``synthaudio profile`` measures: the utterances of a Kaldi dir, a folder or an OUT.

- a synthaudio OUT (``metadata.jsonl`` inside): its records, transcripts and speakers;
- a Kaldi data directory (``wav.scp`` inside): read with
  :func:`synthaudio.io.kaldi.read_kaldi_dir`;
- any other folder: every audio file below it that libsndfile reads (wav, flac, ogg, mp3...),
  no transcripts; the speaker is the file's parent folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile as sf

from synthaudio.errors import InputError
from synthaudio.io.importers.folders import audio_files

SourceKind = Literal["synthaudio", "kaldi", "folder"]


@dataclass(frozen=True)
class Item:
    """One utterance to measure."""

    utt_id: str
    audio: Path  # absolute path of the file
    text: str | None  # transcript (words) when the source has one
    speaker: str | None


@dataclass(frozen=True)
class Source:
    path: Path
    kind: SourceKind
    items: tuple[Item, ...]


def _from_out(out: Path) -> list[Item]:
    from synthaudio.io.metadata import iter_metadata

    items = []
    for rec in iter_metadata(out):
        audio = out / rec.audio
        if not audio.is_file():
            raise InputError(f"{out / 'metadata.jsonl'}:{rec.line}: audio file not found: "
                             f"{audio}")
        items.append(Item(rec.id, audio.resolve(), rec.text, rec.speaker))
    return items


def _from_kaldi(data_dir: Path) -> list[Item]:
    from synthaudio.io.kaldi import read_kaldi_dir

    kaldi = read_kaldi_dir(data_dir)
    return [Item(u.utt_id, u.audio, u.text, u.speaker) for u in kaldi.utterances]


def _from_folder(folder: Path) -> list[Item]:
    return [Item(utt_id, path, None, speaker) for utt_id, speaker, path in audio_files(folder)]


def open_source(path: Path | str) -> Source:
    """The utterances under ``path``; InputError naming the path when there are none."""
    root = Path(path)
    if not root.exists():
        raise InputError(f"{root}: not found (expected a Kaldi data directory, a folder of "
                         "audio files or a synthaudio corpus)")
    if not root.is_dir():
        raise InputError(f"{root}: not a directory (expected a Kaldi data directory, a folder "
                         "of audio files or a synthaudio corpus)")
    if (root / "metadata.jsonl").is_file():
        kind: SourceKind = "synthaudio"
        items = _from_out(root)
    elif (root / "wav.scp").is_file():
        kind = "kaldi"
        items = _from_kaldi(root)
    else:
        kind = "folder"
        items = _from_folder(root)
    if not items:
        raise InputError(f"{root}: no utterances")
    return Source(root, kind, tuple(items))


def read_mono(path: Path) -> tuple[np.ndarray, int, str]:
    """float32 mono ``(n,)`` (channels averaged), the sample rate and the libsndfile subtype."""
    from synthaudio.io.fileio import check_wav_complete

    check_wav_complete(path)  # libsndfile reads a cut-off WAV without a word
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
        subtype = sf.info(str(path)).subtype
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        detail = str(exc).replace("\n", " ")
        raise InputError(f"{path}: cannot read audio: {detail}") from None
    if data.shape[0] == 0:
        raise InputError(f"{path}: audio has no samples")
    if not np.isfinite(data).all():
        bad = int(np.count_nonzero(~np.isfinite(data)))
        raise InputError(f"{path}: audio holds {bad} NaN or infinite samples")
    mono = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1, dtype=np.float32)
    return np.ascontiguousarray(mono), int(rate), str(subtype)

"""Lhotse manifests ``OUT/manifests/lhotse/{recordings,supervisions,cuts}_<split>.jsonl.gz``.

Written as plain JSON in the exact shape of lhotse's ``to_dict`` (lhotse is
not needed to export): one recording, one supervision and one cut per
utterance, all sharing the utterance id. Mono audio gives a ``MonoCut`` on
channel 0; multichannel audio a ``MultiCut`` over all channels. Word timings
become ``alignment: {"word": [[word, start_s, duration_s, null], ...]}``
(lhotse's ``AlignmentItem`` serialization).

Paths: lhotse opens a recording source relative to the current directory,
not to the manifest, so sources are always absolute paths. The files are
therefore byte-reproducible for the same ``OUT`` location, not across
locations; after moving a corpus, re-run the export (or use lhotse's
``RecordingSet.with_path_prefix`` on a copy). Gzip output is deterministic
(mtime 0, no file name).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from synthaudio.errors import InputError
from synthaudio.io.fileio import AtomicTextFile
from synthaudio.io.metadata import SPLITS, MetadataRecord, metadata_path
from synthaudio.manifests.audio_info import probe

LHOTSE_DIR = Path("manifests") / "lhotse"
KINDS = ("recordings", "supervisions", "cuts")


def lhotse_manifest_path(out_dir: Path, kind: str, split: str) -> Path:
    """``OUT/manifests/lhotse/<kind>_<split>.jsonl.gz``."""
    return Path(out_dir) / LHOTSE_DIR / f"{kind}_{split}.jsonl.gz"


def lhotse_dicts(rec: MetadataRecord, out_dir: Path) -> tuple[dict[str, Any], ...]:
    """(recording, supervision, cut) dicts for one utterance; reads the audio header."""
    audio = Path(out_dir) / rec.audio
    where = f"{metadata_path(out_dir)}:{rec.line}"
    try:
        info = probe(audio)
    except OSError as e:
        raise InputError(f"{where}: {rec.audio}: {e}") from None
    if info.sample_rate != rec.sample_rate or info.num_channels != rec.num_channels:
        raise InputError(
            f"{where}: {rec.audio} is {info.sample_rate} Hz x {info.num_channels} ch, "
            f"metadata says {rec.sample_rate} Hz x {rec.num_channels} ch"
        )
    channels = list(range(info.num_channels))
    duration = info.num_samples / info.sample_rate
    recording: dict[str, Any] = {
        "id": rec.id,
        "sources": [
            {"type": "file", "channels": channels, "source": os.path.abspath(audio)},
        ],
        "sampling_rate": info.sample_rate,
        "num_samples": info.num_samples,
        "duration": duration,
        "channel_ids": channels,
    }
    channel: int | list[int] = 0 if info.num_channels == 1 else channels
    supervision: dict[str, Any] = {
        "id": rec.id,
        "recording_id": rec.id,
        "start": 0.0,
        "duration": duration,
        "channel": channel,
        "text": rec.text,
    }
    if rec.lang is not None:
        supervision["language"] = rec.lang
    supervision["speaker"] = rec.speaker
    if rec.gender is not None:
        supervision["gender"] = rec.gender
    supervision["custom"] = {"split": rec.split}
    if rec.words:
        supervision["alignment"] = {"word": [[w, s, d, None] for w, s, d in rec.words]}
    cut: dict[str, Any] = {
        "id": rec.id,
        "start": 0.0,
        "duration": duration,
        "channel": channel,
        "supervisions": [supervision],
        "recording": recording,
        "type": "MonoCut" if info.num_channels == 1 else "MultiCut",
    }
    return recording, supervision, cut


def write_lhotse_manifests(out_dir: Path, records: Iterable[MetadataRecord]) -> dict[str, int]:
    """Write the three manifests per split present; remove those of absent splits."""
    out_dir = Path(out_dir)
    counts: dict[str, int] = {}
    with ExitStack() as stack:
        files: dict[str, tuple[AtomicTextFile, ...]] = {}
        for rec in records:
            trio = files.get(rec.split)
            if trio is None:
                trio = files[rec.split] = tuple(
                    stack.enter_context(
                        AtomicTextFile(
                            lhotse_manifest_path(out_dir, kind, rec.split), gzip_output=True
                        )
                    )
                    for kind in KINDS
                )
            for f, obj in zip(trio, lhotse_dicts(rec, out_dir), strict=True):
                f.write_line(json.dumps(obj, ensure_ascii=False))
            counts[rec.split] = counts.get(rec.split, 0) + 1
    for split in SPLITS:
        if split not in counts:
            for kind in KINDS:
                lhotse_manifest_path(out_dir, kind, split).unlink(missing_ok=True)
    return counts

"""NeMo ASR manifests ``OUT/manifests/nemo/{train,dev,test}.json``.

One JSON object per line, in id order: ``audio_filepath``, ``duration``
(seconds), ``text``, ``speaker``, ``lang``. NeMo resolves a relative
``audio_filepath`` against the manifest's folder, so by default the path is
relative to ``OUT/manifests/nemo`` (``../../audio/train/...``) and the corpus
can be moved as a whole; ``absolute_paths=True`` writes absolute paths.
"""

from __future__ import annotations

import json
import os
import posixpath
from collections.abc import Iterable
from pathlib import Path

from synthaudio.io.metadata import SPLITS, MetadataRecord
from synthaudio.manifests.atomic import write_lines_per_split

NEMO_DIR = Path("manifests") / "nemo"


def nemo_manifest_path(out_dir: Path, split: str) -> Path:
    """``OUT/manifests/nemo/<split>.json``."""
    return Path(out_dir) / NEMO_DIR / f"{split}.json"


def nemo_entry(rec: MetadataRecord, out_dir: Path, absolute_paths: bool) -> dict[str, object]:
    """The manifest object for one utterance."""
    if absolute_paths:
        path = os.path.join(os.path.abspath(out_dir), *rec.audio.split("/"))
    else:
        path = posixpath.relpath(rec.audio, NEMO_DIR.as_posix())  # "../../audio/..."
    return {
        "audio_filepath": path,
        "duration": round(rec.duration_s, 4),
        "text": rec.text,
        "speaker": rec.speaker,
        "lang": rec.lang,
    }


def write_nemo_manifests(
    out_dir: Path, records: Iterable[MetadataRecord], absolute_paths: bool = False
) -> dict[str, int]:
    """Write one manifest per split present; remove those of absent splits."""
    out_dir = Path(out_dir)
    return write_lines_per_split(
        records, lambda r: r.split, lambda split: nemo_manifest_path(out_dir, split),
        lambda r: json.dumps(nemo_entry(r, out_dir, absolute_paths), ensure_ascii=False),
        SPLITS)

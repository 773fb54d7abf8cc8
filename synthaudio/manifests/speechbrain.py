"""SpeechBrain CSV manifests ``OUT/manifests/speechbrain/{train,dev,test}.csv``.

The columns of SpeechBrain's LibriSpeech recipe, which its ASR templates read with
``DynamicItemDataset.from_csv(path, replacements={"data_root": ...})``::

    ID,duration,wav,spk_id,wrd
    spk003-000012,2.345,$data_root/audio/train/spk003/spk003-000012.wav,spk003,turn on the light

``duration`` is in seconds (SpeechBrain sorts and filters on it), ``wrd`` the transcript.
``wav`` starts with ``$data_root`` (SpeechBrain replaces it with the corpus folder), so the
corpus can be moved as a whole; ``absolute_paths=True`` writes absolute paths instead.
Fields are quoted by Python's ``csv`` module only when they need it (a comma, a quote);
lines end in ``\\n``. Registered as the ``speechbrain`` export format in :mod:`.formats`.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable
from pathlib import Path

from synthaudio.io.metadata import SPLITS, MetadataRecord
from synthaudio.manifests.atomic import write_lines_per_split
from synthaudio.manifests.formats import ExportContext, ExportOutcome

SPEECHBRAIN_DIR = Path("manifests") / "speechbrain"
COLUMNS = ("ID", "duration", "wav", "spk_id", "wrd")
DATA_ROOT = "$data_root"  # the replacement key SpeechBrain's recipes pass


def speechbrain_csv_path(out_dir: Path, split: str) -> Path:
    """``OUT/manifests/speechbrain/<split>.csv``."""
    return Path(out_dir) / SPEECHBRAIN_DIR / f"{split}.csv"


def _csv_line(fields: Iterable[object]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(fields)
    return buf.getvalue()


def speechbrain_row(rec: MetadataRecord, out_dir: Path, absolute_paths: bool) -> str:
    """The CSV line (without its newline) of one utterance."""
    if absolute_paths:
        wav = os.path.join(os.path.abspath(out_dir), *rec.audio.split("/"))
    else:
        wav = f"{DATA_ROOT}/{rec.audio}"
    return _csv_line((rec.id, f"{rec.duration_s:.3f}", wav, rec.speaker, rec.text))


def write_speechbrain_csvs(out_dir: Path, records: Iterable[MetadataRecord],
                           absolute_paths: bool = False) -> dict[str, int]:
    """Write one CSV per split present (header first); remove those of absent splits."""
    out_dir = Path(out_dir)
    started: set[str] = set()
    header = _csv_line(COLUMNS)

    def line_of(rec: MetadataRecord) -> str:
        row = speechbrain_row(rec, out_dir, absolute_paths)
        if rec.split in started:
            return row
        started.add(rec.split)
        return f"{header}\n{row}"

    return write_lines_per_split(records, lambda r: r.split,
                                 lambda split: speechbrain_csv_path(out_dir, split), line_of,
                                 SPLITS)


def write_speechbrain(ctx: ExportContext) -> ExportOutcome:
    """The ``speechbrain`` export format's writer."""
    counts = write_speechbrain_csvs(ctx.out_dir, ctx.records(), ctx.absolute_paths)
    return ExportOutcome(f"speechbrain: {sum(counts.values())} rows in {SPEECHBRAIN_DIR}/")

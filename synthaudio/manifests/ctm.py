"""Word alignments as CTM: ``OUT/alignments/<split>.ctm``.

One line per word, ``<utt-id> 1 <start_s> <dur_s> <word>``, times relative to
the utterance audio with 3 decimals, sorted by utterance id (byte order),
channel, then start time, as sclite expects. Utterances without word timings
(``words`` null or empty) are left out and counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from synthaudio.io.fileio import AtomicTextFile
from synthaudio.io.metadata import SPLITS, MetadataRecord

ALIGNMENTS_DIR = "alignments"
CHANNEL = "1"


def ctm_path(out_dir: Path, split: str) -> Path:
    """``OUT/alignments/<split>.ctm``."""
    return Path(out_dir) / ALIGNMENTS_DIR / f"{split}.ctm"


def ctm_lines(rec: MetadataRecord) -> list[str]:
    """The CTM lines of one utterance, in start-time order (empty without timings)."""
    if not rec.words:
        return []
    ordered = sorted(rec.words, key=lambda w: w[1])  # stable: ties keep spoken order
    return [f"{rec.id} {CHANNEL} {start:.3f} {dur:.3f} {word}" for word, start, dur in ordered]


@dataclass
class CtmCounts:
    """Utterances written and left out (no timings), per split."""

    written: dict[str, int] = field(default_factory=dict)
    omitted: dict[str, int] = field(default_factory=dict)


def write_ctm(out_dir: Path, records: Iterable[MetadataRecord]) -> CtmCounts:
    """Write one CTM per split present (possibly empty); remove those of absent splits."""
    out_dir = Path(out_dir)
    counts = CtmCounts()
    seen: set[str] = set()
    with ExitStack() as stack:
        files: dict[str, AtomicTextFile] = {}
        for rec in records:
            f = files.get(rec.split)
            if f is None:
                f = files[rec.split] = stack.enter_context(
                    AtomicTextFile(ctm_path(out_dir, rec.split))
                )
                seen.add(rec.split)
            lines = ctm_lines(rec)
            bucket = counts.written if lines else counts.omitted
            bucket[rec.split] = bucket.get(rec.split, 0) + 1
            for line in lines:
                f.write_line(line)
    for split in SPLITS:
        if split not in seen:
            ctm_path(out_dir, split).unlink(missing_ok=True)
    return counts

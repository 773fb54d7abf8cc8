"""ESPnet: it reads the Kaldi data directories; this lists what its recipe will drop.

ESPnet's ``asr.sh`` removes utterances shorter than ``min_wav_duration``
(0.1 s) or longer than ``max_wav_duration`` (20 s) by default. The data
directories themselves are the Kaldi ones, unchanged, so a recipe with other
limits sees every utterance; ``OUT/data/espnet_dropped.txt`` lists, one per
line, ``<split> <utt-id> <duration_s> <reason>`` for each utterance outside
the default limits.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from synthaudio.io.fileio import AtomicTextFile
from synthaudio.io.metadata import SPLITS, MetadataRecord
from synthaudio.manifests.kaldi import DATA_DIR, format_seconds

MIN_DURATION_S = 0.1  # ESPnet asr.sh --min_wav_duration default
MAX_DURATION_S = 20.0  # ESPnet asr.sh --max_wav_duration default
DROPPED_NAME = "espnet_dropped.txt"


def drop_reason(duration_s: float) -> str | None:
    """Why ESPnet's defaults drop an utterance of this length, or None."""
    if duration_s < MIN_DURATION_S:
        return f"shorter than {MIN_DURATION_S:g} s"
    if duration_s > MAX_DURATION_S:
        return f"longer than {MAX_DURATION_S:g} s"
    return None


def write_espnet_dropped(out_dir: Path, records: Iterable[MetadataRecord]) -> int:
    """Write ``OUT/data/espnet_dropped.txt`` (split order, then id); return its line count."""
    lines: dict[str, list[str]] = {s: [] for s in SPLITS}
    for rec in records:
        why = drop_reason(rec.duration_s)
        if why:
            lines[rec.split].append(f"{rec.split} {rec.id} {format_seconds(rec.duration_s)} {why}")
    with AtomicTextFile(Path(out_dir) / DATA_DIR / DROPPED_NAME) as f:
        for split in SPLITS:
            for line in lines[split]:
                f.write_line(line)
    return sum(len(v) for v in lines.values())

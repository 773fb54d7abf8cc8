#!/usr/bin/env python3
"""Diarization data: synthetic meetings for NeMo's and pyannote's training and evaluation.

    python recipes/diarization/run.py --out out/meetings [--config sessions.yaml] [-j N]

Generates the session corpus (``synthaudio sessions``), then

- checks the NeMo diarization manifests (``OUT/manifests/nemo/diarization_<split>.json``,
  with their RTTM, UEM and CTM files) against the audio;
- writes a pyannote.database protocol, ``OUT/manifests/pyannote/``: ``database.yml``
  (protocol ``Synthaudio.SpeakerDiarization.<name>``), per subset (train, development,
  test) a ``.lst`` of URIs, one ``.rttm`` and one ``.uem``;
- writes ``OUT/manifests/diarization_ratios.tsv``, the measured overlap and silence ratios
  of every session next to the config's targets, and prints their means per split.

Neither toolkit is needed here; README.md says how each one reads these files.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import soundfile as sf
import yaml

from synthaudio.errors import InputError, SynthaudioError
from synthaudio.io.fileio import write_text_atomic
from synthaudio.io.metadata import iter_metadata
from synthaudio.pipelines.sessions.export import nemo_diarization_path, session_file
from synthaudio.pipelines.sessions.pipeline import generate_sessions

HERE = Path(__file__).resolve().parent
SUBSETS = {"train": "train", "dev": "development", "test": "test"}  # ours -> pyannote's


def check_nemo_manifests(out: Path) -> dict[str, int]:
    """Every NeMo manifest line: audio there, duration and offset inside it, the RTTM's
    segments inside the duration and its speakers counted in ``num_speakers``."""
    counts = {}
    for split in SUBSETS:
        path = nemo_diarization_path(out, split)
        if not path.is_file():
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines, 1):
            entry = json.loads(line)
            where = f"{path}:{n}"
            info = sf.info(entry["audio_filepath"])
            duration = info.frames / info.samplerate
            if abs(entry["duration"] - duration) > 1e-3 or entry["offset"] != 0.0:
                raise InputError(f"{where}: duration {entry['duration']} / offset "
                                 f"{entry['offset']} do not match the audio ({duration:.3f} s)")
            rttm = [r.split() for r in Path(entry["rttm_filepath"]).read_text().splitlines()]
            if any(float(r[3]) + float(r[4]) > duration + 1e-3 for r in rttm):
                raise InputError(f"{where}: an RTTM segment ends after the audio")
            if len({r[7] for r in rttm}) != entry["num_speakers"]:
                raise InputError(f"{where}: num_speakers does not match the RTTM")
        counts[split] = len(lines)
    return counts


def write_pyannote_protocol(out: Path, name: str) -> Path:
    """The pyannote.database protocol files under ``OUT/manifests/pyannote/``."""
    root = out / "manifests" / "pyannote"
    by_split: dict[str, list[Any]] = {s: [] for s in SUBSETS}
    for rec in iter_metadata(out):
        by_split[rec.split].append(rec)
    subsets: dict[str, dict[str, str]] = {}
    for split, records in by_split.items():
        if not records:
            continue
        subset = SUBSETS[split]
        uris = [r.id for r in records]
        write_text_atomic(root / "lists" / f"{subset}.lst", "".join(u + "\n" for u in uris))
        write_text_atomic(root / "rttm" / f"{subset}.rttm", "".join(
            session_file(out, "rttm", split, u).read_text(encoding="utf-8") for u in uris))
        write_text_atomic(root / "uem" / f"{subset}.uem", "".join(
            session_file(out, "uem", split, u).read_text(encoding="utf-8") for u in uris))
        subsets[subset] = {"uri": f"lists/{subset}.lst", "annotation": f"rttm/{subset}.rttm",
                           "annotated": f"uem/{subset}.uem"}
    database = {
        "Databases": {"Synthaudio": str(out.resolve() / "audio" / "*" / "{uri}.wav")},
        "Protocols": {"Synthaudio": {"SpeakerDiarization": {name: subsets}}},
    }
    path = root / "database.yml"
    write_text_atomic(path, yaml.safe_dump(database, sort_keys=False))
    return path


def ratio_table(out: Path) -> tuple[list[str], list[str]]:
    """(TSV lines of every session, summary lines per split and overall)."""
    rows = ["session\tsplit\tspeakers\tduration_s\ttarget_overlap\toverlap\tstem_overlap"
            "\ttarget_silence\tsilence\tstem_silence"]
    groups: dict[str, list[tuple[float, float, float, float]]] = {}
    for rec in iter_metadata(out):
        s = rec.extra["session"]
        m, t = s["measured"], s["targets"]
        rows.append(f"{rec.id}\t{rec.split}\t{s['num_speakers']}\t{rec.duration_s:.2f}\t"
                    f"{t['overlap_ratio']:.3f}\t{m['overlap_ratio']:.4f}\t"
                    f"{m['stems']['overlap_ratio']:.4f}\t{t['silence_ratio']:.3f}\t"
                    f"{m['silence_ratio']:.4f}\t{m['stems']['silence_ratio']:.4f}")
        for key in (rec.split, "all"):
            groups.setdefault(key, []).append((t["overlap_ratio"], m["overlap_ratio"],
                                               t["silence_ratio"], m["silence_ratio"]))
    summary = ["split  sessions  overlap: target measured   silence: target measured"]
    for key in (*SUBSETS, "all"):
        values = groups.get(key)
        if values:
            mean = [sum(v[i] for v in values) / len(values) for i in range(4)]
            summary.append(f"{key:<6} {len(values):>8}           {mean[0]:.3f}    "
                           f"{mean[1]:.3f}            {mean[2]:.3f}    {mean[3]:.3f}")
    return rows, summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(HERE / "sessions.yaml"),
                        help="sessions config (default: the recipe's 20 meetings)")
    parser.add_argument("--out", required=True, help="corpus folder")
    parser.add_argument("-j", "--jobs", type=int, default=1, help="worker processes")
    args = parser.parse_args(argv)
    out = Path(args.out)
    try:
        summary = generate_sessions(Path(args.config), out, jobs=args.jobs, progress=False)
        print(summary.format())
        nemo = check_nemo_manifests(out)
        name = yaml.safe_load((out / "corpus.yaml").read_text())["config"]["name"]
        database = write_pyannote_protocol(out, name)
        rows, table = ratio_table(out)
        write_text_atomic(out / "manifests" / "diarization_ratios.tsv",
                          "".join(r + "\n" for r in rows))
    except SynthaudioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("NeMo manifests: " + ", ".join(
        f"{nemo_diarization_path(out, s)} ({n} sessions)" for s, n in nemo.items()))
    print(f"pyannote: PYANNOTE_DATABASE_CONFIG={database} "
          f"protocol Synthaudio.SpeakerDiarization.{name}")
    print("\n".join(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Derive the toolkit exports of a corpus from ``OUT/metadata.jsonl``.

``export_corpus`` re-reads the metadata for each chosen format (streaming, no
whole-corpus lists) and rewrites that format's files atomically; running it
twice gives byte-identical files. Where each format goes and how its paths
work is described in its module: :mod:`.kaldi`, :mod:`.espnet`, :mod:`.nemo`,
:mod:`.lhotse_export`, :mod:`.hf`, :mod:`.ctm`, :mod:`.webdataset_export`,
:mod:`.speechbrain`. Which names exist, and which writer each runs, is the registry in
:mod:`.formats` (plugins included).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthaudio.errors import InputError
from synthaudio.io.fileio import check_no_symlinks
from synthaudio.io.metadata import SPLITS, MetadataRecord, iter_metadata
from synthaudio.manifests.ctm import write_ctm
from synthaudio.manifests.espnet import DROPPED_NAME, write_espnet_dropped
from synthaudio.manifests.formats import (
    EXPORTERS,
    ExportContext,
    ExportOutcome,
    builtin_formats,
    default_formats,
    resolve_formats,
)
from synthaudio.manifests.hf import write_hf_metadata
from synthaudio.manifests.kaldi import DATA_DIR, write_kaldi_dirs
from synthaudio.manifests.lhotse_export import write_lhotse_manifests
from synthaudio.manifests.nemo import write_nemo_manifests
from synthaudio.manifests.webdataset_export import write_shards
from synthaudio.registry import resolve
from synthaudio.run.pipelines import pipeline_of

FORMATS = builtin_formats()  # the built-in names; plugins add more (formats.EXPORTERS)
DEFAULT_FORMATS = default_formats()


@dataclass(frozen=True)
class ExportReport:
    """What :func:`export_corpus` wrote."""

    out_dir: Path
    formats: tuple[str, ...]  # in registry order
    utterances: dict[str, int]  # per split, from metadata.jsonl
    espnet_dropped: int = 0  # utterances outside ESPnet's 0.1-20 s (listed, not removed)
    ctm_omitted: int = 0  # utterances without word timings, absent from the CTM files
    shards: dict[str, int] = field(default_factory=dict)  # WebDataset shards per split
    lines: tuple[str, ...] = ()  # each format's summary line, in order

    def format(self) -> str:
        """A few human-readable lines for the CLI."""
        counts = ", ".join(f"{s} {n}" for s, n in self.utterances.items())
        head = (f"exported {', '.join(self.formats)} for {sum(self.utterances.values())} "
                f"utterances ({counts}) in {self.out_dir}")
        return "\n".join([head, *self.lines])


# --- the built-in writers (named by the registry in formats.py) ----------------------------


def write_kaldi(ctx: ExportContext) -> None:
    write_kaldi_dirs(ctx.out_dir, ctx.records(), ctx.absolute_paths)


def write_espnet(ctx: ExportContext) -> ExportOutcome:
    if "kaldi" not in ctx.formats:  # ESPnet reads the Kaldi dirs
        write_kaldi_dirs(ctx.out_dir, ctx.records(), ctx.absolute_paths)
    dropped = write_espnet_dropped(ctx.out_dir, ctx.records())
    return ExportOutcome(f"espnet: {dropped} utterances outside 0.1-20 s (listed in "
                         f"{DATA_DIR}/{DROPPED_NAME})", {"espnet_dropped": dropped})


def write_nemo(ctx: ExportContext) -> None:
    write_nemo_manifests(ctx.out_dir, ctx.records(), ctx.absolute_paths)


def write_lhotse(ctx: ExportContext) -> None:
    write_lhotse_manifests(ctx.out_dir, ctx.records())


def write_hf(ctx: ExportContext) -> None:
    write_hf_metadata(ctx.out_dir, ctx.records())


def write_ctm_files(ctx: ExportContext) -> ExportOutcome:
    omitted = sum(write_ctm(ctx.out_dir, ctx.records()).omitted.values())
    line = f"ctm: {omitted} utterances without word timings left out" if omitted else None
    return ExportOutcome(line, {"ctm_omitted": omitted})


def write_webdataset(ctx: ExportContext) -> ExportOutcome:
    shards = write_shards(ctx.out_dir, ctx.records(), ctx.shard_size, jobs=ctx.jobs,
                          executor=ctx.executor, ray_address=ctx.ray_address,
                          progress=ctx.progress, total=ctx.total)
    return ExportOutcome(f"webdataset: {sum(shards.values())} shards", {"shards": shards})


# The folders of OUT the exports write into (none of them may be a link).
EXPORT_DIRS = ("data", "manifests", "alignments", "shards", "audio")  # hf: audio/<split>/
# Up to this many records are parsed once and shared by the formats (each format parsing
# metadata.jsonl again cost as much as writing it); a larger corpus streams, so the memory
# held stays bounded whatever the corpus size (records are frozen).
KEEP_RECORDS = 2000


def export_corpus(
    out_dir: Path,
    formats: Sequence[str] = DEFAULT_FORMATS,
    absolute_paths: bool = False,
    shard_size: int = 1000,
    *,
    jobs: int = 1,
    executor: str = "local",
    ray_address: str | None = None,
    progress: bool = False,
) -> ExportReport:
    """Write the chosen exports of the corpus in ``out_dir``.

    Args:
        out_dir: corpus folder holding ``metadata.jsonl`` and ``audio/``.
        formats: names of the export format registry (:mod:`.formats`), or ``"all"``.
        absolute_paths: write absolute audio paths in Kaldi ``wav.scp`` and
            NeMo manifests (default: relative; lhotse is always absolute).
        shard_size: samples per WebDataset shard (>= 1).
        jobs, executor, ray_address: where WebDataset shards are written (each by one
            worker; see :func:`synthaudio.run.executors.run_tasks`); the bytes are the same.
        progress: a bar on stderr (when it is a terminal) while the shards are written.

    Raises:
        InputError: unknown format, bad shard size, or a malformed
            ``metadata.jsonl`` / missing audio (message names file:line).
    """
    out_dir = Path(out_dir)
    check_no_symlinks(out_dir, EXPORT_DIRS)  # a linked data/train would take writes outside
    chosen = resolve_formats(formats)
    if shard_size < 1:
        raise InputError(f"shard size must be at least 1, got {shard_size}")
    # A first pass checks every record before anything is written.
    utterances = {s: 0 for s in SPLITS}
    own: Any = None  # a pipeline whose corpora its own formats export (sessions)
    kept: list[MetadataRecord] | None = []  # a small corpus's records, parsed once
    for rec in iter_metadata(out_dir):
        utterances[rec.split] += 1
        if kept is not None:
            kept.append(rec)
            if len(kept) > KEEP_RECORDS:
                kept = None  # a large corpus: each format reads the file again
        own = own or pipeline_of(rec.extra)
        if not (out_dir / rec.audio).is_file():
            raise InputError(
                f"{out_dir / 'metadata.jsonl'}:{rec.line}: audio file {rec.audio} not found"
            )
    utterances = {s: n for s, n in utterances.items() if n}
    if not utterances:
        raise InputError(f"{out_dir / 'metadata.jsonl'}: no utterances to export")
    session_line = None
    if own is not None and own.export_formats is not None:  # pipeline registry hook
        chosen, session_line = resolve(own.export_formats)(chosen, formats)

    def records() -> Iterator[MetadataRecord]:
        return iter(kept) if kept is not None else iter_metadata(out_dir)

    ctx = ExportContext(out_dir, records, chosen, absolute_paths,
                        shard_size, jobs, executor, ray_address, progress,
                        sum(utterances.values()))
    counts: dict[str, object] = {}
    lines: list[str] = [session_line] if session_line else []
    for name in chosen:  # export format registry hook
        outcome = EXPORTERS.get(name).run(ctx)
        counts.update(outcome.counts)
        if outcome.line:
            lines.append(outcome.line)
    return ExportReport(out_dir=out_dir, formats=chosen, utterances=utterances,
                        lines=tuple(lines), **counts)  # type: ignore[arg-type]

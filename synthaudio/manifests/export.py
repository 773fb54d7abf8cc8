"""Derive the toolkit exports of a corpus from ``OUT/metadata.jsonl``.

``export_corpus`` re-reads the metadata for each chosen format (streaming, no
whole-corpus lists) and rewrites that format's files atomically; running it
twice gives byte-identical files. Where each format goes and how its paths
work is described in its module: :mod:`.kaldi`, :mod:`.espnet`, :mod:`.nemo`,
:mod:`.lhotse_export`, :mod:`.hf`, :mod:`.ctm`, :mod:`.webdataset_export`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from synthaudio.errors import InputError
from synthaudio.manifests.ctm import write_ctm
from synthaudio.manifests.espnet import DROPPED_NAME, write_espnet_dropped
from synthaudio.manifests.hf import write_hf_metadata
from synthaudio.manifests.kaldi import DATA_DIR, write_kaldi_dirs
from synthaudio.manifests.lhotse_export import write_lhotse_manifests
from synthaudio.manifests.metadata import SPLITS, iter_metadata
from synthaudio.manifests.nemo import write_nemo_manifests
from synthaudio.manifests.webdataset_export import write_shards

FORMATS = ("kaldi", "espnet", "nemo", "lhotse", "hf", "ctm", "webdataset")
DEFAULT_FORMATS = ("kaldi", "nemo", "lhotse", "hf", "ctm")


@dataclass(frozen=True)
class ExportReport:
    """What :func:`export_corpus` wrote."""

    out_dir: Path
    formats: tuple[str, ...]  # in FORMATS order
    utterances: dict[str, int]  # per split, from metadata.jsonl
    espnet_dropped: int = 0  # utterances outside ESPnet's 0.1-20 s (listed, not removed)
    ctm_omitted: int = 0  # utterances without word timings, absent from the CTM files
    shards: dict[str, int] = field(default_factory=dict)  # WebDataset shards per split

    def format(self) -> str:
        """A few human-readable lines for the CLI."""
        counts = ", ".join(f"{s} {n}" for s, n in self.utterances.items())
        lines = [
            f"exported {', '.join(self.formats)} for {sum(self.utterances.values())} "
            f"utterances ({counts}) in {self.out_dir}"
        ]
        if "espnet" in self.formats:
            lines.append(
                f"espnet: {self.espnet_dropped} utterances outside 0.1-20 s "
                f"(listed in {DATA_DIR}/{DROPPED_NAME})"
            )
        if "ctm" in self.formats and self.ctm_omitted:
            lines.append(f"ctm: {self.ctm_omitted} utterances without word timings left out")
        if "webdataset" in self.formats:
            lines.append(f"webdataset: {sum(self.shards.values())} shards")
        return "\n".join(lines)


def resolve_formats(formats: Sequence[str]) -> tuple[str, ...]:
    """Expand ``"all"``, drop duplicates, order as :data:`FORMATS`; reject unknown names."""
    chosen: set[str] = set()
    for name in formats:
        key = name.strip().lower()
        if key == "all":
            chosen.update(FORMATS)
        elif key in FORMATS:
            chosen.add(key)
        else:
            raise InputError(
                f"unknown export format {name!r}; valid formats: {', '.join(FORMATS)}, all"
            )
    if not chosen:
        raise InputError(f"no export format given; valid formats: {', '.join(FORMATS)}, all")
    return tuple(f for f in FORMATS if f in chosen)


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
        formats: names from :data:`FORMATS`, or ``"all"``.
        absolute_paths: write absolute audio paths in Kaldi ``wav.scp`` and
            NeMo manifests (default: relative; lhotse is always absolute).
        shard_size: samples per WebDataset shard (>= 1).
        jobs, executor, ray_address: where WebDataset shards are written (each by one
            worker; see :func:`synthaudio.executors.run_tasks`); the bytes are the same.
        progress: a bar on stderr (when it is a terminal) while the shards are written.

    Raises:
        InputError: unknown format, bad shard size, or a malformed
            ``metadata.jsonl`` / missing audio (message names file:line).
    """
    out_dir = Path(out_dir)
    chosen = resolve_formats(formats)
    if shard_size < 1:
        raise InputError(f"shard size must be at least 1, got {shard_size}")
    # A first pass checks every record before anything is written.
    utterances = {s: 0 for s in SPLITS}
    for rec in iter_metadata(out_dir):
        utterances[rec.split] += 1
        if not (out_dir / rec.audio).is_file():
            raise InputError(
                f"{out_dir / 'metadata.jsonl'}:{rec.line}: audio file {rec.audio} not found"
            )
    utterances = {s: n for s, n in utterances.items() if n}
    if not utterances:
        raise InputError(f"{out_dir / 'metadata.jsonl'}: no utterances to export")

    espnet_dropped = ctm_omitted = 0
    shards: dict[str, int] = {}
    if "kaldi" in chosen or "espnet" in chosen:
        write_kaldi_dirs(out_dir, iter_metadata(out_dir), absolute_paths)
    if "espnet" in chosen:
        espnet_dropped = write_espnet_dropped(out_dir, iter_metadata(out_dir))
    if "nemo" in chosen:
        write_nemo_manifests(out_dir, iter_metadata(out_dir), absolute_paths)
    if "lhotse" in chosen:
        write_lhotse_manifests(out_dir, iter_metadata(out_dir))
    if "hf" in chosen:
        write_hf_metadata(out_dir, iter_metadata(out_dir))
    if "ctm" in chosen:
        ctm_omitted = sum(write_ctm(out_dir, iter_metadata(out_dir)).omitted.values())
    if "webdataset" in chosen:
        shards = write_shards(out_dir, iter_metadata(out_dir), shard_size, jobs=jobs,
                              executor=executor, ray_address=ray_address, progress=progress,
                              total=sum(utterances.values()))
    return ExportReport(
        out_dir=out_dir,
        formats=chosen,
        utterances=utterances,
        espnet_dropped=espnet_dropped,
        ctm_omitted=ctm_omitted,
        shards=shards,
    )

"""The export format registry: one :class:`ExportFormat` per name ``--format`` accepts.

``export_corpus``, the ``exports:`` config key, ``synthaudio export --format`` (choices,
default and help) and ``"all"`` read this table. A writer gets an :class:`ExportContext`
(re-iterable metadata records, options) and returns an :class:`ExportOutcome` (a summary
line for the CLI, counters for :class:`~synthaudio.manifests.export.ExportReport`).

A pipeline's own formats (``sessions``, ``speech_commands``) come with its registry entry
(:mod:`synthaudio.run.pipelines`). Another package adds a format without forking, through
an entry point::

    [project.entry-points."synthaudio.exporters"]
    my-format = "my_package.export:ENTRY"     # an ExportFormat named "my-format"

Writers are named as ``"module:attribute"`` strings, so this module imports none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthaudio.errors import InputError
from synthaudio.registry import Registry, resolve

if TYPE_CHECKING:
    from synthaudio.io.metadata import MetadataRecord


@dataclass(frozen=True)
class ExportContext:
    """What a writer gets: the corpus folder, its records and the export options."""

    out_dir: Path
    records: Callable[[], Iterator[MetadataRecord]]  # a fresh pass over metadata.jsonl
    formats: tuple[str, ...]  # every format of this export, in registry order
    absolute_paths: bool = False  # absolute audio paths where the format allows both
    shard_size: int = 1000  # samples per shard, for sharded formats
    jobs: int = 1  # workers, for writers that use them
    executor: str = "local"
    ray_address: str | None = None
    progress: bool = False  # a progress bar on stderr, for long writers
    total: int = 0  # utterances in the corpus (for a progress bar)


@dataclass(frozen=True)
class ExportOutcome:
    """What a writer reports: a line for the CLI and counters for the ExportReport."""

    line: str | None = None
    counts: Mapping[str, Any] = field(default_factory=dict)  # ExportReport field -> value


@dataclass(frozen=True)
class ExportFormat:
    name: str  # what --format and exports: name
    write: Callable[[ExportContext], ExportOutcome | None] | str  # or "module:attribute"
    description: str  # one line: what it writes and where, for --help
    default: bool = False  # in the default --format / exports: list

    def run(self, ctx: ExportContext) -> ExportOutcome:
        return resolve(self.write)(ctx) or ExportOutcome()



def _pipeline_exporters(plugins: bool) -> Callable[[], list[ExportFormat]]:
    def formats() -> list[ExportFormat]:
        from synthaudio.run.pipelines import pipeline_exporters  # the pipelines' own formats

        return pipeline_exporters(plugins=plugins)
    return formats


EXPORTERS: Registry[ExportFormat] = Registry(
    "export format", "synthaudio.exporters", ExportFormat,
    builtins=_pipeline_exporters(False), from_plugins=_pipeline_exporters(True))

_W = "synthaudio.manifests.export:"
for _entry in (
    ExportFormat("kaldi", _W + "write_kaldi", "Kaldi data dirs, data/<split>/", default=True),
    ExportFormat("espnet", _W + "write_espnet",
                 "Kaldi dirs plus ESPnet's list of utterances outside 0.1-20 s"),
    ExportFormat("nemo", _W + "write_nemo", "NeMo JSON-lines manifests, manifests/nemo/",
                 default=True),
    ExportFormat("lhotse", _W + "write_lhotse",
                 "Lhotse recordings/supervisions/cuts, manifests/lhotse/", default=True),
    ExportFormat("hf", _W + "write_hf", "Hugging Face audiofolder metadata, audio/",
                 default=True),
    ExportFormat("ctm", _W + "write_ctm_files", "CTM word alignments, alignments/",
                 default=True),
    ExportFormat("webdataset", _W + "write_webdataset",
                 "WebDataset tar shards (<id>.flac + <id>.json), shards/<split>/"),
    ExportFormat("speechbrain", "synthaudio.manifests.speechbrain:write_speechbrain",
                 "SpeechBrain CSV (ID,duration,wav,spk_id,wrd), manifests/speechbrain/"),
):  # then each pipeline's own formats (PipelineEntry.exporters: sessions, speech_commands)
    EXPORTERS.register(_entry)


def builtin_formats() -> tuple[str, ...]:
    """The formats synthaudio itself ships, in order (no entry-point scan)."""
    return EXPORTERS.names(plugins=False)


def default_formats() -> tuple[str, ...]:
    return tuple(e.name for e in EXPORTERS.entries(plugins=False) if e.default)


def resolve_formats(formats: Sequence[str]) -> tuple[str, ...]:
    """Expand ``"all"``, drop duplicates, order as the registry; reject unknown names."""
    chosen: set[str] = set()
    for name in formats:
        key = name.strip().lower()
        if key == "all":
            chosen.update(EXPORTERS.names())
        elif key in EXPORTERS:
            chosen.add(key)
        else:
            raise InputError(f"unknown export format {name!r}; valid formats: "
                             f"{', '.join(EXPORTERS.names())}, all")
    if not chosen:
        raise InputError(f"no export format given; valid formats: "
                         f"{', '.join(EXPORTERS.names())}, all")
    return tuple(f for f in EXPORTERS.names() if f in chosen)

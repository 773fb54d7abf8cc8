"""The pipeline registry: every ``synthaudio`` command that makes a corpus on the run engine.

A pipeline is one folder (``synthaudio/pipelines/<name>/``, or a package of its own) and one
:class:`PipelineEntry`, found like the TTS engines: the built-ins by name here, others
through the entry-point group ``synthaudio.pipelines``::

    [project.entry-points."synthaudio.pipelines"]
    tones = "my_package.tones:PIPELINE"

The entry names what the rest of the package needs from a pipeline, so that nothing else
names it: its CLI subcommand (``name``, ``description``, the library function ``make`` and
the subcommand's ``arguments``), its config model, what it writes under OUT besides the
engine's files (``outputs``: what ``--overwrite`` may replace), its random stream tags
(checked against :data:`synthaudio.streams.STREAMS`), its export formats (they join the
export registry) and the validator of the corpora it makes (``marker``: the metadata key
its records carry). Heavy code is named by ``"module:attribute"`` strings, resolved on use,
so listing the pipelines (``synthaudio --help``) imports none of them.

The engine side of a pipeline (plan, task, groups, resolved config) is
:class:`synthaudio.run.engine.Pipeline`; the shared front half (options, config load, the
resolved config, errors that name the config file) is :mod:`synthaudio.run.front`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from synthaudio.registry import Registry, resolve

# A subcommand's options: the generic ones (config, -o, -j, --seed, --overwrite, --resume,
# -q, --executor) come from run.cliargs unless a pipeline gives its own ``arguments``.
Arguments = Callable[[argparse.ArgumentParser, "PipelineEntry"], None]
Command = Callable[[argparse.Namespace, "PipelineEntry", int], Any]


@dataclass(frozen=True, kw_only=True)
class PipelineEntry:
    """One pipeline (see the module docstring)."""

    name: str  # the CLI subcommand, logs/<name>.log
    description: str  # the subcommand's help line
    make: Any  # "module:function": make(config, out, *, jobs, seed, overwrite, resume,
    #            progress, executor, ray_address, **options) -> summary (with .format())
    config_help: str = "the pipeline's config file"  # help of the CONFIG argument
    options: tuple[str, ...] = ()  # CLI options passed on to ``make`` by name (generate: limit)
    arguments: Any = None  # "module:function"(parser, entry): more CLI options (or all of them)
    command: Any = None  # "module:function"(args, entry, jobs) -> summary, when not ``make``'s
    config_model: Any = None  # "module:Class" of its config file
    outputs: tuple[str, ...] = ()  # what it writes under OUT besides the engine's files
    stream_tags: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    exporters: tuple[Any, ...] = ()  # its export formats (manifests.formats.ExportFormat)
    validator: Any = None  # "module:function"(out_dir, records) -> problems
    marker: str | None = None  # the metadata key its records carry (validate dispatches on it)
    # "module:function"(chosen, given) -> (formats, line): the formats a corpus carrying the
    # marker is exported as (sessions: its own, at turn level)
    export_formats: Any = None
    # "module:function"(record's extra keys) -> the speakers of one of its records (sessions:
    # the talkers), for validate's speaker-split check
    speakers_of: Any = None

    def make_function(self) -> Callable[..., Any]:
        return resolve(self.make)  # type: ignore[no-any-return]


_BUILTIN = ("synthaudio.pipelines.generate:PIPELINE",
            "synthaudio.pipelines.augment_dir:PIPELINE",
            "synthaudio.pipelines.sessions:PIPELINE",
            "synthaudio.pipelines.keywords:PIPELINE")


def _builtins() -> Iterable[PipelineEntry]:
    return [resolve(target) for target in _BUILTIN]


PIPELINES: Registry[PipelineEntry] = Registry("pipeline", "synthaudio.pipelines", PipelineEntry,
                                              builtins=_builtins)


def pipeline_outputs() -> tuple[str, ...]:
    """What every known pipeline writes under OUT besides the engine's own files."""
    names: list[str] = []
    for entry in PIPELINES.entries():
        names += [n for n in entry.outputs if n not in names]
    return tuple(names)


def pipeline_exporters(*, plugins: bool) -> list[Any]:
    """The export formats the pipelines bring (built-in ones, or only the plugins')."""
    builtin = set(PIPELINES.names(plugins=False))
    return [fmt for entry in PIPELINES.entries(plugins=plugins)
            if (entry.name not in builtin) == plugins for fmt in entry.exporters]


def pipeline_stream_tags() -> dict[str, int]:
    """Every pipeline's own stream tags, ``pipeline.tag`` -> number."""
    return {f"{e.name}.{tag}": n for e in PIPELINES.entries() for tag, n in e.stream_tags.items()}


def pipeline_of(record: Mapping[str, Any]) -> PipelineEntry | None:
    """The pipeline whose ``marker`` is a key of ``record`` (a record's extra keys), or
    None (an utterance corpus)."""
    for entry in PIPELINES.entries():
        if entry.marker is not None and entry.marker in record:
            return entry
    return None


def validator_for(record: Mapping[str, Any]) -> tuple[PipelineEntry, Callable[..., Any]] | None:
    """The pipeline whose corpora carry a key of ``record`` (its ``marker``) and its
    validator, or None (an utterance corpus: the exports' own checks)."""
    for entry in PIPELINES.entries():
        if entry.marker is not None and entry.marker in record and entry.validator is not None:
            return entry, resolve(entry.validator)
    return None


def by_name(names: Sequence[str]) -> list[PipelineEntry]:
    return [PIPELINES.get(n) for n in names]

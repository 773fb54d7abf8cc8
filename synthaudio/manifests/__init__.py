"""Exports of a corpus for ASR toolkits, derived from ``OUT/metadata.jsonl``, and its validator.

``export_corpus(OUT, formats)`` writes Kaldi/ESPnet data directories, NeMo,
lhotse and Hugging Face manifests, CTM word alignments, WebDataset shards and
SpeechBrain CSVs (the formats are the registry in :mod:`.formats`);
``validate_corpus(OUT)`` lists every inconsistency as ``path:line: message``.

The names below are imported on first use (PEP 562), so importing the light
:mod:`.formats` registry does not load every writer.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "DEFAULT_FORMATS": "synthaudio.manifests.export",
    "FORMATS": "synthaudio.manifests.export",
    "ExportReport": "synthaudio.manifests.export",
    "export_corpus": "synthaudio.manifests.export",
    "Problem": "synthaudio.manifests.problem",
    "format_problems": "synthaudio.manifests.problem",
    "validate_corpus": "synthaudio.manifests.validate",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

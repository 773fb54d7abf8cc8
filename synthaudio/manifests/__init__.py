"""Exports of a corpus for ASR toolkits, derived from ``OUT/metadata.jsonl``, and its validator.

``export_corpus(OUT, formats)`` writes Kaldi/ESPnet data directories, NeMo,
lhotse and Hugging Face manifests, CTM word alignments and WebDataset shards;
``validate_corpus(OUT)`` lists every inconsistency as ``path:line: message``.
"""

from synthaudio.manifests.export import DEFAULT_FORMATS, FORMATS, ExportReport, export_corpus
from synthaudio.manifests.problem import Problem, format_problems
from synthaudio.manifests.validate import validate_corpus

__all__ = [
    "DEFAULT_FORMATS",
    "FORMATS",
    "ExportReport",
    "Problem",
    "export_corpus",
    "format_problems",
    "validate_corpus",
]

"""The quality gate: drop and re-draw utterances whose clean rendering the ASR cannot read.

With a ``quality:`` section, each utterance's clean speech (before the environment) is
decoded; when its character error rate exceeds ``max_cer`` the utterance is re-drawn with
fresh prosody (up to ``max_redraws`` times) and otherwise dropped. Every decision is a
function of the utterance's own random stream, so the corpus stays reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field, StrictInt

from synthaudio.configbase import ConfigModel

if TYPE_CHECKING:  # the ASR side loads only when a gate is built: configs stay light
    from synthaudio.evaluate.asr import ASRBackend


class QualityConfig(ConfigModel):
    """The ``quality:`` section of ``corpus.yaml``."""

    asr: Literal["pocketsphinx", "pocketsphinx:corpus-lm"] = "pocketsphinx:corpus-lm"
    max_cer: float = Field(default=0.5, ge=0.0, le=10.0)  # CER of the clean rendering
    max_redraws: StrictInt = Field(default=2, ge=0, le=20)  # new prosody draws before dropping


@dataclass(frozen=True)
class QualityCheck:
    passed: bool
    cer: float
    hypothesis: str

    def to_dict(self) -> dict[str, Any]:
        return {"cer": round(self.cer, 4), "hypothesis": self.hypothesis}


class QualityGate:
    """Decodes clean renderings with a backend built once, in the parent (it pickles)."""

    def __init__(self, cfg: QualityConfig, backend: ASRBackend) -> None:
        self.cfg = cfg
        self.backend = backend

    @classmethod
    def build(cls, cfg: QualityConfig, corpus_texts: Sequence[str], work_dir: Path) -> QualityGate:
        """The gate for a corpus: the corpus-constrained model is written under ``work_dir``."""
        from synthaudio.evaluate.asr import make_backend

        return cls(cfg, make_backend(cfg.asr, corpus_texts=list(corpus_texts), work_dir=work_dir))

    def check(self, audio: np.ndarray, sample_rate: int, text: str) -> QualityCheck:
        from synthaudio.evaluate.evaluate import transcribe_clean

        hyp, cer = transcribe_clean(audio, sample_rate, self.backend, text)
        return QualityCheck(cer <= self.cfg.max_cer, float(cer), hyp)

"""The TTS engine protocol shared by every front end.

Audio is float32 mono ``(n_samples,)`` at the engine's native rate; word timings
are in seconds from the start of that audio.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class WordTiming:
    word: str
    start_s: float
    dur_s: float

    def to_list(self) -> list[Any]:
        return [self.word, round(self.start_s, 3), round(self.dur_s, 3)]


@dataclass(frozen=True)
class Synthesis:
    audio: np.ndarray  # float32 (n_samples,), in [-1, 1]
    sample_rate: int  # Hz, the engine's native rate
    words: tuple[WordTiming, ...] | None  # None when the engine gives no timings


@dataclass(frozen=True)
class VoiceInfo:
    name: str  # what a config names (e.g. "en-us")
    languages: tuple[str, ...]
    gender: str | None  # "m", "f" or None
    engine: str


class TTSEngine(Protocol):
    """What the corpus generator needs from a text-to-speech engine."""

    name: str

    def version(self) -> str: ...

    def voices(self) -> list[VoiceInfo]: ...

    def synthesize(self, text: str, voice: Any) -> Synthesis: ...

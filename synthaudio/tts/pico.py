"""SVOX Pico (``ttspico``, built from source by pip), in process: en-US and en-GB.

Optional: ``pip install 'synthaudio[pico]'``. Two female voices recorded from two more
speakers (American and British English); 16 kHz float32 mono ``(n_samples,)``. Pico reports
no word positions: ``words`` is None, and the render stage gets timings from forced
alignment.

Measured on one sentence (median F0 by ``librosa.pyin``): ``pitch`` (percent) scales F0
in proportion (en-US 80 -> 125 %: 139 -> 218 Hz, default 175 Hz; en-GB 142 -> 223 Hz) and
``rate`` (percent) the tempo (85 -> 115 %: 5.91 -> 4.49 s).

A Pico engine carries signal state from one utterance into the next (the same text comes
out different the second time), so each utterance gets a fresh engine (2.5 ms): its bytes
depend on its own text and voice only.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from synthaudio.configbase import check_range
from synthaudio.errors import ConfigError, SynthaudioError
from synthaudio.tts.balance import deal_voices
from synthaudio.tts.base import Synthesis, VoiceInfo

ENGINE_NAME = "pico"
INSTALL_HINT = "pip install 'synthaudio[pico]'"
SAMPLE_RATE = 16000
SHIPPED: dict[str, str] = {"en-US": "f", "en-GB": "f"}  # voice -> gender

Range = tuple[float, float]


class PicoConfig(BaseModel):
    """``speakers.pico`` of a corpus config: which voices, and the per-speaker ranges."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    voices: list[str] = Field(default_factory=lambda: list(SHIPPED), min_length=1)
    pitch_percent: Range = (80.0, 120.0)  # F0 in proportion
    rate_percent: Range = (85.0, 115.0)  # > 100 faster

    @model_validator(mode="after")
    def _ranges(self) -> PicoConfig:
        check_range(self.pitch_percent, "pitch_percent", 50, 200)
        check_range(self.rate_percent, "rate_percent", 20, 500)
        for v in self.voices:
            if v not in SHIPPED:
                raise ValueError(f"voices: {v!r} is not a Pico English voice "
                                 f"({', '.join(SHIPPED)})")
        return self


@dataclass(frozen=True)
class PicoVoice:
    """Everything that sets how Pico speaks one utterance."""

    voice: str  # "en-US" or "en-GB"
    pitch_percent: int = 100
    rate_percent: int = 100

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sample_voice(cfg: PicoConfig, name: str, rng: np.random.Generator) -> PicoVoice:
    """One speaker's Pico voice with pitch and rate drawn from ``cfg``."""
    return PicoVoice(name, int(round(rng.uniform(*cfg.pitch_percent))),
                     int(round(rng.uniform(*cfg.rate_percent))))


def _ttspico() -> Any:
    try:
        import ttspico
    except ImportError as exc:
        raise SynthaudioError(f"pico: ttspico is not installed ({exc}); {INSTALL_HINT}") \
            from None
    return ttspico


class PicoEngine:
    """SVOX Pico in process (implements :class:`~synthaudio.tts.base.TTSEngine`)."""

    name = ENGINE_NAME

    def __init__(self) -> None:
        self._module = _ttspico()
        self._lock = threading.Lock()

    def version(self) -> str:
        return pico_version()

    def voices(self) -> list[VoiceInfo]:
        return [VoiceInfo(name, (name.lower(),), gender, ENGINE_NAME)
                for name, gender in SHIPPED.items()]

    def synthesize(self, text: str, voice: PicoVoice) -> Synthesis:
        if voice.voice not in SHIPPED:
            raise ConfigError(f"pico: no voice {voice.voice!r} ({', '.join(SHIPPED)})")
        chunks: list[bytes] = []

        def collect(fmt: Any, audio: bytes, fin: bool) -> bool:
            chunks.append(audio)
            return True

        with self._lock:
            try:
                engine = self._module.TtsEngine(voice.voice)  # fresh: no state carried over
            except RuntimeError as exc:
                raise SynthaudioError(f"pico: cannot load voice {voice.voice!r}: {exc}") \
                    from None
            engine.set_property("pitch", voice.pitch_percent)
            engine.set_property("rate", voice.rate_percent)
            engine.speak(text, collect)
            del engine
        pcm = np.frombuffer(b"".join(chunks), np.int16)
        return Synthesis(pcm.astype(np.float32) / 32768.0, SAMPLE_RATE, None)


# --- the engine's hooks (factory, version, voices, speaker sampler) ----------------------


def engine_for(section: PicoConfig | None, config_dir: Path | None = None) -> PicoEngine:
    return PicoEngine()


def pico_version() -> str:
    """The installed ttspico version ("" when not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"ttspico {version('ttspico')}"
    except PackageNotFoundError:
        return ""


def list_voices(section: PicoConfig | None = None) -> list[VoiceInfo]:
    return PicoEngine().voices()


def voice_genders(engine: PicoEngine, section: PicoConfig | None) -> list[str | None]:
    """The gender of each voice :func:`speaker_voices` deals from."""
    return [SHIPPED[name] for name in (section or PicoConfig()).voices]


def speaker_voices(engine: PicoEngine, section: PicoConfig | None, count: int,
                   rng: np.random.Generator, corpus_language: str = "en-us",
                   genders: Sequence[str | None] | None = None,
                   ) -> list[tuple[PicoVoice, str | None]]:
    """(voice, gender) of ``count`` speakers: the section's voices dealt in turns from a
    drawn order (with ``genders``, each speaker takes the next voice of its gender), each
    speaker's pitch and rate drawn from ``rng``."""
    cfg = section if section is not None else PicoConfig()
    if not corpus_language.lower().startswith("en"):
        raise ConfigError(f"pico: synthaudio uses its English voices only; the corpus "
                          f"language is {corpus_language!r}")
    names = [cfg.voices[k] for k in rng.permutation(len(cfg.voices))]
    dealt = deal_voices(names, [SHIPPED[n] for n in names], genders, count)
    return [(sample_voice(cfg, name, rng), SHIPPED[name]) for name in dealt]

"""Issue 13's engines (flite, piper, festival, pico) as one table, until the TTS engine
registry lands.

Each engine module has the same shape: a pydantic config model for its
``speakers.<section>:``, a voice record (frozen dataclass with ``to_dict``), a factory
``engine_for(section, config_dir)`` called inside each worker, ``<name>_version()``,
``list_voices(section)``, a per-speaker sampler ``sample_voice(section, name, rng)`` and
``speaker_voices(engine, section, count, rng, corpus_language)`` that deals a corpus's
speakers their voices. The hooks in config, speakers, plan, render and generate (marked
"issue-13 engines hook") look engines up here; each row maps onto one registry entry.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ExtraEngine:
    name: str  # what speakers.engine(s) name, and the "engine" of each record
    module: str  # its module; the attributes below are looked up there on first use
    section: str  # key of its speakers.<section>: config
    section_required: bool  # a config giving it speakers must have the section
    voice_type: str  # class name of its voice records
    version: str  # function name: () -> version string
    word_timings: bool  # whether its Synthesis carries word timings

    def attr(self, name: str) -> Any:
        return getattr(importlib.import_module(self.module), name)


EXTRA_ENGINES: tuple[ExtraEngine, ...] = (
    ExtraEngine("flite", "synthaudio.tts.flite", "flite", False, "FliteVoice", "flite_version",
                True),
    ExtraEngine("festival", "synthaudio.tts.festival", "festival", False, "FestivalVoice",
                "festival_version", True),
    ExtraEngine("pico", "synthaudio.tts.pico", "pico", False, "PicoVoice", "pico_version",
                False),
    ExtraEngine("piper", "synthaudio.tts.piper", "piper", True, "PiperVoice", "piper_version",
                True),
)
NAMES = tuple(e.name for e in EXTRA_ENGINES)


def get(name: str) -> ExtraEngine:
    for entry in EXTRA_ENGINES:
        if entry.name == name:
            return entry
    raise KeyError(name)


def of_voice(voice: object) -> ExtraEngine | None:
    """The engine whose voice record ``voice`` is (None: espeak-ng's or Coqui's)."""
    module = type(voice).__module__
    for entry in EXTRA_ENGINES:
        if module == entry.module and type(voice).__name__ == entry.voice_type:
            return entry
    return None


_BUILT: dict[str, Any] = {}
_LOCK = threading.Lock()


def engine(entry: ExtraEngine, section: Any, config_dir: Path | None) -> Any:
    """This process's engine of ``entry`` for a config section, built on first use."""
    key = f"{entry.name}|{section.model_dump_json() if section is not None else ''}|{config_dir}"
    with _LOCK:
        if key not in _BUILT:
            _BUILT[key] = entry.attr("engine_for")(section, config_dir)
        return _BUILT[key]


def versions(used: set[str]) -> dict[str, str]:
    """``{engine: version}`` of the table's engines among ``used``."""
    return {e.name: e.attr(e.version)() for e in EXTRA_ENGINES if e.name in used}

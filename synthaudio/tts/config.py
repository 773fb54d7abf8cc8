"""The ``speakers:`` section of a corpus config: the ranges each synthetic speaker is drawn
from (engines, voices, variants, prosody, genders, voice conversion) and the per-utterance
jitter. Casting (:mod:`synthaudio.tts.speakers`, :mod:`synthaudio.tts.balance`) reads it;
the corpus config (:mod:`synthaudio.pipelines.generate.config`) embeds it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    Field,
    SerializerFunctionWrapHandler,
    StrictInt,
    field_validator,
    model_serializer,
    model_validator,
)

from synthaudio.configbase import ConfigModel, Range, check_range
from synthaudio.tts.conversion import ConversionConfig
from synthaudio.tts.coqui import CoquiConfig
from synthaudio.tts.variants import VariantConfig

EngineName = str  # a name in the TTS engine registry (synthaudio.tts.engines.ENGINES)

_Model = ConfigModel


class JitterConfig(_Model):
    """Per-utterance prosody jitter: uniform in +/- these half-widths around the speaker's value."""

    rate_wpm: float = Field(default=8.0, ge=0, le=60)
    pitch: float = Field(default=3.0, ge=0, le=20)


class SpeakersConfig(_Model):
    """Ranges each synthetic speaker is drawn from once; the speaker then keeps its voice."""

    count: StrictInt = Field(ge=1, le=100_000)
    engine: EngineName = "espeak-ng"  # every speaker's engine, unless `engines` is set
    # shares of the speakers per engine, e.g. {espeak-ng: 0.7, coqui-tts: 0.3}
    engines: dict[EngineName, float] | None = Field(default=None,
                                                    exclude_if=lambda v: v is None)
    # the Coqui model and which of its voices, when coqui-tts speaks
    coqui: CoquiConfig | None = Field(default=None, exclude_if=lambda v: v is None)
    # espeak-ng variants: the shipped files named in `variants`, one generated per speaker
    # from `generated`, or generated for a `generated.mixed_fraction` share ("mixed")
    variant_mode: Literal["shipped", "generated", "mixed"] = Field(
        default="shipped", exclude_if=lambda v: v == "shipped")
    generated: VariantConfig = Field(default_factory=VariantConfig,
                                     exclude_if=lambda v: v == VariantConfig())
    voices: list[str] = Field(default_factory=lambda: ["en-us"], min_length=1)
    # shipped variants (voices/!v); "none" is the plain voice
    variants: list[str] = Field(
        default_factory=lambda: ["m1", "m2", "m3", "m4", "m5", "m6", "m7",
                                 "f1", "f2", "f3", "f4", "f5"],
        min_length=1,
    )
    rate_wpm: Range = (140.0, 190.0)
    pitch: Range = (35.0, 65.0)
    pitch_range: Range = (30.0, 70.0)
    volume: Range = (90.0, 110.0)
    word_gap_ms: Range = (0.0, 20.0)
    jitter: JitterConfig = JitterConfig()
    # voices, genders and shipped variants shared out evenly (synthaudio.tts.balance), no
    # variant in two splits, each speaker reading its prompts in its own order
    balance: bool = True
    # gender shares across all engines for `balance`, e.g. {m: 1, f: 1}; None: those of
    # espeak-ng's variants (or generated.female_fraction)
    genders: dict[Literal["m", "f"], float] | None = Field(default=None,
                                                           exclude_if=lambda v: v is None)
    # WORLD voice conversion of a share of the speakers (synthaudio.tts.conversion)
    conversion: ConversionConfig | None = Field(default=None, exclude_if=lambda v: v is None)
    # speakers.<section> of engines from other packages (entry points), by section key;
    # dumped back under their own keys
    engine_sections: dict[str, Any] = Field(default_factory=dict, exclude=True)

    # --- derived configs (recipes: one engine, one voice) -----------------------------------

    def only_engines(self, shares: dict[str, float]) -> SpeakersConfig:
        """Every speaker from ``shares``' engines (the single ``engine`` back to its default)."""
        return self.replace(engines=dict(shares),
                            engine=type(self).model_fields["engine"].default)

    def single_voice(self) -> SpeakersConfig:
        """One espeak-ng voice for every speaker: the first voice and variant, every range
        at its midpoint, no jitter, no conversion."""
        middle = {key: [(lo + hi) / 2] * 2 for key in ("rate_wpm", "pitch", "pitch_range",
                                                       "volume", "word_gap_ms")
                  for lo, hi in [getattr(self, key)]}
        return self.only_engines({"espeak-ng": 1.0}).replace(
            voices=self.voices[:1], variants=self.variants[:1], conversion=None,
            jitter={"rate_wpm": 0.0, "pitch": 0.0}, **middle)

    # --- engine registry hooks (synthaudio.tts.engines) -------------------------------------

    @model_validator(mode="before")
    @classmethod
    def _plugin_sections(cls, data: Any) -> Any:
        """Move ``speakers.<section>`` of registered plugin engines into engine_sections."""
        if not isinstance(data, dict):
            return data
        unknown = [k for k in data if k not in cls.model_fields]
        if not unknown:
            return data
        from synthaudio.tts.engines import by_section

        data, sections = dict(data), dict(data.get("engine_sections") or {})
        for key in unknown:
            entry = by_section(key)
            if entry is not None:
                sections[key] = entry.validate_section(data.pop(key))
        return {**data, "engine_sections": sections} if sections else data

    @model_serializer(mode="wrap")
    def _dump_sections(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        out: dict[str, Any] = handler(self)
        for key, section in self.engine_sections.items():
            out[key] = section.model_dump(mode="json") if isinstance(section, BaseModel) \
                else section
        return out

    @field_validator("engine")
    @classmethod
    def _known_engine(cls, value: str) -> str:
        from synthaudio.tts.engines import ENGINES

        if value not in ENGINES:
            raise ValueError(f"unknown TTS engine {value!r}; known: {', '.join(ENGINES.names())}")
        return value

    @field_validator("engines")
    @classmethod
    def _known_engines(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        from synthaudio.tts.engines import ENGINES

        for name in value or {}:
            if name not in ENGINES:
                raise ValueError(f"unknown TTS engine {name!r}; known: "
                                 f"{', '.join(ENGINES.names())}")
        return value

    @field_validator("genders")
    @classmethod
    def _gender_shares(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is not None and (any(v < 0 for v in value.values())
                                  or sum(value.values()) <= 0):
            raise ValueError("genders: shares must be >= 0 with a positive sum")
        return value

    def engine_section(self, name: str) -> Any:
        """The ``speakers.<section>`` config of engine ``name`` (None when not given)."""
        from synthaudio.tts.engines import ENGINES

        entry = ENGINES.get(name)
        if entry.section is None:
            return None
        declared = getattr(self, entry.section, None) if entry.section in type(
            self).model_fields else None
        return declared if declared is not None else self.engine_sections.get(entry.section)

    @model_validator(mode="after")
    def _ranges(self) -> SpeakersConfig:
        check_range(self.rate_wpm, "rate_wpm", 80, 450)
        check_range(self.pitch, "pitch", 0, 99)
        check_range(self.pitch_range, "pitch_range", 0, 99)
        check_range(self.volume, "volume", 0, 200)
        check_range(self.word_gap_ms, "word_gap_ms", 0, 500)
        shares = self.engines or {self.engine: 1.0}
        if any(v < 0 for v in shares.values()) or sum(shares.values()) <= 0:
            raise ValueError("engines: shares must be >= 0 with a positive sum")
        from synthaudio.tts.engines import ENGINES

        for name, share in shares.items():
            entry = ENGINES.get(name)  # known: checked by the field validators
            if share > 0 and entry.section_required and self.engine_section(name) is None:
                raise ValueError(f"{entry.section}: needed when {name} speaks (engine or "
                                 "engines)")
        return self

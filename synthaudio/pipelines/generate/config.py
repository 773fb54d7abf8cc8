"""The corpus config (``corpus.yaml``): typed, validated, with errors that say where.

Every model is frozen and forbids unknown keys. ``load_corpus_config`` turns any problem
into a one-line :class:`~synthaudio.errors.ConfigError` naming the file, line and key path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeVar, overload

from pydantic import (
    Field,
    StrictInt,
    field_validator,
    model_validator,
)

from synthaudio.augment.config import AugmentConfig
from synthaudio.configbase import (
    ConfigModel,
    parse_config,
    read_config_text,
)
from synthaudio.manifests.formats import default_formats
from synthaudio.pipelines.generate.quality import QualityConfig
from synthaudio.splits import SplitsConfig
from synthaudio.tts.config import SpeakersConfig

_Model = ConfigModel  # the name the models here were written against


class TextSource(_Model):
    """One source of prompts: a prompt file (relative to the config) or a template grammar."""

    file: str | None = None  # path to a prompt file, relative to the config file
    template: str | None = None  # e.g. "turn {on|off} the {light|fan}"
    count: StrictInt | None = Field(default=None, ge=1)  # template draws; None: all expansions

    @model_validator(mode="after")
    def _one_kind(self) -> TextSource:
        if (self.file is None) == (self.template is None):
            raise ValueError("each text source needs exactly one of 'file' or 'template'")
        if self.file is not None and self.count is not None:
            raise ValueError("'count' applies to templates only")
        return self


class TextConfig(_Model):
    sources: list[TextSource] = Field(min_length=1)


class UtterancesConfig(_Model):
    per_speaker: StrictInt = Field(ge=1, le=1_000_000)


class AudioConfig(_Model):
    sample_rate: StrictInt = Field(default=16000, ge=8000, le=48000)
    format: Literal["wav", "flac"] = "wav"
    stems: bool = False  # write OUT/stems/<id>/{speech,noise}.wav as mixed


class CorpusConfig(_Model):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    seed: StrictInt = Field(default=0, ge=0)  # numpy's SeedSequence takes no negatives
    language: str = "en-us"  # text normalization language
    text: TextConfig
    speakers: SpeakersConfig
    utterances: UtterancesConfig
    splits: SplitsConfig = SplitsConfig()
    disjoint_text: bool = False  # keep each prompt in one split only
    audio: AudioConfig = AudioConfig()
    augment: AugmentConfig | None = None
    quality: QualityConfig | None = None  # drop and re-draw what the ASR cannot read
    exports: list[str] = Field(default_factory=lambda: list(default_formats()))
    shard_size: StrictInt = Field(default=1000, ge=1)  # samples per WebDataset shard

    @field_validator("exports")
    @classmethod
    def _known_exports(cls, value: list[str]) -> list[str]:
        return check_exports(value)


def with_sources_from(cfg: M, config_dir: Path) -> M:
    """``cfg`` (a config with a ``text`` section: corpus, sessions, keywords) with its prompt
    files' paths absolute (relative ones are to ``config_dir``): a config derived from it
    can live anywhere."""
    text = getattr(cfg, "text", None)
    if text is None:
        return cfg
    sources = [s.replace(file=str((config_dir / s.file).resolve())) if s.file is not None else s
               for s in text.sources]
    return cfg.replace(text=text.replace(sources=[s.model_dump(mode="json") for s in sources]))


def with_rir_bank(cfg: M, rooms: int) -> M:
    """``cfg`` (a config with an ``augment`` section) with ``rooms`` rooms in its RIR bank;
    as it is without simulated rooms."""
    augment = getattr(cfg, "augment", None)
    if augment is None or augment.room is None:
        return cfg
    return cfg.replace(augment=augment.replace(room=augment.room.replace(bank_size=rooms)))


def resized(cfg: C, *, speakers: int | None = None, per_speaker: int | None = None,
            rir_bank: int | None = None) -> C:
    """``cfg`` with another number of speakers, utterances a speaker or rooms in its RIR
    bank (None: as it is)."""
    if speakers is not None:
        cfg = cfg.replace(speakers=cfg.speakers.replace(count=speakers))
    if per_speaker is not None:
        cfg = cfg.replace(utterances=cfg.utterances.replace(per_speaker=per_speaker))
    return cfg if rir_bank is None else with_rir_bank(cfg, rir_bank)


def check_exports(value: list[str]) -> list[str]:
    """``exports:`` of a config: names of the export format registry, or "all"."""
    from synthaudio.manifests.formats import EXPORTERS  # the export format registry

    unknown = [f for f in value if f != "all" and f not in EXPORTERS]
    if unknown or not value:
        problem = f"unknown export format(s) {unknown}" if unknown else "no export format"
        raise ValueError(f"{problem}; choose from {', '.join(EXPORTERS.names())} or all")
    return value





C = TypeVar("C", bound=CorpusConfig)
M = TypeVar("M", bound=ConfigModel)


@overload
def parse_corpus_config(text: str, source: str = "<config>") -> CorpusConfig: ...


@overload
def parse_corpus_config(text: str, source: str, model: type[C]) -> C: ...


def parse_corpus_config(text: str, source: str = "<config>",
                        model: type[CorpusConfig] = CorpusConfig) -> CorpusConfig:
    """Parse and validate YAML text (as ``model``: a corpus config, or one built on it such
    as the sessions config); raise ConfigError naming where the problem is."""
    return parse_config(model, text, source)


def load_corpus_config(path: Path) -> CorpusConfig:
    """Read ``corpus.yaml``; raise ConfigError on a missing, unreadable or invalid file."""
    return parse_corpus_config(read_config_text(path), str(path))

"""The keywords config (``keywords.yaml``): targets, clip length, counts and shares, hard
negatives, streams; the speakers, splits, audio and augment sections are the corpus
config's own models.

Every model is frozen and forbids unknown keys; :func:`load_keywords_config` turns any
problem into a one-line :class:`~synthaudio.errors.ConfigError` naming file, line and key.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import Field, StrictInt, field_validator, model_validator

from synthaudio.augment.config import AugmentConfig
from synthaudio.configbase import (
    ConfigModel,
    Range,
    check_range,
    parse_config,
    read_config_text,
)
from synthaudio.pipelines.generate.config import (
    AudioConfig,
    CorpusConfig,
    TextConfig,
    check_exports,
)
from synthaudio.pipelines.generate.quality import QualityConfig
from synthaudio.splits import SplitsConfig
from synthaudio.tts.config import SpeakersConfig

UNKNOWN = "_unknown_"  # Speech Commands' label of other speech
SILENCE = "_silence_"  # and of clips without speech
BACKGROUND = "_background_noise_"  # its folder of long noise recordings
_LABEL = re.compile(r"[a-z0-9][a-z0-9_]*")


class TargetConfig(ConfigModel):
    """One keyword or wake phrase; a plain string in the YAML is its ``text``."""

    text: str = Field(min_length=1)  # what is said, e.g. "hey jarvis"
    label: str | None = None  # folder name; default: the text, spaces as "_"

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        if isinstance(data, bool):  # YAML 1.1 reads unquoted yes/no/on/off as booleans
            raise ValueError(f"got {str(data).lower()}: quote the word (\"yes\", \"no\", "
                             "\"on\", \"off\" unquoted are booleans in YAML)")
        return {"text": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _label(self) -> TargetConfig:
        words = self.text.lower().split()
        if not words:
            raise ValueError("a target needs at least one word")
        object.__setattr__(self, "text", " ".join(words))
        if self.label is None:
            object.__setattr__(self, "label", "_".join(words))
        if not _LABEL.fullmatch(str(self.label)):
            raise ValueError(f"label {self.label!r} must be lower-case [a-z0-9_], not "
                             "starting with '_' (labels starting with '_' are Speech "
                             "Commands' own)")
        return self


class CountsConfig(ConfigModel):
    """How many clips: positives per target; the other kinds as a share of all positives
    (``speech: 0.5`` with 10 targets x 100 positives is 500 clips of other speech)."""

    positives: StrictInt = Field(ge=1, le=1_000_000)  # clips per target
    hard_negatives: float = Field(default=0.5, ge=0, le=100)  # per target, x its positives
    speech: float = Field(default=0.5, ge=0, le=100)  # other words from the prompts
    words: float = Field(default=0.0, ge=0, le=100)  # one lexicon word said alone
    babble: float = Field(default=0.05, ge=0, le=100)  # several talkers at once
    noise: float = Field(default=0.05, ge=0, le=100)  # noise only (label _silence_)
    silence: float = Field(default=0.05, ge=0, le=100)  # near silence (label _silence_)
    background_files: StrictInt = Field(default=4, ge=0, le=100)  # _background_noise_ files
    background_s: float = Field(default=30.0, gt=0, le=600)


class OtherWordsConfig(ConfigModel):
    """Where the other-word clips (``counts.words``: one word said alone, label
    ``_unknown_``) draw their words: the lexicon's ``vocabulary`` most frequent words
    (English: pocketsphinx's unigram frequencies; a lexicon without frequencies: all its
    words), never a target, a homophone of one, nor a hard negative."""

    vocabulary: StrictInt = Field(default=5000, ge=1, le=1_000_000)


class ConfusableConfig(ConfigModel):
    """Which hard negatives the finder proposes per target (``keywords.confusable``)."""

    max_distance: StrictInt = Field(default=2, ge=1, le=6)  # phoneme edits, at most
    neighbours: StrictInt = Field(default=8, ge=0, le=200)  # closest words/phrases kept
    embedded: StrictInt = Field(default=3, ge=0, le=200)  # words holding the target's phones
    partial: bool = True  # the first / last words of a multi-word phrase
    reordered: bool = True  # the phrase's words in another order
    # more candidate words, one per line (relative to the config): for languages other than
    # English, whose words come from here and from the text sources
    lexicon: str | None = None


class LevelsConfig(ConfigModel):
    """Levels of the clips without speech, dB relative to full scale (RMS)."""

    noise_dbfs: Range = (-45.0, -20.0)
    silence_dbfs: Range = (-80.0, -60.0)
    speech_dbfs: Range = (-32.0, -16.0)  # speech clips before the environment

    @model_validator(mode="after")
    def _ranges(self) -> LevelsConfig:
        for name in ("noise_dbfs", "silence_dbfs", "speech_dbfs"):
            check_range(getattr(self, name), name, -120.0, 0.0)
        return self


class StreamsConfig(ConfigModel):
    """Long recordings of other speech (test speakers) to count false accepts per hour,
    with positives inserted at known times."""

    count: StrictInt = Field(default=0, ge=0, le=10_000)
    duration_s: float = Field(default=60.0, ge=5, le=3600)
    positives_per_minute: float = Field(default=2.0, ge=0, le=60)
    gap_s: Range = (0.2, 1.2)  # silence between phrases

    @model_validator(mode="after")
    def _ranges(self) -> StreamsConfig:
        check_range(self.gap_s, "gap_s", 0.0, 30.0)
        return self


class KeywordsConfig(ConfigModel):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    seed: StrictInt = Field(default=0, ge=0)
    language: str = "en-us"  # espeak-ng language of the phonemes and the normalizer
    targets: list[TargetConfig] = Field(min_length=1)
    clip_s: float = Field(default=1.0, ge=0.25, le=10.0)  # every clip is exactly this long
    margin_s: float = Field(default=0.05, ge=0.0, le=1.0)  # keyword kept this far from edges
    counts: CountsConfig
    confusable: ConfusableConfig = ConfusableConfig()
    other_words: OtherWordsConfig = OtherWordsConfig()
    levels: LevelsConfig = LevelsConfig()
    streams: StreamsConfig = StreamsConfig()
    text: TextConfig | None = None  # prompts of the other-speech clips, babble and streams
    speakers: SpeakersConfig
    splits: SplitsConfig = SplitsConfig()
    audio: AudioConfig = AudioConfig()
    augment: AugmentConfig | None = None
    quality: QualityConfig | None = None  # quality.asr: re-draw or drop what the ASR misreads
    exports: list[str] = Field(default_factory=lambda: ["speech_commands", "kaldi"])
    shard_size: StrictInt = Field(default=1000, ge=1)

    @field_validator("exports")
    @classmethod
    def _known_exports(cls, value: list[str]) -> list[str]:
        return check_exports(value)

    @model_validator(mode="after")
    def _consistent(self) -> KeywordsConfig:
        labels = [t.label for t in self.targets]
        if len(set(labels)) != len(labels):
            dup = next(x for x in labels if labels.count(x) > 1)
            raise ValueError(f"targets: two targets have the label {dup!r}")
        needs_text = (self.counts.speech > 0 or self.counts.babble > 0
                      or self.streams.count > 0 or self.babble_noise)
        if needs_text and self.text is None:
            raise ValueError("text: needed for counts.speech, counts.babble, streams and "
                             "babble noise (prompt files or templates of other speech)")
        if self.audio.stems:
            raise ValueError("audio.stems: not written by keyword corpora")
        return self

    @property
    def babble_noise(self) -> bool:
        """Whether the augment section mixes babble noise (its pool says ``text``'s prompts
        of other speech)."""
        return self.augment is not None and self.augment.noise.mixes_babble

    def corpus_config(self) -> CorpusConfig:
        """The corpus-config view of this config (speakers, splits, prompts, audio,
        augment): what the speaker draw, the prompt reader and the renderer take."""
        text = self.text if self.text is not None else TextConfig.model_validate(
            {"sources": [{"template": "{" + "|".join(t.text for t in self.targets) + "}"}]})
        return CorpusConfig.model_validate({
            "name": self.name, "seed": self.seed, "language": self.language,
            "text": text.model_dump(mode="json"),
            "speakers": self.speakers.model_dump(mode="json"),
            "utterances": {"per_speaker": 1},
            "splits": self.splits.model_dump(mode="json"),
            "audio": self.audio.model_dump(mode="json"),
            "augment": None if self.augment is None else self.augment.model_dump(mode="json"),
            "exports": ["kaldi"],
        })


def parse_keywords_config(text: str, source: str = "<config>") -> KeywordsConfig:
    """Parse and validate YAML text; raise ConfigError naming where the problem is."""
    return parse_config(KeywordsConfig, text, source)


def load_keywords_config(path: Path) -> KeywordsConfig:
    """Read a keywords config; ConfigError on a missing, unreadable or invalid file."""
    return parse_keywords_config(read_config_text(path), str(path))

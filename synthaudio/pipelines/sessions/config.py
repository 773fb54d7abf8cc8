"""The sessions config: a corpus config (text, speakers, splits, audio, augment) plus a
``sessions:`` section saying what a conversation is.

``utterances`` is not used (turns are drawn per session) and may be left out; ``exports``
defaults to ``[sessions]`` (:mod:`synthaudio.pipelines.sessions.export`). The speakers of the corpus
config form the pool each session draws its talkers from, split by split, so no talker is
in two splits. Ratios are of measured label time (:mod:`synthaudio.pipelines.sessions.labels`):

- ``overlap_ratio``: time when two or more talk / time when anyone talks;
- ``silence_ratio``: time when nobody talks / session duration.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, StrictInt, field_validator, model_validator

from synthaudio.configbase import ConfigModel, Range, check_range, read_config_text
from synthaudio.pipelines.generate.config import CorpusConfig, UtterancesConfig, parse_corpus_config

IntRange = tuple[int, int]
SESSION_FORMATS = ("sessions",)  # the export format of a session corpus


class SessionsConfig(ConfigModel):
    """What the sessions of a corpus are like (the ``sessions:`` section)."""

    count: StrictInt = Field(ge=1, le=1_000_000)  # sessions in the corpus
    speakers: IntRange = (2, 4)  # talkers per session (dialogue files: their own count)
    length_s: Range = (60.0, 120.0)  # target session length, uniform
    overlap_ratio: float = Field(default=0.1, ge=0.0, le=0.6)  # target (see module doc)
    silence_ratio: float = Field(default=0.1, ge=0.0, le=0.6)  # target (see module doc)
    turn_words: IntRange = (3, 25)  # words per turn: prompts are joined until reached
    gap_s: Range = (0.1, 1.2)  # pause before a turn that does not overlap, uniform
    overlap_s: Range = (0.3, 1.5)  # how far a turn starts inside the previous one, uniform
    lead_s: Range = (0.3, 1.0)  # silence before the first and after the last word
    backchannel_probability: float = Field(default=0.1, ge=0.0, le=1.0)  # after a turn
    backchannels: tuple[str, ...] = ("yeah", "mhm", "right", "okay", "uh huh")
    interruption_probability: float = Field(default=0.2, ge=0.0, le=1.0)  # of overlaps
    reaction_s: Range = (0.2, 0.6)  # an interrupted talker stops this long after
    level_db: Range = (-4.0, 4.0)  # each talker's level at the source, uniform
    move_probability: float = Field(default=0.0, ge=0.0, le=1.0)  # new position per turn
    dialogues: tuple[str, ...] = ()  # files of `speaker<TAB>text` lines; () = text prompts
    merge_gap_s: float = Field(default=0.3, ge=0.0, le=2.0)  # RTTM gap rule (labels.py)

    @model_validator(mode="after")
    def _ranges(self) -> SessionsConfig:
        check_range(self.speakers, "speakers", 1, 32)
        check_range(self.length_s, "length_s", 1.0, 7200.0)
        check_range(self.turn_words, "turn_words", 1, 500)
        for name in ("gap_s", "overlap_s", "lead_s", "reaction_s"):
            check_range(getattr(self, name), name, 0.0, 30.0)
        check_range(self.level_db, "level_db", -40.0, 40.0)
        if self.overlap_ratio + self.silence_ratio >= 0.9:
            raise ValueError("overlap_ratio + silence_ratio must be < 0.9")
        if self.backchannel_probability > 0 and not any(b.split() for b in self.backchannels):
            raise ValueError("backchannels: none given, but backchannel_probability > 0")
        return self


class SessionCorpusConfig(CorpusConfig):
    """A corpus config whose items are sessions (``sessions:`` section required)."""

    sessions: SessionsConfig
    utterances: UtterancesConfig = UtterancesConfig(per_speaker=1)  # not used by sessions
    exports: list[str] = Field(default_factory=lambda: list(SESSION_FORMATS))

    @field_validator("exports")
    @classmethod
    def _known_exports(cls, value: list[str]) -> list[str]:
        unknown = [f for f in value if f not in SESSION_FORMATS]
        if unknown or not value:
            raise ValueError(f"a session corpus exports {', '.join(SESSION_FORMATS)}; got "
                             f"{value}")
        return value


def parse_sessions_config(text: str, source: str = "<config>") -> SessionCorpusConfig:
    """Parse and validate YAML text; ConfigError naming ``source:line: key``."""
    return parse_corpus_config(text, source, SessionCorpusConfig)


def load_sessions_config(path: Path) -> SessionCorpusConfig:
    """Read a sessions config file; ConfigError on a missing, unreadable or invalid one."""
    return parse_sessions_config(read_config_text(path), str(path))

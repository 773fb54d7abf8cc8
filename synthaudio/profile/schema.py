"""The one schema of ``PROFILE.json`` (docs/profile.md), read by ``compare``, ``match`` and
``report --compare``: :func:`check_profile` accepts exactly what ``synthaudio profile``
writes (``format: synthaudio-profile``, ``version`` 1) and answers anything else with one
line naming the field (``per_utterance.2.snr_db``), so that no reader meets a NaN, a
string where a number belongs, or a missing key.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    FiniteFloat,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from synthaudio.profile.features import BY_NAME, CATEGORIES

PROFILE_FORMAT = "synthaudio-profile"
PROFILE_VERSION = 1
Number = StrictInt | FiniteFloat


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class SourceModel(_Model):
    path: StrictStr
    kind: Literal["synthaudio", "kaldi", "folder"]
    transcripts: StrictBool


class DistributionModel(_Model):
    unit: StrictStr
    family: StrictStr
    count: StrictInt = Field(ge=0)
    mean: FiniteFloat | None = None
    std: FiniteFloat | None = None
    min: FiniteFloat | None = None
    max: FiniteFloat | None = None
    quantiles: dict[str, FiniteFloat] = {}
    histogram: dict[str, list[Number]] = {}


class VoicesModel(_Model):
    count: StrictInt = Field(ge=0)
    centroid: list[FiniteFloat] | None = None
    mean_pair_similarity: FiniteFloat | None = None
    within_speaker_similarity: FiniteFloat | None = None
    between_speaker_similarity: FiniteFloat | None = None


class UtteranceModel(_Model):
    """One utterance: its id, audio, speaker, word count and every feature measured (a
    finite number, or null where there is no value)."""

    id: StrictStr
    audio: StrictStr
    speaker: StrictStr | None = None
    words: StrictInt | None = Field(default=None, ge=0)
    sample_rate: StrictInt | None = Field(default=None, ge=1)
    codec_hint: StrictStr | None = None
    hum_hz: Number | None = None

    @model_validator(mode="after")
    def _features(self) -> UtteranceModel:
        for name, value in (self.model_extra or {}).items():
            if name in BY_NAME and value is not None and (
                    isinstance(value, bool) or not isinstance(value, (int, float))
                    or not math.isfinite(value)):
                raise ValueError(f"{name}: expected a finite number or null, got {value!r}")
        return self


class ProfileModel(_Model):
    format: Literal["synthaudio-profile"]
    version: Literal[1]
    source: SourceModel
    utterances: StrictInt = Field(ge=0)
    hours: Number = Field(ge=0)
    families: list[StrictStr]
    features: dict[str, DistributionModel]
    categories: dict[str, dict[str, StrictInt]]
    voices: VoicesModel
    per_utterance: list[UtteranceModel]

    @field_validator("categories")
    @classmethod
    def _category_names(cls, value: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        for name in value:
            if name not in CATEGORIES:
                raise ValueError(f"unknown category {name!r} (known: "
                                 f"{', '.join(CATEGORIES)})")
        return value


def first_error(exc: ValidationError) -> str:
    """``field.path: message`` of a validation error's first problem."""
    err = exc.errors()[0]
    loc = ".".join(str(x) for x in err["loc"])
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "missing":
        return f"{loc}: missing"
    shown = repr(err.get("input"))
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return f"{loc}: {msg} (got {shown})" if loc else f"{msg} (got {shown})"


def check_profile(data: Any) -> str | None:
    """None when ``data`` (a parsed PROFILE.json) follows the schema, else the first problem
    as ``field: message``."""
    if not isinstance(data, dict):
        return f"expected a JSON object, got {type(data).__name__}"
    try:
        ProfileModel.model_validate(data)
    except ValidationError as exc:
        return first_error(exc)
    return None

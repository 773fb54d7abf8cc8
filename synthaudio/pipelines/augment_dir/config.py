"""The ``synthaudio augment`` config file: its model, its defaults and its parser.

Two forms: the wrapped one (``{augment: ..., sample_rate: ..., exports: ...}``) and the bare
``augment`` mapping (``speed``/``room``/``noise``/``channel``). Errors are one line naming
``file:line`` and the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, StrictInt, ValidationError, field_validator

from synthaudio.augment.config import AugmentConfig
from synthaudio.configbase import ConfigModel, format_error, load_yaml, read_config_text, yaml_line
from synthaudio.errors import ConfigError

DEFAULT_EXPORTS = ("kaldi", "nemo", "lhotse", "hf")  # no CTM: real speech has no word timings

# The augmentation used without --config; corpora/augment/default.yaml documents the same.
# Like reverberate_data_dir.py: most copies reverberant, most noisy, a few coloured or coded.
DEFAULT_AUGMENT: dict[str, Any] = {
    "room": {"probability": 0.8, "bank_size": 200, "tail_s": 0.25},
    "noise": {"probability": 0.8, "snr_db": [5.0, 25.0]},
    "channel": {
        "eq": {"probability": 0.3},
        "gain": {"probability": 0.3, "gain_db": [-6.0, 0.0]},
        "codec": {"probability": 0.1},
    },
}

class AugmentDirConfig(ConfigModel):
    """An ``augment`` config file in its wrapped form (the bare form is just ``augment``)."""

    augment: AugmentConfig = AugmentConfig.model_validate(DEFAULT_AUGMENT)
    sample_rate: StrictInt | None = Field(default=None, ge=8000, le=192000)  # None: the input's
    exports: tuple[str, ...] = DEFAULT_EXPORTS  # formats of synthaudio export, or "all"
    shard_size: StrictInt = Field(default=1000, ge=1)  # samples per WebDataset shard

    @field_validator("exports")
    @classmethod
    def _known_formats(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from synthaudio.manifests.formats import EXPORTERS  # the export format registry

        unknown = [f for f in value if f != "all" and f not in EXPORTERS]
        if unknown:
            raise ValueError(f"unknown export format {unknown[0]!r}; valid formats: "
                             f"{', '.join(EXPORTERS.names())}, all")
        if not value:
            raise ValueError("give at least one export format")
        return value


WRAPPED_KEYS = set(AugmentDirConfig.model_fields)


def parse_augment_config(text: str, source: str = "<config>") -> AugmentDirConfig:
    """Parse an augment config: ``{augment: ..., sample_rate: ..., exports: ...}`` or the
    bare ``augment`` mapping (``speed``/``room``/``noise``/``channel``).

    In the bare form, stages not given are off; in the wrapped form, a missing ``augment``
    key means the default augmentation. Raises ConfigError naming ``file:line`` and key.
    """
    data = load_yaml(text, source)
    if data is None:
        raise ConfigError(f"{source}: the augment config is empty (write 'augment: {{}}' for "
                          "no effects, or leave out --config for the defaults)")
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the augment config must be a YAML mapping, "
                          f"got {type(data).__name__}")
    wrapped = bool(WRAPPED_KEYS & set(data))
    try:
        if wrapped:
            cfg = AugmentDirConfig.model_validate(data)
        else:
            cfg = AugmentDirConfig(augment=AugmentConfig.model_validate(data))
    except ValidationError as exc:
        raise ConfigError(format_error(source, text, exc)) from None
    if cfg.augment.noise.mixes_babble:
        loc = ("augment", "noise", "kinds", "babble") if wrapped else ("noise", "kinds", "babble")
        line = yaml_line(text, loc)
        where = f"{source}:{line}" if line else source
        raise ConfigError(f"{where}: {'.'.join(loc)}: babble noise needs synthetic speakers "
                          "and works in generate only; give it weight 0 here")
    return cfg


def load_augment_config(path: Path | None) -> AugmentDirConfig:
    """Read ``path`` (None: the defaults); ConfigError on a missing or invalid file."""
    if path is None:
        return AugmentDirConfig()
    return parse_augment_config(read_config_text(path), str(path))

"""What every config model shares: the base model, the range checker, the YAML loader and
the one-line error formatter.

The lowest layer of the configs: it imports pydantic and yaml only. Each stage keeps its
own models next to its code (``augment/config.py``, ``tts/config.py``, ``tts/coqui.py``,
``pipelines/generate/quality.py``, ...) on :class:`ConfigModel`;
``pipelines/generate/config.py`` assembles ``corpus.yaml`` from them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from synthaudio.errors import ConfigError

Range = tuple[float, float]
M = TypeVar("M", bound=BaseModel)


class ConfigModel(BaseModel):
    """Base of every config model: frozen (hashable, safe to share) and no unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def replace(self: M, **fields: Any) -> M:
        """This config with ``fields`` replaced, validated again: the typed way to derive
        one config from another (a recipe's rows, a quick run)."""
        data = self.model_dump(mode="json")
        for key, value in fields.items():
            data[key] = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
        return type(self).model_validate(data)


def check_range(value: Range, name: str, low: float, high: float) -> None:
    """Raise ValueError unless ``low <= value[0] <= value[1] <= high``."""
    lo, hi = value
    if lo > hi:
        raise ValueError(f"{name}: inverted range [{lo}, {hi}] (min must be <= max)")
    if lo < low or hi > high:
        raise ValueError(f"{name}: range [{lo}, {hi}] is outside the allowed [{low}, {high}]")


def yaml_line(text: str, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the deepest node along ``loc`` in the YAML text, if it can be found."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line = None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == key:
                    line, node = k.start_mark.line + 1, v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def first_error(err: ValidationError) -> tuple[tuple[Any, ...], str, str]:
    """pydantic's first error as (key path, message, " (and N more problems)" or "")."""
    first = err.errors()[0]
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    msg = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        msg = f"unknown key {str(loc[-1])!r}"
    more = f" (and {err.error_count() - 1} more problems)" if err.error_count() > 1 else ""
    return loc, msg, more


def format_error(source: str, text: str, err: ValidationError) -> str:
    """pydantic's first error as one line: ``source:line: key.path: message``."""
    loc, msg, more = first_error(err)
    path = ".".join(str(p) for p in loc) or "(top level)"
    line = yaml_line(text, loc)
    where = f"{source}:{line}" if line else source
    return f"{where}: {path}: {msg}{more}"


class _DuplicateKey(yaml.YAMLError):
    """A key given twice in one mapping (the first and the second line, 1-based)."""

    def __init__(self, key: Any, first: int, second: int) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key, self.first, self.second = key, first, second


class _UniqueKeyLoader(yaml.SafeLoader):
    """The safe loader, refusing a mapping that gives one key twice (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # "<<": merged keys may be overridden
                continue
            key = self.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
            line = key_node.start_mark.line + 1
            try:
                if key in seen:
                    raise _DuplicateKey(key, seen[key], line)
                seen[key] = line
            except TypeError:  # an unhashable key: the base loader says so
                break
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str, source: str) -> Any:
    """The YAML document in ``text``; ConfigError naming ``source:line`` when it is not YAML
    or when a mapping gives one key twice (naming both lines)."""
    loader = _UniqueKeyLoader(text)
    try:
        return loader.get_single_data()
    except _DuplicateKey as exc:
        raise ConfigError(f"{source}:{exc.second}: duplicate key {exc.key!r} (first given on "
                          f"line {exc.first}; YAML would silently keep only the last)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}: not valid YAML: {problem}") from None
    finally:
        loader.dispose()  # type: ignore[no-untyped-call]


def read_config_text(path: Path) -> str:
    """The text of a YAML config file; ConfigError on a missing or unreadable file."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror or exc}") from None




def parse_config(model: type[M], text: str, source: str = "<config>") -> M:
    """YAML ``text`` validated as ``model``; ConfigError naming where the problem is."""
    data = load_yaml(text, source)
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the config must be a YAML mapping, got "
                          f"{type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_error(source, text, exc)) from None

"""Named tables of extension points: TTS engines, export formats, noise kinds, pipelines.

A :class:`Registry` maps a name to an entry (any object with a ``name``). The built-in
entries are registered by the module that owns the table; other packages add entries
through an entry-point group (``synthaudio.engines``, ``synthaudio.exporters``) in their own
``pyproject.toml``::

    [project.entry-points."synthaudio.exporters"]
    mine = "my_package.export:ENTRY"

The entry points are read on the first lookup of a name the built-ins do not have (or on
``names()``), so ``import synthaudio`` never scans installed packages. Config validation,
the CLI's choices and its help text all come from :meth:`Registry.names` and the entries.
"""

from __future__ import annotations

import functools
import importlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from synthaudio.errors import ConfigError, ConfigKeyError


class Named(Protocol):
    @property
    def name(self) -> str: ...


T = TypeVar("T", bound=Named)


def resolve(target: Any) -> Any:
    """``"package.module:attribute"`` imported, anything else returned as is.

    Entries name heavy code (an engine, a writer) by such strings, so building a table
    imports nothing. Resolved once per process (renderers are looked up per source).
    """
    if not isinstance(target, str):
        return target
    return _import(target)


@functools.cache
def _import(target: str) -> Any:
    module, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


@functools.cache
def _entry_points() -> Any:
    """Every installed entry point, read once per process (one pass over the installed
    distributions serves all the registries)."""
    from importlib.metadata import entry_points  # not at import: it loads email & co.

    return entry_points()


class Registry(Generic[T]):
    """Entries by name, in registration order: built-ins first, then entry-point plugins."""

    def __init__(self, kind: str, group: str | None = None,
                 entry_type: type[T] | None = None, *,
                 builtins: Callable[[], Iterable[T]] | None = None,
                 from_plugins: Callable[[], Iterable[T]] | None = None) -> None:
        self.kind = kind  # e.g. "export format": used in error messages
        self.group = group  # entry-point group, or None: built-ins only
        self._entry_type = entry_type  # what an entry point must give (checked on load)
        self._entries: dict[str, T] = {}
        self._plugin_names: set[str] = set()  # entries that came from plugins
        self._plugins_loaded = group is None and from_plugins is None
        # built-ins a lower layer cannot import (a pipeline's exporters, the pipelines
        # themselves): given on first use, after the ones registered directly
        self._builtins = builtins
        self._from_plugins = from_plugins  # more entries that plugins bring another way

    def _load_builtins(self) -> None:
        if self._builtins is not None:
            builtins, self._builtins = self._builtins, None
            for entry in builtins():
                self.register(entry)

    def register(self, entry: T, *, replace: bool = False) -> T:
        """Add ``entry`` under ``entry.name``; ValueError if taken (unless ``replace``)."""
        name = entry.name
        if not isinstance(name, str) or not name:
            raise ValueError(f"a {self.kind} needs a non-empty name, got {name!r}")
        if name in self._entries and not replace and self._entries[name] is not entry:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def unregister(self, name: str) -> None:
        self._entries.pop(name, None)

    def load_plugins(self) -> None:
        """Register every entry of the entry-point group (once; a broken plugin raises)."""
        if self._plugins_loaded:
            return
        self._load_builtins()
        self._plugins_loaded = True
        if self._from_plugins is not None:
            for entry in self._from_plugins():
                if entry.name not in self._entries:
                    self._entries[entry.name] = entry
                    self._plugin_names.add(entry.name)
        eps = _entry_points().select(group=self.group) if self.group is not None else ()
        for ep in sorted(eps, key=lambda e: e.name):
            try:
                obj = ep.load()
            except Exception as exc:  # a plugin's own import error: say which plugin
                raise ConfigError(f"{self.group} entry point {ep.name!r} ({ep.value}) "
                                  f"failed to load: {exc}") from exc
            if callable(obj) and not hasattr(obj, "name"):
                obj = obj()  # a factory returning the entry
            if self._entry_type is not None and not isinstance(obj, self._entry_type):
                raise TypeError(f"a {self.group} entry point must give a "
                                f"{self._entry_type.__name__}, got {type(obj).__name__}")
            entry = obj
            if entry.name != ep.name:
                raise ConfigError(f"{self.group} entry point {ep.name!r} gives a {self.kind} "
                                  f"named {entry.name!r}: the two must agree")
            if entry.name not in self._entries:  # a built-in keeps its name
                self._entries[entry.name] = entry
                self._plugin_names.add(entry.name)

    def entries(self, *, plugins: bool = True) -> list[T]:
        """Every entry, built-ins first; ``plugins=False``: the built-ins alone (no scan of
        the entry points)."""
        self._load_builtins()
        if plugins:
            self.load_plugins()
            return list(self._entries.values())
        return [e for n, e in self._entries.items() if n not in self._plugin_names]

    def names(self, *, plugins: bool = True) -> tuple[str, ...]:
        return tuple(e.name for e in self.entries(plugins=plugins))

    def find(self, name: str) -> T | None:
        """The entry called ``name``, or None (looks at plugins only when needed)."""
        self._load_builtins()
        entry = self._entries.get(name)
        if entry is None and not self._plugins_loaded:
            self.load_plugins()
            entry = self._entries.get(name)
        return entry

    def get(self, name: str, where: str = "") -> T:
        """The entry called ``name``; ConfigError naming the known ones otherwise."""
        entry = self.find(name)
        if entry is None:
            prefix = f"{where}: " if where else ""
            error = ConfigKeyError if where else ConfigError  # where: a config key
            raise error(f"{prefix}unknown {self.kind} {name!r}; known: "
                        f"{', '.join(self.names())}")
        return entry

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.find(name) is not None

    def __iter__(self) -> Iterator[T]:
        self.load_plugins()
        return iter(list(self._entries.values()))

    def __len__(self) -> int:
        return len(self.names())


PACKAGE_PREFIX = "pkg:"  # a model named by the Python package that bundles it


def package_path(spec: str, functions: tuple[str, ...], what: str,
                 hint: str | None = None) -> Path:
    """The path a model package gives: ``pkg:NAME`` imports NAME and calls the first of
    ``functions`` it has (``model_path``, ``get_model_path``...).

    Args:
        spec: ``pkg:NAME``.
        functions: names of the package's no-argument function returning the path.
        what: the config key or option, for the message (``speakers.piper.model``).
        hint: how to install it; default ``pip install NAME`` (``_`` as ``-``).

    Raises:
        ConfigError: the package is not installed or has none of ``functions``.
    """
    name = spec.removeprefix(PACKAGE_PREFIX)
    try:
        module = importlib.import_module(name)
    except ImportError:
        install = hint if hint is not None else f"pip install {name.replace('_', '-')}"
        raise ConfigKeyError(f"{what}: package {name!r} is not installed ({install})") from None
    for function in functions:
        if callable(getattr(module, function, None)):
            return Path(getattr(module, function)())
    wanted = " or ".join(f"{f}()" for f in functions)
    raise ConfigKeyError(f"{what}: package {name!r} has no {wanted}")


K = TypeVar("K")
V = TypeVar("V")


class ProcessCache(Generic[K, V]):
    """Loaded models, one per key and process: every user in a process shares one, and a
    forked worker loads its own (ONNX Runtime and CTranslate2 thread pools do not survive a
    fork). The parent's entries stay referenced, so a child never runs their destructors."""

    def __init__(self) -> None:
        self._values: dict[tuple[int, K], V] = {}
        self._lock = threading.Lock()

    def get(self, key: K, make: Callable[[], V]) -> V:
        """The process's value for ``key``, made by ``make()`` on first use."""
        full = (os.getpid(), key)
        with self._lock:
            if full not in self._values:
                self._values[full] = make()
            return self._values[full]


"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def variant_config(config: Path, target: Path, drop: tuple[str, ...] = (),
                   **overrides: Any) -> Path:
    """Write a copy of ``config`` to ``target`` with prompt paths made absolute, top-level
    keys in ``drop`` removed and ``overrides`` ("utterances.per_speaker"=N style) applied."""
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    for key in drop:
        data.pop(key, None)
    data["text"]["sources"] = [
        {**s, "file": str((config.parent / s["file"]).resolve())} if "file" in s else s
        for s in data["text"]["sources"]
    ]
    for dotted, value in overrides.items():
        node = data
        *parents, last = dotted.split("__")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    target.write_text(yaml.safe_dump(data), encoding="utf-8")
    return target

"""Layers point down: importing a low layer loads nothing above it (fresh interpreters)."""

import json
import subprocess
import sys

import pytest


def _loaded_after(module: str) -> list[str]:
    code = (f"import json, sys, {module}; "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('synthaudio'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out.splitlines()[-1])


@pytest.mark.parametrize(("module", "forbidden"), [
    ("synthaudio.pipelines.generate.config",
     ("synthaudio.evaluate", "synthaudio.run.executors", "synthaudio.run.workers")),
    ("synthaudio.configbase", ("synthaudio.augment", "synthaudio.tts", "synthaudio.corpus")),
    ("synthaudio.tts", ("synthaudio.augment",)),
    ("synthaudio.tts.espeak", ("synthaudio.augment",)),
    ("synthaudio.tts.coqui", ("synthaudio.augment",)),
    ("synthaudio.tts.variants", ("synthaudio.augment",)),
])
def test_import_loads_no_higher_layer(module: str, forbidden: tuple[str, ...]) -> None:
    loaded = _loaded_after(module)
    assert module in loaded  # the probe really imported it
    bad = [m for m in loaded if m.startswith(forbidden)]
    assert bad == [], f"import {module} loads {bad}"


def test_no_core_module_imports_the_optional_train_subpackage() -> None:
    """synthaudio.train (torch) is an optional subpackage on top of the core."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "synthaudio"
    importers = []
    for path in root.rglob("*.py"):
        if path.is_relative_to(root / "train"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # The CLI is the top of the stack: a command of the optional layer (``detect``)
        # imports it inside its handler, never at module level (importing the CLI loads no
        # train module: checked below, in a fresh interpreter).
        tops = [n for n in tree.body if path != root / "cli.py"
                or not isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        for node in (sub for top in tops for sub in ast.walk(top)):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n == "synthaudio.train" or n.startswith("synthaudio.train.") for n in names):
                importers.append(str(path.relative_to(root)))
    assert len(list(root.rglob("*.py"))) > 50  # the walk saw the package
    assert importers == []
    loaded = _loaded_after("synthaudio.cli")
    assert "synthaudio.cli" in loaded
    assert not [m for m in loaded if m.startswith("synthaudio.train")]

"""Layers point down: every module of the package imports only its own layer and the ones
below it (read from the source: module level and inside functions alike), and importing a
low layer loads nothing above it (fresh interpreters)."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "synthaudio"

# Bottom to top; a module belongs to the longest prefix named. docs/architecture.md draws
# the same stack. Peers in one row import each other freely only inside one package.
LAYERS: list[tuple[str, ...]] = [
    ("synthaudio.errors",),
    ("synthaudio.configbase", "synthaudio.streams", "synthaudio.registry", "synthaudio.splits"),
    ("synthaudio.io",),  # fileio, kaldi, metadata, importers
    ("synthaudio.run",),  # engine, outdir, executors, workers, progress, pipeline registry
    ("synthaudio.text",),
    ("synthaudio.evaluate",),  # ASR backends and scoring (the report is a view: below)
    ("synthaudio.tts",),  # engines, casting, the render path
    ("synthaudio.augment",),
    ("synthaudio.manifests",),
    ("synthaudio.io.importers",),  # word cutting aligns (tts.align): above the TTS layer
    ("synthaudio.pipelines",),
    ("synthaudio.profile",),  # `match` writes pipeline configs
    ("synthaudio.evaluate.report",),  # draws evaluate, profile and the ASR check's verdicts
    ("synthaudio.train",),  # optional (torch)
    ("synthaudio.cli", "synthaudio"),
]


def layer_of(module: str) -> int:
    best: tuple[int, int] | None = None
    for rank, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and (
                    best is None or len(name) > best[1]):
                best = (rank, len(name))
    assert best is not None, f"{module} is in no layer: add it to LAYERS"
    return best[0]


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT.parent).with_suffix("").parts).removesuffix(
        ".__init__")


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Every ``synthaudio`` module ``path`` imports (line, module), anywhere in it."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "synthaudio":
                found += [(node.lineno, f"synthaudio.{a.name}") for a in node.names]
            elif node.module.startswith("synthaudio."):
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names
                      if a.name.startswith("synthaudio.")]
    return found


def test_every_module_imports_only_its_layer_and_below() -> None:
    modules = sorted(ROOT.rglob("*.py"))
    assert len(modules) > 120  # the walk saw the package, engines and pipelines included
    upward = []
    for path in modules:
        here = module_name(path)
        for line, target in imports_of(path):
            if layer_of(target) > layer_of(here):
                upward.append(f"{path.relative_to(ROOT.parent)}:{line}: {here} imports {target}")
    assert upward == []


def test_the_layer_check_fails_on_an_upward_import(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from synthaudio.pipelines.generate import plan\n")
    (line, target), = imports_of(probe)
    assert line == 2 and layer_of(target) > layer_of("synthaudio.tts.speakers")


def test_no_pipeline_is_named_outside_its_folder() -> None:
    """A pipeline is one folder and one registry entry: below the pipelines, only the
    registry's list of built-ins names them (by string), and the one table of stream tags
    holds their tags."""
    named = []
    for path in ROOT.rglob("*.py"):
        here = module_name(path)
        if layer_of(here) >= layer_of("synthaudio.pipelines") or here in (
                "synthaudio.run.pipelines", "synthaudio.streams"):
            continue
        text = path.read_text(encoding="utf-8")
        for word in ("synthaudio.pipelines.sessions", "synthaudio.pipelines.keywords",
                     "synthaudio/pipelines/sessions", "negatives.json", "\"session\"",
                     "\"speech_commands\""):
            if word in text:
                named.append(f"{here}: {word}")
    assert named == []


def _loaded_after(module: str) -> list[str]:
    code = (f"import json, sys, {module}; "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('synthaudio'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out.splitlines()[-1])


@pytest.mark.parametrize(("module", "forbidden"), [
    ("synthaudio.pipelines.generate.config",
     ("synthaudio.evaluate", "synthaudio.run.executors", "synthaudio.run.workers")),
    ("synthaudio.configbase", ("synthaudio.augment", "synthaudio.tts", "synthaudio.pipelines")),
    ("synthaudio.tts", ("synthaudio.augment",)),
    ("synthaudio.tts.espeak", ("synthaudio.augment",)),
    ("synthaudio.tts.coqui", ("synthaudio.augment",)),
    ("synthaudio.tts.variants", ("synthaudio.augment",)),
    ("synthaudio.tts.speakers", ("synthaudio.augment", "synthaudio.pipelines")),
    ("synthaudio.run.pipelines", ("synthaudio.tts", "synthaudio.augment")),
])
def test_import_loads_no_higher_layer(module: str, forbidden: tuple[str, ...]) -> None:
    loaded = _loaded_after(module)
    assert module in loaded  # the probe really imported it
    bad = [m for m in loaded if m.startswith(forbidden)]
    assert bad == [], f"import {module} loads {bad}"


def test_no_core_module_imports_the_optional_train_subpackage() -> None:
    """synthaudio.train (torch) is an optional subpackage on top of the core."""
    importers = []
    for path in ROOT.rglob("*.py"):
        if path.is_relative_to(ROOT / "train"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # The CLI is the top of the stack: a command of the optional layer (``detect``)
        # imports it inside its handler, never at module level (importing the CLI loads no
        # train module: checked below, in a fresh interpreter).
        tops = [n for n in tree.body if path != ROOT / "cli.py"
                or not isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        for node in (sub for top in tops for sub in ast.walk(top)):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n == "synthaudio.train" or n.startswith("synthaudio.train.") for n in names):
                importers.append(str(path.relative_to(ROOT)))
    assert len(list(ROOT.rglob("*.py"))) > 50  # the walk saw the package
    assert importers == []
    loaded = _loaded_after("synthaudio.cli")
    assert "synthaudio.cli" in loaded
    assert not [m for m in loaded if m.startswith("synthaudio.train")]

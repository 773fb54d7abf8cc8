"""Each recipe's README install line installs what its default run imports: every
third-party module a recipe's Python files import (and, through them, the synthaudio
modules they load) comes from the core dependencies or the extras that line names."""

from __future__ import annotations

import ast
import re
import sys
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
import tomllib

REPO = Path(__file__).resolve().parents[2]
RECIPES = sorted(p.parent for p in (REPO / "recipes").glob("*/README.md")
                 if any(p.parent.glob("*.py")))
INSTALL = re.compile(r"^\s*pip install (?:-e )?'(?:\.|synthaudio)\[([a-z0-9,_-]+)\]'", re.M)


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def allowed(extras: list[str]) -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = {_name(r) for r in project["dependencies"]}
    for extra in extras:
        names |= {_name(r) for r in project["optional-dependencies"][extra]}
    return names


def _module_imports(path: Path, late: bool) -> set[str]:
    """Absolute imports of ``path`` (module level only unless ``late``), outside
    ``if TYPE_CHECKING:``."""
    found: set[str] = set()

    def visit(node: ast.AST, nested: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.dump(child.test):
                continue
            inner = nested or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if late or not inner:
                if isinstance(child, ast.Import):
                    found.update(a.name for a in child.names)
                elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                    found.add(child.module)
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


@cache
def _synthaudio_imports(module: str) -> frozenset[str]:
    """Third-party modules a synthaudio module loads at import, transitively."""
    parts = module.split(".")
    path = REPO.joinpath(*parts).with_suffix(".py")
    if not path.is_file():
        path = REPO.joinpath(*parts, "__init__.py")
    if not path.is_file():
        return frozenset()
    out: set[str] = set()
    for name in _module_imports(path, late=False):
        if name.split(".")[0] == "synthaudio":
            out |= _synthaudio_imports(name)
        else:
            out.add(name.split(".")[0])
    return frozenset(out)


def third_party(recipe: Path) -> set[str]:
    local = {p.stem for p in recipe.glob("*.py")}
    out: set[str] = set()
    for path in recipe.glob("*.py"):
        for name in _module_imports(path, late=True):
            top = name.split(".")[0]
            if top == "synthaudio":
                out |= _synthaudio_imports(name)
            elif top not in local:
                out.add(top)
    return {m for m in out if m not in sys.stdlib_module_names}


@pytest.mark.parametrize("recipe", RECIPES, ids=[p.name for p in RECIPES])
def test_the_install_line_names_every_module_the_recipe_imports(recipe: Path) -> None:
    lines = INSTALL.findall((recipe / "README.md").read_text(encoding="utf-8"))
    assert lines, f"{recipe.name}/README.md: no `pip install -e '.[extra]'` line"
    extras = [e for line in lines[:1] for e in line.split(",")]
    names = allowed(extras)
    dists = packages_distributions()
    missing = {}
    for module in sorted(third_party(recipe)):
        provided = {d.lower().replace("_", "-") for d in dists.get(module, [])}
        if not provided & names:
            missing[module] = sorted(provided) or "not installed"
    assert missing == {}, f"{recipe.name}: {extras} do not install {missing}"


def test_the_check_sees_a_missing_extra() -> None:
    digits = REPO / "recipes" / "digits"
    modules = third_party(digits)
    assert {"torch", "numpy", "yaml"} <= modules  # torch through synthaudio.train
    assert "torch" not in allowed([]) and "torch" in allowed(["digits"])

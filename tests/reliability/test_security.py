"""Security: YAML only through the safe loader, no shell or subprocess anywhere, and nothing
written outside OUT whatever the ids and texts are."""

from __future__ import annotations

import ast
import json
from dataclasses import replace
from pathlib import Path

import pytest
from relutil import TINY_CONFIG, write_tiny_config

import synthaudio
from synthaudio.errors import ConfigError
from synthaudio.pipelines.generate.config import parse_corpus_config
from synthaudio.pipelines.generate.pipeline import generate_corpus
from synthaudio.pipelines.generate.plan import plan_corpus
from synthaudio.pipelines.generate.render import audio_relpath, check_path_component

PACKAGE = Path(synthaudio.__file__).parent
SOURCES = sorted(PACKAGE.rglob("*.py"))
UNSAFE_YAML = {"load", "load_all", "unsafe_load", "unsafe_load_all", "full_load",
               "full_load_all"}
UNSAFE_LOADERS = {"Loader", "UnsafeLoader", "FullLoader"}
SHELL_CALLS = {("os", "system"), ("os", "popen"), ("os", "execv"), ("os", "execvp"),
               ("os", "execl"), ("os", "execlp"), ("os", "spawnv"), ("os", "spawnl"),
               ("os", "posix_spawn"), ("pty", "spawn")}


def _dotted(node: ast.AST) -> tuple[str, ...]:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return tuple(reversed(parts))


# issue-13 engines: Festival is a program, not a library; its engine alone may start it
# (a fixed argv, never a shell: the shell checks below still apply to it)
MAY_SPAWN = {"synthaudio/tts/festival.py"}


def _problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    may_spawn = (path.is_relative_to(PACKAGE.parent)
                 and path.relative_to(PACKAGE.parent).as_posix() in MAY_SPAWN)
    for node in ast.walk(tree):
        where = f"{path.name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import | ast.ImportFrom) and not may_spawn:
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            if any(n.split(".")[0] in ("subprocess", "pty", "commands") for n in names):
                found.append(f"{where}: imports a process-spawning module")
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name[-2:] in SHELL_CALLS or name[-1:] in (("system",), ("popen",)):
                found.append(f"{where}: {'.'.join(name)}()")
            if name in (("eval",), ("exec",)):
                found.append(f"{where}: builtin {name[0]}()")
            if len(name) == 2 and name[0] == "yaml" and name[1] in UNSAFE_YAML:
                found.append(f"{where}: yaml.{name[1]}() (use yaml.safe_load)")
            for kw in node.keywords:
                if kw.arg == "shell" and not (isinstance(kw.value, ast.Constant)
                                              and kw.value.value is False):
                    found.append(f"{where}: shell=...")
                if kw.arg == "Loader" and _dotted(kw.value)[-1:] and \
                        _dotted(kw.value)[-1] in UNSAFE_LOADERS:
                    found.append(f"{where}: Loader={'.'.join(_dotted(kw.value))}")
    return found


def test_sources_use_safe_yaml_and_never_spawn_a_shell() -> None:
    assert len(SOURCES) > 30
    problems = [p for path in SOURCES for p in _problems(path)]
    assert not problems, "\n".join(problems)


def test_the_checker_catches_what_it_looks_for(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import subprocess\nimport yaml\nimport os\nyaml.load('a', Loader=yaml.Loader)"
                   "\nos.system('ls')\nsubprocess.run('ls', shell=True)\neval('1')\n",
                   encoding="utf-8")
    assert len(_problems(bad)) == 6


def test_yaml_tags_that_build_python_objects_are_refused() -> None:
    for text in ("!!python/object/apply:os.system ['true']",
                 "name: !!python/name:os.system\n"):
        with pytest.raises(ConfigError, match="not valid YAML"):
            parse_corpus_config(text, "<c>")


@pytest.mark.parametrize("name", ["..", "../x", "a/b", "/etc/passwd", "a b", "", ".hidden",
                                  "x\x00y", "spk\\1"])
def test_ids_that_are_not_one_safe_file_name_never_become_paths(tmp_path: Path,
                                                                name: str) -> None:
    with pytest.raises(ValueError, match="not safe as a file name"):
        check_path_component(name)
    config = write_tiny_config(tmp_path / "cfg")
    cfg = parse_corpus_config(config.read_text(encoding="utf-8"))
    spec = plan_corpus(cfg, config.parent).utterances[0]
    for bad in (replace(spec, utt_id=name), replace(spec, split=name),
                replace(spec, speaker=replace(spec.speaker, speaker_id=name))):
        with pytest.raises(ValueError):
            audio_relpath(bad, "wav")


def test_every_file_lands_inside_out_and_prompt_ids_are_not_in_paths(tmp_path: Path) -> None:
    """Prompt ids are data (metadata, manifests), never part of a path."""
    config = write_tiny_config(
        tmp_path / "cfg",
        TINY_CONFIG.replace("per_speaker: 6", "per_speaker: 2"),
        prompts="x-1\tSay one.\nspk001-000000\tSay two.\n",  # an id shaped like an utt id
    )
    out = tmp_path / "out"
    generate_corpus(config, out, progress=False)
    root = out.resolve()
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    outside = [p for p in written if not p.resolve().is_relative_to(root)
               and not p.is_relative_to(tmp_path / "cfg")]
    assert not outside
    records = [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]
    assert {r["prompt_id"] for r in records} & {"x-1", "spk001-000000"}
    for rec in records:  # paths come from the program's own ids only
        assert rec["audio"] == f"audio/{rec['split']}/{rec['speaker']}/{rec['id']}.wav"
    assert {p.stem for p in (out / "audio").rglob("*.wav")} == {r["id"] for r in records}

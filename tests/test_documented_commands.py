"""Every command the documentation gives runs as written: each ``synthaudio SUBCOMMAND``
and ``python SCRIPT.py`` (or ``SCRIPT.py --option ...``) in a code span or block of the
README, the recipes' and benchmarks' READMEs and docs/ names a subcommand or script that
exists (from the repository or the document's folder; one under recipes/ or benchmarks/
must, another name is checked where it is a file here: NeMo's scripts are NeMo's), and
every ``--option`` it passes is one that command's parser takes (argparse would take a
unique prefix; the documentation spells each option out). RESULTS.md files are records of
past runs with the options of their day, and are not read."""

from __future__ import annotations

import argparse
import re
import runpy
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from synthaudio.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
DOCS = sorted([REPO / "README.md", REPO / "benchmarks" / "README.md",
               *(REPO / "recipes").glob("*/README.md"), *(REPO / "docs").glob("*.md")])
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
SPAN = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
SCRIPT = re.compile(r"(?:^|\s)python3?\s+([\w/.-]+\.py)(.*)$")
OURS = ("recipes/", "benchmarks/")  # a script under these must exist
BARE = re.compile(r"^([\w/.-]+\.py)(\s.*--.*)$")  # a script named with its options
CLI = re.compile(r"^(?:\$\s+)?synthaudio\s+(\S+)(.*)$")
OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")


def code_lines(text: str) -> Iterator[str]:
    """The commands' lines of a Markdown text: fenced blocks' lines (backslash continuations
    joined) and inline code spans, each cut at ``&&``, ``;`` and a pipe between spaces."""
    pieces: list[str] = []
    for block in FENCE.findall(text):
        pieces += block.replace("\\\n", " ").splitlines()
    pieces += SPAN.findall(FENCE.sub("", text))
    for piece in pieces:
        yield from (p.strip() for p in re.split(r"\s(?:&&|;|\|)\s", piece))


def documented() -> list[tuple[str, str, str, list[str]]]:
    """(document, command, its line, its options) of every documented command."""
    found = []
    for doc in DOCS:
        for line in code_lines(doc.read_text(encoding="utf-8")):
            script, cli = SCRIPT.search(line) or BARE.match(line), CLI.match(line)
            if script:
                name, rest = script.group(1), script.group(2)
                path = next((p for p in (REPO / name, doc.parent / name) if p.is_file()), None)
                if path is None and not name.startswith(OURS):
                    continue  # another project's script (NeMo's), or a file in a listing
                command = str(path.resolve().relative_to(REPO)) if path else name
            elif cli and not cli.group(1).startswith("-"):
                command, rest = f"synthaudio {cli.group(1)}", cli.group(2)
            else:
                continue
            found.append((str(doc.relative_to(REPO)), command, line,
                          sorted(set(OPTION.findall(rest)))))
    return found


class _Parsed(Exception):  # noqa: N818 - carries the parser out of a script's main
    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.parser = parser


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {s for a in parser._actions for s in a.option_strings}  # noqa: SLF001


def script_options(script: Path, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The option strings of a script's parser: the script runs as ``__main__`` until it
    parses its arguments (argparse stopped there); a script that reads ``sys.argv`` itself
    (and exits, given none) takes no options."""

    def stop(self: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        raise _Parsed(self)

    with monkeypatch.context() as m:
        m.setattr(argparse.ArgumentParser, "parse_args", stop)
        m.setattr(argparse.ArgumentParser, "parse_known_args", stop)
        m.setattr(sys, "argv", [str(script)])
        m.syspath_prepend(str(script.parent))
        try:
            runpy.run_path(str(script), run_name="__main__")
        except _Parsed as parsed:
            return _options(parsed.parser)
        except SystemExit:
            return set()
    raise AssertionError(f"{script.relative_to(REPO)} did not parse its arguments")


def cli_options() -> dict[str, set[str]]:
    """Each ``synthaudio`` subcommand's option strings."""
    sub = next(a for a in build_parser()._actions  # noqa: SLF001
               if isinstance(a, argparse._SubParsersAction))  # noqa: SLF001
    return {name: _options(p) for name, p in sub.choices.items()}


def test_the_documentation_names_commands_of_every_kind() -> None:
    commands = {c for _, c, _, _ in documented()}
    assert {"synthaudio generate", "synthaudio detect", "recipes/digits/run.py",
            "recipes/keywords/run.py", "benchmarks/bench_speed.py"} <= commands, commands


def test_every_documented_command_exists_and_takes_its_options(
        monkeypatch: pytest.MonkeyPatch) -> None:
    subcommands = cli_options()
    parsers: dict[str, set[str]] = {}
    wrong = []
    for doc, command, line, options in documented():
        if command.startswith("synthaudio "):
            known = subcommands.get(command.split()[1])
        elif (REPO / command).is_file():
            if command not in parsers:
                parsers[command] = script_options(REPO / command, monkeypatch)
            known = parsers[command]
        else:
            known = None
        if known is None:
            wrong.append(f"{doc}: {command} does not exist ({shlex.quote(line)})")
            continue
        wrong += [f"{doc}: {command} has no {o} ({line})" for o in options if o not in known]
    assert not wrong, "\n".join(wrong)

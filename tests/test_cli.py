"""The command line: help and defaults, --version, --debug placement, pipes, flag names."""

from __future__ import annotations

import argparse
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import synthaudio
from synthaudio.cli import build_parser, main
from synthaudio.errors import InputError

CLI = [sys.executable, "-m", "synthaudio.cli"]


def subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_option_has_help_and_shows_its_default() -> None:
    for name, sub in subparsers().items():
        text = sub.format_help()
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"{name} {action.dest}: no help"
            default = action.default
            if action.option_strings and default not in (None, False, argparse.SUPPRESS):
                shown = (":".join(f"{x:g}" for x in default) if isinstance(default, tuple)
                         else str(default))
                assert f"(default: {shown})" in " ".join(text.split()), (name, action.dest)


def _defaults(sub: argparse.ArgumentParser) -> dict[str, object]:
    return {a.dest: a.default for a in sub._actions}


def test_cli_defaults_are_the_library_defaults() -> None:
    from synthaudio.augment.room import RoomConfig
    from synthaudio.evaluate.evaluate import evaluate_corpus
    from synthaudio.manifests.export import DEFAULT_FORMATS, export_corpus
    from synthaudio.pipelines.augment_dir.pipeline import augment_kaldi_dir
    from synthaudio.pipelines.generate.pipeline import generate_corpus

    subs = subparsers()

    def lib(func: object) -> dict[str, object]:
        return {k: p.default for k, p in inspect.signature(func).parameters.items()}  # type: ignore[arg-type]

    gen, aug, exp, ev = (lib(f) for f in (generate_corpus, augment_kaldi_dir, export_corpus,
                                          evaluate_corpus))
    # -j: the library runs in-process unless told (jobs=1); the CLI defaults to the usable
    # cores (None, resolved by cli._jobs: tests/reliability/test_bad_input_answers.py)
    for name in ("generate", "augment", "export", "evaluate", "rirs"):
        assert _defaults(subs[name])["jobs"] is None, name
    assert gen["jobs"] == aug["jobs"] == exp["jobs"] == ev["jobs"] == 1
    assert _defaults(subs["generate"])["executor"] == gen["executor"]
    for key in ("copies", "seed", "executor"):
        assert _defaults(subs["augment"])[key] == aug[key], key
    assert _defaults(subs["export"])["format"].split(",") == list(DEFAULT_FORMATS)
    assert _defaults(subs["export"])["shard_size"] == exp["shard_size"]
    assert ev["split"] == "test" and _defaults(subs["evaluate"])["asr"] == ev["asr"]
    assert _defaults(subs["rirs"])["rt60"] == RoomConfig().rt60_s
    assert _defaults(subs["voices"])["engine"] == "espeak-ng"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"synthaudio {synthaudio.__version__}"


def test_debug_before_or_after_the_subcommand(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "nothing")
    assert main(["export", missing]) == 2
    assert "Traceback" not in capsys.readouterr().err
    for argv in (["--debug", "export", missing], ["export", missing, "--debug"]):
        with pytest.raises(InputError):  # the library error itself, with its traceback
            main(argv)


# argparse's help printer swallows the write error itself, and exits 0
@pytest.mark.parametrize(("args", "code"), [(["voices"], "141"), (["--help"], "0"),
                                            (["export", "--help"], "0")])
def test_output_piped_into_head_exits_quietly(args: list[str], code: str) -> None:
    # head -c 0 exits before the CLI writes, so the write always meets a closed pipe
    cmd = " ".join([*CLI, *args]) + " | head -c 0; echo ${PIPESTATUS[0]}"
    done = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=120)
    assert done.stderr == "" and done.stdout.strip() == code
    first = subprocess.run(["bash", "-c", " ".join([*CLI, *args]) + " | head -n 1"],
                           capture_output=True, text=True, timeout=120)
    assert first.stderr == "" and len(first.stdout.splitlines()) == 1


def test_errors_name_the_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rirs", "-o", str(tmp_path / "bank"), "--sample-rate", "4000"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "synthaudio: error: --sample-rate: must be 8000..192000 Hz, got 4000"
    assert not (tmp_path / "bank").exists()


def test_evaluate_accepts_a_kaldi_directory(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    kdir = tmp_path / "data"
    kdir.mkdir()
    texts = {"a-001": "turn on the light", "a-002": "two three"}
    for uid in texts:
        tone = 0.1 * np.sin(2 * np.pi * 220 * np.arange(8000) / 16000)
        sf.write(kdir / f"{uid}.wav", tone.astype(np.float32), 16000, subtype="PCM_16")
    (kdir / "wav.scp").write_text("".join(f"{u} {kdir / u}.wav\n" for u in texts))
    (kdir / "text").write_text("".join(f"{u} {t}\n" for u, t in texts.items()))
    (kdir / "utt2spk").write_text("".join(f"{u} a\n" for u in texts))
    hyp = tmp_path / "hyp.txt"
    hyp.write_text("a-001 turn on the night\na-002 two three\n")
    assert main(["evaluate", str(kdir), "--asr", f"hyp:{hyp}", "--name", "mine"]) == 0
    out = capsys.readouterr().out
    assert "WER  16.67%" in out  # 1 substitution in 6 words
    summary = json.loads((kdir / "eval" / "mine" / "summary.json").read_text())
    assert summary["num_utterances"] == 2
    assert main(["evaluate", str(kdir), "--asr", f"hyp:{hyp}", "--split", "dev"]) == 2
    assert "--split" in capsys.readouterr().err
    assert os.listdir(kdir / "eval") == ["mine"]

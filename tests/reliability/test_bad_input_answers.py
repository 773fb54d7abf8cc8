"""Bad input that used to be answered wrongly: negative seeds, absurd ``-j``, a missing
folder for ``validate``, duplicate YAML keys. Each gets one line and exit code 2 (or a note),
and nothing is written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from relutil import TINY_CONFIG, tree_hashes, write_tiny_config

import synthaudio.run.executors as executors
from synthaudio.cli import build_parser, main
from synthaudio.errors import ConfigError
from synthaudio.run.executors import fit_jobs, usable_cores


def _one_line_error(code: int, err: str, *expected: str) -> None:
    assert code == 2, err
    assert err.startswith("synthaudio: error: ") and err.count("\n") == 1, err
    for text in expected:
        assert text in err, err


def test_negative_seed_in_a_config_is_one_line(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    config = write_tiny_config(tmp_path / "cfg", TINY_CONFIG.replace("seed: 11", "seed: -5"))
    code = main(["generate", str(config), "-o", str(tmp_path / "out"), "-q"])
    _one_line_error(code, capsys.readouterr().err, "corpus.yaml:2:", "seed",
                    "greater than or equal to 0")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["generate", "rirs"])
def test_negative_seed_on_the_command_line_is_one_line(
        command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    argv = ["rirs", "-o", str(out), "--count", "1", "--seed", "-1"] if command == "rirs" else \
        ["generate", str(write_tiny_config(tmp_path / "cfg")), "-o", str(out), "-q",
         "--seed", "-1"]
    code = main(argv)
    _one_line_error(code, capsys.readouterr().err, "--seed must be", ">= 0", "-1")
    assert not out.exists()  # rirs used to leave an empty folder


def _double(item: int) -> int:
    return 2 * item


def test_jobs_above_the_usable_cores_are_lowered_with_a_note(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    cores = usable_cores()
    assert cores == len(os.sched_getaffinity(0))
    assert fit_jobs(1000) == (cores, f"-j 1000: only {cores} CPU core(s) are usable here, so "
                                     f"{cores} worker(s) are used")
    assert fit_jobs(None) == (cores, None) and fit_jobs(1) == (1, None)
    pools: list[int] = []
    real_pool = executors.worker_pool

    def counting_pool(jobs: int, *args: object) -> object:
        pools.append(jobs)
        return real_pool(jobs, *args)

    monkeypatch.setattr(executors, "worker_pool", counting_pool)
    config = write_tiny_config(tmp_path / "cfg",
                               TINY_CONFIG.replace("per_speaker: 6", "per_speaker: 1"))
    assert main(["generate", str(config), "-o", str(tmp_path / "out"), "-q", "-j", "1000"]) == 0
    err = capsys.readouterr().err
    assert f"synthaudio: note: -j 1000: only {cores} CPU core(s) are usable here" in err
    assert pools and max(pools) <= cores  # never 1,000 processes
    # the library lowers it too (nothing to note there: the summary is the CLI's)
    executors.run_tasks(_double, [1, 2, 3], lambda r: None, jobs=1000)
    assert max(pools) <= cores


def test_default_jobs_are_the_usable_cores_and_do_not_change_the_bytes(
        tiny_reference: tuple[Path, dict[str, str]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    args = build_parser().parse_args(["generate", "c.yaml", "-o", "o"])
    assert args.jobs is None  # resolved when run: the usable cores
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2})
    assert fit_jobs(None) == (3, None)
    config, reference = tiny_reference
    assert main(["generate", str(config), "-o", str(tmp_path / "out"), "-q"]) == 0
    assert tree_hashes(tmp_path / "out") == reference  # the reference was made with -j 2


def test_validate_on_a_missing_folder_exits_2(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", str(tmp_path / "nowhere")])
    _one_line_error(code, capsys.readouterr().err, f"{tmp_path / 'nowhere'}: no such folder")
    (tmp_path / "file").write_text("x")
    code = main(["validate", str(tmp_path / "file")])
    _one_line_error(code, capsys.readouterr().err, "is not a folder")


@pytest.mark.parametrize("text,where,key,first", [
    ("name: a\nseed: 1\nname: b\n", "corpus.yaml:3:", "'name'", "line 1"),
    ("name: a\nspeakers:\n  count: 2\n  variants: [m1]\n  count: 3\n", "corpus.yaml:5:",
     "'count'", "line 3"),
    ("name: a\naudio: {stems: true, stems: false}\n", "corpus.yaml:2:", "'stems'", "line 2"),
])
def test_duplicate_yaml_keys_are_refused_naming_both_lines(
        text: str, where: str, key: str, first: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    config = write_tiny_config(tmp_path / "cfg", text)
    code = main(["generate", str(config), "-o", str(tmp_path / "out"), "-q"])
    _one_line_error(code, capsys.readouterr().err, where, f"duplicate key {key}",
                    f"first given on {first}")
    assert not (tmp_path / "out").exists()


def test_yaml_merge_keys_may_still_be_overridden() -> None:
    from synthaudio.configbase import load_yaml

    assert load_yaml("a: &A {x: 1, y: 2}\nb:\n  <<: *A\n  y: 3\n", "c.yaml") == \
        {"a": {"x": 1, "y": 2}, "b": {"x": 1, "y": 3}}
    with pytest.raises(ConfigError, match="c.yaml:2: duplicate key 'a'"):
        load_yaml("a: 1\na: 2\n", "c.yaml")


def test_augment_input_with_nan_is_refused_before_anything_is_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np
    import soundfile as sf

    kaldi = tmp_path / "in"
    kaldi.mkdir()
    tone = (0.1 * np.sin(np.arange(16000) / 5.0)).astype(np.float32)
    bad = tone.copy()
    bad[8000] = np.nan
    sf.write(kaldi / "a.wav", tone, 16000, subtype="FLOAT")
    sf.write(kaldi / "b.wav", bad, 16000, subtype="FLOAT")
    (kaldi / "wav.scp").write_text(f"s1-a {kaldi / 'a.wav'}\ns1-b {kaldi / 'b.wav'}\n")
    (kaldi / "text").write_text("s1-a hello\ns1-b world\n")
    (kaldi / "utt2spk").write_text("s1-a s1\ns1-b s1\n")
    out = tmp_path / "out"
    code = main(["augment", str(kaldi), "-o", str(out), "-q", "-j", "1"])
    _one_line_error(code, capsys.readouterr().err, f"{kaldi / 'b.wav'}: audio of s1-b contains "
                    "NaN or infinite samples (first at sample 8000)")
    assert not out.exists()  # no corpus.yaml, no WAV of the good utterance


def test_limit_covers_every_split_and_a_later_run_extends_the_corpus(
        tiny_reference: tuple[Path, dict[str, str]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """tiny: 4 speakers x 6 (12 train, 6 dev, 6 test utterances); --limit 10 keeps 5/3/2
    (largest remainders of 10 * 12/24, 10 * 6/24, ...), a run without it makes the rest,
    and the result is byte for byte the corpus made without a limit."""
    import json

    config, reference = tiny_reference
    out = tmp_path / "out"
    assert main(["generate", str(config), "-o", str(out), "-q", "--limit", "10"]) == 0
    records = [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]
    splits = [r["split"] for r in records]
    assert len(records) == 10
    assert {s: splits.count(s) for s in ("train", "dev", "test")} == {"train": 5, "dev": 3,
                                                                       "test": 2}
    # each kept utterance is the one the unlimited corpus has under that id, byte for byte
    assert main(["generate", str(config), "-o", str(out), "-q", "--limit", "16"]) == 0
    assert main(["generate", str(config), "-o", str(out), "-q"]) == 0
    capsys.readouterr()
    assert tree_hashes(out) == reference

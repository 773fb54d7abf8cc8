"""Ctrl-C: ``generate -j 2`` stops within seconds, workers included, says how to resume, and
the resumed corpus is byte-identical to one never interrupted."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from relutil import (
    TINY_CONFIG,
    Child,
    check_consistent,
    inode,
    temp_files,
    tree_hashes,
    wait_for,
    wait_group_gone,
    write_tiny_config,
)

from synthaudio.pipelines.generate.pipeline import generate_corpus

# long enough (64 utterances in 4 render groups, ~1 s of rendering) that Ctrl-C lands mid-run
CONFIG = TINY_CONFIG.replace("per_speaker: 6", "per_speaker: 16")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("sigint")
    config = write_tiny_config(root / "cfg", CONFIG)
    generate_corpus(config, root / "ref", jobs=2, progress=False)
    return config, tree_hashes(root / "ref")


@pytest.mark.parametrize("stage, real", [("rendering", True), ("bank", False)])
def test_ctrl_c_stops_promptly_and_resume_is_byte_identical(
    tmp_path: Path, reference: tuple[Path, dict[str, str]], stage: str, real: bool
) -> None:
    config, ref = reference
    out = tmp_path / "out"
    child = Child(["generate", str(config), "-o", str(out), "-q", "-j", "2"],
                  tmp_path / "run.log", real=real)
    if stage == "rendering":
        records = out / ".work" / "records"
        reached = wait_for(child, lambda: records.is_dir() and any(records.iterdir()))
    else:  # the RIR bank is built right after corpus.yaml is written
        reached = wait_for(child, lambda: inode(out / "corpus.yaml") is not None)
    assert reached, child.output()
    os.killpg(child.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
    sent = time.monotonic()
    rc = child.wait(timeout=10)
    took = time.monotonic() - sent
    output = child.output()
    assert rc == 130, output
    assert took < 3.0, f"took {took:.1f} s to stop"
    assert "interrupted" in output and "--resume" in output, output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
    assert not wait_group_gone(child.pid, timeout=1.0), "worker processes left running"
    check_consistent(out)

    summary = generate_corpus(config, out, jobs=2, resume=True, progress=False)
    assert 0 < summary.rendered <= 64
    assert tree_hashes(out) == ref
    assert not temp_files(out)

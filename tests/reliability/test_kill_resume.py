"""Crash safety: ``generate`` killed with SIGKILL at random moments, then run again, ends with
the same bytes as a run never interrupted; after every kill, nothing half-written is visible
under a final name and every manifest line points at complete, readable audio."""

from __future__ import annotations

import functools
import os
import shutil
import signal
import time
from collections import Counter
from pathlib import Path

import numpy as np
from relutil import (
    Child,
    check_consistent,
    inode,
    tree_hashes,
    wait_for,
    wait_group_gone,
)

from synthaudio.io.fileio import is_temp_name

MIN_KILLS = 24
REAL_RUNS = 2  # runs of the installed program started from scratch; the rest are forked
# What a kill waits for, and the longest random delay after it (s): the tiny corpus builds
# its bank in ~0.05 s, renders in ~0.3 s and exports in ~0.1 s.
TRIGGERS = {"claimed": 0.1, "rendering": 0.2, "exporting": 0.06}


def _records(out: Path) -> int:
    try:
        names = os.listdir(out / ".work" / "records")
    except OSError:  # not made yet, or removed at the end of the run
        return 0
    return sum(1 for name in names if not is_temp_name(name))


def _marks(out: Path) -> dict[str, int | None]:
    """What shows that a run got past each trigger: files replaced, records added."""
    return {"claimed": inode(out / "corpus.yaml"), "rendering": _records(out),
            "exporting": inode(out / "metadata.jsonl")}


def _reached(out: Path, trigger: str, before: dict[str, int | None]) -> bool:
    now = _marks(out)[trigger]
    if trigger == "rendering":
        return (now or 0) > (before[trigger] or 0)
    return now is not None and now != before[trigger]


def _stage(out: Path) -> str:
    """Where the killed run was, judged from what it left."""
    if not (out / "rirs" / "index.jsonl").exists():
        return "bank"
    if not (out / "metadata.jsonl").exists():
        return "render"
    return "export" if (out / ".work").exists() else "finish"


def test_sigkill_at_random_moments_then_rerun_is_byte_identical(
    tmp_path: Path, tiny_reference: tuple[Path, dict[str, str]]
) -> None:
    config, ref = tiny_reference
    rng = np.random.default_rng(20261123)
    out = tmp_path / "out"
    argv = ["generate", str(config), "-o", str(out), "-q", "-j", "2"]
    stages: Counter[str] = Counter()
    completed = 0
    run = 0
    while True:
        trigger = str(rng.choice(list(TRIGGERS)))
        delay = float(rng.uniform(0, TRIGGERS[trigger]))
        if not out.exists():  # a fresh start: aim at the RIR bank, built right after claiming
            trigger, delay = "claimed", delay / 4
        before = _marks(out)
        child = Child(argv, tmp_path / f"run{run}.log", real=run < REAL_RUNS)
        run += 1
        if sum(stages.values()) >= MIN_KILLS:
            break
        if wait_for(child, functools.partial(_reached, out, trigger, before)):
            end = time.monotonic() + delay
            while child.poll() is None and time.monotonic() < end:
                time.sleep(0.0005)
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)  # the main process only: workers must follow
            child.wait()
            assert not wait_group_gone(child.pid), "worker processes outlived a killed run"
            check_consistent(out)
            stages[_stage(out)] += 1
        else:  # the run finished before the kill: the corpus must be the reference
            assert child.rc == 0, child.output()
            assert tree_hashes(out) == ref
            completed += 1
            shutil.rmtree(out)
    assert child.wait() == 0, child.output()
    assert not wait_group_gone(child.pid)
    assert tree_hashes(out) == ref
    assert not [p for p in out.rglob("*") if is_temp_name(p.name)]
    print(f"kills by stage: {dict(stages)}, runs: {run}, finished chains: {completed}")
    assert stages["bank"] and stages["render"] and stages["export"], stages


def test_a_killed_write_of_the_record_is_swept_by_the_next_run(
    tmp_path: Path, tiny_reference: tuple[Path, dict[str, str]]
) -> None:
    """A run killed while it rewrote OUT/.synthaudio-written (written to a temporary name,
    then renamed) leaves that temporary file; the next run removes it with the others, so
    the finished corpus is the reference, byte for byte and file for file."""
    from synthaudio.pipelines.generate.pipeline import generate_corpus
    from synthaudio.run.outdir import WRITTEN_NAME

    config, ref = tiny_reference
    out = tmp_path / "out"
    generate_corpus(config, out, jobs=1, progress=False)
    stray = out / f".{WRITTEN_NAME}.fr0sd64_.tmp"  # what mkstemp names it
    stray.write_bytes((out / WRITTEN_NAME).read_bytes())
    assert is_temp_name(stray.name)
    generate_corpus(config, out, jobs=1, progress=False)
    assert not stray.exists()
    assert tree_hashes(out) == ref

"""Progress bars: on stderr when it is a terminal and not quiet; never in logs or pipes."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from synthaudio.augment.rirbank import build_rir_bank
from synthaudio.augment.room import RoomConfig
from synthaudio.evaluate.evaluate import _decode_all, _Item

SMALL = RoomConfig(rt60_s=(0.2, 0.3), dims_m=((3.0, 4.0), (3.0, 4.0), (2.5, 3.0)))


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("tty", "progress", "shown"),
                         [(True, True, True), (True, False, False), (False, True, False)])
def test_rirs_bar_only_on_a_terminal_and_not_quiet(tmp_path: Path, monkeypatch: Any,
                                                   tty: bool, progress: bool,
                                                   shown: bool) -> None:
    err = _Tty() if tty else io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    build_rir_bank(tmp_path / "bank", SMALL, count=2, sample_rate=16000, seed=1,
                   progress=progress)
    assert ("rirs" in err.getvalue() and "/2 " in err.getvalue()) == shown, err.getvalue()


class _Echo:
    """An ASR stand-in that says how many samples it heard."""

    name = "echo"

    def transcribe(self, audio: np.ndarray, sample_rate: int) -> str:
        return f"n {audio.shape[-1]}"


def test_evaluate_shows_decoding_progress(tmp_path: Path, monkeypatch: Any) -> None:
    items = []
    for i in range(3):
        path = tmp_path / f"u{i}.wav"
        sf.write(path, np.zeros(800 * (i + 1), np.float32), 16000)
        items.append(_Item(f"u{i}", path, "x", {}, f"wav.scp:{i + 1}"))
    err = _Tty()
    monkeypatch.setattr(sys, "stderr", err)
    hyps = _decode_all(items, _Echo(), jobs=1, progress=True)  # type: ignore[arg-type]
    assert hyps == {"u0": "n 800", "u1": "n 1600", "u2": "n 2400"}
    assert "evaluate" in err.getvalue() and "/3 " in err.getvalue(), err.getvalue()


@pytest.mark.parametrize("command", ["rirs", "evaluate", "report", "export"])
def test_long_commands_take_quiet(command: str) -> None:
    result = subprocess.run([sys.executable, "-m", "synthaudio.cli", command, "--help"],
                            capture_output=True, text=True, check=True)
    assert "--quiet" in result.stdout


def test_a_killed_child_holding_the_bar_lock_does_not_hang_later_bars() -> None:
    """A forked child SIGKILLed while it holds tqdm's write lock (the kill-and-resume tests
    do this at random moments) must not leave this process's next bar waiting forever."""
    import subprocess
    import sys

    script = (
        "import os, signal\n"
        "from tqdm import tqdm\n"
        "from synthaudio.run.progress import progress_bar\n"
        "progress_bar(1, 'before', progress=False).close()\n"  # the lock exists before the fork
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    tqdm.get_lock().acquire()\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "os.waitpid(pid, 0)\n"
        "with progress_bar(3, 'x', progress=False) as bar:\n"
        "    bar.update(3)\n"
        "print('ok')\n")
    try:
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              timeout=60, check=False)
    except subprocess.TimeoutExpired:
        raise AssertionError("the bar after the killed child waited forever") from None
    assert proc.returncode == 0 and proc.stdout == "ok\n", proc.stderr

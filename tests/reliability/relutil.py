"""Shared pieces of the reliability tests: a tiny corpus config, runs of the real CLI in
child processes, and a check that a corpus folder holds nothing half-written."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

import soundfile as sf
import yaml

import synthaudio.pipelines.generate.pipeline  # noqa: F401  (forked runs start with it imported)
from synthaudio.cli import main
from synthaudio.io.fileio import check_wav_complete, is_temp_name

# 4 speakers x 3 utterances with every stage that writes files: a 3-room RIR bank, noise,
# stems, and every export whose bytes do not depend on where OUT is (lhotse's do).
TINY_CONFIG = """\
name: tiny
seed: 11
text:
  sources:
    - file: prompts.txt
    - template: "turn {on|off} the {light|fan|radio}"
speakers:
  count: 4
  variants: [m1, f2]
utterances:
  per_speaker: 6
splits: {train: 0.5, dev: 0.25, test: 0.25}
audio: {stems: true}
exports: [kaldi, espnet, nemo, hf, ctm, webdataset]
augment:
  speed: {probability: 0.5}
  room:
    probability: 1.0
    bank_size: 3
    simulation: {dims_m: [[3, 4], [3, 4], [2.5, 3]], rt60_s: [0.2, 0.3]}
  noise: {probability: 1.0, snr_db: [10, 20]}
"""

TINY_PROMPTS = "p-1\tThe meeting starts at 3:45 pm.\np-2\tPlease call Dr. Smith.\n"


def write_tiny_config(folder: Path, config: str = TINY_CONFIG,
                      prompts: str | bytes = TINY_PROMPTS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(prompts, bytes):
        (folder / "prompts.txt").write_bytes(prompts)
    else:
        (folder / "prompts.txt").write_text(prompts, encoding="utf-8")
    path = folder / "corpus.yaml"
    path.write_text(config, encoding="utf-8")
    return path


# Two dry sessions in the test split: what the session-command tests score and export.
SESSIONS_CONFIG = """\
name: dry
seed: 5
text:
  sources:
    - file: prompts.txt
speakers:
  count: 6
  variants: [m1, f2, m3]
splits: {train: 0.0, dev: 0.0, test: 1.0}
sessions:
  count: 2
  speakers: [2, 3]
  length_s: [10, 14]
  turn_words: [3, 8]
  overlap_ratio: 0.15
  silence_ratio: 0.12
"""
SESSION_PROMPTS = """\
p-1\tThe meeting starts at 3:45 pm.
p-2\tPlease call Dr. Smith tomorrow morning.
p-3\tI think we should move the release to next week.
p-4\tCan you send me the report before lunch?
"""


def write_sessions_config(folder: Path, text: str = SESSIONS_CONFIG) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "prompts.txt").write_text(SESSION_PROMPTS, encoding="utf-8")
    (folder / "sessions.yaml").write_text(text, encoding="utf-8")
    return folder / "sessions.yaml"


def tree_hashes(out: Path) -> dict[str, str]:
    """sha256 of every file under ``out``, logs/ excluded."""
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and "logs" not in p.relative_to(out).parts
    }


def temp_files(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if is_temp_name(p.name)]


# ---- child processes ----------------------------------------------------------------------


class Child:
    """``synthaudio`` run in its own session (process group), stdout+stderr to a file."""

    def __init__(self, argv: list[str], log: Path, real: bool) -> None:
        self.log = log
        self.real = real
        self.rc: int | None = None
        if real:  # the installed program, started from scratch
            with log.open("wb") as f:
                # SIGINT at its default, as in a program started from a terminal: a test
                # run started in the background (``cmd &``) ignores SIGINT, its children
                # inherit that, and Python then installs no KeyboardInterrupt handler
                self.proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                    [sys.executable, "-m", "synthaudio.cli", *argv], stdout=f, stderr=f,
                    start_new_session=True,
                    preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
            self.pid = self.proc.pid
        else:  # the same main(), forked from this already-imported process (no import time)
            self.proc = None
            pid = os.fork()
            if pid == 0:  # pragma: no cover - child
                code = 99
                try:
                    os.setsid()
                    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                    os.dup2(fd, 1)
                    os.dup2(fd, 2)
                    sys.stdout = sys.stderr = open(1, "w", closefd=False)  # noqa: SIM115
                    signal.signal(signal.SIGINT, signal.default_int_handler)
                    code = main(argv)
                except BaseException:  # noqa: BLE001
                    import traceback

                    traceback.print_exc()
                finally:
                    sys.stdout.flush()
                    os._exit(code)
            self.pid = pid

    def poll(self) -> int | None:
        if self.rc is None:
            if self.proc is not None:
                self.rc = self.proc.poll()
            else:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    self.rc = os.waitstatus_to_exitcode(status)
        return self.rc

    def wait(self, timeout: float = 60.0) -> int:
        end = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > end:
                os.killpg(self.pid, signal.SIGKILL)
                raise AssertionError(f"run did not end within {timeout} s")
            time.sleep(0.002)
        assert self.rc is not None
        return self.rc

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def live_group_members(pgid: int) -> list[int]:
    """Processes of process group ``pgid`` that are not zombies."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            pids.append(int(entry.name))
    return pids


def wait_group_gone(pgid: int, timeout: float = 3.0) -> list[int]:
    """Wait until no live process is left in ``pgid``; return those left after ``timeout``."""
    end = time.monotonic() + timeout
    while True:
        left = live_group_members(pgid)
        if not left or time.monotonic() > end:
            return left
        time.sleep(0.01)


def inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except OSError:
        return None


def wait_for(child: Child, ready: Callable[[], bool], timeout: float = 60.0) -> bool:
    """Poll until ``ready()`` (True) or the child ends (False)."""
    end = time.monotonic() + timeout
    while child.poll() is None:
        if ready():
            return True
        if time.monotonic() > end:
            raise AssertionError("the run never reached the awaited point")
        time.sleep(0.001)
    return False


# ---- what a corpus folder may hold at any moment --------------------------------------------


def _read_audio(path: Path) -> int:
    if path.suffix == ".wav":
        check_wav_complete(path)
    data, _ = sf.read(path, dtype="float32", always_2d=True)
    assert data.shape[0] > 0, f"{path}: no samples"
    return int(data.shape[0])


def _lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    assert text == "" or text.endswith("\n"), f"{path}: does not end with a newline (cut off?)"
    return text.splitlines()


def check_consistent(out: Path) -> None:
    """Every file under a final name is complete, and every manifest line names complete
    audio; temporary files may exist (a killed run leaves them; the next run sweeps them)."""
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out)
        if not path.is_file() or is_temp_name(path.name) or rel.parts[0] == "logs":
            continue
        if path.suffix in (".wav", ".flac"):
            _read_audio(path)
        elif path.suffix in (".json", ".jsonl"):
            for line in _lines(path):
                json.loads(line)
        elif path.suffix == ".gz":
            gzip.decompress(path.read_bytes())
        elif path.suffix == ".tar":
            with tarfile.open(path) as tar:
                for member in tar:
                    assert tar.extractfile(member) is not None
        elif path.name == "corpus.yaml":
            assert "fingerprint" in yaml.safe_load(path.read_text(encoding="utf-8"))
        else:
            _lines(path)
    meta = out / "metadata.jsonl"
    if meta.exists():
        for line in _lines(meta):
            rec = json.loads(line)
            frames = _read_audio(out / rec["audio"])
            assert abs(frames / rec["sample_rate"] - rec["duration_s"]) < 1e-3
    for scp in out.glob("data/*/wav.scp"):
        for line in _lines(scp):
            entry = line.split(" ", 1)[1]
            if entry.endswith("|"):  # multichannel: "sox PATH -t wav - remix 1 |"
                entry = entry.split(" ")[1]
            _read_audio(out / entry)
    for manifest in out.glob("manifests/nemo/*.json"):
        for line in _lines(manifest):
            _read_audio(manifest.parent / json.loads(line)["audio_filepath"])
    for hf in out.glob("audio/*/metadata.jsonl"):
        for line in _lines(hf):
            _read_audio(hf.parent / json.loads(line)["file_name"])
    index = out / "rirs" / "index.jsonl"
    if index.exists():
        for line in _lines(index):
            entry = json.loads(line)
            _read_audio(out / "rirs" / entry["path"])
            _read_audio(out / "rirs" / entry["noise_path"])

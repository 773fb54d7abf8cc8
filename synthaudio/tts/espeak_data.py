"""espeak-ng's data folder: a short copy when its path is too long, the per-process shadow
folder generated variants are written to, the shipped variants and usable MBROLA voices.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from synthaudio.tts.variants import NAME_PREFIX

# espeak-ng keeps its data path in a fixed buffer (160 bytes; longer paths make it exit).
_MAX_DATA_PATH = 150


def _short_data_path(path: Path) -> Path:
    """espeak-ng exits on data paths longer than its buffer: copy the data to a short one."""
    if len(str(path)) <= _MAX_DATA_PATH:
        return path
    target = Path(tempfile.gettempdir()) / f"synthaudio-espeak-{os.getuid()}"
    if not (target / "phontab").exists():
        shutil.copytree(path, target, dirs_exist_ok=True)
    return target


def make_shadow_data(real: Path) -> Path:
    """A per-process espeak data folder: links to ``real``'s entries, own ``voices/!v``.

    espeak-ng reads variants only from ``<data>/voices/!v`` and the installed data must not
    be modified, so generated variants go to a folder of this process
    (``$TMPDIR/sa-espeak-<uid>-<pid>``, short enough for espeak's path buffer) whose
    entries link to the real data, except ``voices`` and ``voices/!v``, real folders whose
    entries link to the shipped ones. Folders of dead processes untouched for an hour are
    removed.
    """
    root = Path(tempfile.gettempdir())
    if len(str(root)) > _MAX_DATA_PATH - 40:
        root = Path("/tmp")
    prefix = f"sa-espeak-{os.getuid()}-"
    for old in root.glob(prefix + "*"):
        pid = old.name[len(prefix):]
        try:
            stale = time.time() - old.stat().st_mtime > 3600  # not one just made elsewhere
        except OSError:
            continue
        if pid.isdigit() and int(pid) != os.getpid() and stale and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    shadow = root / f"{prefix}{os.getpid()}"
    shutil.rmtree(shadow, ignore_errors=True)  # a dead process's, with our pid
    variants = shadow / "voices" / "!v"
    variants.mkdir(parents=True)
    for entry in real.iterdir():
        if entry.name != "voices":
            (shadow / entry.name).symlink_to(entry)
    for entry in (real / "voices").iterdir():
        if entry.name != "!v":
            (shadow / "voices" / entry.name).symlink_to(entry)
    for entry in (real / "voices" / "!v").iterdir():
        if not entry.name.startswith(NAME_PREFIX):
            (variants / entry.name).symlink_to(entry)
    return shadow


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# Where espeak-ng looks for MBROLA voice databases besides <data>/mbrola (POSIX builds).
_MBROLA_DIRS = (Path("/usr/share/mbrola"), Path("/usr/share/mbrola/voices"))


def mbrola_line(voice_file: Path) -> list[str] | None:
    """The fields of an ``mb-*`` voice file's ``mbrola`` line (``mbrola <db> <phtrans>
    [<rate>]``); None when the file has none or cannot be read."""
    try:
        lines = voice_file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split()
        if parts[:1] == ["mbrola"]:
            return parts
    return None


def mbrola_usable(data: Path, voice_file: Path) -> bool:
    """Whether an ``mb-*`` voice can speak: espeak-ng runs the ``mbrola`` program with the
    voice's database and needs its phoneme translation table (``mbrola_ph/``)."""
    if shutil.which("mbrola") is None:
        return False
    parts = mbrola_line(voice_file)
    if parts is None or len(parts) < 3:
        return False
    db, phtrans = parts[1], parts[2]
    candidates = [data / "mbrola" / db] + [d / db for d in _MBROLA_DIRS] + [
        _MBROLA_DIRS[0] / db / db]
    return (data / "mbrola_ph" / phtrans).is_file() and any(c.is_file() for c in candidates)


def shipped_variants() -> list[str]:
    """Names of the voice variants shipped with espeak-ng (files under voices/!v)."""
    import espeakng_loader

    folder = Path(espeakng_loader.get_data_path()) / "voices" / "!v"
    return sorted(p.name for p in folder.iterdir() if p.is_file())


def variant_gender(variant: str | None) -> str | None:
    """Gender implied by a shipped variant name: m1..m7 male, f1..f5 female, plain voice male."""
    if variant is None:
        return "m"
    if len(variant) == 2 and variant[0] in "mf" and variant[1].isdigit():
        return variant[0]
    return None

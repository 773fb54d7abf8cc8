"""Atomic writes: every file appears under its final name complete, or not at all.

A file is written to a temporary name beside its final one (``.<name>.<random>.tmp``) and
renamed into place with ``os.replace`` once complete, so a run killed at any moment leaves
either the old file, the new file, or a stray temporary file that :func:`remove_temp_files`
sweeps up on the next run. Audio is encoded in memory first, so a full disk or a permission
problem surfaces as a plain ``OSError`` from the write, which becomes a one-line
:class:`~synthaudio.errors.SynthaudioError` naming the final path.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import struct
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

from synthaudio.errors import InputError, SynthaudioError

FILE_MODE = 0o644  # permissions of written files (mkstemp alone would leave 0o600)
# ".<final name>.<8 random characters>.tmp": what mkstemp makes for atomic_path
TEMP_NAME_RE = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")
_RESUME_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS}


def is_temp_name(name: str) -> bool:
    """True for the name of a temporary file made by :func:`atomic_path`."""
    return TEMP_NAME_RE.match(name) is not None


def remove_temp_files(root: Path, names: Iterable[str] | None = None) -> int:
    """Delete stray temporary files (left by a killed run) under ``root``; return how many.

    Args:
        root: the folder to sweep.
        names: only these entries of ``root`` (and the temporary files of those entries);
            None: everything under ``root``.
    """
    root = Path(root)
    if not root.is_dir():
        return 0
    wanted = None if names is None else set(names)
    removed = 0
    for entry in sorted(root.iterdir()):
        temp = is_temp_name(entry.name)
        final = entry.name[1:].rsplit(".", 2)[0] if temp else entry.name
        if wanted is not None and final not in wanted:
            continue
        if temp and entry.is_file():
            entry.unlink(missing_ok=True)
            removed += 1
        elif entry.is_dir() and not entry.is_symlink():
            for dirpath, _, files in os.walk(entry):
                for name in files:
                    if is_temp_name(name):
                        (Path(dirpath) / name).unlink(missing_ok=True)
                        removed += 1
    return removed


def write_error(path: Path | str, exc: OSError) -> SynthaudioError:
    """A one-line error for a failed write of ``path``: the path, then the system's reason."""
    reason = exc.strerror or str(exc)
    hint = ""
    if exc.errno in _RESUME_ERRNOS:
        hint = " (what is complete is kept; fix this and run the same command again to resume)"
    return SynthaudioError(f"{path}: cannot write: {reason}{hint}")


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed to ``path``."""
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except FileNotFoundError:  # the folder is made when missing, not tried before each file
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_file(path: Path, data: bytes | Iterable[bytes]) -> None:
    """Write ``data`` (bytes, or an iterable of chunks streamed one by one) to a new file
    ``path``: the one place bytes reach the disk."""
    with open(path, "wb") as f:
        if isinstance(data, bytes):
            f.write(data)
        else:
            for chunk in data:
                f.write(chunk)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically; SynthaudioError naming ``path`` on failure."""
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            _write_file(tmp, data)
    except OSError as exc:
        raise write_error(path, exc) from exc


def write_lines_atomic(path: Path, lines: Iterable[str]) -> None:
    """Stream text lines to ``path`` atomically (memory does not grow with their number)."""
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            _write_file(tmp, (line.encode("utf-8") for line in lines))
    except OSError as exc:
        raise write_error(path, exc) from exc


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` as UTF-8 to ``path`` atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))


def to_pcm16(audio: np.ndarray) -> np.ndarray:
    """float audio in [-1, 1] -> int16, clipped and rounded; (K, n) -> (n, K) for soundfile."""
    pcm = np.clip(np.round(audio * 32767.0), -32768, 32767).astype(np.int16)
    return pcm.T if pcm.ndim == 2 else pcm


def encode_audio(frames: np.ndarray, sample_rate: int, fmt: str = "wav",
                 subtype: str = "PCM_16") -> bytes:
    """Encode ``frames`` ``(n,)`` or ``(n, K)`` as a WAV or FLAC file, in memory.

    The same samples always give the same bytes: libsndfile stamps float WAVs with the
    time of writing (in their PEAK chunk), and that stamp is set to 0.
    """
    if fmt.lower() == "wav" and subtype == "PCM_16" and frames.dtype == np.int16:
        return _pcm16_wav(frames, sample_rate)
    buf = io.BytesIO()
    sf.write(buf, frames, sample_rate, subtype=subtype, format=fmt.upper())
    data = buf.getvalue()
    return _zero_peak_timestamp(data) if fmt.lower() == "wav" else data


def _pcm16_wav(frames: np.ndarray, sample_rate: int) -> bytes:
    """16-bit PCM ``frames`` ``(n,)`` or ``(n, K)`` as a WAV file: the canonical 44-byte
    header and the samples, byte for byte what libsndfile writes (without its overhead)."""
    channels = 1 if frames.ndim == 1 else int(frames.shape[1])
    data = np.ascontiguousarray(frames, dtype="<i2").tobytes()
    header = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + len(data), b"WAVE", b"fmt ", 16,
                         1, channels, sample_rate, sample_rate * 2 * channels, 2 * channels,
                         16, b"data", len(data))
    return header + data


def _zero_peak_timestamp(data: bytes) -> bytes:
    """``data`` (a RIFF WAV file) with the timestamp of its PEAK chunk, if any, set to 0."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return data
    pos = 12
    while pos + 8 <= len(data):
        cid, clen = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        if cid == b"PEAK" and clen >= 8:  # version (4 bytes), timestamp (4 bytes), peaks
            stamp = pos + 12
            return data[:stamp] + b"\0\0\0\0" + data[stamp + 4:]
        if cid == b"data":
            break
        pos += 8 + clen + (clen & 1)
    return data


def write_audio_atomic(path: Path, audio: np.ndarray, sample_rate: int, fmt: str = "wav") -> int:
    """Write float32 audio ``(n,)`` or ``(K, n)`` as 16-bit PCM; return the number of samples."""
    pcm = to_pcm16(audio)
    try:
        data = encode_audio(pcm, sample_rate, fmt)
    except OSError as exc:
        raise write_error(path, exc) from exc
    write_bytes_atomic(path, data)
    return int(pcm.shape[0])


def check_wav_complete(path: Path) -> None:
    """InputError when a WAV file holds fewer audio bytes than its header declares.

    libsndfile reads a truncated WAV without complaint (it reports the frames present); a
    cut-off copy is almost always a mistake, so it is refused. Files that are not RIFF WAV,
    and streamed WAVs whose header leaves the size open (0 or 0xFFFFFFFF), pass.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return
            size = os.fstat(f.fileno()).st_size
            while True:
                chunk = f.read(8)
                if len(chunk) < 8:
                    return
                cid, clen = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if cid == b"data":
                    if clen in (0, 0xFFFFFFFF):
                        return
                    have = size - f.tell()
                    if have < clen:
                        raise InputError(f"{path}: truncated WAV file (the header declares "
                                         f"{clen} bytes of audio, the file holds {have})")
                    return
                f.seek(clen + (clen & 1), os.SEEK_CUR)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None

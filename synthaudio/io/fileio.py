"""Atomic writes: every file appears under its final name complete, or not at all.

The one atomic writer of the package (audio, records, configs, manifests, eval results,
reports): :class:`AtomicFile` / :class:`AtomicTextFile` stream a file, the ``write_*_atomic``
functions write one whole; all make their temporary file with :func:`_temp_beside` and put
it in place with :func:`_commit_temp`, so every file gets the same mode: ``0o666`` less the
process umask (``0o644`` under the usual umask 022), as ``open()`` would give it.

A file is written to a temporary name beside its final one (``.<name>.<random>.tmp``) and
renamed into place with ``os.replace`` once complete, so a run killed at any moment leaves
either the old file, the new file, or a stray temporary file that :func:`remove_temp_files`
sweeps up on the next run. Before the rename the file is synced (``fsync``), and after it
the folder, so that after an operating-system crash or power loss too a published name holds
the complete file and the order of publication (audio before the records that name it,
records before ``metadata.jsonl``) holds on disk (:data:`FSYNC`; its cost is measured by
``benchmarks/bench_fsync.py``). Audio is encoded in memory first, so a full disk or a permission
problem surfaces as a plain ``OSError`` from the write, which becomes a one-line
:class:`~synthaudio.errors.SynthaudioError` naming the final path.

(Over 400 lines on purpose: the one place bytes reach the disk, atomic writers, fsync and
the audio checks, so every writer shares one rule.)
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import io
import os
import re
import struct
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import numpy as np
import soundfile as sf

from synthaudio.errors import InputError, SynthaudioError

FILE_MODE = 0o644  # the mode under the usual umask 022; see file_mode()
GZIP_LEVEL = 6  # fixed so gzip output bytes do not depend on library defaults
# ".<final name>.<8 random characters>.tmp": what mkstemp makes for atomic_path
TEMP_NAME_RE = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")
# fsync each file before the rename that publishes it and its folder after: the benchmark
# turns it off to measure what it costs; nothing else should.
FSYNC = True
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


def file_mode() -> int:
    """The mode of a new file: ``0o666`` less this process's umask (mkstemp alone gives 0600)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:  # read without changing it
            for line in f:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: read it by setting it (and put it back at once)
    os.umask(mask)
    return 0o666 & ~mask


def _temp_beside(path: Path) -> tuple[int, Path]:
    """A new temporary file ``.<name>.<random>.tmp`` beside ``path`` (its folder is made when
    missing): (open descriptor, path)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except FileNotFoundError:  # the folder is made when missing, not tried before each file
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    return fd, Path(tmp)


def _commit_temp(tmp: Path, path: Path) -> None:
    """Give the complete (and synced) temporary file its mode, move it to ``path`` and sync
    the folder, so that the new name is on disk too."""
    os.chmod(tmp, file_mode())
    os.replace(tmp, path)
    if FSYNC:
        _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync(f: BinaryIO) -> None:
    """Flush ``f`` and make its data durable before it is renamed into place."""
    f.flush()
    if FSYNC:
        os.fsync(f.fileno())


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed to ``path``."""
    fd, tmp = _temp_beside(path)
    os.close(fd)
    try:
        yield tmp
        if FSYNC:
            _fsync_file(tmp)
        _commit_temp(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class AtomicFile:
    """A binary file written under a temporary name, moved to ``path`` on :meth:`commit`.

    Use as a context manager: leaving the block normally commits, leaving it with an
    exception (or after :meth:`discard`) removes the temporary file. An OSError that names
    no file (a failed write or close) is raised naming ``path``.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        fd, self._tmp = _temp_beside(self.path)
        self._raw: BinaryIO = os.fdopen(fd, "wb")
        self._done = False

    @property
    def raw(self) -> BinaryIO:
        """The underlying binary stream."""
        return self._raw

    def write(self, data: bytes) -> None:
        self._raw.write(data)

    def commit(self) -> None:
        """Close and move the file into place (no-op when already done)."""
        if self._done:
            return
        self._done = True
        _sync(self._raw)
        self._raw.close()
        _commit_temp(self._tmp, self.path)

    def discard(self) -> None:
        """Close and delete the temporary file; ``path`` is left untouched."""
        if self._done:
            return
        self._done = True
        self._raw.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            try:
                self.commit()
            except OSError as err:
                with contextlib.suppress(OSError):
                    self._raw.close()
                self._tmp.unlink(missing_ok=True)
                raise _with_path(err, self.path) from err
        else:
            self.discard()
            if isinstance(exc, OSError) and exc.filename is None:
                raise _with_path(exc, self.path) from exc


def _with_path(exc: OSError, path: Path) -> OSError:
    """``exc`` naming ``path`` when it names no file (a failed write or close names none)."""
    if exc.filename is not None:
        return exc
    return OSError(exc.errno, exc.strerror or str(exc), str(path))


class AtomicTextFile(AtomicFile):
    """An :class:`AtomicFile` that takes ``str`` lines: UTF-8, ``\\n`` newlines.

    With ``gzip_output=True`` the content is gzip-compressed deterministically (mtime 0, no
    file name in the header).
    """

    def __init__(self, path: Path, gzip_output: bool = False) -> None:
        super().__init__(path)
        self._gz: gzip.GzipFile | None = None
        target: BinaryIO = self._raw
        if gzip_output:
            self._gz = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw,
                                     compresslevel=GZIP_LEVEL, mtime=0)
            target = self._gz  # type: ignore[assignment]
        self._text = io.TextIOWrapper(target, encoding="utf-8", newline="\n")

    def write_line(self, line: str) -> None:
        """Write ``line`` followed by a newline."""
        self._text.write(line)
        self._text.write("\n")

    def commit(self) -> None:
        if self._done:
            return
        self._text.flush()
        self._text.detach()
        if self._gz is not None:
            self._gz.close()  # writes the trailer; leaves the raw file open
        super().commit()

    def discard(self) -> None:
        if self._done:
            return
        try:
            self._text.detach()
            if self._gz is not None:
                self._gz.close()
        except (OSError, ValueError):
            pass
        super().discard()

    def __enter__(self) -> AtomicTextFile:
        return self


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


AUDIO_SUFFIXES = (".wav", ".flac")  # the files a folder of recordings is read for


def audio_files_under(root: Path) -> list[tuple[Path, Any]]:
    """The .wav and .flac files under ``root`` (recursively, in name order; other files
    are skipped), each with its header (``soundfile.info``): a truncated WAV, a file
    libsndfile cannot read, or one of 0 frames is an InputError naming it. What a folder of
    recorded noise, or a keyword model's negative audio, is read from."""
    out = []
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in AUDIO_SUFFIXES or not path.is_file():
            continue
        if path.suffix.lower() == ".wav":
            check_wav_complete(path)
        try:
            info = sf.info(str(path))
        except (RuntimeError, OSError):
            raise InputError(f"{path}: not a readable audio file") from None
        if info.frames <= 0:
            raise InputError(f"{path}: empty audio file (0 frames)")
        out.append((path, info))
    return out


def check_finite_audio(path: Path, what: str = "audio") -> None:
    """InputError naming ``path`` when its samples hold a NaN or an infinity (float WAV,
    FLAC cannot) or it cannot be read; read in blocks, so memory does not grow with the file.

    Called on every input before OUT is claimed, so that a bad file stops the run before
    anything is written.
    """
    try:
        info = sf.info(str(path))
        if info.subtype not in ("FLOAT", "DOUBLE"):
            return  # integer PCM (and compressed) audio cannot hold NaN or infinity
        for start, block in enumerate(sf.blocks(str(path), blocksize=1 << 16, dtype="float32",
                                                always_2d=True)):
            if not np.isfinite(block).all():
                bad = int(np.argmin(np.isfinite(block).all(axis=1)))
                raise InputError(f"{path}: {what} contains NaN or infinite samples (first at "
                                 f"sample {start * (1 << 16) + bad})")
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        detail = str(exc).replace("\n", " ")
        raise InputError(f"{path}: cannot read {what}: {detail}") from None


def check_no_symlinks(out_dir: Path, names: Iterable[str]) -> None:
    """SynthaudioError naming the first symbolic link at or under ``OUT/<name>``.

    OUT itself may be a link (a corpus kept on another disk); inside it, a linked folder
    would take synthaudio's writes elsewhere.
    """
    for name in names:
        top = out_dir / name
        if top.is_symlink():
            _refuse_link(top)
        if not top.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(top):
            for entry in (*dirnames, *filenames):
                path = Path(dirpath) / entry
                if path.is_symlink():
                    _refuse_link(path)


def _refuse_link(path: Path) -> None:
    raise SynthaudioError(
        f"{path}: is a symbolic link (to {os.readlink(path)}); synthaudio never writes through "
        "a link inside OUT: replace it with a real folder or file, or choose another OUT")


def load_audio(path: Path, where: str, segment: tuple[float, float | None] | None = None,
               ) -> tuple[np.ndarray, int]:
    """float32 ``(n_channels, n_samples)`` and the sample rate; errors name ``where``.

    ``segment``: (start_s, end_s or None for the file's end), a Kaldi ``segments`` line.
    """
    try:
        if segment is not None:
            rate = sf.info(str(path)).samplerate
            start = int(round(segment[0] * rate))
            stop = None if segment[1] is None else int(round(segment[1] * rate))
            data, sample_rate = sf.read(str(path), start=start, stop=stop, dtype="float32",
                                        always_2d=True)
        else:
            data, sample_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as e:
        raise InputError(f"{where}: cannot read audio {path} ({e})") from e
    return np.ascontiguousarray(data.T), int(sample_rate)

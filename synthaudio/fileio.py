"""Atomic writes: every file appears under its final name complete, or not at all."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

from synthaudio.errors import SynthaudioError


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    try:
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise SynthaudioError(f"{path}: cannot write: {exc.strerror or exc}") from exc


def to_pcm16(audio: np.ndarray) -> np.ndarray:
    """float audio in [-1, 1] -> int16, clipped and rounded; (K, n) -> (n, K) for soundfile."""
    pcm = np.clip(np.round(audio * 32767.0), -32768, 32767).astype(np.int16)
    return pcm.T if pcm.ndim == 2 else pcm


def write_audio_atomic(path: Path, audio: np.ndarray, sample_rate: int, fmt: str = "wav") -> int:
    """Write float32 audio ``(n,)`` or ``(K, n)`` as 16-bit PCM; return the number of samples."""
    pcm = to_pcm16(audio)
    try:
        with atomic_path(path) as tmp:
            sf.write(tmp, pcm, sample_rate, subtype="PCM_16", format=fmt.upper())
    except OSError as exc:
        raise SynthaudioError(f"{path}: cannot write: {exc.strerror or exc}") from exc
    return int(pcm.shape[0])

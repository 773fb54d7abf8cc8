"""Audio headers: length, rate and channel count, read without decoding the samples."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf


@dataclass(frozen=True)
class AudioInfo:
    """What the file header says."""

    num_samples: int  # per channel
    sample_rate: int  # Hz
    num_channels: int
    subtype: str  # libsndfile subtype, e.g. "PCM_16"

    @property
    def duration_s(self) -> float:
        return self.num_samples / self.sample_rate


def probe(path: Path) -> AudioInfo:
    """Read the header of ``path``; raises ``OSError`` if missing or unreadable."""
    if not Path(path).is_file():
        raise FileNotFoundError("audio file not found")
    canonical = _canonical_pcm16_wav(path)
    if canonical is not None:
        return canonical
    try:
        info = sf.info(str(path))
    except sf.LibsndfileError as e:
        raise OSError(f"unreadable audio ({e})") from None
    return AudioInfo(
        num_samples=int(info.frames),
        sample_rate=int(info.samplerate),
        num_channels=int(info.channels),
        subtype=str(info.subtype),
    )


def _canonical_pcm16_wav(path: Path) -> AudioInfo | None:
    """The header of a canonical 16-bit PCM WAV (44-byte header, sizes matching the file:
    what synthaudio writes), read directly; None for any other file (libsndfile reads it)."""
    with open(path, "rb") as f:
        head = f.read(44)
        size = os.fstat(f.fileno()).st_size
    if len(head) < 44:
        return None
    (riff, riff_size, wave, fmt, fmt_size, tag, channels, rate, byte_rate, block, bits,
     data, data_size) = struct.unpack("<4sI4s4sIHHIIHH4sI", head)
    if not (riff == b"RIFF" and wave == b"WAVE" and fmt == b"fmt " and data == b"data"
            and fmt_size == 16 and tag == 1 and bits == 16 and channels > 0 and rate > 0
            and block == 2 * channels and byte_rate == rate * block
            and riff_size == size - 8 and data_size == size - 44 and data_size % block == 0):
        return None
    return AudioInfo(num_samples=data_size // block, sample_rate=rate, num_channels=channels,
                     subtype="PCM_16")

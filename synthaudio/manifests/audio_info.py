"""Audio headers: length, rate and channel count, read without decoding the samples."""

from __future__ import annotations

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

"""Log-mel features with numpy (no torchaudio): audio in, ``(n_frames, n_mels)`` float32 out.

Audio is float32 mono ``(n_samples,)``. Features are per-utterance mean and variance
normalized, which removes a constant channel gain and colouration.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf
import soxr

from synthaudio.errors import InputError


@dataclass(frozen=True)
class FeatureConfig:
    """How audio becomes features."""

    sample_rate: int = 16000  # Hz; audio at other rates is resampled to this
    win_length: int = 400  # samples per analysis window (25 ms at 16 kHz)
    hop_length: int = 160  # samples between frames (10 ms at 16 kHz)
    n_fft: int = 512  # FFT size (>= win_length)
    n_mels: int = 64  # mel bands
    fmin_hz: float = 20.0
    fmax_hz: float = 7600.0

    def __post_init__(self) -> None:
        if self.n_fft < self.win_length:
            raise ValueError(f"n_fft {self.n_fft} must be >= win_length {self.win_length}")
        if not 0 <= self.fmin_hz < self.fmax_hz <= self.sample_rate / 2:
            raise ValueError(f"mel band [{self.fmin_hz}, {self.fmax_hz}] Hz must lie inside "
                             f"[0, {self.sample_rate / 2}] Hz")


@lru_cache(maxsize=8)
def _mel_basis(cfg: FeatureConfig) -> np.ndarray:
    """``(n_mels, n_fft // 2 + 1)`` triangular mel filters (Slaney area normalization)."""
    return librosa.filters.mel(sr=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels,
                               fmin=cfg.fmin_hz, fmax=cfg.fmax_hz).astype(np.float32)


@lru_cache(maxsize=8)
def _window(win_length: int, n_fft: int) -> np.ndarray:
    win = np.zeros(n_fft, dtype=np.float32)
    start = (n_fft - win_length) // 2
    win[start:start + win_length] = np.hanning(win_length + 1)[:-1]  # periodic Hann
    return win


def log_mel(audio: np.ndarray, cfg: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """Normalized log-mel features of mono audio at ``cfg.sample_rate``.

    ``log(mel(|STFT|^2) + 1e-6)``, then each band is shifted to zero mean and scaled to
    unit variance over the utterance. Frame ``t`` is centred on sample ``t * hop_length``.

    Args:
        audio: float32 ``(n_samples,)``.
        cfg: feature settings.

    Returns:
        float32 ``(1 + n_samples // hop_length, n_mels)``.
    """
    if audio.ndim != 1:
        raise ValueError(f"log_mel needs mono audio (n_samples,), got shape {audio.shape}")
    x = np.pad(audio.astype(np.float32, copy=False), cfg.n_fft // 2, mode="constant")
    n_frames = 1 + (len(x) - cfg.n_fft) // cfg.hop_length
    frames = np.lib.stride_tricks.as_strided(
        x, shape=(n_frames, cfg.n_fft), strides=(x.strides[0] * cfg.hop_length, x.strides[0]),
        writeable=False)
    spec = np.fft.rfft(frames * _window(cfg.win_length, cfg.n_fft), axis=1)
    power = spec.real.astype(np.float32) ** 2 + spec.imag.astype(np.float32) ** 2
    feats = np.log(power @ _mel_basis(cfg).T + 1e-6)
    feats -= feats.mean(axis=0, keepdims=True)
    feats /= feats.std(axis=0, keepdims=True) + 1e-5
    return feats.astype(np.float32, copy=False)


def load_mono(path: Path, sample_rate: int) -> np.ndarray:
    """Read an audio file as float32 mono ``(n_samples,)`` at ``sample_rate``.

    Multichannel files keep their first channel (a corpus's reference microphone); other
    rates are resampled (soxr, high quality).
    """
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise InputError(f"{path}: cannot read audio ({exc})") from None
    audio = np.ascontiguousarray(data[:, 0])
    if rate != sample_rate:
        audio = soxr.resample(audio, rate, sample_rate, quality="HQ").astype(np.float32)
    return audio


def file_features(path: Path, cfg: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """``log_mel`` of an audio file (any rate, first channel)."""
    return log_mel(load_mono(path, cfg.sample_rate), cfg)

"""Argument checks shared by the public ``apply_*`` / ``mix_*`` functions.

Each raises ValueError naming the argument and what is wrong with it, so that a bad array
fails at the call instead of turning into NaN output further down.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def check_sample_rate(sample_rate: Any, name: str = "sample_rate") -> int:
    """``sample_rate`` as an int; ValueError unless it is a positive integer."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int | np.integer):
        raise ValueError(f"{name} must be an int, got {type(sample_rate).__name__}")
    if sample_rate <= 0:
        raise ValueError(f"{name} must be > 0, got {sample_rate}")
    return int(sample_rate)


def check_audio(audio: Any, name: str = "audio", *, mono: bool = False) -> np.ndarray:
    """``audio`` unchanged when valid: a non-empty, finite float32/float64 numpy array of
    shape ``(n,)`` (or ``(K, n)`` unless ``mono``); ValueError saying what is wrong otherwise.
    """
    if not isinstance(audio, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(audio).__name__}")
    if audio.dtype not in (np.float32, np.float64):
        raise ValueError(f"{name} must be float32 or float64, got {audio.dtype} "
                         "(scale integer PCM to [-1, 1] first)")
    shapes = "(n,)" if mono else "(n,) or (K, n)"
    if audio.ndim not in ((1,) if mono else (1, 2)):
        raise ValueError(f"{name} must have shape {shapes}, got {audio.shape}")
    if audio.size == 0:
        raise ValueError(f"{name} is empty (shape {audio.shape})")
    if not np.isfinite(audio).all():
        raise ValueError(f"{name} contains NaN or infinite samples")
    return audio

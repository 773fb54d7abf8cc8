"""Measurements the engine tests make on synthesized audio."""

from __future__ import annotations

import numpy as np


def median_f0(audio: np.ndarray, sample_rate: int) -> float:
    """Median F0 (Hz) of the voiced frames, by pYIN."""
    import librosa

    f0, voiced, _ = librosa.pyin(audio, fmin=50, fmax=400, sr=sample_rate,
                                 frame_length=2048 if sample_rate > 16000 else 1024)
    return float(np.median(f0[voiced]))


def speech_end_s(audio: np.ndarray, sample_rate: int) -> float:
    """End of the last 10 ms frame within 35 dB of the loudest one."""
    hop = sample_rate // 100
    frames = audio[: len(audio) // hop * hop].reshape(-1, hop)
    energy_db = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    loud = np.flatnonzero(energy_db > energy_db.max() - 35)
    return float((loud[-1] + 1) * hop / sample_rate)


def words_end_s(words, text: str) -> float:
    """End of the last word, after checking the words are ``text``'s, in order, each
    longer than 30 ms and none starting before the one before it ends."""
    assert words is not None and [w.word for w in words] == text.split()
    prev_end = 0.0
    for w in words:
        assert w.dur_s > 0.03 and w.start_s >= prev_end - 1e-6
        prev_end = w.start_s + w.dur_s
    return prev_end

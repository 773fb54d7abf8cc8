"""Noise: SNR from the VAD's speech and non-speech parts, noise spectrum tilt, mains hum.

- ``noise_level_dbfs``: mean power of the non-speech samples (speech segments widened by
  ``GUARD_S`` on each side, so reverberant tails do not count as noise). With less than
  ``MIN_NOISE_S`` of them, the quietest 10% of 32 ms frames stand in (minimum statistics).
- ``snr_db``: the label synthaudio writes, 10*log10(P_speech / P_noise) with both powers over
  the whole utterance: the speech stem's energy is what the speech segments hold beyond the
  noise, ``(mean power in speech - P_noise) * n_speech / n``. Clamped to [``MIN_SNR_DB``,
  ``MAX_SNR_DB``] (digital silence between words gives the maximum).
- ``noise_tilt_db_per_oct``: slope of the noise spectrum (dB against log2 frequency, Welch)
  inside the band edges: white 0, pink -3, brown -6, blue +3 dB per octave.
- ``hum_hz`` / ``hum_db``: 50 or 60 Hz when the first five harmonics of either stand out of
  the noise spectrum (1 Hz bins) by more than ``HUM_PROMINENCE_DB`` on average; else 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.signal

GUARD_S = 0.05
MIN_NOISE_S = 0.1
MIN_SNR_DB, MAX_SNR_DB = -20.0, 80.0
HUM_PROMINENCE_DB = 10.0
_SILENCE = 1e-12  # power below this: digital silence


def noise_samples(audio: np.ndarray, sample_rate: int, speech_mask: np.ndarray) -> np.ndarray:
    """The samples taken as noise only (see the module docstring)."""
    guard = int(GUARD_S * sample_rate)
    widened = speech_mask.copy()
    if guard and speech_mask.any():
        kernel = np.ones(2 * guard + 1)
        widened = np.convolve(speech_mask.astype(np.float64), kernel, mode="same") > 0
    noise = audio[~widened]
    if len(noise) >= MIN_NOISE_S * sample_rate:
        return noise
    frame = int(0.032 * sample_rate)
    n = len(audio) // frame
    if n < 1:
        return audio
    frames = audio[:n * frame].reshape(n, frame)
    energy = np.mean(frames.astype(np.float64) ** 2, axis=1)
    quiet = np.argsort(energy, kind="stable")[:max(1, n // 10)]
    return frames[np.sort(quiet)].reshape(-1)


def snr_db(audio: np.ndarray, speech_mask: np.ndarray, noise_power: float) -> float:
    x = audio.astype(np.float64)
    n_speech = int(speech_mask.sum())
    if n_speech == 0:
        return MIN_SNR_DB
    p_speech_seg = float(np.mean(x[speech_mask] ** 2))
    speech_power = max(p_speech_seg - noise_power, 0.0) * n_speech / len(x)
    if speech_power <= 0:
        return MIN_SNR_DB
    if noise_power < _SILENCE:
        return MAX_SNR_DB
    return float(np.clip(10 * np.log10(speech_power / noise_power), MIN_SNR_DB, MAX_SNR_DB))


def noise_tilt(noise: np.ndarray, sample_rate: int, band: tuple[float, float]) -> float | None:
    """dB per octave of the noise spectrum between max(100 Hz, band low) and the upper edge."""
    nperseg = min(len(noise), max(64, int(round(512 * sample_rate / 16000))))
    if nperseg < 64 or float(np.mean(noise.astype(np.float64) ** 2)) < _SILENCE:
        return None
    f, p = scipy.signal.welch(noise.astype(np.float64), sample_rate, nperseg=nperseg)
    lo, hi = max(100.0, band[0] * 1.2), min(band[1] / 1.2, 0.9 * sample_rate / 2, 7000.0)
    sel = (f >= lo) & (f <= hi) & (p > 0)
    if sel.sum() < 4 or hi < 2 * lo:
        return None
    slope, _ = np.polyfit(np.log2(f[sel]), 10 * np.log10(p[sel]), 1)
    return float(slope)


def hum(noise: np.ndarray, sample_rate: int) -> tuple[int, float]:
    """(mains frequency or 0, mean prominence of its first five harmonics in dB)."""
    if len(noise) < sample_rate // 2 or float(np.mean(noise.astype(np.float64) ** 2)) < _SILENCE:
        return 0, 0.0
    nperseg = min(len(noise), sample_rate)  # 1 Hz bins for a second of noise
    f, p = scipy.signal.welch(noise.astype(np.float64), sample_rate, nperseg=nperseg)
    db = 10 * np.log10(p + 1e-30)
    best = (0, 0.0)
    for mains in (50, 60):
        prom = []
        for k in range(1, 6):
            fk = mains * k
            i = int(np.argmin(np.abs(f - fk)))
            peak = float(np.max(db[max(0, i - 1):i + 2]))
            side = (np.abs(f - fk) >= 4) & (np.abs(f - fk) <= 12)
            prom.append(peak - float(np.median(db[side])))
        value = float(np.mean(prom))
        if value > best[1]:
            best = (mains, value)
    return (best[0], best[1]) if best[1] >= HUM_PROMINENCE_DB else (0, best[1])


def measure_noise(audio: np.ndarray, sample_rate: int, speech_mask: np.ndarray,
                  band: tuple[float, float]) -> dict[str, Any]:
    noise = noise_samples(audio, sample_rate, speech_mask)
    p_noise = float(np.mean(noise.astype(np.float64) ** 2)) if len(noise) else 0.0
    mains, prominence = hum(noise, sample_rate)
    return {
        "snr_db": snr_db(audio, speech_mask, p_noise),
        "noise_level_dbfs": float(10 * np.log10(p_noise)) if p_noise >= _SILENCE else -120.0,
        "noise_tilt_db_per_oct": noise_tilt(noise, sample_rate, band),
        "hum_hz": mains,
        "hum_db": prominence,
    }

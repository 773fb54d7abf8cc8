"""Signal makers of the generated noise kinds: coloured noise, mains hum, a music-like bed,
impulsive events and babble. Mono float32 ``(n_samples,)`` at unit mean power, each a pure
function of its arguments and the Generator it is given.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.fft
import scipy.signal

_COLOR_EXPONENT = {"white": 0.0, "pink": -1.0, "brown": -2.0, "blue": 1.0}  # PSD ~ f**exponent
_COLOR_FLOOR_HZ = 20.0  # spectrum flat below this, so brown noise does not drift without bound


def mean_power(x: np.ndarray) -> float:
    """Mean of ``x**2`` over all samples, summed in float64 over 64k-sample chunks.

    numpy's own pairwise sum, not a BLAS dot product: BLAS sums in an order that depends on
    its thread count, which would make the mixed bytes depend on the machine's settings."""
    flat = np.ravel(x)
    if flat.size == 0:
        return 0.0
    total = 0.0
    for start in range(0, flat.size, 1 << 16):
        chunk = flat[start:start + (1 << 16)]
        total += float(np.sum(np.square(chunk, dtype=np.float64)))
    return total / flat.size


def _unit_power(x: np.ndarray) -> np.ndarray:
    """Scale ``x`` to mean power 1 over all its samples (a silent input is returned as is)."""
    x = x.astype(np.float32, copy=False)
    power = mean_power(x)
    if power <= 0.0:
        return x
    return x * np.float32(1.0 / math.sqrt(power))


# --- procedural sources ------------------------------------------------------------------


def colored_noise(color: str, num_samples: int, sample_rate: int, rng: np.random.Generator,
                  ) -> np.ndarray:
    """Gaussian noise with power spectral density ~ f**a, unit RMS, shape (num_samples,).

    a = 0 white, -1 pink (-3.01 dB/octave), -2 brown (-6.02 dB/octave), +1 blue
    (+3.01 dB/octave). The spectrum is flat below 20 Hz and has no DC.

    Coloured noise is shaped over the next fast FFT length (``scipy.fft.next_fast_len``)
    and cut to ``num_samples``: an FFT of the utterance's own length is often a slow size
    (2.8 ms vs 0.4 ms for 2.4 s at 16 kHz). Since ``STREAMS_VERSION`` 4.
    """
    exponent = _COLOR_EXPONENT[color]
    if exponent == 0.0:
        return _unit_power(rng.standard_normal(num_samples, dtype=np.float32))
    size = scipy.fft.next_fast_len(num_samples, real=True)
    spectrum = scipy.fft.rfft(rng.standard_normal(size, dtype=np.float32))
    freqs = np.maximum(np.fft.rfftfreq(size, 1.0 / sample_rate), _COLOR_FLOOR_HZ)
    spectrum *= (freqs ** (exponent / 2.0)).astype(np.float32)
    spectrum[0] = 0.0
    return _unit_power(scipy.fft.irfft(spectrum, n=size)[:num_samples])


def mains_hum(num_samples: int, sample_rate: int, base_hz: float, rng: np.random.Generator,
              ) -> np.ndarray:
    """Mains hum: ``base_hz`` (50 or 60 Hz) and its harmonics below 0.45*sample_rate, unit RMS."""
    count = max(1, min(12, int(0.45 * sample_rate // base_hz)))
    harmonics = np.arange(1, count + 1)
    amps = harmonics ** -rng.uniform(0.5, 1.5) * 10 ** (rng.uniform(-9.0, 3.0, count) / 20)
    phases = rng.uniform(0.0, 2 * np.pi, count)
    freq = base_hz * (1.0 + rng.uniform(-0.002, 0.002))  # the grid frequency is never exact
    t = np.arange(num_samples) / sample_rate
    out = np.zeros(num_samples)
    for k, amp, phase in zip(harmonics, amps, phases, strict=True):
        out += amp * np.sin(2 * np.pi * k * freq * t + phase)
    wobble_hz = rng.uniform(0.05, 0.5)
    out *= 1.0 + 0.1 * np.sin(2 * np.pi * wobble_hz * t + rng.uniform(0, 2 * np.pi))
    return _unit_power(out)


_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_MINOR = (0, 2, 3, 5, 7, 8, 10)


def music_bed(num_samples: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """A tonal music-like bed: chords of harmonic tones with attack/decay envelopes, unit RMS."""
    out = np.zeros(num_samples, dtype=np.float32)
    scale = _MAJOR if rng.random() < 0.5 else _MINOR
    key = int(rng.integers(45, 58))  # MIDI note of the tonic
    start = 0
    while start < num_samples:
        step_s = rng.uniform(0.3, 1.5)
        ring = min(int((step_s + rng.uniform(0.2, 0.8)) * sample_rate), num_samples - start)
        degree = int(rng.integers(0, 7))
        notes = [key + 12 * ((degree + i) // 7) + scale[(degree + i) % 7] for i in (0, 2, 4)]
        notes.append(notes[0] - 12)  # bass
        if rng.random() < 0.3:
            notes.append(key + 12 + scale[(degree + 6) % 7])  # a seventh-ish colour
        partial_f, partial_a = [], []
        for note in notes:
            f0 = 440.0 * 2 ** ((note - 69) / 12)
            for h in range(1, 6):
                if f0 * h < 0.45 * sample_rate:
                    partial_f.append(f0 * h)
                    partial_a.append(rng.uniform(0.5, 1.0) / h**1.5)
        t = np.arange(ring, dtype=np.float32) / np.float32(sample_rate)
        phases = rng.uniform(0, 2 * np.pi, len(partial_f)).astype(np.float32)
        arg = np.outer(2 * np.pi * np.asarray(partial_f, np.float32), t) + phases[:, None]
        # an explicit sum, not a BLAS product (its thread count would change the bytes)
        tone = np.sum(np.asarray(partial_a, np.float32)[:, None] * np.sin(arg), axis=0)
        attack, decay = rng.uniform(0.005, 0.06), rng.uniform(0.3, 1.5)
        env = (1.0 - np.exp(-t / attack)) * np.exp(-t / decay)
        out[start:start + ring] += rng.uniform(0.5, 1.0) * env * tone
        start += int(step_s * sample_rate)
    return _unit_power(out)


def impulsive_events(num_samples: int, sample_rate: int, rng: np.random.Generator,
                     ) -> np.ndarray:
    """Short events at random times (clicks, knocks, door-slam-like bursts), unit RMS overall."""
    out = np.zeros(num_samples, dtype=np.float32)
    rate_hz = rng.uniform(0.3, 2.0)
    count = max(1, int(rng.poisson(rate_hz * num_samples / sample_rate)))
    for _ in range(count):
        at = int(rng.integers(0, num_samples))
        kind = int(rng.integers(0, 3))
        if kind == 0:  # click: ~1 ms broadband
            t = np.arange(int(0.004 * sample_rate)) / sample_rate
            burst = rng.standard_normal(t.size) * np.exp(-t / 5e-4)
        elif kind == 1:  # knock: damped low resonance plus a short transient
            t = np.arange(int(0.2 * sample_rate)) / sample_rate
            decay = np.exp(-t / rng.uniform(0.01, 0.05))
            burst = np.sin(2 * np.pi * rng.uniform(80, 400) * t) * decay
            burst += 0.3 * rng.standard_normal(t.size) * np.exp(-t / 0.002)
        else:  # slam: low-passed noise burst with a thump
            t = np.arange(int(0.7 * sample_rate)) / sample_rate
            pole = math.exp(-2 * math.pi * rng.uniform(150, 800) / sample_rate)
            noise = scipy.signal.lfilter([1 - pole], [1, -pole], rng.standard_normal(t.size))
            tau = rng.uniform(0.05, 0.2)
            burst = noise / (np.max(np.abs(noise)) + 1e-12) * np.exp(-t / tau)
            burst += np.sin(2 * np.pi * rng.uniform(40, 80) * t) * np.exp(-t / (tau / 2))
        burst *= 10 ** (rng.uniform(-10, 0) / 20) / (np.max(np.abs(burst)) + 1e-12)
        end = min(num_samples, at + burst.size)
        out[at:end] += burst[: end - at].astype(np.float32)
    return _unit_power(out)


@dataclass(frozen=True)
class BabbleTalker:
    clip: int  # index into the babble pool
    offset: int  # samples into the (looped) clip where the output starts
    gain_db: float  # level of this talker, each clip first scaled to unit RMS

    def to_dict(self) -> dict[str, Any]:
        return {"clip": self.clip, "offset": self.offset, "gain_db": self.gain_db}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BabbleTalker:
        return cls(int(data["clip"]), int(data["offset"]), float(data["gain_db"]))


def babble(pool: Sequence[np.ndarray], talkers: Sequence[BabbleTalker], num_samples: int,
           ) -> np.ndarray:
    """Sum of looped speech clips (each at unit RMS times its gain), unit RMS, (num_samples,)."""
    out = np.zeros(num_samples, dtype=np.float32)
    positions = np.arange(num_samples)
    for talker in talkers:
        clip = np.asarray(pool[talker.clip], dtype=np.float32)
        clip = _unit_power(clip) * np.float32(10 ** (talker.gain_db / 20))
        out += clip[(positions + talker.offset) % clip.size]
    return _unit_power(out)

"""The coloured noise kinds (white, pink, brown, blue): Gaussian noise shaped to a power
spectral density ~ f**a."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.fft

from synthaudio.augment.noise_sources import _unit_power

if TYPE_CHECKING:
    from synthaudio.augment.noise import NoiseSourceParams
    from synthaudio.augment.noise_kinds import Resources



_COLOR_EXPONENT = {"white": 0.0, "pink": -1.0, "brown": -2.0, "blue": 1.0}  # PSD ~ f**exponent


_COLOR_FLOOR_HZ = 20.0  # spectrum flat below this, so brown noise does not drift without bound


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


def render_colored(src: NoiseSourceParams, num_samples: int, sample_rate: int,
                   rng: np.random.Generator, resources: Resources) -> np.ndarray:
    return colored_noise(src.kind, num_samples, sample_rate, rng)

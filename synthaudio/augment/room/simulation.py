"""Room impulse responses: ``simulate_rir(params, sample_rate)`` -> float32 ``(K, n)``.

A fast hybrid: low-order image sources from pyroomacoustics for the early part, a
calibrated stochastic tail for the rest. ``simulate_rir_full`` is the plain
pyroomacoustics image-source simulation, kept as the reference for the benchmark.
Neither touches global random state (no ray tracing, no randomized ISM). RIR amplitudes
are in pyroomacoustics' units: the direct path of a source at distance r has amplitude 1/r.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import pyroomacoustics as pra
import scipy.fft
from pyroomacoustics.parameters import materials_absorption_table

from synthaudio.augment.acoustics import measure_rt60
from synthaudio.augment.room.config import SPEED_OF_SOUND, WALLS, Source
from synthaudio.augment.room.sampling import RoomParams

_OCTAVE_CENTERS_HZ = (125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0)
_EARLY_ORDER = 3  # image-source order of the early part ...
_MAX_EARLY_ORDER = 9  # ... raised (by 2) until it covers _MIN_EARLY_S after the direct path
_MIN_EARLY_S = 0.015  # s of complete image-source response after the latest direct path
_FD_HALF = 20  # fractional-delay filter: 2 * 20 + 1 taps, Hann-windowed sinc
_XFADE_S = 0.005  # s, early/tail cross-fade (power complementary), ends at the mixing time
_DIRECT_GUARD_S = 0.0025  # s after the direct path excluded from the energy match
_TAIL_LENGTH = 1.2  # RIR runs this many target RT60s past the mixing time
_END_FADE_S = 0.005  # s, raised-cosine fade at the very end
_BAND_RT60_LIMITS = (0.67, 1.5)  # band RT60 relative to the mid-frequency RT60
_CALIB_ITERS = 5  # tail-decay calibration passes at most
_CALIB_TOL = 0.02  # stop when the measured RT60 is within 2 % of the target


# --------------------------------------------------------------------------- simulation


def _band_centers(sample_rate: int) -> tuple[float, ...]:
    return tuple(c for c in _OCTAVE_CENTERS_HZ if c < sample_rate / 2)


@lru_cache(maxsize=64)
def _band_weights(n_fft: int, sample_rate: int, n_bands: int) -> np.ndarray:
    """Zero-phase octave-band weights ``(B, n_fft // 2 + 1)`` that sum to one at every bin.

    Neighbouring bands cross-fade (cos^2 / sin^2) over log2-frequency between their centres.
    """
    centers = np.array(_band_centers(sample_rate)[:n_bands])
    f = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    pos = np.interp(np.log2(np.maximum(f, 1.0)), np.log2(centers), np.arange(n_bands))
    w = np.zeros((n_bands, f.size))
    low = np.floor(pos).astype(int)
    frac = pos - low
    w[low, np.arange(f.size)] = np.cos(0.5 * np.pi * frac) ** 2
    high = np.minimum(low + 1, n_bands - 1)
    w[high, np.arange(f.size)] += np.sin(0.5 * np.pi * frac) ** 2
    w.flags.writeable = False
    return w


def _wall_absorption(params: RoomParams, n_bands: int) -> np.ndarray:
    """Energy absorption ``(6, B)`` per wall and band, scaled to the target RT60 (Eyring)."""
    dims = np.array(params.dims_m)
    volume = float(np.prod(dims))
    areas = np.array([dims[1] * dims[2]] * 2 + [dims[0] * dims[2]] * 2 + [dims[0] * dims[1]] * 2)
    # Eyring: RT60 = 24 ln10 V / (-c S ln(1 - a))  =>  a = 1 - exp(-24 ln10 V / (c S RT60))
    alpha = 1.0 - math.exp(
        -24.0 * math.log(10.0) * volume / (SPEED_OF_SOUND * areas.sum() * params.rt60_target_s)
    )
    if params.materials is None:
        return np.full((len(WALLS), n_bands), alpha)
    table = []
    for name in params.materials:
        entry = materials_absorption_table[name]
        coeffs = np.interp(
            np.log2(_OCTAVE_CENTERS_HZ[:n_bands]), np.log2(entry["center_freqs"]), entry["coeffs"]
        )
        table.append(coeffs)
    spectra = np.array(table)
    mean = float((areas[:, None] * spectra).sum() / (areas.sum() * n_bands))
    return np.clip(spectra * (alpha / max(mean, 1e-6)), 0.001, 0.99)


def _band_decay_factors(params: RoomParams, absorption: np.ndarray, air: np.ndarray) -> np.ndarray:
    """Relative RT60 per band from Eyring with air absorption: 1 at mid frequencies.

    Normalized to the mean of the 500 Hz and 1 kHz bands and clipped to
    ``_BAND_RT60_LIMITS`` (material tables can differ tenfold across octaves, which would
    make the broadband decay strongly non-exponential).
    """
    dims = np.array(params.dims_m)
    volume = float(np.prod(dims))
    areas = np.array([dims[1] * dims[2]] * 2 + [dims[0] * dims[2]] * 2 + [dims[0] * dims[1]] * 2)
    mean_alpha = (areas[:, None] * absorption).sum(axis=0) / areas.sum()
    rt = 1.0 / (-areas.sum() * np.log1p(-mean_alpha) + 4.0 * air * volume)
    mid = float(np.mean(rt[2:4])) if rt.size >= 4 else float(np.mean(rt))  # 500 Hz and 1 kHz
    return np.asarray(np.clip(rt / mid, *_BAND_RT60_LIMITS))


def _frac_delay_sum(times: np.ndarray, amps: np.ndarray, n: int) -> np.ndarray:
    """Band-limited impulses summed per band: ``(B, n)``.

    ``times`` are arrival times ``(N,)`` in samples, ``amps`` amplitudes ``(B, N)``.
    """
    taps = np.arange(-_FD_HALF, _FD_HALF + 1)
    base = np.floor(times).astype(np.int64)
    idx = base[:, None] + taps[None, :]
    frac = idx - times[:, None]
    kernel = np.sinc(frac) * (0.5 + 0.5 * np.cos(np.pi * frac / (_FD_HALF + 1)))
    valid = (idx >= 0) & (idx < n)
    out = np.empty((amps.shape[0], n))
    for b in range(amps.shape[0]):
        out[b] = np.bincount(idx[valid], weights=(kernel * amps[b][:, None])[valid], minlength=n)[
            :n
        ]
    return out


def _combine_bands(bands: np.ndarray, sample_rate: int, pad: int) -> np.ndarray:
    """``(..., B, n)`` band signals -> ``(..., n)``: each band keeps its own octave."""
    n_bands, n = bands.shape[-2], bands.shape[-1]
    if n_bands == 1:
        return np.asarray(bands[..., 0, :])
    n_fft = scipy.fft.next_fast_len(n + pad, real=True)
    spec = scipy.fft.rfft(bands, n_fft, axis=-1)
    w = _band_weights(n_fft, sample_rate, n_bands)
    return np.asarray(scipy.fft.irfft((spec * w).sum(axis=-2), n_fft, axis=-1)[..., :n])


def _image_sources(
    params: RoomParams, source: np.ndarray, absorption: np.ndarray, mics: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """Images ``(3, N)``, amplitude damping ``(B, N)`` and the completeness time (s).

    The order is raised until images of the next order all arrive at least ``_MIN_EARLY_S``
    after the latest direct path; images up to that order form the early part, complete up
    to the returned time.
    """
    n_bands = absorption.shape[1]
    centers = list(_OCTAVE_CENTERS_HZ[:n_bands])
    walls = {
        w: pra.Material(
            {"coeffs": list(a), "center_freqs": centers} if n_bands > 1 else float(a[0])
        )
        for w, a in zip(WALLS, absorption, strict=True)
    }
    direct_max = float(np.linalg.norm(mics - source[:, None], axis=0).max()) / SPEED_OF_SOUND
    order = _EARLY_ORDER
    while True:
        room = pra.ShoeBox(
            list(params.dims_m),
            fs=16000,
            materials=walls,
            max_order=order + 1,
            air_absorption=False,
        )
        room.add_source(source)
        room.add_microphone_array(mics)
        room.image_source_model()
        src = room.sources[0]
        next_order = src.orders == order + 1
        dist = np.linalg.norm(src.images[:, next_order, None] - mics[:, None, :], axis=0)
        t_complete = float(dist.min()) / SPEED_OF_SOUND
        if t_complete >= direct_max + _MIN_EARLY_S or order >= _MAX_EARLY_ORDER:
            keep = src.orders <= order
            return src.images[:, keep], np.asarray(src.damping[:n_bands, keep]), t_complete
        order += 2


def simulate_rir(params: RoomParams, sample_rate: int, source: Source = "speech") -> np.ndarray:
    """Hybrid RIR: image sources for the early part, a calibrated noise tail after it.

    Early part: pyroomacoustics image sources up to a low order (3, more in long rooms)
    with wall absorption from Eyring's formula for the target RT60 (coloured per octave
    band by the drawn ``materials``) and air absorption; it is complete up to the mixing
    time ``t_mix`` (first arrival of the next order). Tail: Gaussian noise, independent per
    microphone, in octave bands each decaying as ``exp(-6.9 (t - t_mix) / RT60_band)``
    (band RT60s from Eyring with air absorption), energy-matched per microphone to the
    image-source reflections between the direct path and ``t_mix``, and cross-faded in over
    the 5 ms before ``t_mix``. The decay is then calibrated: the tail's RT60s are scaled
    until the RT60 measured by ``measure_rt60`` (T20, mean over microphones) is within 2 %
    of ``rt60_target_s`` (at most 4 passes; the closest pass is kept). The direct path keeps
    its true propagation delay.

    Args:
        params: the drawn room.
        sample_rate: Hz.
        source: "speech" (``source_pos_m``) or "noise" (``noise_source_pos_m``).

    Returns:
        float32 ``(K, n)``, n = mixing time + 1.2 RT60.
    """
    if source not in ("speech", "noise"):
        raise ValueError(f"source must be 'speech' or 'noise', got {source!r}")
    fs = float(sample_rate)
    src = np.array(
        params.source_pos_m if source == "speech" else params.noise_source_pos_m, dtype=float
    )
    mics = np.array(params.mic_pos_m, dtype=float).T  # (3, K)
    n_mics = mics.shape[1]
    colored = params.materials is not None or params.air_absorption
    n_bands = len(_band_centers(sample_rate)) if colored else 1
    air = np.zeros(n_bands)
    if params.air_absorption:
        table = pra.Physics().get_air_absorption()
        air = np.interp(
            np.log2(_OCTAVE_CENTERS_HZ[:n_bands]), np.log2(table["center_freqs"]), table["coeffs"]
        )
    absorption = _wall_absorption(params, n_bands)
    early, t_mix = _early_part(params, src, mics, absorption, air, sample_rate)

    n = int(math.ceil((t_mix + _TAIL_LENGTH * params.rt60_target_s) * fs))
    mix = int(round(t_mix * fs))
    xfade_start = mix - int(round(_XFADE_S * fs))
    # Energy-match windows: from just after each direct path to the mixing time.
    direct_s = np.linalg.norm(mics - src[:, None], axis=0) / SPEED_OF_SOUND
    windows = [(min(int(round((d + _DIRECT_GUARD_S) * fs)), mix), mix) for d in direct_s]
    start = min(xfade_start, *(lo for lo, _ in windows))  # where the tail noise begins

    head = np.zeros((n_mics, n))
    m = min(n, early.shape[1])
    head[:, :m] = early[:, :m]
    ramp = np.clip((np.arange(start, n) - xfade_start) / (mix - xfade_start), 0.0, 1.0)
    fade_in = np.sin(0.5 * np.pi * ramp)  # power complementary with the early fade-out
    head[:, start:] *= np.cos(0.5 * np.pi * ramp)
    n_end = max(int(_END_FADE_S * fs), 1)
    end_taper = 0.5 + 0.5 * np.cos(np.pi * np.arange(1, n_end + 1) / n_end)

    rng = np.random.default_rng([params.seed, 0 if source == "speech" else 1])
    noise_bands = _tail_noise(rng, n_mics, n - start, n_bands, sample_rate)
    rt_bands = params.rt60_target_s * (
        _band_decay_factors(params, absorption, air) if n_bands > 1 else np.ones(1)
    )
    tt = (np.arange(start, n) - mix) / fs  # time after the mixing time, s
    volume = float(np.prod(params.dims_m))

    def build(scale: float) -> np.ndarray:
        env = np.exp(-6.9078 * tt[None, :] / (scale * rt_bands[:, None]))  # (B, n - start)
        if n_bands == 1:
            tail = noise_bands[:, 0, :] * env[0]
        else:
            tail = np.einsum("kbn,bn->kn", noise_bands, env)
        out = head.copy()
        for k, (lo, hi) in enumerate(windows):
            e_early = float(np.sum(early[k, lo:hi] ** 2))
            e_tail = float(np.sum(tail[k, lo - start : hi - start] ** 2))
            if e_early > 0.0 and e_tail > 0.0:
                gain = math.sqrt(e_early / e_tail)
            else:  # statistical level: 4 pi c / (V fs) per sample at emission, decaying
                level = 4.0 * math.pi * SPEED_OF_SOUND / (volume * fs)
                gain = math.sqrt(level) * math.exp(-6.9078 * t_mix / params.rt60_target_s)
            out[k, start:] += gain * fade_in * tail[k]
        out[:, -n_end:] *= end_taper
        return out

    return _calibrate(build, params.rt60_target_s, sample_rate).astype(np.float32)


def _early_part(
    params: RoomParams,
    src: np.ndarray,
    mics: np.ndarray,
    absorption: np.ndarray,
    air: np.ndarray,
    sample_rate: int,
) -> tuple[np.ndarray, float]:
    """Image-source response ``(K, n_early)`` per microphone, and the mixing time (s).

    Amplitudes: per-band wall damping / distance, times air absorption
    ``exp(-0.5 m_b r)``; bands are recombined with zero-phase octave weights.
    """
    fs = float(sample_rate)
    images, damping, t_mix = _image_sources(params, src, absorption, mics)
    n_early = int(math.ceil(t_mix * fs)) + _FD_HALF + 1
    early = np.empty((mics.shape[1], n_early))
    for k in range(mics.shape[1]):
        dist = np.linalg.norm(images - mics[:, k : k + 1], axis=0)
        amps = damping / dist
        if np.any(air):
            amps = amps * np.exp(-0.5 * air[:, None] * dist)
        bands = _frac_delay_sum(dist / SPEED_OF_SOUND * fs, amps, n_early)
        early[k] = _combine_bands(bands, sample_rate, pad=2048)
    return early, t_mix


def _tail_noise(
    rng: np.random.Generator, n_mics: int, n: int, n_bands: int, sample_rate: int
) -> np.ndarray:
    """Independent Gaussian noise per microphone, split into octave bands: ``(K, B, n)``."""
    noise = rng.standard_normal((n_mics, n))
    if n_bands == 1:
        return noise[:, None, :]
    n_fft = scipy.fft.next_fast_len(n, real=True)
    spec = scipy.fft.rfft(noise, n_fft, axis=-1)
    w = _band_weights(n_fft, sample_rate, n_bands)
    return np.asarray(scipy.fft.irfft(spec[:, None, :] * w[None], n_fft, axis=-1)[..., :n])


def _calibrate(
    build: Callable[[float], np.ndarray], target_s: float, sample_rate: int
) -> np.ndarray:
    """``build(scale)`` for the tail-RT60 scale whose measured RT60 is closest to the target.

    Solves log(measured / target) = 0 with secant steps in log-log coordinates (a
    proportional step when the local slope is implausible); stops within ``_CALIB_TOL``
    or after ``_CALIB_ITERS`` passes and returns the closest pass.
    """
    log_scale, best, best_err = 0.0, None, math.inf
    history: list[tuple[float, float]] = []
    for _ in range(_CALIB_ITERS):
        rir = build(math.exp(log_scale))
        miss = math.log(measure_rt60(rir, sample_rate) / target_s)
        if abs(miss) < best_err:
            best, best_err = rir, abs(miss)
        if abs(miss) <= math.log1p(_CALIB_TOL):
            break
        slope = 1.0
        if history:
            prev_scale, prev_miss = history[-1]
            if log_scale != prev_scale:
                slope = (miss - prev_miss) / (log_scale - prev_scale)
            if not 0.2 <= slope <= 3.0:
                slope = 1.0
        history.append((log_scale, miss))
        log_scale -= miss / slope
    assert best is not None
    return best


def _reference_room(params: RoomParams, sample_rate: int) -> pra.ShoeBox:
    absorption, max_order = pra.inverse_sabine(params.rt60_target_s, list(params.dims_m))
    return pra.ShoeBox(
        list(params.dims_m),
        fs=sample_rate,
        materials=pra.Material(float(absorption)),
        max_order=max_order,
        air_absorption=params.air_absorption,
    )


def simulate_rir_full(
    params: RoomParams, sample_rate: int, source: Source = "speech"
) -> np.ndarray:
    """Reference: pyroomacoustics' full image-source RIR (``inverse_sabine`` absorption/order).

    Flat walls (``materials`` ignored). pyroomacoustics' global delay (40 samples) is
    removed so the direct path sits at its propagation delay, as in ``simulate_rir``.
    Raises ``ValueError`` when Sabine's formula cannot reach the target RT60 in this room.

    Returns:
        float32 ``(K, n)``.
    """
    room = _reference_room(params, sample_rate)
    room.add_source(list(params.source_pos_m if source == "speech" else params.noise_source_pos_m))
    room.add_microphone_array(np.array(params.mic_pos_m, dtype=float).T)
    room.compute_rir()
    delay = pra.constants.get("frac_delay_length") // 2
    rirs = [np.asarray(r[0], dtype=np.float64)[delay:] for r in room.rir]
    n = max(r.size for r in rirs)
    out = np.zeros((len(rirs), n), dtype=np.float32)
    for k, r in enumerate(rirs):
        out[k, : r.size] = r
    return out

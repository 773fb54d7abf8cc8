"""Room-acoustic measurements on impulse responses.

A RIR is float mono ``(n,)`` or multichannel ``(K, n)``. Multichannel input is measured
channel by channel and the per-channel values are averaged (RT60 in seconds, DRR and C50
in dB); ``direct_path_index`` uses channel 0. The functions are pure and raise
``ValueError`` (naming the problem) when a RIR cannot be measured.
"""

from __future__ import annotations

import numpy as np

# Default Schroeder fit range: T20 (ISO 3382-1), -5 dB to -25 dB, extrapolated to 60 dB.
T20_RANGE_DB = (-5.0, -25.0)
# T30: -5 dB to -35 dB; needs about 45 dB of clean decay.
T30_RANGE_DB = (-5.0, -35.0)
_BLOCK_MS = 10.0  # block length of the smoothed energy envelope used for the noise floor
_FLOOR_FLATNESS_DB = 3.0  # last 10 % within this of the previous 10 %: a noise floor
_FLOOR_MARGIN_DB = 5.0  # integrate only while the envelope is this far above the floor
_MARGIN_DB = 5.0  # the 10 ms envelope must fall this far below the fit range's lower end


def _as_2d(rir: np.ndarray) -> np.ndarray:
    x = np.asarray(rir, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(f"RIR must be (n,) or (K, n) with n > 0, got shape {np.shape(rir)}")
    if not np.all(np.isfinite(x)):
        raise ValueError("RIR contains NaN or inf")
    return x


def direct_path_index(rir: np.ndarray) -> int:
    """Index of the direct-path peak (channel 0 of a ``(K, n)`` RIR).

    The first sample reaching half the absolute maximum, refined to the largest sample in
    the 32 samples that follow; so a reflection louder than a weak direct sound does not
    win unless the direct sound is below half of it.
    """
    h = np.abs(_as_2d(rir)[0])
    peak = float(h.max())
    if peak <= 0.0:
        raise ValueError("RIR is all zeros")
    first = int(np.argmax(h >= 0.5 * peak))
    return first + int(np.argmax(h[first : first + 32]))


def schroeder_curve(rir: np.ndarray) -> np.ndarray:
    """Energy decay curve in dB, 0 dB at the first sample (Schroeder backward integration).

    ``EDC(t) = 10 log10(sum_{s >= t} h(s)^2 / sum_s h(s)^2)``; same shape as ``rir``
    (``(n,)`` or ``(K, n)``), float64, floored at -300 dB.
    """
    x = np.asarray(rir, dtype=np.float64)
    if x.ndim not in (1, 2) or x.shape[-1] == 0:
        raise ValueError(f"RIR must be (n,) or (K, n) with n > 0, got shape {x.shape}")
    edc = np.cumsum((x**2)[..., ::-1], axis=-1)[..., ::-1]
    total = edc[..., :1]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(total > 0, edc / np.where(total > 0, total, 1.0), 0.0)
    return 10.0 * np.log10(np.maximum(ratio, 1e-30))


def _line_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares line ``y = slope * x + intercept`` (closed form; faster than polyfit)."""
    xm, ym = float(x.mean()), float(y.mean())
    dx = x - xm
    # numpy sums, not BLAS dot products, whose order depends on the thread count
    slope = float(np.sum(dx * (y - ym)) / np.sum(dx * dx))
    return slope, ym - slope * xm


def _decay_energy(h: np.ndarray, sample_rate: int) -> np.ndarray:
    """Backward-integrated energy from the onset, corrected for a noise floor if one is found.

    A noise floor is assumed when the last 10 % of the RIR is within 3 dB of the 10 %
    before it (a decaying RIR drops much more). Then the integration stops where the 10 ms
    envelope comes within 5 dB of the floor, the floor power is subtracted, and the energy
    beyond the stop is added back from a line fitted to the envelope (ISO 3382-1 Annex C
    style compensation). Without a floor this is plain Schroeder integration.
    """
    e = h**2
    n = e.size
    tenth = max(n // 10, 1)
    last = float(e[-tenth:].mean())
    before = float(e[-2 * tenth : -tenth].mean()) if n >= 2 * tenth else 0.0
    block = max(int(sample_rate * _BLOCK_MS / 1000.0), 1)
    has_floor = last > 0.0 and before > 0.0 and before < last * 10 ** (_FLOOR_FLATNESS_DB / 10)
    if not has_floor or n < 4 * block:
        return np.cumsum(e[::-1])[::-1]
    n_blocks = n // block
    env = e[: n_blocks * block].reshape(n_blocks, block).mean(axis=1)
    env_db = 10.0 * np.log10(np.maximum(env, 1e-300))
    floor_db = 10.0 * np.log10(last)
    above = env_db > floor_db + _FLOOR_MARGIN_DB
    stop_block = int(np.argmin(above)) if not above.all() else n_blocks
    if stop_block < 3:
        return np.cumsum(e[::-1])[::-1]
    stop = stop_block * block
    # Line through the envelope from its maximum down to the stop point.
    start_block = int(np.argmax(env_db[:stop_block]))
    times = (np.arange(start_block, stop_block) + 0.5) * block
    slope, intercept = _line_fit(times, env_db[start_block:stop_block])
    ee = np.maximum(e[:stop] - last, 0.0)
    edc = np.cumsum(ee[::-1])[::-1]
    if slope < 0.0:
        power_at_stop = 10 ** ((slope * stop + intercept) / 10.0)
        edc = edc + power_at_stop * (10.0 / np.log(10.0)) / -slope
    out = np.zeros(n)
    out[:stop] = edc
    return out


def _rt60_1d(h: np.ndarray, sample_rate: int, fit_range_db: tuple[float, float]) -> float:
    onset = direct_path_index(h)
    hi, lo = fit_range_db
    block = max(int(sample_rate * _BLOCK_MS / 1000.0), 1)
    n_blocks = (h.size - onset) // block
    if n_blocks >= 2:
        env = (h[onset : onset + n_blocks * block] ** 2).reshape(n_blocks, block).mean(axis=1)
        span_db = 10.0 * np.log10(env.max() / max(float(env.min()), 1e-300))
        if span_db < _MARGIN_DB - lo:
            raise ValueError(
                f"RIR decays only {span_db:.1f} dB; the fit range {hi:g}..{lo:g} dB "
                f"needs {_MARGIN_DB - lo:g} dB (a longer or less noisy RIR)"
            )
    edc = _decay_energy(h[onset:], sample_rate)
    if edc[0] <= 0.0:
        raise ValueError("RIR has no energy after the direct path")
    edc_db = 10.0 * np.log10(np.maximum(edc / edc[0], 1e-300))
    if not edc_db.min() <= lo:
        raise ValueError(
            f"RIR decays only {-edc_db.min():.1f} dB; the fit range {hi:g}..{lo:g} dB "
            "needs more (a longer or less noisy RIR)"
        )
    i_hi = int(np.argmax(edc_db <= hi))
    i_lo = int(np.argmax(edc_db <= lo))
    if i_lo - i_hi < 2:
        i_hi = max(i_lo - 2, 0)
    t = np.arange(i_hi, i_lo + 1) / sample_rate
    slope = _line_fit(t, edc_db[i_hi : i_lo + 1])[0]
    if slope >= 0.0:
        raise ValueError("RIR energy decay curve does not decay in the fit range")
    return -60.0 / slope


def measure_rt60(
    rir: np.ndarray, sample_rate: int, fit_range_db: tuple[float, float] = T20_RANGE_DB
) -> float:
    """Reverberation time in seconds from the Schroeder decay curve.

    The decay curve is integrated from the direct-path peak (noise floor compensated, see
    ``_decay_energy``), a least-squares line is fitted between ``fit_range_db`` (default
    T20: -5 to -25 dB; ``T30_RANGE_DB`` for -5 to -35 dB) and extrapolated to -60 dB.

    Args:
        rir: ``(n,)`` or ``(K, n)``; for ``(K, n)`` the mean over channels.
        sample_rate: Hz.
        fit_range_db: (upper, lower) decay levels in dB, both negative, upper > lower.
    """
    hi, lo = fit_range_db
    if not 0.0 >= hi > lo:
        raise ValueError(
            f"fit_range_db must be (upper, lower) with 0 >= upper > lower, got {fit_range_db}"
        )
    x = _as_2d(rir)
    return float(np.mean([_rt60_1d(h, sample_rate, fit_range_db) for h in x]))


def _window(sample_rate: int, ms: float) -> int:
    return int(round(sample_rate * ms / 1000.0))


def measure_drr_db(rir: np.ndarray, sample_rate: int, direct_window_ms: float = 2.5) -> float:
    """Direct-to-reverberant ratio in dB.

    Direct energy: samples within +-``direct_window_ms`` of the direct-path peak;
    reverberant energy: everything after that window (samples before it are ignored).
    ``(K, n)`` input: mean of the per-channel dB values.
    """
    x = _as_2d(rir)
    w = _window(sample_rate, direct_window_ms)
    values = []
    for h in x:
        d = direct_path_index(h)
        e = h**2
        direct = float(e[max(d - w, 0) : d + w + 1].sum())
        reverb = float(e[d + w + 1 :].sum())
        if reverb <= 0.0:
            raise ValueError("RIR has no energy after the direct-path window")
        values.append(10.0 * np.log10(direct / reverb))
    return float(np.mean(values))


def measure_c50_db(rir: np.ndarray, sample_rate: int, direct_window_ms: float = 2.5) -> float:
    """Clarity C50 in dB: energy in the first 50 ms after the direct path over the rest.

    The early window starts ``direct_window_ms`` before the direct-path peak (to hold the
    whole band-limited direct impulse) and ends 50 ms after it.
    ``(K, n)`` input: mean of the per-channel dB values.
    """
    x = _as_2d(rir)
    w = _window(sample_rate, direct_window_ms)
    w50 = _window(sample_rate, 50.0)
    values = []
    for h in x:
        d = direct_path_index(h)
        e = h**2
        early = float(e[max(d - w, 0) : d + w50].sum())
        late = float(e[d + w50 :].sum())
        if late <= 0.0:
            raise ValueError("RIR has no energy 50 ms after the direct path")
        values.append(10.0 * np.log10(early / late))
    return float(np.mean(values))

"""The blind RT60 estimate against synthaudio's own rooms (RT60 and DRR measured on the RIR).

The calibration in synthaudio/profile/reverb.py was fitted on other utterances and another
RIR bank (seed 1); this bank (seed 2) and these sentences are new to it.
"""

from __future__ import annotations

import numpy as np
import pytest

from synthaudio.augment.augmenter import Augmenter
from synthaudio.augment.config import AugmentConfig
from synthaudio.augment.rirbank import build_rir_bank
from synthaudio.augment.room import RoomConfig
from synthaudio.profile.reverb import estimate_rt60_s


@pytest.fixture(scope="module")
def reverberant(clean_speech, tmp_path_factory):  # type: ignore[no-untyped-def]
    bank = build_rir_bank(tmp_path_factory.mktemp("rirs"), RoomConfig(rt60_s=(0.15, 1.2)), 16,
                          16000, seed=2)
    aug = Augmenter(AugmentConfig.model_validate({"room": {"probability": 1}}), rir_bank=bank)
    rows = []
    for k in range(36):
        r = aug(clean_speech[k % len(clean_speech)], 16000, np.random.default_rng([5, k]))
        y = r.audio if r.audio.ndim == 1 else r.audio[0]
        room = r.params.to_dict()["room"]
        rows.append((room["rt60_s"], room["drr_db"], estimate_rt60_s(y)))
    return rows


def test_rt60_tracks_the_room(reverberant) -> None:  # type: ignore[no-untyped-def]
    found = [(t, d, e) for t, d, e in reverberant if e is not None]
    assert len(found) >= 0.9 * len(reverberant)
    t, d, e = (np.array(v) for v in zip(*found, strict=True))
    corr = float(np.corrcoef(t, e)[0, 1])
    mae = float(np.mean(np.abs(e - t)))
    print(f"RT60 0.15-1.2 s, {len(found)} utterances: correlation {corr:.3f}, mean |error| "
          f"{mae:.3f} s, median |error| {np.median(np.abs(e - t)):.3f} s; correlation of the "
          f"error with DRR {np.corrcoef(d, e - t)[0, 1]:.2f}")
    assert corr > 0.85
    assert mae < 0.15


def test_dry_speech_reads_short(clean_speech) -> None:  # type: ignore[no-untyped-def]
    est = [estimate_rt60_s(x) for x in clean_speech]
    # None: no decay of 50 ms at all (dry synthetic speech falls to digital silence at once)
    assert all(e is None or e < 0.2 for e in est), est
    assert sum(e is not None for e in est) >= 3


def test_rt60_with_noise_at_20_db(clean_speech, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    """Noise shortens the decays that can be seen: at 20 dB SNR the estimate still tracks."""
    bank = build_rir_bank(tmp_path_factory.mktemp("rirs-noisy"), RoomConfig(rt60_s=(0.15, 1.2)),
                          12, 16000, seed=3)
    aug = Augmenter(AugmentConfig.model_validate(
        {"room": {"probability": 1}, "noise": {"probability": 1, "snr_db": [20, 20],
                                               "kinds": {"pink": 1}, "num_sources": [1, 1]}}),
        rir_bank=bank)
    rows = []
    for k in range(24):
        r = aug(clean_speech[k % len(clean_speech)], 16000, np.random.default_rng([6, k]))
        est = estimate_rt60_s(r.audio if r.audio.ndim == 1 else r.audio[0])
        if est is not None:
            rows.append((r.params.to_dict()["room"]["rt60_s"], est))
    t, e = (np.array(v) for v in zip(*rows, strict=True))
    corr = float(np.corrcoef(t, e)[0, 1])
    print(f"RT60 at 20 dB pink noise: {len(rows)} of 24 found, correlation {corr:.3f}, "
          f"bias {np.mean(e - t):+.3f} s, mean |error| {np.mean(np.abs(e - t)):.3f} s")
    assert len(rows) >= 18 and corr > 0.7 and np.mean(np.abs(e - t)) < 0.15

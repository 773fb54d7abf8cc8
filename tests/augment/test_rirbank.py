"""RIR banks: building, loading, measured folders, fidelity and convolution."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import synthaudio.augment.rirbank as rirbank
from synthaudio.augment.acoustics import T30_RANGE_DB, measure_rt60
from synthaudio.augment.rirbank import (
    INDEX_NAME,
    RirBank,
    RirEntry,
    apply_reverb,
    build_rir_bank,
)
from synthaudio.augment.room import MicArrayConfig, RoomConfig, RoomParams
from synthaudio.errors import ConfigError, InputError

FS = 16000
SMALL = RoomConfig(rt60_s=(0.2, 0.4), dims_m=((3.0, 5.0), (3.0, 4.0), (2.5, 3.0)))


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_build_writes_float_wavs_and_a_sorted_index(tmp_path: Path) -> None:
    bank = build_rir_bank(tmp_path / "bank", SMALL, count=4, sample_rate=FS, seed=11)
    root = tmp_path / "bank"
    assert sorted(p.name for p in root.iterdir()) == [
        INDEX_NAME,
        *sorted(f"rir-{i:06d}{ext}" for i in range(4) for ext in (".noise.wav", ".wav")),
    ]
    assert sf.info(str(root / "rir-000000.wav")).subtype == "FLOAT"
    lines = (root / INDEX_NAME).read_text().splitlines()
    ids = [json.loads(line)["rir_id"] for line in lines]
    assert ids == sorted(ids) == [e.rir_id for e in bank.entries]
    loaded = RirBank.load(root)
    assert loaded.entries == bank.entries
    e = loaded.entries[2]
    rir = loaded.get(e.rir_id)
    assert rir.dtype == np.float32 and rir.shape[0] == e.num_channels == 1
    assert not rir.flags.writeable
    assert loaded.get(e.rir_id) is rir  # cached
    assert loaded.get(e.rir_id, "noise").shape[0] == 1
    assert e.rt60_s == pytest.approx(measure_rt60(rir, FS), abs=1e-4)
    assert e.rt60_target_s == RoomParams.from_dict(e.room or {}).rt60_target_s
    assert e.labels["direct_delay_s"] == e.direct_delay_s
    assert RirEntry.from_dict(json.loads(lines[0])) == loaded.entries[0]
    with pytest.raises(KeyError):
        loaded.get("rir-999999")


def test_output_is_identical_for_any_jobs_and_skips_done_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = SMALL.model_copy(
        update={"mic_array": MicArrayConfig(kind="linear", num_mics=2, spacing_m=0.1)}
    )
    build_rir_bank(tmp_path / "a", cfg, count=5, sample_rate=FS, seed=3, jobs=1)
    build_rir_bank(tmp_path / "b", cfg, count=5, sample_rate=FS, seed=3, jobs=2)
    assert files_of(tmp_path / "a") == files_of(tmp_path / "b")
    assert RirBank.load(tmp_path / "a").get("rir-000001").shape[0] == 2

    def fail(*args: object) -> None:
        raise AssertionError("re-rendered an entry that was complete")

    monkeypatch.setattr(rirbank, "_render_entry", fail)
    before = files_of(tmp_path / "a")
    build_rir_bank(tmp_path / "a", cfg, count=5, sample_rate=FS, seed=3)
    assert files_of(tmp_path / "a") == before
    with pytest.raises(AssertionError, match="re-rendered"):  # another seed: new rooms
        build_rir_bank(tmp_path / "a", cfg, count=5, sample_rate=FS, seed=4)


def test_build_argument_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="count must be >= 1"):
        build_rir_bank(tmp_path, SMALL, count=0, sample_rate=FS, seed=1)
    with pytest.raises(ConfigError, match="jobs must be >= 1"):
        build_rir_bank(tmp_path, SMALL, count=1, sample_rate=FS, seed=1, jobs=0)


def test_fidelity_measured_rt60_matches_target(tmp_path: Path) -> None:
    """>= 95 % of a bank drawn over 0.2-1.2 s within 10 % of the target RT60 (T20 and T30)."""
    bank = build_rir_bank(tmp_path, RoomConfig(), count=40, sample_rate=FS, seed=2024)
    targets = np.array([e.rt60_target_s for e in bank.entries], dtype=float)
    assert targets.min() < 0.4 and targets.max() > 1.0
    loaded = RirBank.load(tmp_path)
    t20 = np.array([measure_rt60(loaded.get(e.rir_id), FS) for e in loaded.entries])
    t30 = np.array([measure_rt60(loaded.get(e.rir_id), FS, T30_RANGE_DB) for e in loaded.entries])
    assert np.mean(np.abs(t20 / targets - 1) <= 0.10) >= 0.95
    assert np.mean(np.abs(t30 / targets - 1) <= 0.10) >= 0.95
    assert np.median(np.abs(t20 / targets - 1)) < 0.03


def test_load_reports_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="index.jsonl: no RIR bank index here"):
        RirBank.load(tmp_path)
    build_rir_bank(tmp_path, SMALL, count=2, sample_rate=FS, seed=1)
    index = tmp_path / INDEX_NAME
    good = index.read_text().splitlines()
    index.write_text(good[0] + "\n{not json\n")
    with pytest.raises(InputError, match=r"index\.jsonl:2: not valid JSON"):
        RirBank.load(tmp_path)
    entry = json.loads(good[1])
    del entry["rt60_s"]
    index.write_text(good[0] + "\n" + json.dumps(entry) + "\n")
    with pytest.raises(InputError, match=r"index\.jsonl:2: missing key 'rt60_s'"):
        RirBank.load(tmp_path)
    entry = json.loads(good[1])
    entry["path"] = "../elsewhere.wav"
    index.write_text(good[0] + "\n" + json.dumps(entry) + "\n")
    with pytest.raises(InputError, match=r"index\.jsonl:2: path '\.\./elsewhere\.wav' must be"):
        RirBank.load(tmp_path)
    index.write_text(good[0] + "\n" + good[0] + "\n")
    with pytest.raises(InputError, match=r"index\.jsonl:2: duplicate rir_id"):
        RirBank.load(tmp_path)


def decay(rt60_s: float, fs: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    """(n, K) measured-like RIR: 5 ms of silence, then exponentially decaying noise."""
    rng = np.random.default_rng(seed)
    n = int(1.3 * rt60_s * fs)
    h = rng.standard_normal((n, channels)) * np.exp(-6.9078 * np.arange(n) / fs / rt60_s)[:, None]
    h[0] = 2.0 * np.abs(h).max()  # the direct path
    return np.concatenate([np.zeros((int(0.005 * fs), channels)), 0.5 * h / np.abs(h).max()])


def test_measured_folder(tmp_path: Path) -> None:
    sf.write(str(tmp_path / "hall.wav"), decay(0.8, FS, channels=2), FS, subtype="FLOAT")
    sf.write(str(tmp_path / "office.flac"), decay(0.4, 48000), 48000)
    (tmp_path / ".DS_Store").write_bytes(b"\0")
    with pytest.warns(UserWarning, match="resampled 1 RIR file"):
        bank = RirBank.from_measured_folder(tmp_path, FS)
    hall, office = bank.entries
    assert (hall.rir_id, hall.num_channels, hall.resampled_from) == ("hall", 2, None)
    assert (office.rir_id, office.resampled_from, office.sample_rate) == ("office", 48000, FS)
    assert hall.rt60_target_s is None and hall.noise_path is None and hall.room is None
    assert hall.rt60_s == pytest.approx(0.8, rel=0.05)
    assert office.rt60_s == pytest.approx(0.4, rel=0.05)
    assert hall.direct_delay_s == pytest.approx(0.005, abs=1 / FS)
    assert bank.get("office").shape == (1, pytest.approx(1.3 * 0.4 * FS + 80, abs=2))
    with pytest.raises(InputError, match="has no noise-source RIR"):
        bank.get("hall", "noise")
    fresh = RirBank(bank.root, bank.entries)  # e.g. in a worker: reads and resamples again
    assert np.allclose(fresh.get("office"), bank.get("office"))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.txt", b"hello", "notes.txt: not a RIR file"),
        ("broken.wav", b"RIFF0000WAVEjunk", "broken.wav: not readable audio"),
        ("empty.wav", None, "empty.wav: empty RIR"),
        ("nan.wav", np.array([1.0, np.nan, 0.5]), "nan.wav: RIR contains NaN or inf"),
        ("zero.wav", np.zeros(1000), "zero.wav: RIR is all zeros"),
        ("short.wav", np.r_[1.0, 0.9, 0.8, 0.7], "short.wav: cannot measure this RIR"),
    ],
)
def test_measured_folder_rejects_bad_files(
    tmp_path: Path, name: str, content: bytes | np.ndarray | None, message: str
) -> None:
    sf.write(str(tmp_path / "good.wav"), decay(0.5, FS), FS, subtype="FLOAT")
    if isinstance(content, bytes):
        (tmp_path / name).write_bytes(content)
    else:
        data = np.zeros(0) if content is None else content
        sf.write(str(tmp_path / name), data, FS, subtype="FLOAT")
    with pytest.raises(InputError) as info:
        RirBank.from_measured_folder(tmp_path, FS)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_choose_is_uniform_and_seeded(tmp_path: Path) -> None:
    bank = build_rir_bank(tmp_path, SMALL, count=3, sample_rate=FS, seed=5)
    picks = [bank.choose(np.random.default_rng([9, i])).rir_id for i in range(300)]
    assert picks == [bank.choose(np.random.default_rng([9, i])).rir_id for i in range(300)]
    counts = np.unique(picks, return_counts=True)[1]
    assert len(counts) == 3 and counts.min() > 70


def test_apply_reverb() -> None:
    rng = np.random.default_rng(0)
    audio = rng.standard_normal(1000).astype(np.float32)
    rir = rng.standard_normal((3, 257)).astype(np.float32)
    out = apply_reverb(audio, rir)
    assert out.shape == (3, 1000 + 257 - 1) and out.dtype == np.float32
    for k in range(3):
        assert np.allclose(out[k], np.convolve(audio, rir[k]), atol=1e-4)
    delta = np.zeros((1, 50), dtype=np.float32)
    delta[0, 17] = 0.5
    assert np.allclose(apply_reverb(audio, delta)[0, 17:1017], 0.5 * audio, atol=1e-6)
    with pytest.raises(ValueError, match=r"audio \(n,\) and rir \(K, m\)"):
        apply_reverb(audio, rir[0])

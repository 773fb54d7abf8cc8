"""Whisper's encoder as a keyword front end: its windows are those of the speech embedding's
grid, each taken whole from one encode of up to 30 s, clips joined as streams are encoded;
saved models name it and ``synthaudio detect`` reads it back."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from synthaudio.errors import InputError
from synthaudio.train.embedding import EmbeddingConfig, window_count
from synthaudio.train.features import FeatureConfig
from synthaudio.train.frontends import clip_features, config_of, is_frames, kind_of
from synthaudio.train.whisper_frames import (
    FRAME_SAMPLES,
    WhisperConfig,
    groups,
    shared_whisper,
    slots,
    window_frames,
)

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "recipes" / "keywords"))
from streaming import pack_windows, unpack_windows  # noqa: E402

needs_whisper = pytest.mark.skipif(importlib.util.find_spec("faster_whisper") is None,
                                   reason="Whisper's encoder needs the whisper extra")
RATE = 16000


def _audio(seconds: float, seed: int) -> np.ndarray:
    """Noise with tone bursts: frames that differ from place to place."""
    rng = np.random.default_rng(seed)
    n = round(seconds * RATE)
    t = np.arange(n) / RATE
    bursts = np.sin(2 * np.pi * (300 + 200 * np.floor(t * 3 % 5)) * t) * (np.sin(t * 7) > 0.3)
    return (0.02 * rng.standard_normal(n) + 0.1 * bursts).astype(np.float32)


def test_config_checks_and_layout() -> None:
    cfg = WhisperConfig()
    assert window_frames(cfg) == 25  # 0.5 + 1 + 0.5 s of 80 ms frames
    with pytest.raises(ValueError, match="16000 Hz"):
        WhisperConfig(sample_rate=8000)
    with pytest.raises(ValueError, match="chunk_s must be within"):
        WhisperConfig(chunk_s=31.0)
    with pytest.raises(ValueError, match="must hold two windows"):
        WhisperConfig(chunk_s=4.0)
    # joined clips: each from its own frame, >= gap_s of silence between, longer clips
    # taking longer slots; the encode ends pad_s after the last clip
    one_s, long_s = RATE, round(2.3 * RATE)
    starts, total = slots([one_s, long_s, one_s], cfg)
    assert starts == [0, 19, 19 + 35]  # 1.5 s -> 19 frames, 2.8 s -> 35 frames
    assert total == starts[-1] + 25
    gaps = [(b - a) * FRAME_SAMPLES - n for a, b, n in zip(starts[:-1], starts[1:],
                                                            [one_s, long_s], strict=True)]
    assert min(gaps) >= cfg.gap_s * RATE
    plan = groups([one_s] * 50, cfg, seed=3)
    assert sorted(i for g in plan for i in g) == list(range(50))
    assert all(slots([one_s] * len(g), cfg)[1] <= 375 for g in plan)
    assert [len(g) for g in plan] == [19, 19, 12]  # as many as a 30 s encode holds
    assert groups([one_s] * 50, cfg, seed=3) == plan and groups([one_s] * 50, cfg, 4) != plan


def test_front_end_names_round_trip() -> None:
    for cfg in (FeatureConfig(), EmbeddingConfig(clip_s=1.0), WhisperConfig(clip_s=1.5)):
        from dataclasses import asdict

        assert config_of(kind_of(cfg), asdict(cfg)) == cfg
    assert is_frames(WhisperConfig()) and is_frames(EmbeddingConfig())
    assert not is_frames(FeatureConfig())
    assert config_of(None, {}) == FeatureConfig()  # models saved before kinds were named
    with pytest.raises(ValueError, match="unknown front end 'wav2vec'"):
        config_of("wav2vec", {})
    with pytest.raises(ValueError, match=r"has no settings \['tune_layers'\]"):
        config_of("whisper", {"tune_layers": 1})


def test_pack_windows_keeps_every_window() -> None:
    frames = np.arange(40, dtype=np.float32).reshape(20, 2)
    one_run = [frames[k:k + 5] for k in range(16)]
    packed = pack_windows(one_run)
    assert isinstance(packed[0], np.ndarray) and packed[0].shape == (20, 2)
    other = frames[::-1].copy()
    two_runs = one_run[:7] + [other[k:k + 5] for k in range(3, 9)]
    packed = pack_windows(two_runs)
    assert isinstance(packed[0], list) and len(packed[0]) == 2
    assert all(np.array_equal(a, b) for a, b in zip(unpack_windows(packed), two_runs,
                                                      strict=True))


@needs_whisper
def test_stream_windows_come_whole_from_one_encode() -> None:
    enc = shared_whisper(WhisperConfig())
    audio = _audio(70.0, 0)
    windows = enc.stream_windows(audio, 1.0)
    assert len(windows) == window_count(len(audio), 1.0)  # the embedding's windows
    assert {w.shape for w in windows} == {(25, enc.dim)} and enc.dim == 384
    padded = np.concatenate([np.zeros(RATE // 2, np.float32), audio,
                             np.zeros(RATE // 2, np.float32)])
    first = enc.encode(padded[:30 * RATE])
    assert first.shape == (375, 384)
    assert np.array_equal(windows[0], first[:25]) and np.array_equal(windows[350], first[350:])
    hop = 375 - 26  # the next encode starts a window and a frame before the first one's end
    second = enc.encode(padded[hop * FRAME_SAMPLES:(hop + 375) * FRAME_SAMPLES])
    assert np.array_equal(windows[351], second[351 - hop:351 - hop + 25])
    assert not np.array_equal(windows[351], first[351:])  # too short there: not taken
    # context matters: the same frames encoded alone differ
    alone = enc.encode(padded[351 * FRAME_SAMPLES:376 * FRAME_SAMPLES])
    assert not np.allclose(alone, windows[351], atol=1e-3)
    assert np.array_equal(enc.stream_windows(audio, 1.0)[500], windows[500])  # deterministic
    assert len(enc.stream_windows(audio[:RATE // 4], 1.0)) == 1  # shorter than a window
    # a recording shorter than one encode: encoded padded with silence to a whole one
    short = audio[:5 * RATE]
    whole = enc.encode(np.concatenate([padded[:RATE // 2 + 5 * RATE],
                                       np.zeros(30 * RATE - RATE // 2 - 5 * RATE, np.float32)]))
    short_windows = enc.stream_windows(short, 1.0)
    assert len(short_windows) == window_count(len(short), 1.0) == 51
    assert all(np.array_equal(w, whole[k:k + 25]) for k, w in enumerate(short_windows))
    with pytest.raises(ValueError, match="windows are 1.0 s"):
        enc.stream_windows(audio, 1.5)
    with pytest.raises(ValueError, match="at most 30 s"):
        enc.encode(np.zeros(31 * RATE, np.float32))


@needs_whisper
def test_clip_features_are_the_joined_encode_at_each_clip(tmp_path: Path) -> None:
    cfg = WhisperConfig()
    enc = shared_whisper(cfg)
    lengths = [RATE, RATE // 2, round(1.7 * RATE)] + [RATE] * 22
    audios = [_audio(n / RATE, k) for k, n in enumerate(lengths)]
    paths = []
    for k, a in enumerate(audios):
        paths.append(tmp_path / f"{k}.wav")
        sf.write(paths[-1], a, RATE, subtype="FLOAT")
    feats = clip_features(paths, cfg, jobs=1, seed=5)
    plan = groups(lengths, cfg, seed=5)
    assert len(plan) == 2  # 25 clips: two encodes
    for g in plan:  # each clip's window: its slot of one encode of its group
        starts, total = slots([lengths[i] for i in g], cfg)
        x = np.zeros(total * FRAME_SAMPLES, np.float32)
        for i, s in zip(g, starts, strict=True):
            x[s * FRAME_SAMPLES + RATE // 2:s * FRAME_SAMPLES + RATE // 2 + lengths[i]] = audios[i]
        frames = enc.encode(x)
        for i, s in zip(g, starts, strict=True):
            assert np.array_equal(feats[i], frames[s:s + 25])
    assert all(np.array_equal(a, b) for a, b in zip(feats, clip_features(paths, cfg, 1, 5),
                                                     strict=True))
    other = clip_features(paths, cfg, 1, 6)  # another order: other neighbours
    assert not all(np.array_equal(a, b) for a, b in zip(feats, other, strict=True))
    long = tmp_path / "long.wav"
    sf.write(long, np.zeros(29 * RATE, np.float32), RATE)
    with pytest.raises(InputError, match=r"long.wav: 29.0 s is too long for one Whisper encode"):
        clip_features([long], cfg)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio")
    with pytest.raises(InputError, match="bad.wav: unreadable audio"):
        clip_features([bad], cfg)


@needs_whisper
def test_worker_processes_give_the_same_features(tmp_path: Path) -> None:
    """Workers are spawned, not forked: a child forked from a parent that holds an encoder
    (as the recipe's does) deadlocks in CTranslate2's thread pool (run apart, with a
    timeout: a deadlock fails the test instead of hanging the suite)."""
    for k in range(128):
        sf.write(tmp_path / f"{k}.wav", _audio(0.3, k), RATE, subtype="FLOAT")
    script = f"""
import numpy as np
from pathlib import Path
from synthaudio.train.frontends import clip_features
from synthaudio.train.whisper_frames import WhisperConfig, groups, shared_whisper
cfg = WhisperConfig(chunk_s=5.0)  # two clips an encode: 64 encodes, enough for workers
shared_whisper(cfg)  # the parent holds an encoder
paths = [Path({str(tmp_path)!r}) / f"{{k}}.wav" for k in range(128)]
assert len(groups([4800] * 128, cfg, 0)) == 64
one, two = clip_features(paths, cfg, jobs=1), clip_features(paths, cfg, jobs=2)
assert all(np.array_equal(a, b) for a, b in zip(one, two, strict=True))
print("same")
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=180, check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == "same", proc.stderr


@needs_whisper
def test_saved_whisper_model_reads_back(tmp_path: Path) -> None:
    from synthaudio.train.classifier import load_classifier, save_classifier, train_classifier
    from synthaudio.train.detect import KeywordDetector
    from synthaudio.train.model import HeadConfig
    from synthaudio.train.trainer import TrainConfig

    cfg = WhisperConfig(clip_s=1.0)
    enc = shared_whisper(cfg)
    feats = enc.joined([_audio(1.0, k) for k in range(8)])
    labels = ["yes", "_unknown_"] * 4
    result = train_classifier(feats, labels, feats[:2], labels[:2], ["yes", "_unknown_"],
                              HeadConfig(dim=enc.dim, channels=8, layers=1),
                              TrainConfig(epochs=1, max_batch=4, max_batch_frames=100, seed=0,
                                          threads=1), log=lambda line: None)
    save_classifier(tmp_path / "m.pt", result, cfg, {"threshold": 0.5})
    _, saved_labels, saved = load_classifier(tmp_path / "m.pt")
    assert saved == cfg and saved_labels == ("yes", "_unknown_")
    detector = KeywordDetector(tmp_path / "m.pt")
    assert (detector.window_s, detector.hop_s) == (1.0, 0.08)
    audio = _audio(40.0, 9)
    assert all(np.array_equal(a, b) for a, b in zip(detector.windows(audio),
                                                     enc.stream_windows(audio, 1.0),
                                                     strict=True))


@needs_whisper
def test_installation_check_loads_no_encoder(tmp_path: Path) -> None:
    """The recipe checks the front end before it makes corpora with forked workers: the
    check names a missing model in one line and builds no encoder in this process."""
    from synthaudio.train.frontends import check_installed

    shared_whisper.cache_clear()
    check_installed(WhisperConfig())
    assert shared_whisper.cache_info().currsize == 0
    with pytest.raises(InputError, match="not a CTranslate2 model folder") as err:
        check_installed(WhisperConfig(model=str(tmp_path)))
    assert "\n" not in str(err.value)

"""synthaudio.train.word_vectors: the second front end of the keywords recipe's clip
scores (EfficientWord-Net's word vectors, a logistic regression, a geometric-mean fusion)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from synthaudio.evaluate.kws import clip_scores
from synthaudio.train.word_vectors import (
    centred,
    choose_fuse_weight,
    fit_word_classifier,
    fuse,
    save_word_classifier,
    word_posteriors,
)

REPO = Path(__file__).resolve().parents[1]


def test_centred_cuts_silent_ends_and_centres() -> None:
    x = np.concatenate([np.zeros(300), np.full(100, 0.5), np.zeros(50)]).astype(np.float32)
    out = centred(x, 400)
    assert out.shape == (400,) and np.count_nonzero(out) == 100
    assert np.flatnonzero(out)[0] == 150  # (400 - 100) // 2
    long = np.arange(1, 1001, dtype=np.float32) / 1000
    cut = centred(long, 400)
    assert cut[0] == pytest.approx(0.301) and cut[-1] == pytest.approx(0.7)


def test_fuse_is_the_renormalized_geometric_mean() -> None:
    head = np.array([[0.8, 0.2], [0.5, 0.5]], np.float32)
    words = np.array([[0.2, 0.8], [0.9, 0.1]], np.float32)
    got = fuse(head, words)
    assert got[0] == pytest.approx([0.5, 0.5], abs=1e-6)
    assert got[1] == pytest.approx([0.75, 0.25], abs=1e-6)  # sqrt(.45)/(sqrt(.45)+sqrt(.05))
    assert fuse(head, words, 0.0) == pytest.approx(head, abs=1e-6)
    assert fuse(head, words, 1.0) == pytest.approx(words, abs=1e-6)


def test_choose_fuse_weight_takes_the_largest_within_one_standard_error() -> None:
    def dev(balanced: float, se: float) -> dict[str, float]:
        return {"balanced_accuracy": balanced, "balanced_accuracy_se": se}

    scores = {0.2: dev(0.80, 0.02), 0.4: dev(0.86, 0.02), 0.6: dev(0.845, 0.03),
              0.7: dev(0.841, 0.02), 0.8: dev(0.83, 0.02)}
    # the best is 0.4 (0.86 +- 0.02): 0.6 and 0.7 are within 0.02 of it, 0.8 is not
    assert choose_fuse_weight(scores) == 0.7
    assert choose_fuse_weight(scores, best_only=True) == 0.4
    # the best's own standard error sets the floor: 0.05 takes in 0.8 too
    assert choose_fuse_weight({**scores, 0.4: dev(0.86, 0.05)}) == 0.8
    # without noise, the best; ties broken towards 0.5
    exact = {w: dev(0.9, 0.0) for w in (0.3, 0.5, 0.6)}
    assert choose_fuse_weight(exact, best_only=True) == 0.5
    assert choose_fuse_weight(exact) == 0.6
    with pytest.raises(ValueError, match="no fusion weights"):
        choose_fuse_weight({})


def test_choose_fuse_weight_on_scored_clips() -> None:
    # a share's scores as the recipe computes them: clip_scores of its predictions
    truth = ["yes"] * 20 + ["no"] * 20 + ["_unknown_"] * 40
    right = {0.5: (18, 18, 38), 0.8: (17, 18, 37), 0.2: (12, 14, 36)}
    scores = {w: clip_scores(truth, ["yes"] * a + ["no"] * (20 - a) + ["no"] * b
                             + ["yes"] * (20 - b) + ["_unknown_"] * c + ["yes"] * (40 - c))
              for w, (a, b, c) in right.items()}
    best = scores[0.5]
    assert best["balanced_accuracy"] - scores[0.8]["balanced_accuracy"] < best[
        "balanced_accuracy_se"] < best["balanced_accuracy"] - scores[0.2]["balanced_accuracy"]
    assert choose_fuse_weight(scores) == 0.8


def test_word_classifier_learns_separable_classes_in_label_order(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    centres = {"yes": np.eye(8)[0], "no": np.eye(8)[1], "_unknown_": np.eye(8)[2]}
    ys = ["yes"] * 30 + ["no"] * 10 + ["_unknown_"] * 60
    x = np.stack([centres[y] + 0.3 * rng.standard_normal(8) for y in ys])
    dev_ys = ["yes", "no", "_unknown_"] * 5
    dev_x = np.stack([centres[y] + 0.3 * rng.standard_normal(8) for y in dev_ys])
    labels = ["_unknown_", "no", "yes"]
    params = fit_word_classifier(x, ys, dev_x, dev_ys, labels, c_grid=(0.01, 1.0))
    assert params["labels"] == labels and params["coef"].shape == (3, 8)
    assert set(params["dev_balanced"]) == {"0.01", "1.0"} and params["dev_balanced"]["1.0"] == 1
    probs = word_posteriors(params, dev_x)
    assert probs.sum(axis=1) == pytest.approx(np.ones(15), abs=1e-5)
    assert [labels[k] for k in probs.argmax(1)] == dev_ys
    # a vector's length does not matter (unit vectors)
    assert word_posteriors(params, 5 * dev_x) == pytest.approx(probs, abs=1e-5)
    save_word_classifier(tmp_path / "w.npz", params)
    blob = np.load(tmp_path / "w.npz")
    assert list(blob["labels"]) == labels and float(blob["c"]) == params["c"]
    with pytest.raises(ValueError, match="no training clip of"):
        fit_word_classifier(x, ys, dev_x, dev_ys, [*labels, "_silence_"])


@pytest.mark.skipif(importlib.util.find_spec("eff_word_net") is None,
                    reason="EfficientWord-Net is not an extra of the test install (pyaudio)")
def test_word_vectors_of_real_speech_ignore_silent_padding(tmp_path: Path) -> None:
    import soundfile as sf

    from synthaudio.train.data import kaldi_dir_utterances
    from synthaudio.train.features import load_mono
    from synthaudio.train.word_vectors import word_vectors

    utt = kaldi_dir_utterances(REPO / "tests" / "fixtures" / "real_speech")[0]
    audio = load_mono(utt.audio_path, 16000)[:16000]
    sf.write(tmp_path / "a.wav", audio, 16000, subtype="FLOAT")
    sf.write(tmp_path / "b.wav", np.concatenate([np.zeros(4000, np.float32), audio]), 16000,
             subtype="FLOAT")
    sf.write(tmp_path / "c.wav", load_mono(utt.audio_path, 16000)[16000:32000], 16000,
             subtype="FLOAT")
    v = word_vectors([tmp_path / "a.wav", tmp_path / "b.wav", tmp_path / "c.wav"])
    assert v.shape == (3, 2048) and np.all(np.isfinite(v))
    unit = v / np.linalg.norm(v, axis=1, keepdims=True)
    assert unit[0] @ unit[1] > 0.999  # the leading zeros are cut before centring
    assert unit[0] @ unit[2] < 0.99  # other speech, another vector

"""The two-stage (cascade) keyword detector: EfficientWord-Net word vectors verify the
head's candidates, rejecting a false one that the first stage passes and keeping the
true ones."""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from synthaudio.cli import main
from synthaudio.errors import InputError
from synthaudio.train.detect import (
    WORD_CLASSIFIER,
    Detection,
    DetectorSettings,
    KeywordDetector,
    cascade_detections,
    detect_keywords,
    find_detections,
)
from synthaudio.train.verifier import Verifier, candidate_centre_s, smoothed_rows_at
from synthaudio.train.word_vectors import RATE, WordVectors, load_word_classifier, window_at

needs_model = pytest.mark.skipif(importlib.util.find_spec("openwakeword") is None,
                                 reason="the model files come with openwakeword (extra 'kws')")
KEYWORD = "computer"
LABELS = [KEYWORD, "_silence_", "_unknown_"]
OTHER = ["table", "river", "morning", "window", "garden", "yellow", "music", "paper"]
CONFUSABLE = ["commuter", "compute", "computing", "competing"]  # the verifier's negatives
TRAIN_VOICES = [(v, var) for v in ("en-us", "en-gb-x-rp") for var in ("m1", "f1", "m3", "f3")]
HELD_OUT = [("en", "m1"), ("en", "f3")]  # voices of the verifier's test audio only
HEAD_VOICES = [(v, var) for v in ("en-us", "en-gb-x-rp", "en") for var in ("m1", "f1", "m3", "f3")]
HOP_S, WINDOW_S, SMOOTH = 0.08, 1.0, 3


def _speech(text: str, voice: tuple[str, str], rate_wpm: int) -> np.ndarray:
    from synthaudio.tts.espeak import EspeakEngine
    from synthaudio.tts.espeak_binding import EspeakVoice

    s = EspeakEngine().synthesize(text, EspeakVoice(voice[0], voice[1], rate_wpm, 50, 50,
                                                    100, 0))
    audio = soxr.resample(s.audio, s.sample_rate, RATE).astype(np.float32)
    loud = np.flatnonzero(np.abs(audio) > 0.02 * np.abs(audio).max())
    audio = audio[loud[0]:loud[-1] + 1]
    return 0.1 * audio / max(1e-6, float(np.sqrt(np.mean(audio ** 2))))


def _word_classifier(vectors: WordVectors, confusable: bool = False) -> dict[str, object]:
    """A logistic regression over the word vectors of espeak-ng clips: the keyword, other
    words (``_unknown_``; ``confusable``: and words that sound like it), quiet noise
    (``_silence_``)."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    windows, ys = [], []
    for k, voice in enumerate(TRAIN_VOICES):
        for text, label in [(KEYWORD, KEYWORD), (KEYWORD, KEYWORD), (KEYWORD, KEYWORD)] + [
                (OTHER[(k + d) % len(OTHER)], "_unknown_") for d in (0, 2, 4, 6)] + (
                [(w, "_unknown_") for w in CONFUSABLE] if confusable else []):
            word = _speech(text, voice, int(rng.integers(140, 200)))
            windows.append(window_at(word + 0.003 * rng.standard_normal(len(word)),
                                     len(word) / 2 / RATE + rng.uniform(-0.1, 0.1)))
            ys.append(label)
        windows.append((0.003 * rng.standard_normal(round(1.5 * RATE))).astype(np.float32))
        ys.append("_silence_")
    x = vectors(windows)
    clf = LogisticRegression(C=10.0, max_iter=3000, class_weight="balanced")
    clf.fit(x / np.linalg.norm(x, axis=1, keepdims=True), ys)
    order = [list(clf.classes_).index(label) for label in LABELS]
    return {"coef": clf.coef_[order].astype(np.float32),
            "intercept": clf.intercept_[order].astype(np.float32), "labels": LABELS, "c": 10.0}


def _save(path: Path, params: dict[str, object]) -> None:
    np.savez(path, coef=params["coef"], intercept=params["intercept"],
             labels=np.array(params["labels"]), c=np.array(params["c"]))


def test_the_verifier_rejects_a_false_candidate_and_keeps_the_true_ones(tmp_path: Path) -> None:
    vectors = WordVectors(threads=1)
    params = _word_classifier(vectors)
    _save(tmp_path / WORD_CLASSIFIER, params)
    assert load_word_classifier(tmp_path / WORD_CLASSIFIER, LABELS)["labels"] == LABELS
    with pytest.raises(InputError, match="are not the model's"):
        load_word_classifier(tmp_path / WORD_CLASSIFIER, ["yes", "_silence_", "_unknown_"])
    # 12 s of quiet noise: the keyword by voices the regression never heard at 2 s and
    # 9 s, another word ("garden") at 5.5 s
    rng = np.random.default_rng(1)
    audio = (0.003 * rng.standard_normal(12 * RATE)).astype(np.float32)
    said = [(2.0, _speech(KEYWORD, HELD_OUT[0], 170)), (5.5, _speech("garden", HELD_OUT[1], 170)),
            (9.0, _speech(KEYWORD, HELD_OUT[1], 150))]
    n_windows = int((12 - WINDOW_S) / HOP_S) + 1
    track = np.tile([0.0, 0.02, 0.98], (n_windows, 1))  # the head's smoothed posteriors
    for centre_s, word in said:
        start = round(centre_s * RATE) - len(word) // 2
        audio[start:start + len(word)] += word
        # the head takes all three for the keyword: a peak whose candidate is centred there
        k = round((centre_s - WINDOW_S / 2 + (SMOOTH - 1) * HOP_S / 2) / HOP_S)
        assert candidate_centre_s(k, HOP_S, WINDOW_S, SMOOTH) == pytest.approx(centre_s, abs=0.05)
        track[k - 1:k + 2] = [[0.6, 0.0, 0.4], [0.8, 0.0, 0.2], [0.6, 0.0, 0.4]]
    settings = DetectorSettings(smooth_frames=SMOOTH, refractory_s=1.0, threshold=0.5,
                                candidate_threshold=0.5, verify_threshold=0.5)
    first = find_detections(track, LABELS, HOP_S, WINDOW_S, settings)
    assert [d[0] for d in first] == [KEYWORD] * 3  # stage 1 passes the other word too
    verifier = Verifier(load_word_classifier(tmp_path / WORD_CLASSIFIER, LABELS))
    words = verifier.word_scores(audio, [c for c, _ in said])
    assert [LABELS[int(k)] for k in words.argmax(1)] == [KEYWORD, "_unknown_", KEYWORD]
    found = cascade_detections(track, LABELS, HOP_S, WINDOW_S, settings, audio, verifier)
    assert [(d[0], d[1]) for d in found] == [(KEYWORD, first[0][1]), (KEYWORD, first[2][1])]
    assert all(d[3] > 0.5 for d in found)
    fused = verifier.scores(audio, [5.5], track[[round(first[1][1] / HOP_S)]])
    assert fused[0, 0] < 0.5 < fused[0, 2]  # the false candidate: _unknown_ once verified
    # the word vectors alone (weight 1) decide the same; the head alone (weight 0) passes it
    assert Verifier(params, 1.0, vectors).scores(audio, [5.5], track[[0]])[0, 0] < 0.5
    head_only = Verifier(params, 0.0, vectors)
    assert len(cascade_detections(track, LABELS, HOP_S, WINDOW_S, settings, audio,
                                  head_only)) == 3
    with pytest.raises(ValueError, match="fuse weight"):
        Verifier(params, 1.5, vectors)


def test_smoothed_rows_at_are_the_tracks_trailing_mean_scoring_only_the_windows_behind(
) -> None:
    rng = np.random.default_rng(3)
    track = rng.dirichlet(np.ones(3), size=40)  # another model's posteriors of 40 windows
    windows = [np.full((16, 96), k, np.float32) for k in range(40)]
    scored: list[int] = []

    def score(ws: list[np.ndarray]) -> np.ndarray:
        ks = [int(w[0, 0]) for w in ws]
        scored.extend(ks)
        return track[ks]

    from synthaudio.train.detect import smooth_scores

    rows = smoothed_rows_at(score, windows, [1, 20, 22], 3)
    np.testing.assert_allclose(rows, smooth_scores(track, 3)[[1, 20, 22]], atol=1e-12)
    assert sorted(scored) == [0, 1, 18, 19, 20, 21, 22]  # each window once, no others
    assert smoothed_rows_at(score, windows, [], 3).shape[0] == 0
    with pytest.raises(ValueError, match="verify_models names files beside the model"):
        DetectorSettings(verify_models=("../clip_model.pt",))


def _tiny_head(path: Path, settings: dict[str, object]) -> None:
    """A small head over the speech embedding (as test_detect's): the keyword at two
    rates, two other words and quiet noise by each of 12 voices, 20 epochs."""
    from synthaudio.train.classifier import save_classifier, train_classifier
    from synthaudio.train.embedding import EmbeddingConfig, SpeechEmbedding
    from synthaudio.train.model import HeadConfig
    from synthaudio.train.trainer import TrainConfig

    rng = np.random.default_rng(0)
    clips, labels = [], []
    for k, voice in enumerate(HEAD_VOICES):
        for text, label, wpm in [(KEYWORD, KEYWORD, 140), (KEYWORD, KEYWORD, 190),
                                 (OTHER[k % len(OTHER)], "_unknown_", 170),
                                 (OTHER[(k + 5) % len(OTHER)], "_unknown_", 170),
                                 (None, "_silence_", 0)]:
            clip = (0.003 * rng.standard_normal(RATE)).astype(np.float32)
            if text is not None:
                word = _speech(text, voice, wpm)[:RATE]
                start = int(rng.integers(0, RATE - len(word) + 1))
                clip[start:start + len(word)] += word
            clips.append(clip)
            labels.append(label)
    emb = SpeechEmbedding(EmbeddingConfig(clip_s=1.0))
    feats = [emb.clip(c) for c in clips]
    result = train_classifier(feats, labels, feats[::6], labels[::6], LABELS,
                              HeadConfig(channels=32, layers=1),
                              TrainConfig(epochs=20, max_batch=16, max_batch_frames=16 * 16,
                                          seed=0, threads=1),
                              log=lambda line: None, balance=1.0)
    save_classifier(path, result, EmbeddingConfig(clip_s=1.0), settings)


@needs_model
def test_detect_uses_the_verifier_saved_beside_the_model(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    # a head whose first stage is loose (candidates above 0.3: words like the keyword pass it)
    settings = DetectorSettings(smooth_frames=3, refractory_s=1.0, threshold=0.3,
                                candidate_threshold=0.3, verify_threshold=0.9)
    model = tmp_path / "model.pt"
    _tiny_head(model, asdict(settings))
    rng = np.random.default_rng(2)
    audio = (0.003 * rng.standard_normal(40 * RATE)).astype(np.float32)
    said = [(4.0 + 4 * k, KEYWORD if k % 3 == 0 else CONFUSABLE[k % len(CONFUSABLE)],
             HEAD_VOICES[(3 * k + 1) % len(HEAD_VOICES)]) for k in range(9)]
    for at_s, word, voice in said:
        speech = _speech(word, voice, 165)
        audio[round(at_s * RATE):round(at_s * RATE) + len(speech)] += speech
    wav = tmp_path / "long.wav"
    sf.write(wav, audio, RATE, subtype="PCM_16")
    keyword_at = [at for at, word, _ in said if word == KEYWORD]

    def is_true(d: Detection) -> bool:
        return any(d.start_s < at + 0.7 and at < d.end_s for at in keyword_at)

    def true_false(found: list[Detection]) -> tuple[int, int]:
        true = sum(map(is_true, found))
        return true, len(found) - true

    with pytest.raises(InputError, match="verifier .* is missing"):  # no word classifier yet
        KeywordDetector(model)
    head = detect_keywords(model, [wav], verify=False)
    assert true_false(head) == (3, 6)  # the loose head alone takes the like words too
    _save(tmp_path / WORD_CLASSIFIER, _word_classifier(WordVectors(threads=1), confusable=True))
    assert KeywordDetector(model).verifier is not None
    cascade = detect_keywords(model, [wav], out_csv=tmp_path / "det.csv")
    assert true_false(cascade) == (3, 0)  # every keyword, and nothing else
    assert {(d.start_s, d.keyword) for d in cascade} <= {(d.start_s, d.keyword) for d in head}
    assert all(d.score > 0.9 for d in cascade)
    # the verified scores part the keywords from the like words by more than the head's
    every = KeywordDetector(model).detect(audio, "x", replace(settings, verify_threshold=0.0))
    assert len(every) == len(head)  # a second threshold of 0 passes every candidate

    def margin(found: list[Detection]) -> float:
        return (min(d.score for d in found if is_true(d))
                - max(d.score for d in found if not is_true(d)))

    assert margin(every) > margin(head) + 0.1
    # stage 2 fused with clip heads (settings.verify_models) instead of the detector head
    import torch

    clips = tmp_path / "clips"
    clips.mkdir()
    blob = torch.load(model, map_location="cpu", weights_only=True)
    blob["detector"]["verify_models"] = ("clip_model.pt",)
    torch.save(blob, clips / "model.pt")
    shutil.copy(tmp_path / WORD_CLASSIFIER, clips / WORD_CLASSIFIER)
    with pytest.raises(InputError, match=r"clip head .*clip_model.pt is missing"):
        KeywordDetector(clips / "model.pt")
    assert main(["detect", str(clips / "model.pt"), str(wav)]) == 2
    # the detector head as its own clip head: its rows over a candidate's three windows are
    # the smoothed row, so the cascade is the same
    shutil.copy(model, clips / "clip_model.pt")
    assert len(KeywordDetector(clips / "model.pt").clip_heads) == 1
    found = detect_keywords(clips / "model.pt", [wav])
    assert [(d.keyword, d.start_s) for d in found] == [(d.keyword, d.start_s) for d in cascade]
    np.testing.assert_allclose([d.score for d in found], [d.score for d in cascade], atol=1e-5)
    # a clip head that never says the keyword: stage 2 rejects every candidate
    blob["state_dict"]["out.bias"][LABELS.index(KEYWORD)] -= 30.0
    del blob["detector"]
    torch.save(blob, clips / "clip_model.pt")
    assert KeywordDetector(clips / "model.pt").detect(audio, "x") == []
    assert detect_keywords(clips / "model.pt", [wav], verify=False) == head  # stage 1 alone
    # the CLI: --no-verify is the head alone; --threshold replaces the second stage's
    assert main(["detect", str(model), str(wav), "--no-verify", "-o",
                 str(tmp_path / "head.csv")]) == 0
    assert len((tmp_path / "head.csv").read_text().splitlines()) == len(head) + 1
    assert main(["detect", str(model), str(wav), "--threshold", "0.999999", "-o",
                 str(tmp_path / "strict.csv")]) == 0
    assert len((tmp_path / "strict.csv").read_text().splitlines()) - 1 < len(cascade)
    capsys.readouterr()

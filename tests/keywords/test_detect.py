"""``synthaudio detect``: a keyword model run over a long recording finds the keywords
inserted at known times and nothing in the noise, silence and other words around them."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from synthaudio.cli import main
from synthaudio.errors import InputError
from synthaudio.train.detect import (
    DetectorSettings,
    detect_keywords,
    find_detections,
    per_keyword_thresholds,
    pooled_threshold,
    smooth_scores,
)

needs_model = pytest.mark.skipif(importlib.util.find_spec("openwakeword") is None,
                                 reason="the model files come with openwakeword (extra 'kws')")
needs_whisper = pytest.mark.skipif(importlib.util.find_spec("faster_whisper") is None,
                                   reason="Whisper's encoder needs the whisper extra")
FRONT_ENDS = [pytest.param("embedding", marks=needs_model),
              pytest.param("whisper", marks=needs_whisper)]
RATE = 16000
KEYWORD = "computer"
OTHER = ["table", "river", "morning", "window", "garden", "yellow", "music", "paper",
         "summer", "doctor", "hello", "number"]
VOICES = [(v, var) for v in ("en-us", "en-gb-x-rp", "en") for var in ("m1", "f1", "m3", "f3")]


def test_smoothing_and_detections_on_a_made_track() -> None:
    track = np.zeros((40, 3))  # labels: yes, no, _unknown_; 0.1 s hop, 1 s windows
    track[10:13, 0] = 0.9  # one "yes" over three windows
    track[30, 1] = 0.9  # a one-window spike of "no": smoothing over 3 halves it
    track[:, 2] = 1.0  # _unknown_ is never detected
    smoothed = smooth_scores(track, 3)
    assert smoothed[12, 0] == pytest.approx(0.9) and smoothed[30, 1] == pytest.approx(0.3)
    settings = DetectorSettings(smooth_frames=3, refractory_s=1.0, threshold=0.5)
    found = find_detections(smoothed, ["yes", "no", "_unknown_"], 0.1, 1.0, settings)
    assert found == [("yes", 1.2, 2.2, pytest.approx(0.9))]
    per_kw = DetectorSettings(3, 1.0, 0.5, {"no": 0.25})
    assert [d[0] for d in find_detections(smoothed, ["yes", "no", "_unknown_"], 0.1, 1.0,
                                          per_kw)] == ["yes", "no"]
    # a run above the threshold is one detection; runs within the refractory time of the
    # last detection are none
    held = np.zeros((40, 1))
    held[5:15, 0] = 0.8  # one run, its peak at 0.8 s
    held[8, 0] = 0.9
    held[17, 0] = 0.9  # a run 0.9 s after that peak: within the refractory time
    held[30, 0] = 0.9  # 2.2 s after it
    assert [d[1] for d in find_detections(held, ["yes"], 0.1, 1.0, settings)] == [0.8, 3.0]
    assert [d[1] for d in find_detections(held, ["yes"], 0.1, 1.0,
                                          DetectorSettings(refractory_s=3.0))] == [0.8]
    # "yes" said twice 1.5 s apart: the track dips between them but never below the
    # threshold; two detections (the peaks the DET curves count), and a run's slope is none
    twice = np.full((40, 1), 0.6)
    twice[5:12, 0] = [0.7, 0.8, 0.9, 0.95, 0.9, 0.8, 0.7]
    twice[20:27, 0] = [0.7, 0.8, 0.9, 0.97, 0.9, 0.8, 0.7]
    assert [d[1] for d in find_detections(twice, ["yes"], 0.1, 1.0, settings)] == [0.8, 2.3]
    assert [d[1] for d in find_detections(twice, ["yes"], 0.1, 1.0,
                                          DetectorSettings(refractory_s=2.0))] == [2.3]
    # per-keyword thresholds on dev streams: 2 h, 1 FA/h shared by 2 keywords = 1 peak each
    t = per_keyword_thresholds({"yes": [0.9, 0.8, 0.7], "no": []}, 2.0, 1.0)
    assert t == {"yes": 0.8, "no": 0.5}


def _speech(text: str, voice: tuple[str, str], rate_wpm: int) -> np.ndarray:
    from synthaudio.tts.espeak import EspeakEngine
    from synthaudio.tts.espeak_binding import EspeakVoice

    s = EspeakEngine().synthesize(text, EspeakVoice(voice[0], voice[1], rate_wpm, 50, 50,
                                                    100, 0))
    audio = soxr.resample(s.audio, s.sample_rate, RATE).astype(np.float32)
    loud = np.flatnonzero(np.abs(audio) > 0.02 * np.abs(audio).max())
    audio = audio[loud[0]:loud[-1] + 1]
    return 0.1 * audio / max(1e-6, float(np.sqrt(np.mean(audio ** 2))))


def _clip(word: np.ndarray | None, rng: np.random.Generator, noise: float) -> np.ndarray:
    clip = (noise * rng.standard_normal(RATE)).astype(np.float32)
    if word is not None:
        word = word[:RATE]
        start = int(rng.integers(0, RATE - len(word) + 1))
        clip[start:start + len(word)] += word
    return clip


def _train_tiny_model(path: Path, front_end: str = "embedding") -> None:
    """A head over ``front_end``'s frames (the speech embedding's, or Whisper's with the
    clips joined as the recipe joins them) trained on espeak-ng's "computer", other words
    and silence."""
    from synthaudio.train.classifier import save_classifier, train_classifier
    from synthaudio.train.embedding import EmbeddingConfig, SpeechEmbedding
    from synthaudio.train.model import HeadConfig
    from synthaudio.train.trainer import TrainConfig
    from synthaudio.train.whisper_frames import WhisperConfig, WhisperFrames

    rng = np.random.default_rng(0)
    clips, labels = [], []
    for k, voice in enumerate(VOICES):
        for rate in (140, 190):
            clips.append(_clip(_speech(KEYWORD, voice, rate), rng, 0.003))
            labels.append(KEYWORD)
        for word in (OTHER[k % len(OTHER)], OTHER[(k + 5) % len(OTHER)]):
            clips.append(_clip(_speech(word, voice, 170), rng, 0.003))
            labels.append("_unknown_")
        clips.append(_clip(None, rng, float(rng.choice([0.0, 0.001, 0.003, 0.01]))))
        labels.append("_silence_")
    cfg: EmbeddingConfig | WhisperConfig
    if front_end == "whisper":
        cfg = WhisperConfig(clip_s=1.0)
        enc = WhisperFrames(cfg)
        feats = [f for k in range(0, len(clips), 16) for f in enc.joined(clips[k:k + 16])]
    else:
        cfg = EmbeddingConfig(clip_s=1.0)
        emb = SpeechEmbedding(cfg)
        feats = [emb.clip(c) for c in clips]
    dev = list(range(0, len(feats), 6))
    result = train_classifier(feats, labels, [feats[k] for k in dev], [labels[k] for k in dev],
                              [KEYWORD, "_silence_", "_unknown_"],
                              HeadConfig(dim=feats[0].shape[1], channels=32, layers=1),
                              TrainConfig(epochs=20, max_batch=16, max_batch_frames=16 * 16,
                                          seed=0, threads=1),
                              log=lambda line: None, balance=1.0)
    save_classifier(path, result, cfg,
                    {"smooth_frames": 3, "refractory_s": 1.0, "threshold": 0.5,
                     "thresholds": {KEYWORD: 0.7}})


@pytest.mark.parametrize("front_end", FRONT_ENDS)
def test_detect_finds_the_inserted_keywords_in_ten_minutes(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str],
                                                           front_end: str) -> None:
    model = tmp_path / "model.pt"
    _train_tiny_model(model, front_end)
    rng = np.random.default_rng(1)
    audio = np.zeros(600 * RATE, np.float32)
    audio[: 300 * RATE] = (0.002 * rng.standard_normal(300 * RATE)).astype(np.float32)  # noise
    # then 5 minutes of digital silence; keywords every 60 s, other words between them
    said = [(30.0 + 60 * k, KEYWORD, VOICES[(3 * k + 1) % len(VOICES)], 165) for k in range(10)]
    said += [(55.0 + 60 * k, OTHER[k], VOICES[k % len(VOICES)], 170) for k in range(10)]
    keyword_spans = []
    for at_s, word, voice, wpm in said:
        speech = _speech(word, voice, wpm)
        start = round(at_s * RATE)
        audio[start:start + len(speech)] += speech
        if word == KEYWORD:
            keyword_spans.append((at_s, at_s + len(speech) / RATE))
    wav = tmp_path / "long.wav"  # 22.05 kHz: detect resamples
    sf.write(wav, soxr.resample(audio, RATE, 22050), 22050, subtype="PCM_16")
    found = detect_keywords(model, [wav], out_csv=tmp_path / "det.csv")
    assert {d.keyword for d in found} <= {KEYWORD}
    hits = [[d for d in found if d.start_s < b and a < d.end_s] for a, b in keyword_spans]
    assert [len(h) for h in hits] == [1] * 10  # each keyword once, where it was said
    assert len(found) == 10  # nothing in the noise, the silence or the other words
    rows = list(csv.DictReader((tmp_path / "det.csv").open()))
    assert [r["start_s"] for r in rows] == [f"{d.start_s:.3f}" for d in found]
    assert set(rows[0]) == {"file", "keyword", "start_s", "end_s", "score"}
    # the CLI over the same file, one threshold for all
    assert main(["detect", str(model), str(wav), "--threshold", "0.99999",
                 "-o", str(tmp_path / "cli.csv")]) == 0
    cli_rows = list(csv.DictReader((tmp_path / "cli.csv").open()))
    assert len(cli_rows) < len(rows)  # a stricter threshold keeps fewer
    # bad input: one line, exit 2
    capsys.readouterr()
    assert main(["detect", str(tmp_path / "none.pt"), str(wav)]) == 2
    assert capsys.readouterr().err.strip() == (f"synthaudio: error: {tmp_path / 'none.pt'}: "
                                               "no such keyword model")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio")
    assert main(["detect", str(model), str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"synthaudio: error: {bad}: cannot read audio") and "\n" not in err
    assert main(["detect", str(wav), str(wav)]) == 2  # audio given as the model
    assert "not a keyword model" in capsys.readouterr().err
    with pytest.raises(InputError, match="--threshold must be within"):
        detect_keywords(model, [wav], threshold=2.0)


def test_pooled_threshold_exact_and_extrapolated() -> None:
    # 2 h of dev streams, 1 FA/h: two false peaks may pass, the third highest is the threshold
    assert pooled_threshold([0.99, 0.95, 0.9, 0.6], 2.0, 1.0) == 0.9
    assert pooled_threshold([0.3, 0.2], 2.0, 1.0) == 0.5  # the floor
    # 0.25 h: 1 FA/h is not seen; false peaks whose rate falls 2x per unit of logit
    logits = np.array([2.0, 1.0, 0.0, -1.0])
    scores = 1 / (1 + np.exp(-logits))  # rates 4, 8, 12, 16 an hour at 0.25 h
    t = pooled_threshold(scores.tolist(), 0.25, 1.0, floor=0.0)
    assert t > scores[0]  # beyond the highest dev peak: fewer than 4 an hour
    x = np.log(t / (1 - t))
    slope, intercept = np.polyfit(logits, np.log(np.arange(1, 5) / 0.25), 1)
    assert intercept + slope * x == pytest.approx(0.0, abs=1e-4)  # log(1 FA/h)
    with pytest.raises(ValueError, match="longer than 0 h"):
        pooled_threshold([0.9], 0.0, 1.0)

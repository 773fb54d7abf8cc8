"""The speech-embedding front end (openWakeWord's ONNX files of Google's speech_embedding)
and the classifier head over it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from synthaudio.errors import InputError
from synthaudio.train.embedding import (
    DIM,
    FRAME_S,
    MEL_HOP,
    SAMPLE_RATE,
    TOP_LAYERS,
    EmbeddingConfig,
    SpeechEmbedding,
    clip_frames,
    embedding_features,
    feature_dim,
    model_files,
)

needs_model = pytest.mark.skipif(importlib.util.find_spec("openwakeword") is None,
                                 reason="the model files come with openwakeword (extra 'kws')")
REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real_speech" / "wav"


def test_missing_model_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"package 'no_such_pkg' is not installed; "
                                         r"pip install 'synthaudio\[kws\]'"):
        model_files("pkg:no_such_pkg")
    (tmp_path / "melspectrogram.onnx").write_bytes(b"")
    with pytest.raises(InputError, match=r"missing .*embedding_model\.onnx"):
        model_files(str(tmp_path))
    with pytest.raises(ValueError, match="16000 Hz"):
        EmbeddingConfig(sample_rate=8000)


@needs_model
def test_clip_frames_every_80_ms_and_deterministic() -> None:
    model = SpeechEmbedding()
    rng = np.random.default_rng(0)
    clip = (0.1 * rng.standard_normal(SAMPLE_RATE)).astype(np.float32)
    feats = model.clip(clip)
    assert feats.shape == (clip_frames(1.0, 0.5), DIM) == (16, DIM)
    assert feats.dtype == np.float32 and np.isfinite(feats).all()
    np.testing.assert_array_equal(feats, SpeechEmbedding().clip(clip))  # a fresh session
    assert model.frames(clip[:MEL_HOP * 75]).shape == (0, DIM)  # under one 775 ms window
    # 1.5 s clips (the wake phrase): 22 frames
    assert model.clip(np.zeros(round(1.5 * SAMPLE_RATE), np.float32)).shape[0] == 22
    # a louder copy is not the same input (no normalization inside the model)
    assert not np.allclose(model.clip(clip), model.clip(2 * clip))
    # short clips are padded at the end up to clip_s, when it is set
    padded = SpeechEmbedding(EmbeddingConfig(clip_s=1.0))
    np.testing.assert_array_equal(padded.clip(clip[:12000]),
                                  model.clip(np.concatenate([clip[:12000], np.zeros(4000)])))
    assert model.clip(clip[:12000]).shape[0] < 16


@needs_model
def test_stream_window_k_is_the_clip_starting_at_k_times_80_ms() -> None:
    """In silence, window k of a stream equals the features of the clip at k * 80 ms: the
    windows are where the docstring says, and clips and streams share one front end."""
    model = SpeechEmbedding()
    rng = np.random.default_rng(1)
    clip = (0.2 * rng.standard_normal(SAMPLE_RATE)).astype(np.float32)
    k = 20
    start = round(k * FRAME_S * SAMPLE_RATE)
    stream = np.zeros(6 * SAMPLE_RATE, np.float32)
    stream[start:start + SAMPLE_RATE] = clip
    windows = model.stream_windows(stream, 1.0)
    assert len(windows) == int((6 - 1) / FRAME_S) + 1
    assert all(w.shape == (16, DIM) for w in windows)
    np.testing.assert_allclose(windows[k], model.clip(clip), atol=1e-4)
    assert not np.allclose(windows[k - 3], model.clip(clip), atol=1e-2)


@needs_model
def test_features_of_files_resample_and_match_in_workers(tmp_path: Path) -> None:
    audio, rate = sf.read(REAL / "cards-004.wav", dtype="float32")  # "five five", 16 kHz
    paths = []
    audio = np.concatenate([audio, audio])
    for k in range(70):  # >= 64 files: the worker pool is used
        piece = audio[k * 800:k * 800 + SAMPLE_RATE]
        paths.append(tmp_path / f"{k}.wav")
        sf.write(paths[-1], piece, rate)
    sf.write(tmp_path / "8k.wav", audio[:SAMPLE_RATE][::2], 8000)
    one = embedding_features(paths, jobs=1)
    two = embedding_features(paths, jobs=2)
    assert len(one) == 70 and all(np.array_equal(a, b) for a, b in zip(one, two, strict=True))
    at_8k = embedding_features([tmp_path / "8k.wav"])[0]
    assert at_8k.shape == (16, DIM)
    # the same sound at 8 kHz is nearer its 16 kHz features than another second is
    near = np.linalg.norm(at_8k - one[0])
    far = np.linalg.norm(at_8k - one[40])
    assert near < far


@needs_model
def test_fine_tuned_top_starts_as_the_onnx_network() -> None:
    """With tune_layers k, the frames are the activations the network's top k convolutions
    read, and the torch top maps them to the embedding the ONNX network gives, on real
    speech; every k, every frame."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from synthaudio.train.model import EmbeddingTop

    audio, rate = sf.read(REAL / "cards-004.wav", dtype="float32")
    assert rate == SAMPLE_RATE
    frozen = SpeechEmbedding().clip(audio)
    assert frozen.shape[0] > 16 and np.abs(frozen).max() > 10
    dims = []
    for k in range(1, TOP_LAYERS + 1):
        cfg = EmbeddingConfig(tune_layers=k)
        lower = SpeechEmbedding(cfg).clip(audio)
        dims.append(lower.shape[1])
        assert lower.shape == (frozen.shape[0], feature_dim(cfg))
        top = EmbeddingTop(k, cfg.model).eval()
        with torch.no_grad():
            mapped = top(torch.from_numpy(lower)[None])[0].numpy()
        np.testing.assert_allclose(mapped, frozen, atol=1e-4, rtol=1e-5)
    assert dims == [288, 1536, 1536, 1920, 1920]
    assert feature_dim(EmbeddingConfig()) == DIM
    with pytest.raises(ValueError, match=r"tune_layers must be within \[0, 5\]"):
        EmbeddingConfig(tune_layers=TOP_LAYERS + 1)


@needs_model
def test_tune_layers_without_onnx_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx raises ImportError
    with pytest.raises(InputError, match="tune_layers needs the onnx package"):
        SpeechEmbedding(EmbeddingConfig(tune_layers=2))


@needs_model
def test_head_fine_tunes_the_top_slower_and_round_trips(tmp_path: Path) -> None:
    """The top trains (its weights move from the ONNX file's), at a tenth of the head's
    learning rate and without weight decay; the saved model carries it."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from synthaudio.train.classifier import (
        load_classifier,
        posteriors,
        save_classifier,
        train_classifier,
    )
    from synthaudio.train.model import TOP_LR_SCALE, EmbeddingClassifier, HeadConfig
    from synthaudio.train.trainer import TrainConfig

    rng = np.random.default_rng(5)
    labels = ["_unknown_", "yes"]
    dim = feature_dim(EmbeddingConfig(tune_layers=1))
    centres = rng.standard_normal((2, dim)).astype(np.float32)
    ys = rng.integers(0, 2, 120)
    feats = [(centres[y] + rng.standard_normal((4, dim))).astype(np.float32) for y in ys]
    head = HeadConfig(channels=16, tune_layers=1)
    model = EmbeddingClassifier(head, 2)
    assert model.top is not None
    groups = model.param_groups(1e-3)
    assert groups is not None and groups[1]["lr"] == pytest.approx(1e-3 * TOP_LR_SCALE)
    assert groups[1]["weight_decay"] == 0.0 and "weight_decay" not in groups[0]
    assert {id(q) for g in groups for q in g["params"]} == {id(q) for q in model.parameters()}
    assert EmbeddingClassifier(HeadConfig(), 2).param_groups(1e-3) is None  # frozen: one group
    start = model.top.convs[0].weight.detach().clone()
    cfg = TrainConfig(epochs=3, max_batch=32, max_batch_frames=32 * 4, spec_augment=None,
                      threads=1)
    result = train_classifier(feats[:90], [labels[y] for y in ys[:90]], feats[90:],
                              [labels[y] for y in ys[90:]], labels, head, cfg,
                              log=lambda line: None)
    assert result.model.top is not None
    moved = (result.model.top.convs[0].weight.detach() - start).abs().max().item()
    assert 0 < moved < 0.1 * start.abs().max().item()
    save_classifier(tmp_path / "m.pt", result, EmbeddingConfig(tune_layers=1))
    loaded, _, feats_cfg = load_classifier(tmp_path / "m.pt")
    assert feats_cfg == EmbeddingConfig(tune_layers=1)
    np.testing.assert_array_equal(posteriors(loaded, feats[90:]),
                                  posteriors(result.model, feats[90:]))
    assert torch.equal(loaded.top.convs[0].weight, result.model.top.convs[0].weight)


def test_head_ignores_batch_padding_and_class_weights() -> None:
    torch = pytest.importorskip("torch")
    from synthaudio.train.classifier import class_weights
    from synthaudio.train.model import EmbeddingClassifier, HeadConfig

    torch.manual_seed(0)
    model = EmbeddingClassifier(HeadConfig(dim=8, channels=6), 3).eval()
    x = torch.randn(1, 10, 8)
    alone = model(x, torch.tensor([10]))
    padded = torch.cat([x, torch.randn(1, 6, 8)], dim=1)  # garbage after the clip's end
    np.testing.assert_allclose(model(padded, torch.tensor([10])).detach().numpy(),
                               alone.detach().numpy(), atol=1e-6)
    weights = class_weights(np.array([0] * 8 + [1] * 2 + [2] * 2), 4, 1.0)
    np.testing.assert_allclose(weights, [0.5, 2.0, 2.0, 1.0])
    np.testing.assert_allclose(class_weights(np.array([0, 0, 1]), 2, 0.0), [1.0, 1.0])


def test_head_trains_deterministically_and_round_trips(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from synthaudio.train.classifier import (
        load_classifier,
        posteriors,
        save_classifier,
        train_classifier,
    )
    from synthaudio.train.model import EmbeddingClassifier, HeadConfig
    from synthaudio.train.trainer import TrainConfig

    rng = np.random.default_rng(3)
    labels = ["_unknown_", "no", "yes"]
    centres = rng.standard_normal((3, 12)).astype(np.float32)

    def clips(n: int) -> tuple[list[np.ndarray], list[str]]:
        ys = rng.integers(0, 3, n)
        feats = [(centres[y] + 0.8 * rng.standard_normal((16, 12))).astype(np.float32)
                 for y in ys]
        return feats, [labels[y] for y in ys]

    train, train_y = clips(240)
    dev, dev_y = clips(60)
    cfg = TrainConfig(epochs=6, max_batch=32, max_batch_frames=32 * 16, spec_augment=None,
                      threads=1)
    runs = [train_classifier(train, train_y, dev, dev_y, labels, HeadConfig(dim=12, channels=16),
                             cfg, log=lambda line: None, balance=0.5) for _ in range(2)]
    first = runs[0]
    assert isinstance(first.model, EmbeddingClassifier)
    assert first.best.dev_wer < 0.1 and first.best.dev_loss < first.initial_dev_loss
    p0, p1 = (posteriors(r.model, dev) for r in runs)
    np.testing.assert_array_equal(p0, p1)
    save_classifier(tmp_path / "m.pt", first, EmbeddingConfig())
    model, got_labels, feats_cfg = load_classifier(tmp_path / "m.pt")
    assert isinstance(model, EmbeddingClassifier) and got_labels == tuple(labels)
    assert feats_cfg == EmbeddingConfig()
    np.testing.assert_array_equal(posteriors(model, dev), p0)


def test_embedding_ctc_ignores_batch_padding() -> None:
    torch = pytest.importorskip("torch")
    from synthaudio.train.model import EmbeddingCTCConfig, EmbeddingCTCModel

    torch.manual_seed(0)
    model = EmbeddingCTCModel(EmbeddingCTCConfig(dim=8, channels=6, hidden=5), 4).eval()
    x = torch.randn(1, 10, 8)
    alone, olens = model(x, torch.tensor([10]))
    assert alone.shape == (1, 10, 4) and olens.tolist() == [10]  # one output per frame
    padded = torch.cat([x, torch.randn(1, 6, 8)], dim=1)  # garbage after the utterance
    out, _ = model(padded, torch.tensor([10]))
    np.testing.assert_allclose(out[:, :10].detach().numpy(), alone.detach().numpy(), atol=1e-5)


def test_embedding_ctc_learns_word_strings_and_round_trips(tmp_path: Path) -> None:
    """Strings of 1 to 3 words, each word 3 frames of its own centre plus noise: trained
    CTC decodes the dev strings; the saved model decodes the same and names its features."""
    pytest.importorskip("torch")
    from synthaudio.train.model import EmbeddingCTCConfig, EmbeddingCTCModel
    from synthaudio.train.tokens import Vocabulary
    from synthaudio.train.trainer import TrainConfig, decode, load_model, save_model, train_ctc

    rng = np.random.default_rng(5)
    words = ["one", "two", "three"]
    centres = 2 * rng.standard_normal((len(words) + 1, 12)).astype(np.float32)  # +silence

    def strings(n: int) -> tuple[list[np.ndarray], list[str]]:
        feats, texts = [], []
        for _ in range(n):
            ks = rng.integers(0, len(words), int(rng.integers(1, 4)))
            frames = [centres[-1]] * 2
            for k in ks:
                frames += [centres[k]] * 3 + [centres[-1]]
            feats.append((np.stack(frames) + 0.3 * rng.standard_normal((len(frames), 12))
                          ).astype(np.float32))
            texts.append(" ".join(words[k] for k in ks))
        return feats, texts

    train, train_y = strings(300)
    dev, dev_y = strings(40)
    vocab = Vocabulary.build(train_y, "word")
    cfg = TrainConfig(epochs=8, max_batch=16, spec_augment=None, threads=1, lr=5e-3)
    result = train_ctc(train, train_y, dev, dev_y, vocab,
                       EmbeddingCTCConfig(dim=12, channels=16, hidden=16, gru_layers=1), cfg,
                       log=lambda line: None)
    assert isinstance(result.model, EmbeddingCTCModel)
    assert result.best.dev_wer < 0.1 and result.best.dev_loss < result.initial_dev_loss / 4
    hyps = decode(result.model, dev, vocab)
    save_model(tmp_path / "m.pt", result, EmbeddingConfig(pad_s=0.25))
    model, vocab2, feats_cfg = load_model(tmp_path / "m.pt")
    assert isinstance(model, EmbeddingCTCModel) and feats_cfg == EmbeddingConfig(pad_s=0.25)
    assert decode(model, dev, vocab2) == hyps


def test_one_vs_rest_head_scores_each_class_on_its_own(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from synthaudio.train.classifier import (
        _one_vs_rest_loss,
        load_classifier,
        posteriors,
        save_classifier,
        train_classifier,
    )
    from synthaudio.train.model import HeadConfig
    from synthaudio.train.trainer import TrainConfig

    with pytest.raises(ValueError, match="output must be one of"):
        HeadConfig(output="relu")
    # the loss: binary cross-entropies against the one-hot labels, summed over the classes,
    # averaged with the class weights as CrossEntropyLoss(weight=...) averages
    logits = torch.tensor([[2.0, -1.0, 0.5], [-0.3, 0.2, 1.5]])
    y = torch.tensor([0, 2])
    w = torch.tensor([0.5, 1.0, 2.0])

    def bce(z: float, t: int) -> float:
        p = 1.0 / (1.0 + np.exp(-z))
        return float(-np.log(p if t else 1.0 - p))

    per = [sum(bce(float(z), int(k == yy)) for k, z in enumerate(row))
           for row, yy in zip(logits, y.tolist(), strict=True)]
    want = (0.5 * per[0] + 2.0 * per[1]) / 2.5
    assert float(_one_vs_rest_loss(w)(logits, y)) == pytest.approx(want, rel=1e-6)

    rng = np.random.default_rng(5)
    labels = ["_unknown_", "no", "yes"]
    centres = rng.standard_normal((3, 12)).astype(np.float32)

    def clips(n: int) -> tuple[list[np.ndarray], list[str]]:
        ys = rng.integers(0, 3, n)
        return ([(centres[y] + 0.8 * rng.standard_normal((16, 12))).astype(np.float32)
                 for y in ys], [labels[y] for y in ys])

    train, train_y = clips(240)
    dev, dev_y = clips(60)
    cfg = TrainConfig(epochs=6, max_batch=32, max_batch_frames=32 * 16, spec_augment=None,
                      threads=1)
    head = HeadConfig(dim=12, channels=16, output="sigmoid")
    result = train_classifier(train, train_y, dev, dev_y, labels, head, cfg,
                              log=lambda line: None, balance=0.5)
    assert result.best.dev_wer < 0.1 and result.best.dev_loss < result.initial_dev_loss
    probs = posteriors(result.model, dev)
    with torch.no_grad():
        x = torch.from_numpy(np.stack(dev))
        logits = result.model.eval()(x, torch.full((len(dev),), 16))
    np.testing.assert_allclose(probs, torch.sigmoid(logits).numpy(), rtol=1e-6)
    assert not np.allclose(probs.sum(axis=1), 1.0)  # each class its own, not a softmax
    save_classifier(tmp_path / "m.pt", result, EmbeddingConfig())
    model, _, _ = load_classifier(tmp_path / "m.pt")
    assert model.cfg.output == "sigmoid"
    np.testing.assert_array_equal(posteriors(model, dev), probs)
    # a model saved before the setting existed is a softmax head
    blob = torch.load(tmp_path / "m.pt", weights_only=True)
    del blob["model_config"]["output"]
    torch.save(blob, tmp_path / "old.pt")
    old, _, _ = load_classifier(tmp_path / "old.pt")
    assert old.cfg.output == "softmax"
    np.testing.assert_allclose(posteriors(old, dev).sum(axis=1), 1.0, rtol=1e-5)


def test_flat_head_hears_where_the_word_is_where_max_pooling_cannot(tmp_path: Path) -> None:
    """The same pattern in the window's middle ("yes") or near its start ("_unknown_"): a
    max-pooled head scores both alike by construction, a flat head reads the position."""
    torch = pytest.importorskip("torch")
    from synthaudio.train.classifier import (
        load_classifier,
        posteriors,
        save_classifier,
        train_classifier,
    )
    from synthaudio.train.frontends import window_frames
    from synthaudio.train.model import HeadConfig
    from synthaudio.train.trainer import TrainConfig
    from synthaudio.train.whisper_frames import WhisperConfig

    with pytest.raises(ValueError, match="pool must be one of"):
        HeadConfig(pool="mean")
    with pytest.raises(ValueError, match="a flat head needs the frames of its window"):
        HeadConfig(pool="flat")
    # a window's frames: the 1 s clip and 0.5 s on each side (embedding: 16; Whisper: 25)
    assert window_frames(EmbeddingConfig(), 1.0) == clip_frames(1.0, 0.5) == 16
    assert window_frames(WhisperConfig(), 1.0) == 25

    rng = np.random.default_rng(7)
    labels = ["_unknown_", "yes"]
    word = rng.standard_normal((2, 12)).astype(np.float32) * 3

    def clips(n: int) -> tuple[list[np.ndarray], list[str]]:
        ys = rng.integers(0, 2, n)
        out = []
        for y in ys:
            x = 0.3 * rng.standard_normal((16, 12)).astype(np.float32)
            at = 7 if y else 3  # the middle, or 4 frames earlier (beyond no edge)
            x[at:at + 2] += word
            out.append(x)
        return out, [labels[y] for y in ys]

    train, train_y = clips(400)
    dev, dev_y = clips(100)
    cfg = TrainConfig(epochs=8, max_batch=32, max_batch_frames=32 * 16, spec_augment=None,
                      threads=1)
    errors = {}
    for pool in ("max", "flat"):
        head = HeadConfig(dim=12, channels=16, pool=pool, frames=16 if pool == "flat" else 0)
        result = train_classifier(train, train_y, dev, dev_y, labels, head, cfg,
                                  log=lambda line: None)
        guess = posteriors(result.model, dev).argmax(axis=1)
        errors[pool] = float(np.mean(guess != np.array([labels.index(y) for y in dev_y])))
        if pool == "flat":
            flat = result
    assert errors["flat"] < 0.05 and errors["max"] > 0.3, errors
    save_classifier(tmp_path / "flat.pt", flat, EmbeddingConfig())
    model, _, _ = load_classifier(tmp_path / "flat.pt")
    assert (model.cfg.pool, model.cfg.frames) == ("flat", 16)
    probs = posteriors(model, dev)
    np.testing.assert_array_equal(probs, posteriors(flat.model, dev))
    # more frames than its window: the middle 16 are read (what is beyond their convolutions'
    # reach, two frames, does not count); fewer: followed by zeros
    wide = [rng.standard_normal((28, 12)).astype(np.float32) for _ in range(4)]
    other = [np.concatenate([rng.standard_normal((3, 12)).astype(np.float32), x[3:-3],
                             rng.standard_normal((3, 12)).astype(np.float32)]) for x in wide]
    np.testing.assert_array_equal(posteriors(model, wide), posteriors(model, other))
    assert not np.allclose(posteriors(model, wide), posteriors(model, [x[::-1] for x in wide]))
    short = [x[:12] for x in dev[:4]]
    padded = [np.concatenate([x, np.zeros((4, 12), np.float32)]) for x in short]
    with torch.no_grad():
        a = model(torch.from_numpy(np.stack(short)), torch.full((4,), 12))
        b = model(torch.from_numpy(np.stack(padded)), torch.full((4,), 12))
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    # a model saved before the setting existed is max-pooled
    blob = torch.load(tmp_path / "flat.pt", weights_only=True)
    blob["model_config"] = {k: v for k, v in blob["model_config"].items()
                            if k not in ("pool", "frames")}
    blob["state_dict"] = {k: v for k, v in blob["state_dict"].items() if not k.startswith("flat.")}
    torch.save(blob, tmp_path / "old.pt")
    assert load_classifier(tmp_path / "old.pt")[0].cfg.pool == "max"

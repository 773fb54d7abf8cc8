"""synthaudio.train: features, symbols, batching, the CTC model and its training loop;
and the digits recipe's derived corpus configs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import librosa
import numpy as np
import pytest
import soundfile as sf

from synthaudio.pipelines.generate.config import parse_corpus_config
from synthaudio.pipelines.generate.plan import plan_corpus
from synthaudio.train.data import SpecAugmentConfig, length_batches, spec_augment
from synthaudio.train.features import FeatureConfig, load_mono, log_mel
from synthaudio.train.tokens import Vocabulary, greedy_collapse, split_units

REPO = Path(__file__).resolve().parents[2]
HAS_TORCH = importlib.util.find_spec("torch") is not None
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="needs torch (extra 'train')")


# ---- features -----------------------------------------------------------------------------


def test_log_mel_matches_librosa() -> None:
    audio = np.random.default_rng(0).standard_normal(16000).astype(np.float32)
    cfg = FeatureConfig()
    ref = librosa.feature.melspectrogram(
        y=audio, sr=16000, n_fft=cfg.n_fft, win_length=cfg.win_length,
        hop_length=cfg.hop_length, n_mels=cfg.n_mels, fmin=cfg.fmin_hz, fmax=cfg.fmax_hz,
        center=True, pad_mode="constant", window="hann")
    ref = np.log(ref.T + 1e-6)
    ref = (ref - ref.mean(0)) / (ref.std(0) + 1e-5)
    feats = log_mel(audio, cfg)
    assert feats.shape == (101, 64) and feats.dtype == np.float32
    np.testing.assert_allclose(feats, ref, atol=1e-3)


def test_log_mel_removes_gain_and_rejects_stereo() -> None:
    audio = np.random.default_rng(1).standard_normal(8000).astype(np.float32)
    np.testing.assert_allclose(log_mel(audio), log_mel(0.1 * audio), atol=5e-3)
    with pytest.raises(ValueError, match="mono"):
        log_mel(np.zeros((2, 100), dtype=np.float32))


def test_load_mono_resamples_and_keeps_first_channel(tmp_path: Path) -> None:
    t = np.arange(8000) / 8000
    stereo = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), np.zeros_like(t)], axis=1)
    sf.write(tmp_path / "a.wav", stereo, 8000)
    audio = load_mono(tmp_path / "a.wav", 16000)
    assert audio.shape == (16000,) and audio.dtype == np.float32
    peak_hz = np.argmax(np.abs(np.fft.rfft(audio))) * 16000 / len(audio)
    assert abs(peak_hz - 440) <= 1


# ---- symbols ------------------------------------------------------------------------------


@pytest.mark.parametrize(("best", "labels"), [
    ([], []),
    ([0, 0, 0], []),
    ([1, 1, 1], [1]),
    ([1, 0, 1], [1, 1]),
    ([0, 2, 2, 0, 3, 3, 3, 2], [2, 3, 2]),
])
def test_greedy_collapse(best: list[int], labels: list[int]) -> None:
    assert greedy_collapse(best) == labels


def test_vocabulary_words_and_chars() -> None:
    texts = ["one two", "two  three"]
    words = Vocabulary.build(texts, "word")
    assert words.symbols == ("<blank>", "one", "three", "two")
    assert words.decode(words.encode("three one")) == "three one"
    chars = Vocabulary.build(texts, "char")
    assert chars.symbols[:2] == ("<blank>", " ")
    assert chars.decode(chars.encode("two one")) == "two one"
    assert split_units(" a  b ", "char") == ["a", " ", "b"]
    assert words.covers("one two") and not words.covers("one four")
    with pytest.raises(ValueError, match="four"):
        words.encode("four")
    assert Vocabulary.from_dict(chars.to_dict()) == chars


# ---- batching and masking -----------------------------------------------------------------


def test_length_batches_cover_once_within_budget() -> None:
    lengths = np.random.default_rng(2).integers(10, 300, size=200).tolist()
    for rng in (None, np.random.default_rng(3)):
        batches = length_batches(lengths, max_frames=2000, max_batch=16, rng=rng)
        assert sorted(i for b in batches for i in b) == list(range(200))
        for b in batches:
            assert len(b) <= 16
            assert len(b) == 1 or len(b) * max(lengths[i] for i in b) <= 2000
    again = length_batches(lengths, 2000, 16, np.random.default_rng(3))
    assert again == length_batches(lengths, 2000, 16, np.random.default_rng(3))


def test_spec_augment_masks_a_copy() -> None:
    feats = np.ones((100, 64), dtype=np.float32)
    out = spec_augment(feats, SpecAugmentConfig(max_freq_width=10, max_time_frac=0.1),
                       np.random.default_rng(4))
    assert out.shape == feats.shape and feats.min() == 1.0
    assert 0 < np.count_nonzero(out == 0) < out.size // 2


# ---- model and training (torch) -----------------------------------------------------------


@needs_torch
@pytest.mark.parametrize("stride", [2, 4])
def test_model_lengths_and_padding_invariance(stride: int) -> None:
    import torch

    from synthaudio.train.model import CTCModel, ModelConfig, out_lengths

    torch.manual_seed(0)
    model = CTCModel(ModelConfig(n_mels=16, conv_channels=4, hidden=8, time_stride=stride), 5)
    model.eval()
    feats = torch.randn(2, 37, 16)
    feats[1, 21:] = 0.0
    lengths = torch.tensor([37, 21])
    logp, olens = model(feats, lengths)
    assert olens.tolist() == out_lengths(lengths, stride).tolist()
    assert logp.shape == (2, olens[0], 5)
    assert torch.allclose(logp.exp().sum(-1), torch.ones(2, logp.shape[1]), atol=1e-5)
    alone, alone_len = model(feats[1:, :21], lengths[1:])
    n = int(alone_len[0])
    assert torch.allclose(alone[0, :n], logp[1, :n], atol=1e-5)


def _toy_data(n: int, seed: int) -> tuple[list[np.ndarray], list[str]]:
    """Utterances of 1-3 "words"; each word is a 12-frame block lighting its own bands."""
    rng = np.random.default_rng(seed)
    words = ["one", "two", "three"]
    feats, texts = [], []
    for _ in range(n):
        said = [int(w) for w in rng.integers(0, 3, size=int(rng.integers(1, 4)))]
        blocks = [0.2 * rng.standard_normal((4, 16))]
        for w in said:
            block = 0.2 * rng.standard_normal((12, 16))
            block[:, 5 * w:5 * w + 5] += 2.0
            blocks += [block, 0.2 * rng.standard_normal((4, 16))]
        feats.append(np.concatenate(blocks).astype(np.float32))
        texts.append(" ".join(words[w] for w in said))
    return feats, texts


@needs_torch
def test_training_lowers_loss_deterministically_and_round_trips(tmp_path: Path) -> None:
    from synthaudio.train.model import ModelConfig
    from synthaudio.train.trainer import TrainConfig, decode, load_model, save_model, train_ctc

    train_x, train_y = _toy_data(48, 5)
    dev_x, dev_y = _toy_data(12, 6)
    vocab = Vocabulary.build(train_y, "word")
    model_cfg = ModelConfig(n_mels=16, conv_channels=4, hidden=24, time_stride=4, dropout=0.0)
    cfg = TrainConfig(epochs=12, max_batch=8, lr=1e-2, spec_augment=None, seed=1, threads=1)
    lines: list[str] = []
    first = train_ctc(train_x, train_y, dev_x, dev_y, vocab, model_cfg, cfg, log=lines.append)
    assert len(lines) == 13 and len(first.history) == 12
    assert first.best.dev_loss < 0.5 * first.initial_dev_loss
    assert first.history[-1].train_loss < first.history[0].train_loss
    second = train_ctc(train_x, train_y, dev_x, dev_y, vocab, model_cfg, cfg, log=lambda _: None)
    assert [h.dev_loss for h in second.history] == [h.dev_loss for h in first.history]

    save_model(tmp_path / "m.pt", first, FeatureConfig(n_mels=16, fmax_hz=7000.0))
    model, vocab2, feats_cfg = load_model(tmp_path / "m.pt")
    assert vocab2 == vocab and feats_cfg.n_mels == 16
    assert decode(model, dev_x, vocab2) == decode(first.model, dev_x, vocab)


# ---- the digits recipe's configs ----------------------------------------------------------


def _run_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("digits_run", REPO / "recipes/digits/run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_ablation_configs_share_speakers_and_splits() -> None:
    import yaml

    run = _run_module()
    config_dir = REPO / "corpora" / "digits"
    base = yaml.safe_load((config_dir / "corpus.yaml").read_text())
    cfgs = {c: run.derive_config(base, c, config_dir, 12, 2, quick=False)
            for c in ("clean-1voice", "voices", "full")}
    parsed = {c: parse_corpus_config(yaml.safe_dump(d)) for c, d in cfgs.items()}
    assert parsed["full"].augment is not None
    assert parsed["voices"].augment is None and parsed["clean-1voice"].augment is None
    assert parsed["voices"].speakers == parsed["full"].speakers
    one = parsed["clean-1voice"].speakers
    assert len(one.voices) == 1 and len(one.variants) == 1
    assert one.rate_wpm[0] == one.rate_wpm[1] and one.jitter.rate_wpm == 0
    plans = {c: plan_corpus(p, config_dir) for c, p in parsed.items()}
    assert plans["voices"].splits == plans["full"].splits == plans["clean-1voice"].splits
    train = {s for s, split in plans["full"].splits.items() if split == "train"}
    test = {s for s, split in plans["full"].splits.items() if split == "test"}
    assert train and test and not train & test
    assert all(Path(s["file"]).is_absolute() for s in cfgs["full"]["text"]["sources"]
               if s.get("file"))
    quick = run.derive_config(base, "full", config_dir, None, None, quick=True)
    assert quick["speakers"]["count"] == run.QUICK_SPEAKERS
    assert quick["augment"]["room"]["bank_size"] == run.QUICK_BANK


def test_decode_nonempty_takes_the_best_symbol_of_an_all_blank_path() -> None:
    torch = pytest.importorskip("torch")
    from synthaudio.train.trainer import decode

    probs = np.array([[0.9, 0.05, 0.05], [0.6, 0.1, 0.3], [0.8, 0.15, 0.05]], np.float32)

    class Fixed(torch.nn.Module):  # the same frame posteriors for every utterance
        def forward(self, x: torch.Tensor, lens: torch.Tensor) -> tuple[torch.Tensor,
                                                                         torch.Tensor]:
            logp = torch.from_numpy(np.log(probs))[None].expand(x.shape[0], -1, -1)
            return logp, lens.clamp(max=3)

    vocab = Vocabulary.build(["one two"], "word")  # blank, one, two
    feats = [np.zeros((3, 4), np.float32)]
    assert decode(Fixed(), feats, vocab) == [""]  # all blank
    assert decode(Fixed(), feats, vocab, nonempty=True) == ["two"]  # 0.3 in frame 2


def test_speaker_mean_normalize_takes_out_each_speakers_mean() -> None:
    from synthaudio.train.data import Utterance, speaker_mean_normalize

    rng = np.random.default_rng(2)
    utts = [Utterance(f"u{k}", Path(f"u{k}.wav"), "one", spk)
            for k, spk in enumerate(["a", "a", "b", ""])]
    offsets = {"a": 3.0, "b": -5.0, "": 7.0}
    feats = [(rng.standard_normal((n, 4)) + offsets[u.speaker]).astype(np.float32)
             for n, u in zip((5, 9, 6, 4), utts, strict=True)]
    out = speaker_mean_normalize(feats, utts)
    assert [o.dtype for o in out] == [np.float32] * 4
    assert np.concatenate(out[:2]).mean(axis=0) == pytest.approx(np.zeros(4), abs=1e-5)
    assert out[2].mean(axis=0) == pytest.approx(np.zeros(4), abs=1e-5)
    assert out[3].mean(axis=0) == pytest.approx(np.zeros(4), abs=1e-5)  # its own mean
    # the same frames less one mean: differences within a speaker are kept
    assert out[0] - out[1][:5] == pytest.approx(feats[0] - feats[1][:5], abs=1e-5)
    empty = speaker_mean_normalize([np.zeros((0, 4), np.float32)], utts[:1])
    assert empty[0].shape == (0, 4)
    with pytest.raises(ValueError, match="3 feature matrices for 4"):
        speaker_mean_normalize(feats[:3], utts)


def test_kaldi_and_corpus_utterances_carry_their_speakers() -> None:
    from synthaudio.train.data import kaldi_dir_utterances

    kaldi = Path(__file__).resolve().parents[1] / "fixtures" / "real_speech"
    spk = dict(line.split() for line in (kaldi / "utt2spk").read_text().splitlines())
    utts = kaldi_dir_utterances(kaldi)
    assert utts and all(u.speaker == spk[u.id] for u in utts)

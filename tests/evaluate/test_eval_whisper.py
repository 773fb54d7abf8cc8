"""Whisper backend on a tiny randomly initialized model built here (nothing is downloaded)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing in these tests may reach the hub
transformers = pytest.importorskip(
    "transformers", reason="whisper backend needs the optional 'whisper' extra (transformers)"
)
torch = pytest.importorskip("torch", reason="whisper backend needs torch")

from synthaudio.errors import InputError  # noqa: E402
from synthaudio.evaluate.asr import WhisperBackend, make_backend, to_mono_16k  # noqa: E402

SPECIALS = [
    "<|endoftext|>",
    "<|startoftranscript|>",
    "<|en|>",
    "<|translate|>",
    "<|transcribe|>",
    "<|startoflm|>",
    "<|startofprev|>",
    "<|nospeech|>",
    "<|notimestamps|>",
]


def _byte_chars() -> list[str]:
    """GPT-2 byte-to-unicode table: the 256 base symbols of a byte-level BPE."""
    keep = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    chars, extra = {}, 0
    for b in range(256):
        if b in keep:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return [chars[b] for b in range(256)]


def build_tiny_whisper(path: Path) -> Path:
    """Save a 1-layer, d_model 32 Whisper with a byte-level tokenizer (265 tokens) in ``path``."""
    vocab = {c: i for i, c in enumerate(_byte_chars())}
    for tok in SPECIALS:
        vocab[tok] = len(vocab)
    ids = {tok: vocab[tok] for tok in SPECIALS}
    tokenizer = transformers.WhisperTokenizer(vocab=vocab, merges=[])
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIALS[1:]})
    processor = transformers.WhisperProcessor(
        feature_extractor=transformers.WhisperFeatureExtractor(feature_size=80),
        tokenizer=tokenizer,
    )
    eot, sot = ids["<|endoftext|>"], ids["<|startoftranscript|>"]
    config = transformers.WhisperConfig(
        vocab_size=len(vocab),
        num_mel_bins=80,
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_source_positions=1500,
        max_target_positions=32,
        pad_token_id=eot,
        bos_token_id=eot,
        eos_token_id=eot,
        decoder_start_token_id=sot,
    )
    torch.manual_seed(0)
    model = transformers.WhisperForConditionalGeneration(config)
    model.generation_config = transformers.GenerationConfig(
        decoder_start_token_id=sot,
        bos_token_id=eot,
        eos_token_id=eot,
        pad_token_id=eot,
        max_length=12,
        no_timestamps_token_id=ids["<|notimestamps|>"],
        lang_to_id={"<|en|>": ids["<|en|>"]},
        task_to_id={"transcribe": ids["<|transcribe|>"], "translate": ids["<|translate|>"]},
        is_multilingual=True,
    )
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_whisper(tmp_path_factory.mktemp("tiny-whisper"))


def test_whisper_backend_runs_pipeline_on_the_audio(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = make_backend(f"whisper:{tiny_model}")
    assert isinstance(backend, WhisperBackend)
    pipe = backend._get_pipe()
    assert pipe.model.config.d_model == 32  # our local model, not a downloaded one

    seen: dict[str, Any] = {}
    fe_class = type(pipe.feature_extractor)
    original_fe = fe_class.__call__

    def spy_fe(self: Any, raw_speech: Any, *args: Any, **kwargs: Any) -> Any:
        seen["raw"] = np.array(raw_speech, dtype=np.float32)
        return original_fe(self, raw_speech, *args, **kwargs)

    original_generate = pipe.model.generate

    def spy_generate(*args: Any, **kwargs: Any) -> Any:
        seen["features"] = tuple(kwargs["input_features"].shape)
        seen["language"] = kwargs.get("language")
        out = original_generate(*args, **kwargs)
        seen["tokens"] = out
        return out

    monkeypatch.setattr(fe_class, "__call__", spy_fe)
    monkeypatch.setattr(pipe.model, "generate", spy_generate)

    sr = 22050
    t = np.arange(int(1.2 * sr)) / sr
    audio = (0.3 * np.sin(2 * np.pi * 300.0 * t)).astype(np.float32)
    text = backend.transcribe(np.stack([audio, audio]), sr)

    assert isinstance(text, str)
    expected = to_mono_16k(audio, sr)
    assert seen["raw"].shape == expected.shape == (19200,)
    np.testing.assert_allclose(seen["raw"], expected, atol=1e-6)
    assert seen["features"] == (1, 80, 3000)
    assert seen["language"] == "en"  # multilingual checkpoint: language is forced
    tokens = seen["tokens"]["sequences"] if isinstance(seen["tokens"], dict) else seen["tokens"]
    decoded = pipe.tokenizer.batch_decode(tokens, skip_special_tokens=True)[0]
    assert text == decoded.strip()  # the backend returns what the model generated


def test_whisper_missing_local_model_is_input_error(tmp_path: Path) -> None:
    backend = WhisperBackend(str(tmp_path / "no-such-model"))
    with pytest.raises(InputError, match="cannot load model"):
        backend.transcribe(np.zeros(1600, dtype=np.float32), 16000)

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from synthaudio.errors import InputError
from synthaudio.evaluate.asr import (
    ASRBackend,
    HypFileBackend,
    PocketSphinxBackend,
    WhisperBackend,
    make_backend,
    to_mono_16k,
)


def test_make_backend_specs(tmp_path: Path) -> None:
    hyp = tmp_path / "hyp.txt"
    hyp.write_text("u1 hello world\nu2\n", encoding="utf-8")
    ps = make_backend("pocketsphinx")
    assert isinstance(ps, PocketSphinxBackend) and ps.lm_path is None
    w = make_backend("whisper:openai/whisper-tiny.en")
    assert isinstance(w, WhisperBackend) and w.model == "openai/whisper-tiny.en"
    h = make_backend(f"hyp:{hyp}")
    assert isinstance(h, HypFileBackend) and h.hyps == {"u1": "hello world", "u2": ""}
    lm = make_backend(
        "pocketsphinx:corpus-lm", corpus_texts=["ten of clubs"], work_dir=tmp_path / "lm"
    )
    assert isinstance(lm, PocketSphinxBackend) and lm.lm_path == tmp_path / "lm" / "corpus.arpa"
    for b in (ps, w, h, lm):
        assert isinstance(b, ASRBackend)


@pytest.mark.parametrize("spec", ["", "kaldi", "whisper", "whisper:", "hyp:", "pocketsphinx:x"])
def test_bad_spec_is_one_line_input_error(spec: str) -> None:
    with pytest.raises(InputError) as e:
        make_backend(spec)
    assert "\n" not in str(e.value) and repr(spec) in str(e.value)


def test_corpus_lm_spec_needs_texts() -> None:
    with pytest.raises(InputError, match="transcripts"):
        make_backend("pocketsphinx:corpus-lm")


def test_hyp_file_errors(tmp_path: Path) -> None:
    dup = tmp_path / "dup.txt"
    dup.write_text("a x\nb y\na z\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"dup\.txt:3: duplicate utterance id 'a'"):
        HypFileBackend.from_file(dup)
    with pytest.raises(InputError, match="cannot read"):
        HypFileBackend.from_file(tmp_path / "absent.txt")
    h = HypFileBackend.from_file(_write(tmp_path / "h.txt", "a x\n"))
    with pytest.raises(InputError, match=r"no hypothesis for 2 utterance\(s\): b, c"):
        h.check_ids(["a", "b", "c"])
    with pytest.raises(InputError, match="utterance id"):
        h.transcribe(np.zeros(160, dtype=np.float32), 16000)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_to_mono_16k() -> None:
    t = np.arange(48000) / 48000.0
    tone = (0.5 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    stereo = np.stack([tone, tone])
    out = to_mono_16k(stereo, 48000)
    assert out.dtype == np.float32 and out.shape == (16000,)
    ref = 0.5 * np.sin(2 * np.pi * 440.0 * np.arange(16000) / 16000.0)
    assert np.max(np.abs(out[100:-100] - ref[100:-100])) < 1e-2
    with pytest.raises(ValueError, match="shape"):
        to_mono_16k(np.zeros((1, 2, 3), dtype=np.float32), 16000)


def test_pocketsphinx_resamples_and_downmixes(real_speech: Path) -> None:
    audio, sr = sf.read(str(real_speech / "wav" / "cards-005.wav"), dtype="float32")
    backend = PocketSphinxBackend()
    direct = backend.transcribe(audio, sr)
    assert direct == "eight of spades four of clubs seven of hearts"
    up = soxr.resample(audio, sr, 44100).astype(np.float32)
    assert backend.transcribe(np.stack([up, up]), 44100) == direct
    assert backend.transcribe(np.zeros(0, dtype=np.float32), 16000) == ""


def test_backends_pickle_without_decoder(real_speech: Path) -> None:
    backend = PocketSphinxBackend()
    audio, sr = sf.read(str(real_speech / "wav" / "cards-001.wav"), dtype="float32")
    assert backend.transcribe(audio, sr) == "ten of clubs"
    clone = pickle.loads(pickle.dumps(backend))
    assert clone._decoder is None and clone.lm_path is None
    assert clone.transcribe(audio, sr) == "ten of clubs"
    w = pickle.loads(pickle.dumps(WhisperBackend("some/model")))
    assert w.model == "some/model" and w._pipe is None


def test_pocketsphinx_result_does_not_depend_on_the_utterance_before(real_speech: Path) -> None:
    """Live CMN and noise tracking adapt across utterances unless reset: then a hypothesis
    (and which workers decode what) would change the result. The score shows it first."""
    x, sr = sf.read(str(real_speech / "wav" / "cards-001.wav"), dtype="float32")
    quiet, _ = sf.read(str(real_speech / "wav" / "cards-003.wav"), dtype="float32")
    backend = PocketSphinxBackend()
    first = (backend.transcribe(x, sr), backend._decoder.hyp().score)
    assert backend.transcribe(quiet * np.float32(0.05), sr) == "seven of clubs"
    assert (backend.transcribe(x, sr), backend._decoder.hyp().score) == first
    assert first[0] == "ten of clubs"

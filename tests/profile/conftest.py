"""Shared inputs for the profile tests: clean synthaudio speech with known properties.

``clean_speech``: six espeak-ng sentences from ``synthaudio generate`` (no augmentation),
each padded with 0.4 s of digital silence on both sides (real recordings have leading and
trailing silence; the noise estimate needs some non-speech). Known answers come from putting
them through synthaudio's own Augmenter, whose report and params say what was applied.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from synthaudio.corpus.generate import generate_corpus

REPO = Path(__file__).resolve().parents[2]
REAL_SPEECH = REPO / "tests" / "fixtures" / "real_speech"
PAD_S = 0.4

CLEAN_YAML = f"""
name: profile-clean
seed: 11
text:
  sources:
    - file: {REPO / 'corpora' / 'prompt_sets' / 'sentences.txt'}
speakers:
  count: 3
  voices: [en-us]
  variants: [m2, f3, m5]
utterances:
  per_speaker: 2
splits: {{train: 0.34, dev: 0.33, test: 0.33}}
exports: [kaldi]
"""


@pytest.fixture(scope="session")
def clean_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("profile-clean")
    cfg = root / "clean.yaml"
    cfg.write_text(CLEAN_YAML, encoding="utf-8")
    out = root / "out"
    generate_corpus(cfg, out, progress=False)
    return out


@pytest.fixture(scope="session")
def clean_speech(clean_corpus: Path) -> list[np.ndarray]:
    audios = []
    for wav in sorted((clean_corpus / "audio").rglob("*.wav")):
        x, rate = sf.read(str(wav), dtype="float32")
        assert rate == 16000
        pad = int(PAD_S * rate)
        audios.append(np.pad(x, (pad, pad)))
    assert len(audios) == 6
    return audios


@pytest.fixture(scope="session")
def light_models():  # type: ignore[no-untyped-def]
    """The VAD only (no DNSMOS, no speaker encoder)."""
    from synthaudio.profile.profile import _Models

    return _Models(("level", "noise", "channel", "reverb", "speech"))

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

from synthaudio.pipelines.generate.pipeline import generate_corpus

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
  balance: false  # the draws the known answers (and docs/profile.md's figures) were made on
utterances:
  per_speaker: 2
splits: {{train: 0.34, dev: 0.33, test: 0.33}}
exports: [kaldi]
"""


@pytest.fixture(scope="session")
def clean_yaml() -> str:
    return CLEAN_YAML


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


LIGHT_FAMILIES = ("level", "noise", "channel", "reverb", "speech")  # no DNSMOS, no encoder


@pytest.fixture(scope="session")
def real_light_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from synthaudio.profile.profile import ProfileOptions, profile_corpus

    out = tmp_path_factory.mktemp("real-light") / "real.json"
    profile_corpus(REAL_SPEECH, out, options=ProfileOptions(families=LIGHT_FAMILIES))
    return out


@pytest.fixture(scope="session")
def small_quickstart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """corpora/quickstart/corpus.yaml with absolute prompt paths and a bank of 8 rooms."""
    import yaml

    base = REPO / "corpora" / "quickstart"
    cfg = yaml.safe_load((base / "corpus.yaml").read_text(encoding="utf-8"))
    for src in cfg["text"]["sources"]:
        if "file" in src:
            src["file"] = str((base / src["file"]).resolve())
    cfg["augment"]["room"]["bank_size"] = 8
    cfg["exports"] = ["kaldi"]
    path = tmp_path_factory.mktemp("quickstart") / "corpus.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path

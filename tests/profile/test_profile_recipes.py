"""The matched recipes: digits run.py --match (its matching function) and augment_real/match.sh."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from synthaudio.augment.augmenter import Augmenter
from synthaudio.augment.config import AugmentConfig
from synthaudio.pipelines.generate.config import parse_corpus_config

REPO = Path(__file__).resolve().parents[2]
REAL_SPEECH = REPO / "tests" / "fixtures" / "real_speech"
LIGHT = ("level", "noise", "channel", "reverb", "speech")


def _matching_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("digits_matching",
                                                  REPO / "recipes" / "digits" / "matching.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _telephone_target(folder: Path) -> None:
    """The real fixture as if heard over a noisy telephone line, resampled to 8 kHz."""
    folder.mkdir(parents=True)
    aug = Augmenter(AugmentConfig.model_validate({
        "noise": {"probability": 1, "snr_db": [8, 14], "kinds": {"white": 1},
                  "num_sources": [1, 1]},
        "channel": {"telephone": {"probability": 1}}}))
    import soxr

    for i, wav in enumerate(sorted((REAL_SPEECH / "wav").glob("*.wav"))):
        x, rate = sf.read(str(wav), dtype="float32")
        y = aug(x, rate, np.random.default_rng(i)).audio
        sf.write(str(folder / wav.name), soxr.resample(y, rate, 8000), 8000, subtype="PCM_16")


def test_digits_match_target(tmp_path: Path) -> None:
    target = tmp_path / "phone"
    _telephone_target(target)
    cfg, test_dir = _matching_module().match_target(
        target, REPO / "corpora" / "digits" / "corpus.yaml", tmp_path / "out", families=LIGHT)
    assert test_dir is None  # a folder: no transcripts, nothing to score
    parsed = parse_corpus_config((tmp_path / "out" / "match" / "matched.yaml").read_text(
        encoding="utf-8"))
    assert parsed.audio.sample_rate == 8000 and cfg["audio"]["sample_rate"] == 8000
    assert parsed.augment is not None
    noise = parsed.augment.noise
    assert noise.probability == 1.0 and noise.snr_db[0] <= 8 and noise.snr_db[1] >= 14
    band = parsed.augment.channel.band_limit
    assert band.probability > 0.8 and band.high_hz[0] < 3400 < band.high_hz[1]
    _, kaldi = _matching_module().match_target(
        REAL_SPEECH, REPO / "corpora" / "digits" / "corpus.yaml", tmp_path / "out2",
        families=LIGHT)
    assert kaldi == REAL_SPEECH  # a Kaldi dir with transcripts: scored by run.py


@pytest.mark.slow  # the recipe end to end: six CLI runs (~40 s of CPU)
def test_augment_real_match_moves_toward_the_target(tmp_path: Path) -> None:
    target = tmp_path / "phone"
    _telephone_target(target)
    env = {**os.environ, "COPIES": "1", "JOBS": "2", "SKIP": "quality,voices"}
    proc = subprocess.run(
        ["bash", str(REPO / "recipes" / "augment_real" / "match.sh"), str(target),
         str(REAL_SPEECH), str(tmp_path / "aug")], capture_output=True, text=True, env=env,
        timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = [float(x) for x in re.findall(r"Frechet distance .*: (\S+)", proc.stdout)]
    print(proc.stdout[-400:])
    assert len(found) == 2 and found[1] < 0.5 * found[0], proc.stdout

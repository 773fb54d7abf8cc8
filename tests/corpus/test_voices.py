"""Word timings for engines without them, and voice conversion, through the render stage."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from synthaudio.pipelines.generate.config import parse_corpus_config
from synthaudio.pipelines.generate.pipeline import generate_corpus
from synthaudio.pipelines.generate.plan import plan_corpus
from synthaudio.pipelines.generate.render import Renderer

CONFIG = """\
name: voices
seed: 3
text:
  sources:
    - template: "please {{open|close}} the {{front door|garage|window}} {{now|today}}"
speakers:
  count: 3
  variants: [m1, f2, m4]
{extra}utterances:
  per_speaker: 2
splits: {{train: 0.34, dev: 0.33, test: 0.33}}
exports: [kaldi, ctm]
"""


def write(folder: Path, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "corpus.yaml"
    path.write_text(CONFIG.format(extra=extra), encoding="utf-8")
    return path


def records(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "metadata.jsonl").read_text().splitlines()]


def test_an_engine_without_timings_gets_aligned_words(tmp_path: Path, monkeypatch) -> None:
    cfg = parse_corpus_config(CONFIG.format(extra=""))
    plan = plan_corpus(cfg, tmp_path)
    renderer = Renderer(cfg)
    spec = plan.utterances[0]
    engine_rec = renderer.render(spec, tmp_path / "a")
    real = renderer.engine.synthesize
    monkeypatch.setattr(renderer.engine, "synthesize",
                        lambda text, voice: replace(real(text, voice), words=None))
    aligned_rec = renderer.render(spec, tmp_path / "b")
    assert engine_rec["tts"]["timings"] == "engine"
    assert aligned_rec["tts"]["timings"] == "aligned"
    assert [w[0] for w in aligned_rec["words"]] == spec.text.split()
    errs = [abs(a[1] - e[1]) for a, e in zip(aligned_rec["words"], engine_rec["words"],
                                              strict=True)]
    assert np.median(errs) <= 0.03 and max(errs) <= 0.1


def test_conversion_keeps_duration_and_timings_and_is_reproducible(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    generate_corpus(write(tmp_path / "c0"), plain, jobs=1, progress=False)
    conv_cfg = write(tmp_path / "c1", "  conversion: {share: 1.0, warp: [1.05, 1.1]}\n")
    conv = tmp_path / "conv"
    generate_corpus(conv_cfg, conv, jobs=1, progress=False)
    a, b = records(plain), records(conv)
    assert len(a) == len(b) == 6
    for x, y in zip(a, b, strict=True):
        assert y["duration_s"] == x["duration_s"]
        assert y["words"] == x["words"]
        c = y["tts"]["conversion"]
        assert 1.05 <= c["warp"] <= 1.1 and c["f0_scale"] > 1.1
        assert "conversion" not in x["tts"]
        assert (conv / y["audio"]).read_bytes() != (plain / x["audio"]).read_bytes()
    assert (conv / "alignments" / "train.ctm").exists() or list((conv).rglob("*.ctm"))
    first = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted((conv / "audio").rglob("*.wav"))}
    conv.rename(tmp_path / "j1")
    generate_corpus(conv_cfg, conv, jobs=2, progress=False)
    again = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted((conv / "audio").rglob("*.wav"))}
    assert again == first
    assert (conv / "metadata.jsonl").read_bytes() == (tmp_path / "j1" / "metadata.jsonl"
                                                      ).read_bytes()


@pytest.mark.parametrize("bad, message", [
    ("  conversion: {warp: [1.2, 1.0]}\n", "inverted range"),
    ("  conversion: {sharee: 1}\n", "unknown key 'sharee'"),
])
def test_bad_conversion_config_is_one_line(tmp_path: Path, bad: str, message: str) -> None:
    from synthaudio.cli import main

    assert main(["generate", str(write(tmp_path / "c", bad)), "-o", str(tmp_path / "o"),
                 "-q"]) == 2
    assert not (tmp_path / "o").exists()
    with pytest.raises(Exception, match=message):
        parse_corpus_config(CONFIG.format(extra=bad))


def test_conversion_can_be_limited_to_some_engines_without_moving_other_draws(
        tmp_path: Path) -> None:
    mix = "  engines: {espeak-ng: 0.5, flite: 0.5}\n"
    every = plan_corpus(parse_corpus_config(CONFIG.format(
        extra=mix + "  conversion: {share: 1.0}\n").replace("count: 3", "count: 8")), tmp_path)
    some = plan_corpus(parse_corpus_config(CONFIG.format(
        extra=mix + "  conversion: {share: 1.0, engines: [espeak-ng]}\n").replace(
        "count: 3", "count: 8")), tmp_path)
    engines = [s.engine for s in some.speakers]
    assert engines.count("espeak-ng") == engines.count("flite") == 4
    for a, b in zip(every.speakers, some.speakers, strict=True):
        assert a.conversion is not None  # share 1: every speaker drew one
        # the espeak-ng speakers keep exactly the conversion they drew; Flite's get none
        assert b.conversion == (a.conversion if b.engine == "espeak-ng" else None)
        assert replace(a, conversion=None) == replace(b, conversion=None)

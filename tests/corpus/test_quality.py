"""The ASR check (quality.asr): clean renderings the ASR cannot read are re-drawn, then dropped."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_generate import tree_hashes, write_config

from synthaudio.config import parse_corpus_config
from synthaudio.corpus.generate import generate_corpus
from synthaudio.corpus.quality import (
    ASRCheck,
    ASRCheckConfig,
    QualityConfig,
    Rendering,
    count_verdicts,
)
from synthaudio.speakers import SpeakerParams
from synthaudio.tts.pico import PicoVoice

WHISPER_CHECK = """\
quality:
  asr:
    backend: faster-whisper:beam_size=1
    metric: wer
    max_error: {max_error}
    engines: {{espeak-ng: {{max_error: {espeak}}}}}
    max_attempts: 3
    voice_attempts: 2
"""


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A check no rendering of these prompts can pass (WER 0 with digits in the prompts,
    spoken in the labels) run with -j 1 and -j 2."""
    root = tmp_path_factory.mktemp("strict")
    config = write_config(root / "cfg", speakers=4, per_speaker=2,
                          extra=WHISPER_CHECK.format(max_error=0.5, espeak=0.0))
    one, two = root / "one", root / "two"
    generate_corpus(config, one, jobs=1, progress=False)
    generate_corpus(config, two, jobs=2, progress=False)
    return one, two


def test_a_strict_check_redraws_then_drops_with_reasons(strict: tuple[Path, Path]) -> None:
    out = strict[0]
    kept, dropped = lines(out / "metadata.jsonl"), lines(out / "quality_dropped.jsonl")
    assert len(kept) + len(dropped) == 8 and dropped
    for r in kept:  # what passed was read perfectly
        a = r["tts"]["asr"]
        assert a["error"] == 0.0 and a["outcome"] in ("passed", "redrawn")
        assert (a["outcome"] == "passed") == (a["attempts"] == 1)
        assert a["backend"] == "faster-whisper:beam_size=1" and a["metric"] == "wer"
    for d in dropped:
        a = d["tts"]["asr"]
        # two prosody draws of the voice, then another voice of the split and gender if any
        assert a["outcome"] == "dropped" and a["error"] > 0
        assert a["attempts"] == (3 if "voice_of" in a else 2)
        assert d["dropped"] == f"asr wer {a['error']:.2f} > 0.00 after {a['attempts']} renderings"
        assert not list((out / "audio").rglob(f"{d['id']}.wav"))
    assert any(r["tts"]["asr"]["outcome"] == "redrawn" for r in kept)
    table = count_verdicts((d["tts"]["engine"], d["tts"]["asr"]) for d in kept + dropped)
    total = sum(c["checked"] for c in table["espeak-ng"].values())
    assert total == 8 and sum(c["dropped"] for c in table["espeak-ng"].values()) == len(dropped)


def test_the_check_gives_the_same_bytes_for_any_jobs(strict: tuple[Path, Path]) -> None:
    def hashes(out: Path) -> dict[str, str]:  # lhotse manifests hold absolute paths
        return {k: v for k, v in tree_hashes(out).items() if "lhotse" not in k}

    assert hashes(strict[0]) == hashes(strict[1]) and len(hashes(strict[0])) > 20


def test_a_lenient_check_keeps_the_bytes_of_no_check(tmp_path: Path) -> None:
    plain = write_config(tmp_path / "a", speakers=3, per_speaker=1)
    checked = write_config(tmp_path / "b", speakers=3, per_speaker=1,
                           extra=WHISPER_CHECK.format(max_error=10.0, espeak=10.0))
    summary = generate_corpus(checked, tmp_path / "checked", progress=False)
    generate_corpus(plain, tmp_path / "plain", progress=False)
    recs = lines(tmp_path / "checked" / "metadata.jsonl")
    assert len(recs) == 3 and all(r["tts"]["asr"]["outcome"] == "passed" for r in recs)
    for r in recs:
        assert isinstance(r["tts"]["asr"]["hypothesis"], str)
    # attempt 0 draws from the utterance's own stream: the audio is what it is unchecked
    a = {k: v for k, v in tree_hashes(tmp_path / "checked").items() if k.endswith(".wav")}
    b = {k: v for k, v in tree_hashes(tmp_path / "plain").items() if k.endswith(".wav")}
    assert a == b and len(a) == 3
    assert any(n.startswith("asr check espeak-ng: 3 checked, 0 re-drawn") for n in summary.notes)


class _Backend:
    """Reads "yes" only from audio louder than 0.5 (a fake ASR)."""

    name = "fake"

    def transcribe(self, audio: np.ndarray, sample_rate: int) -> str:
        return "yes" if float(np.abs(audio).max()) > 0.5 else "[noise] no"


def _speaker(i: int, gender: str = "f") -> SpeakerParams:
    return SpeakerParams(f"spk{i:03d}", "pico", gender, PicoVoice("en-US", 100 + i, 100))


def test_a_noise_engine_is_redrawn_in_another_voice_then_dropped() -> None:
    own, loud, male = _speaker(1), _speaker(2), _speaker(3, "m")
    check = ASRCheck(ASRCheckConfig(backend="fake", max_attempts=4, voice_attempts=2),
                     _Backend(), [own, loud, male], {s.speaker_id: "train" for s in
                                                     (own, loud, male)})
    calls: list[str] = []

    def render(speaker: SpeakerParams, rng: np.random.Generator) -> Rendering[str]:
        calls.append(speaker.speaker_id)
        level = 0.9 if speaker is loud else 0.1  # noise: only spk002's voice is readable
        return Rendering(np.full(160, level, np.float32), 16000, speaker.speaker_id,
                         speaker.voice)

    got, speaker, verdict = check.run("yes", own, "train", [1, 2, 3],
                                      np.random.default_rng(0), render)
    # pico has no prosody draws: the second rendering in spk001's voice is the same audio,
    # not checked again; spk002 (same split and gender, not spk003) reads
    assert calls == ["spk001", "spk001", "spk002"]
    assert got is not None and got.result == "spk002" and speaker is loud
    assert (verdict.outcome, verdict.attempts, verdict.voice_of) == ("redrawn", 2, "spk002")
    alone = ASRCheck(check.cfg, _Backend(), [own], {"spk001": "train"})
    got, speaker, verdict = alone.run("yes", own, "train", [1, 2, 3],
                                      np.random.default_rng(0), render)
    assert got is None and verdict.outcome == "dropped" and verdict.attempts == 1
    assert verdict.to_dict()["hypothesis"] == "no" and verdict.error == 1.0


def test_the_older_quality_form_reads_as_a_cer_check() -> None:
    q = QualityConfig.model_validate({"max_cer": 0.3, "max_redraws": 1})
    assert q.asr is not None
    assert (q.asr.backend, q.asr.metric, q.asr.max_error, q.asr.max_attempts) == (
        "pocketsphinx:corpus-lm", "cer", 0.3, 2)
    assert QualityConfig().asr is None  # off by default
    cfg = parse_corpus_config(write_config_text() + WHISPER_CHECK.format(max_error=0.4,
                                                                         espeak=0.2))
    assert cfg.quality is not None and cfg.quality.asr is not None
    assert cfg.quality.asr.limit("espeak-ng") == ("wer", 0.2)
    assert cfg.quality.asr.limit("piper") == ("wer", 0.4)


def write_config_text() -> str:
    from test_generate import CONFIG

    return CONFIG.format(speakers=2, per_speaker=1)


KEYWORDS = """\
name: kw-asr
seed: 3
targets: ["yes", "stop"]
clip_s: 1.5
counts: {positives: 3, hard_negatives: 0.0, speech: 0.0, babble: 0.0, noise: 0.0,
         silence: 0.0, background_files: 0, background_s: 1}
streams: {count: 0}
speakers: {count: 4, variants: [m1, f2]}
splits: {train: 0.5, dev: 0.25, test: 0.25}
quality:
  asr: {backend: "faster-whisper:beam_size=1", metric: cer, max_error: 0.0,
        max_attempts: 3, voice_attempts: 2}
"""


def test_keyword_clips_go_through_the_same_check(tmp_path: Path) -> None:
    from synthaudio.keywords.pipeline import make_keywords

    config = tmp_path / "keywords.yaml"
    config.write_text(KEYWORDS, encoding="utf-8")
    summary = make_keywords(config, tmp_path / "one", jobs=1, progress=False)
    make_keywords(config, tmp_path / "two", jobs=2, progress=False)
    kept = [r for r in lines(tmp_path / "one" / "metadata.jsonl") if r["kind"] == "positive"]
    dropped = lines(tmp_path / "one" / "quality_dropped.jsonl")
    assert len(kept) + len(dropped) == 6  # 3 positives of each of 2 targets
    for r in kept:  # a single word: CER 0 is the word exactly ("yes." normalizes to "yes")
        a = r["tts"]["asr"]
        assert a["error"] == 0.0 and a["hypothesis"] == r["text"] and a["metric"] == "cer"
    for d in dropped:
        assert d["tts"]["asr"]["outcome"] == "dropped" and d["dropped"].startswith("asr cer ")
    assert any(n.startswith("asr check espeak-ng: 6 checked") for n in summary.notes)

    def hashes(out: Path) -> dict[str, str]:
        return {k: v for k, v in tree_hashes(out).items() if "lhotse" not in k}

    assert hashes(tmp_path / "one") == hashes(tmp_path / "two")


def test_the_report_counts_the_check(strict: tuple[Path, Path]) -> None:
    from synthaudio.evaluate.report import _asr_check_section

    out = strict[0]
    html = _asr_check_section(out)
    dropped = len(lines(out / "quality_dropped.jsonl"))
    assert '<h2 id="asr-check">' in html and "<td class=l>espeak-ng</td>" in html
    cells = [int(c) for c in __import__("re").findall(r"<td>(\d+)</td>", html)]
    # per voice: checked, passed, re-drawn, dropped; they add up to the corpus
    assert sum(cells[0::4]) == 8 and sum(cells[3::4]) == dropped
    assert _asr_check_section(out.parent) == ""

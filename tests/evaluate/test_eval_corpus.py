"""evaluate_corpus on a small fabricated corpus (real recordings as its audio)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf

from synthaudio.errors import InputError
from synthaudio.evaluate.asr import PocketSphinxBackend
from synthaudio.evaluate.evaluate import (
    evaluate_corpus,
    format_table,
    parse_gate,
    transcribe_clean,
)

# Hypotheses for the test split: two exact, two with errors.
HYPS = {
    "spk001-000001": "ten of clubs",
    "spk001-000002": "seven of clubs",
    "spk002-000003": "five nine",
    "spk002-000004": "for queen of",
}


def write_hyps(path: Path, hyps: dict[str, str]) -> Path:
    path.write_text("".join(f"{k} {v}\n" for k, v in sorted(hyps.items())), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_outputs_and_conditions(corpus: Path, tmp_path: Path) -> None:
    hyp = write_hyps(tmp_path / "h.txt", HYPS)
    s = evaluate_corpus(corpus, asr=f"hyp:{hyp}")
    assert s.name == "hyp-h-test" and s.eval_dir == corpus / "eval" / "hyp-h-test"
    assert sorted(p.name for p in s.eval_dir.iterdir()) == [
        "hyp.txt",
        "per_utt.jsonl",
        "summary.json",
    ]
    recs = read_jsonl(s.eval_dir / "per_utt.jsonl")
    assert [r["id"] for r in recs] == sorted(HYPS)
    by_id = {r["id"]: r for r in recs}
    r = by_id["spk002-000004"]
    assert r["reference"] == "four queen of clubs" and r["hypothesis"] == "for queen of"
    assert r["errors"] == {"hits": 2, "sub": 1, "del": 1, "ins": 0}
    assert r["wer"] == 0.5
    assert r["conditions"] == {
        "snr": "10-20",
        "rt60": "<0.3",
        "codec": "none",
        "speaker": "spk002",
        "gender": "f",
        "voice": "en-us+f2",
        "engine": "espeak-ng",
        "length": "4-7",
    }
    assert by_id["spk002-000003"]["conditions"]["rt60"] == "0.6-0.9"
    assert by_id["spk002-000003"]["conditions"]["codec"] == "mulaw"
    summary = json.loads((s.eval_dir / "summary.json").read_text())
    assert summary["num_utterances"] == 4 and summary["split"] == "test"
    assert list(summary["breakdown"]["snr"]) == ["clean", "0-5", "10-20", ">=20"]
    assert list(summary["breakdown"]["rt60"]) == ["none", "<0.3", "0.6-0.9"]
    for key, buckets in summary["breakdown"].items():
        for field in ("count", "hits", "substitutions", "deletions", "insertions", "ref_words"):
            assert sum(b[field] for b in buckets.values()) == summary["overall"][field], key
    assert summary["overall"]["ref_words"] == 3 + 3 + 2 + 4
    assert (s.eval_dir / "hyp.txt").read_text().splitlines()[2] == "spk002-000003 five nine"
    text = format_table(s)
    assert "snr" in text and "10-20" in text and "spk002" in text


def test_gate_marks_and_lists_failures(corpus: Path, tmp_path: Path) -> None:
    hyp = write_hyps(tmp_path / "h.txt", HYPS)
    s = evaluate_corpus(corpus, asr=f"hyp:{hyp}", name="gated", gate={"max_cer": 0.2})
    recs = {r["id"]: r for r in read_jsonl(s.eval_dir / "per_utt.jsonl")}
    assert recs["spk001-000001"]["gate"] == "pass"
    cer = recs["spk002-000003"]["cer"]
    assert cer > 0.2
    assert recs["spk002-000003"]["gate"] == f"fail: cer {cer:.2f} > 0.20"
    lines = (s.eval_dir / "gate_failed.txt").read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["spk002-000003", "spk002-000004"]
    assert lines[0] == f"spk002-000003 cer {cer:.2f} > 0.20"
    assert s.gate_failed == tuple(lines)
    assert json.loads((s.eval_dir / "summary.json").read_text())["gate"] == {
        "max_cer": 0.2,
        "failed": 2,
    }
    # A later run without a gate leaves no stale list behind.
    evaluate_corpus(corpus, asr=f"hyp:{hyp}", name="gated")
    assert not (s.eval_dir / "gate_failed.txt").exists()


def test_runs_are_byte_identical(corpus: Path, tmp_path: Path) -> None:
    hyp = write_hyps(tmp_path / "h.txt", HYPS)
    first = evaluate_corpus(corpus, asr=f"hyp:{hyp}", name="a", gate={"max_wer": 0.3})
    second = evaluate_corpus(corpus, asr=f"hyp:{hyp}", name="a", gate={"max_wer": 0.3})
    for f in ("hyp.txt", "per_utt.jsonl", "summary.json", "gate_failed.txt"):
        assert (first.eval_dir / f).read_bytes() == (second.eval_dir / f).read_bytes()


def test_pocketsphinx_parallel_equals_serial(corpus: Path) -> None:
    serial = evaluate_corpus(corpus, name="serial")
    parallel = evaluate_corpus(corpus, name="parallel", jobs=2)
    assert serial.overall == parallel.overall
    for f in ("hyp.txt", "per_utt.jsonl"):
        assert (serial.eval_dir / f).read_bytes() == (parallel.eval_dir / f).read_bytes()
    hyps = (serial.eval_dir / "hyp.txt").read_text().splitlines()
    assert hyps[0] == "spk001-000001 ten of clubs"
    # Other splits are not decoded.
    assert len(hyps) == 4


def test_split_and_input_errors(corpus: Path, tmp_path: Path) -> None:
    hyp = write_hyps(tmp_path / "h.txt", {"spk003-000005": "feels like these days"})
    s = evaluate_corpus(corpus, split="train", asr=f"hyp:{hyp}")
    assert s.overall.count == 1 and s.name == "hyp-h-train"
    with pytest.raises(InputError, match="no utterances in split 'eval'"):
        evaluate_corpus(corpus, split="eval")
    with pytest.raises(InputError, match="plain folder name"):
        evaluate_corpus(corpus, asr=f"hyp:{hyp}", name="../x")
    with pytest.raises(InputError, match="unknown key"):
        evaluate_corpus(corpus, asr=f"hyp:{hyp}", gate={"max_ser": 1.0})
    with pytest.raises(InputError, match="jobs"):
        evaluate_corpus(corpus, asr=f"hyp:{hyp}", split="train", jobs=0)
    with pytest.raises(InputError, match="not found"):
        evaluate_corpus(tmp_path / "empty")
    meta = corpus / "metadata.jsonl"
    meta.write_text(meta.read_text() + "{broken\n")
    with pytest.raises(InputError, match=r"metadata\.jsonl:7: invalid JSON"):
        evaluate_corpus(corpus)


@pytest.mark.parametrize(
    ("spec", "gate"),
    [
        ("max_cer=0.5", {"max_cer": 0.5}),
        ("max_cer=0.5,max_wer=1", {"max_cer": 0.5, "max_wer": 1.0}),
        (["max_wer=0.25"], {"max_wer": 0.25}),
    ],
)
def test_parse_gate(spec: str | list[str], gate: dict[str, float]) -> None:
    assert parse_gate(spec) == gate


@pytest.mark.parametrize("spec", ["max_cer", "max_cer=x", "max_cer=-1", "cer=0.5", "max_cer=nan"])
def test_parse_gate_errors(spec: str) -> None:
    with pytest.raises(InputError):
        parse_gate(spec)


def test_transcribe_clean(real_speech: Path) -> None:
    audio, sr = sf.read(str(real_speech / "wav" / "cards-001.wav"), dtype="float32")
    backend = PocketSphinxBackend()
    assert transcribe_clean(audio, sr, backend, "Ten of clubs.") == ("ten of clubs", 0.0)
    hyp, cer = transcribe_clean(audio, sr, backend, "ten of hearts")
    assert hyp == "ten of clubs" and cer == pytest.approx(5 / 13)


def test_eval_files_get_the_umask_mode(corpus: Path, tmp_path: Path) -> None:
    """eval/ files came out 0600 (a bare mkstemp) while every other file was 0644."""
    hyp = write_hyps(tmp_path / "h.txt", HYPS)
    old = os.umask(0o022)
    try:
        s = evaluate_corpus(corpus, asr=f"hyp:{hyp}")
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in s.eval_dir.iterdir() if p.is_file()}
    assert len(modes) >= 3 and set(modes.values()) == {0o644}, modes


def test_hypothesis_ids_not_in_the_split_are_named_in_a_note(
        corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Like Kaldi's compute-wer, the reference set is scored; a hyp file holding more ids
    (e.g. decoded for every split) is fine, but the ids not scored are said in one line."""
    from synthaudio.cli import main

    hyp = write_hyps(tmp_path / "h.txt", {**HYPS, "spk009-000099": "stray", "x-1": "other"})
    s = evaluate_corpus(corpus, asr=f"hyp:{hyp}")
    assert s.unused_hypotheses == ("spk009-000099", "x-1") and s.overall.count == len(HYPS)
    summary = json.loads((s.eval_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["unused_hypotheses"] == ["spk009-000099", "x-1"]
    assert main(["evaluate", str(corpus), "--asr", f"hyp:{hyp}"]) == 0
    notes = [line for line in capsys.readouterr().out.splitlines() if "not scored" in line]
    assert notes == [f"note: 2 hypothesis id(s) of hyp:{hyp} are not in split test and were "
                     "not scored: spk009-000099, x-1"]
    exact = evaluate_corpus(corpus, asr=f"hyp:{write_hyps(tmp_path / 'e.txt', HYPS)}")
    assert exact.unused_hypotheses == () and "unused_hypotheses" not in exact.to_dict()

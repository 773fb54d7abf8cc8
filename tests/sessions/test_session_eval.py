"""DER, JER (pyannote.metrics) and cpWER (meeteval) with answers known by hand."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sessutil import DRY_CONFIG, write_config

from synthaudio.cli import main
from synthaudio.errors import ConfigError, InputError
from synthaudio.io.metadata import iter_metadata
from synthaudio.pipelines.sessions.evaluate import diarization_scores, evaluate_sessions
from synthaudio.pipelines.sessions.export import rttm_lines, session_file
from synthaudio.pipelines.sessions.pipeline import generate_sessions


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two dry sessions in the test split."""
    root = tmp_path_factory.mktemp("eval")
    config = write_config(root / "cfg", DRY_CONFIG.replace("count: 20", "count: 2").replace(
        "{train: 1.0, dev: 0.0, test: 0.0}", "{train: 0.0, dev: 0.0, test: 1.0}"))
    generate_sessions(config, root / "out", progress=False)
    return root / "out"


def test_der_and_jer_of_a_shifted_two_speaker_reference_by_hand() -> None:
    from pyannote.core import Annotation, Segment, Timeline

    ref, hyp = Annotation(uri="s"), Annotation(uri="s")
    ref[Segment(0, 10)], ref[Segment(10, 20)] = "A", "B"
    hyp[Segment(1, 11)], hyp[Segment(11, 21)] = "x", "y"  # everything 1 s late, renamed
    uem = {"s": Timeline([Segment(0, 21)])}
    scores = diarization_scores({"s": ref}, {"s": hyp}, uem)
    # missed [0, 1], false alarm [20, 21], confusion [10, 11] (B said, x found): 3 of 20 s
    assert scores["components"] == {"missed detection": 1.0, "false alarm": 1.0,
                                    "confusion": 1.0, "total": 20.0}
    assert scores["der"] == pytest.approx(3 / 20)
    # JER: A~x and B~y each share 9 s of an 11 s union: 1 - 9/11 per speaker
    assert scores["jer"] == pytest.approx(2 / 11)
    # a 2 s collar (1 s each side of every reference boundary) hides every error
    assert diarization_scores({"s": ref}, {"s": hyp}, uem, collar=2.0)["der"] == 0.0
    assert diarization_scores({"s": ref}, {"s": ref}, uem)["der"] == 0.0


def _frame_der(segments: list[list], shifted: list[list], duration: float) -> float:  # type: ignore[type-arg]
    """DER on 1 ms frames with the speakers mapped to themselves (the test's own count)."""
    n = int(round(duration * 1000))
    speakers = sorted({s[0] for s in segments})

    def masks(segs: list[list]) -> np.ndarray:  # type: ignore[type-arg]
        m = np.zeros((len(speakers), n), dtype=bool)
        for spk, start, end in segs:
            m[speakers.index(spk), int(round(start * 1000)):int(round(end * 1000))] = True
        return m

    ref, hyp = masks(segments), masks(shifted)
    r, h = ref.sum(axis=0), hyp.sum(axis=0)
    both = (ref & hyp).sum(axis=0)
    errors = np.maximum(r - h, 0) + np.maximum(h - r, 0) + (np.minimum(r, h) - both)
    return float(errors.sum() / r.sum())


def test_generated_reference_scores_zero_and_a_shift_the_hand_count(out: Path,
                                                                    tmp_path: Path) -> None:
    records = list(iter_metadata(out))
    same = tmp_path / "same.rttm"
    same.write_text("".join(session_file(out, "rttm", "test", r.id).read_text()
                            for r in records))
    scores = evaluate_sessions(out, diarization=f"hyp:{same}")
    assert (scores.der, scores.jer, scores.sessions) == (0.0, 0.0, 2)
    shift = 0.25
    lines, expected_errors, expected_total = [], 0.0, 0.0
    for r in records:
        segments = r.extra["session"]["segments"]
        moved = [[spk, s + shift, e + shift] for spk, s, e in segments]
        lines += rttm_lines(r.id, moved)
        der = _frame_der(segments, moved, r.duration_s)
        total = sum(e - s for _, s, e in segments)
        expected_errors += der * total
        expected_total += total
    shifted = tmp_path / "shifted.rttm"
    shifted.write_text("".join(line + "\n" for line in lines))
    scores = evaluate_sessions(out, diarization=f"hyp:{shifted}", name="shifted")
    assert scores.der == pytest.approx(expected_errors / expected_total, abs=2e-3)
    assert scores.der > 0.05  # the shift is not lost in rounding
    saved = json.loads((out / "eval" / "shifted" / "scores.json").read_text())
    assert saved["diarization"]["der"] == scores.der


def test_cpwer_counts_a_known_edit_through_the_cli(out: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    entries = []
    for r in iter_metadata(out):
        entries += json.loads(session_file(out, "sessions", "test", r.id).read_text())
    words = sum(len(e["words"].split()) for e in entries)
    hyp = [{**e, "speaker": "system-" + e["speaker"][::-1]} for e in entries]  # renamed
    first = hyp[0]["words"].split()
    hyp[0] = {**hyp[0], "words": " ".join(["banana", *first[1:]])}  # one substitution
    last = hyp[-1]["words"].split()
    hyp[-1] = {**hyp[-1], "words": " ".join(last[:-1])}  # one deletion
    path = tmp_path / "hyp.json"
    path.write_text(json.dumps(hyp))
    assert main(["sessions-eval", str(out), "--transcripts", f"hyp:{path}"]) == 0
    printed = capsys.readouterr().out
    assert f"cpWER {100 * 2 / words:.2f} %" in printed
    saved = json.loads((out / "eval" / "sessions" / "scores.json").read_text())
    assert saved["transcripts"]["errors"] == 2 and saved["transcripts"]["words"] == words


def test_scoring_errors_are_one_line(out: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError, match="give --diarization"):
        evaluate_sessions(out)
    with pytest.raises(ConfigError, match="expected hyp:FILE"):
        evaluate_sessions(out, diarization="sys.rttm")
    with pytest.raises(InputError, match="no sessions in split 'dev'"):
        evaluate_sessions(out, diarization=f"hyp:{tmp_path}", split="dev")
    assert main(["sessions-eval", str(out), "--diarization",
                 f"hyp:{tmp_path / 'missing.rttm'}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"synthaudio: error: {tmp_path / 'missing.rttm'}: --diarization file "
                   "not found"]


# tiny.en over the two dry espeak-ng sessions' turns measured 33.3% (pocketsphinx 65.7%)
CPWER_WHISPER_MAX = 0.40


def test_cpwer_of_whisper_over_the_reference_turns(out: Path, tmp_path: Path) -> None:
    """asr:faster-whisper transcribes each reference turn of the mix (oracle segments and
    speakers) with the bundled tiny.en; a hypothesis of the same turns, so cpWER is its WER
    on the corpus's conversational speech, written beside the scores."""
    scores = evaluate_sessions(out, transcripts="asr:faster-whisper", name="whisper")
    hyps = json.loads((out / "eval" / "whisper" / "hyp-asr.json").read_text())
    entries = []
    for r in iter_metadata(out):
        entries += json.loads(session_file(out, "sessions", "test", r.id).read_text())
    assert [(h["session_id"], h["speaker"], h["start_time"]) for h in hyps] == [
        (e["session_id"], e["speaker"], e["start_time"]) for e in entries]
    assert scores.cpwer is not None and 0.0 <= scores.cpwer <= CPWER_WHISPER_MAX
    assert scores.details["transcripts"]["asr"] == "faster-whisper"
    assert sum(len(h["words"].split()) for h in hyps) > 0
    with pytest.raises(InputError, match="expected pocketsphinx"):
        evaluate_sessions(out, transcripts="asr:nonsense", name="bad")

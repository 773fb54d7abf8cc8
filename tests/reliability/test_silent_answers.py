"""No silent wrong answer: strict RTTM, UEM and SegLST readers name the line and field of a
bad one, a system that names none of the reference sessions gets a note; ``profile``
refuses NaN, empty and cut-off audio by name and never writes a NaN; every silent cap of
``sessions`` is a note; a refused RT60 range leaves no folder; a 0.01 s file prints no numpy
warning."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from relutil import SESSIONS_CONFIG, write_sessions_config

from synthaudio.augment import rirbank
from synthaudio.cli import main
from synthaudio.errors import InputError


def _error(code: int, err: str, *expected: str) -> None:
    assert code == 2, err
    assert err.startswith("synthaudio: error: ") and err.count("\n") == 1, err
    for text in expected:
        assert text in err, err


def _reference_rttm(out: Path) -> str:
    return "".join(p.read_text() for p in sorted((out / "manifests/rttm/test").glob("*.rttm")))


@pytest.mark.parametrize(("bad", "expected"), [
    ("SPEAKER {sid} 1 0.5 1.0\n", ":2: 5 fields, an RTTM SPEAKER line has 10"),
    ("SPEAKER {sid} 1 0.5 -1.0 <NA> <NA> spk9 <NA> <NA>\n",
     ":2: field 5 (duration): expected a number >= 0, got '-1.0'"),
    ("SPEAKER {sid} 1 x 1.0 <NA> <NA> spk9 <NA> <NA>\n",
     ":2: field 4 (start): expected a number >= 0, got 'x'"),
    ("{sid} 1 0.5 1.0\n", ":2: field 1 (type): expected SPEAKER"),
])
def test_a_bad_rttm_line_is_named(tmp_path: Path, session_corpus: Path, bad: str,
                                  expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    shutil.copytree(session_corpus, out)
    good = _reference_rttm(out).splitlines(keepends=True)
    hyp = tmp_path / "hyp.rttm"
    hyp.write_text(good[0] + bad.format(sid=good[0].split()[1]) + "".join(good[1:]))
    code = main(["sessions-eval", str(out), "--diarization", f"hyp:{hyp}"])
    _error(code, capsys.readouterr().err, f"{hyp}{expected}")
    assert not (out / "eval").exists()


def test_an_rttm_of_other_sessions_gets_a_note(
        tmp_path: Path, session_corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    shutil.copytree(session_corpus, out)
    hyp = tmp_path / "hyp.rttm"
    hyp.write_text(_reference_rttm(out).replace("session-", "meeting-"))
    assert main(["sessions-eval", str(out), "--diarization", f"hyp:{hyp}"]) == 0
    printed = capsys.readouterr().out
    assert "DER 100.00 %" in printed
    assert "note: the system's RTTM names none of the 2 reference sessions (meeting-000000" \
        in printed, printed
    # the reference itself scores 0, without a note
    hyp.write_text(_reference_rttm(out))
    assert main(["sessions-eval", str(out), "--diarization", f"hyp:{hyp}"]) == 0
    printed = capsys.readouterr().out
    assert "DER 0.00 %" in printed and "note" not in printed


def test_a_bad_seglst_entry_is_named(tmp_path: Path, session_corpus: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    shutil.copytree(session_corpus, out)
    entries = json.loads((out / "manifests/sessions/test/session-000000.json").read_text())
    entries[1]["start_time"] = "soon"
    hyp = tmp_path / "hyp.json"
    hyp.write_text(json.dumps(entries))
    _error(main(["sessions-eval", str(out), "--transcripts", f"hyp:{hyp}"]),
           capsys.readouterr().err, f"{hyp}: entry 1: start_time: expected a number, got 'soon'")
    for e in entries:
        e["session_id"] = "elsewhere"
        e["start_time"] = 0.0
    hyp.write_text(json.dumps(entries))
    assert main(["sessions-eval", str(out), "--transcripts", f"hyp:{hyp}"]) == 0
    printed = capsys.readouterr().out
    assert "cpWER 100.00 %" in printed and "names none of the reference's sessions" in printed


def test_a_bad_uem_line_is_named(tmp_path: Path) -> None:
    from synthaudio.pipelines.sessions.evaluate import load_uem

    uem = tmp_path / "a.uem"
    uem.write_text("s1 1 0.000 12.5\ns2 1 3.0 1.0\n")
    with pytest.raises(InputError, match=r"a.uem:2: field 4 \(end\): expected a number >= 3, "
                                         r"got '1.0'"):
        load_uem(uem)
    uem.write_text("s1 1 0.000\n")
    with pytest.raises(InputError, match=r"a.uem:1: 3 fields, a UEM line has 4"):
        load_uem(uem)


def _tone(path: Path, seconds: float = 1.0, subtype: str = "PCM_16") -> np.ndarray:
    t = np.arange(int(16000 * seconds)) / 16000
    x = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x, 16000, subtype=subtype)
    return x


def _profile(folder: Path, out: Path, *extra: str) -> int:
    return main(["profile", str(folder), "-o", str(out), "-q", *extra])


def test_profile_refuses_nan_empty_and_cut_off_audio_by_name(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "folder"
    x = _tone(folder / "good.wav")
    x[100:110] = np.nan
    sf.write(folder / "nan.wav", x, 16000, subtype="FLOAT")
    out = tmp_path / "p.json"
    _error(_profile(folder, out, "--skip", "quality,voices"), capsys.readouterr().err,
           f"{folder / 'nan.wav'}: audio holds 10 NaN or infinite samples")
    (folder / "nan.wav").unlink()
    (folder / "empty.wav").write_bytes(b"")
    _error(_profile(folder, out, "--skip", "quality,voices"), capsys.readouterr().err,
           "empty.wav: cannot read audio: empty file")
    (folder / "empty.wav").unlink()
    whole = (folder / "good.wav").read_bytes()
    (folder / "cut.wav").write_bytes(whole[:len(whole) // 2])
    _error(_profile(folder, out, "--skip", "quality,voices"), capsys.readouterr().err,
           "cut.wav: truncated WAV file")
    assert not out.exists()


def test_a_short_silent_file_gives_no_nan_and_no_numpy_warning(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "folder"
    _tone(folder / "tone.wav")
    sf.write(folder / "short.wav", np.zeros(160, np.float32), 16000)  # 0.01 s of silence
    out = tmp_path / "p.json"
    with warnings.catch_warnings(record=True) as seen:  # what a terminal would show
        warnings.simplefilter("always")
        assert _profile(folder, out, "-j", "1") == 0  # every measurement, encoder included
    assert [str(w.message) for w in seen if issubclass(w.category, RuntimeWarning)] == []
    err = capsys.readouterr().err
    assert "Warning" not in err, err
    text = out.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert main(["compare", str(out), str(out)]) == 0
    assert "nan" not in capsys.readouterr().out


def test_sessions_notes_every_cap(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_sessions_config(tmp_path / "cfg", SESSIONS_CONFIG.replace(
        "speakers: [2, 3]", "speakers: [2, 9]").replace("length_s: [10, 14]",
                                                        "length_s: [1, 1]"))
    assert main(["sessions", str(config), "-o", str(tmp_path / "out"), "-q", "-j", "1"]) == 0
    printed = capsys.readouterr().out
    assert ("note: sessions.speakers asks up to 9 talkers, but the test split has 6 speakers"
            in printed), printed
    assert "s long on average, sessions.length_s asks 1-1 s" in printed


def test_a_refused_rt60_range_leaves_no_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rirbank, "reached", lambda target_s, measured_s: False)
    out = tmp_path / "bank"
    code = main(["rirs", "-o", str(out), "--count", "1", "--rt60", "0.3:0.4", "-q", "-j", "1"])
    _error(code, capsys.readouterr().err, "rooms drawn for rir-000000 could not reach")
    assert not out.exists()

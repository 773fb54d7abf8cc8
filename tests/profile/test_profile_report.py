"""synthaudio report OUT --compare PROFILE: real-vs-synthetic histograms and the table."""

from __future__ import annotations

import shutil
from pathlib import Path

from synthaudio.cli import main
from synthaudio.profile.profile import ProfileOptions, load_profile, profile_corpus

LIGHT = ProfileOptions(families=("level", "noise", "channel", "reverb", "speech"))


def test_report_draws_the_comparison(clean_corpus: Path, real_light_profile: Path,
                                     tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(clean_corpus, out)
    profile_corpus(out, out / "profile.json", options=LIGHT)  # reused, not re-measured
    before = (out / "profile.json").read_bytes()
    assert main(["report", str(out), "--compare", str(real_light_profile)]) == 0
    page = (out / "report" / "index.html").read_text(encoding="utf-8")
    assert "Real vs synthetic" in page and "Fréchet distance" in page
    for name in ("snr_db", "rt60_s", "band_high_hz", "duration_s"):
        png = out / "report" / "img" / f"profile-{name}.png"
        assert png.stat().st_size > 1000 and f"img/profile-{name}.png" in page
    assert (out / "profile.json").read_bytes() == before

    # a reference profile kept in OUT is picked up without --compare
    shutil.copy(real_light_profile, out / "reference_profile.json")
    assert main(["report", str(out)]) == 0
    assert "Real vs synthetic" in (out / "report" / "index.html").read_text(encoding="utf-8")
    assert load_profile(out / "reference_profile.json")["utterances"] == 11

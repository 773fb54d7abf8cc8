"""synthaudio report OUT --compare PROFILE: real-vs-synthetic histograms and the table."""

from __future__ import annotations

import base64
import re
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
    for name in ("snr_db", "rt60_s", "band_high_hz", "duration_s"):  # embedded PNGs
        m = re.search(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" '
                      rf'alt="histograms of {name}">', page)
        assert m is not None, name
        png = base64.b64decode(m.group(1))
        assert png.startswith(b"\x89PNG") and len(png) > 1000, name
    assert not (out / "report" / "img").exists()  # one self-contained file
    assert (out / "profile.json").read_bytes() == before

    # a reference profile kept in OUT is picked up without --compare
    shutil.copy(real_light_profile, out / "reference_profile.json")
    assert main(["report", str(out)]) == 0
    assert "Real vs synthetic" in (out / "report" / "index.html").read_text(encoding="utf-8")
    assert load_profile(out / "reference_profile.json")["utterances"] == 11

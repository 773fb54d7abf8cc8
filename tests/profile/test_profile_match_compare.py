"""match writes a config synthaudio loads, with a comment per fitted value, that covers the
target; compare's distance falls from the unmatched to the matched corpus (real fixture)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from synthaudio.cli import main
from synthaudio.pipelines.augment_dir.config import load_augment_config
from synthaudio.pipelines.generate.config import load_corpus_config
from synthaudio.pipelines.generate.pipeline import generate_corpus
from synthaudio.profile.compare import compare_profiles, frechet_distance
from synthaudio.profile.match import match_config
from synthaudio.profile.profile import ProfileOptions, load_profile, profile_corpus

REPO = Path(__file__).resolve().parents[2]
LIGHT_FAMILIES = ("level", "noise", "channel", "reverb", "speech")  # no DNSMOS, no encoder

LIMIT = 24


def test_matched_config_loads_and_comments_every_fitted_value(
        real_light_profile: Path, small_quickstart: Path, tmp_path: Path) -> None:
    out = tmp_path / "matched.yaml"
    assert main(["match", str(real_light_profile), str(small_quickstart), "-o", str(out)]) == 0
    cfg = load_corpus_config(out)  # synthaudio's own loader
    text = out.read_text(encoding="utf-8")
    for key in ("snr_db:", "rt60_s:", "high_hz:", "gain_db:", "rate_wpm:", "sample_rate:"):
        line = next(line for line in text.splitlines() if line.strip().startswith(key))
        assert "  # " in line, line  # the measurement it came from
    prof = load_profile(real_light_profile)
    snr = [r["snr_db"] for r in prof["per_utterance"]]
    lo, hi = cfg.augment.noise.snr_db if cfg.augment else (0, 0)
    assert lo <= np.quantile(snr, 0.05) and hi >= np.quantile(snr, 0.95)
    assert cfg.audio.sample_rate == 16000
    wide = match_config(prof, small_quickstart, widen=1.0)
    wlo, whi = yaml.safe_load(wide)["augment"]["noise"]["snr_db"]
    assert wlo < lo and whi > hi

    aug_out = tmp_path / "matched_aug.yaml"
    base = REPO / "recipes" / "augment_real" / "augment.yaml"
    assert main(["match", str(real_light_profile), str(base), "-o", str(aug_out)]) == 0
    acfg = load_augment_config(aug_out)
    assert acfg.sample_rate == 16000 and acfg.augment.noise.probability == 1.0


def test_match_covers_a_known_target(small_quickstart: Path, tmp_path: Path,
                                     clean_yaml: str) -> None:
    """A target made by synthaudio with SNR 5-15 dB white noise and an 8 kHz band: the fit
    must cover those ranges."""
    target_cfg = yaml.safe_load(clean_yaml)
    target_cfg["audio"] = {"sample_rate": 8000}
    target_cfg["augment"] = {"noise": {"probability": 1, "snr_db": [5, 15],
                                       "kinds": {"white": 1}, "num_sources": [1, 1]}}
    target_cfg["exports"] = ["kaldi"]
    cfg_path = tmp_path / "target.yaml"
    cfg_path.write_text(yaml.safe_dump(target_cfg), encoding="utf-8")
    generate_corpus(cfg_path, tmp_path / "target", progress=False)
    profile_corpus(tmp_path / "target", tmp_path / "target.json",
                   options=ProfileOptions(families=LIGHT_FAMILIES))
    prof = load_profile(tmp_path / "target.json")
    fitted = yaml.safe_load(match_config(prof, small_quickstart, widen=0.25))
    assert fitted["audio"]["sample_rate"] == 8000
    lo, hi = fitted["augment"]["noise"]["snr_db"]
    # synthetic speech has no silence around it: the estimate reads the word gaps as noise,
    # so the measured SNR spread is wider than 5-15; the fit must still cover the truth
    assert lo <= 5 and hi >= 15
    assert max(fitted["augment"]["noise"]["kinds"], key=fitted["augment"]["noise"]["kinds"].get
               ) == "white"


def test_compare_identity_and_frechet() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((200, 3))
    assert frechet_distance(a, a) < 1e-9
    b = a + np.array([2.0, 0.0, 0.0])
    assert abs(frechet_distance(a, b) - 4.0) < 1e-6


def test_distance_falls_from_unmatched_to_matched(
        real_light_profile: Path, small_quickstart: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    matched_cfg = tmp_path / "matched.yaml"
    assert main(["match", str(real_light_profile), str(small_quickstart), "-o",
                 str(matched_cfg)]) == 0
    options = ProfileOptions(families=LIGHT_FAMILIES)
    results = {}
    for name, cfg in (("unmatched", small_quickstart), ("matched", matched_cfg)):
        generate_corpus(cfg, tmp_path / name, limit=LIMIT, progress=False)
        profile_corpus(tmp_path / name, tmp_path / f"{name}.json", options=options)
        results[name] = compare_profiles(load_profile(real_light_profile),
                                         load_profile(tmp_path / f"{name}.json"))
    before, after = results["unmatched"].frechet, results["matched"].frechet
    assert before is not None and after is not None
    w_before = {f.name: f.w_std for f in results["unmatched"].features}
    w_after = {f.name: f.w_std for f in results["matched"].features}
    with capsys.disabled():
        print(f"\nreal fixture vs quickstart ({LIMIT} utterances): Frechet {before:.2f} "
              f"unmatched, {after:.2f} matched; W/std per feature [unmatched, matched]:")
        print(json.dumps({k: [round(w_before[k], 2), round(w_after[k], 2)] for k in w_before}))
    assert after < 0.7 * before
    assert w_after["rt60_s"] < w_before["rt60_s"]
    assert w_after["snr_db"] < w_before["snr_db"] + 0.2
    assert main(["compare", str(real_light_profile), str(tmp_path / "matched.json")]) == 0
    table = capsys.readouterr().out
    assert "Frechet distance" in table and "snr_db" in table and f"{after:.3f}" in table


def _profile(durations_s: list[float], speech_s: list[float], snrs_db: list[float]) -> dict:
    per = [{"duration_s": d, "speech_s": s, "snr_db": x, "sample_rate": 8000}
           for d, s, x in zip(durations_s, speech_s, snrs_db, strict=True)]
    return {"source": {"path": "target"}, "utterances": len(per), "per_utterance": per,
            "categories": {"sample_rate": {"8000": len(per)}}}


def test_match_keeps_the_base_snr_of_tightly_trimmed_clips(small_quickstart: Path) -> None:
    """Clips with hardly any non-speech (0.05 s each): their blind SNR estimates (-20 to
    53 dB) measure speech, not noise; the fit keeps the base range and says why. With 0.5 s
    of non-speech the same estimates are fitted, less the one at the estimate's floor."""
    base = yaml.safe_load(small_quickstart.read_text(encoding="utf-8"))["augment"]["noise"]
    snrs = list(np.linspace(-20, 53, 40))
    trimmed = match_config(_profile([0.5] * 40, [0.45] * 40, snrs), small_quickstart)
    noise = yaml.safe_load(trimmed)["augment"]["noise"]
    assert noise["snr_db"] == list(base["snr_db"])
    assert noise["probability"] == base["probability"]
    line = next(x for x in trimmed.splitlines() if x.strip().startswith("probability:")
                and "non-speech" in x)
    assert "base value: only 0 of 40 utterances" in line
    text = match_config(_profile([1.0] * 40, [0.5] * 40, snrs), small_quickstart)
    padded = yaml.safe_load(text)["augment"]["noise"]
    lo, hi = padded["snr_db"]
    # -20 dB is the estimate's floor (no measurement): 39 count, 2 of them above 50 dB
    assert lo < -15 and hi > 40 and padded["probability"] == round(37 / 39, 3)
    assert "the 39 of 40 utterances" in text

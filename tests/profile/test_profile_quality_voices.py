"""DNSMOS (against speechmos's reference scorer) and speaker-embedding statistics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from synthaudio.profile.quality import Dnsmos
from synthaudio.profile.voices import VoiceEmbedder, voice_stats

REAL_SPEECH = Path(__file__).resolve().parents[1] / "fixtures" / "real_speech"


def test_dnsmos_matches_the_reference_and_falls_with_noise() -> None:
    import speechmos.dnsmos as ref_module

    x, rate = sf.read(str(REAL_SPEECH / "wav" / "cards-005.wav"), dtype="float32")
    assert rate == 16000
    ours = Dnsmos()(x)
    models = Path(ref_module.__file__).parent / "dnsmos_models"
    ref = ref_module.DNSMOS(str(models / "sig_bak_ovr.onnx"), str(models / "model_v8.onnx"))
    theirs = ref(x, 16000, False)
    assert abs(ours["dnsmos_ovrl"] - theirs["ovrl_mos"]) < 0.1
    assert abs(ours["dnsmos_bak"] - theirs["bak_mos"]) < 0.1
    noisy = x + 0.05 * np.random.default_rng(0).standard_normal(len(x)).astype(np.float32)
    assert Dnsmos()(noisy)["dnsmos_bak"] < ours["dnsmos_bak"] - 1.0


def test_same_speaker_is_more_similar_than_other_speakers() -> None:
    enc = VoiceEmbedder()
    names = ["librivox-0870", "librivox-0880", "librivox-0890", "cards-001", "cards-005",
             "forever-01"]
    speakers = [n.split("-")[0] for n in names]
    embs = [enc(sf.read(str(REAL_SPEECH / "wav" / f"{n}.wav"), dtype="float32")[0])
            for n in names]
    assert all(e is not None and abs(np.linalg.norm(e) - 1) < 1e-3 for e in embs)
    stats = voice_stats(embs, speakers)
    print({k: v for k, v in stats.items() if k not in ("centroid", "typicality")})
    assert stats["within_speaker_similarity"] > stats["between_speaker_similarity"] + 0.1
    assert len(stats["centroid"]) == 256 and stats["count"] == 6

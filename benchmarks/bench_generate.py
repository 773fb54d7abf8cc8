"""End-to-end ``generate -j 1`` throughput as a ratio to raw espeak-ng synthesis.

Side by side in one process, on the same planned texts and voices: (a) raw synthesis, one
initialized espeak-ng library synthesizing every utterance to memory (no resampling, no
files); (b) the whole pipeline, ``generate_corpus(..., jobs=1)`` into a fresh folder
(TTS, resampling, word timings, environment, writing audio, metadata and exports), and
(c) the same without the ``augment:`` section, to show where the time goes. Each is run
several times alternately; medians are reported: wall time, and for (a) and (c) also CPU
time of every thread (audio files are written by a second thread): the per-core figure.

    python benchmarks/bench_generate.py [--config corpora/quickstart/corpus.yaml] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import raw_espeak, variant_config

from synthaudio.pipelines.generate.config import load_corpus_config
from synthaudio.pipelines.generate.pipeline import generate_corpus
from synthaudio.pipelines.generate.plan import plan_corpus


def cpu_s() -> float:
    """CPU seconds of this process so far, every thread included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def pipeline_seconds(config: Path, work: Path, tag: str) -> tuple[float, float]:
    """(wall s, CPU s) of one ``generate -j 1`` into a fresh folder."""
    out = work / tag
    start, cpu = time.perf_counter(), cpu_s()
    generate_corpus(config, out, jobs=1, progress=False)
    return time.perf_counter() - start, cpu_s() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("corpora/quickstart/corpus.yaml"))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    cfg = load_corpus_config(args.config)
    plan = plan_corpus(cfg, args.config.parent)
    texts = [(u.text, u.speaker.voice) for u in plan.utterances]

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        # the same corpus without its environment section, as a second pipeline variant
        dry = variant_config(args.config, work / "dry.yaml", drop=("augment",))

        raw, full, clean, raw_cpu, clean_cpu = [], [], [], [], []
        audio_s = 0.0
        pipeline_seconds(args.config, work, "warmup")  # imports, caches
        for i in range(args.repeats):  # a fresh OUT each time: a re-run would resume
            cpu = cpu_s()
            wall, audio_s = raw_espeak(texts, time.perf_counter)
            raw_cpu.append(cpu_s() - cpu)
            raw.append(wall)
            full.append(pipeline_seconds(args.config, work, f"full{i}")[0])
            wall, cpu = pipeline_seconds(dry, work, f"dry{i}")
            clean.append(wall)
            clean_cpu.append(cpu)

    raw_s, full_s, clean_s = (statistics.median(x) for x in (raw, full, clean))
    raw_cpu_s, clean_cpu_s = statistics.median(raw_cpu), statistics.median(clean_cpu)
    print(json.dumps({
        "config": str(args.config),
        "utterances": len(texts),
        "audio_s": round(audio_s, 1),
        "repeats": args.repeats,
        "raw_espeak_s": round(raw_s, 3),
        "generate_j1_s": round(full_s, 3),
        "generate_j1_no_augment_s": round(clean_s, 3),
        "ratio_generate_to_raw": round(raw_s / full_s, 3),
        "ratio_no_augment_to_raw": round(raw_s / clean_s, 3),
        # per core: CPU seconds of every thread (audio files are written by a second thread)
        "cpu_ratio_no_augment_to_raw": round(raw_cpu_s / clean_cpu_s, 3),
        "target_ratio": 0.50,
        "raw_espeak_realtime_x": round(audio_s / raw_s, 1),
        "runs": {"raw": [round(x, 3) for x in raw], "full": [round(x, 3) for x in full],
                 "no_augment": [round(x, 3) for x in clean]},
        "numpy": np.__version__,
    }, indent=1))


if __name__ == "__main__":
    main()

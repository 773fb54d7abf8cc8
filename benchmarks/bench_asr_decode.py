"""Where the ASR check's CPU goes per clip, and what Whisper's decode options would save.

The check (``quality.asr``, faster-whisper tiny.en, int8, one thread) decodes each clean
rendering alone. Whisper encodes a 30-second window whatever the clip's length, so the
encoder may be nearly all of it; this measures, on digit strings spoken by espeak-ng and
Flite (the digits corpus's two largest engines), CPU seconds per clip of:

- ``encode``: the log-mel features and the encoder pass over the padded 30 s window;
- ``check``: the check's decode as it is (beam 5, timestamps, temperature 0);
- ``beam1``: greedy;
- ``beam1_notimestamps``: greedy, ``without_timestamps``, ``max_new_tokens`` bounded by the
  clip (8 + 6 a second);

and, for each option, how many hypotheses differ from the check's (English-normalized).

    python benchmarks/bench_asr_decode.py [--clips 24] [--repeats 3]

Prints one JSON object. CPU of this process (CTranslate2 runs one thread).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def clips(count: int) -> list[tuple[np.ndarray, str]]:
    """(16 kHz float32 clip, text): digit strings of 1-4 digits, espeak-ng and Flite."""
    from synthaudio.pipelines.generate.config import load_corpus_config
    from synthaudio.pipelines.generate.plan import plan_corpus
    from synthaudio.tts.render import SpeechRenderer

    config = ROOT / "corpora" / "digits" / "corpus.yaml"
    cfg = load_corpus_config(config)
    plan = plan_corpus(cfg, config.parent)
    renderer = SpeechRenderer(cfg.speakers, 16000, config.parent)
    out = []
    for spec in plan.utterances:
        if spec.speaker.engine not in ("espeak-ng", "flite"):
            continue
        audio, _ = renderer.speak(spec.text, spec.speaker.voice)
        out.append((audio, spec.text))
        if len(out) == count:
            break
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=24)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)

    from faster_whisper.audio import pad_or_trim

    from synthaudio.evaluate.asr import FasterWhisperBackend
    from synthaudio.evaluate.normalizer import EnglishEvalNormalizer

    normalize_english = EnglishEvalNormalizer()
    data = clips(args.clips)
    backend = FasterWhisperBackend().check()
    model = backend._get_model()
    model.transcribe(data[0][0], language="en")  # warm

    def encode(x: np.ndarray) -> str:
        np.array(model.encode(pad_or_trim(model.feature_extractor(x))))
        return ""

    def decode(**opts: Any) -> Any:
        def run(x: np.ndarray) -> str:
            segments, _ = model.transcribe(
                x, language="en", temperature=0.0, condition_on_previous_text=False,
                vad_filter=False, **opts)
            return " ".join(s.text.strip() for s in segments).strip()
        return run

    variants = {
        "encode": encode,
        "check": decode(beam_size=5),
        "beam1": decode(beam_size=1),
        "beam1_notimestamps": None,  # built per clip (its token bound depends on the clip)
    }
    times: dict[str, list[float]] = {k: [] for k in variants}
    texts: dict[str, list[str]] = {k: [] for k in variants}
    for rep in range(args.repeats):
        for name, fn in variants.items():
            start = cpu_s()
            got = []
            for x, _ in data:
                if fn is None:
                    bound = 8 + int(6 * x.size / 16000)
                    got.append(decode(beam_size=1, without_timestamps=True,
                                      max_new_tokens=bound)(x))
                else:
                    got.append(fn(x))
            times[name].append((cpu_s() - start) / len(data))
            if rep == 0:
                texts[name] = [normalize_english(t) for t in got]
    audio_s = sum(x.size for x, _ in data) / 16000
    check = texts["check"]
    result = {
        "clips": len(data), "audio_s": round(audio_s, 1), "repeats": args.repeats,
        "cpu_ms_per_clip": {k: round(1000 * statistics.median(v), 1) for k, v in times.items()},
        "runs_ms_per_clip": {k: [round(1000 * t, 1) for t in v] for k, v in times.items()},
        "hypotheses_differing_from_check": {
            k: sum(a != b for a, b in zip(v, check, strict=True))
            for k, v in texts.items() if k not in ("encode", "check")},
    }
    enc, full = statistics.median(times["encode"]), statistics.median(times["check"])
    result["encoder_share_of_check"] = round(enc / full, 3)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

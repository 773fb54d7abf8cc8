"""Streams: minutes of other speech by test speakers, with positives at known times, to
count false accepts per hour and to score detection in running audio.

A stream is phrases (prompts, and targets at ``positives_per_minute``) said one after the
other by drawn test speakers, with drawn gaps, then the environment (room, noise, channel;
no speed: the times stay as placed). Its record's ``events`` are the positives as
``[label, start_s, end_s]`` from their word timings; ``words`` are every word said.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from synthaudio.pipelines.keywords.plan import ClipSpec

if TYPE_CHECKING:
    from synthaudio.pipelines.keywords.render import ClipRenderer


def render_stream(renderer: ClipRenderer, spec: ClipSpec) -> dict[str, Any]:
    """Render stream ``spec``; its record (audio written)."""
    from synthaudio.pipelines.keywords.render import SUB_STREAM, clip_rng

    cfg, rate = renderer.cfg, renderer.rate
    rng = clip_rng(cfg.seed, spec.index, SUB_STREAM)
    n_out = round(cfg.streams.duration_s * rate)
    params = renderer.environment_params(spec.index, n_out)  # speed too: times are mapped
    n = params.num_samples if params is not None else n_out
    buffer = np.zeros(n, np.float32)
    every_s = 60.0 / cfg.streams.positives_per_minute if cfg.streams.positives_per_minute else 0
    next_positive_s = float(rng.uniform(0.5, 1.0)) * every_s if every_s else float("inf")
    targets = [(str(t.text), str(t.label)) for t in cfg.targets]
    words: list[tuple[str, float, float]] = []
    events: list[list[Any]] = []
    phrases: list[dict[str, Any]] = []
    t = int(rng.uniform(*cfg.streams.gap_s) * rate)
    k = 0
    while t < n:
        speaker = renderer.stream_speakers[int(rng.integers(len(renderer.stream_speakers)))]
        positive = t / rate >= next_positive_s
        if positive:
            text, label = targets[int(rng.integers(len(targets)))]
            next_positive_s += every_s * float(rng.uniform(0.5, 1.5))
        else:
            text = renderer.stream_texts[int(rng.integers(len(renderer.stream_texts)))]
            label = None
        speech, said, _ = renderer.say(text, speaker, clip_rng(cfg.seed, spec.index,
                                                               1000 + k))
        k += 1
        if t + len(speech) > n:
            break
        buffer[t:t + len(speech)] = speech
        start_s = t / rate
        placed = [(w.word, start_s + w.start_s, w.dur_s) for w in said]
        words.extend(placed)
        if label is not None and placed:
            events.append([label, round(placed[0][1], 4),
                           round(placed[-1][1] + placed[-1][2], 4)])
        phrases.append({"speaker": speaker.speaker_id, "engine": speaker.engine, "text": text,
                        "start_s": round(start_s, 4)})
        t += len(speech) + int(rng.uniform(*cfg.streams.gap_s) * rate)
    audio, _, result = renderer.apply(buffer, params, n_out)
    if result is not None:
        words = [(w, result.map_time(s), d * result.time_scale) for w, s, d in words]
        events = [[lab, round(result.map_time(a), 4), round(result.map_time(b), 4)]
                  for lab, a, b in events]
    spoken = " ".join(w for w, _, _ in words) or "<sil>"
    spec = replace(spec, text=spoken)
    return renderer.record(spec, audio, words, {"engine": "mixed", "phrases": phrases},
                            result, {"events": events})

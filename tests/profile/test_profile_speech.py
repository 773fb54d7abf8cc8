"""Duration, speaking rate, pauses and F0 against known values."""

from __future__ import annotations

import json

import numpy as np

from synthaudio.profile.speech import f0_stats, measure_speech
from synthaudio.profile.vad import SileroVad


def test_speaking_rate_and_duration_match_the_word_timings(clean_corpus, clean_speech) -> None:  # type: ignore[no-untyped-def]
    vad = SileroVad()
    records = [json.loads(line) for line in
               (clean_corpus / "metadata.jsonl").read_text(encoding="utf-8").splitlines()]
    records.sort(key=lambda r: r["audio"])
    ratios = []
    for rec, x in zip(records, clean_speech, strict=True):
        seg = vad.segments(x)
        res = measure_speech(x, 16000, seg, rec["text"])
        assert abs(res["duration_s"] - len(x) / 16000) < 1e-9
        words = rec["words"]
        spoken_s = words[-1][1] + words[-1][2] - words[0][1]
        ratios.append(res["speaking_rate_wps"] / (len(words) / spoken_s))
        assert abs(res["lead_silence_s"] - 0.4) < 0.1  # the fixture's padding
    print("speaking rate / rate from the word timings:", np.round(ratios, 3))
    assert np.all(np.abs(np.asarray(ratios) - 1) < 0.15)


def test_pause_between_two_utterances(clean_speech) -> None:  # type: ignore[no-untyped-def]
    vad = SileroVad()
    a, b = clean_speech[0][6400:-6400], clean_speech[1][6400:-6400]
    x = np.concatenate([np.zeros(6400, np.float32), a, np.zeros(8000, np.float32), b,
                        np.zeros(6400, np.float32)])
    res = measure_speech(x, 16000, vad.segments(x), None)
    assert res["speaking_rate_wps"] is None
    assert abs(res["pause_max_s"] - 0.5) < 0.12, res


def test_f0_of_a_harmonic_tone() -> None:
    t = np.arange(16000) / 16000
    f0 = 120 * 2 ** (2 * t / 12)  # a glide of two semitones
    phase = 2 * np.pi * np.cumsum(f0) / 16000
    x = sum(np.sin(k * phase) / k for k in range(1, 8)) * 0.2
    median, range_st = f0_stats(x.astype(np.float32), 16000)
    assert median is not None and range_st is not None
    assert abs(median - 120 * 2 ** (1 / 12)) < 3
    assert 1.2 < range_st < 2.3

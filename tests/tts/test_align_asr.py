"""Word timings from Whisper's word timestamps, against espeak-ng's own timings."""

from __future__ import annotations

import numpy as np

from synthaudio.pipelines.generate.config import parse_corpus_config
from synthaudio.pipelines.generate.plan import plan_corpus
from synthaudio.pipelines.generate.render import Renderer
from synthaudio.tts.align import align_or_estimate, asr_word_timings, boundary_errors
from synthaudio.tts.base import WordTiming

CONFIG = """\
name: t
seed: 5
text: {sources: [{template: "{turn on the light in the kitchen|the 7 boats left at noon}"}]}
speakers: {count: 2, variants: [m1, f2]}
utterances: {per_speaker: 1}
"""


def test_whisper_timings_land_near_espeak_timings(tmp_path) -> None:
    cfg = parse_corpus_config(CONFIG)
    plan = plan_corpus(cfg, tmp_path, None)
    renderer = Renderer(cfg)
    whisper_errors, aligned_errors = [], []
    for spec in plan.utterances:
        synth = renderer.engine.synthesize(spec.text, spec.speaker.voice)
        words = spec.text.split()  # "the seven boats..." (spoken form): Whisper writes "7"
        assert synth.words is not None and len(synth.words) == len(words)
        got = asr_word_timings(synth.audio, synth.sample_rate, words)
        assert got is not None and [w.word for w in got] == words
        whisper_errors += boundary_errors(synth.words, got)
        aligned, how = align_or_estimate(synth.audio, synth.sample_rate, words)
        aligned_errors += boundary_errors(synth.words, aligned)
    # measured on 15 espeak-ng sentences: Whisper median 79 ms, p95 204 ms; the forced
    # aligner 12 ms and 65 ms (Whisper's timestamps are the coarser, a fallback)
    assert np.median(whisper_errors) < 0.15 and np.median(aligned_errors) < 0.05


class _Fake:
    def __init__(self, words: list[tuple[str, float, float]]) -> None:
        self.words = words

    def transcribe_words(self, audio: np.ndarray, rate: int) -> tuple[str, tuple]:
        from synthaudio.evaluate.asr import WhisperWord

        return "", tuple(WhisperWord(w, s, e) for w, s, e in self.words)


def test_unmatched_words_share_the_gap_and_too_few_matches_is_none() -> None:
    audio = np.zeros(16000 * 3, np.float32)
    fake = _Fake([(" Turn", 0.2, 0.5), (" on", 0.5, 0.7), (" 21", 1.0, 1.6),
                  (" lights.", 2.0, 2.4)])
    got = asr_word_timings(audio, 16000, ["turn", "on", "twenty", "one", "bright", "lights"],
                           backend=fake)
    assert got is not None
    assert got[0] == WordTiming("turn", 0.2, 0.5 - 0.2)
    # "21" is "twenty one": two words, its time split between them
    assert got[2].word == "twenty" and (got[2].start_s, round(got[2].dur_s, 9)) == (1.0, 0.3)
    assert abs(got[3].start_s - 1.3) < 1e-9
    # "bright" was not recognized: it fills the gap between "one" and "lights"
    assert abs(got[4].start_s - 1.6) < 1e-9 and abs(got[4].dur_s - 0.4) < 1e-9
    assert asr_word_timings(audio, 16000, ["a", "b", "c"], backend=fake) is None

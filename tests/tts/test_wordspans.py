"""Word spans tightened to the signal, and reaching all of its speech."""

import numpy as np
import pytest

from synthaudio.tts.base import WordTiming
from synthaudio.tts.wordspans import reach_speech, tighten


def test_spans_lose_their_silent_edges_and_silent_spans_stay() -> None:
    sr = 16000
    audio = np.zeros(sr, np.float32)
    audio[4000:8000] = 0.5 * np.sin(np.arange(4000) * 0.3)  # sound from 0.25 s to 0.5 s
    words = (WordTiming("a", 0.1, 0.5), WordTiming("b", 0.7, 0.2))
    a, b = tighten(words, audio, sr)
    assert a.start_s == pytest.approx(0.25, abs=0.006)
    assert a.start_s + a.dur_s == pytest.approx(0.5, abs=0.006)
    assert b == words[1]  # nothing loud inside: kept
    assert tighten(words, np.zeros(sr, np.float32), sr) == words


def test_the_first_and_last_words_reach_the_speech_before_and_after_them() -> None:
    # Pico's aligned "off" began 0.23 s after its vowel; Piper's "up" 95 ms late
    sr = 16000
    audio = np.zeros(sr, np.float32)
    audio[3200:12800] = 0.5 * np.sin(np.arange(9600) * 0.3)  # sound from 0.2 s to 0.8 s
    words = (WordTiming("turn", 0.35, 0.1), WordTiming("it", 0.5, 0.05),
             WordTiming("off", 0.6, 0.1))
    first, middle, last = reach_speech(words, audio, sr)
    assert first.start_s == pytest.approx(0.2, abs=0.006)
    assert first.start_s + first.dur_s == pytest.approx(0.45)  # its end kept
    assert middle == words[1]
    assert last.start_s == pytest.approx(0.6)
    assert last.start_s + last.dur_s == pytest.approx(0.8, abs=0.006)
    wide = (WordTiming("off", 0.1, 0.85),)  # already wider than the speech: kept
    assert reach_speech(wide, audio, sr) == wide
    assert reach_speech(words, np.zeros(sr, np.float32), sr) == words
    assert reach_speech((), audio, sr) == ()

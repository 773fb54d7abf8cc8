"""Word spans tightened to the signal."""

import numpy as np
import pytest

from synthaudio.tts.base import WordTiming
from synthaudio.tts.wordspans import tighten


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

import numpy as np
import pytest

from synthaudio.errors import ConfigError
from synthaudio.tts.espeak import EspeakEngine
from synthaudio.tts.espeak_binding import EspeakVoice
from synthaudio.tts.espeak_data import shipped_variants, variant_gender


def voice(**kw):
    base = dict(voice="en-us", variant="m3", rate_wpm=170, pitch=50, pitch_range=50, volume=100,
                word_gap_ms=0)
    base.update(kw)
    return EspeakVoice(**base)


def test_synthesis_is_audio_with_ordered_word_timings_inside_it():
    engine = EspeakEngine()
    text = "turn on the light in the kitchen twenty three"
    s = engine.synthesize(text, voice())
    assert s.sample_rate == engine.native_sample_rate == 22050
    assert s.audio.dtype == np.float32 and s.audio.ndim == 1
    duration = len(s.audio) / s.sample_rate
    assert 1.0 < duration < 5.0
    assert np.sqrt(np.mean(s.audio**2)) > 0.01
    assert s.words is not None
    assert [w.word for w in s.words] == text.split()
    prev_end = 0.0
    for w in s.words:
        assert w.dur_s > 0.03
        assert w.start_s >= prev_end - 1e-9
        assert w.start_s + w.dur_s <= duration + 1e-9
        prev_end = w.start_s + w.dur_s
    # Words cover most of the voiced audio: outside them the signal is near silent.
    sr = s.sample_rate
    mask = np.zeros(len(s.audio), bool)
    for w in s.words:
        mask[int(w.start_s * sr):int((w.start_s + w.dur_s) * sr)] = True
    inside = np.sum(s.audio[mask] ** 2)
    assert inside / np.sum(s.audio**2) > 0.97


def test_rate_changes_duration_and_synthesis_is_deterministic():
    engine = EspeakEngine()
    text = "the quick brown fox jumps over the lazy dog"
    slow = engine.synthesize(text, voice(rate_wpm=120))
    fast = engine.synthesize(text, voice(rate_wpm=240))
    assert len(slow.audio) > 1.5 * len(fast.audio)
    again = engine.synthesize(text, voice(rate_wpm=120))
    assert np.array_equal(slow.audio, again.audio)


def test_pitch_parameter_changes_fundamental():
    import librosa

    engine = EspeakEngine()
    low = engine.synthesize("aaaah", voice(pitch=10)).audio
    high = engine.synthesize("aaaah", voice(pitch=90)).audio
    f0 = []
    for a in (low, high):
        f, voiced, _ = librosa.pyin(a, fmin=50, fmax=500, sr=22050)
        f0.append(np.nanmedian(f[voiced]))
    assert f0[1] > 1.3 * f0[0]


def test_unknown_voice_and_variant_name_close_matches():
    engine = EspeakEngine()
    with pytest.raises(ConfigError, match="close matches: en-us"):
        engine.check_voices(["en-uss"], [None])
    with pytest.raises(ConfigError, match="unknown espeak-ng variant 'f9'"):
        engine.check_voices(["en-us"], ["f9"])


def test_voices_and_variants_listed():
    engine = EspeakEngine()
    names = {v.name for v in engine.voices()}
    assert {"en-us", "en-gb-x-rp", "de", "fr"} <= names
    assert {"m1", "f1", "f5", "klatt"} <= set(shipped_variants())
    assert variant_gender("f2") == "f" and variant_gender("m7") == "m"
    assert variant_gender(None) == "m" and variant_gender("klatt") is None

import numpy as np
import pytest

from synthaudio.tts.align import (
    Aligner,
    align_or_estimate,
    align_words,
    estimate_words,
    letter_phones,
)
from synthaudio.tts.espeak import EspeakEngine
from synthaudio.tts.espeak_binding import EspeakVoice

SENTENCES = [
    "the birch canoe slid on the smooth planks",
    "glue the sheet to the dark blue background",
    "it is easy to tell the depth of a well",
    "these days a chicken leg is a rare dish",
    "rice is often served in round bowls",
    "the juice of lemons makes fine punch",
    "the box was thrown beside the parked truck",
    "four hours of steady work faced us",
    "a large size in stockings is hard to sell",
    "turn on the kitchen light at seven thirty",
    "call mom on her cell phone tomorrow",
    "nine eight seven six five four three two one zero",
]
# The bundled model is of American English: en-gb voices align worse (p95 about 130 ms).
VOICES = [("en-us", "m1", 165), ("en-us", "f3", 185), ("en-us", "m3", 150),
          ("en-us", "f1", 200), ("en-us", "m5", 140), ("en-us", "m7", 175)]


def espeak(text, voice="en-us", variant="m1", rate=170):
    return EspeakEngine().synthesize(text, EspeakVoice(voice, variant, rate, 50, 50, 100, 0))


def boundary_errors_ms(synth, text):
    """|aligned - engine| of every word start and end, ms, for one engine synthesis."""
    aligned = align_words(synth.audio, synth.sample_rate, text.split())
    assert [w.word for w in aligned] == text.split()
    errors = []
    for ref, got in zip(synth.words, aligned, strict=True):
        errors += [abs(got.start_s - ref.start_s),
                   abs(got.start_s + got.dur_s - ref.start_s - ref.dur_s)]
    return [1000 * e for e in errors]


def test_boundaries_match_espeak_word_timings():
    errors = []
    for k, text in enumerate(SENTENCES):
        voice, variant, rate = VOICES[k % len(VOICES)]
        errors += boundary_errors_ms(espeak(text, voice, variant, rate), text)
    errors_ms = np.array(errors)
    assert np.median(errors_ms) <= 30, np.median(errors_ms)
    assert np.percentile(errors_ms, 95) <= 80, np.percentile(errors_ms, 95)


def test_timings_are_ordered_inside_the_audio_at_any_rate():
    import soxr

    text = "set an alarm for six in the morning"
    synth = espeak(text)
    at_8k = soxr.resample(synth.audio, synth.sample_rate, 8000)
    a = align_words(synth.audio, synth.sample_rate, text.split())
    b = align_words(at_8k, 8000, text.split())
    duration = len(synth.audio) / synth.sample_rate
    prev = 0.0
    for w in a:
        assert w.start_s >= prev - 1e-9 and w.dur_s > 0.02
        prev = w.start_s + w.dur_s
    assert prev <= duration + 1e-9
    assert max(abs(x.start_s - y.start_s) for x, y in zip(a, b, strict=True)) <= 0.05


def test_out_of_dictionary_words_are_aligned_and_results_do_not_depend_on_history():
    text = "the zorbflix quantized birchwood gadget"
    synth = espeak(text, variant="f3")
    fresh = Aligner()
    assert fresh.pronunciation("zorbflix") is None
    first = fresh.align(synth.audio, synth.sample_rate, text.split())
    assert first is not None and [w.word for w in first] == text.split()
    ref = synth.words
    assert max(abs(x.start_s - y.start_s) for x, y in zip(first, ref, strict=True)) <= 0.1
    # another aligner that has seen other words first gives the same bytes
    other = Aligner()
    warm = espeak("zorbflixes are birchwoods")
    other.align(warm.audio, warm.sample_rate, "zorbflixes are birchwoods".split())
    assert other.align(synth.audio, synth.sample_rate, text.split()) == first


def test_letter_rules_give_phones():
    assert letter_phones("shack") == "SH AE K"
    assert letter_phones("qzx") == "K Z K S"
    assert letter_phones("1") == "AH"


def test_audio_too_short_for_its_words_falls_back_to_an_estimate():
    sr = 16000
    words = "seventeen extraordinary elephants".split() * 4
    tone = np.zeros(sr // 5, np.float32)  # 200 ms: too short for 12 long words
    tone[sr // 20: 3 * sr // 20] = 0.3 * np.sin(2 * np.pi * 200 * np.arange(sr // 10) / sr)
    with pytest.raises(ValueError, match="no alignment"):
        align_words(tone, sr, words)
    got, how = align_or_estimate(tone, sr, words)
    assert how == "estimated" and got == estimate_words(tone, sr, words)
    assert got[0].start_s == pytest.approx(0.05, abs=0.006)
    assert got[-1].start_s + got[-1].dur_s == pytest.approx(0.15, abs=0.006)
    synth = espeak("hello world")
    assert align_or_estimate(synth.audio, synth.sample_rate, ["hello", "world"])[1] == "aligned"


def test_boundaries_match_flite_word_timings():
    """The aligner against Flite's own word timings (voices of recorded speakers): over the
    five CMU voices and these sentences it measured median 10 ms, p95 48 ms."""
    from synthaudio.tts.flite import FliteVoice, engine_for

    try:
        engine = engine_for(None, None)
        engine.synthesize("one", FliteVoice("rms", 1.0))
    except Exception as exc:  # noqa: BLE001 - the Debian package is a test requirement
        pytest.fail(f"Flite is needed (apt-get install libflite1): {exc}")
    voices = ["rms", "slt", "kal16", "awb"]
    errors = []
    for k, text in enumerate(SENTENCES):
        synth = engine.synthesize(text, FliteVoice(voices[k % len(voices)], 1.0))
        assert synth.words is not None
        errors += boundary_errors_ms(synth, text)
    errors_ms = np.array(errors)
    assert np.median(errors_ms) <= 30, np.median(errors_ms)
    assert np.percentile(errors_ms, 95) <= 80, np.percentile(errors_ms, 95)

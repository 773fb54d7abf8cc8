import json
import multiprocessing
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from synthaudio.tts.config import SpeakersConfig
from synthaudio.tts.espeak import EspeakEngine
from synthaudio.tts.espeak_binding import EspeakVoice, _library
from synthaudio.tts.speakers import sample_speaker, speaker_ids
from synthaudio.tts.variants import (
    FormantRange,
    VariantConfig,
    VariantParams,
    sample_variant,
    variant_text,
)


class Speakers(SpeakersConfig):
    """SpeakersConfig with the variant fields, whether or not config.py has them yet."""

    variant_mode: str = "shipped"
    generated: VariantConfig = VariantConfig()


def speakers(mode: str, count: int = 40, seed: int = 7) -> list:
    cfg = Speakers(count=count, variant_mode=mode)
    return [sample_speaker(cfg, np.random.default_rng([seed, 2, i]), sid)
            for i, sid in enumerate(speaker_ids(count))]


def espeak_voice(params: VariantParams, **kw: Any) -> EspeakVoice:
    base: dict[str, Any] = dict(voice="en-us", variant=params.name, rate_wpm=170, pitch=50,
                                pitch_range=50, volume=100, word_gap_ms=0, generated=params)
    base.update(kw)
    return EspeakVoice(**base)


def test_config_rejects_bad_ranges():
    with pytest.raises(ValueError, match="inverted range"):
        VariantConfig(pitch_top_ratio=(1.6, 1.2))
    with pytest.raises(ValueError, match="roughness"):
        VariantConfig(roughness=(0, 9))
    with pytest.raises(ValueError, match="9 entries"):
        VariantConfig(formants=(FormantRange(),) * 3)
    with pytest.raises(ValueError, match="klatt"):
        VariantConfig(klatt={7: 1.0})
    with pytest.raises(ValueError, match="extra"):
        VariantConfig(pitch=(1, 2))  # type: ignore[call-arg]


def test_same_seed_same_variant_and_distinct_across_speakers():
    cfg = VariantConfig()
    a = sample_variant(cfg, np.random.default_rng([1, 2, 3]))
    b = sample_variant(cfg, np.random.default_rng([1, 2, 3]))
    assert a == b and variant_text(a) == variant_text(b) and a.name == b.name
    names = {sample_variant(cfg, np.random.default_rng([1, 2, i])).name for i in range(300)}
    assert len(names) == 300
    assert all(n.startswith("sa_") and len(n) == 15 for n in names)


def test_drawn_values_stay_in_the_configured_ranges():
    cfg = VariantConfig(female_fraction=0.5, breath_probability=1.0, klatt={0: 1, 2: 1})
    params = [sample_variant(cfg, np.random.default_rng(i)) for i in range(200)]
    genders = [p.gender for p in params]
    assert 70 < genders.count("f") < 130
    for p in params:
        lo, hi = cfg.pitch_base_hz_female if p.gender == "f" else cfg.pitch_base_hz_male
        assert lo - 0.5 <= p.pitch_base_hz <= hi + 0.5
        assert cfg.pitch_top_ratio[0] - 0.01 <= p.pitch_top_hz / p.pitch_base_hz
        assert p.pitch_top_hz / p.pitch_base_hz <= cfg.pitch_top_ratio[1] + 0.01
        scale = (cfg.tract_scale_female if p.gender == "f" else cfg.tract_scale_male)
        for (freq, strength, width), fr in zip(p.formants, cfg.formants, strict=True):
            assert scale[0] * fr.freq_pct[0] - 0.5 <= freq <= scale[1] * fr.freq_pct[1] + 0.5
            assert fr.strength_pct[0] - 0.5 <= strength <= fr.strength_pct[1] + 0.5
            assert fr.width_pct[0] - 0.5 <= width <= fr.width_pct[1] + 0.5
        assert 0 <= p.roughness <= 5 and any(p.breath) and len(p.breathw_hz) == 8
        assert p.klatt in (0, 2)
    assert {p.klatt for p in params} == {0, 2}
    # female voices sit higher in pitch and formants
    f = [p for p in params if p.gender == "f"]
    m = [p for p in params if p.gender == "m"]
    assert min(p.pitch_base_hz for p in f) > max(p.pitch_base_hz for p in m)
    assert np.mean([p.formants[2][0] for p in f]) > np.mean([p.formants[2][0] for p in m]) + 8


def test_given_gender_is_kept():
    cfg = VariantConfig(female_fraction=0.0)
    assert sample_variant(cfg, np.random.default_rng(0), "f").gender == "f"
    assert sample_variant(cfg, np.random.default_rng(0)).gender == "m"


def test_voice_file_text_and_record_round_trip():
    p = sample_variant(VariantConfig(breath_probability=1.0, klatt={3: 1.0}),
                       np.random.default_rng(5))
    lines = variant_text(p).splitlines()
    assert lines[0] == "language variant"
    keys = [line.split()[0] for line in lines]
    assert keys.count("formant") == 9
    assert {"pitch", "flutter", "roughness", "voicing", "consonants", "tone", "breath",
            "breathw", "klatt"} <= set(keys)
    assert f"pitch {p.pitch_base_hz} {p.pitch_top_hz}" in lines
    assert "klatt 3" in lines
    record = json.loads(json.dumps(p.to_dict()))
    assert record["name"] == p.name
    assert VariantParams.from_dict(record) == p
    plain = sample_variant(VariantConfig(breath_probability=0.0), np.random.default_rng(5))
    assert "breath" not in " ".join(variant_text(plain).split("\n")[4:])


def test_shipped_mode_is_unchanged_and_generated_mode_records_the_variant():
    plain = speakers("shipped", count=10)
    default = [sample_speaker(SpeakersConfig(count=10), np.random.default_rng([7, 2, i]), sid)
               for i, sid in enumerate(speaker_ids(10))]
    assert plain == default
    assert all("generated" not in s.to_dict() for s in plain)
    gen = speakers("generated", count=10)
    for s, g in zip(plain, gen, strict=True):  # only the variant differs
        assert (g.voice.voice, g.voice.rate_wpm, g.voice.pitch) == \
               (s.voice.voice, s.voice.rate_wpm, s.voice.pitch)
        assert g.voice.generated is not None and g.voice.variant == g.voice.generated.name
        assert g.gender == g.voice.generated.gender
        assert g.voice.spec == f"{g.voice.voice}+{g.voice.variant}"
        record = json.loads(json.dumps(g.to_dict()))
        assert record["generated"]["name"] == g.voice.variant
    assert gen == speakers("generated", count=10)
    assert len({s.voice.variant for s in speakers("generated", count=40)}) == 40
    mixed = speakers("mixed", count=40)
    n_gen = sum(s.voice.generated is not None for s in mixed)
    assert 8 < n_gen < 32


def test_espeak_speaks_a_generated_variant_deterministically():
    import librosa

    engine = EspeakEngine()
    cfg = VariantConfig()
    low = sample_variant(cfg.model_copy(update={"pitch_base_hz_male": (85.0, 85.0)}),
                         np.random.default_rng(1), "m")
    high = sample_variant(cfg.model_copy(update={"pitch_base_hz_female": (210.0, 210.0)}),
                          np.random.default_rng(1), "f")
    f0 = []
    for p in (low, high):
        s = engine.synthesize("aaaah", espeak_voice(p))
        again = engine.synthesize("aaaah", espeak_voice(p))
        assert np.array_equal(s.audio, again.audio)
        f, voiced, _ = librosa.pyin(s.audio, fmin=50, fmax=500, sr=s.sample_rate)
        f0.append(float(np.nanmedian(f[voiced])))
    assert 75 < f0[0] < 110 and 190 < f0[1] < 260
    text = "the quick brown fox jumps over the lazy dog"
    a = engine.synthesize(text, espeak_voice(low)).audio
    b = engine.synthesize(text, espeak_voice(high)).audio
    assert a.shape != b.shape or not np.array_equal(a, b)
    assert np.sqrt(np.mean(a**2)) > 0.02
    with pytest.raises(Exception, match="does not match"):
        engine.synthesize("hello", espeak_voice(low, variant="sa_000000000000"))


def test_klatt_sources_speak():
    engine = EspeakEngine()
    for source in range(1, 7):
        p = sample_variant(VariantConfig(klatt={source: 1.0}), np.random.default_rng(0))
        audio = engine.synthesize("hello there", espeak_voice(p)).audio
        assert audio.size > 5000 and np.sqrt(np.mean(audio**2)) > 0.01, source


def test_shadow_data_folder_links_the_real_data_and_leaves_it_untouched():
    import espeakng_loader

    real = Path(espeakng_loader.get_data_path())
    engine = EspeakEngine()
    p = sample_variant(VariantConfig(), np.random.default_rng(11))
    engine.synthesize("hello", espeak_voice(p))
    shadow = _library().data_path
    assert shadow != real and len(str(shadow)) < 150
    assert (shadow / "voices" / "!v" / p.name).read_text() == variant_text(p)
    assert (shadow / "voices" / "!v" / "m3").is_symlink()
    assert (shadow / "phontab").resolve() == (real / "phontab").resolve()
    assert not any(f.name.startswith("sa_") for f in (real / "voices" / "!v").iterdir())
    # shipped variants still load through the shadow folder
    shipped = EspeakVoice("en-us", "f3", 170, 50, 50, 100, 0)
    assert engine.synthesize("hello", shipped).audio.size > 0


def _child_synth(params: VariantParams) -> tuple[str, bytes]:
    engine = EspeakEngine()
    audio = engine.synthesize("hello there", espeak_voice(params)).audio
    return str(_library().data_path), audio.tobytes()


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork")
def test_forked_workers_get_their_own_shadow_and_remove_it():
    p = sample_variant(VariantConfig(), np.random.default_rng(12))
    parent_audio = EspeakEngine().synthesize("hello there", espeak_voice(p)).audio
    parent_path = str(_library().data_path)
    pool = multiprocessing.get_context("fork").Pool(1)
    try:
        child_path, child_bytes = pool.apply(_child_synth, (p,))
    finally:
        pool.close()  # a normal exit, so that the worker runs its finalizers
        pool.join()
    assert child_path != parent_path and not child_path.endswith(f"-{os.getpid()}")
    assert child_bytes == parent_audio.tobytes()
    assert not Path(child_path).exists()  # the worker's finalizer removed it
    assert Path(parent_path).exists()


def test_mbrola_voices_speak_when_installed():
    from synthaudio.tts.espeak import mbrola_voices

    usable = mbrola_voices()
    if not usable:
        pytest.skip("no MBROLA voice here (needs the mbrola program, an mb-* voice file in "
                    "espeak-ng's data, its mbrola_ph table and the voice database)")
    engine = EspeakEngine()
    assert set(usable) <= {v.name for v in engine.voices()}
    audio = engine.synthesize("hello there", EspeakVoice(usable[0], None, 170, 50, 50, 100, 0))
    assert audio.audio.size > 1000

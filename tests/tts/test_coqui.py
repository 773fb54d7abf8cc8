"""CoquiEngine on tiny randomly initialized VITS checkpoints, saved and loaded for real."""

import numpy as np
import pytest

pytest.importorskip("TTS", reason="coqui-tts is not installed (pip install 'synthaudio[coqui]')")
torch = pytest.importorskip("torch")

from synthaudio.errors import ConfigError  # noqa: E402
from synthaudio.tts.config import SpeakersConfig  # noqa: E402
from synthaudio.tts.coqui import CoquiConfig, CoquiEngine, CoquiVoice  # noqa: E402
from synthaudio.tts.speakers import sample_speaker, sample_speakers, speaker_ids  # noqa: E402

SPEAKERS = ["alice", "bob", "carol"]
TEXT = "turn on the light in the kitchen"


def tiny_vits(folder, languages=None):
    """Save a small multi-speaker VITS (random weights, characters input) and its config."""
    from TTS.config.shared_configs import BaseAudioConfig
    from TTS.tts.configs.shared_configs import CharactersConfig
    from TTS.tts.configs.vits_config import VitsArgs, VitsConfig
    from TTS.tts.models.vits import Vits

    chars = CharactersConfig(
        characters_class="TTS.tts.models.vits.VitsCharacters", pad="_", eos="", bos="",
        blank="#", characters="abcdefghijklmnopqrstuvwxyz'", punctuations=" .,?!-",
        phonemes=None, is_unique=True, is_sorted=True,
    )
    args = VitsArgs(
        hidden_channels=16, hidden_channels_ffn_text_encoder=32, num_heads_text_encoder=2,
        num_layers_text_encoder=1, num_layers_posterior_encoder=1, num_layers_flow=1,
        use_sdp=False, init_discriminator=False, resblock_type_decoder="2",
        resblock_kernel_sizes_decoder=[3], resblock_dilation_sizes_decoder=[[1, 3]],
        upsample_rates_decoder=[8, 8, 4], upsample_initial_channel_decoder=32,
        upsample_kernel_sizes_decoder=[16, 16, 8], use_speaker_embedding=True,
        speaker_embedding_channels=8, use_language_embedding=languages is not None,
        embedded_language_dim=4,
    )
    config = VitsConfig(
        model_args=args, characters=chars, use_phonemes=False, text_cleaner="basic_cleaners",
        add_blank=True, speakers=SPEAKERS, languages=languages or [],
        audio=BaseAudioConfig(sample_rate=16000, hop_length=256, win_length=1024,
                              fft_size=1024, num_mels=40, do_trim_silence=False),
    )
    torch.manual_seed(0)
    model = Vits(config)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model.state_dict(), "config": config.to_dict()}, folder / "model.pth")
    config.save_json(str(folder / "config.json"))
    return folder / "model.pth", folder / "config.json"


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    model, config = tiny_vits(tmp_path_factory.mktemp("vits"))
    return CoquiEngine(model_path=model, config_path=config, device="cpu")


@pytest.fixture(scope="module")
def multilingual(tmp_path_factory):
    model, config = tiny_vits(tmp_path_factory.mktemp("vits-ml"), languages=["en", "de"])
    return CoquiEngine(model_path=model, config_path=config, device="auto")


class Speakers(SpeakersConfig):
    """SpeakersConfig with the mixed-engine fields, whether or not config.py has them yet."""

    engines: dict[str, float] | None = None
    coqui: CoquiConfig | None = None


def voice(engine, **kw):
    base = dict(model=engine.model, speaker="bob", language=None)
    base.update(kw)
    return CoquiVoice(**base)


def test_local_checkpoint_loads_with_its_speakers(engine):
    assert engine.speakers == SPEAKERS
    assert [v.name for v in engine.voices()] == SPEAKERS
    assert {v.engine for v in engine.voices()} == {"coqui-tts"}
    assert engine.languages == [] and not engine.supports_cloning
    assert engine.native_sample_rate == 16000
    assert engine.device == "cpu"
    assert engine.version().startswith("coqui-tts 0.") and "model.pth" in engine.version()


def test_synthesis_shape_rate_timings_and_determinism(engine):
    s = engine.synthesize(TEXT, voice(engine))
    assert s.sample_rate == 16000
    assert s.audio.dtype == np.float32 and s.audio.ndim == 1 and s.audio.size > 1000
    assert np.abs(s.audio).max() <= 1.0
    again = engine.synthesize(TEXT, voice(engine))
    assert np.array_equal(s.audio, again.audio)
    assert s.words is not None
    assert [w.word for w in s.words] == TEXT.split()
    duration = s.audio.size / s.sample_rate
    prev_end = 0.0
    for w in s.words:
        assert w.dur_s > 0 and w.start_s >= prev_end - 1e-6
        assert w.start_s + w.dur_s <= duration + 1e-6
        prev_end = w.start_s + w.dur_s
    batch = engine.synthesize_batch([TEXT, "hello there"], voice(engine))
    assert np.array_equal(batch[0].audio, s.audio)
    assert np.array_equal(batch[1].audio, engine.synthesize("hello there", voice(engine)).audio)


def test_speakers_and_speed_change_the_audio(engine):
    by_speaker = [engine.synthesize(TEXT, voice(engine, speaker=spk)).audio for spk in SPEAKERS]
    for a in range(3):
        for b in range(a + 1, 3):
            x, y = by_speaker[a], by_speaker[b]
            assert x.shape != y.shape or not np.allclose(x, y)
    slow = engine.synthesize(TEXT, voice(engine, speed=0.5)).audio
    normal = engine.synthesize(TEXT, voice(engine, speed=1.0)).audio
    assert slow.size > 1.5 * normal.size
    assert engine._model.length_scale == 1  # restored after the call
    with pytest.raises(KeyError):
        engine.synthesize(TEXT, voice(engine, speaker="dave"))
    with pytest.raises(ConfigError, match="voice of model"):
        engine.synthesize(TEXT, voice(engine, model="other"))


def test_corpus_speakers_map_to_distinct_model_speakers(engine):
    cfg = Speakers(count=8, engines={"espeak-ng": 0.625, "coqui-tts": 0.375},
                   coqui=CoquiConfig(model_path="model.pth", speed=(0.9, 1.1)))
    ids = speaker_ids(8)
    rngs = [np.random.default_rng([3, 2, i]) for i in range(8)]
    spk = sample_speakers(cfg, rngs, ids, assign_rng=np.random.default_rng([3, 6]),
                          coqui=engine)
    coqui = [s for s in spk if s.engine == "coqui-tts"]
    assert len(coqui) == 3
    assert sorted(s.voice.speaker for s in coqui) == SPEAKERS
    for s in coqui:
        assert isinstance(s.voice, CoquiVoice) and 0.9 <= s.voice.speed <= 1.1
        assert s.to_dict()["model"] == engine.model and s.gender is None
    # speakers.balance shares the genders out among the espeak-ng speakers only
    genders = [s.gender for s in spk if s.engine == "espeak-ng"]
    assert len(genders) == 5 and abs(genders.count("m") - genders.count("f")) == 1
    # without balance, espeak-ng speakers are drawn exactly as in an espeak-only corpus
    free = cfg.model_copy(update={"balance": False})
    drawn = sample_speakers(free, [np.random.default_rng([3, 2, i]) for i in range(8)], ids,
                            assign_rng=np.random.default_rng([3, 6]), coqui=engine)
    assert [s.engine for s in drawn] == [s.engine for s in spk]
    for i, s in enumerate(drawn):
        if s.engine == "espeak-ng":
            assert s == sample_speaker(free, np.random.default_rng([3, 2, i]), ids[i])
    again = sample_speakers(cfg, [np.random.default_rng([3, 2, i]) for i in range(8)], ids,
                            assign_rng=np.random.default_rng([3, 6]), coqui=engine)
    assert again == spk
    many = Speakers(count=8, engines={"coqui-tts": 1.0}, coqui=CoquiConfig(model_path="x"))
    with pytest.raises(ConfigError, match="need as many distinct"):
        sample_speakers(many, rngs, ids, assign_rng=np.random.default_rng(0), coqui=engine)
    picked = Speakers(count=2, engines={"coqui-tts": 1.0},
                      coqui=CoquiConfig(model_path="x", speakers=["carol", "alice"]))
    two = sample_speakers(picked, rngs[:2], ids[:2], assign_rng=np.random.default_rng(0),
                          coqui=engine)
    assert sorted(s.voice.speaker for s in two) == ["alice", "carol"]
    with pytest.raises(ConfigError, match="no speaker 'zed'"):
        engine.voice_pool(CoquiConfig(model_path="x", speakers=["zed"]), "en-us")
    with pytest.raises(ConfigError, match="cannot clone"):
        engine.voice_pool(CoquiConfig(model_path="x", reference_dir="refs"), "en-us")


def test_multilingual_model_takes_a_language_per_speaker(multilingual):
    eng = multilingual
    assert sorted(eng.languages) == ["de", "en"]
    rng = np.random.default_rng(0)
    assert eng.pick_language(CoquiConfig(model_path="x"), "en-us", rng) == "en"
    assert eng.pick_language(CoquiConfig(model_path="x", languages=["de"]), "en-us", rng) == "de"
    with pytest.raises(ConfigError, match="speaks only"):
        eng.pick_language(CoquiConfig(model_path="x"), "fr", rng)
    en = eng.synthesize(TEXT, voice(eng, language="en")).audio
    de = eng.synthesize(TEXT, voice(eng, language="de")).audio
    assert en.size > 0 and (en.shape != de.shape or not np.allclose(en, de))
    with pytest.raises(ValueError, match="language"):
        eng.synthesize(TEXT, voice(eng, language=None))


def test_from_config_resolves_relative_paths_and_reports_missing_models(tmp_path):
    model, _ = tiny_vits(tmp_path / "m")
    eng = CoquiEngine.from_config(CoquiConfig(model_path="m/model.pth", device="cpu"), tmp_path)
    assert eng.speakers == SPEAKERS  # config.json found next to the checkpoint
    with pytest.raises(ConfigError, match="does not exist"):
        CoquiEngine(model_path=tmp_path / "missing.pth")
    with pytest.raises(ConfigError, match="exactly one"):
        CoquiEngine()

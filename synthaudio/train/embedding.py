"""A speech-embedding front end trained on real speech, for keyword classifiers.

Google's ``speech_embedding`` model (Lin et al. 2020, "Training keyword spotters with limited
and synthesized speech data"), the front end openWakeWord trains its synthetic-only wake-word
models on, as the ONNX files the ``openwakeword`` wheel ships (``melspectrogram.onnx``,
``embedding_model.onnx``; extra ``synthaudio[kws]``), run with ONNX Runtime on the CPU. The
network was trained on a large set of real recordings and is frozen here: a classifier
trained on synthetic speech on top of it sees features shaped by real speech.

Audio is 16 kHz float32 mono in [-1, 1]. The mel model gives 32 bands every 10 ms (25 ms
windows); the embedding model maps each 76 mel frames (775 ms) to 96 values, every 8 mel
frames: one embedding frame per 80 ms. A clip is padded with ``pad_s`` of silence on both
sides before embedding (a 1 s clip: 16 frames), so a word at the clip's edge still has whole
windows over it; a stream is embedded once and cut into windows of a clip's frames.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synthaudio.errors import InputError

SAMPLE_RATE = 16000
PACKAGE = "pkg:openwakeword"
MEL_FILE, EMBEDDING_FILE = "melspectrogram.onnx", "embedding_model.onnx"
MEL_HOP = 160  # samples per mel frame
MEL_WINDOW = 76  # mel frames per embedding window
MEL_STEP = 8  # mel frames between embedding windows
DIM = 96
FRAME_S = MEL_STEP * MEL_HOP / SAMPLE_RATE  # 0.08 s between embedding frames
INSTALL_HINT = "pip install 'synthaudio[kws]' (the openwakeword wheel ships the model files)"


@dataclass(frozen=True)
class EmbeddingConfig:
    """Where the two ONNX files are and how clips are padded."""

    model: str = PACKAGE  # "pkg:openwakeword", or a folder holding the two .onnx files
    pad_s: float = 0.5  # silence added before and after each clip
    clip_s: float | None = None  # shorter clips get silence at the end up to this length
    # frames minus their speaker's mean frame over the set (train.data.speaker_mean_normalize,
    # which the caller applies: a clip alone has no speaker statistics)
    speaker_mean_norm: bool = False
    sample_rate: int = SAMPLE_RATE  # fixed: the model's rate (load_mono resamples to it)

    def __post_init__(self) -> None:
        if self.sample_rate != SAMPLE_RATE:
            raise ValueError(f"the speech embedding runs at {SAMPLE_RATE} Hz, "
                             f"got sample_rate {self.sample_rate}")
        if not 0 <= self.pad_s <= 2:
            raise ValueError(f"pad_s must be within [0, 2] s, got {self.pad_s}")
        if self.clip_s is not None and self.clip_s <= 0:
            raise ValueError(f"clip_s must be > 0, got {self.clip_s}")


def model_files(model: str = PACKAGE) -> tuple[Path, Path]:
    """The mel and embedding ONNX files of ``model`` (``pkg:openwakeword`` or a folder);
    InputError naming what is missing and how to install it."""
    if model.startswith("pkg:"):
        name = model[4:]
        spec = importlib.util.find_spec(name)  # no import: the package pulls in tflite
        if spec is None or not spec.submodule_search_locations:
            raise InputError(f"embedding model {model!r}: package {name!r} is not installed; "
                             f"{INSTALL_HINT}")
        folder = Path(next(iter(spec.submodule_search_locations))) / "resources" / "models"
    else:
        folder = Path(model)
    files = (folder / MEL_FILE, folder / EMBEDDING_FILE)
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise InputError(f"embedding model {model!r}: missing {', '.join(missing)}; "
                         f"{INSTALL_HINT}")
    return files


def clip_frames(clip_s: float, pad_s: float) -> int:
    """Embedding frames of a clip of ``clip_s`` padded with ``pad_s`` on both sides."""
    mel = int(np.ceil(round((clip_s + 2 * pad_s) * SAMPLE_RATE) / MEL_HOP - 3))
    return max(0, (mel - MEL_WINDOW) // MEL_STEP + 1)


class SpeechEmbedding:
    """The two ONNX sessions (single-threaded: deterministic, and a worker per core)."""

    def __init__(self, cfg: EmbeddingConfig | None = None, threads: int = 1) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise InputError(f"the speech embedding needs onnxruntime; {INSTALL_HINT}") from None
        self.cfg = cfg or EmbeddingConfig()
        mel_path, emb_path = model_files(self.cfg.model)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        providers = ["CPUExecutionProvider"]
        self._mel = ort.InferenceSession(str(mel_path), opts, providers=providers)
        self._emb = ort.InferenceSession(str(emb_path), opts, providers=providers)

    def frames(self, audio: np.ndarray) -> np.ndarray:
        """Embedding frames ``(n, 96)`` of a signal, one per 80 ms; frame ``k`` covers
        ``[k * 0.08, k * 0.08 + 0.775)`` s. Shorter than 775 ms: no frames."""
        pcm = np.clip(np.asarray(audio, np.float32) * 32767.0, -32768, 32767)
        pcm = np.round(pcm)[None, :]  # the model takes 16-bit sample values as float32
        if pcm.shape[1] < MEL_WINDOW * MEL_HOP:
            return np.zeros((0, DIM), np.float32)
        mel = np.squeeze(self._mel.run(None, {"input": pcm})[0], axis=(0, 1))
        mel = mel / 10.0 + 2.0  # openWakeWord's scaling to the TF Hub model's mel range
        starts = range(0, mel.shape[0] - MEL_WINDOW + 1, MEL_STEP)
        out = []
        for i in range(0, len(starts), 512):  # bounded batches for long streams
            batch = np.stack([mel[s:s + MEL_WINDOW] for s in starts[i:i + 512]])
            out.append(self._emb.run(None, {"input_1": batch[..., None].astype(np.float32)})[0])
        return np.concatenate(out).reshape(-1, DIM).astype(np.float32)

    def clip(self, audio: np.ndarray) -> np.ndarray:
        """Embedding frames of a clip padded with ``pad_s`` of silence on both sides (and,
        when shorter than ``clip_s``, up to it at the end, as Speech Commands readers pad
        its short clips)."""
        audio = np.asarray(audio, np.float32)
        pad = np.zeros(round(self.cfg.pad_s * SAMPLE_RATE), np.float32)
        short = 0 if self.cfg.clip_s is None else round(self.cfg.clip_s * SAMPLE_RATE) - len(audio)
        return self.frames(np.concatenate([pad, audio, np.zeros(max(0, short), np.float32), pad]))

    def stream_windows(self, audio: np.ndarray, clip_s: float) -> list[np.ndarray]:
        """The features a clip of ``clip_s`` at each 80 ms step of a long signal would get:
        window ``k`` is the clip ``[k * 0.08, k * 0.08 + clip_s)`` with ``pad_s`` of the
        signal itself (silence at the ends) on each side."""
        pad = np.zeros(round(self.cfg.pad_s * SAMPLE_RATE), np.float32)
        frames = self.frames(np.concatenate([pad, np.asarray(audio, np.float32), pad]))
        n = clip_frames(clip_s, self.cfg.pad_s)
        count = max(1, int(np.floor((len(audio) / SAMPLE_RATE - clip_s) / FRAME_S)) + 1)
        return [frames[k:k + n] for k in range(min(count, max(1, len(frames) - n + 1)))]


@functools.lru_cache(maxsize=1)
def shared_embedding(cfg: EmbeddingConfig) -> SpeechEmbedding:
    """This process's sessions for ``cfg`` (made once: each worker, or the recipe's stream
    scoring, reuses them)."""
    return SpeechEmbedding(cfg)


def delayed(audio: np.ndarray, shift_s: float) -> np.ndarray:
    """16 kHz ``audio`` (float32) after ``shift_s`` of silence: its words moved against the
    80 ms frame grid (the test-time shifts, and the ``shift`` training view)."""
    x = np.asarray(audio, np.float32)
    return np.concatenate([np.zeros(round(shift_s * SAMPLE_RATE), np.float32), x])


def _worker_features(job: tuple[Path, EmbeddingConfig, float]) -> np.ndarray:
    from synthaudio.train.features import load_mono

    path, cfg, shift_s = job
    return shared_embedding(cfg).clip(delayed(load_mono(path, SAMPLE_RATE), shift_s))


def embedding_features(paths: Sequence[Path], cfg: EmbeddingConfig | None = None,
                       jobs: int = 1, shift_s: float = 0.0) -> list[np.ndarray]:
    """The embedding frames of each audio file (any rate: resampled), in order; ``jobs``
    worker processes, each with its own sessions. ``shift_s``: silence put before each
    file, moving its words against the 80 ms frame grid (test-time views of a clip)."""
    from synthaudio.train.data import map_files

    cfg = cfg or EmbeddingConfig()
    if not 0 <= shift_s < 1:
        raise ValueError(f"shift_s must be within [0, 1) s, got {shift_s}")
    model_files(cfg.model)  # one clear error before any worker starts
    return map_files(_worker_features, [(Path(p), cfg, shift_s) for p in paths], jobs)

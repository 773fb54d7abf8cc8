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

``tune_layers`` > 0 leaves the network's top convolutions to the classifier, which fine-tunes
them (:class:`synthaudio.train.model.EmbeddingTop`, initialized from the same file): each
frame is then the activations those convolutions read, flattened (``feature_dim``), and the
top maps them to the 96 values. Reading the weights and the inner tensor needs ``onnx``.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
# the shape (channels, height: mel frames, width: mel bands) each of the network's top
# convolutions reads, the last first: conv 19 (3x1, linear) after a 2x2 max-pooling, 18
# (3x1), 17 (1x3), 16 (3x1), 15 (1x3); tune_layers k: the input of the k-th from the top
TOP_SHAPES = ((96, 3, 1), (96, 8, 2), (96, 8, 2), (96, 10, 2), (96, 10, 2))
TOP_LAYERS = len(TOP_SHAPES)


@dataclass(frozen=True)
class EmbeddingConfig:
    """Where the two ONNX files are and how clips are padded."""

    model: str = PACKAGE  # "pkg:openwakeword", or a folder holding the two .onnx files
    pad_s: float = 0.5  # silence added before and after each clip
    clip_s: float | None = None  # shorter clips get silence at the end up to this length
    # frames minus their speaker's mean frame over the set (train.data.speaker_mean_normalize,
    # which the caller applies: a clip alone has no speaker statistics)
    speaker_mean_norm: bool = False
    # the network's top convolutions the classifier fine-tunes (0: all frozen; at most
    # TOP_LAYERS): the frames are the activations they read, flattened
    tune_layers: int = 0
    sample_rate: int = SAMPLE_RATE  # fixed: the model's rate (load_mono resamples to it)

    def __post_init__(self) -> None:
        if self.sample_rate != SAMPLE_RATE:
            raise ValueError(f"the speech embedding runs at {SAMPLE_RATE} Hz, "
                             f"got sample_rate {self.sample_rate}")
        if not 0 <= self.pad_s <= 2:
            raise ValueError(f"pad_s must be within [0, 2] s, got {self.pad_s}")
        if self.clip_s is not None and self.clip_s <= 0:
            raise ValueError(f"clip_s must be > 0, got {self.clip_s}")
        if not 0 <= self.tune_layers <= TOP_LAYERS:
            raise ValueError(f"tune_layers must be within [0, {TOP_LAYERS}], got "
                             f"{self.tune_layers}")


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


def feature_dim(cfg: EmbeddingConfig) -> int:
    """Values per frame: 96, or the flattened input of the fine-tuned top."""
    if not cfg.tune_layers:
        return DIM
    channels, height, width = TOP_SHAPES[cfg.tune_layers - 1]
    return channels * height * width


def onnx_module() -> Any:
    """The ``onnx`` package, which tune_layers needs (to read weights and inner tensors)."""
    try:
        import onnx
    except ImportError:
        raise InputError("tune_layers needs the onnx package: pip install onnx") from None
    return onnx


def top_nodes(graph: Any, tune_layers: int) -> list[Any]:
    """The top ``tune_layers`` convolution nodes of an embedding network's ONNX graph, bottom
    first (the first one's ``input[0]`` is the tensor they read)."""
    return [n for n in graph.node if n.op_type == "Conv"][-tune_layers:]


def top_convolutions(model: str, tune_layers: int) -> list[tuple[Any, Any]]:
    """The (weight, bias or None) arrays of the top ``tune_layers`` convolutions of
    ``model``'s embedding network, bottom first."""
    onnx = onnx_module()
    graph = onnx.load(str(model_files(model)[1])).graph
    weights = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
    return [(weights[n.input[1]], weights[n.input[2]] if len(n.input) > 2 else None)
            for n in top_nodes(graph, tune_layers)]


def clip_frames(clip_s: float, pad_s: float) -> int:
    """Embedding frames of a clip of ``clip_s`` padded with ``pad_s`` on both sides."""
    mel = int(np.ceil(round((clip_s + 2 * pad_s) * SAMPLE_RATE) / MEL_HOP - 3))
    return max(0, (mel - MEL_WINDOW) // MEL_STEP + 1)


def window_count(num_samples: int, clip_s: float) -> int:
    """Windows of ``clip_s`` at each 80 ms step of a 16 kHz signal of ``num_samples`` (at
    least one: a signal shorter than a window is one window)."""
    return max(1, int(np.floor((num_samples / SAMPLE_RATE - clip_s) / FRAME_S)) + 1)


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
        self.dim = feature_dim(self.cfg)
        emb: Any = str(emb_path)
        self._output = None  # the network's output; with tune_layers, the top's input
        if self.cfg.tune_layers:
            onnx = onnx_module()
            graph = onnx.load(str(emb_path))
            name = top_nodes(graph.graph, self.cfg.tune_layers)[0].input[0]
            graph.graph.output.append(onnx.ValueInfoProto(name=name))
            emb, self._output = graph.SerializeToString(), [name]
        self._emb = ort.InferenceSession(emb, opts, providers=providers)

    def frames(self, audio: np.ndarray) -> np.ndarray:
        """Embedding frames ``(n, 96)`` (``(n, feature_dim)`` with ``tune_layers``) of a
        signal, one per 80 ms; frame ``k`` covers ``[k * 0.08, k * 0.08 + 0.775)`` s. Shorter
        than 775 ms: no frames."""
        pcm = np.clip(np.asarray(audio, np.float32) * 32767.0, -32768, 32767)
        pcm = np.round(pcm)[None, :]  # the model takes 16-bit sample values as float32
        if pcm.shape[1] < MEL_WINDOW * MEL_HOP:
            return np.zeros((0, self.dim), np.float32)
        mel = np.squeeze(self._mel.run(None, {"input": pcm})[0], axis=(0, 1))
        mel = mel / 10.0 + 2.0  # openWakeWord's scaling to the TF Hub model's mel range
        starts = range(0, mel.shape[0] - MEL_WINDOW + 1, MEL_STEP)
        out = []
        for i in range(0, len(starts), 512):  # bounded batches for long streams
            batch = np.stack([mel[s:s + MEL_WINDOW] for s in starts[i:i + 512]])
            out.append(self._emb.run(self._output,
                                     {"input_1": batch[..., None].astype(np.float32)})[0])
        return np.concatenate(out).reshape(-1, self.dim).astype(np.float32)

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
        count = window_count(len(audio), clip_s)
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

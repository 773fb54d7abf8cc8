"""Speech / non-speech segmentation with Silero VAD, run through onnxruntime (no torch).

The ONNX model ships in the ``silero-vad`` wheel (``silero_vad/data/silero_vad.onnx``); it is
found without importing the package (whose ``__init__`` imports torch) and fed 512-sample
frames at 16 kHz with the 64-sample context and recurrent state the model expects, as
``silero_vad.utils_vad.OnnxWrapper`` does. Frame probabilities become segments with the
hysteresis of ``get_speech_timestamps`` (threshold 0.5, release 0.35, minimum speech 250 ms,
gaps under 100 ms bridged).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synthaudio.errors import SynthaudioError

VAD_RATE = 16000  # Hz: audio is resampled to this before the VAD
FRAME = 512  # samples per VAD frame at 16 kHz (32 ms)
CONTEXT = 64  # samples of the previous frame prepended, as the model was trained
THRESHOLD, RELEASE = 0.5, 0.35  # speech starts above THRESHOLD, ends below RELEASE
MIN_SPEECH_S, MIN_GAP_S = 0.25, 0.10


def model_path() -> Path:
    """The ONNX file inside the installed silero-vad wheel."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise SynthaudioError("profile needs the silero-vad package: "
                              "pip install 'synthaudio[profile]'")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "silero_vad.onnx"
    if not path.is_file():
        raise SynthaudioError(f"{path}: the silero-vad wheel has no ONNX model")
    return path


def onnx_session(path: Path) -> Any:
    """A single-threaded onnxruntime session (workers run in parallel instead)."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise SynthaudioError("profile needs onnxruntime: pip install 'synthaudio[profile]'"
                              ) from None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=opts,
                                providers=["CPUExecutionProvider"])


@dataclass(frozen=True)
class Segments:
    """Speech segments of one utterance, in seconds from its start."""

    speech: tuple[tuple[float, float], ...]  # (start_s, end_s), sorted, disjoint
    duration_s: float

    @property
    def speech_s(self) -> float:
        return sum(e - s for s, e in self.speech)

    def pauses_s(self) -> list[float]:
        """Gaps between consecutive speech segments (not the leading/trailing silence)."""
        return [b[0] - a[1] for a, b in zip(self.speech, self.speech[1:], strict=False)]

    def mask(self, num_samples: int, sample_rate: int) -> np.ndarray:
        """Boolean ``(num_samples,)``: True inside speech."""
        m = np.zeros(num_samples, dtype=bool)
        for s, e in self.speech:
            m[int(s * sample_rate):int(np.ceil(e * sample_rate))] = True
        return m


class SileroVad:
    """Frame speech probabilities and segments; one instance per worker process."""

    def __init__(self) -> None:
        self._session = onnx_session(model_path())

    def probabilities(self, audio_16k: np.ndarray) -> np.ndarray:
        """Speech probability per 512-sample frame of 16 kHz float32 audio."""
        n = -(-len(audio_16k) // FRAME)
        x = np.zeros(n * FRAME, dtype=np.float32)
        x[:len(audio_16k)] = audio_16k
        state = np.zeros((2, 1, 128), dtype=np.float32)
        context = np.zeros((1, CONTEXT), dtype=np.float32)
        sr = np.array(VAD_RATE, dtype=np.int64)
        probs = np.empty(n, dtype=np.float32)
        for i in range(n):
            frame = x[i * FRAME:(i + 1) * FRAME][None, :]
            inp = np.concatenate([context, frame], axis=1)
            out, state = self._session.run(None, {"input": inp, "state": state, "sr": sr})
            probs[i] = out[0, 0]
            context = frame[:, -CONTEXT:]
        return probs

    def segments(self, audio_16k: np.ndarray) -> Segments:
        return segments_from_probabilities(self.probabilities(audio_16k),
                                           len(audio_16k) / VAD_RATE)


def segments_from_probabilities(probs: np.ndarray, duration_s: float) -> Segments:
    """Hysteresis thresholding, short gaps bridged, short segments dropped."""
    frame_s = FRAME / VAD_RATE
    raw: list[list[float]] = []
    active = False
    for i, p in enumerate(probs):
        if not active and p >= THRESHOLD:
            active = True
            raw.append([i * frame_s, duration_s])
        elif active and p < RELEASE:
            active = False
            raw[-1][1] = i * frame_s
    merged: list[list[float]] = []
    for seg in raw:
        if merged and seg[0] - merged[-1][1] < MIN_GAP_S:
            merged[-1][1] = seg[1]
        else:
            merged.append(seg)
    kept = tuple((s, min(e, duration_s)) for s, e in merged if e - s >= MIN_SPEECH_S)
    return Segments(kept, duration_s)

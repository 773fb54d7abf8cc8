"""Voices: speaker embeddings (Resemblyzer's GE2E encoder, weights in its wheel) and their
statistics.

Per utterance: a 256-dimensional unit vector (``VoiceEncoder.embed_utterance`` on the 16 kHz
audio after Resemblyzer's own preprocessing). Per corpus (:func:`voice_stats`): the centroid,
the mean cosine similarity of utterance pairs (low: many different voices), the mean
similarity within and between speakers when speakers are known, and each utterance's cosine
similarity to the centroid (``voice_typicality``, a per-utterance feature).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from synthaudio.errors import SynthaudioError


class VoiceEmbedder:
    def __init__(self) -> None:
        try:
            import torch
            with warnings.catch_warnings():  # webrtcvad imports the deprecated pkg_resources
                warnings.simplefilter("ignore")
                from resemblyzer import VoiceEncoder
        except ImportError:
            raise SynthaudioError("the voices measurement needs resemblyzer (and torch): "
                                  "pip install 'synthaudio[profile]', or leave it out with "
                                  "--skip voices") from None
        torch.set_num_threads(1)
        self._encoder = VoiceEncoder("cpu", verbose=False)

    def __call__(self, audio_16k: np.ndarray) -> np.ndarray | None:
        from resemblyzer import preprocess_wav

        wav = preprocess_wav(audio_16k.astype(np.float32))
        if len(wav) < 1600:
            return None
        return np.asarray(self._encoder.embed_utterance(wav), dtype=np.float64)


def voice_stats(embeddings: Sequence[np.ndarray | None],
                speakers: Sequence[str | None]) -> dict[str, Any]:
    """Corpus-level statistics and per-utterance typicality (None where no embedding)."""
    idx = [i for i, e in enumerate(embeddings) if e is not None]
    if not idx:
        return {"count": 0}
    e = np.stack([embeddings[i] for i in idx])  # type: ignore[misc]
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    centroid = e.mean(axis=0)
    centroid /= np.linalg.norm(centroid)
    sims = np.einsum("id,jd->ij", e, e)
    iu = np.triu_indices(len(idx), 1)
    spk = np.array([speakers[i] or "" for i in idx])
    same = (spk[:, None] == spk[None, :])[iu]
    known = all(speakers[i] is not None for i in idx)
    pair = sims[iu]
    typicality: list[float | None] = [None] * len(embeddings)
    for k, i in enumerate(idx):
        typicality[i] = float(e[k] @ centroid)
    return {
        "count": len(idx),
        "centroid": [round(float(v), 5) for v in centroid],
        "mean_pair_similarity": float(pair.mean()) if len(pair) else None,
        "within_speaker_similarity": (float(pair[same].mean())
                                      if known and same.any() else None),
        "between_speaker_similarity": (float(pair[~same].mean())
                                       if known and (~same).any() else None),
        "typicality": typicality,
    }

"""Synthetic speakers: drawn once from the config's ranges, then each keeps its voice.

``sample_speaker`` draws a speaker's voice; ``jitter_voice`` adds the small per-utterance
prosody variation around it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from synthaudio.config import JitterConfig, SpeakersConfig
from synthaudio.tts.espeak import ENGINE_NAME, EspeakVoice, variant_gender


@dataclass(frozen=True)
class SpeakerParams:
    speaker_id: str  # e.g. "spk007"
    engine: str
    gender: str | None  # "m", "f" or None when the voice does not imply one
    voice: EspeakVoice  # the speaker's own voice, before per-utterance jitter

    def to_dict(self) -> dict[str, Any]:
        return {"speaker_id": self.speaker_id, "engine": self.engine, "gender": self.gender,
                **self.voice.to_dict()}


def speaker_ids(count: int) -> list[str]:
    """``spk001``... zero-padded so that byte order equals numeric order."""
    width = max(3, len(str(count)))
    return [f"spk{i + 1:0{width}d}" for i in range(count)]


def _uniform_int(rng: np.random.Generator, bounds: tuple[float, float]) -> int:
    return int(round(rng.uniform(bounds[0], bounds[1])))


def sample_speaker(cfg: SpeakersConfig, rng: np.random.Generator, speaker_id: str) -> SpeakerParams:
    """Draw one speaker's voice from the configured ranges."""
    voice_name = cfg.voices[int(rng.integers(len(cfg.voices)))]
    variant_name = cfg.variants[int(rng.integers(len(cfg.variants)))]
    variant = None if variant_name == "none" else variant_name
    voice = EspeakVoice(
        voice=voice_name,
        variant=variant,
        rate_wpm=_uniform_int(rng, cfg.rate_wpm),
        pitch=_uniform_int(rng, cfg.pitch),
        pitch_range=_uniform_int(rng, cfg.pitch_range),
        volume=_uniform_int(rng, cfg.volume),
        word_gap_ms=10 * _uniform_int(rng, (cfg.word_gap_ms[0] / 10, cfg.word_gap_ms[1] / 10)),
    )
    return SpeakerParams(speaker_id, ENGINE_NAME, variant_gender(variant), voice)


def jitter_voice(voice: EspeakVoice, cfg: JitterConfig, rng: np.random.Generator) -> EspeakVoice:
    """The speaker's voice with this utterance's prosody jitter (rate and pitch)."""
    rate = voice.rate_wpm + rng.uniform(-cfg.rate_wpm, cfg.rate_wpm)
    pitch = voice.pitch + rng.uniform(-cfg.pitch, cfg.pitch)
    return replace(
        voice,
        rate_wpm=int(np.clip(round(rate), 80, 450)),
        pitch=int(np.clip(round(pitch), 0, 99)),
    )

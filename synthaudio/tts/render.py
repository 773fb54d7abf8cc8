"""The TTS render path: text and a speaker in, clean speech at the corpus rate out, with its
word timings and the ``tts`` record of every drawn voice parameter.

Every pipeline speaks through this one path (``generate``'s utterances, ``keywords``'
clips, ``sessions``' turns): the engine of the speaker's voice (espeak-ng in process,
others from the engine registry, built once per worker), word timings (the engine's, or
aligned/estimated), the speaker's voice conversion, resampling to the corpus rate; and
:meth:`SpeechRenderer.say` draws the utterance's prosody jitter and builds the record.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soxr

from synthaudio.errors import ConfigError
from synthaudio.tts.align import align_or_estimate
from synthaudio.tts.base import Synthesis, WordTiming
from synthaudio.tts.config import SpeakersConfig
from synthaudio.tts.conversion import (
    CONVERSION_SAMPLE_RATE,
    ConversionParams,
    apply_conversion,
)
from synthaudio.tts.engines import engine_of
from synthaudio.tts.espeak import EspeakEngine
from synthaudio.tts.espeak_binding import EspeakVoice
from synthaudio.tts.speakers import SpeakerParams, Voice, jitter_voice
from synthaudio.tts.wordspans import reach_speech


@dataclass(frozen=True)
class Said:
    """One thing a speaker said: clean speech at the corpus rate, its words, the ``tts``
    record (engine, every voice parameter drawn, where the timings come from, the voice
    conversion) and the jittered voice."""

    audio: np.ndarray
    words: tuple[WordTiming, ...]
    tts: dict[str, Any]
    voice: Voice

    def record(self, **drawn: Any) -> dict[str, Any]:
        """The ``tts`` record with the caller's own drawn values (a level, say) after the
        timings, the conversion last."""
        tts = {k: v for k, v in self.tts.items() if k != "conversion"}
        tts.update(drawn)
        if "conversion" in self.tts:
            tts["conversion"] = self.tts["conversion"]
        return tts


class SpeechRenderer:
    """The TTS engines of one worker, and the speech path over them."""

    def __init__(self, speakers: SpeakersConfig, sample_rate: int,
                 config_dir: Path | None = None) -> None:
        self.speakers = speakers
        self.sample_rate = sample_rate
        self.engine = EspeakEngine()
        self.config_dir = config_dir  # where relative paths of speakers.coqui start
        self._engines: dict[str, Any] = {}  # engines other than espeak-ng, built on use

    @contextlib.contextmanager
    def tts_session(self, voices: Iterable[object] = ()) -> Iterator[None]:
        """One TTS session for a render group: espeak-ng's library session (its generated
        variants among ``voices`` registered first: ``EspeakEngine.session``), and every
        other engine of this worker that keeps state from one utterance to the next (those
        with a ``reset``: Festival) starts afresh. The group's audio is then a function of
        its own utterances, whatever this worker rendered before, so a corpus's bytes do not
        depend on ``-j``."""
        for engine in self._engines.values():
            reset = getattr(engine, "reset", None)
            if reset is not None:
                reset()
        with self.engine.session(voices):
            yield

    def _synthesize(self, text: str, voice: Voice) -> tuple[str, Synthesis]:
        """(engine name, synthesis): espeak-ng in process, other engines of the registry
        built in this process on first use."""
        if isinstance(voice, EspeakVoice):
            return self.engine.name, self.engine.synthesize(text, voice)
        entry = engine_of(voice)  # engine registry hook
        engine = self._engines.get(entry.name)
        if engine is None:
            section = self.speakers.engine_section(entry.name)
            if section is None and entry.section_required:
                raise ConfigError(f"a {entry.name} speaker, but no speakers.{entry.section} "
                                  "in the config")
            engine = self._engines[entry.name] = entry.build(section, self.config_dir)
        return entry.name, engine.synthesize(text, voice)

    def speak(
        self, text: str, voice: Voice, conversion: ConversionParams | None = None
    ) -> tuple[np.ndarray, tuple[WordTiming, ...] | None]:
        """Clean speech at the corpus rate, with its word timings."""
        audio, words, _ = self.speak_timed(text, voice, conversion)
        return audio, words

    def speak_timed(
        self, text: str, voice: Voice, conversion: ConversionParams | None = None
    ) -> tuple[np.ndarray, tuple[WordTiming, ...], str]:
        """(clean speech at the corpus rate, word timings, where the timings come from:
        "engine", or "aligned"/"estimated" for an engine that gives none), in the speaker's
        converted voice when ``conversion`` is given (it keeps time: same timings)."""
        synth = self._synthesize(text, voice)[1]
        audio, rate = synth.audio, synth.sample_rate
        words, timings = synth.words, "engine"
        if words is None:
            words, timings = align_or_estimate(audio, rate, text.split())
        words = reach_speech(words, audio, rate)
        if conversion is not None:
            if rate != CONVERSION_SAMPLE_RATE:
                audio = soxr.resample(audio, rate, CONVERSION_SAMPLE_RATE, quality="HQ")
                rate = CONVERSION_SAMPLE_RATE
            audio = apply_conversion(audio, rate, conversion)
        if rate != self.sample_rate:
            audio = soxr.resample(audio, rate, self.sample_rate, quality="HQ")
        return np.ascontiguousarray(audio, dtype=np.float32), words, timings

    def clean_audio(self, text: str, voice: Voice) -> np.ndarray:
        return self.speak(text, voice)[0]

    def say(self, text: str, speaker: SpeakerParams, rng: np.random.Generator) -> Said:
        """``text`` in ``speaker``'s voice with this utterance's prosody jitter (drawn from
        ``rng``, one draw per jittered value, before anything else), and its record."""
        voice = jitter_voice(speaker.voice, self.speakers.jitter, rng)
        audio, words, timings = self.speak_timed(text, voice, speaker.conversion)
        tts = {"engine": speaker.engine, **voice.to_dict(), "timings": timings}
        if speaker.conversion is not None:
            tts["conversion"] = speaker.conversion.to_dict()
        return Said(audio, words, tts, voice)

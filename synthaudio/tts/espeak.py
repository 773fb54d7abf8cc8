"""espeak-ng, in process, through its shared library (shipped in the ``espeakng-loader`` wheel).

The engine (:class:`EspeakEngine`, the :class:`~synthaudio.tts.base.TTSEngine` of espeak-ng)
over three helpers, one job each: :mod:`~synthaudio.tts.espeak_binding` (the ctypes
binding: load, synthesize, list voices), :mod:`~synthaudio.tts.espeak_data` (the data
folder: shadow folder for generated variants, shipped variants, MBROLA) and
:mod:`~synthaudio.tts.espeak_timings` (word timings). Their public names stay importable
from here. Audio comes back as float32 mono at the library's native rate (22050 Hz); word
timings come from espeak's word events, refined against the signal energy.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from synthaudio.errors import ConfigKeyError
from synthaudio.tts.base import Synthesis, VoiceInfo
from synthaudio.tts.espeak_binding import (
    ENGINE_NAME,
    EspeakVoice,
    _library,
)
from synthaudio.tts.espeak_data import (
    mbrola_line,
    mbrola_usable,
    shipped_variants,
)
from synthaudio.tts.espeak_timings import word_timings


def mbrola_sample_rate(voice: str) -> int | None:
    """An ``mb-*`` voice's output rate in Hz (its ``mbrola`` line, default 16000); None for
    other voices, which speak at the library's rate."""
    if not voice.startswith("mb-"):
        return None
    parts = mbrola_line(_library().data_path / "voices" / "mb" / voice)
    if parts is None:
        return None
    return int(parts[3]) if len(parts) > 3 and parts[3].isdigit() else 16000


def mbrola_voices() -> list[str]:
    """The MBROLA voices (``mb-*``) espeak-ng can speak on this system."""
    data = _library().data_path
    folder = data / "voices" / "mb"
    if not folder.is_dir():
        return []
    return sorted(f.name for f in folder.iterdir() if mbrola_usable(data, f))


class EspeakEngine:
    """The embedded default TTS engine (implements :class:`~synthaudio.tts.base.TTSEngine`)."""

    name = ENGINE_NAME

    @property
    def native_sample_rate(self) -> int:
        return _library().sample_rate

    def version(self) -> str:
        return _library().version()

    def voices(self) -> list[VoiceInfo]:
        """espeak-ng's voices; MBROLA ones (``mb-*``) only when they can speak here."""
        usable = set(mbrola_voices())
        return [v for v in _library().list_voices()
                if not v.name.startswith("mb-") or v.name in usable]

    def check_voices(self, voices: Sequence[str], variants: Sequence[str | None]) -> None:
        """Raise ConfigError naming close matches for any voice or variant espeak-ng lacks."""
        known = sorted({v.name for v in self.voices()})
        for voice in voices:
            if voice not in known:
                close = difflib.get_close_matches(voice, known, n=5, cutoff=0.5)
                hint = f"; close matches: {', '.join(close)}" if close else ""
                raise ConfigKeyError(f"speakers.voices: unknown espeak-ng voice {voice!r}{hint}")
        shipped = shipped_variants()
        for variant in variants:
            if variant is not None and variant not in shipped:
                close = difflib.get_close_matches(variant, shipped, n=5, cutoff=0.5)
                hint = f"; close matches: {', '.join(close)}" if close else ""
                raise ConfigKeyError(
                    f"speakers.variants: unknown espeak-ng variant {variant!r}{hint}")

    @contextlib.contextmanager
    def session(self, voices: Iterable[object] = ()) -> Iterator[None]:
        """Keep one library instance for the utterances synthesized inside the block.

        Output is then a function of the sequence of (text, voice) inside the block: render
        a fixed sequence (the corpus's render groups) to keep it reproducible. Generated
        variants among ``voices`` are registered first, so the instance sees them all.
        """
        lib = _library()
        with lib.lock:
            for voice in voices:
                if isinstance(voice, EspeakVoice) and voice.generated is not None:
                    lib.ensure_variant(voice.generated)
            lib.begin_session()
            try:
                yield
            finally:
                lib.end_session()

    def phonemes(self, text: str, voice: str = "en-us") -> list[list[str]]:
        """The IPA phonemes of each word of ``text`` in language voice ``voice``."""
        lib = _library()
        with lib.lock:
            return lib.phonemes(text, voice)

    def synthesize(self, text: str, voice: EspeakVoice) -> Synthesis:
        lib = _library()
        with lib.lock:
            pcm, events = lib.synth(text, voice)
        audio = pcm.astype(np.float32) / 32768.0
        rate = mbrola_sample_rate(voice.voice) or lib.sample_rate  # MBROLA: 16 kHz mostly
        words = word_timings(text, events, audio, rate)
        return Synthesis(audio=audio, sample_rate=rate, words=words)

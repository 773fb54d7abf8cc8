"""The espeak-ng shared library through ctypes: loading it, synthesizing one text, listing
voices (the binding half of the espeak-ng engine, :mod:`synthaudio.tts.espeak`).

The library comes from the ``espeakng-loader`` wheel. One :class:`_Library` per process
(:func:`_library`): espeak-ng keeps global state, so calls are serialized with its lock.
"""

from __future__ import annotations

import ctypes
import multiprocessing.util
import os
import shutil
import threading
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from synthaudio.errors import ConfigError, SynthaudioError
from synthaudio.io.fileio import write_text_atomic
from synthaudio.tts.base import VoiceInfo
from synthaudio.tts.espeak_data import _short_data_path, make_shadow_data
from synthaudio.tts.variants import VariantParams, variant_text

ENGINE_NAME = "espeak-ng"

# espeak_AUDIO_OUTPUT, options and flags (speak_lib.h)
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
# espeak_EVENT_TYPE
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_EVENT_END = 5
_EVENT_MSG_TERMINATED = 6
# espeak_TextToPhonemes mode: IPA (bit 1), phonemes separated by '_' (bits 8-23)
_PHONEMES_IPA_SEPARATED = 0x02 | (ord("_") << 8)
_STRESS_MARKS = "\u02c8\u02cc'"  # primary, secondary stress (IPA), ASCII stress
# espeak_PARAMETER
_RATE, _VOLUME, _PITCH, _RANGE, _WORDGAP = 1, 2, 3, 4, 7

class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # characters from the start of the text, 1-based
        ("length", ctypes.c_int),  # word length in characters
        ("audio_position", ctypes.c_int),  # ms
        ("sample", ctypes.c_int),  # sample index in the output
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


class _VoiceStruct(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),  # priority byte + name, repeated
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass(frozen=True)
class EspeakVoice:
    """Everything that sets how espeak-ng speaks one utterance."""

    voice: str  # espeak voice name, e.g. "en-us"
    variant: str | None  # file name under voices/!v, e.g. "f3"; None for the plain voice
    rate_wpm: int  # words per minute, 80..450
    pitch: int  # base pitch, 0..99
    pitch_range: int  # pitch range, 0..99
    volume: int  # amplitude, 0..200
    word_gap_ms: int  # extra pause between words, multiple of 10 ms
    # a generated variant (``variant`` is then its name, sa_<hash>); None: a shipped one.
    # Out of repr: the repr seeds espeak's noise, and the name already hashes the params.
    generated: VariantParams | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["generated"]
        if self.generated is not None:  # absent otherwise, so older records stay equal
            out["generated"] = self.generated.to_dict()
        return out

    @property
    def spec(self) -> str:
        return self.voice if self.variant is None else f"{self.voice}+{self.variant}"


class _Library:
    """The espeak-ng shared library, loaded fresh for each utterance or session.

    espeak-ng keeps synthesis state in static variables (oscillator phases, flutter index)
    that ``espeak_Initialize`` does not reset, so the same text comes out slightly different
    depending on what was spoken before. Loading a fresh instance of the library (dlopen,
    synthesize, dlclose) makes an utterance a function of its own text and voice alone; a
    session (:meth:`EspeakEngine.session`) keeps one instance for a fixed sequence of
    utterances, a function of that sequence alone, and loads each voice's dictionary once
    instead of once per utterance (about 3 ms each).
    """

    def __init__(self) -> None:
        import espeakng_loader

        self.lock = threading.RLock()
        self._session: ctypes.CDLL | None = None
        self._session_path: Path | None = None
        self._session_voice: str | None = None
        self.path = espeakng_loader.get_library_path()
        self.real_data_path = Path(espeakng_loader.get_data_path())
        self.base_data_path = _short_data_path(self.real_data_path)
        self._shadow: Path | None = None  # this process's data folder with generated variants
        self._shadow_pid = 0
        self._registered: set[str] = set()
        self._chunks: list[bytes] = []  # int16 samples
        self._events: list[tuple[int, int, int]] = []  # (type, text_position, sample)
        self._callback = _SynthCallback(self._on_audio)  # keep a reference alive
        lib = self._open()
        try:
            lib.espeak_Info.restype = ctypes.c_char_p
            self._version = str(lib.espeak_Info(None).decode())
            self._voices = self._list_voices(lib)
        finally:
            self._close(lib)

    @property
    def data_path(self) -> Path:
        """The shadow data folder once this process has one, else espeak's own data."""
        if self._shadow is not None and self._shadow_pid == os.getpid():
            return self._shadow
        return self.base_data_path

    def ensure_variant(self, params: VariantParams) -> str:
        """Write a generated variant into this process's shadow data folder; its name."""
        name = params.name
        if self._shadow_pid != os.getpid():  # none yet, or inherited through fork
            self._shadow = make_shadow_data(self.real_data_path)
            self._shadow_pid = os.getpid()
            self._registered = set()
            multiprocessing.util.Finalize(None, shutil.rmtree, args=(str(self._shadow), True),
                                          exitpriority=0)
        if name not in self._registered:
            assert self._shadow is not None
            target = self._shadow / "voices" / "!v" / name
            write_text_atomic(target, variant_text(params))
            self._registered.add(name)
        return name

    def _open(self) -> ctypes.CDLL:
        lib = ctypes.CDLL(self.path)
        lib.espeak_Initialize.restype = ctypes.c_int
        rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, str(self.data_path).encode(),
            _INITIALIZE_DONT_EXIT,  # word events only: phoneme events cost time unused
        )
        if rate <= 0:
            self._close(lib)
            raise SynthaudioError(f"espeak-ng failed to initialize with data at {self.data_path}")
        self.sample_rate = int(rate)
        lib.espeak_SetSynthCallback(self._callback)
        return lib

    @staticmethod
    def _close(lib: ctypes.CDLL) -> None:
        import _ctypes

        lib.espeak_Terminate()
        _ctypes.dlclose(lib._handle)

    def _on_audio(self, wav: Any, num_samples: int, events: Any) -> int:
        if num_samples > 0:
            # bytes through string_at: np.ctypeslib.as_array would cache a ctypes type per
            # chunk length, a leak that grows with the corpus
            self._chunks.append(ctypes.string_at(wav, 2 * num_samples))
        i = 0
        while True:
            ev = events[i]
            kind = ev.type
            if kind == _EVENT_LIST_TERMINATED:
                return 0
            if kind == _EVENT_WORD or kind == _EVENT_END:
                self._events.append((kind, ev.text_position, ev.sample))
            i += 1

    def version(self) -> str:
        return self._version

    def synth(self, text: str, voice: EspeakVoice) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
        if voice.generated is not None and self.ensure_variant(voice.generated) != voice.variant:
            raise ConfigError(f"espeak-ng voice {voice.spec!r}: the variant name does not "
                              f"match its generated parameters ({voice.generated.name})")
        if self._session is not None and self._session_path != self.data_path:
            self.end_session()  # a generated variant made the shadow data folder just now
            self.begin_session()
        lib = self._session if self._session is not None else self._open()
        try:
            if lib is not self._session or self._session_voice != voice.spec:
                if lib.espeak_SetVoiceByName(voice.spec.encode()) != 0:
                    raise ConfigError(f"espeak-ng has no voice {voice.spec!r}")
                if lib is self._session:
                    self._session_voice = voice.spec
            for param, value in (
                (_RATE, voice.rate_wpm), (_VOLUME, voice.volume), (_PITCH, voice.pitch),
                (_RANGE, voice.pitch_range), (_WORDGAP, voice.word_gap_ms // 10),
            ):
                lib.espeak_SetParameter(param, int(value), 0)
            # Breathy variants draw noise from espeak's own generator: seed it from the
            # utterance so that its bytes never depend on the process or what came before.
            lib.espeak_ng_SetRandSeed(ctypes.c_long(zlib.crc32(f"{voice}|{text}".encode())))
            self._chunks, self._events = [], []
            data = text.encode("utf-8")
            status = lib.espeak_Synth(
                data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
            )
            lib.espeak_Synchronize()
        finally:
            if lib is not self._session:
                self._close(lib)
        if status != 0:
            raise SynthaudioError(f"espeak-ng failed (status {status}) on text {text[:60]!r}")
        pcm = np.frombuffer(b"".join(self._chunks), np.int16)
        return pcm, self._events

    def phonemes(self, text: str, voice: str) -> list[list[str]]:
        """The IPA phonemes of each word of ``text`` as ``voice`` (a language voice such as
        ``en-us``) says it, stress marks dropped; a fresh library instance, so nothing
        depends on what was spoken before."""
        lib = self._open()
        try:
            if lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise ConfigError(f"espeak-ng has no voice {voice!r}")
            lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
            buffer = ctypes.c_char_p(text.encode("utf-8"))
            pointer = ctypes.pointer(buffer)
            clauses: list[str] = []
            while pointer.contents.value:  # one clause per call; the pointer moves on
                out = lib.espeak_TextToPhonemes(pointer, _CHARS_UTF8, _PHONEMES_IPA_SEPARATED)
                clauses.append((out or b"").decode("utf-8"))
        finally:
            self._close(lib)
        return [[ph.strip(_STRESS_MARKS) for ph in word.split("_") if ph.strip(_STRESS_MARKS)]
                for clause in clauses for word in clause.split()]

    def ipa_words(self, text: str, voice: str) -> list[list[str]]:
        """The IPA phonemes of each word of ``text`` as ``voice`` says it, stress marks kept
        on the phoneme they precede (``["f", "ˈaɪ", "v"]``); clause breaks are lost. A
        fresh library instance, as :meth:`phonemes`."""
        lib = self._open()
        try:
            if lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise ConfigError(f"espeak-ng has no voice {voice!r}")
            lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
            pointer = ctypes.pointer(ctypes.c_char_p(text.encode("utf-8")))
            clauses: list[str] = []
            while pointer.contents.value:
                out = lib.espeak_TextToPhonemes(pointer, _CHARS_UTF8, _PHONEMES_IPA_SEPARATED)
                clauses.append((out or b"").decode("utf-8"))
        finally:
            self._close(lib)
        return [[ph for ph in word.split("_") if ph] for clause in clauses
                for word in clause.split()]

    def begin_session(self) -> None:
        self._session = self._open()
        self._session_path = self.data_path
        self._session_voice = None

    def end_session(self) -> None:
        if self._session is not None:
            lib, self._session = self._session, None
            self._session_voice = None
            self._close(lib)

    def list_voices(self) -> list[VoiceInfo]:
        return list(self._voices)

    @staticmethod
    def _list_voices(lib: ctypes.CDLL) -> list[VoiceInfo]:
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_VoiceStruct))
        voices = lib.espeak_ListVoices(None)
        out: list[VoiceInfo] = []
        i = 0
        while voices[i]:
            v = voices[i].contents
            out.append(VoiceInfo(
                name=((v.identifier or b"").decode().split("/")[-1] or v.name.decode()).lower(),
                languages=_parse_languages(v.languages),
                gender={1: "m", 2: "f"}.get(v.gender),
                engine=ENGINE_NAME,
            ))
            i += 1
        return out


def _parse_languages(address: int | None) -> tuple[str, ...]:
    """espeak's ``languages`` field: repeated (priority byte, NUL-terminated name), then NUL."""
    if not address:
        return ()
    langs = []
    offset = 0
    while True:
        priority = ctypes.c_ubyte.from_address(address + offset).value
        if priority == 0:
            break
        name = ctypes.string_at(address + offset + 1).decode()
        langs.append(name)
        offset += 2 + len(name)
    return tuple(langs)


_LIBRARY: _Library | None = None
_LIBRARY_LOCK = threading.Lock()


def _library() -> _Library:
    global _LIBRARY
    with _LIBRARY_LOCK:
        if _LIBRARY is None:
            _LIBRARY = _Library()
        return _LIBRARY

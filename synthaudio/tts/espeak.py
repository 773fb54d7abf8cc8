"""espeak-ng, in process, through its shared library (shipped in the ``espeakng-loader`` wheel).

One library instance per process: espeak-ng keeps global state, so calls are serialized
with a lock. Audio comes back as float32 mono at the library's native rate (22050 Hz);
word timings come from espeak's word events, refined against the signal energy.
"""

from __future__ import annotations

import bisect
import contextlib
import ctypes
import difflib
import math
import multiprocessing.util
import os
import shutil
import tempfile
import threading
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from synthaudio.errors import ConfigError, SynthaudioError
from synthaudio.tts.base import Synthesis, VoiceInfo, WordTiming
from synthaudio.tts.variants import NAME_PREFIX, VariantParams, variant_text

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
# espeak_PARAMETER
_RATE, _VOLUME, _PITCH, _RANGE, _WORDGAP = 1, 2, 3, 4, 7
# espeak-ng keeps its data path in a fixed buffer (160 bytes; longer paths make it exit).
_MAX_DATA_PATH = 150

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
            tmp = target.with_name(f".{name}.tmp")
            tmp.write_text(variant_text(params), encoding="ascii")
            os.replace(tmp, target)
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


def _short_data_path(path: Path) -> Path:
    """espeak-ng exits on data paths longer than its buffer: copy the data to a short one."""
    if len(str(path)) <= _MAX_DATA_PATH:
        return path
    target = Path(tempfile.gettempdir()) / f"synthaudio-espeak-{os.getuid()}"
    if not (target / "phontab").exists():
        shutil.copytree(path, target, dirs_exist_ok=True)
    return target


def make_shadow_data(real: Path) -> Path:
    """A per-process espeak data folder: links to ``real``'s entries, own ``voices/!v``.

    espeak-ng reads variants only from ``<data>/voices/!v`` and the installed data must not
    be modified, so generated variants go to a folder of this process
    (``$TMPDIR/sa-espeak-<uid>-<pid>``, short enough for espeak's path buffer) whose
    entries link to the real data, except ``voices`` and ``voices/!v``, real folders whose
    entries link to the shipped ones. Folders of dead processes untouched for an hour are
    removed.
    """
    root = Path(tempfile.gettempdir())
    if len(str(root)) > _MAX_DATA_PATH - 40:
        root = Path("/tmp")
    prefix = f"sa-espeak-{os.getuid()}-"
    for old in root.glob(prefix + "*"):
        pid = old.name[len(prefix):]
        try:
            stale = time.time() - old.stat().st_mtime > 3600  # not one just made elsewhere
        except OSError:
            continue
        if pid.isdigit() and int(pid) != os.getpid() and stale and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    shadow = root / f"{prefix}{os.getpid()}"
    shutil.rmtree(shadow, ignore_errors=True)  # a dead process's, with our pid
    variants = shadow / "voices" / "!v"
    variants.mkdir(parents=True)
    for entry in real.iterdir():
        if entry.name != "voices":
            (shadow / entry.name).symlink_to(entry)
    for entry in (real / "voices").iterdir():
        if entry.name != "!v":
            (shadow / "voices" / entry.name).symlink_to(entry)
    for entry in (real / "voices" / "!v").iterdir():
        if not entry.name.startswith(NAME_PREFIX):
            (variants / entry.name).symlink_to(entry)
    return shadow


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_LIBRARY: _Library | None = None
_LIBRARY_LOCK = threading.Lock()


def _library() -> _Library:
    global _LIBRARY
    with _LIBRARY_LOCK:
        if _LIBRARY is None:
            _LIBRARY = _Library()
        return _LIBRARY


# Where espeak-ng looks for MBROLA voice databases besides <data>/mbrola (POSIX builds).
_MBROLA_DIRS = (Path("/usr/share/mbrola"), Path("/usr/share/mbrola/voices"))


def mbrola_usable(data: Path, voice_file: Path) -> bool:
    """Whether an ``mb-*`` voice can speak: espeak-ng runs the ``mbrola`` program with the
    voice's database and needs its phoneme translation table (``mbrola_ph/``)."""
    if shutil.which("mbrola") is None:
        return False
    try:
        lines = voice_file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return False
    for line in lines:
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "mbrola":
            db, phtrans = parts[1], parts[2]
            candidates = [data / "mbrola" / db] + [d / db for d in _MBROLA_DIRS] + [
                _MBROLA_DIRS[0] / db / db]
            return (data / "mbrola_ph" / phtrans).is_file() and any(
                c.is_file() for c in candidates)
    return False


def mbrola_sample_rate(voice: str) -> int | None:
    """An ``mb-*`` voice's output rate in Hz (its ``mbrola`` line, default 16000); None for
    other voices, which speak at the library's rate."""
    if not voice.startswith("mb-"):
        return None
    path = _library().data_path / "voices" / "mb" / voice
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split()
        if parts[:1] == ["mbrola"]:
            return int(parts[3]) if len(parts) > 3 and parts[3].isdigit() else 16000
    return None


def mbrola_voices() -> list[str]:
    """The MBROLA voices (``mb-*``) espeak-ng can speak on this system."""
    data = _library().data_path
    folder = data / "voices" / "mb"
    if not folder.is_dir():
        return []
    return sorted(f.name for f in folder.iterdir() if mbrola_usable(data, f))


def shipped_variants() -> list[str]:
    """Names of the voice variants shipped with espeak-ng (files under voices/!v)."""
    import espeakng_loader

    folder = Path(espeakng_loader.get_data_path()) / "voices" / "!v"
    return sorted(p.name for p in folder.iterdir() if p.is_file())


def variant_gender(variant: str | None) -> str | None:
    """Gender implied by a shipped variant name: m1..m7 male, f1..f5 female, plain voice male."""
    if variant is None:
        return "m"
    if len(variant) == 2 and variant[0] in "mf" and variant[1].isdigit():
        return variant[0]
    return None


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
                raise ConfigError(f"speakers.voices: unknown espeak-ng voice {voice!r}{hint}")
        shipped = shipped_variants()
        for variant in variants:
            if variant is not None and variant not in shipped:
                close = difflib.get_close_matches(variant, shipped, n=5, cutoff=0.5)
                hint = f"; close matches: {', '.join(close)}" if close else ""
                raise ConfigError(f"speakers.variants: unknown espeak-ng variant {variant!r}{hint}")

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

    def synthesize(self, text: str, voice: EspeakVoice) -> Synthesis:
        lib = _library()
        with lib.lock:
            pcm, events = lib.synth(text, voice)
        audio = pcm.astype(np.float32) / 32768.0
        rate = mbrola_sample_rate(voice.voice) or lib.sample_rate  # MBROLA: 16 kHz mostly
        words = word_timings(text, events, audio, rate)
        return Synthesis(audio=audio, sample_rate=rate, words=words)


def word_timings(
    text: str, events: Sequence[tuple[int, int, int]], audio: np.ndarray, sample_rate: int
) -> tuple[WordTiming, ...]:
    """Word start and duration from espeak's word events, tightened to where the signal is.

    A word's span runs from its event to the next word's event (the last to the end event).
    Words espeak reports together (no event of their own) share their span in proportion to
    their length in characters. Each span is then trimmed of leading and trailing frames more
    than 35 dB below the utterance's loudest frame.
    """
    tokens = text.split()
    if not tokens:
        return ()
    starts_char, pos = [], 1
    for tok in tokens:
        pos = text.index(tok, pos - 1) + 1
        starts_char.append(pos)
        pos += len(tok)
    n = len(audio)
    word_sample: dict[int, int] = {}
    end_sample = n
    for kind, text_pos, sample in events:
        if kind == _EVENT_END:
            end_sample = min(n, max(sample, 0)) or n
        elif kind == _EVENT_WORD:
            idx = bisect.bisect_right(starts_char, text_pos) - 1
            if idx >= 0 and idx not in word_sample:
                word_sample[idx] = min(max(sample, 0), n)
    if 0 not in word_sample:
        word_sample[0] = 0
    anchors = sorted(word_sample)
    # plain floats (the same IEEE operations numpy would do, without its per-call overhead)
    bounds = [0.0] * (len(tokens) + 1)
    bounds[-1] = float(max(end_sample, word_sample[anchors[-1]]))
    for a, anchor in enumerate(anchors):
        nxt = anchors[a + 1] if a + 1 < len(anchors) else len(tokens)
        s0 = word_sample[anchor]
        s1 = word_sample[nxt] if nxt < len(tokens) else bounds[-1]
        total, done = sum(len(tokens[k]) for k in range(anchor, nxt)), 0
        for k in range(anchor, nxt):
            bounds[k] = s0 + (s1 - s0) * (done / total)
            done += len(tokens[k])
    frame = max(1, sample_rate // 200)  # 5 ms frames
    n_frames = max(1, n // frame)
    energy = np.square(audio[: n_frames * frame].astype(np.float64)).reshape(n_frames, -1).mean(1)
    threshold = energy.max() * 10 ** (-35 / 10) if energy.size and energy.max() > 0 else 0.0
    loud: list[int] = np.flatnonzero(energy > threshold).tolist()  # frame indices, ascending
    out = []
    for k, tok in enumerate(tokens):
        b0, b1 = int(bounds[k]), int(bounds[k + 1])
        f0, f1 = b0 // frame, math.ceil(bounds[k + 1] / frame)
        i0, i1 = bisect.bisect_left(loud, f0), bisect.bisect_left(loud, f1)
        if i1 > i0:  # loud frames inside [f0, f1)
            s = max(loud[i0] * frame, b0)
            e = min(n, (loud[i1 - 1] + 1) * frame, b1)
        else:
            s, e = b0, b1
        out.append(WordTiming(tok, s / sample_rate, max(e - s, 0) / sample_rate))
    return tuple(out)

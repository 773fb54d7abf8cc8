"""Flite (CMU's Festival Lite), in process through ctypes on Debian's ``libflite1``.

Voices: the CMU voices Debian ships (``rms``, ``awb``, ``slt``: clustergen statistical
voices, each trained on recordings of one speaker; ``kal16``, ``kal``: diphone voices of
one more) and any ``.flitevox`` file (festvox's clustergen voices, or a dumped voice).
Audio is float32 mono ``(n_samples,)`` at the voice's rate (16 kHz; 8 kHz for ``kal``);
word timings are the end times of the segments of each word in Flite's Word and Segment
relations.

What a voice responds to was measured (``benchmarks/bench_engines.py --levers``: duration
and median F0 by ``librosa.pyin`` of one sentence, each parameter at two values): every
voice follows ``duration_stretch`` (0.8 -> 1.25: rms 4.56 -> 7.12 s, slt 3.85 -> 6.01 s,
kal16 3.93 -> 6.15 s); the diphone voices kal16 and kal follow ``int_f0_target_mean``
(70 -> 140 Hz gives a median F0 of 55 -> 139 Hz) and ``int_f0_target_stddev``; the
clustergen voices awb and slt follow ``f0_shift`` (0.8 -> 1.3: slt 133 -> 219 Hz, awb
102 -> 169 Hz), which scales their own contour (``int_f0_target_mean`` would move both to
one absolute mean, slt's 165 Hz and awb's 126 Hz alike); rms (its F0 from a separate
model) follows no F0 feature: 101-102 Hz whatever they are. So each voice is given only
what it follows (``RESPONDS``); features a voice does not set stay unset. Every voice
also gets a drawn ``speed``: the audio played faster or slower (resampled), which moves
F0, formants and tempo together by that factor (0.9 -> 1.1: rms 90 -> 110 Hz), like
Kaldi's speed perturbation; it is the one F0 lever rms has.

Flite's synthesis draws from libc's ``rand`` (the unvoiced excitation of the diphone
voices, ``mlpg`` of the clustergen ones); ``srand`` is seeded from the voice and the text
(as espeak-ng's noise is) right before each synthesis, under this module's lock. Since
``rand`` has one state per C library, any other thread of the process that calls it
(ONNX Runtime, espeak-ng, Ray's threads all import it) would take draws out of an
utterance being spoken: Flite is therefore loaded with ``dlmopen`` into a link-map
namespace of its own, with its own copy of the C library and so its own ``rand``, and an
utterance's bytes never depend on the process, its threads or what was spoken before.
(Where ``dlmopen`` is missing, not glibc, the libraries are loaded the usual way.)

(A little over 400 lines: the ctypes binding and the engine of one library, kept
together as tts/espeak_binding.py is not, since Flite's binding is small.)
"""

from __future__ import annotations

import ctypes
import os
import threading
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from synthaudio.configbase import check_range
from synthaudio.errors import ConfigError, ConfigKeyError, SynthaudioError
from synthaudio.tts.balance import deal_voices
from synthaudio.tts.base import Synthesis, VoiceInfo, WordTiming
from synthaudio.tts.wordspans import tighten

ENGINE_NAME = "flite"
PACKAGE = "libflite1"
INSTALL_HINT = f"apt-get install {PACKAGE}"
LIBFLITE = "libflite.so.1"  # the names dlopen looks up; tests point this elsewhere
LIBRARY_TEMPLATE = "libflite_{}.so.1"
# shipped voice -> (gender, kind)
SHIPPED: dict[str, tuple[str, str]] = {
    "rms": ("m", "clustergen"), "awb": ("m", "clustergen"), "slt": ("f", "clustergen"),
    "kal16": ("m", "diphone"), "kal": ("m", "diphone"),
}
_DIPHONE = ("duration_stretch", "f0_mean_hz", "f0_stddev_hz")
_CLUSTERGEN = ("duration_stretch", "f0_shift")
# the prosody features each voice measurably follows (module docstring); .flitevox files
# (festvox clustergen voices) are taken to follow what awb and slt do
RESPONDS: dict[str, tuple[str, ...]] = {
    "rms": ("duration_stretch",), "awb": _CLUSTERGEN, "slt": _CLUSTERGEN,
    "kal16": _DIPHONE, "kal": _DIPHONE,
}
_FEATURES = {"duration_stretch": b"duration_stretch", "f0_mean_hz": b"int_f0_target_mean",
             "f0_stddev_hz": b"int_f0_target_stddev", "f0_shift": b"f0_shift"}
VOX_SUFFIX = ".flitevox"

Range = tuple[float, float]


class FliteConfig(BaseModel):
    """``speakers.flite`` of a corpus config: which voices, and the per-speaker ranges."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # shipped names and/or .flitevox paths (relative to the config file)
    voices: list[str] = Field(default_factory=lambda: list(SHIPPED), min_length=1)
    # playback speed factor (F0, formants and tempo together), every voice
    speed: Range = (0.94, 1.06)
    # Flite's own prosody features, each given only to the voices that follow it
    duration_stretch: Range = (0.9, 1.15)  # every voice; > 1 slower
    f0_shift: Range = (0.85, 1.2)  # F0 factor of awb, slt and .flitevox voices
    f0_mean_hz: Range = (80.0, 135.0)  # int_f0_target_mean of kal16 and kal
    f0_stddev_hz: Range = (6.0, 16.0)  # int_f0_target_stddev of kal16 and kal

    @model_validator(mode="after")
    def _ranges(self) -> FliteConfig:
        check_range(self.speed, "speed", 0.7, 1.4)
        check_range(self.f0_shift, "f0_shift", 0.5, 2.0)
        check_range(self.duration_stretch, "duration_stretch", 0.5, 2.0)
        check_range(self.f0_mean_hz, "f0_mean_hz", 50, 400)
        check_range(self.f0_stddev_hz, "f0_stddev_hz", 0, 60)
        for v in self.voices:
            if v not in SHIPPED and not v.endswith(VOX_SUFFIX):
                raise ValueError(f"voices: {v!r} is neither a shipped Flite voice "
                                 f"({', '.join(SHIPPED)}) nor a {VOX_SUFFIX} file")
        return self


@dataclass(frozen=True)
class FliteVoice:
    """Everything that sets how Flite speaks one utterance."""

    voice: str  # shipped name ("rms") or the .flitevox path as the config gives it
    speed: float  # playback speed factor
    # Flite features; None where the voice does not follow them (RESPONDS)
    f0_shift: float | None = None
    duration_stretch: float | None = None
    f0_mean_hz: float | None = None
    f0_stddev_hz: float | None = None
    # the resolved .flitevox path (None for shipped voices); out of repr, which seeds
    # rand(), so that a corpus's bytes do not depend on where its config lies
    path: str | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["path"]
        return out

    def features(self) -> dict[bytes, float]:
        """The Flite features this voice sets (the others keep the voice's defaults)."""
        return {_FEATURES[k]: v for k in _FEATURES if (v := getattr(self, k)) is not None}


def voice_gender(name: str) -> str | None:
    return SHIPPED[name][0] if name in SHIPPED else None


def sample_voice(cfg: FliteConfig, name: str, rng: np.random.Generator,
                 base_dir: Path | None = None) -> FliteVoice:
    """One speaker's Flite voice: ``name`` with its speed and the prosody features it
    follows, drawn from ``cfg`` in a fixed order (so a voice's draws do not depend on which
    features it follows)."""
    drawn = {"speed": round(float(rng.uniform(*cfg.speed)), 3),
             "f0_shift": round(float(rng.uniform(*cfg.f0_shift)), 3),
             "duration_stretch": round(float(rng.uniform(*cfg.duration_stretch)), 3),
             "f0_mean_hz": round(float(rng.uniform(*cfg.f0_mean_hz)), 1),
             "f0_stddev_hz": round(float(rng.uniform(*cfg.f0_stddev_hz)), 1)}
    path = None
    if name not in SHIPPED:
        p = Path(name)
        path = str(p if p.is_absolute() or base_dir is None else base_dir / p)
    follows = RESPONDS.get(name, _CLUSTERGEN)
    return FliteVoice(name, drawn["speed"], path=path,
                      **{k: v for k, v in drawn.items() if k in follows})


class _Wave(ctypes.Structure):
    _fields_ = [("type", ctypes.c_char_p), ("sample_rate", ctypes.c_int),
                ("num_samples", ctypes.c_int), ("num_channels", ctypes.c_int),
                ("samples", ctypes.POINTER(ctypes.c_short))]


class _Voice(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("features", ctypes.c_void_p),
                ("ffunctions", ctypes.c_void_p)]


_VoicePtr = ctypes.POINTER(_Voice)
_P = ctypes.c_void_p


class _Namespace:
    """Shared libraries loaded into one link-map namespace of their own (``dlmopen``), so
    that they and the C library they use are private to this module; the process's own
    namespace where ``dlmopen`` is missing."""

    _NEW = -1  # LM_ID_NEWLM
    _DI_LMID = 1  # RTLD_DI_LMID

    def __init__(self) -> None:
        self._process = ctypes.CDLL(None)
        self._lmid: int | None = None
        self.private = hasattr(self._process, "dlmopen")
        if self.private:
            self._process.dlmopen.restype = ctypes.c_void_p
            self._process.dlmopen.argtypes = [ctypes.c_long, ctypes.c_char_p, ctypes.c_int]
            self._process.dlinfo.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
            self._process.dlerror.restype = ctypes.c_char_p

    def load(self, name: str) -> ctypes.CDLL:
        """The library ``name`` in this namespace (the first load creates the namespace).

        Raises:
            OSError: the library is not found or does not load.
        """
        if not self.private:
            return ctypes.CDLL(name, mode=ctypes.RTLD_GLOBAL)
        lmid = self._NEW if self._lmid is None else self._lmid
        # (RTLD_GLOBAL is refused for a new namespace; the voices name what they need)
        handle = self._process.dlmopen(lmid, os.fsencode(name), os.RTLD_NOW)
        if not handle:
            raise OSError((self._process.dlerror() or b"").decode(errors="replace"))
        if self._lmid is None:
            found = ctypes.c_long()
            if self._process.dlinfo(ctypes.c_void_p(handle), self._DI_LMID,
                                    ctypes.byref(found)) != 0:
                raise OSError(f"dlinfo failed on {name}")
            self._lmid = found.value
        return ctypes.CDLL(name, handle=handle)

    def libc(self) -> ctypes.CDLL:
        """The C library the namespace's libraries call (its ``srand`` seeds their
        ``rand``)."""
        if not self.private or self._lmid is None:
            return self._process
        return self.load("libc.so.6")


class _Library:
    """libflite and its English language, loaded once per process; voices on first use."""

    def __init__(self) -> None:
        # every call into the namespace's libraries holds it: the namespace's C library
        # does not know of the process's threads
        self.lock = threading.Lock()
        self._namespace = _Namespace()
        try:
            lib = self._namespace.load(LIBFLITE)
            lang = self._namespace.load(LIBRARY_TEMPLATE.format("usenglish"))
            lex = self._namespace.load(LIBRARY_TEMPLATE.format("cmulex"))
        except OSError:
            raise SynthaudioError(f"flite: the Flite library is not installed ({LIBFLITE} "
                                  f"not found); {INSTALL_HINT}") from None
        self.lib = lib
        self.libc = self._namespace.libc()
        for name, res, args in (
            ("flite_synth_text", _P, [ctypes.c_char_p, _P]),
            ("flite_voice_load", _VoicePtr, [ctypes.c_char_p]),
            ("utt_wave", ctypes.POINTER(_Wave), [_P]),
            ("utt_relation", _P, [_P, ctypes.c_char_p]),
            ("relation_head", _P, [_P]),
            ("item_next", _P, [_P]),
            ("item_feat_string", ctypes.c_char_p, [_P, ctypes.c_char_p]),
            ("flite_ffeature_float", ctypes.c_float, [_P, ctypes.c_char_p]),
            ("flite_feat_set_float", None, [_P, ctypes.c_char_p, ctypes.c_float]),
            ("flite_get_param_float", ctypes.c_float, [_P, ctypes.c_char_p, ctypes.c_float]),
            ("flite_get_param_val", _P, [_P, ctypes.c_char_p, _P]),
            ("flite_feat_remove", ctypes.c_int, [_P, ctypes.c_char_p]),
            ("delete_utterance", None, [_P]),
            ("flite_add_lang", ctypes.c_int, [ctypes.c_char_p, _P, _P]),
            ("flite_voice_dump", ctypes.c_int, [_P, ctypes.c_char_p]),
        ):
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args
        lib.flite_init()
        # what flite's own main does, so that .flitevox voices find their language
        init = ctypes.cast(lang.usenglish_init, _P)
        lex_init = ctypes.cast(lex.cmu_lex_init, _P)
        for lang_name in (b"eng", b"usenglish"):
            lib.flite_add_lang(lang_name, init, lex_init)
        self._libs = [lang, lex]  # keep loaded
        self._voices: dict[str, Any] = {}
        self._defaults: dict[str, dict[bytes, float]] = {}
        real = os.path.realpath(_find(LIBFLITE) or LIBFLITE)
        self.version = real.rsplit(".so.", 1)[-1] if ".so." in real else "unknown"

    def voice(self, voice: FliteVoice) -> Any:
        """The ``cst_voice*`` of a voice, registered or loaded on first use."""
        key = voice.path or voice.voice
        if key in self._voices:
            return self._voices[key]
        if voice.path is None:
            if voice.voice not in SHIPPED:
                raise ConfigError(f"flite: no shipped voice {voice.voice!r} "
                                  f"(shipped: {', '.join(SHIPPED)})")
            try:
                vlib = self._namespace.load(LIBRARY_TEMPLATE.format(f"cmu_us_{voice.voice}"))
            except OSError:
                raise SynthaudioError(f"flite: voice {voice.voice!r} is not installed; "
                                      f"{INSTALL_HINT}") from None
            self._libs.append(vlib)
            register = getattr(vlib, f"register_cmu_us_{voice.voice}")
            register.restype, register.argtypes = _VoicePtr, [ctypes.c_char_p]
            ptr = register(None)
        else:
            if not Path(voice.path).is_file():
                raise ConfigKeyError(f"speakers.flite.voices: {voice.path} does not exist")
            ptr = self.lib.flite_voice_load(os.fsencode(voice.path))
        if not ptr:
            raise ConfigError(f"flite: cannot load voice {key!r}")
        feats = ptr.contents.features
        # the voice's own values of the features a speaker may set; absent ones stay
        # absent (setting int_f0_target_mean on slt would move its F0 to that mean)
        self._defaults[key] = {
            name: self.lib.flite_get_param_float(feats, name, 0.0)
            for name in _FEATURES.values() if self.lib.flite_get_param_val(feats, name, None)}
        self._voices[key] = ptr
        return ptr

    def synth(self, text: str, voice: FliteVoice) -> tuple[np.ndarray, int, list[tuple[str, float,
                                                                                       float]]]:
        """(int16 samples, sample rate, [(word, start_s, end_s)]) of one utterance."""
        ptr = self.voice(voice)
        key = voice.path or voice.voice
        feats = ptr.contents.features
        # set (or removed) every time: a voice is shared by the speakers that use it
        wanted = {**self._defaults[key], **voice.features()}
        for name in _FEATURES.values():
            if name in wanted:
                self.lib.flite_feat_set_float(feats, name, wanted[name])
            else:
                self.lib.flite_feat_remove(feats, name)
        self.libc.srand(ctypes.c_uint(zlib.crc32(f"{voice}|{text}".encode())))
        utt = self.lib.flite_synth_text(text.encode("utf-8"), ctypes.cast(ptr, _P))
        if not utt:
            raise SynthaudioError(f"flite failed on text {text[:60]!r}")
        try:
            wave = self.lib.utt_wave(utt).contents
            n = int(wave.num_samples)
            pcm = np.frombuffer(ctypes.string_at(wave.samples, 2 * n), np.int16).copy()
            rate = int(wave.sample_rate)
            words: list[tuple[str, float, float]] = []
            item = self.lib.relation_head(self.lib.utt_relation(utt, b"Word"))
            ff = self.lib.flite_ffeature_float
            while item:
                raw: bytes = self.lib.item_feat_string(item, b"name") or b""
                word = raw.decode("utf-8", "replace")
                start = ff(item, b"R:SylStructure.daughter1.daughter1.R:Segment.p.end")
                end = ff(item, b"R:SylStructure.daughtern.daughtern.R:Segment.end")
                words.append((word, float(start), float(end)))
                item = self.lib.item_next(item)
        finally:
            self.lib.delete_utterance(utt)
        return pcm, rate, words


def _find(name: str) -> str | None:
    for folder in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib",
                   "/usr/local/lib"):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            return path
    return None


_LIBRARY: _Library | None = None
_LIBRARY_LOCK = threading.Lock()


def _library() -> _Library:
    global _LIBRARY
    with _LIBRARY_LOCK:
        if _LIBRARY is None:
            _LIBRARY = _Library()
        return _LIBRARY


def dump_voice(name: str, path: Path) -> None:
    """Write a shipped voice as a ``.flitevox`` file (``flite_voice_dump``).

    Runs in a fresh (spawned) process: Flite cannot dump a voice whose features were set
    (it exits the process), and every voice this process has spoken with has them set.
    """
    import multiprocessing

    proc = multiprocessing.get_context("spawn").Process(target=_dump_here,
                                                         args=(name, str(path)))
    proc.start()
    proc.join()
    if proc.exitcode != 0 or not path.is_file():
        raise SynthaudioError(f"flite: cannot dump voice {name!r} to {path} "
                              f"(exit code {proc.exitcode})")


def _dump_here(name: str, path: str) -> None:
    lib = _library()
    ptr = lib.voice(FliteVoice(name, 1.0))
    lib.lib.flite_voice_dump(ctypes.cast(ptr, _P), path.encode())


class FliteEngine:
    """Flite in process (implements :class:`~synthaudio.tts.base.TTSEngine`).

    Args:
        config_dir: where relative ``.flitevox`` paths of the config start.
    """

    name = ENGINE_NAME

    def __init__(self, config_dir: Path | None = None) -> None:
        self._lib = _library()
        self.config_dir = config_dir

    def version(self) -> str:
        return self._lib.version

    def voices(self) -> list[VoiceInfo]:
        """The shipped voices installed here."""
        return [VoiceInfo(name, ("en-us",), gender, ENGINE_NAME)
                for name, (gender, _) in SHIPPED.items()
                if _find(LIBRARY_TEMPLATE.format(f"cmu_us_{name}")) is not None]

    def synthesize(self, text: str, voice: FliteVoice) -> Synthesis:
        with self._lib.lock:
            pcm, rate, events = self._lib.synth(text, voice)
        audio = pcm.astype(np.float32) / 32768.0
        if voice.speed != 1.0:
            import soxr

            # played ``speed`` times faster: the samples taken as rate * speed, back to rate
            audio = soxr.resample(audio, rate * voice.speed, rate, quality="HQ")
            audio = np.ascontiguousarray(np.clip(audio, -1.0, 1.0), dtype=np.float32)
        words = word_timings(text.split(), events, voice.speed, len(audio) / rate)
        return Synthesis(audio, rate, None if words is None else tighten(words, audio, rate))


# --- the engine's hooks (factory, version, voices, speaker sampler) ----------------------


def engine_for(section: FliteConfig | None, config_dir: Path | None = None) -> FliteEngine:
    """This process's engine (the library is loaded once per process)."""
    return FliteEngine(config_dir)


def flite_version() -> str:
    """Flite's version (from the library's file name); SynthaudioError when not installed."""
    return _library().version


def list_voices(section: FliteConfig | None = None) -> list[VoiceInfo]:
    """The shipped voices, then the section's ``.flitevox`` files."""
    out = FliteEngine().voices()
    for name in (section.voices if section is not None else []):
        if name not in SHIPPED:
            out.append(VoiceInfo(name, ("en-us",), None, ENGINE_NAME))
    return out


def voice_genders(engine: FliteEngine, section: FliteConfig | None) -> list[str | None]:
    """The gender of each voice :func:`speaker_voices` deals from (None: not known)."""
    return [voice_gender(name) for name in (section or FliteConfig()).voices]


def speaker_voices(engine: FliteEngine, section: FliteConfig | None, count: int,
                   rng: np.random.Generator, corpus_language: str = "en-us",
                   genders: Sequence[str | None] | None = None,
                   ) -> list[tuple[FliteVoice, str | None]]:
    """(voice, gender) of ``count`` speakers: the section's voices dealt in turns from a
    drawn order (so each is used as evenly as the count allows; with ``genders``, a gender
    per speaker, each takes the next voice of its gender), each speaker's speed and prosody
    drawn from ``rng``."""
    cfg = section if section is not None else FliteConfig()
    if not corpus_language.lower().startswith("en"):
        raise ConfigError(f"flite speaks English only; the corpus language is "
                          f"{corpus_language!r}")
    names = [cfg.voices[k] for k in rng.permutation(len(cfg.voices))]
    for name in names:
        if name in SHIPPED:
            engine._lib.voice(FliteVoice(name, 1.0))  # installed?
    dealt = deal_voices(names, [voice_gender(n) for n in names], genders, count)
    return [(sample_voice(cfg, name, rng, engine.config_dir), voice_gender(name))
            for name in dealt]


def word_timings(words: Sequence[str], events: Sequence[tuple[str, float, float]],
                 speed: float, duration_s: float) -> tuple[WordTiming, ...] | None:
    """The text's words timed by Flite's word items, or None unless they pair one to one.

    Args:
        words: the text's words, in order.
        events: (Flite's word, start_s, end_s) of each word item, in Flite's time.
        speed: the playback speed applied afterwards (times are divided by it).
        duration_s: length of the audio; spans are clipped to it.
    """
    if len(events) != len(words) or not words:
        return None
    out = []
    for word, (_, start, end) in zip(words, events, strict=True):
        s = min(max(start, 0.0) / speed, duration_s)
        e = min(max(end / speed, s), duration_s)
        out.append(WordTiming(word, s, e - s))
    return tuple(out)

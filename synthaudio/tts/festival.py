"""Festival's voices, through one ``festival --pipe`` process per worker.

Debian's ``festival`` with ``festvox-kallpc16k`` (kal, a diphone voice of the speaker of
Flite's kal), ``festvox-kdlpc16k`` (ked: a speaker Flite lacks) and ``festvox-us-slt-hts``
(slt as an HTS statistical voice, unlike Flite's clustergen slt). Audio is float32 mono
``(n_samples,)`` at the voice's rate; word timings are the end times of each word's
segments in the utterance's Word and Segment relations, printed by a Scheme expression.

What each voice responds to was measured (median F0 by ``librosa.pyin`` and duration, on
one sentence): the diphone voices follow ``Duration_Stretch`` (kal 0.85 -> 1.2: 4.53 ->
6.39 s) and the target mean of their linear-regression intonation (``int_lr_params``:
80 -> 140 Hz gives a median F0 of 83 -> 140 Hz for kal, 89 -> 141 Hz for ked); the target
deviation moves the median little (5 -> 30 Hz: 105 -> 113 Hz) but widens the contour.
The HTS voice ignores all of these and its engine's ``-fm`` (F0 shift) and ``-a``
(all-pass constant): the audio is the same to the bit; only ``-r`` (rate) moves it (0.85
-> 1.15: 6.01 -> 4.44 s). So each voice is given only what it follows.

Festival is deterministic here and each utterance re-selects its voice and sets every
parameter, but a long-running process can end an utterance in a burst near full scale that
a fresh one does not make (see :class:`FestivalEngine`): such an utterance is said again by
a fresh process.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from synthaudio.configbase import check_range
from synthaudio.errors import ConfigError, SynthaudioError
from synthaudio.tts.balance import deal_voices
from synthaudio.tts.base import Synthesis, VoiceInfo, WordTiming
from synthaudio.tts.wordspans import tighten

ENGINE_NAME = "festival"
PACKAGES = "festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts"
INSTALL_HINT = f"apt-get install {PACKAGES}"
PROGRAM = "festival"  # tests point this elsewhere
# voice -> (Festival's voice function, gender, kind, Debian package)
SHIPPED: dict[str, tuple[str, str, str, str]] = {
    "kal": ("voice_kal_diphone", "m", "diphone", "festvox-kallpc16k"),
    "ked": ("voice_ked_diphone", "m", "diphone", "festvox-kdlpc16k"),
    "slt_hts": ("voice_cmu_us_slt_arctic_hts", "f", "hts", "festvox-us-slt-hts"),
}
_TIMEOUT_S = 60.0  # one utterance; Festival answers in well under a second
# Festival's burst: a peak outside the words (each widened by BURST_MARGIN_S before and
# after) above this share of the peak inside them (measured: 0.975 against 0.958, and
# 0.985 against 0.895; in 1,481 utterances without one, the largest was under 0.2)
BURST_RATIO = 0.5
BURST_MARGIN_S = (0.02, 0.05)
_END = "SA_END"

Range = tuple[float, float]


class FestivalConfig(BaseModel):
    """``speakers.festival`` of a corpus config: which voices, and the per-speaker ranges."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # kal is left out by default: a speaker encoder (resemblyzer; bench_engines.py
    # --similarity) puts it at cosine 0.93-0.95 to Flite's kal and kal16, the same
    # speaker; ked (nearest 0.74) and slt_hts (0.75-0.79 to Flite's slt) are about as
    # far from every other voice as Flite's rms and awb are from each other (0.72-0.75)
    voices: list[str] = Field(default_factory=lambda: ["ked", "slt_hts"], min_length=1)
    # diphone voices (kal, ked)
    duration_stretch: Range = (0.9, 1.15)  # Duration_Stretch: > 1 slower
    f0_mean_hz: Range = (85.0, 135.0)  # int_lr_params target_f0_mean
    f0_std_hz: Range = (8.0, 20.0)  # int_lr_params target_f0_std
    # the HTS voice (slt_hts): its engine's -r
    hts_rate: Range = (0.9, 1.1)  # > 1 faster

    @model_validator(mode="after")
    def _ranges(self) -> FestivalConfig:
        check_range(self.duration_stretch, "duration_stretch", 0.5, 2.0)
        check_range(self.f0_mean_hz, "f0_mean_hz", 50, 400)
        check_range(self.f0_std_hz, "f0_std_hz", 0, 80)
        check_range(self.hts_rate, "hts_rate", 0.5, 2.0)
        for v in self.voices:
            if v not in SHIPPED:
                raise ValueError(f"voices: {v!r} is not a Festival voice synthaudio knows "
                                 f"({', '.join(SHIPPED)})")
        return self


@dataclass(frozen=True)
class FestivalVoice:
    """Everything that sets how Festival speaks one utterance; None where the voice does
    not follow that parameter."""

    voice: str  # a key of SHIPPED
    duration_stretch: float | None = None
    f0_mean_hz: float | None = None
    f0_std_hz: float | None = None
    hts_rate: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def scheme(self, wav: Path, text: str) -> str:
        """The Scheme that speaks ``text`` into ``wav`` and prints its word times."""
        function, _, kind, _ = SHIPPED[self.voice]
        lines = [f"({function})"]
        if kind == "diphone":
            lines += [f"(Parameter.set 'Duration_Stretch {self.duration_stretch or 1.0:.4f})",
                      "(set! int_lr_params (list (list 'target_f0_mean "
                      f"{self.f0_mean_hz or 105.0:.2f}) (list 'target_f0_std "
                      f"{self.f0_std_hz or 14.0:.2f}) (assoc 'model_f0_mean int_lr_params) "
                      "(assoc 'model_f0_std int_lr_params)))"]
        else:
            lines += [
                "(set! hts_engine_params (append (list "
                f"(list \"-r\" {self.hts_rate or 1.0:.4f})) "
                "cmu_us_slt_arctic_hts::hts_engine_params))"]
        quoted = text.replace("\\", " ").replace('"', " ")
        lines += [
            f'(set! sa_utt (utt.synth (Utterance Text "{quoted}")))',
            f"(utt.save.wave sa_utt \"{wav}\" 'riff)",
            "(mapcar (lambda (w) (format t \"W\\t%s\\t%f\\t%f\\n\" (item.name w) "
            "(item.feat w \"R:SylStructure.daughter1.daughter1.R:Segment.p.end\") "
            "(item.feat w \"R:SylStructure.daughtern.daughtern.R:Segment.end\"))) "
            "(utt.relation.items sa_utt 'Word))",
            f'(format t "{_END}\\n")',
            "(fflush nil)",
        ]
        return "\n".join(lines) + "\n"


def voice_gender(name: str) -> str:
    return SHIPPED[name][1]


def sample_voice(cfg: FestivalConfig, name: str, rng: np.random.Generator) -> FestivalVoice:
    """One speaker's Festival voice: ``name`` with the parameters it follows, drawn from
    ``cfg`` in a fixed order."""
    drawn = {
        "duration_stretch": round(float(rng.uniform(*cfg.duration_stretch)), 3),
        "f0_mean_hz": round(float(rng.uniform(*cfg.f0_mean_hz)), 1),
        "f0_std_hz": round(float(rng.uniform(*cfg.f0_std_hz)), 1),
        "hts_rate": round(float(rng.uniform(*cfg.hts_rate)), 3),
    }
    hts = SHIPPED[name][2] == "hts"
    return FestivalVoice(name, **{k: v for k, v in drawn.items() if k.startswith("hts_") == hts})


class FestivalEngine:
    """Festival through a ``festival --pipe`` process of this worker (implements
    :class:`~synthaudio.tts.base.TTSEngine`).

    Festival's audio depends on what its process said before: measured, an utterance of
    ``ked`` said after 13 others ended in a burst of 51 ms up to 0.98 of full scale that a
    fresh process does not make (1 of 81 utterances of a render worker). ``reset`` (called
    at the start of each render group, ``SpeechRenderer.tts_session``) starts a fresh
    process for the next utterance, so a group's audio is a function of its own utterances,
    whatever the worker rendered before or how many workers there are. Within a group, an
    utterance with such a burst (``has_burst``: a peak outside its words; 1 of 1,482
    utterances of one process) is said again by a fresh process, which also says the
    group's utterances after it; a second burst would be kept (none was seen)."""

    name = ENGINE_NAME

    def __init__(self) -> None:
        if shutil.which(PROGRAM) is None:
            raise SynthaudioError(f"festival: the {PROGRAM!r} program is not installed; "
                                  f"{INSTALL_HINT}")
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._pid = 0
        self._dir: Path | None = None
        self._stopper: Any = None  # stops the process (and removes its folder) once
        self._spoken = 0  # utterances of the running process

    def version(self) -> str:
        return festival_version()

    def voices(self) -> list[VoiceInfo]:
        return [VoiceInfo(name, ("en-us",), gender, ENGINE_NAME)
                for name, (_, gender, _, _) in SHIPPED.items()]

    def _process(self) -> subprocess.Popen[bytes]:
        """This process's Festival (a worker forked from the parent starts its own)."""
        if self._proc is None or self._pid != os.getpid() or self._proc.poll() is not None:
            self._proc = subprocess.Popen([PROGRAM, "--pipe"], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                          bufsize=0)
            self._pid = os.getpid()
            self._dir = Path(tempfile.mkdtemp(prefix="sa-festival-"))
            self._spoken = 0
            import multiprocessing.util

            self._stopper = multiprocessing.util.Finalize(
                self, _stop, args=(self._proc, self._dir), exitpriority=0)
        return self._proc

    def reset(self) -> None:
        """The next utterance from a fresh Festival process (this one's, if it has spoken,
        is stopped); see the class."""
        with self._lock:
            self._stop_process()

    def _stop_process(self) -> None:
        """Stop this worker's process if it has spoken (the lock held)."""
        if (self._proc is not None and self._pid == os.getpid() and self._spoken
                and self._stopper is not None):
            self._stopper()  # runs _stop once and unregisters it
            self._proc, self._stopper = None, None

    def synthesize(self, text: str, voice: FestivalVoice) -> Synthesis:
        if voice.voice not in SHIPPED:
            raise ConfigError(f"festival: no voice {voice.voice!r} ({', '.join(SHIPPED)})")
        with self._lock:
            said = self._say(text, voice)
            if said.words is not None and has_burst(said.audio, said.sample_rate, said.words):
                self._stop_process()  # the burst is this process's: a fresh one says it
                said = self._say(text, voice)
        return said

    def _say(self, text: str, voice: FestivalVoice) -> Synthesis:
        """``text`` said by this worker's process as it is (the lock held)."""
        import soundfile as sf

        proc = self._process()
        assert proc.stdin is not None and proc.stdout is not None and self._dir is not None
        wav = self._dir / "utt.wav"
        wav.unlink(missing_ok=True)
        try:
            proc.stdin.write(voice.scheme(wav, text).encode("utf-8"))
        except BrokenPipeError:
            raise SynthaudioError("festival exited; is the voice installed? "
                                  f"({INSTALL_HINT})") from None
        self._spoken += 1
        events = _read_words(proc)
        if not wav.is_file():
            raise SynthaudioError(f"festival made no audio for {text[:60]!r} with voice "
                                  f"{voice.voice!r} (package {SHIPPED[voice.voice][3]})")
        audio, rate = sf.read(wav, dtype="float32")
        audio = np.ascontiguousarray(audio if audio.ndim == 1 else audio[:, 0])
        duration_s = len(audio) / rate
        words = text.split()
        timed = None
        if len(events) == len(words) and words:
            timed = []
            for word, (_, start, end) in zip(words, events, strict=True):
                s = min(max(start, 0.0), duration_s)
                timed.append(WordTiming(word, s, min(max(end, s), duration_s) - s))
        return Synthesis(audio, int(rate),
                         None if timed is None else tighten(timed, audio, int(rate)))


def has_burst(audio: np.ndarray, rate: int, words: Sequence[WordTiming]) -> bool:
    """Whether ``audio`` peaks outside its ``words`` (each widened by ``BURST_MARGIN_S``)
    above ``BURST_RATIO`` of its peak inside them: Festival's burst (see
    :class:`FestivalEngine`), never speech or its decay."""
    inside = np.zeros(len(audio), bool)
    before, after = BURST_MARGIN_S
    for w in words:
        inside[max(0, int((w.start_s - before) * rate)):
               int((w.start_s + w.dur_s + after) * rate)] = True
    if inside.all() or not inside.any():
        return False
    peak = float(np.abs(audio[inside]).max())
    return float(np.abs(audio[~inside]).max()) > BURST_RATIO * peak > 0


def _read_words(proc: subprocess.Popen[bytes]) -> list[tuple[str, float, float]]:
    """The word lines Festival prints up to the end marker (read from the pipe's file
    descriptor, so that a hung Festival times out instead of blocking)."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    buffer = b""
    while _END.encode() + b"\n" not in buffer:
        ready, _, _ = select.select([fd], [], [], _TIMEOUT_S)
        chunk = os.read(fd, 65536) if ready else b""
        if not chunk:
            proc.kill()
            raise SynthaudioError("festival stopped answering (exited or hung); is the voice "
                                  f"installed? ({INSTALL_HINT})")
        buffer += chunk
    events: list[tuple[str, float, float]] = []
    for line in buffer.decode("utf-8", "replace").splitlines():
        parts = line.split("\t")
        if len(parts) == 4 and parts[0] == "W":
            events.append((parts[1], float(parts[2]), float(parts[3])))
    return events


def _stop(proc: subprocess.Popen[bytes], folder: Path) -> None:
    try:
        proc.kill()
        proc.wait(timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        pass
    shutil.rmtree(folder, ignore_errors=True)


# --- the engine's hooks (factory, version, voices, speaker sampler) ----------------------


def engine_for(section: FestivalConfig | None, config_dir: Path | None = None,
               ) -> FestivalEngine:
    return FestivalEngine()


def festival_version() -> str:
    """``festival --version``'s release ("" when Festival is not installed)."""
    if shutil.which(PROGRAM) is None:
        return ""
    out = subprocess.run([PROGRAM, "--version"], capture_output=True, text=True,
                         check=False, timeout=30).stdout
    # "festival: Festival Speech Synthesis System: 2.5.0:release December 2017"
    return out.strip().split("System:")[-1].strip().split(":")[0] or out.strip()


def list_voices(section: FestivalConfig | None = None) -> list[VoiceInfo]:
    return FestivalEngine().voices()


def voice_genders(engine: FestivalEngine, section: FestivalConfig | None) -> list[str | None]:
    """The gender of each voice :func:`speaker_voices` deals from."""
    return [voice_gender(name) for name in (section or FestivalConfig()).voices]


def speaker_voices(engine: FestivalEngine, section: FestivalConfig | None, count: int,
                   rng: np.random.Generator, corpus_language: str = "en-us",
                   genders: Sequence[str | None] | None = None,
                   ) -> list[tuple[FestivalVoice, str | None]]:
    """(voice, gender) of ``count`` speakers: the section's voices dealt in turns from a
    drawn order (with ``genders``, each speaker takes the next voice of its gender), each
    speaker's parameters drawn from ``rng``."""
    cfg = section if section is not None else FestivalConfig()
    if not corpus_language.lower().startswith("en"):
        raise ConfigError(f"festival's voices speak English only; the corpus language is "
                          f"{corpus_language!r}")
    names = [cfg.voices[k] for k in rng.permutation(len(cfg.voices))]
    dealt = deal_voices(names, [voice_gender(n) for n in names], genders, count)
    return [(sample_voice(cfg, name, rng), voice_gender(name)) for name in dealt]

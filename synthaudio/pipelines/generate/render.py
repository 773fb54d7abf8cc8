"""Render one planned utterance: TTS, resampling, environment, and its metadata record.

A renderer lives once per worker process; ``render`` is a function of the utterance spec
and the corpus seed alone, so any worker gives the same bytes. Inside a render group's
``session`` the files are written by a background thread while the next utterance is
synthesized; leaving the session waits for them, so a group's records are committed only
after all of its audio is complete.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synthaudio.augment.augmenter import Augmenter
from synthaudio.io.fileio import encode_audio, write_audio_atomic, write_bytes_atomic
from synthaudio.io.metadata import MetadataRecord
from synthaudio.pipelines.generate.config import CorpusConfig
from synthaudio.pipelines.generate.plan import UtteranceSpec
from synthaudio.pipelines.generate.quality import ASRCheck, ASRVerdict, CheckItem, Rendering
from synthaudio.streams import STREAM_UTTERANCE, item_rng
from synthaudio.tts.base import WordTiming
from synthaudio.tts.render import SpeechRenderer
from synthaudio.tts.speakers import SpeakerParams

# Sub-streams of one utterance's randomness, in a fixed order; the ASR check's re-draws
# use [seed, STREAM_UTTERANCE, index, quality.REDRAW_SUB, attempt].
_SUB_PROSODY = 0
_SUB_AUGMENT = 1
STEM_FORMAT = "wav-float32"  # stems: float32 WAV, so speech + noise is the mix, unclipped


utterance_rng = item_rng(STREAM_UTTERANCE)


_SAFE_COMPONENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")


def check_path_component(name: str) -> str:
    """``name`` unchanged when it is safe as one file-name component, else ValueError.

    Ids the program makes (``spk003``, ``spk003-000012``, split names) always are; the check
    keeps any other text (a prompt id, say) from ever becoming a path outside OUT.
    """
    if not isinstance(name, str) or not _SAFE_COMPONENT.fullmatch(name):
        raise ValueError(f"{name!r} is not safe as a file name (letters, digits, '_', '-')")
    return name


def audio_relpath(spec: UtteranceSpec, fmt: str) -> str:
    parts = (spec.split, spec.speaker.speaker_id, spec.utt_id)
    for part in parts:
        check_path_component(part)
    if fmt not in ("wav", "flac"):
        raise ValueError(f"audio format must be 'wav' or 'flac', got {fmt!r}")
    return f"audio/{parts[0]}/{parts[1]}/{parts[2]}.{fmt}"


# the ASR check's result for one utterance: (passing rendering or None, speaker, verdict)
Checked = tuple[Rendering[Any] | None, SpeakerParams, ASRVerdict]


@dataclass
class RenderedAudio:
    audio: np.ndarray  # float32 (n,) or (K, n) at the corpus rate
    words: tuple[WordTiming, ...] | None
    tts: dict[str, Any]
    augment: dict[str, Any] | None
    stems: tuple[np.ndarray, np.ndarray] | None  # (speech, noise) as summed, before channel


@dataclass
class DroppedUtterance:
    reason: str
    tts: dict[str, Any]  # engine, voice and the ASR check's verdict (``asr``)


class Renderer(SpeechRenderer):
    """Makes the audio and the metadata record of utterances, one at a time (the speech
    from the TTS render path, :class:`synthaudio.tts.render.SpeechRenderer`)."""

    def __init__(self, cfg: CorpusConfig, augmenter: Augmenter | None = None,
                 gate: ASRCheck | None = None, config_dir: Path | None = None) -> None:
        super().__init__(cfg.speakers, cfg.audio.sample_rate, config_dir)
        self.cfg = cfg
        self.augmenter = augmenter
        self.gate = gate
        self._writer: ThreadPoolExecutor | None = None  # inside a session only
        self._writes: list[Future[None]] = []  # the session's writes, oldest first

    @contextlib.contextmanager
    def session(self, specs: Sequence[UtteranceSpec] = ()) -> Iterator[None]:
        """One TTS session for a render group (``SpeechRenderer.tts_session``), its files
        written by one background thread; leaving the block waits for every write and raises
        the first write error."""
        with (self.tts_session(spec.speaker.voice for spec in specs),
              ThreadPoolExecutor(1, thread_name_prefix="synthaudio-write") as writer):
            self._writer, self._writes = writer, []
            try:
                yield
                for write in self._writes:
                    write.result()
            finally:
                for write in self._writes:  # on an error: drop the writes not started
                    write.cancel()
                self._writer, self._writes = None, []

    def _write(self, files: list[tuple[Path, np.ndarray, int, str]]) -> None:
        """Write ``(path, audio, sample_rate, format)`` files atomically: now, or in the
        session's writer thread (after raising the error of any write that failed)."""
        if self._writer is None:
            write_files(files)
            return
        while self._writes and self._writes[0].done():
            self._writes.pop(0).result()
        self._writes.append(self._writer.submit(write_files, files))

    def _check_item(self, spec: UtteranceSpec) -> CheckItem[Any]:
        """The utterance's clean renderings as the ASR check draws them."""
        sample_rate = self.cfg.audio.sample_rate

        def render(speaker: SpeakerParams, rng: np.random.Generator) -> Rendering[Any]:
            said = self.say(spec.text, speaker, rng)
            return Rendering(said.audio, sample_rate, said, said.voice)

        return CheckItem(spec.text, spec.speaker, spec.split,
                         [self.cfg.seed, STREAM_UTTERANCE, spec.index],
                         utterance_rng(self.cfg.seed, spec.index, _SUB_PROSODY), render)

    def check_group(self, specs: Sequence[UtteranceSpec]) -> dict[int, Checked] | None:
        """The ASR check of a render group at once (its renderings decoded packed, see
        ``ASRCheck.run_group``), by utterance index; None without a check or packing (then
        each utterance is checked alone in ``synthesize``)."""
        if self.gate is None or not self.gate.packs:
            return None
        results = self.gate.run_group([self._check_item(spec) for spec in specs])
        return {spec.index: got for spec, got in zip(specs, results, strict=True)}

    def synthesize(self, spec: UtteranceSpec, checked: Checked | None = None,
                   ) -> RenderedAudio | DroppedUtterance:
        """TTS and environment for one utterance, without writing anything.

        With an ASR check (``quality.asr``), clean speech the ASR cannot read is re-drawn
        (new prosody, then another voice of the engine) or dropped; ``checked``: the
        check's result already at hand (``check_group``).
        """
        sample_rate = self.cfg.audio.sample_rate
        speaker = spec.speaker
        verdict = None
        if checked is None and self.gate is None:
            item = self._check_item(spec)
            rendering = item.render(speaker, item.first_rng)
        else:
            if checked is None:
                assert self.gate is not None
                item = self._check_item(spec)
                checked = self.gate.run(item.text, item.own, item.split, item.key,
                                        item.first_rng, item.render)
            got, speaker, verdict = checked
            if got is None:
                return DroppedUtterance(verdict.reason(), {
                    "engine": spec.speaker.engine, "asr": verdict.to_dict()})
            rendering = got
        audio, said = rendering.audio, rendering.result
        words, tts = said.words, dict(said.tts)
        if verdict is not None:
            tts["asr"] = verdict.to_dict()
        if self.augmenter is None:
            return RenderedAudio(audio, words, tts, None, None)
        result = self.augmenter(audio, sample_rate, utterance_rng(self.cfg.seed, spec.index,
                                                                  _SUB_AUGMENT))
        if words is not None:
            words = tuple(
                WordTiming(w.word, w.start_s * result.time_scale + result.time_offset_s,
                           w.dur_s * result.time_scale)
                for w in words
            )
        augment = {**result.params.to_dict(), "measured": result.report.to_dict()}
        return RenderedAudio(result.audio, words, tts, augment, (result.speech, result.noise))

    def render(self, spec: UtteranceSpec, out_dir: Path,
               checked: Checked | None = None) -> dict[str, Any]:
        """Render, write the audio (and stems) atomically, and return the metadata record
        (``checked``: the ASR check's result at hand, see ``check_group``)."""
        fmt = self.cfg.audio.format
        sample_rate = self.cfg.audio.sample_rate
        rendered = self.synthesize(spec, checked)
        if isinstance(rendered, DroppedUtterance):
            # a run that rendered this group before may have kept it (a packed ASR check
            # reads an utterance beside its group's others, and a --limit run's group held
            # fewer): what is dropped leaves no audio behind
            (out_dir / audio_relpath(spec, fmt)).unlink(missing_ok=True)
            for name in ("speech", "noise"):
                stem_path = out_dir / "stems" / check_path_component(spec.utt_id) / f"{name}.wav"
                stem_path.unlink(missing_ok=True)
            return {"id": spec.utt_id, "dropped": rendered.reason, "text": spec.text,
                    "split": spec.split, "speaker": spec.speaker.speaker_id, "tts": rendered.tts}
        rel = audio_relpath(spec, fmt)
        files: list[tuple[Path, np.ndarray, int, str]] = [
            (out_dir / rel, rendered.audio, sample_rate, fmt)]
        num_samples = int(rendered.audio.shape[-1])  # (n,) or (K, n)
        duration_s = num_samples / sample_rate
        augment = rendered.augment
        if self.cfg.audio.stems and rendered.stems is not None and augment is not None:
            stem_dir = f"stems/{check_path_component(spec.utt_id)}"
            for name, stem in zip(("speech", "noise"), rendered.stems, strict=True):
                # float32: a stem may exceed full scale, and 16-bit would clip it
                files.append((out_dir / stem_dir / f"{name}.wav", stem, sample_rate, STEM_FORMAT))
            augment = {**augment, "stems": {"speech": f"{stem_dir}/speech.wav",
                                            "noise": f"{stem_dir}/noise.wav"}}
        self._write(files)
        num_channels = 1 if rendered.audio.ndim == 1 else int(rendered.audio.shape[0])
        return MetadataRecord(
            id=spec.utt_id,
            split=spec.split,
            speaker=spec.speaker.speaker_id,
            gender=spec.speaker.gender,
            lang=self.cfg.language,
            text=spec.text,
            raw_text=spec.raw_text,
            prompt_id=spec.prompt_id,
            audio=rel,
            duration_s=round(duration_s, 6),
            sample_rate=sample_rate,
            num_channels=num_channels,
            words=None if rendered.words is None else _clip_words(rendered.words, duration_s),
            tts=rendered.tts,
            augment=augment,
            extra={},
        ).to_dict()


def write_files(files: list[tuple[Path, np.ndarray, int, str]]) -> None:
    """Write ``(path, audio, sample_rate, format)`` files atomically (``STEM_FORMAT``: a
    float32 WAV; else 16-bit ``wav`` or ``flac``)."""
    for path, audio, sample_rate, fmt in files:
        if fmt == STEM_FORMAT:
            frames = audio.T if audio.ndim == 2 else audio
            write_bytes_atomic(path, encode_audio(frames, sample_rate, "wav", "FLOAT"))
        else:
            write_audio_atomic(path, audio, sample_rate, fmt)


def _clip_words(words: tuple[WordTiming, ...], duration_s: float,
                ) -> tuple[tuple[str, float, float], ...]:
    """Word timings as ``(word, start_s, dur_s)``, kept inside the audio and in order."""
    out: list[tuple[str, float, float]] = []
    prev_end = 0.0
    for w in words:
        start = min(max(round(w.start_s, 3), prev_end), duration_s)
        end = min(max(round(w.start_s + w.dur_s, 3), start), duration_s)
        out.append((w.word, round(start, 3), round(end - start, 3)))
        prev_end = end
    return tuple(out)

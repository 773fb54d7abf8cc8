"""Render one planned keyword clip (or stream): speech, placement, environment, record.

Audio is float32 mono ``(n,)``; every clip is exactly ``clip_s`` long. Speech comes from the
corpus renderer (every engine, its word timings, voice conversion), trimmed to its voiced
span, set to a drawn level and placed at a drawn offset; the environment (speed, room,
noise, channel: the corpus ``augment`` section) is drawn for a buffer that comes out at
exactly the clip length, so a keyword's start and end, mapped through it, stay inside.
Each clip's draws come from ``[seed, keywords_clip, index, sub]`` and are recorded.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from synthaudio.augment.augmenter import Augmenter, AugmentParams
from synthaudio.augment.config import NoiseConfig
from synthaudio.augment.environment import EnvironmentResources
from synthaudio.augment.noise import babble_lengths, render_noise, sample_noise
from synthaudio.augment.speed import speed_length
from synthaudio.io.fileio import write_audio_atomic
from synthaudio.io.metadata import MetadataRecord
from synthaudio.pipelines.generate.config import CorpusConfig
from synthaudio.pipelines.generate.quality import ASRCheck, Rendering
from synthaudio.pipelines.keywords.config import KeywordsConfig
from synthaudio.pipelines.keywords.layout import clip_relpath
from synthaudio.pipelines.keywords.plan import ClipSpec
from synthaudio.streams import STREAM_KEYWORDS_CLIP, item_rng
from synthaudio.tts.base import WordTiming
from synthaudio.tts.render import SpeechRenderer
from synthaudio.tts.speakers import SpeakerParams, Voice

# Sub-streams of one clip, in a fixed order.
SUB_PROSODY, SUB_PLACE, SUB_AUGMENT, SUB_NOISE, SUB_STREAM = 0, 1, 2, 3, 4
_TRIM_DB = 40.0  # speech trimmed to the frames within this of its loudest 10 ms
_FRAME_S = 0.01
_TRIM_PAD_S = 0.02  # kept around the voiced span


clip_rng = item_rng(STREAM_KEYWORDS_CLIP)


def rms_dbfs(x: np.ndarray) -> float:
    """RMS level in dB relative to full scale (-inf for silence)."""
    power = float(np.mean(np.square(x, dtype=np.float64))) if x.size else 0.0
    return 10 * math.log10(power) if power > 0 else -math.inf


def at_level(x: np.ndarray, level_dbfs: float) -> np.ndarray:
    """``x`` scaled to RMS ``level_dbfs`` (unchanged when silent)."""
    now = rms_dbfs(x)
    if not math.isfinite(now):
        return x
    return (x * np.float32(10 ** ((level_dbfs - now) / 20))).astype(np.float32)


def voiced_span(audio: np.ndarray, sample_rate: int) -> tuple[int, int]:
    """[start, end) samples of the frames within ``_TRIM_DB`` of the loudest, padded."""
    frame = max(1, round(_FRAME_S * sample_rate))
    n = len(audio) // frame
    if n == 0:
        return 0, len(audio)
    power = np.square(audio[:n * frame].astype(np.float64)).reshape(n, frame).mean(1)
    loud = np.flatnonzero(power > power.max() * 10 ** (-_TRIM_DB / 10))
    if power.max() <= 0 or loud.size == 0:
        return 0, len(audio)
    pad = round(_TRIM_PAD_S * sample_rate)
    return max(0, int(loud[0]) * frame - pad), min(len(audio), (int(loud[-1]) + 1) * frame + pad)


class ClipRenderer:
    """Per worker: the corpus renderer (engines), the augmenter, and the config."""

    def __init__(self, cfg: KeywordsConfig, corpus_cfg: CorpusConfig,
                 env: EnvironmentResources | None, config_dir: Path, out_dir: Path,
                 stream_speakers: Sequence[SpeakerParams], stream_texts: Sequence[str],
                 check: ASRCheck | None = None) -> None:
        self.cfg, self.out_dir = cfg, out_dir
        self.check = check  # quality.asr: the clean speech of speech clips
        self.rate = cfg.audio.sample_rate
        self.n_clip = round(cfg.clip_s * self.rate)
        self.speech = SpeechRenderer(corpus_cfg.speakers, corpus_cfg.audio.sample_rate,
                                     config_dir)
        self.augmenter: Augmenter | None = None
        if env is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # resampled measured RIRs: noted by the parent
                self.augmenter = env.augmenter()
            self.augmenter.keep_length = True  # no reverb tail: the clip length is fixed
        self.stream_speakers, self.stream_texts = tuple(stream_speakers), tuple(stream_texts)

    # --- speech ------------------------------------------------------------------------

    def say(self, text: str, speaker: SpeakerParams, rng: np.random.Generator,
            ) -> tuple[np.ndarray, tuple[WordTiming, ...], dict[str, Any]]:
        """Speech trimmed to its voiced span at a drawn level, its words on that span."""
        return self._say(text, speaker, rng)[:3]

    def _say(self, text: str, speaker: SpeakerParams, rng: np.random.Generator,
             ) -> tuple[np.ndarray, tuple[WordTiming, ...], dict[str, Any], Voice]:
        said = self.speech.say(text, speaker, rng)
        audio, words, voice = said.audio, said.words, said.voice
        start, end = voiced_span(audio, self.rate)
        audio = audio[start:end]
        shift = start / self.rate
        length_s = len(audio) / self.rate
        words = tuple(_inside(w.word, w.start_s - shift, w.start_s + w.dur_s - shift, length_s)
                      for w in words)
        level = float(rng.uniform(*self.cfg.levels.speech_dbfs))
        return at_level(audio, level), words, said.record(level_dbfs=round(level, 2)), voice

    def checked_say(self, spec: ClipSpec,
                    ) -> tuple[np.ndarray, tuple[WordTiming, ...], dict[str, Any]] | dict[str, Any]:
        """``say`` of a speech clip, through the ASR check when there is one: (speech,
        words, tts), or the clip's dropped record."""
        assert spec.speaker is not None
        first_rng = clip_rng(self.cfg.seed, spec.index, SUB_PROSODY)
        if self.check is None:
            return self.say(spec.text, spec.speaker, first_rng)

        def render(speaker: SpeakerParams, rng: np.random.Generator) -> Rendering[Any]:
            speech, words, tts, voice = self._say(spec.text, speaker, rng)
            return Rendering(speech, self.rate, (speech, words, tts), voice)

        got, _, verdict = self.check.run(
            spec.text, spec.speaker, spec.split, [self.cfg.seed, STREAM_KEYWORDS_CLIP, spec.index],
            first_rng, render)
        if got is None:
            return {"id": spec.clip_id, "dropped": verdict.reason(), "text": spec.text,
                    "kind": spec.kind, "label": spec.label,
                    "tts": {"engine": spec.speaker.engine, "asr": verdict.to_dict()}}
        speech, words, tts = got.result
        return speech, words, {**tts, "asr": verdict.to_dict()}

    # --- environment ---------------------------------------------------------------------

    def environment_params(self, index: int, n_out: int) -> AugmentParams | None:
        """The environment of clip ``index``, drawn for an input that comes out ``n_out``
        samples long after the speed factor (the factor's draw does not depend on the
        length)."""
        if self.augmenter is None:
            return None
        first = self.augmenter.sample(clip_rng(self.cfg.seed, index, SUB_AUGMENT), n_out,
                                      self.rate)
        factor = first.speed.factor if first.speed is not None else 1.0
        n_in = round(n_out * factor)
        for candidate in (n_in, n_in - 1, n_in + 1):
            if speed_length(candidate, factor) == n_out:
                n_in = candidate
                break
        return self.augmenter.sample(clip_rng(self.cfg.seed, index, SUB_AUGMENT), n_in,
                                     self.rate)

    def apply(self, buffer: np.ndarray, params: AugmentParams | None, n_out: int,
              ) -> tuple[np.ndarray, np.ndarray, Any]:
        """(audio, clean speech stem, result or None), both exactly ``n_out`` long."""
        if params is None or self.augmenter is None:
            return buffer, buffer, None
        result = self.augmenter.apply(buffer, self.rate, params)
        audio, speech = result.audio, result.speech
        if audio.ndim == 2:  # a multichannel RIR: the first microphone
            audio, speech = audio[0], speech[0]
        return _fit(audio, n_out), _fit(speech, n_out), result

    # --- the kinds ---------------------------------------------------------------------

    def render(self, spec: ClipSpec) -> dict[str, Any]:
        if spec.kind == "stream":
            from synthaudio.pipelines.keywords.stream import render_stream

            return render_stream(self, spec)
        if spec.kind in ("noise", "silence", "background"):
            audio, noise = self._no_speech(spec)
            return self.record(spec, audio, None, None, None, noise)
        params = self.environment_params(spec.index, self.n_clip)
        n_in = params.num_samples if params is not None else self.n_clip
        factor = params.speed.factor if params is not None and params.speed else 1.0
        delay_s = params.room.direct_delay_s if params is not None and params.room else 0.0
        place_rng = clip_rng(self.cfg.seed, spec.index, SUB_PLACE)
        buffer = np.zeros(n_in, np.float32)
        if spec.kind == "babble":
            tts = self._babble(spec, buffer, place_rng)
            audio, _, result = self.apply(buffer, params, self.n_clip)
            return self.record(spec, audio, None, tts, result, {})
        said = self.checked_say(spec)
        if isinstance(said, dict):
            return said
        speech, words, tts = said
        margin = self.cfg.margin_s
        # the speech's span in output time: (offset + t) / factor + delay, inside the margins
        lo = math.ceil(max(0.0, (margin - delay_s) * factor) * self.rate)
        hi = math.floor(((self.cfg.clip_s - margin - delay_s) * factor) * self.rate) - len(speech)
        hi = min(hi, n_in - len(speech))
        if hi < lo:
            return {"id": spec.clip_id, "dropped": (
                f"{spec.kind} {spec.text!r}: {len(speech) / self.rate:.2f} s of speech does not "
                f"fit a {self.cfg.clip_s:g} s clip with {margin:g} s margins"),
                "text": spec.text, "kind": spec.kind, "label": spec.label}
        offset = int(place_rng.integers(lo, hi + 1))
        buffer[offset:offset + len(speech)] = speech
        audio, stem, result = self.apply(buffer, params, self.n_clip)

        def out_time(t_s: float) -> float:
            t = t_s + offset / self.rate
            return result.map_time(t) if result is not None else t

        placed = tuple((w.word, out_time(w.start_s), w.dur_s / factor) for w in words)
        extra: dict[str, Any] = {"placement": {"offset_s": round(offset / self.rate, 6)}}
        span = (out_time(0.0), out_time(len(speech) / self.rate))
        extra["speech_span_s"] = [round(span[0], 4), round(span[1], 4)]
        if spec.kind == "positive":
            start, end = placed[0][1], placed[-1][1] + placed[-1][2]
            extra["keyword"] = {"start_s": round(start, 4), "end_s": round(end, 4),
                                "energy_inside": round(_energy_inside(stem, self.rate,
                                                                      start, end), 4)}
        return self.record(spec, audio, placed, tts, result, extra)

    def _babble(self, spec: ClipSpec, buffer: np.ndarray, rng: np.random.Generator,
                ) -> dict[str, Any]:
        """Talkers summed at drawn offsets and levels (in place); their draws."""
        talkers = []
        for k, (speaker, text) in enumerate(spec.talkers):
            speech, _, tts = self.say(text, speaker, clip_rng(self.cfg.seed, spec.index,
                                                              100 + k))
            offset = int(rng.integers(-len(speech) // 2, len(buffer)))
            gain_db = float(rng.uniform(-6.0, 0.0))
            lo, hi = max(0, offset), min(len(buffer), offset + len(speech))
            if hi > lo:
                buffer[lo:hi] += speech[lo - offset:hi - offset] * np.float32(10 ** (gain_db / 20))
            talkers.append({"speaker": speaker.speaker_id, "text": text, "engine": tts["engine"],
                            "offset_s": round(offset / self.rate, 4), "gain_db": round(gain_db, 2)})
        level = float(rng.uniform(*self.cfg.levels.speech_dbfs))
        buffer[:] = at_level(buffer, level)
        return {"engine": "babble", "talkers": talkers, "level_dbfs": round(level, 2)}

    def _no_speech(self, spec: ClipSpec) -> tuple[np.ndarray, dict[str, Any]]:
        """Noise (the augment section's kinds, babble left out: it is speech) at a drawn
        level; a background recording is one kind, ``background_s`` long."""
        rng = clip_rng(self.cfg.seed, spec.index, SUB_NOISE)
        base = self.cfg.augment.noise if self.cfg.augment is not None else NoiseConfig()
        kinds = {k: w for k, w in base.kinds.items() if k != "babble" and w > 0}
        folders = self.augmenter.noise_folders if self.augmenter is not None else ()
        if not folders:
            kinds.pop("folder", None)
        if spec.noise_kind is not None:
            kinds = {spec.noise_kind: 1.0}
        noise_cfg = base.model_copy(update={"kinds": kinds or {"pink": 1.0}})
        n = (round(self.cfg.counts.background_s * self.rate) if spec.kind == "background"
             else self.n_clip)
        params = sample_noise(noise_cfg, rng, num_samples=n, sample_rate=self.rate,
                              folders=folders, babble_lengths=babble_lengths(None))
        noise = render_noise(params, self.rate, 1, folders=folders)[0]
        levels = (self.cfg.levels.silence_dbfs if spec.kind == "silence"
                  else self.cfg.levels.noise_dbfs)
        level = float(rng.uniform(*levels))
        audio = at_level(noise.astype(np.float32), level)
        return audio, {"noise": {**params.to_dict(), "level_dbfs": round(level, 2)}}

    # --- the record ----------------------------------------------------------------------

    def record(self, spec: ClipSpec, audio: np.ndarray,
                words: Sequence[tuple[str, float, float]] | None, tts: dict[str, Any] | None,
                result: Any, extra: dict[str, Any]) -> dict[str, Any]:
        rel = clip_relpath(spec, self.cfg.audio.format)
        frames = write_audio_atomic(self.out_dir / rel, audio, self.rate, self.cfg.audio.format)
        duration_s = frames / self.rate
        augment = None
        if result is not None:
            augment = {**result.params.to_dict(), "measured": result.report.to_dict()}
        keys: dict[str, Any] = {"kind": spec.kind, "label": spec.label}
        if spec.target is not None:
            keys["target"] = spec.target
        if spec.distance is not None:
            keys["distance"], keys["confusion"] = spec.distance, spec.confusion
        keys["level_dbfs"] = round(rms_dbfs(audio), 2)
        return MetadataRecord(
            id=spec.clip_id, split=spec.split, speaker=spec.speaker_id,
            gender=spec.gender,
            lang=self.cfg.language, text=spec.text or "<sil>", raw_text=spec.text or None,
            audio=rel, duration_s=round(duration_s, 6), sample_rate=self.rate, num_channels=1,
            words=None if words is None else tuple(
                (w, round(s, 3), round(d, 3)) for w, s, d in words),
            tts=tts, augment=augment, extra={**keys, **extra},
        ).to_dict()


def _inside(word: str, start_s: float, end_s: float, length_s: float) -> WordTiming:
    """A word's timing kept inside ``[0, length_s]``."""
    start = min(max(start_s, 0.0), length_s)
    return WordTiming(word, start, min(max(end_s, start), length_s) - start)


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    """``x`` cut or zero-padded to ``n`` samples (the speed rounding: one sample at most)."""
    if len(x) >= n:
        return np.ascontiguousarray(x[:n])
    return np.pad(x, (0, n - len(x)))


def _energy_inside(stem: np.ndarray, rate: int, start_s: float, end_s: float) -> float:
    """Share of the clean speech stem's energy between ``start_s`` and ``end_s``."""
    energy = np.square(stem.astype(np.float64))
    total = float(energy.sum())
    if total <= 0:
        return 0.0
    a, b = max(0, round(start_s * rate)), min(len(stem), round(end_s * rate))
    return float(energy[a:b].sum()) / total


def init_worker(cfg_data: dict[str, Any], corpus_data: dict[str, Any],
                env: EnvironmentResources | None, config_dir: str, out_dir: str,
                stream_speakers: Sequence[SpeakerParams], stream_texts: Sequence[str],
                check: ASRCheck | None = None) -> ClipRenderer:
    return ClipRenderer(KeywordsConfig.model_validate(cfg_data),
                        CorpusConfig.model_validate(corpus_data), env, Path(config_dir),
                        Path(out_dir), stream_speakers, stream_texts, check)


def render_group(state: ClipRenderer, specs: Sequence[ClipSpec]) -> list[dict[str, Any]]:
    """Render one group of clips in one TTS session (``SpeechRenderer.tts_session``); their
    records. The session knows every voice the group may use first: its speakers', its
    babble talkers' and, for a group with streams, the stream speakers'."""
    voices = [s.speaker.voice for s in specs if s.speaker is not None]
    voices += [t[0].voice for s in specs for t in s.talkers]
    if any(s.kind == "stream" for s in specs):
        voices += [speaker.voice for speaker in state.stream_speakers]
    with state.speech.tts_session(voices):
        return [state.render(spec) for spec in specs]


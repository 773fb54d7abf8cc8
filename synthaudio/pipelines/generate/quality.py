"""The ASR check (``quality.asr``): re-draw or drop utterances whose clean rendering the ASR
cannot read.

Each utterance's clean TTS output (before the environment) is decoded; when its error (WER
or CER, per engine) is above the engine's ``max_error`` it is rendered again: with new
prosody in the same voice first (``voice_attempts`` renderings a voice), then in another
voice of the same engine (a speaker of the same split and gender), up to ``max_attempts``
renderings, and dropped when none passes. Attempt 0 uses the utterance's ordinary prosody
stream (an utterance that passes at once is the bytes it is without the check); attempt
``k`` draws from ``[*key, REDRAW_SUB, k]`` and the order of the other voices from
``[*key, REDRAW_SUB, 0]``, where ``key`` is the utterance's own stream key: every decision
is a function of the utterance alone, whatever the worker count. The verdict goes into the
record as ``tts.asr``. With ``pack: true`` a render group is checked at once
(:meth:`ASRCheck.run_group`): its renderings are decoded with one Whisper encoder pass per
window, so a verdict also depends on the group's other renderings (fixed by the plan).
Used by ``generate`` (pipelines/generate/render.py; packed or not) and ``keywords``
(pipelines/keywords/render.py; one decode per rendering).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import numpy as np
from pydantic import Field, StrictInt, model_validator

from synthaudio.configbase import ConfigModel

if TYPE_CHECKING:  # the ASR side loads only when a check is built: configs stay light
    from synthaudio.evaluate.asr import ASRBackend
    from synthaudio.tts.speakers import SpeakerParams, Voice

# below it a packed decoding is redone alone; measured (benchmarks/README.md, "The ASR check
# packed"): no cut saves CPU and keeps the decisions (-0.3 decodes 317 of 320 alone)
PACK_MIN_LOGPROB = -1.0
REDRAW_SUB = 1000  # the sub-stream of re-draws: [*utterance key, REDRAW_SUB, attempt]
Metric = Literal["wer", "cer"]
OUTCOMES = ("passed", "redrawn", "dropped")  # first rendering passed; a later one; none


class EngineLimit(ConfigModel):
    """One engine's threshold, where it differs from the section's."""

    metric: Metric | None = None  # None: the section's
    max_error: float | None = Field(default=None, ge=0.0, le=10.0)  # None: the section's


class ASRCheckConfig(ConfigModel):
    """``quality.asr``: which ASR judges the clean renderings, and how strictly."""

    backend: str = "faster-whisper"  # an --asr spec (evaluate.asr.make_backend)
    metric: Metric = "wer"  # of the normalized hypothesis against the normalized text
    # "english": numbers, contractions, spellings made comparable (EnglishEvalNormalizer);
    # "basic": case, punctuation and recognizer fillers only (any language)
    normalizer: Literal["english", "basic"] = "english"
    max_error: float = Field(default=0.5, ge=0.0, le=10.0)  # above it: re-draw
    engines: dict[str, EngineLimit] = Field(default_factory=dict)  # per-engine thresholds
    max_attempts: StrictInt = Field(default=3, ge=1, le=20)  # renderings, the first included
    voice_attempts: StrictInt = Field(default=2, ge=1, le=20)  # renderings a voice, then the next
    # True: a render group's renderings of one round decoded together, packed with silence
    # between them into windows of at most pack_s seconds (Whisper encodes 30 s whatever
    # the clip; faster-whisper on the CPU only), a failure confirmed alone: about half the
    # check's CPU, but Whisper reads a clip beside the group's others better, so more pass
    # (digits: 15% more; benchmarks/README.md, "The ASR check packed"). Off: one decode each
    pack: bool = False
    pack_s: float = Field(default=28.0, ge=1.0, le=30.0)
    # a packed decoding less sure than this (average log-probability of its tokens) is
    # replaced by the rendering decoded alone (benchmarks/bench_asr_pack.py)
    pack_min_logprob: float = Field(default=PACK_MIN_LOGPROB, le=0.0)

    def limit(self, engine: str) -> tuple[Metric, float]:
        """(metric, max_error) of ``engine``."""
        own = self.engines.get(engine)
        metric = own.metric if own is not None and own.metric is not None else self.metric
        limit = own.max_error if own is not None and own.max_error is not None else self.max_error
        return metric, limit


class QualityConfig(ConfigModel):
    """The ``quality:`` section of a corpus or keywords config; off without ``asr``.

    The older form ``{asr: SPEC, max_cer: X, max_redraws: N}`` reads as a CER check of N + 1
    renderings in the speaker's own voice.
    """

    asr: ASRCheckConfig | None = None

    @model_validator(mode="before")
    @classmethod
    def _older_form(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if not ({"max_cer", "max_redraws"} & data.keys() or isinstance(data.get("asr"), str)):
            return data
        rest = {k: v for k, v in data.items() if k not in ("asr", "max_cer", "max_redraws")}
        attempts = 1 + data.get("max_redraws", 2)
        return {**rest, "asr": {"backend": data.get("asr", "pocketsphinx:corpus-lm"),
                                "metric": "cer", "normalizer": "basic",
                                "max_error": data.get("max_cer", 0.5),
                                "max_attempts": attempts, "voice_attempts": attempts}}


def voice_label(voice: Voice) -> str:
    """A voice's name for counting: espeak ``en-us+f3``, Piper/Coqui model or speaker..."""
    d = voice.to_dict()
    speaker = d.get("speaker")
    if speaker not in (None, ""):
        return str(speaker)
    parts = [str(d[k]) for k in ("voice", "model", "variant") if d.get(k) not in (None, "")]
    return "+".join(parts) or type(voice).__name__


@dataclass(frozen=True)
class ASRVerdict:
    """What the check found for one utterance (``tts.asr`` of its record)."""

    backend: str
    metric: str
    max_error: float
    error: float  # of the last rendering checked
    hypothesis: str  # normalized, of the last rendering checked
    attempts: int  # renderings checked
    outcome: str  # one of OUTCOMES
    voice: str  # voice_label of the last rendering's voice
    voice_of: str | None = None  # the speaker whose voice it was, when not the utterance's
    # packing on: renderings decoded together in the last one's round (1: decided alone)
    packed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "backend": self.backend, "metric": self.metric, "max_error": self.max_error,
            "error": round(self.error, 4), "hypothesis": self.hypothesis,
            "attempts": self.attempts, "outcome": self.outcome, "voice": self.voice}
        if self.voice_of is not None:
            out["voice_of"] = self.voice_of
        if self.packed is not None:
            out["packed"] = self.packed
        return out

    def reason(self) -> str:
        return (f"asr {self.metric} {self.error:.2f} > {self.max_error:.2f} after "
                f"{self.attempts} renderings")


R = TypeVar("R")


@dataclass(frozen=True)
class Rendering(Generic[R]):
    """One attempt's clean speech, the caller's result, and the voice it was spoken in."""

    audio: np.ndarray  # float32 (n,) clean speech
    sample_rate: int
    result: R
    voice: Voice  # the drawn voice (prosody included): equal voices give equal audio


class ASRCheck:
    """The check with its backend (built once, in the parent; it pickles without its model)
    and the voices it may switch to."""

    def __init__(self, cfg: ASRCheckConfig, backend: ASRBackend,
                 speakers: Sequence[SpeakerParams] = (),
                 splits: Mapping[str, str] | None = None) -> None:
        self.cfg = cfg
        self.backend = backend
        self.speakers = tuple(speakers)  # the plan's speakers: the other voices
        self.splits = dict(splits or {})  # speaker id -> split
        self._normalize: Callable[[str], str] | None = None

    @classmethod
    def build(cls, cfg: ASRCheckConfig, corpus_texts: Sequence[str], work_dir: Path,
              speakers: Sequence[SpeakerParams] = (),
              splits: Mapping[str, str] | None = None) -> ASRCheck:
        """The check of a corpus (``pocketsphinx:corpus-lm`` writes its model under
        ``work_dir``); ``speakers`` and ``splits`` (the plan's) give the other voices."""
        from synthaudio.evaluate.asr import make_backend

        backend = make_backend(cfg.backend, corpus_texts=list(corpus_texts), work_dir=work_dir)
        return cls(cfg, backend, speakers, splits)

    @property
    def backend_name(self) -> str:
        return str(getattr(self.backend, "name", self.cfg.backend))

    def score(self, audio: np.ndarray, sample_rate: int, text: str,
              metric: str) -> tuple[str, float]:
        """(normalized hypothesis, its WER or CER against ``text``)."""
        return self.score_text(self.backend.transcribe(audio, sample_rate), text, metric)

    def _normalizer(self) -> Callable[[str], str]:
        if self._normalize is None:
            from synthaudio.evaluate.normalizer import EnglishEvalNormalizer, EvalNormalizer

            self._normalize = (EnglishEvalNormalizer() if self.cfg.normalizer == "english"
                               else EvalNormalizer())
        return self._normalize

    def other_voices(self, own: SpeakerParams, split: str) -> list[SpeakerParams]:
        """Speakers of ``own``'s engine, split and gender, ``own`` left out, in plan order."""
        return [s for s in self.speakers
                if s.engine == own.engine and s.gender == own.gender
                and s.speaker_id != own.speaker_id and self.splits.get(s.speaker_id) == split]

    def run(self, text: str, own: SpeakerParams, split: str, key: Sequence[int],
            first_rng: np.random.Generator,
            render: Callable[[SpeakerParams, np.random.Generator], Rendering[R]],
            ) -> tuple[Rendering[R] | None, SpeakerParams, ASRVerdict]:
        """Render ``text`` until a rendering passes or the attempts are spent.

        Args:
            text: what is said (the reference).
            own: the utterance's speaker.
            split: its split (other voices come from the same split).
            key: the utterance's stream key, e.g. ``[seed, STREAM_UTTERANCE, index]``.
            first_rng: attempt 0's prosody stream (the one used without a check).
            render: (speaker, prosody rng) -> Rendering.

        Returns:
            (the passing rendering or None when dropped, the speaker of the last
            rendering, the verdict).
        """
        attempts = _Attempts(self, CheckItem(text, own, split, key, first_rng, render))
        while (rendering := attempts.next()) is not None:
            attempts.feed(*self.score(rendering.audio, rendering.sample_rate, text,
                                      attempts.metric))
        return attempts.result()

    @property
    def packs(self) -> bool:
        """Whether a group's renderings are decoded together (``pack`` on, and a backend
        that decodes several utterances in one window: faster-whisper)."""
        return self.cfg.pack and callable(getattr(self.backend, "transcribe_packed", None))

    def run_group(self, items: Sequence[CheckItem[R]],
                  ) -> list[tuple[Rendering[R] | None, SpeakerParams, ASRVerdict]]:
        """:meth:`run` for a fixed group of utterances, in rounds: every utterance's first
        rendering, all decoded together (packed into as few windows as fit, see
        ``FasterWhisperBackend.transcribe_packed``); then the next rendering of those that
        failed, decoded together; and so on. Each utterance's renderings and rules are
        those of :meth:`run`. A rendering the packed decoding fails, or reads with an average
        token log-probability below ``pack_min_logprob``, is decoded alone, and that decoding
        decides (``packed: 1`` in its verdict): a rendering is rejected only when :meth:`run`
        would reject it; one the packed decoding passes surely may be one :meth:`run` would
        have rejected (Whisper reads a clip beside others of the group: its encoder attends
        to the whole window; benchmarks/bench_asr_pack.py measures how often).
        The rounds and the windows are a function of the group alone (its items in order),
        so the verdicts are the same for any worker count or schedule.
        """
        states = [_Attempts(self, item) for item in items]
        while True:
            batch = [(s, r) for s in states if (r := s.next()) is not None]
            if not batch:
                break
            if self.packs:
                texts = self.backend.transcribe_packed(  # type: ignore[attr-defined]
                    [(r.audio, r.sample_rate) for _, r in batch], self.cfg.pack_s,
                    self.cfg.pack_min_logprob)
            else:
                texts = [(self.backend.transcribe(r.audio, r.sample_rate), True)
                         for _, r in batch]
            for (state, rendering), (text, alone) in zip(batch, texts, strict=True):
                hyp, error = self.score_text(text, state.item.text, state.metric)
                if not alone and error > state.limit:  # a packed failure is confirmed alone
                    hyp, error = self.score(rendering.audio, rendering.sample_rate,
                                            state.item.text, state.metric)
                    alone = True
                packed = None if not self.packs else 1 if alone else len(batch)
                state.feed(hyp, error, packed=packed)
        return [s.result() for s in states]

    def score_text(self, hypothesis: str, text: str, metric: str) -> tuple[str, float]:
        """(normalized ``hypothesis``, its WER or CER against ``text``)."""
        from synthaudio.evaluate.scoring import score_utterance

        normalize = self._normalizer()
        hyp = normalize(hypothesis)
        scores = score_utterance("", normalize(text), hyp)
        return hyp, float(scores.wer if metric == "wer" else scores.cer)


@dataclass(frozen=True)
class CheckItem(Generic[R]):
    """One utterance for :meth:`ASRCheck.run_group` (the arguments of :meth:`ASRCheck.run`)."""

    text: str
    own: SpeakerParams
    split: str
    key: Sequence[int]
    first_rng: np.random.Generator
    render: Callable[[SpeakerParams, np.random.Generator], Rendering[R]]


class _Attempts(Generic[R]):
    """One utterance's renderings under the check: ``next()`` renders the next one to decode
    (None when it passed or the attempts are spent), ``feed`` takes its score."""

    def __init__(self, check: ASRCheck, item: CheckItem[R]) -> None:
        self.check, self.item = check, item
        self.metric, self.limit = check.cfg.limit(item.own.engine)
        others = check.other_voices(item.own, item.split)
        order = (np.random.default_rng([*item.key, REDRAW_SUB, 0]).permutation(len(others))
                 if others else np.zeros(0, int))
        self.voices = [item.own, *(others[int(i)] for i in order)]
        self.tried: set[str] = set()
        self.checked, self.k = 0, 0
        self.done = False
        self.pending: tuple[Rendering[R], SpeakerParams] | None = None
        self.last: tuple[Rendering[R], SpeakerParams, str, float, int | None] | None = None

    def next(self) -> Rendering[R] | None:
        cfg = self.check.cfg
        while not self.done:
            stage = self.k // cfg.voice_attempts
            if self.checked >= cfg.max_attempts or stage >= len(self.voices):
                self.done = True
                break
            speaker = self.voices[stage]
            rng = (self.item.first_rng if self.k == 0
                   else np.random.default_rng([*self.item.key, REDRAW_SUB, self.k]))
            rendering = self.item.render(speaker, rng)
            seen = f"{speaker.speaker_id} {json.dumps(rendering.voice.to_dict(), sort_keys=True)}"
            if seen in self.tried:  # a voice without prosody draws: the same audio again
                self.k = (stage + 1) * cfg.voice_attempts
                continue
            self.tried.add(seen)
            self.pending = (rendering, speaker)
            return rendering
        return None

    def feed(self, hyp: str, error: float, packed: int | None = None) -> None:
        assert self.pending is not None
        rendering, speaker = self.pending
        self.pending = None
        self.checked, self.k = self.checked + 1, self.k + 1
        self.last = (rendering, speaker, hyp, error, packed)
        if error <= self.limit:
            self.done = True

    def result(self) -> tuple[Rendering[R] | None, SpeakerParams, ASRVerdict]:
        assert self.last is not None
        rendering, speaker, hyp, error, packed = self.last
        passed = error <= self.limit
        checked, own = self.checked, self.item.own
        verdict = ASRVerdict(
            backend=self.check.backend_name, metric=self.metric, max_error=self.limit,
            error=error, hypothesis=hyp, attempts=checked,
            outcome="dropped" if not passed else "passed" if checked == 1 else "redrawn",
            voice=voice_label(rendering.voice),
            voice_of=None if speaker.speaker_id == own.speaker_id else speaker.speaker_id,
            packed=packed)
        return (rendering if passed else None), speaker, verdict


# ---- counting ---------------------------------------------------------------------------


def read_verdicts(out_dir: Path) -> list[tuple[str, dict[str, Any]]]:
    """(engine, tts.asr) of every checked record of OUT's metadata.jsonl and
    quality_dropped.jsonl."""
    out: list[tuple[str, dict[str, Any]]] = []
    for name in ("metadata.jsonl", "quality_dropped.jsonl"):
        path = out_dir / name
        if not path.is_file():
            continue
        with path.open(encoding="utf-8") as f:
            for line in f:
                record = json.loads(line)
                tts = record.get("tts") or {}
                if isinstance(tts, dict) and isinstance(tts.get("asr"), dict):
                    out.append((str(tts.get("engine", "?")), tts["asr"]))
    return out


def count_verdicts(verdicts: Iterable[tuple[str, Mapping[str, Any]]],
                   ) -> dict[str, dict[str, Counter[str]]]:
    """engine -> voice -> counts of ``checked``, each outcome, and ``renderings``."""
    table: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    for engine, v in verdicts:
        c = table[engine][str(v.get("voice", "?"))]
        c["checked"] += 1
        c[str(v.get("outcome"))] += 1
        c["renderings"] += int(v.get("attempts", 1))
    return {e: dict(sorted(vs.items())) for e, vs in sorted(table.items())}


def format_counts(table: Mapping[str, Mapping[str, Counter[str]]]) -> list[str]:
    """One line per engine (its voices' totals): checked, re-drawn, dropped."""
    lines = []
    for engine, voices in table.items():
        total: Counter[str] = Counter()
        for c in voices.values():
            total.update(c)
        n = total["checked"]
        lines.append(f"asr check {engine}: {n} checked, {total['redrawn']} re-drawn "
                     f"({100 * total['redrawn'] / n:.1f}%), {total['dropped']} dropped "
                     f"({100 * total['dropped'] / n:.1f}%), {len(voices)} voice(s)")
    return lines

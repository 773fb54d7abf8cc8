"""The keyword corpus plan: every clip's kind, label, text, speaker and file name.

Decided from the config and its seed alone (``[seed, keywords_plan, kind]`` streams),
before any audio is made; what is drawn per clip when it is rendered (prosody, placement,
level, environment) comes from the clip's own stream ``[seed, keywords_clip, index]``.
Clips are ordered by speaker, so ids (``<speaker>-<index:06d>``) increase with the index;
the long ``_background_noise_`` recordings (speaker ``bgnoise``) come first and the
streams (speaker ``stream``) last.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from synthaudio.augment.environment import BabbleTexts
from synthaudio.errors import InputError, InputKeyError
from synthaudio.pipelines.generate.config import CorpusConfig
from synthaudio.pipelines.generate.plan import CorpusPlan, plan_corpus
from synthaudio.pipelines.keywords.config import BACKGROUND, SILENCE, UNKNOWN, KeywordsConfig
from synthaudio.pipelines.keywords.confusable import (
    Confusable,
    Lexicon,
    find_confusables,
    lexicon_for,
    read_word_file,
    says_any,
    sound_alike,
)
from synthaudio.streams import STREAM_KEYWORDS_PLAN
from synthaudio.tts.speakers import SpeakerParams

# Clip kinds, in the order their plan streams are numbered (never reorder: it seeds them).
KINDS = ("positive", "hard_negative", "speech", "babble", "noise", "silence", "background",
         "stream")
NO_SPEECH_TEXT = {"noise": "<noise>", "silence": "<sil>", "background": "<noise>",
                  "babble": "<babble>"}
BACKGROUND_KINDS = ("pink", "white", "brown", "music", "hum", "impulsive")
BACKGROUND_SPEAKER, STREAM_SPEAKER = "bgnoise", "stream"
# the fastest speech, phonemes per second (espeak-ng at 450 wpm says about 20): a target
# with more phonemes than this x (clip_s - 2 margin_s) x the fastest speed factor cannot fit
MAX_PHONES_PER_S = 25.0
WORDS_PER_S = 2  # other-speech clips say 1 to this x clip_s consecutive words of a prompt
_WINDOW_TRIES = 200


@dataclass(frozen=True)
class ClipSpec:
    index: int  # position in the plan: seeds the clip's stream
    clip_id: str  # "<speaker>-<index:06d>"
    kind: str  # one of KINDS
    label: str  # a target's label, _unknown_, _silence_, _background_noise_ or "stream"
    text: str  # what is said (babble: one talker's text per entry of `talkers`)
    speaker_id: str
    split: str
    number: int  # n of <speaker>_nohash_<n>.wav: this speaker's n-th clip of the label
    speaker: SpeakerParams | None = None  # who says it (None: no speech, or many)
    target: str | None = None  # the target label a positive or hard negative belongs to
    distance: int | None = None  # a hard negative's phoneme distance to its target
    confusion: str | None = None  # a hard negative's kind (confusable.KINDS)
    talkers: tuple[tuple[SpeakerParams, str], ...] = ()  # babble: who says what
    noise_kind: str | None = None  # a background recording's noise kind
    gender: str | None = None  # of speaker_id (whose clip it is, speech or not)


@dataclass(frozen=True)
class KeywordsPlan:
    clips: tuple[ClipSpec, ...]  # in index (= id) order
    corpus: CorpusPlan  # speakers, splits and normalized prompts
    negatives: dict[str, list[Confusable]]  # target label -> its hard negatives
    phone_set: str  # of the distances: "arpabet" or "espeak-ng:<language>"
    other_texts: tuple[str, ...]  # prompts without a target: babble and streams say them
    other_words: tuple[str, ...] = ()  # the words other-word clips draw (counts.words)
    notes: tuple[str, ...] = field(default=())

    @property
    def babble(self) -> BabbleTexts:
        """Whose voices and which texts babble noise draws: every speaker, and the prompts
        of ``other_texts`` only (babble sits under ``_unknown_`` clips and windows, so it
        says no target and no homophone of one)."""
        other = set(self.other_texts)
        return BabbleTexts(self.corpus.speakers,
                           tuple(p for p in self.corpus.prompts if p.text in other))

    def speakers_in(self, split: str) -> list[SpeakerParams]:
        return [s for s in self.corpus.speakers if self.corpus.splits[s.speaker_id] == split]


def _rng(cfg: KeywordsConfig, kind: str, *more: int) -> np.random.Generator:
    return np.random.default_rng([cfg.seed, STREAM_KEYWORDS_PLAN, KINDS.index(kind), *more])


def _tiled(order: np.ndarray, count: int) -> list[int]:
    """``count`` entries cycling through ``order``."""
    return [int(order[k % len(order)]) for k in range(count)]


def plan_keywords(cfg: KeywordsConfig, config_dir: Path,
                  corpus_cfg: CorpusConfig | None = None) -> KeywordsPlan:
    """Draw the speakers (the corpus plan's own draw), find the hard negatives, and
    decide every clip."""
    corpus_cfg = corpus_cfg or cfg.corpus_config()
    corpus = plan_corpus(corpus_cfg, config_dir)
    speakers = corpus.speakers
    targets = [str(t.text) for t in cfg.targets]
    labels = [str(t.label) for t in cfg.targets]
    prompt_words = sorted({w for p in corpus.prompts for w in p.text.split()}
                          ) if cfg.text is not None else []
    extra = []
    if cfg.confusable.lexicon is not None:
        path = Path(cfg.confusable.lexicon)
        extra = read_word_file(path if path.is_absolute() else config_dir / path)
    lexicon = lexicon_for(cfg.language, [*extra, *prompt_words, *(w for t in targets
                                                                   for w in t.split())])
    check_targets(cfg, targets, lexicon)
    negatives = {label: find_confusables(text, lexicon, cfg.confusable,
                                         [t for t in targets if t != text])
                 for text, label in zip(targets, labels, strict=True)}
    notes = [f"note: no hard negative found for target {label!r}"
             for label, found in negatives.items() if not found and cfg.counts.hard_negatives]

    draft: list[dict[str, object]] = []  # clips before they are ordered and numbered
    n_spk = len(speakers)
    total_positives = cfg.counts.positives * len(targets)
    for t, (text, label) in enumerate(zip(targets, labels, strict=True)):
        rng = _rng(cfg, "positive", t)
        for s in _tiled(rng.permutation(n_spk), cfg.counts.positives):
            draft.append({"kind": "positive", "label": label, "text": text,
                          "speaker": speakers[s], "target": label})
        found = negatives[label]
        count = round(cfg.counts.hard_negatives * cfg.counts.positives) if found else 0
        rng = _rng(cfg, "hard_negative", t)
        order = rng.permutation(len(found)) if found else np.zeros(0, int)
        for k, s in enumerate(_tiled(rng.permutation(n_spk), count)):
            neg = found[int(order[k % len(found)])]
            draft.append({"kind": "hard_negative", "label": UNKNOWN, "text": neg.text,
                          "speaker": speakers[s], "target": label, "distance": neg.distance,
                          "confusion": neg.kind})
    banned = _banned_codes(lexicon, targets)
    single = {t for t in targets if " " not in t}  # the one-word targets
    windows = _speech_windows(cfg, corpus, lexicon, banned, single,
                              round(cfg.counts.speech * total_positives))
    rng = _rng(cfg, "speech")
    for text, s in zip(windows, _tiled(rng.permutation(n_spk), len(windows)), strict=True):
        draft.append({"kind": "speech", "label": UNKNOWN, "text": text, "speaker": speakers[s]})
    n_words, pool = round(cfg.counts.words * total_positives), []
    if n_words:  # other speech too: one lexicon word said alone
        pool = other_words(lexicon, cfg.other_words.vocabulary, banned, single, negatives)
        if not pool:
            raise InputKeyError("counts.words: every word of the lexicon's "
                                f"{cfg.other_words.vocabulary} most frequent is a target, "
                                "sounds like one or is a hard negative")
        rng = _rng(cfg, "speech", 2)
        order = rng.permutation(len(pool))
        for k, s in enumerate(_tiled(rng.permutation(n_spk), n_words)):
            draft.append({"kind": "speech", "label": UNKNOWN,
                          "text": pool[int(order[k % len(pool)])], "speaker": speakers[s]})
    other = tuple(p.text for p in corpus.prompts
                  if _clean(p.text.split(), lexicon, banned, single))
    if not other and (cfg.counts.babble or cfg.streams.count or cfg.babble_noise):
        raise InputKeyError("text: every prompt holds a target word; babble, babble noise and "
                         "streams need prompts of other speech")
    rng = _rng(cfg, "babble")
    for s in _tiled(rng.permutation(n_spk), round(cfg.counts.babble * total_positives)):
        count = int(rng.integers(3, 7))
        talkers = tuple((speakers[int(rng.integers(n_spk))], other[int(rng.integers(len(other)))])
                        for _ in range(count))
        draft.append({"kind": "babble", "label": UNKNOWN, "text": NO_SPEECH_TEXT["babble"],
                      "speaker": speakers[s], "talkers": talkers})
    for kind in ("noise", "silence"):
        rng = _rng(cfg, kind)
        for s in _tiled(rng.permutation(n_spk), round(getattr(cfg.counts, kind)
                                                      * total_positives)):
            draft.append({"kind": kind, "label": SILENCE, "text": NO_SPEECH_TEXT[kind],
                          "speaker": speakers[s]})
    clips = _order(draft, corpus)
    background = [ClipSpec(index=k, clip_id=f"{BACKGROUND_SPEAKER}-{k:06d}", kind="background",
                           label=BACKGROUND, text=NO_SPEECH_TEXT["background"],
                           speaker_id=BACKGROUND_SPEAKER, split="train", number=k,
                           noise_kind=BACKGROUND_KINDS[k % len(BACKGROUND_KINDS)])
                  for k in range(cfg.counts.background_files)]
    clips = [*background, *(_renumber(c, c.index + len(background)) for c in clips)]
    start = len(clips)
    clips += [ClipSpec(index=start + k, clip_id=f"{STREAM_SPEAKER}-{start + k:06d}",
                       kind="stream", label="stream", text="", speaker_id=STREAM_SPEAKER,
                       split="test", number=k)
              for k in range(cfg.streams.count)]
    if cfg.streams.count and not any(corpus.splits[s.speaker_id] == "test" for s in speakers):
        raise InputKeyError("streams: need test speakers (splits.test > 0 and enough speakers)")
    return KeywordsPlan(tuple(clips), corpus, negatives, lexicon.phone_set, other,
                        tuple(pool), tuple(notes))


def check_targets(cfg: KeywordsConfig, targets: Sequence[str], lexicon: Lexicon) -> None:
    """InputError (before anything is written) when two targets sound alike, or when a
    target cannot fit its clip even said at the fastest rate."""
    same = sound_alike(targets, lexicon)
    if same is not None:
        phones = " ".join(lexicon.pronounce(same[0]))
        raise InputKeyError(f"targets: {same[0]!r} and {same[1]!r} sound alike ({phones}): one "
                         "sound cannot have two labels; keep one of them")
    speed = cfg.augment.speed if cfg.augment is not None else None
    fastest = 1.0
    if speed is not None and speed.probability > 0:
        fastest = max(speed.factor_range[1] if speed.factor_range else max(speed.factors), 1.0)
    room_s = cfg.clip_s - 2 * cfg.margin_s
    for text in targets:
        shortest_s = len(lexicon.pronounce(text)) / MAX_PHONES_PER_S / fastest
        if shortest_s > room_s:
            raise InputError(
                f"targets: {text!r} ({len(lexicon.pronounce(text))} phonemes) needs at least "
                f"{shortest_s:.2f} s of speech, more than a clip_s {cfg.clip_s:g} s clip holds "
                f"within margin_s {cfg.margin_s:g} s: raise clip_s or shorten the target")


def _renumber(clip: ClipSpec, index: int) -> ClipSpec:
    return replace(clip, index=index, clip_id=f"{clip.speaker_id}-{index:06d}")


def _order(draft: Sequence[dict[str, object]], corpus: CorpusPlan) -> list[ClipSpec]:
    """Clips sorted by speaker (stably, so kinds keep their order), indexed and numbered
    per (speaker, label)."""
    rows = sorted(draft, key=lambda d: d["speaker"].speaker_id)  # type: ignore[attr-defined]
    counters: dict[tuple[str, str], int] = {}
    out = []
    for i, d in enumerate(rows):
        spk: SpeakerParams = d["speaker"]  # type: ignore[assignment]
        key = (spk.speaker_id, str(d["label"]))
        number = counters.get(key, 0)
        counters[key] = number + 1
        out.append(ClipSpec(
            index=i, clip_id=f"{spk.speaker_id}-{i:06d}", kind=str(d["kind"]),
            label=str(d["label"]), text=str(d["text"]), speaker_id=spk.speaker_id,
            split=corpus.splits[spk.speaker_id], number=number,
            speaker=None if d["kind"] in ("noise", "silence", "babble") else spk,
            target=d.get("target"), distance=d.get("distance"),  # type: ignore[arg-type]
            confusion=d.get("confusion"),  # type: ignore[arg-type]
            talkers=d.get("talkers", ()), gender=spk.gender))  # type: ignore[arg-type]
    return out


def _banned_codes(lexicon: Lexicon, targets: Sequence[str]) -> set[str]:
    """The phonemes of each target word (and phrase): other-speech windows holding one of
    them (a homophone included) would be a positive."""
    return {lexicon.encode(lexicon.pronounce(t)) for t in targets}


def other_words(lexicon: Lexicon, vocabulary: int, banned: set[str], single: set[str],
                negatives: Mapping[str, Sequence[Confusable]]) -> list[str]:
    """The words other-word clips say: the lexicon's ``vocabulary`` most frequent (all of
    them where it has no frequencies), without a target (``single``), a word sounding like
    one (``banned``: :func:`_banned_codes`), or a hard negative of one; most frequent
    first."""
    ranked = (sorted(lexicon.phones, key=lambda w: (-lexicon.frequency(w), w))[:vocabulary]
              if lexicon.logprob else sorted(lexicon.phones))
    taken = {c.text for found in negatives.values() for c in found}
    return [w for w in ranked if w not in taken and _clean([w], lexicon, banned, single)]


def _speech_windows(cfg: KeywordsConfig, corpus: CorpusPlan, lexicon: Lexicon,
                    banned: set[str], single: set[str], count: int) -> list[str]:
    """``count`` windows of a few consecutive prompt words holding no target (``single``),
    nor a homophone of one, nor a target phrase across words (``banned``)."""
    if count == 0:
        return []
    rng = _rng(cfg, "speech", 1)
    prompts = [p.text.split() for p in corpus.prompts]
    most = max(1, int(WORDS_PER_S * cfg.clip_s))
    out: list[str] = []
    for _ in range(count):
        for _ in range(_WINDOW_TRIES):
            words = prompts[int(rng.integers(len(prompts)))]
            size = min(len(words), int(rng.integers(1, most + 1)))
            start = int(rng.integers(len(words) - size + 1))
            window = words[start:start + size]
            if _clean(window, lexicon, banned, single):
                out.append(" ".join(window))
                break
        else:
            raise InputKeyError("text: no window of prompt words without a target word in "
                             f"{_WINDOW_TRIES} tries; give prompts of other speech")
    return out


def _clean(words: Sequence[str], lexicon: Lexicon, banned: set[str],
           single: set[str]) -> bool:
    """True when no run of ``words`` (up to the longest target's length, plus one for a
    target split differently) is a target or sounds like one."""
    if any(w in single for w in words):
        return False
    return not says_any(words, lexicon, banned)

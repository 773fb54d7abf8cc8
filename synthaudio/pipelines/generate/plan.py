"""The corpus plan: which speaker says which prompt, in which split, under which id.

Everything here is decided from the config and its seed alone, before any audio is made,
so that each utterance can later be rendered on its own, in any process, in any order.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, overload

import numpy as np

from synthaudio.errors import InputError
from synthaudio.pipelines.generate.config import CorpusConfig
from synthaudio.splits import SPLITS, assign_splits
from synthaudio.streams import (
    STREAM_ASSIGN,
    STREAM_ORDER,
    STREAM_SPEAKER,
    STREAM_SPLIT,
    STREAM_TEXT,
    STREAM_VOICES,
)
from synthaudio.text.normalize import TextNormalizer
from synthaudio.text.prompts import Prompt, expand_template, normalize_prompts, read_prompt_file
from synthaudio.tts.speakers import SpeakerParams, sample_speakers, speaker_ids


@dataclass(frozen=True)
class PlannedPrompt:
    prompt: Prompt
    text: str  # normalized spoken form


@dataclass(frozen=True)
class UtteranceSpec:
    index: int  # global utterance index: seeds this utterance's random stream
    utt_id: str  # "<speaker>-<index:06d>"
    speaker: SpeakerParams
    split: str
    prompt_id: str
    raw_text: str
    text: str


class UtteranceList(Sequence[UtteranceSpec]):
    """The corpus's utterances, computed from their index on demand.

    Holding specs for every utterance would make memory grow with the corpus; this holds
    only the speakers and the prompt pools.
    """

    def __init__(self, speakers: tuple[SpeakerParams, ...], splits: dict[str, str],
                 pools: dict[str, list[PlannedPrompt]], per_speaker: int,
                 limit: int | None, order_seed: int | None = None) -> None:
        self._speakers = speakers
        # None: every speaker reads its prompts in pool order; else in its own order
        self._order_seed = order_seed
        self._order = lru_cache(maxsize=4)(self._speaker_order)
        self._splits = splits
        self._pools = pools
        self._per_speaker = per_speaker
        # position of each speaker's first utterance within its split's prompt pool
        self._cursor: list[int] = []
        seen = dict.fromkeys(SPLITS, 0)
        for spk in speakers:
            split = splits[spk.speaker_id]
            self._cursor.append(seen[split])
            seen[split] += per_speaker
        total = len(speakers) * per_speaker
        # with a limit: the global indices kept (sorted); None: all of them
        self._selected = None if limit is None or limit >= total else \
            limited_selection([splits[s.speaker_id] for s in speakers], per_speaker, limit)
        self._len = total if self._selected is None else len(self._selected)

    def global_index(self, position: int) -> int:
        """The corpus index (id, random stream) of the utterance at ``position``."""
        return position if self._selected is None else self._selected[position]

    def position_of(self, index: int) -> int | None:
        """The position of corpus index ``index`` in this list (None: not in it)."""
        if self._selected is None:
            return index if 0 <= index < self._len else None
        k = bisect.bisect_left(self._selected, index)
        return k if k < len(self._selected) and self._selected[k] == index else None

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, index: int) -> UtteranceSpec: ...

    @overload
    def __getitem__(self, index: slice) -> list[UtteranceSpec]: ...

    def __getitem__(self, index: int | slice) -> UtteranceSpec | list[UtteranceSpec]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._len))]
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError(index)
        index = self.global_index(index)
        s, j = divmod(index, self._per_speaker)
        spk = self._speakers[s]
        split = self._splits[spk.speaker_id]
        pool = self._pools[split]
        if self._order_seed is not None:
            j = int(self._order(s)[j])
        chosen = pool[(self._cursor[s] + j) % len(pool)]
        return UtteranceSpec(
            index=index, utt_id=f"{spk.speaker_id}-{index:06d}", speaker=spk, split=split,
            prompt_id=chosen.prompt.id, raw_text=chosen.prompt.raw_text, text=chosen.text,
        )

    def _speaker_order(self, s: int) -> np.ndarray:
        """Speaker ``s``'s reading order of its ``per_speaker`` prompt slots."""
        rng = np.random.default_rng([self._order_seed or 0, STREAM_ORDER, s])
        return rng.permutation(self._per_speaker)

    def __iter__(self) -> Iterator[UtteranceSpec]:
        return (self[i] for i in range(self._len))


def limited_selection(speaker_splits: Sequence[str], per_speaker: int, limit: int) -> list[int]:
    """The corpus indices a ``--limit`` keeps: every split in proportion to its number of
    utterances (largest remainders; at least one per split when the limit allows), each
    split's first ones in index order, so a later run with a larger limit (or none) keeps
    what was made and renders the rest.

    Args:
        speaker_splits: the split of each speaker, in speaker (index) order.
        per_speaker: utterances per speaker (speaker ``s`` has indices
            ``s * per_speaker ...``).
        limit: how many to keep (< the total).
    """
    totals = {sp: per_speaker * sum(1 for x in speaker_splits if x == sp) for sp in SPLITS}
    active = [sp for sp in SPLITS if totals[sp] > 0]
    total = sum(totals.values())
    quota = {sp: limit * totals[sp] // total for sp in active}
    by_remainder = sorted(active, key=lambda sp: (-(limit * totals[sp] % total),
                                                  SPLITS.index(sp)))
    for sp in by_remainder[:limit - sum(quota.values())]:
        quota[sp] += 1
    for sp in active:  # every split gets one, when there are enough, from the largest
        if quota[sp] == 0 and limit >= len(active):
            quota[max(active, key=lambda x: (quota[x], -SPLITS.index(x)))] -= 1
            quota[sp] = 1
    selected: list[int] = []
    for s, split in enumerate(speaker_splits):
        take = min(per_speaker, quota[split])
        selected.extend(range(s * per_speaker, s * per_speaker + take))
        quota[split] -= take
    return selected


@dataclass(frozen=True)
class CorpusPlan:
    speakers: tuple[SpeakerParams, ...]
    splits: dict[str, str]  # speaker id -> split
    utterances: UtteranceList  # in index order, which is also id order
    prompts: tuple[PlannedPrompt, ...]
    skipped: tuple[tuple[Prompt, str], ...]  # prompts dropped, with the reason


def load_prompts(cfg: CorpusConfig, config_dir: Path) -> list[Prompt]:
    """Read every text source of the config, in order."""
    prompts: list[Prompt] = []
    for i, source in enumerate(cfg.text.sources):
        if source.file is not None:
            path = Path(source.file)
            prompts.extend(read_prompt_file(path if path.is_absolute() else config_dir / path))
        else:
            assert source.template is not None
            rng = np.random.default_rng([cfg.seed, STREAM_TEXT, i])
            for j, line in enumerate(expand_template(source.template, source.count, rng)):
                prompts.append(Prompt(f"template{i + 1}-{j + 1:05d}", line, f"template:{i + 1}"))
    seen: set[str] = set()
    for p in prompts:
        if p.id in seen:
            raise InputError(f"{p.source}: prompt id {p.id!r} appears in two text sources")
        seen.add(p.id)
    return prompts


def plan_corpus(cfg: CorpusConfig, config_dir: Path, limit: int | None = None) -> CorpusPlan:
    """Draw the speakers, split them, and assign prompts to utterances."""
    normalizer = TextNormalizer(cfg.language)
    kept, skipped = normalize_prompts(load_prompts(cfg, config_dir), normalizer)
    if not kept:
        raise InputError("no speakable prompt in the config's text sources "
                         f"({len(skipped)} skipped as empty or unspeakable)")
    prompts = [PlannedPrompt(p, text) for p, text in kept]

    ids = speaker_ids(cfg.speakers.count)
    engines = _speaking_engines(cfg, config_dir)  # engine registry hook
    coqui = engines.pop("coqui-tts", None)
    splits = assign_splits(ids, cfg.splits, np.random.default_rng([cfg.seed, STREAM_SPLIT]))
    speakers = sample_speakers(
        cfg.speakers,
        [np.random.default_rng([cfg.seed, STREAM_SPEAKER, i]) for i in range(len(ids))],
        ids,
        assign_rng=np.random.default_rng([cfg.seed, STREAM_VOICES]),
        coqui=coqui,
        corpus_language=cfg.language, engines=engines, splits=splits,
    )
    per_speaker = cfg.utterances.per_speaker
    pools = _prompt_pools(prompts, splits, per_speaker, cfg)

    utterances = UtteranceList(speakers, splits, pools, per_speaker, limit,
                               cfg.seed if cfg.speakers.balance else None)
    return CorpusPlan(speakers, splits, utterances, tuple(prompts), tuple(skipped))


def _speaking_engines(cfg: CorpusConfig, config_dir: Path) -> dict[str, Any]:
    """The engines, other than espeak-ng, that the config gives speakers, built here."""
    from synthaudio.tts.engines import ENGINES

    shares = cfg.speakers.engines or {cfg.speakers.engine: 1.0}
    out: dict[str, Any] = {}
    for name, share in shares.items():
        section = cfg.speakers.engine_section(name)
        if name == "espeak-ng" or share <= 0 or (section is None and name == "coqui-tts"):
            continue
        out[name] = ENGINES.get(name).build(section, config_dir)
    return out


def _prompt_pools(
    prompts: Sequence[PlannedPrompt], splits: dict[str, str], per_speaker: int, cfg: CorpusConfig
) -> dict[str, list[PlannedPrompt]]:
    """Prompt order per split: one shuffled order shared by all splits, or (disjoint_text)
    a partition of that order in proportion to each split's number of utterances."""
    rng = np.random.default_rng([cfg.seed, STREAM_ASSIGN])
    order = [prompts[i] for i in rng.permutation(len(prompts))]
    if not cfg.disjoint_text:
        return dict.fromkeys(SPLITS, order)
    need = {s: per_speaker * sum(1 for v in splits.values() if v == s) for s in SPLITS}
    active = [s for s in SPLITS if need[s] > 0]
    if len(order) < len(active):
        raise InputError(f"disjoint_text needs at least {len(active)} prompts, "
                         f"one per split; got {len(order)}")
    total = sum(need.values())
    pools: dict[str, list[PlannedPrompt]] = dict.fromkeys(SPLITS, [])
    start = 0
    for k, s in enumerate(active):
        remaining_splits = len(active) - k - 1
        if remaining_splits == 0:
            share = len(order) - start
        else:
            share = int(round(len(order) * need[s] / total))
            share = min(max(share, 1), len(order) - start - remaining_splits)
        pools[s] = order[start:start + share]
        start += share
    return pools

"""Balanced speaker assignment: shares as close to the config's as the count allows.

Engine-agnostic helpers that :mod:`synthaudio.tts.speakers` uses to give each speaker its
(voice, gender) cell and its voice, so that:

- each cell's number of speakers is the largest-remainder rounding of its share
  (:func:`balanced_slots`), in an order drawn from the assignment stream;
- a pool of voices is split among the train/dev/test splits (:func:`partition_pool`) so
  that no voice is in two splits when the pool has a voice for each split that needs one;
- the speakers of every engine together have the config's gender shares as nearly as the
  engines' voice pools allow (:func:`gender_counts`): engines whose voices are few and fixed
  (Flite's, Piper's...) keep their voices' own shares while espeak-ng, whose genders are a
  free choice, makes up the difference; only what it cannot is moved to the others;
- :func:`voice_key` is what "the same voice" means: engine, voice, variant (or model
  speaker) and conversion, and :func:`keys_in_two_splits` lists the voices that break it.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

if TYPE_CHECKING:
    from synthaudio.tts.speakers import SpeakerParams

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def largest_remainder(shares: Mapping[K, float], count: int) -> dict[K, int]:
    """``count`` split in proportion to ``shares`` (largest remainders; ties in key order)."""
    total = sum(shares.values())
    if total <= 0 or any(v < 0 for v in shares.values()):
        raise ValueError("shares must be >= 0 with a positive sum")
    exact = {k: count * v / total for k, v in shares.items()}
    counts = {k: int(np.floor(x)) for k, x in exact.items()}
    left = count - sum(counts.values())
    keys = list(exact)
    order = sorted(range(len(keys)), key=lambda i: (counts[keys[i]] - exact[keys[i]], i))
    for i in order[:left]:
        counts[keys[i]] += 1
    return counts


def balanced_slots(shares: Mapping[K, float], count: int, rng: np.random.Generator) -> list[K]:
    """One key per speaker: each key as often as its rounded share, in a drawn order."""
    counts = largest_remainder(shares, count)
    slots = [k for k in shares for _ in range(counts[k])]
    return [slots[i] for i in rng.permutation(len(slots))]


def interleaved_slots(shares: Mapping[K, float], count: int,
                      rng: np.random.Generator | None) -> list[K]:
    """Each key as often as its rounded share, spread evenly along the list (every prefix
    as close to the shares as it can be), rotated by a drawn offset (none without ``rng``)."""
    counts = largest_remainder(shares, count)
    used = dict.fromkeys(counts, 0)
    out: list[K] = []
    for pos in range(count):
        key = max((k for k in counts if used[k] < counts[k]),
                  key=lambda k: counts[k] * (pos + 1) / count - used[k])
        used[key] += 1
        out.append(key)
    shift = int(rng.integers(count)) if count and rng is not None else 0
    return out[shift:] + out[:shift]


def gender_counts(target: Mapping[str, float], pools: Mapping[str, tuple[int, Mapping[Any, float]]],
                  free: Sequence[str] = ()) -> dict[str, dict[Any, int]]:
    """Speakers of each gender per engine, the corpus's genders as close to ``target`` as
    the engines' voices allow.

    Args:
        target: shares of the genders to balance, e.g. ``{"m": 7, "f": 5}`` (two keys).
        pools: engine -> (its number of speakers, the genders of its voice pool, as
            weights: ``{"m": 4, "f": 1}`` for Flite's five CMU voices). An engine first
            gets its pool's own shares (largest remainders); genders outside ``target``
            (None: not known) keep that count.
        free: engines whose gender split costs no voice balance (espeak-ng: any accent
            with any gender); they make up the difference first, then the others, each
            in proportion to what it can still move.
    """
    first, second = list(target)
    out = {e: largest_remainder(dict(w), n) if n > 0 else dict.fromkeys(w, 0)
           for e, (n, w) in pools.items()}
    known = sum(c.get(first, 0) + c.get(second, 0) for c in out.values())
    want = largest_remainder(target, known)[second]
    gap = want - sum(c.get(second, 0) for c in out.values())
    stages = ([e for e in free if e in pools], [e for e in pools if e not in free])
    for stage in stages:
        if gap == 0:
            break
        give, take = (second, first) if gap > 0 else (first, second)
        room = {e: out[e].get(take, 0) for e in stage
                if out[e].get(take, 0) > 0 and pools[e][1].get(give, 0) > 0}
        move = min(abs(gap), sum(room.values()))
        if move == 0:
            continue
        for e, k in largest_remainder({e: float(r) for e, r in room.items()}, move).items():
            out[e][take] -= k
            out[e][give] = out[e].get(give, 0) + k
        gap -= move if gap > 0 else -move
    return out


def deal_voices(order: Sequence[V], genders_of: Sequence[str | None],
                wanted: Sequence[str | None] | None, count: int) -> list[V]:
    """The voice of each of ``count`` speakers, dealt in turns from ``order`` (a drawn
    order of an engine's voices, ``genders_of`` their genders): with ``wanted`` (a gender
    per speaker, or None for any), speaker ``i`` takes the next voice of its gender."""
    if wanted is None:
        return [order[i % len(order)] for i in range(count)]
    if len(wanted) != count:
        raise ValueError(f"{len(wanted)} genders for {count} speakers")
    by_gender: dict[str | None, list[V]] = {}
    for voice, gender in zip(order, genders_of, strict=True):
        by_gender.setdefault(gender, []).append(voice)
    turns: dict[str | None, int] = {}
    out = []
    for i, g in enumerate(wanted):
        pool = by_gender.get(g) if g is not None else None
        if pool is None:  # any voice (a gender its pool lacks cannot be asked for)
            out.append(order[i % len(order)])
            continue
        out.append(pool[turns.get(g, 0) % len(pool)])
        turns[g] = turns.get(g, 0) + 1
    return out


def partition_pool(pool: Sequence[V], need: Mapping[str, int],
                   rng: np.random.Generator) -> dict[str, list[V]]:
    """Split ``pool`` among the splits with ``need[split] > 0`` speakers: disjoint parts in
    proportion to the need, at least one each while the pool lasts; when it has fewer
    voices than such splits, the splits beyond share the pool in turn (unavoidable reuse)."""
    order = [pool[i] for i in rng.permutation(len(pool))]
    active = [s for s in need if need[s] > 0]
    if not active:
        return {}
    if len(order) < len(active):
        return {s: [order[k % len(order)]] for k, s in enumerate(active)}
    sizes = dict.fromkeys(active, 1)
    extra = largest_remainder({s: float(need[s]) for s in active}, len(order) - len(active))
    out: dict[str, list[V]] = {}
    start = 0
    for s in active:
        size = sizes[s] + extra[s]
        out[s] = order[start:start + size]
        start += size
    return out


def voice_key(speaker: SpeakerParams) -> tuple[Any, ...]:
    """What makes two speakers the same voice: engine, voice, variant or model speaker, and
    conversion (rate, pitch and other prosody do not count)."""
    d = speaker.voice.to_dict()
    conv = speaker.conversion.to_dict() if speaker.conversion is not None else None
    return (speaker.engine, d.get("model"), d.get("voice"), d.get("variant"),
            d.get("speaker"), d.get("reference"),
            None if conv is None else tuple(sorted(conv.items())))


def keys_in_two_splits(speakers: Sequence[SpeakerParams],
                       splits: Mapping[str, str]) -> list[tuple[Any, ...]]:
    """The voice keys spoken in more than one split."""
    seen: dict[tuple[Any, ...], set[str]] = {}
    for spk in speakers:
        seen.setdefault(voice_key(spk), set()).add(splits[spk.speaker_id])
    return [k for k, v in seen.items() if len(v) > 1]

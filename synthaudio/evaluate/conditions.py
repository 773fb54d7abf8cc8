"""Per-utterance recording conditions read from a metadata.jsonl record, as bucket labels.

Reading is defensive, never an error, so corpora written by older or other generators can
still be evaluated: a stage that is absent or null gives the neutral bucket ("clean" for SNR,
"none" for RT60 and codec); a stage that is present but lacks a usable value gives "unknown"
(noise was added, or a room simulated, at an unrecorded level); missing speaker, gender,
voice or engine give "unknown".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

# dB, lower edge inclusive; "unknown": noise was added but no SNR was recorded
SNR_BUCKETS = ("clean", "<0", "0-5", "5-10", "10-20", ">=20", "unknown")
# seconds, lower edge inclusive; "unknown": a room was simulated but no RT60 was recorded
RT60_BUCKETS = ("none", "<0.3", "0.3-0.6", "0.6-0.9", ">=0.9", "unknown")
LENGTH_BUCKETS = ("0", "1-3", "4-7", "8-15", ">=16")  # words in the reference

# Condition names in the order the tables are shown.
CONDITION_KEYS = ("snr", "rt60", "codec", "speaker", "gender", "voice", "engine", "length")
# Natural order of the ordinal conditions; the others sort alphabetically.
BUCKET_ORDER: dict[str, tuple[str, ...]] = {
    "snr": SNR_BUCKETS,
    "rt60": RT60_BUCKETS,
    "length": LENGTH_BUCKETS,
}

_SNR_EDGES_DB = (0.0, 5.0, 10.0, 20.0)
_RT60_EDGES_S = (0.3, 0.6, 0.9)
_LENGTH_EDGES = (4.0, 8.0, 16.0)  # upper edges (exclusive) of 1-3, 4-7, 8-15


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        x = float(value)
    except ValueError:
        return None
    return None if math.isnan(x) else x


def _bucket(x: float, edges: tuple[float, ...], labels: tuple[str, ...]) -> str:
    for edge, label in zip(edges, labels, strict=False):
        if x < edge:
            return label
    return labels[len(edges)]


def snr_bucket(snr_db: float | None) -> str:
    """SNR bucket; ``None`` (no noise added) is "clean"."""
    if snr_db is None or math.isnan(snr_db):
        return "clean"
    return _bucket(snr_db, _SNR_EDGES_DB, SNR_BUCKETS[1:-1])


def rt60_bucket(rt60_s: float | None) -> str:
    """RT60 bucket; ``None`` (no room simulated) is "none"."""
    if rt60_s is None or math.isnan(rt60_s):
        return "none"
    return _bucket(rt60_s, _RT60_EDGES_S, RT60_BUCKETS[1:-1])


def length_bucket(n_words: int) -> str:
    """Utterance length bucket by reference word count."""
    if n_words <= 0:
        return "0"
    return _bucket(float(n_words), _LENGTH_EDGES, LENGTH_BUCKETS[1:])


def _stage(record: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    augment = record.get("augment")
    if not isinstance(augment, Mapping):
        return None
    stage = augment.get(name)
    return stage if isinstance(stage, Mapping) else None


def _label(stage: Mapping[str, Any] | None, *names: str) -> float | None:
    """First numeric field among ``names``, at the top of the stage or in its ``labels``."""
    if stage is None:
        return None
    places = [stage]
    labels = stage.get("labels")
    if isinstance(labels, Mapping):
        places.append(labels)
    for name in names:
        for place in places:
            x = _as_float(place.get(name))
            if x is not None:
                return x
    return None


def snr_db_of(record: Mapping[str, Any]) -> float | None:
    """The SNR of the added noise in dB (drawn, else measured), or None without noise."""
    noise = _stage(record, "noise")
    if noise is None:
        return None
    snr = _label(noise, "snr_db")
    return snr if snr is not None else _label(_stage(record, "measured"), "snr_db")


def rt60_s_of(record: Mapping[str, Any]) -> float | None:
    """The room's RT60 in s (measured label first, then the target), or None without a room."""
    return _label(_stage(record, "room"), "rt60_s", "rt60_target_s")


def drr_db_of(record: Mapping[str, Any]) -> float | None:
    """The room's direct-to-reverberant ratio in dB, or None."""
    return _label(_stage(record, "room"), "drr_db")


def codec_of(record: Mapping[str, Any]) -> str:
    """The channel codec name, or "none"."""
    channel = _stage(record, "channel")
    codec = channel.get("codec") if channel is not None else None
    if isinstance(codec, Mapping):  # {"kind": "mp3", ...} as the augmenter records it
        codec = codec.get("kind", codec.get("name"))
    if codec is None or codec == "" or isinstance(codec, (Mapping, list)):
        return "none"
    return str(codec)


def _text(value: Any, default: str) -> str:
    if value is None or isinstance(value, (Mapping, list)) or str(value).strip() == "":
        return default
    return str(value)


def voice_of(record: Mapping[str, Any]) -> str:
    """TTS voice, with its variant as "voice+variant" (espeak-ng's notation) when present."""
    tts = record.get("tts")
    if not isinstance(tts, Mapping):
        return "unknown"
    voice = _text(tts.get("voice"), "unknown")
    variant = tts.get("variant")
    if variant is not None and not isinstance(variant, (Mapping, list)) and str(variant):
        return f"{voice}+{variant}"
    return voice


def engine_of(record: Mapping[str, Any]) -> str:
    tts = record.get("tts")
    return _text(tts.get("engine"), "unknown") if isinstance(tts, Mapping) else "unknown"


def _snr_condition(record: Mapping[str, Any]) -> str:
    if _stage(record, "noise") is None:
        return "clean"
    snr = snr_db_of(record)
    return "unknown" if snr is None else snr_bucket(snr)


def _rt60_condition(record: Mapping[str, Any]) -> str:
    if _stage(record, "room") is None:
        return "none"
    rt60 = rt60_s_of(record)
    return "unknown" if rt60 is None else rt60_bucket(rt60)


def utterance_conditions(record: Mapping[str, Any]) -> dict[str, str]:
    """Bucket label of every condition in `CONDITION_KEYS` for one metadata record."""
    text = record.get("text")
    n_words = len(text.split()) if isinstance(text, str) else 0
    return {
        "snr": _snr_condition(record),
        "rt60": _rt60_condition(record),
        "codec": codec_of(record),
        "speaker": _text(record.get("speaker"), "unknown"),
        "gender": _text(record.get("gender"), "unknown"),
        "voice": voice_of(record),
        "engine": engine_of(record),
        "length": length_bucket(n_words),
    }


def sort_buckets(key: str, buckets: Iterable[str]) -> list[str]:
    """Buckets of one condition in display order: natural for ordinal ones, else sorted."""
    order = BUCKET_ORDER.get(key)
    if order is None:
        return sorted(buckets)
    rank = {b: i for i, b in enumerate(order)}
    return sorted(buckets, key=lambda b: (rank.get(b, len(order)), b))

"""``synthaudio profile``: measure every utterance of a corpus and write ``PROFILE.json``.

``profile_corpus(path, out)`` opens the source (:mod:`synthaudio.profile.sources`), measures
each utterance in workers (:func:`synthaudio.run.executors.run_tasks`; models are loaded once
per worker), adds the corpus-level voice statistics and writes the profile atomically.
The result does not depend on ``-j``: utterances are measured independently and sorted.
Schema: docs/profile.md (``format: synthaudio-profile``, ``version``).
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synthaudio.errors import InputError, SynthaudioError
from synthaudio.profile.features import BY_NAME, CATEGORIES, FAMILIES, FEATURES, distribution
from synthaudio.profile.schema import PROFILE_FORMAT, PROFILE_VERSION, check_profile
from synthaudio.profile.sources import Item, Source, open_source, read_mono

CHUNK = 4  # utterances per task


@dataclass(frozen=True)
class ProfileOptions:
    families: tuple[str, ...] = FAMILIES  # measurement families to run


class _Models:
    """The models one worker needs, loaded once."""

    def __init__(self, families: Sequence[str]) -> None:
        from synthaudio.profile.vad import SileroVad

        self.vad = SileroVad()
        self.dnsmos = None
        self.voices = None
        if "quality" in families:
            from synthaudio.profile.quality import Dnsmos

            self.dnsmos = Dnsmos()
        if "voices" in families:
            from synthaudio.profile.voices import VoiceEmbedder

            self.voices = VoiceEmbedder()


def to_16k(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    if sample_rate == 16000:
        return audio
    import soxr

    return np.asarray(soxr.resample(audio, sample_rate, 16000), dtype=np.float32)


def measure_audio(audio: np.ndarray, sample_rate: int, models: _Models, *,
                  text: str | None = None, subtype: str = "PCM_16",
                  families: Sequence[str] = FAMILIES) -> tuple[dict[str, Any], Any]:
    """Features of one mono utterance and its voice embedding (or None)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        # a very short or silent file: the measures answer None, not a numpy warning
        warnings.simplefilter("ignore", RuntimeWarning)
        return _measure(audio, sample_rate, models, text, subtype, families)


def _measure(audio: np.ndarray, sample_rate: int, models: _Models, text: str | None,
             subtype: str, families: Sequence[str]) -> tuple[dict[str, Any], Any]:
    from synthaudio.profile.bandwidth import measure_bandwidth
    from synthaudio.profile.level import measure_level
    from synthaudio.profile.noise import measure_noise
    from synthaudio.profile.reverb import estimate_rt60_s
    from synthaudio.profile.speech import measure_speech

    x16 = to_16k(audio, sample_rate)
    segments = models.vad.segments(x16)
    mask = segments.mask(len(audio), sample_rate)
    feats: dict[str, Any] = {}
    channel = measure_bandwidth(audio, sample_rate, mask, subtype)
    if "channel" in families:
        feats.update(channel)
    if "level" in families:
        feats.update(measure_level(audio, sample_rate, mask))
    if "noise" in families:
        feats.update(measure_noise(audio, sample_rate, mask,
                                   (channel["band_low_hz"], channel["band_high_hz"])))
    if "reverb" in families:
        feats["rt60_s"] = estimate_rt60_s(x16)
    if "speech" in families:
        feats.update(measure_speech(audio, sample_rate, segments, text))
    if "quality" in families and models.dnsmos is not None:
        feats.update(models.dnsmos(x16))
    embedding = None
    if "voices" in families and models.voices is not None:
        embedding = models.voices(x16)
        if embedding is not None and not np.isfinite(np.asarray(embedding)).all():
            embedding = None  # silence: no voice
    return feats, embedding


def _init(families: tuple[str, ...]) -> tuple[_Models, tuple[str, ...]]:
    """Per-worker state: the models, loaded once, and the measurement families."""
    return _Models(families), families


def _measure_chunk(state: tuple[_Models, tuple[str, ...]], chunk: Sequence[tuple[int, Item]]
                   ) -> list[tuple[int, dict[str, Any], list[float] | None]]:
    models, families = state
    out = []
    for index, item in chunk:
        audio, rate, subtype = read_mono(item.audio)
        feats, emb = measure_audio(audio, rate, models, text=item.text,
                                   subtype=subtype, families=families)
        out.append((index, feats, None if emb is None else [float(v) for v in emb]))
    return out


def _round(value: Any) -> Any:
    if isinstance(value, float):  # never a NaN in a written profile: no value is None
        return round(value, 6) if math.isfinite(value) else None
    return value


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float (in lists and dicts too) as None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.resolve()))
    except ValueError:
        return str(path)


def build_profile(source: Source, results: dict[int, tuple[dict[str, Any], Any]],
                  families: Sequence[str]) -> dict[str, Any]:
    """The PROFILE.json object from per-utterance results (index -> (features, embedding))."""
    from synthaudio.profile.voices import voice_stats

    items = source.items
    per_utt: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        feats = results[i][0]
        rec = {"id": item.utt_id, "audio": _rel(item.audio, source.path),
               "speaker": item.speaker, "words": len(item.text.split()) if item.text else None}
        rec.update({k: _round(v) for k, v in feats.items()})
        per_utt.append(rec)
    voices: dict[str, Any] = {"count": 0}
    if "voices" in families:
        voices = voice_stats([None if results[i][1] is None else np.asarray(results[i][1])
                              for i in range(len(items))], [it.speaker for it in items])
        typ = voices.pop("typicality", [None] * len(items))
        for rec, t in zip(per_utt, typ, strict=True):
            rec["voice_typicality"] = _round(t)
    features = {}
    for feat in FEATURES:
        if feat.family in families and any(feat.name in r for r in per_utt):
            features[feat.name] = distribution([r.get(feat.name) for r in per_utt], feat)
    categories = {}
    for name, family in CATEGORIES.items():
        if family in families:
            counts = Counter(str(r[name]) for r in per_utt if r.get(name) is not None)
            categories[name] = dict(sorted(counts.items()))
    total_s = sum(float(r.get("duration_s") or 0.0) for r in per_utt)
    if "speech" not in families:
        total_s = 0.0
    return {
        "format": PROFILE_FORMAT,
        "version": PROFILE_VERSION,
        "source": {"path": str(source.path), "kind": source.kind,
                   "transcripts": all(it.text is not None for it in items)},
        "utterances": len(items),
        "hours": round(total_s / 3600, 6),
        "families": list(families),
        "features": features,
        "categories": categories,
        "voices": voices,
        "per_utterance": per_utt,
    }


@dataclass(frozen=True)
class ProfileSummary:
    path: Path
    utterances: int
    audio_s: float
    wall_s: float

    def format(self) -> str:
        rate = self.wall_s / (self.audio_s / 3600) if self.audio_s > 0 else 0.0
        return (f"profile: {self.path} ({self.utterances} utterances, {self.audio_s / 60:.1f} "
                f"min of audio, {self.wall_s:.1f} s: {rate / 60:.1f} min per hour of audio)")


def check_families(names: Sequence[str]) -> tuple[str, ...]:
    unknown = [n for n in names if n not in FAMILIES]
    if unknown:
        raise SynthaudioError(f"unknown measurement {unknown[0]!r}; choose from "
                              f"{', '.join(FAMILIES)}")
    return tuple(f for f in FAMILIES if f in names)


def profile_source(source: Source, *, options: ProfileOptions = ProfileOptions(), jobs: int = 1,
                   progress: bool = False, executor: str = "local",
                   ray_address: str | None = None) -> dict[str, Any]:
    """Measure every utterance of ``source``; the profile as a dict."""
    from tqdm import tqdm

    from synthaudio.run.executors import run_tasks

    families = check_families(options.families)
    indexed = list(enumerate(source.items))
    chunks = [indexed[i:i + CHUNK] for i in range(0, len(indexed), CHUNK)]
    results: dict[int, tuple[dict[str, Any], Any]] = {}
    tqdm.monitor_interval = 0  # no monitor thread: the local pool forks
    bar = tqdm(total=len(indexed), unit="utt", disable=not progress, dynamic_ncols=True,
               desc="profile")

    def collect(chunk_result: list[tuple[int, dict[str, Any], Any]]) -> None:
        for index, feats, emb in chunk_result:
            results[index] = (feats, emb)
        bar.update(len(chunk_result))

    try:
        run_tasks(_measure_chunk, chunks, collect, jobs=jobs, init=_init,
                  init_args=(families,), executor=executor, ray_address=ray_address)
    finally:
        bar.close()
    return build_profile(source, results, families)


def profile_corpus(path: Path | str, out: Path | str, *, options: ProfileOptions = ProfileOptions(),
                   jobs: int = 1, progress: bool = False, executor: str = "local",
                   ray_address: str | None = None) -> ProfileSummary:
    """Profile the corpus at ``path`` (Kaldi dir, audio folder or synthaudio OUT) into ``out``."""
    from synthaudio.io.fileio import write_text_atomic
    from synthaudio.run.outdir import check_output_file

    started = time.perf_counter()
    out_path = Path(out)
    if out_path.is_dir():
        raise InputError(f"{out_path}: is a directory (give the profile's file name, e.g. "
                         "profile.json)")
    check_output_file(out_path, "profile", inputs=[Path(path)], is_own=is_profile_file)
    source = open_source(path)
    check_output_file(out_path, "profile", inputs=[it.audio for it in source.items],
                      is_own=is_profile_file)
    profile = profile_source(source, options=options, jobs=jobs, progress=progress,
                             executor=executor, ray_address=ray_address)
    write_text_atomic(out_path, json.dumps(_finite(profile), indent=1, allow_nan=False) + "\n")
    audio_s = sum(float(r.get("duration_s") or 0.0) for r in profile["per_utterance"])
    return ProfileSummary(out_path, profile["utterances"], audio_s,
                          time.perf_counter() - started)


def is_profile_file(path: Path) -> bool:
    """True when ``path`` is a JSON file that synthaudio profile wrote (its format mark)."""
    with path.open("rb") as f:
        head = f.read(4096)
    return head.lstrip().startswith(b"{") and f'"format": "{PROFILE_FORMAT}"'.encode() in head


def load_profile(path: Path | str) -> dict[str, Any]:
    """Read a PROFILE.json; InputError naming the file when it is not one."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{p}: profile not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: cannot read profile: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{p}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict) or data.get("format") != PROFILE_FORMAT:
        raise InputError(f"{p}: not a synthaudio profile (no \"format\": \"{PROFILE_FORMAT}\"; "
                         "make one with synthaudio profile DIR -o PROFILE.json)")
    if data.get("version") != PROFILE_VERSION:
        raise InputError(f"{p}: profile version {data.get('version')!r} is not supported "
                         f"(this synthaudio reads version {PROFILE_VERSION})")
    problem = check_profile(data)  # the one schema (synthaudio/profile/schema.py)
    if problem is not None:
        raise InputError(f"{p}: not a valid profile: {problem}")
    return data


__all__ = ["BY_NAME", "PROFILE_FORMAT", "PROFILE_VERSION", "ProfileOptions", "load_profile",
           "measure_audio", "profile_corpus", "profile_source"]

"""Synthetic speakers: drawn once from the config's ranges, then each keeps its voice.

``sample_speaker`` draws a speaker's voice; ``jitter_voice`` adds the small per-utterance
prosody variation around it. With ``speakers.variant_mode`` "generated" (or "mixed", for a
share of the speakers) the voice gets its own espeak-ng variant drawn from
``speakers.generated`` (:mod:`synthaudio.tts.variants`) instead of a shipped one.

``sample_speakers`` draws a whole corpus's speakers, and with ``speakers.engines`` shares
(e.g. ``{espeak-ng: 0.7, coqui-tts: 0.3}``) gives a share of them distinct voices of a
Coqui model (:mod:`synthaudio.tts.coqui`); espeak-ng speakers keep the draws they would
have in an espeak-only corpus.

With ``speakers.balance`` (the default) the voices (accents), genders and shipped variants
are shared out as evenly as the count allows (:mod:`synthaudio.tts.balance`), the genders over
all engines of a mixed corpus together (``speakers.genders``, else espeak-ng's variants'
shares), a shipped variant never in two splits when there are enough of them; with
``speakers.conversion`` a share of the speakers gets a voice conversion
(:mod:`synthaudio.tts.conversion`), drawn last.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, overload

import numpy as np

from synthaudio.errors import ConfigError, ConfigKeyError
from synthaudio.tts.balance import balanced_slots, gender_counts, interleaved_slots, partition_pool
from synthaudio.tts.config import JitterConfig, SpeakersConfig
from synthaudio.tts.conversion import ConversionParams, check_available, sample_conversion
from synthaudio.tts.coqui import ENGINE_NAME as COQUI_ENGINE
from synthaudio.tts.coqui import CoquiConfig, CoquiVoice
from synthaudio.tts.espeak_binding import ENGINE_NAME, EspeakVoice
from synthaudio.tts.espeak_data import variant_gender
from synthaudio.tts.variants import VariantConfig, sample_variant

if TYPE_CHECKING:
    from synthaudio.tts.coqui import CoquiEngine
    from synthaudio.tts.festival import FestivalVoice
    from synthaudio.tts.flite import FliteVoice
    from synthaudio.tts.pico import PicoVoice
    from synthaudio.tts.piper import PiperVoice

VARIANT_MODES = ("shipped", "generated", "mixed")
ENGINES = (ENGINE_NAME, COQUI_ENGINE)  # built in here; the others come through the registry
# the voice records of the built-in engines (others: their EngineEntry.voice_type); a string,
# so that only the type checker imports the engine modules
Voice: TypeAlias = "EspeakVoice | CoquiVoice | FliteVoice | PiperVoice | FestivalVoice | PicoVoice"


@dataclass(frozen=True)
class SpeakerParams:
    speaker_id: str  # e.g. "spk007"
    engine: str  # "espeak-ng" or "coqui-tts"
    gender: str | None  # "m", "f" or None when the voice does not imply one
    voice: Voice  # the speaker's own voice, before per-utterance jitter
    conversion: ConversionParams | None = None  # applied to the engine's audio, if any

    def to_dict(self) -> dict[str, Any]:
        out = {"speaker_id": self.speaker_id, "engine": self.engine, "gender": self.gender,
               **self.voice.to_dict()}
        if self.conversion is not None:
            out["conversion"] = self.conversion.to_dict()
        return out


def speaker_ids(count: int) -> list[str]:
    """``spk001``... zero-padded so that byte order equals numeric order."""
    width = max(3, len(str(count)))
    return [f"spk{i + 1:0{width}d}" for i in range(count)]


def _uniform_int(rng: np.random.Generator, bounds: tuple[float, float]) -> int:
    return int(round(rng.uniform(bounds[0], bounds[1])))


def sample_speaker(cfg: SpeakersConfig, rng: np.random.Generator, speaker_id: str, *,
                   voice_name: str | None = None, variant_name: str | None = None,
                   gender: Literal["m", "f"] | None = None) -> SpeakerParams:
    """Draw one speaker's voice from the configured ranges.

    ``voice_name``, ``variant_name`` and ``gender`` (of a generated variant), when given,
    replace the draws (which are still made, so the other draws stay the same).
    """
    drawn_voice = cfg.voices[int(rng.integers(len(cfg.voices)))]
    drawn_variant = cfg.variants[int(rng.integers(len(cfg.variants)))]
    voice_name = voice_name or drawn_voice
    variant_name = variant_name or drawn_variant
    variant = None if variant_name == "none" else variant_name
    voice = EspeakVoice(
        voice=voice_name,
        variant=variant,
        rate_wpm=_uniform_int(rng, cfg.rate_wpm),
        pitch=_uniform_int(rng, cfg.pitch),
        pitch_range=_uniform_int(rng, cfg.pitch_range),
        volume=_uniform_int(rng, cfg.volume),
        word_gap_ms=10 * _uniform_int(rng, (cfg.word_gap_ms[0] / 10, cfg.word_gap_ms[1] / 10)),
    )
    # Drawn after everything above, so "shipped" speakers keep the draws they always had.
    mode = getattr(cfg, "variant_mode", "shipped")
    if mode not in VARIANT_MODES:
        raise ValueError(f"speakers.variant_mode: {mode!r} is not one of {VARIANT_MODES}")
    generated_cfg: VariantConfig = getattr(cfg, "generated", None) or VariantConfig()
    if mode == "generated" or (
        mode == "mixed" and rng.uniform() < generated_cfg.mixed_fraction
    ):
        params = sample_variant(generated_cfg, rng, gender)
        voice = replace(voice, variant=params.name, generated=params)
        return SpeakerParams(speaker_id, ENGINE_NAME, params.gender, voice)
    return SpeakerParams(speaker_id, ENGINE_NAME, variant_gender(variant), voice)


def engine_counts(shares: Mapping[str, float], count: int) -> dict[str, int]:
    """Speakers per engine in proportion to ``shares`` (largest remainders, ties by name)."""
    from synthaudio.tts.engines import ENGINES as REGISTRY

    for name in shares:
        if name not in REGISTRY:
            raise ConfigKeyError(f"speakers.engines: unknown engine {name!r} "
                              f"(known: {', '.join(REGISTRY.names())})")
    total = sum(shares.values())
    if total <= 0 or any(v < 0 for v in shares.values()):
        raise ConfigKeyError("speakers.engines: shares must be >= 0 with a positive sum")
    exact = {name: count * v / total for name, v in shares.items()}
    counts = {name: int(np.floor(x)) for name, x in exact.items()}
    left = count - sum(counts.values())
    for name in sorted(exact, key=lambda n: (counts[n] - exact[n], n))[:left]:
        counts[name] += 1
    return counts


def sample_speakers(
    cfg: SpeakersConfig, rngs: Sequence[np.random.Generator], ids: Sequence[str], *,
    assign_rng: np.random.Generator, coqui: CoquiEngine | None = None,
    corpus_language: str = "en-us", engines: Mapping[str, Any] | None = None,
    splits: Mapping[str, str] | None = None,
) -> tuple[SpeakerParams, ...]:
    """All speakers of a corpus.

    Which speakers get which engine, and which Coqui voice, is a permutation drawn from
    ``assign_rng``; each Coqui voice goes to one speaker only, so that no voice is in two
    splits. Everything else about speaker ``i`` comes from ``rngs[i]``.

    Args:
        cfg: the ``speakers`` section; ``engines`` (shares per engine name) and ``coqui``
            (a :class:`~synthaudio.tts.coqui.CoquiConfig`) are read when present.
        rngs: one generator per speaker, in ``ids`` order.
        ids: speaker ids.
        assign_rng: the generator of the engine and voice assignment.
        coqui: the loaded Coqui model, needed when a share goes to "coqui-tts".
        corpus_language: the corpus language, matched to a multilingual model's.
        engines: built engines of registered plugin engines (neither espeak-ng nor
            coqui-tts) given speakers; their voices come from the entry's
            ``speaker_voices`` hook, drawn from ``assign_rng`` after the Coqui voices.
        splits: speaker id -> split, for ``speakers.balance`` to keep each shipped variant
            in one split; None: as if all were in one.
    """
    if len(rngs) != len(ids):
        raise ValueError(f"{len(rngs)} generators for {len(ids)} speakers")
    shares = getattr(cfg, "engines", None) or {getattr(cfg, "engine", ENGINE_NAME): 1.0}
    counts = engine_counts(shares, len(ids))
    order = assign_rng.permutation(len(ids))
    n_coqui = counts.get(COQUI_ENGINE, 0)
    is_coqui = np.zeros(len(ids), bool)
    is_coqui[order[:n_coqui]] = True
    pool: list[tuple[str | None, tuple[str, ...], str | None]] = []
    coqui_cfg: CoquiConfig | None = getattr(cfg, "coqui", None)
    if n_coqui:
        if coqui is None or coqui_cfg is None:
            raise ConfigKeyError("speakers.engines gives speakers to coqui-tts: set speakers.coqui")
        pool = coqui.voice_pool(coqui_cfg, corpus_language)
        if len(pool) < n_coqui:
            raise ConfigError(f"speakers: {n_coqui} coqui-tts speakers need as many distinct "
                              f"voices; {coqui.model!r} offers {len(pool)}")
        pool = [pool[k] for k in assign_rng.permutation(len(pool))[:n_coqui]]
    balance = getattr(cfg, "balance", False)
    plan = _gender_plan(cfg, counts, engines or {}) if balance else {}
    plugin = _plugin_voices(cfg, counts, order[n_coqui:], assign_rng, engines or {},
                            corpus_language, plan)
    espeak_ids = [sid for i, sid in enumerate(ids) if not is_coqui[i] and i not in plugin]
    forced = (balanced_espeak(cfg, espeak_ids, splits or {}, assign_rng,
                              plan.get(ENGINE_NAME)) if balance else {})
    out: list[SpeakerParams] = []
    k = 0
    for i, sid in enumerate(ids):
        if i in plugin:
            out.append(SpeakerParams(sid, *plugin[i]))
            continue
        if not is_coqui[i]:
            out.append(sample_speaker(cfg, rngs[i], sid, **forced.get(sid, {})))
            continue
        assert coqui is not None and coqui_cfg is not None
        speaker, reference, name = pool[k]
        k += 1
        rng = rngs[i]
        speed = float(round(rng.uniform(coqui_cfg.speed[0], coqui_cfg.speed[1]), 3))
        language = coqui.pick_language(coqui_cfg, corpus_language, rng)
        voice = CoquiVoice(model=coqui.model, speaker=speaker, language=language,
                           reference=reference, speed=speed, name=name)
        out.append(SpeakerParams(sid, COQUI_ENGINE, None, voice))
    conversion = getattr(cfg, "conversion", None)
    if conversion is not None:  # drawn last: the voices above keep their draws
        if conversion.share > 0:
            check_available()
        for i, spk in enumerate(out):
            params = sample_conversion(conversion, rngs[i])  # drawn for every speaker
            if conversion.engines is None or spk.engine in conversion.engines:
                out[i] = replace(spk, conversion=params)
    return tuple(out)


def _gender_plan(cfg: SpeakersConfig, counts: Mapping[str, int],
                 engines: Mapping[str, Any]) -> dict[str, dict[Any, int]]:
    """Speakers of each gender per engine for ``speakers.balance`` across engines
    (:func:`~synthaudio.tts.balance.gender_counts`): the target is ``speakers.genders``, else
    the genders of espeak-ng's variants (or ``generated.female_fraction``). Engines whose
    voices' genders are not all known, and Coqui, are left out; {} when only espeak-ng
    would be balanced (its draws then stay as they were before this plan existed)."""
    from synthaudio.registry import resolve
    from synthaudio.tts.engines import ENGINES as REGISTRY

    weights = _espeak_gender_weights(cfg)
    target = getattr(cfg, "genders", None) or {g: weights.get(g, 0.0) for g in ("m", "f")}
    target = {g: float(target.get(g, 0.0)) for g in ("m", "f")}
    if sum(target.values()) <= 0:
        return {}
    pools: dict[str, tuple[int, dict[Any, float]]] = {}
    if counts.get(ENGINE_NAME, 0) > 0:
        pools[ENGINE_NAME] = (counts[ENGINE_NAME], weights)
    for name, n in counts.items():
        if n <= 0 or name in ENGINES or name not in engines:
            continue
        hook = REGISTRY.get(name).voice_genders
        section = cfg.engine_section(name) if hasattr(cfg, "engine_section") else None
        genders = list(resolve(hook)(engines[name], section)) if hook is not None else [None]
        if genders and all(g in target for g in genders):
            pools[name] = (n, {g: float(genders.count(g)) for g in target if g in genders})
    if set(pools) <= {ENGINE_NAME} and getattr(cfg, "genders", None) is None:
        return {}
    return gender_counts(target, pools, free=[ENGINE_NAME])


def _plugin_voices(cfg: SpeakersConfig, counts: Mapping[str, int], order: Any,
                   rng: np.random.Generator, engines: Mapping[str, Any], corpus_language: str,
                   plan: Mapping[str, Mapping[Any, int]] | None = None,
                   ) -> dict[int, tuple[str, str | None, Any]]:
    """Speaker index -> (engine, gender, voice) for engines other than the two built in
    here, each taking the next ``counts[name]`` speakers of ``order``; an engine in
    ``plan`` (gender -> speakers) is asked for voices of those genders, spread evenly over
    its speakers."""
    from synthaudio.registry import resolve
    from synthaudio.tts.engines import ENGINES as REGISTRY

    out: dict[int, tuple[str, str | None, Any]] = {}
    start = 0
    for name in REGISTRY.names():
        n = counts.get(name, 0)
        if name in ENGINES or n <= 0:
            continue
        entry = REGISTRY.get(name)
        if entry.speaker_voices is None or name not in engines:
            raise ConfigKeyError(f"speakers.engines: engine {name!r} gives no speaker voices "
                              "(its EngineEntry has no speaker_voices)")
        section = cfg.engine_section(name) if hasattr(cfg, "engine_section") else None
        hook = resolve(entry.speaker_voices)
        if plan and name in plan:
            wanted = interleaved_slots(plan[name], n, None)
            voices = hook(engines[name], section, n, rng, corpus_language, genders=wanted)
        else:
            voices = hook(engines[name], section, n, rng, corpus_language)
        if len(voices) != n:
            raise ConfigError(f"speakers: engine {name!r} gave {len(voices)} voices for "
                              f"{n} speakers")
        for idx, (voice, gender) in zip(order[start:start + n], voices, strict=True):
            out[int(idx)] = (name, gender, voice)
        start += n
    return out


def _variant_pools(cfg: SpeakersConfig) -> dict[str | None, list[str]]:
    """espeak-ng's shipped variants of the config by gender."""
    pools: dict[str | None, list[str]] = {}
    for name in cfg.variants:
        pools.setdefault(variant_gender(None if name == "none" else name), []).append(name)
    return pools


def _espeak_gender_weights(cfg: SpeakersConfig) -> dict[str | None, float]:
    """espeak-ng's gender shares: ``generated.female_fraction`` for generated variants,
    else the genders of ``variants``."""
    if getattr(cfg, "variant_mode", "shipped") == "generated":
        female = (getattr(cfg, "generated", None) or VariantConfig()).female_fraction
        return {"m": 1 - female, "f": female}
    return {g: float(len(v)) for g, v in _variant_pools(cfg).items()}


def balanced_espeak(cfg: SpeakersConfig, ids: Sequence[str], splits: Mapping[str, str],
                    rng: np.random.Generator,
                    per_gender: Mapping[Any, int] | None = None) -> dict[str, dict[str, Any]]:
    """Voice, gender and (shipped) variant of each espeak-ng speaker for ``speakers.balance``.

    Voices get equal shares; genders the config's (:func:`_espeak_gender_weights`), or
    ``per_gender`` (speakers per gender, from the corpus-wide plan) when given; within a
    (voice, gender) cell the cell's variants are split among the splits
    (:func:`partition_pool`) and each split's speakers take its variants in turn. Returns
    keyword arguments of :func:`sample_speaker` per speaker id.
    """
    if not ids:
        return {}
    generated = getattr(cfg, "variant_mode", "shipped") == "generated"
    pools = _variant_pools(cfg)
    gender_shares = _espeak_gender_weights(cfg)
    if per_gender is not None:  # counts as shares: largest_remainder gives them back exactly
        gender_shares = {g: float(per_gender.get(g, 0)) for g in gender_shares}
    # each margin balanced (cells of a product would favour the larger gender), and the
    # genders interleaved over the speakers grouped by voice, so each voice has both
    voices = balanced_slots(dict.fromkeys(cfg.voices, 1.0), len(ids), rng)
    by_voice = sorted(range(len(ids)), key=lambda i: (cfg.voices.index(voices[i]), i))
    sequence = interleaved_slots(gender_shares, len(ids), rng)
    genders: list[str | None] = [None] * len(ids)
    for pos, i in enumerate(by_voice):
        genders[i] = sequence[pos]
    slots = dict(zip(ids, zip(voices, genders, strict=True), strict=True))
    cells = dict.fromkeys((v, g) for v in cfg.voices for g in gender_shares)
    out: dict[str, dict[str, Any]] = {}
    for (voice, gender) in cells:
        members = [sid for sid in ids if slots[sid] == (voice, gender)]
        if not members:
            continue
        if generated:
            for sid in members:
                out[sid] = {"voice_name": voice, "gender": gender}
            continue
        need = {s: sum(splits.get(sid, "train") == s for sid in members)
                for s in ("train", "dev", "test")}
        parts = partition_pool(pools[gender], need, rng)
        taken = dict.fromkeys(parts, 0)
        for sid in members:
            split = splits.get(sid, "train")
            part = parts[split]
            out[sid] = {"voice_name": voice, "variant_name": part[taken[split] % len(part)]}
            taken[split] += 1
    return out


@overload
def jitter_voice(voice: EspeakVoice, cfg: JitterConfig,
                 rng: np.random.Generator) -> EspeakVoice: ...


@overload
def jitter_voice(voice: Voice, cfg: JitterConfig, rng: np.random.Generator) -> Voice: ...


def jitter_voice(voice: Voice, cfg: JitterConfig, rng: np.random.Generator) -> Voice:
    """The speaker's voice with this utterance's prosody jitter (rate and pitch).

    Voices of other engines (Coqui, Flite...) have no such controls per utterance and come
    back unchanged.
    """
    if not isinstance(voice, EspeakVoice):
        return voice
    rate = voice.rate_wpm + rng.uniform(-cfg.rate_wpm, cfg.rate_wpm)
    pitch = voice.pitch + rng.uniform(-cfg.pitch, cfg.pitch)
    return replace(
        voice,
        rate_wpm=min(max(int(round(rate)), 80), 450),
        pitch=min(max(int(round(pitch)), 0), 99),
    )

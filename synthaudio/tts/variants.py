"""Generated espeak-ng voice variants: a vocal tract, a voice source and a pitch per speaker.

An espeak-ng voice variant (a file under ``voices/!v`` of its data) scales each formant's
frequency, strength and width in percent of espeak's defaults, sets the pitch in Hz and
shapes the voice source (breath noise, flutter, roughness, voicing, spectral tone, Klatt
source); the syntax is in espeak-ng's ``docs/voices.md``. ``sample_variant`` draws one from
ranges chosen to stay intelligible and ``variant_text`` writes it as a voice file, named by
the hash of its text (``sa_<12 hex>``) so that equal variants share one file.

Formant frequencies move together with a per-speaker vocal tract scale (a shorter tract
raises every formant), then each formant moves a little on its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from synthaudio.configbase import ConfigModel, check_range

Range = tuple[float, float]
N_FORMANTS = 9  # espeak's formants 0..8: 0 a low component below F1, 1-3 vowels, 4-8 quality
NAME_PREFIX = "sa_"
# espeak's default breath noise bandwidths (Hz) for formants 1..8 (voices.c, breath_widths)
_BREATH_WIDTHS_HZ = (200, 200, 400, 400, 400, 600, 600, 600)
# relative breath noise per formant 1..8, the shape of the shipped breathy variants (f2, f5)
_BREATH_SHAPE = (0.0, 0.6, 1.0, 1.0, 1.0, 1.0, 0.8, 0.6)
# espeak's default tone curve: (Hz, amplitude 0..255) points
_TONE_HZ = (600, 1200, 2000)
_TONE_AMP = (170, 135, 110)


_Model = ConfigModel


class FormantRange(_Model):
    """Ranges for one formant, in percent of espeak's default for it."""

    freq_pct: Range = (97.0, 103.0)  # frequency, around the speaker's vocal tract scale
    strength_pct: Range = (80.0, 105.0)  # peak height
    width_pct: Range = (90.0, 150.0)  # bandwidth

    @model_validator(mode="after")
    def _ranges(self) -> FormantRange:
        check_range(self.freq_pct, "freq_pct", 50, 200)
        check_range(self.strength_pct, "strength_pct", 0, 200)
        check_range(self.width_pct, "width_pct", 30, 300)
        return self


def _default_formants() -> tuple[FormantRange, ...]:
    # Bounds read from the shipped m1..m8 and f1..f5 variants, narrowed on F1..F3 (which
    # carry vowel identity) so that independent shifts cannot swap vowels.
    return (
        FormantRange(freq_pct=(95, 105), strength_pct=(80, 125), width_pct=(100, 150)),
        FormantRange(freq_pct=(97, 103), strength_pct=(85, 105), width_pct=(80, 160)),
        FormantRange(freq_pct=(97, 103), strength_pct=(70, 100), width_pct=(90, 150)),
        FormantRange(freq_pct=(97, 103), strength_pct=(60, 105), width_pct=(90, 150)),
        FormantRange(freq_pct=(95, 106), strength_pct=(60, 100), width_pct=(90, 150)),
        FormantRange(freq_pct=(92, 108), strength_pct=(50, 100), width_pct=(90, 150)),
        FormantRange(freq_pct=(90, 110), strength_pct=(50, 100), width_pct=(100, 150)),
        FormantRange(freq_pct=(90, 110), strength_pct=(50, 100), width_pct=(100, 150)),
        FormantRange(freq_pct=(90, 110), strength_pct=(50, 100), width_pct=(100, 150)),
    )


class VariantConfig(_Model):
    """Ranges a generated voice variant is drawn from, once per speaker."""

    female_fraction: float = Field(default=0.5, ge=0, le=1)  # share of female speakers
    # share of speakers given a generated variant when speakers.variant_mode is "mixed"
    mixed_fraction: float = Field(default=0.5, ge=0, le=1)
    tract_scale_male: Range = (0.92, 1.05)  # factor on every formant frequency
    tract_scale_female: Range = (1.06, 1.22)
    formants: tuple[FormantRange, ...] = Field(default_factory=_default_formants)
    pitch_base_hz_male: Range = (80.0, 125.0)  # espeak's base pitch, before speakers.pitch
    pitch_base_hz_female: Range = (145.0, 205.0)
    pitch_top_ratio: Range = (1.3, 1.65)  # top of the intonation range / base pitch
    flutter: Range = (0.0, 10.0)  # pitch wavering; shipped variants use 0..8, 20 croaks
    roughness: Range = (0.0, 5.0)  # creak from alternate weaker cycles; espeak allows 0..7
    breath_probability: float = Field(default=0.35, ge=0, le=1)  # chance of breath noise
    breath_level: Range = (1.0, 6.0)  # breath noise strength at its peak formants
    breathw_pct: Range = (75.0, 130.0)  # breath noise bandwidths, % of espeak's defaults
    voicing_pct: Range = (85.0, 125.0)  # strength of voiced sounds
    consonants_pct: Range = (80.0, 130.0)  # strength of unvoiced consonant noise
    consonants_voiced_pct: Range = (80.0, 130.0)  # noise of voiced consonants
    tone_tilt: Range = (0.8, 1.2)  # spectral tilt of voiced sounds: 1 is espeak's default
    # weights of the voice source: 0 espeak's own wave generator, 1..6 the Klatt sources
    # of the shipped klatt..klatt6 variants
    klatt: dict[int, float] = Field(default_factory=lambda: {0: 1.0})

    @model_validator(mode="after")
    def _ranges(self) -> VariantConfig:
        if len(self.formants) != N_FORMANTS:
            raise ValueError(f"formants: needs {N_FORMANTS} entries (formants 0..8), "
                             f"got {len(self.formants)}")
        check_range(self.tract_scale_male, "tract_scale_male", 0.7, 1.5)
        check_range(self.tract_scale_female, "tract_scale_female", 0.7, 1.5)
        check_range(self.pitch_base_hz_male, "pitch_base_hz_male", 40, 400)
        check_range(self.pitch_base_hz_female, "pitch_base_hz_female", 40, 400)
        check_range(self.pitch_top_ratio, "pitch_top_ratio", 1.0, 3.0)
        check_range(self.flutter, "flutter", 0, 40)
        check_range(self.roughness, "roughness", 0, 7)
        check_range(self.breath_level, "breath_level", 0, 60)
        check_range(self.breathw_pct, "breathw_pct", 25, 400)
        check_range(self.voicing_pct, "voicing_pct", 0, 200)
        check_range(self.consonants_pct, "consonants_pct", 0, 300)
        check_range(self.consonants_voiced_pct, "consonants_voiced_pct", 0, 300)
        check_range(self.tone_tilt, "tone_tilt", 0.3, 2.0)
        if not self.klatt or any(k not in range(7) for k in self.klatt):
            raise ValueError(f"klatt: keys are voice sources 0..6, got {sorted(self.klatt)}")
        if any(w < 0 for w in self.klatt.values()) or sum(self.klatt.values()) <= 0:
            raise ValueError("klatt: weights must be >= 0 with a positive sum")
        return self


@dataclass(frozen=True)
class VariantParams:
    """One generated variant: the values written into its voice file."""

    gender: Literal["m", "f"]
    tract_scale: float  # factor on every formant frequency (before per-formant shifts)
    formants: tuple[tuple[int, int, int], ...]  # formants 0..8: (freq %, strength %, width %)
    pitch_base_hz: int
    pitch_top_hz: int
    flutter: int
    roughness: int  # 0..7
    breath: tuple[int, ...]  # noise strength on formants 1..8; all zero: no breath
    breathw_hz: tuple[int, ...]  # bandwidths of that noise, formants 1..8
    voicing_pct: int
    consonants_pct: tuple[int, int]  # (unvoiced, voiced) consonant noise
    tone: tuple[tuple[int, int], ...]  # (Hz, amplitude 0..255) points of the voiced tone curve
    klatt: int  # 0: espeak's wave generator; 1..6: a Klatt voice source

    @property
    def name(self) -> str:
        """The variant's file name: ``sa_`` and 12 hex digits of its text's hash."""
        digest = hashlib.sha256(variant_text(self).encode()).hexdigest()
        return f"{NAME_PREFIX}{digest[:12]}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "gender": self.gender,
            "tract_scale": self.tract_scale,
            "formants": [list(f) for f in self.formants],
            "pitch_base_hz": self.pitch_base_hz,
            "pitch_top_hz": self.pitch_top_hz,
            "flutter": self.flutter,
            "roughness": self.roughness,
            "breath": list(self.breath),
            "breathw_hz": list(self.breathw_hz),
            "voicing_pct": self.voicing_pct,
            "consonants_pct": list(self.consonants_pct),
            "tone": [list(t) for t in self.tone],
            "klatt": self.klatt,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VariantParams:
        """Inverse of :meth:`to_dict` (the ``name`` key, derived, is ignored)."""
        return cls(
            gender=data["gender"],
            tract_scale=float(data["tract_scale"]),
            formants=tuple((int(a), int(b), int(c)) for a, b, c in data["formants"]),
            pitch_base_hz=int(data["pitch_base_hz"]),
            pitch_top_hz=int(data["pitch_top_hz"]),
            flutter=int(data["flutter"]),
            roughness=int(data["roughness"]),
            breath=tuple(int(v) for v in data["breath"]),
            breathw_hz=tuple(int(v) for v in data["breathw_hz"]),
            voicing_pct=int(data["voicing_pct"]),
            consonants_pct=(int(data["consonants_pct"][0]), int(data["consonants_pct"][1])),
            tone=tuple((int(f), int(a)) for f, a in data["tone"]),
            klatt=int(data["klatt"]),
        )


def _uniform(rng: np.random.Generator, bounds: Range) -> float:
    return float(rng.uniform(bounds[0], bounds[1]))


def sample_variant(cfg: VariantConfig, rng: np.random.Generator,
                   gender: Literal["m", "f"] | None = None) -> VariantParams:
    """Draw one speaker's variant; ``gender`` None draws it with ``cfg.female_fraction``."""
    female_draw = rng.uniform() < cfg.female_fraction
    sex: Literal["m", "f"] = gender if gender is not None else ("f" if female_draw else "m")
    tract = _uniform(rng, cfg.tract_scale_female if sex == "f" else cfg.tract_scale_male)
    formants = []
    for fr in cfg.formants:
        freq = tract * _uniform(rng, fr.freq_pct)
        formants.append((int(round(freq)), int(round(_uniform(rng, fr.strength_pct))),
                         int(round(_uniform(rng, fr.width_pct)))))
    base = _uniform(rng, cfg.pitch_base_hz_female if sex == "f" else cfg.pitch_base_hz_male)
    top = base * _uniform(rng, cfg.pitch_top_ratio)
    breathy = rng.uniform() < cfg.breath_probability
    level = _uniform(rng, cfg.breath_level)
    width_scale = _uniform(rng, cfg.breathw_pct) / 100
    breath = tuple(int(round(level * s)) for s in _BREATH_SHAPE) if breathy else (0,) * 8
    breathw = (tuple(int(round(w * width_scale)) for w in _BREATH_WIDTHS_HZ)
               if any(breath) else ())
    tilt = _uniform(rng, cfg.tone_tilt)
    tone = tuple((hz, int(np.clip(round(amp * tilt**k), 0, 255)))
                 for k, (hz, amp) in enumerate(zip(_TONE_HZ, _TONE_AMP, strict=True)))
    sources = sorted(cfg.klatt)
    weights = np.array([cfg.klatt[k] for k in sources], dtype=float)
    klatt = sources[int(rng.choice(len(sources), p=weights / weights.sum()))]
    return VariantParams(
        gender=sex,
        tract_scale=round(tract, 4),
        formants=tuple(formants),
        pitch_base_hz=int(round(base)),
        pitch_top_hz=int(round(top)),
        flutter=int(round(_uniform(rng, cfg.flutter))),
        roughness=int(round(_uniform(rng, cfg.roughness))),
        breath=breath,
        breathw_hz=breathw,
        voicing_pct=int(round(_uniform(rng, cfg.voicing_pct))),
        consonants_pct=(int(round(_uniform(rng, cfg.consonants_pct))),
                        int(round(_uniform(rng, cfg.consonants_voiced_pct)))),
        tone=tone,
        klatt=klatt,
    )


def variant_text(params: VariantParams) -> str:
    """The espeak-ng voice-file text of a variant (``voices/!v/<name>``)."""
    lines = [
        "language variant",
        "name synthaudio",
        f"gender {'female' if params.gender == 'f' else 'male'}",
        f"pitch {params.pitch_base_hz} {params.pitch_top_hz}",
    ]
    lines += [f"formant {k} {f} {s} {w}" for k, (f, s, w) in enumerate(params.formants)]
    lines += [
        f"flutter {params.flutter}",
        f"roughness {params.roughness}",
        f"voicing {params.voicing_pct}",
        f"consonants {params.consonants_pct[0]} {params.consonants_pct[1]}",
        "tone " + "  ".join(f"{hz} {amp}" for hz, amp in params.tone),
    ]
    if any(params.breath):
        lines.append("breath " + " ".join(str(v) for v in params.breath))
        lines.append("breathw " + " ".join(str(v) for v in params.breathw_hz))
    if params.klatt:
        lines.append(f"klatt {params.klatt}")
    return "\n".join(lines) + "\n"

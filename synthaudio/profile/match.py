"""``synthaudio match PROFILE CONFIG -o MATCHED.yaml``: a config whose randomization covers
a profile.

Domain randomization works by covering reality, not by copying it: every fitted range is the
profile's 5-95% quantile range, widened on each side by ``widen * max(width, scale)`` (the
scale of each measurement below, so a narrow target still gets some spread) and clipped to
what the config allows. Every stage's probability is the share of target utterances that
show the effect. Every fitted value carries a YAML comment naming the measurement it came
from. The base CONFIG (a corpus.yaml or an augment config) gives everything else; its
relative paths are made absolute, so the matched file can live anywhere.

Fitted keys:

- ``augment.noise``: ``snr_db`` from ``snr_db``; ``kinds`` from ``noise_tilt_db_per_oct``
  (nearest of white 0, pink -3, brown -6, blue +3 dB/octave) and ``hum_hz``;
  ``probability`` from the share with ``snr_db`` below ``NOISY_SNR_DB``. Only utterances
  with ``MIN_NONSPEECH_S`` of non-speech and an estimate above its floor count (the blind
  estimate has nothing else to measure the noise on); with fewer than
  ``MIN_MEASURED_SHARE`` of them (tightly trimmed clips) ``snr_db`` and ``probability``
  keep the base values, and the comment says so;
- ``augment.room``: ``simulation.rt60_s`` and ``probability`` from ``rt60_s`` (reverberant:
  above ``DRY_RT60_S``);
- ``augment.channel.band_limit``: ``high_hz`` / ``low_hz`` from ``band_high_hz`` /
  ``band_low_hz`` of the band-limited utterances (upper edge below 90% of Nyquist or lower
  edge above 150 Hz); ``telephone`` and ``resample`` off (band_limit covers them);
- ``augment.channel.codec``: G.711 (``codec_hint``) share and kinds;
- ``augment.channel.clipping``: share with ``clip_fraction`` above 0.1%;
- ``augment.channel.gain``: ``active_level_dbfs`` minus the level of the speech before the
  channel (``SYNTH_ACTIVE_LEVEL_DBFS`` for generate; for augment, the target's own median);
- ``audio.sample_rate`` (``sample_rate`` for augment configs): the commonest ``sample_rate``;
- ``speakers.rate_wpm`` from ``speaking_rate_wps`` (x ``WPM_PER_WPS``, espeak-ng's measured
  ratio) when the target has transcripts.

Durations, F0 and DNSMOS have no config key: they are written as comments (choose prompts
and voices accordingly).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from synthaudio.errors import ConfigError
from synthaudio.profile.noise import GUARD_S, MIN_NOISE_S, MIN_SNR_DB

NOISY_SNR_DB = 50.0  # utterances below this estimated SNR count as noisy
DRY_RT60_S = 0.25  # estimated RT60 above this counts as reverberant
SYNTH_ACTIVE_LEVEL_DBFS = -19.0  # espeak-ng speech before the channel (measured: -18.8 median)
TILTS = {"white": 0.0, "pink": -3.0, "brown": -6.0, "blue": 3.0}
SCALES = {"snr_db": 10.0, "rt60_s": 0.2, "band_high_hz": 500.0, "band_low_hz": 100.0,
          "active_level_dbfs": 6.0, "speaking_rate_wps": 0.5}
DEFAULT_WIDEN = 0.25
# non-speech an utterance needs for its snr_db to count: the estimate's own minimum of noise
# samples plus the guards it leaves around the speech (else it falls back to the quietest
# frames, which are speech on a tightly trimmed clip)
MIN_NONSPEECH_S = MIN_NOISE_S + 2 * GUARD_S
MIN_MEASURED_SHARE = 0.5  # fewer utterances with that much non-speech: SNR not fitted
# espeak-ng's rate_wpm setting per word per second of VAD speech that it realizes: 51.5
# (12 en-us sentences, rate_wpm 144-185, wps/wpm 0.0168-0.0223, mean 0.0194)
WPM_PER_WPS = 51.5


def _vals(profile: Mapping[str, Any], name: str) -> np.ndarray:
    v = [r.get(name) for r in profile["per_utterance"]]
    return np.asarray([x for x in v if isinstance(x, (int, float))], dtype=np.float64)


def widen_range(values: np.ndarray, name: str, widen: float, low: float, high: float,
                ) -> tuple[float, float]:
    """The 5-95% range of ``values`` widened by ``widen * max(width, scale)`` per side."""
    q05, q95 = (float(x) for x in np.quantile(values, [0.05, 0.95]))
    margin = widen * max(q95 - q05, SCALES[name])
    lo, hi = max(low, q05 - margin), min(high, q95 + margin)
    if lo > hi:
        lo = hi = min(max(q05, low), high)
    return round(lo, 3), round(hi, 3)


def measured_snr(profile: Mapping[str, Any]) -> tuple[np.ndarray, int]:
    """(the ``snr_db`` of the utterances with at least ``MIN_NONSPEECH_S`` of non-speech and
    an estimate above its floor ``MIN_SNR_DB`` (the floor means the "noise" held as much
    power as the speech: no measurement), the number of utterances with an ``snr_db``).
    Without ``duration_s`` and ``speech_s`` (the speech family not profiled) the non-speech
    is not checked."""
    kept: list[float] = []
    n = 0
    for r in profile["per_utterance"]:
        snr, dur, speech = r.get("snr_db"), r.get("duration_s"), r.get("speech_s")
        if not isinstance(snr, (int, float)):
            continue
        n += 1
        if (isinstance(dur, (int, float)) and isinstance(speech, (int, float))
                and dur - speech < MIN_NONSPEECH_S) or snr <= MIN_SNR_DB:
            continue
        kept.append(float(snr))
    return np.asarray(kept, dtype=np.float64), n


def _share(mask: np.ndarray) -> float:
    return round(float(mask.mean()), 3) if len(mask) else 0.0


class _Yaml:
    """A YAML writer for nested mappings with a comment per key."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def key(self, indent: int, key: str, value: Any = None, comment: str | None = None) -> None:
        pad = "  " * indent
        text = f"{pad}{key}:"
        if value is not None:
            text += " " + json.dumps(value) if not isinstance(value, str) else " " + \
                yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
        if comment:
            text += f"  # {comment}"
        self.lines.append(text)

    def comment(self, indent: int, text: str) -> None:
        self.lines.append("  " * indent + "# " + text)

    def block(self, indent: int, data: Mapping[str, Any]) -> None:
        dumped = yaml.safe_dump(dict(data), sort_keys=False, default_flow_style=False)
        self.lines += ["  " * indent + line for line in dumped.splitlines()]


def _q(profile: Mapping[str, Any], name: str, fmt: str = ".3g") -> str:
    v = _vals(profile, name)
    if not len(v):
        return "n/a"
    q05, q50, q95 = np.quantile(v, [0.05, 0.5, 0.95])
    return f"{q05:{fmt}}/{q50:{fmt}}/{q95:{fmt}}"


def _absolutize(cfg: dict[str, Any], base_dir: Path, kind: str) -> None:
    def fix(p: str) -> str:
        return p if Path(p).is_absolute() else str((base_dir / p).resolve())

    if kind == "corpus":
        for src in cfg.get("text", {}).get("sources", []):
            if "file" in src:
                src["file"] = fix(src["file"])
    aug = cfg.get("augment") or {}
    noise = aug.get("noise") or {}
    if noise.get("noise_dirs"):
        noise["noise_dirs"] = [fix(d) for d in noise["noise_dirs"]]
    room = aug.get("room") or {}
    if room.get("measured_rirs"):
        room["measured_rirs"] = fix(room["measured_rirs"])


def fit_augment(profile: Mapping[str, Any], base: Mapping[str, Any], widen: float,
                synth_level_dbfs: float | None, w: _Yaml, indent: int) -> None:
    """Write the fitted ``augment:`` section (base values kept where nothing is fitted)."""
    base_aug = dict(base or {})
    n = int(profile.get("utterances", 0))
    w.key(indent, "augment", comment=f"fitted by synthaudio match to {n} utterances of "
          f"{profile['source']['path']} (widen {widen})")
    i = indent + 1
    if "speed" in base_aug:
        w.key(i, "speed")
        w.block(i + 1, base_aug["speed"])
    # room
    rt = _vals(profile, "rt60_s")
    base_room = dict(base_aug.get("room") or {})
    reverberant = rt[rt > DRY_RT60_S]
    w.key(i, "room")
    share = _share(rt > DRY_RT60_S)
    w.key(i + 1, "probability", share,
          f"rt60_s: share of utterances above {DRY_RT60_S} s (q05/q50/q95 {_q(profile, 'rt60_s')})")
    for k in ("bank_size", "tail_s", "normalize_level", "measured_rirs"):
        if k in base_room:
            w.key(i + 1, k, base_room[k])
    sim = dict(base_room.get("simulation") or {})
    w.key(i + 1, "simulation")
    if len(reverberant):
        lo, hi = widen_range(reverberant, "rt60_s", widen, 0.05, 5.0)
        lo = max(lo, 0.1)
        w.key(i + 2, "rt60_s", [lo, max(lo, hi)],
              "rt60_s of the reverberant utterances, 5-95% widened (blind estimate, "
              "see docs/profile.md)")
    elif "rt60_s" in sim:
        w.key(i + 2, "rt60_s", list(sim["rt60_s"]), "base value: no reverberant utterance")
    for k, v in sim.items():
        if k != "rt60_s":
            w.key(i + 2, k, list(v) if isinstance(v, (list, tuple)) else v)
    if not sim and not len(reverberant):
        w.lines[-1] += " {}"
    # noise
    snr, n_snr = measured_snr(profile)
    noisy = snr[snr < NOISY_SNR_DB]
    base_noise = dict(base_aug.get("noise") or {})
    w.key(i, "noise")
    if n_snr and len(snr) < MIN_MEASURED_SHARE * n_snr:
        why = (f"only {len(snr)} of {n_snr} utterances have {MIN_NONSPEECH_S:g} s of "
               "non-speech and an estimate above its floor: the blind SNR estimate could not "
               f"measure the noise (q05/q50/q95 {_q(profile, 'snr_db')} not used)")
        w.key(i + 1, "probability", base_noise.get("probability", 0.0), f"base value: {why}")
        if "snr_db" in base_noise:
            w.key(i + 1, "snr_db", list(base_noise["snr_db"]), "base value: not measured")
    else:
        w.key(i + 1, "probability", _share(snr < NOISY_SNR_DB),
              f"snr_db: share below {NOISY_SNR_DB:g} dB of the {len(snr)} of {n_snr} "
              f"utterances with {MIN_NONSPEECH_S:g} s of non-speech, estimates above "
              f"{MIN_SNR_DB:g} dB (q05/q50/q95 of all {_q(profile, 'snr_db')})")
        if len(noisy):
            w.key(i + 1, "snr_db", list(widen_range(noisy, "snr_db", widen, -20.0, 100.0)),
                  "snr_db of the noisy utterances, 5-95% widened")
    tilts = _vals(profile, "noise_tilt_db_per_oct")
    kinds: dict[str, float] = {}
    for t in tilts:
        nearest = min(TILTS, key=lambda k: abs(TILTS[k] - t))
        kinds[nearest] = kinds.get(nearest, 0.0) + 1.0
    hum_share = _share(_vals(profile, "hum_hz") > 0)
    if hum_share > 0:
        kinds["hum"] = hum_share * max(1, len(tilts))
    if not kinds:
        kinds = {"pink": 1.0}
    total = sum(kinds.values())
    # cover the neighbours too: every colour keeps a widen share of the weight
    fitted = {k: round((kinds.get(k, 0.0) / total) * (1 - widen) + widen / len(TILTS), 3)
              for k in TILTS}
    if "hum" in kinds:
        fitted["hum"] = round(kinds["hum"] / total, 3)
    w.key(i + 1, "kinds", fitted, f"noise_tilt_db_per_oct nearest colour (q05/q50/q95 "
          f"{_q(profile, 'noise_tilt_db_per_oct')} dB/oct), hum_hz share {hum_share}")
    hums = sorted({int(h) for h in _vals(profile, "hum_hz") if h > 0})
    if hums:
        w.key(i + 1, "hum_hz", [float(h) for h in hums], "hum_hz measured")
    for k, v in base_noise.items():
        if k not in ("probability", "snr_db", "kinds", "hum_hz"):
            w.key(i + 1, k, list(v) if isinstance(v, (list, tuple)) else v)
    # channel
    base_ch = dict(base_aug.get("channel") or {})
    w.key(i, "channel")
    if "eq" in base_ch:
        w.key(i + 1, "eq")
        w.block(i + 2, base_ch["eq"])
    clip = _vals(profile, "clip_fraction")
    w.key(i + 1, "clipping")
    w.key(i + 2, "probability", _share(clip > 0.001),
          "clip_fraction: share of utterances with more than 0.1% clipped samples")
    level = _vals(profile, "active_level_dbfs")
    if len(level):
        ref = synth_level_dbfs if synth_level_dbfs is not None else float(np.median(level))
        lo, hi = widen_range(level, "active_level_dbfs", widen, -100, 100)
        g_lo, g_hi = max(-60.0, round(lo - ref, 2)), min(24.0, round(hi - ref, 2))
        w.key(i + 1, "gain")
        w.key(i + 2, "probability", 1.0, "every utterance: levels spread like the target's")
        w.key(i + 2, "gain_db", [g_lo, max(g_lo, g_hi)],
              f"active_level_dbfs 5-95% widened ({lo:g}..{hi:g} dBFS) minus {ref:.1f} dBFS "
              "(the speech level before the channel)")
    rates = profile.get("categories", {}).get("sample_rate", {})
    nyq = {int(r): int(r) / 2 for r in rates}
    high = []
    low = []
    limited = []
    for r in profile["per_utterance"]:
        sr_, bh, bl = r.get("sample_rate"), r.get("band_high_hz"), r.get("band_low_hz")
        if not isinstance(bh, (int, float)) or sr_ is None:
            continue
        lim = bh < 0.9 * nyq.get(int(sr_), sr_ / 2) or (bl or 0) > 150
        limited.append(lim)
        if lim:
            high.append(bh)
            low.append(bl or 0.0)
    w.key(i + 1, "band_limit")
    w.key(i + 2, "probability", _share(np.asarray(limited)),
          "band_high_hz / band_low_hz: share of utterances band-limited (upper edge below 90% "
          "of Nyquist or lower edge above 150 Hz)")
    if high:
        hlo, hhi = widen_range(np.asarray(high), "band_high_hz", widen, 500.0, 48000.0)
        llo, lhi = widen_range(np.asarray(low), "band_low_hz", widen, 0.0, 4000.0)
        lhi = min(lhi, hlo - 100)
        llo = max(20.0, min(llo, lhi))  # a 0 Hz high-pass edge is no filter
        lhi = max(llo, lhi)
        w.key(i + 2, "high_hz", [hlo, hhi], f"band_high_hz of those, 5-95% widened "
              f"(q05/q50/q95 {_q(profile, 'band_high_hz', '.0f')} Hz)")
        w.key(i + 2, "low_hz", [llo, lhi], f"band_low_hz of those, 5-95% widened "
              f"(q05/q50/q95 {_q(profile, 'band_low_hz', '.0f')} Hz)")
    w.key(i + 1, "telephone", {"probability": 0.0}, "covered by band_limit")
    w.key(i + 1, "resample", {"probability": 0.0}, "covered by band_limit")
    codecs = profile.get("categories", {}).get("codec_hint", {})
    total_c = sum(codecs.values()) or 1
    g711 = sum(v for k, v in codecs.items() if k in ("g711", "mulaw", "alaw"))
    lossy = {k: v for k, v in codecs.items() if k in ("mp3", "opus")}
    ckinds: dict[str, float] = {}
    if g711:
        ckinds.update({"mulaw": 1.0, "alaw": 1.0})
    ckinds.update({k: 1.0 for k in lossy})
    w.key(i + 1, "codec")
    w.key(i + 2, "probability", round((g711 + sum(lossy.values())) / total_c, 3),
          f"codec_hint shares {dict(codecs)}")
    if ckinds:
        w.key(i + 2, "kinds", ckinds, "codec_hint")
    if "packet_loss" in base_ch:
        w.key(i + 1, "packet_loss")
        w.block(i + 2, base_ch["packet_loss"])


def _common_rate(profile: Mapping[str, Any]) -> int | None:
    rates = profile.get("categories", {}).get("sample_rate", {})
    if not rates:
        return None
    return int(max(rates.items(), key=lambda kv: (kv[1], int(kv[0])))[0])


def match_config(profile: Mapping[str, Any], config_path: Path | str,
                 widen: float = DEFAULT_WIDEN) -> str:
    """The matched config's YAML text (loads with synthaudio's own config loaders)."""
    from synthaudio.configbase import load_yaml, read_config_text

    if not 0 <= widen <= 10:
        raise ConfigError(f"--widen must be in [0, 10], got {widen}")
    path = Path(config_path)
    text = read_config_text(path)
    data = load_yaml(text, str(path))
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config must be a YAML mapping")
    kind = "corpus" if "speakers" in data or "text" in data else "augment"
    if kind == "corpus":
        from synthaudio.pipelines.generate.config import load_corpus_config

        load_corpus_config(path)  # the base must be valid itself
    else:
        from synthaudio.pipelines.augment_dir.config import WRAPPED_KEYS, load_augment_config

        load_augment_config(path)
        if not (WRAPPED_KEYS & set(data)):
            data = {"augment": data}
    cfg = json.loads(json.dumps(data))
    _absolutize(cfg, path.resolve().parent, kind)
    w = _Yaml()
    w.comment(0, f"Matched by synthaudio match: base {path}, profile of "
                 f"{profile['source']['path']} ({profile.get('utterances')} utterances).")
    for name in ("duration_s", "speech_ratio", "lead_silence_s", "f0_median_hz", "dnsmos_ovrl"):
        w.comment(0, f"target {name} q05/q50/q95: {_q(profile, name)} (no config key; "
                     "choose prompts and voices accordingly)")
    rate = _common_rate(profile)
    for key, value in cfg.items():
        if key == "augment":
            continue
        if kind == "corpus" and key == "audio" and rate is not None:
            w.key(0, "audio")
            for k, v in value.items():
                if k != "sample_rate":
                    w.key(1, k, v)
            w.key(1, "sample_rate", min(max(rate, 8000), 48000),
                  "sample_rate: the commonest in the target "
                  f"{profile['categories']['sample_rate']}")
            continue
        if kind == "augment" and key == "sample_rate" and rate is not None:
            continue
        if kind == "corpus" and key == "speakers":
            wps = _vals(profile, "speaking_rate_wps")
            spk = dict(value)
            if len(wps):
                lo, hi = widen_range(wps, "speaking_rate_wps", widen, 80 / 60, 450 / 60)
                spk.pop("rate_wpm", None)
                w.key(0, "speakers")
                w.block(1, spk)
                w.key(1, "rate_wpm", [round(max(80.0, lo * WPM_PER_WPS), 1),
                                      round(min(450.0, hi * WPM_PER_WPS), 1)],
                      f"speaking_rate_wps 5-95% widened x {WPM_PER_WPS} (q05/q50/q95 "
                      f"{_q(profile, 'speaking_rate_wps')} words/s of speech)")
                continue
        w.block(0, {key: value})
    if kind == "corpus" and "audio" not in cfg and rate is not None:
        w.key(0, "audio")
        w.key(1, "sample_rate", min(max(rate, 8000), 48000), "sample_rate: the commonest in "
              "the target")
    if kind == "augment" and rate is not None:
        w.key(0, "sample_rate", rate, "sample_rate: the commonest in the target")
    fit_augment(profile, cfg.get("augment") or {}, widen,
                SYNTH_ACTIVE_LEVEL_DBFS if kind == "corpus" else None, w, 0)
    return "\n".join(w.lines) + "\n"


MATCHED_MARK = "# Matched by synthaudio match:"  # the first line of every matched config


def is_matched_file(path: Path) -> bool:
    """True when ``path`` is a config synthaudio match wrote (its first line)."""
    with path.open("rb") as f:
        return f.read(len(MATCHED_MARK)).decode("utf-8", "replace") == MATCHED_MARK


def write_matched(profile_path: Path | str, config_path: Path | str, out: Path | str,
                  widen: float = DEFAULT_WIDEN) -> Path:
    """Fit, check that synthaudio loads the result, then write it atomically."""
    from synthaudio.io.fileio import write_text_atomic
    from synthaudio.pipelines.augment_dir.config import parse_augment_config
    from synthaudio.pipelines.generate.config import parse_corpus_config
    from synthaudio.profile.profile import load_profile
    from synthaudio.run.outdir import check_output_file

    check_output_file(out, "matched config", inputs=[Path(profile_path), Path(config_path)],
                      is_own=is_matched_file)
    profile = load_profile(profile_path)
    text = match_config(profile, config_path, widen)
    data = yaml.safe_load(text)
    if "speakers" in data or "text" in data:
        parse_corpus_config(text, str(out))
    else:
        parse_augment_config(text, str(out))
    write_text_atomic(Path(out), text)
    return Path(out)

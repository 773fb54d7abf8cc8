"""The Augmenter: speed -> room reverb -> noise at an SNR -> channel, sampled then applied.

Input is mono float32 ``(n,)`` speech. The output has K channels, K being the channel count
of the RIR drawn for the utterance (1 without reverb); arrays are ``(n,)`` when K == 1, else
``(K, n)``.

Output length: ``round(n / speed_factor)`` samples, plus ``room.tail_s`` of reverberation
tail when a room is applied (the convolution is cut there; a shorter RIR leaves zeros),
unless the Augmenter was built with ``keep_length=True``.
Noise covers the whole output; the channel keeps the length.

Level: reverberant speech is scaled to the dry speech's mean power (``room.normalize_level``);
noise is then set by the SNR; the channel may change the level (gain, clipping). Nothing
else limits the output to [-1, 1]: ``report.peak`` says how loud it is. When no stage
applies, the output may share memory with the input.

Timing: a word at ``t`` in the input is at ``t * time_scale + time_offset_s`` in the output.
Speed scales times by ``1 / factor``; reverb delays them by the RIR's direct-path delay
(the bank's ``direct_delay_s`` label); the channel (codecs included) does not move them.

(Over 400 lines on purpose: the stage order, the measured report and the output level
policy are one sample-then-apply unit.)
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import scipy.fft

from synthaudio.augment.channel import (
    ChannelParams,
    ChannelReport,
    apply_channel,
    check_codec_support,
    sample_channel,
)
from synthaudio.augment.config import AugmentConfig
from synthaudio.augment.noise import (
    Convolve,
    NoiseFolder,
    NoiseParams,
    babble_lengths,
    check_noise_resources,
    measure_snr_db,
    mix_at_snr,
    render_noise,
    sample_noise,
)
from synthaudio.augment.noise_sources import mean_power
from synthaudio.augment.speed import (
    SpeedParams,
    apply_speed,
    rescale_words,
    sample_speed,
    speed_length,
)
from synthaudio.errors import ConfigKeyError

_RIR_CACHE_BYTES = 16 << 20  # RIR spectra kept per Augmenter (so per worker process);
# more buys nothing measurable on quickstart (64 MiB: 12.0 s, 16: 11.4 s, 8: 10.9 s)
_SINGLE_FFT_MAX = 1 << 20  # longer convolutions use overlap-add
FIT_PEAK = 32766 / 32767  # where a mix above full scale is scaled to: one 16-bit step under it


def _fft_size(n: int) -> int:
    """Smallest 2**k * (1, 1.25, 1.5 or 1.75) >= n: fast sizes, few distinct (cache hits)."""
    k = max(0, (n - 1).bit_length() - 1)  # 2**k < n <= 2**(k+1) for n > 1
    for size in (5 << k >> 2, 3 << k >> 1, 7 << k >> 2, 2 << k):
        if size >= n:
            return size
    return 2 << k


class RirEntryLike(Protocol):
    """What the Augmenter reads from one RIR bank entry."""

    @property
    def rir_id(self) -> str: ...
    @property
    def num_channels(self) -> int: ...
    @property
    def sample_rate(self) -> int: ...
    @property
    def labels(self) -> Mapping[str, Any]: ...


class RirBankLike(Protocol):
    """The RIR bank interface (``synthaudio.augment.rirbank.RirBank``)."""

    @property
    def entries(self) -> Sequence[RirEntryLike]: ...
    def choose(self, rng: np.random.Generator) -> RirEntryLike: ...
    def get(self, rir_id: str, source: Literal["speech", "noise"] = "speech") -> np.ndarray: ...


@dataclass(frozen=True)
class ReverbParams:
    rir_id: str  # bank entry: speech RIR, and the noise RIR of the same room
    num_channels: int  # K microphones
    direct_delay_s: float  # direct-path delay of the speech RIR: word times shift by it
    rt60_s: float | None = None  # measured on the RIR (bank label)
    drr_db: float | None = None  # direct-to-reverberant ratio (bank label)
    tail_samples: int = 0  # reverb tail kept after the (speed-perturbed) speech
    rt60_target_s: float | None = None  # what the room was simulated for (None: measured RIR)
    c50_db: float | None = None  # clarity, early (50 ms) to late energy (bank label)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReverbParams:
        return cls(str(data["rir_id"]), int(data["num_channels"]), float(data["direct_delay_s"]),
                   _maybe_float(data.get("rt60_s")), _maybe_float(data.get("drr_db")),
                   int(data.get("tail_samples", 0)), _maybe_float(data.get("rt60_target_s")),
                   _maybe_float(data.get("c50_db")))


@dataclass(frozen=True)
class AugmentParams:
    """Everything drawn for one utterance; None = stage not applied."""

    num_samples: int  # input length the params were drawn for
    sample_rate: int
    output_samples: int  # length of the result
    speed: SpeedParams | None
    room: ReverbParams | None
    noise: NoiseParams | None
    channel: ChannelParams | None

    def to_dict(self) -> dict[str, Any]:
        """Per-stage dicts, JSON-ready (the ``augment`` field of metadata.jsonl)."""
        return {
            "speed": None if self.speed is None else self.speed.to_dict(),
            "room": None if self.room is None else self.room.to_dict(),
            "noise": None if self.noise is None else self.noise.to_dict(),
            "channel": None if self.channel is None else self.channel.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], num_samples: int, sample_rate: int,
                  ) -> AugmentParams:
        """Inverse of ``to_dict`` for an input of ``num_samples`` at ``sample_rate``: replays
        an utterance's augmentation from its metadata."""
        speed = None if data.get("speed") is None else SpeedParams.from_dict(data["speed"])
        room = None if data.get("room") is None else ReverbParams.from_dict(data["room"])
        noise = None if data.get("noise") is None else NoiseParams.from_dict(data["noise"])
        channel = (None if data.get("channel") is None
                   else ChannelParams.from_dict(data["channel"]))
        out = speed_length(num_samples, speed.factor) if speed else num_samples
        out += room.tail_samples if room else 0
        return cls(num_samples, sample_rate, out, speed, room, noise, channel)


@dataclass(frozen=True)
class AugmentReport:
    """Facts measured while applying."""

    snr_db: float | None  # 10*log10(P_speech / P_noise) of the returned stems; None: no noise
    num_channels: int
    num_samples: int
    clipped_fraction: float = 0.0  # of the output's samples, at 16-bit full scale
    peak: float = 0.0  # max |sample| of the output
    output_gain_db: float = 0.0  # < 0: the output would have clipped and was turned down
    codec: str | None = None  # codec actually run: "FORMAT/SUBTYPE@RATE"
    codec_delay_samples: int = 0  # measured and removed
    dropped_frames: int = 0
    total_frames: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class AugmentResult:
    audio: np.ndarray  # final float32, (n,) when K == 1 else (K, n)
    params: AugmentParams
    speech: np.ndarray  # speech stem as mixed (after speed and reverb), before the channel
    noise: np.ndarray  # noise stem as mixed; speech + noise == the pre-channel mix exactly
    report: AugmentReport
    time_offset_s: float  # output time = input time * time_scale + time_offset_s
    time_scale: float

    def map_time(self, t_s: float) -> float:
        return t_s * self.time_scale + self.time_offset_s

    def map_words(self, words: Sequence[Sequence[Any]] | None) -> list[list[Any]] | None:
        """``[[word, start_s, dur_s], ...]`` moved to the output's time line."""
        scaled = rescale_words(words, 1.0 / self.time_scale)
        if scaled is None:
            return None
        return [[w[0], w[1] + self.time_offset_s, *w[2:]] for w in scaled]


def _validate_audio(audio: Any, sample_rate: Any) -> np.ndarray:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int | np.integer):
        raise ValueError(f"sample_rate must be an int, got {type(sample_rate).__name__}")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be > 0, got {sample_rate}")
    if not isinstance(audio, np.ndarray):
        raise ValueError(f"audio must be a numpy array, got {type(audio).__name__}")
    if audio.dtype not in (np.float32, np.float64):
        raise ValueError(f"audio must be float32 or float64, got {audio.dtype}")
    if audio.ndim != 1:
        raise ValueError(f"audio must be mono with shape (n,), got shape {audio.shape}")
    if audio.size == 0:
        raise ValueError("audio is empty (0 samples)")
    if not np.all(np.isfinite(audio)):
        raise ValueError("audio contains NaN or infinite samples")
    return audio.astype(np.float32, copy=False)


class Augmenter:
    """Draws and applies speed, reverb, noise and channel effects for one utterance at a time.

    Holds no open files and no random state: pickles, and is safe in DataLoader workers.
    ``keep_length=True`` appends no reverb tail (``room.tail_s`` is ignored), so the output
    has the input's length (divided by the speed factor when speed perturbation applies),
    like audiomentations' ``leave_length_unchanged``.
    """

    def __init__(self, config: AugmentConfig, *, rir_bank: RirBankLike | None = None,
                 noise_folders: Sequence[NoiseFolder] = (),
                 babble_pool: Sequence[np.ndarray] | None = None,
                 keep_length: bool = False) -> None:
        if config.room.probability > 0 and rir_bank is None:
            raise ConfigKeyError("augment.room.probability > 0 but no RIR bank was given")
        if rir_bank is not None and config.room.probability > 0 and not rir_bank.entries:
            raise ConfigKeyError("augment.room: the RIR bank is empty")
        self.config = config
        self.keep_length = keep_length  # no reverb tail: output as long as the input
        self.rir_bank = rir_bank
        self.noise_folders = tuple(noise_folders)
        self.babble_pool = None if babble_pool is None else [
            np.asarray(c, dtype=np.float32) for c in babble_pool]
        self._babble_lengths = babble_lengths(self.babble_pool)
        if config.noise.probability > 0:
            check_noise_resources(config.noise, len(self.noise_folders), len(self._babble_lengths))
        check_codec_support(config.channel)
        self._spectra: OrderedDict[tuple[str, str, int], np.ndarray] = OrderedDict()
        self._spectra_bytes = 0

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_spectra"], state["_spectra_bytes"] = OrderedDict(), 0  # a cache: rebuilt on use
        return state

    # --- sampling ---------------------------------------------------------------------

    def sample(self, rng: np.random.Generator, num_samples: int, sample_rate: int,
               ) -> AugmentParams:
        """Draw every stage for an input of ``num_samples`` at ``sample_rate``.

        Each stage draws from its own child stream of ``rng`` (spawned in a fixed order), so
        changing one stage's settings does not change what the others draw.
        """
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy Generator, got {type(rng).__name__}")
        if num_samples <= 0 or sample_rate <= 0:
            raise ValueError(f"num_samples and sample_rate must be > 0, got {num_samples}, "
                             f"{sample_rate}")
        cfg = self.config
        speed_rng, room_rng, noise_rng, channel_rng = rng.spawn(4)
        speed = None
        if speed_rng.random() < cfg.speed.probability:
            speed = sample_speed(cfg.speed, speed_rng)
        n = speed_length(num_samples, speed.factor) if speed else num_samples
        room = None
        point_ok = False
        if self.rir_bank is not None and room_rng.random() < cfg.room.probability:
            entry = self.rir_bank.choose(room_rng)
            if entry.sample_rate != sample_rate:
                raise ValueError(f"RIR {entry.rir_id!r} is at {entry.sample_rate} Hz, the audio "
                                 f"at {sample_rate} Hz")
            labels = entry.labels
            tail = 0 if self.keep_length else round(cfg.room.tail_s * sample_rate)
            room = ReverbParams(entry.rir_id, int(entry.num_channels),
                                float(labels.get("direct_delay_s", 0.0)),
                                _maybe_float(labels.get("rt60_s")),
                                _maybe_float(labels.get("drr_db")), tail,
                                _maybe_float(labels.get("rt60_target_s")),
                                _maybe_float(labels.get("c50_db")))
            n += tail
            # measured RIRs have no noise-source RIR: their noise stays diffuse
            point_ok = getattr(entry, "noise_path", "") is not None
        noise = None
        if noise_rng.random() < cfg.noise.probability:
            noise = sample_noise(cfg.noise, noise_rng, num_samples=n, sample_rate=sample_rate,
                                 point_source_ok=point_ok, folders=self.noise_folders,
                                 babble_lengths=self._babble_lengths)
        channel: ChannelParams | None = sample_channel(cfg.channel, channel_rng, sample_rate)
        if channel is not None and channel.is_identity():
            channel = None
        return AugmentParams(num_samples, int(sample_rate), n, speed, room, noise, channel)

    # --- applying ---------------------------------------------------------------------

    def _rir_spectrum(self, rir_id: str, source: Literal["speech", "noise"], nfft: int,
                      ) -> np.ndarray:
        """rfft of the RIR at size ``nfft``, ``(K, nfft // 2 + 1)`` complex64, cached."""
        assert self.rir_bank is not None
        key = (rir_id, source, nfft)
        spec = self._spectra.get(key)
        if spec is not None:
            self._spectra.move_to_end(key)
            return spec
        rir = np.asarray(self.rir_bank.get(rir_id, source), dtype=np.float32)
        spec = scipy.fft.rfft(rir, n=nfft, axis=-1)
        self._spectra[key] = spec
        self._spectra_bytes += spec.nbytes
        while self._spectra_bytes > _RIR_CACHE_BYTES and len(self._spectra) > 1:
            self._spectra_bytes -= self._spectra.popitem(last=False)[1].nbytes
        return spec

    def _reverb(self, x: np.ndarray, rir_id: str, num_out: int,
                source: Literal["speech", "noise"] = "speech") -> np.ndarray:
        """FFT convolution of mono ``x`` with the speech (or noise-source) RIR,
        ``(K, num_out)``.

        One FFT of a cached size when that size is moderate, else overlap-add in blocks of
        about four RIR lengths; the RIR spectra are cached either way.
        """
        assert self.rir_bank is not None
        m = int(self.rir_bank.get(rir_id, source).shape[-1])
        full = x.size + m - 1
        if full <= _SINGLE_FFT_MAX:
            nfft = _fft_size(full)
            spec = self._rir_spectrum(rir_id, source, nfft)
            y = scipy.fft.irfft(scipy.fft.rfft(x, n=nfft) * spec, n=nfft, axis=-1)
            out = y[:, : min(full, num_out)]
        else:
            block = _fft_size(4 * m)
            spec = self._rir_spectrum(rir_id, source, block)
            hop = block - m + 1
            n_blocks = math.ceil(x.size / hop)
            frames = np.zeros((n_blocks, hop), dtype=np.float32)
            frames.reshape(-1)[: x.size] = x
            # (K, blocks, block): each block convolved with the RIR, then overlapped
            y = scipy.fft.irfft(scipy.fft.rfft(frames, n=block, axis=-1)[None]
                                * spec[:, None, :], n=block, axis=-1)
            k = spec.shape[0]
            acc = np.zeros((k, (n_blocks + 1) * hop), dtype=np.float32)
            acc[:, : n_blocks * hop] = y[:, :, :hop].reshape(k, -1)
            spill = np.zeros((k, n_blocks, hop), dtype=np.float32)
            spill[:, :, : m - 1] = y[:, :, hop:]  # m - 1 < hop samples run into the next block
            acc[:, hop:] += spill.reshape(k, -1)
            out = acc[:, : min(full, num_out)]
        if out.shape[-1] < num_out:
            out = np.pad(out, ((0, 0), (0, num_out - out.shape[-1])))
        return np.ascontiguousarray(out, dtype=np.float32)

    def _noise_convolve(self, rir_id: str) -> Convolve:
        """Point noise sources' convolution with the room's noise RIR (cached spectra)."""
        def convolve(mono: np.ndarray, num_out: int) -> np.ndarray:
            return self._reverb(mono, rir_id, num_out, "noise")
        return convolve

    def apply(self, audio: np.ndarray, sample_rate: int, params: AugmentParams) -> AugmentResult:
        """Apply drawn ``params`` to mono ``audio`` ``(n,)`` float32/float64 at ``sample_rate``.

        Deterministic given ``params``; reads only RIRs from the bank and noise segments from
        the noise folders.
        """
        return self._apply(_validate_audio(audio, sample_rate), sample_rate, params)

    def _apply(self, x: np.ndarray, sample_rate: int, params: AugmentParams) -> AugmentResult:
        if params.num_samples != x.size or params.sample_rate != sample_rate:
            raise ValueError(
                f"params were drawn for {params.num_samples} samples at {params.sample_rate} Hz,"
                f" got {x.size} samples at {sample_rate} Hz")
        if params.speed is not None and params.speed.factor != 1.0:
            x = apply_speed(x, params.speed, sample_rate)
        n = params.output_samples
        if params.room is not None:
            speech = self._reverb(x, params.room.rir_id, n)
            if self.config.room.normalize_level:  # like Kaldi's --normalize-output
                wet = mean_power(speech)
                if wet > 0:
                    speech *= np.float32(math.sqrt(mean_power(x) / wet))
        else:
            speech = x[None, :]
        k = speech.shape[0]
        snr = None
        if params.noise is not None:
            need_rir = any(s.placement == "point" for s in params.noise.sources)
            noise_rir, convolve = None, None
            if need_rir and params.room is not None and self.rir_bank is not None:
                rir_id = params.room.rir_id
                noise_rir = np.asarray(self.rir_bank.get(rir_id, "noise"), dtype=np.float32)
                convolve = self._noise_convolve(rir_id)
            stem = render_noise(params.noise, sample_rate, k, noise_rir=noise_rir,
                                folders=self.noise_folders, babble_pool=self.babble_pool,
                                convolve=convolve)
            if np.any(stem):
                speech, noise = mix_at_snr(speech, stem, params.noise.snr_db)
                snr = measure_snr_db(speech, noise)
            else:  # e.g. a digitally silent stretch of a recorded noise file
                noise = stem
            mix = speech + noise
        else:
            noise = np.zeros_like(speech)
            mix = speech
        creport = ChannelReport()
        if params.channel is not None:
            out, creport = apply_channel(mix, params.channel, sample_rate)
        else:
            out = mix
        out, speech, noise, gain_db = fit_full_scale(out, speech, noise)
        if gain_db and params.channel is None:
            out = speech + noise  # still the exact sum of the stems
        report = AugmentReport(
            snr_db=snr, num_channels=k, num_samples=out.shape[-1],
            clipped_fraction=clipped_fraction_pcm16(out), output_gain_db=gain_db,
            peak=max(float(out.max()), -float(out.min())), codec=creport.codec,
            codec_delay_samples=creport.codec_delay_samples,
            dropped_frames=creport.dropped_frames, total_frames=creport.total_frames)
        factor = params.speed.factor if params.speed is not None else 1.0
        offset = params.room.direct_delay_s if params.room is not None else 0.0

        def squeeze(a: np.ndarray) -> np.ndarray:
            return a[0] if k == 1 else a

        return AugmentResult(audio=squeeze(out), params=params, speech=squeeze(speech),
                             noise=squeeze(noise), report=report, time_offset_s=offset,
                             time_scale=1.0 / factor)

    def __call__(self, audio: np.ndarray, sample_rate: int, rng: np.random.Generator,
                 ) -> AugmentResult:
        """Sample, then apply."""
        x = _validate_audio(audio, sample_rate)
        return self._apply(x, sample_rate, self.sample(rng, x.size, sample_rate))


def fit_full_scale(out: np.ndarray, speech: np.ndarray, noise: np.ndarray,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The output level policy: a mix louder than full scale is turned down, never clipped.

    When ``max |out| > 1`` (it would clip in a 16-bit file), ``out`` and the stems are all
    multiplied by one gain that puts the peak at ``FIT_PEAK``, one 16-bit step under full
    scale; SNR and relative levels are kept. Returns (out, speech, noise, gain in dB: 0.0
    when nothing was scaled).
    """
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    if peak <= 1.0:
        return out, speech, noise, 0.0
    gain = np.float32(FIT_PEAK / peak)
    return out * gain, speech * gain, noise * gain, round(20.0 * math.log10(float(gain)), 3)


def clipped_fraction_pcm16(audio: np.ndarray) -> float:
    """Fraction of the samples that are at full scale (+-32767 or -32768) once written as
    16-bit PCM (``fileio.to_pcm16``): the clipping the written file holds."""
    if audio.size == 0:
        return 0.0
    return float(np.mean(np.abs(np.round(audio.astype(np.float64) * 32767.0)) >= 32767.0))


def _maybe_float(value: Any) -> float | None:
    return None if value is None else float(value)

"""The environment resources a corpus shares across utterances: its RIR bank, its babble
pool and its noise folders, prepared once per corpus and loaded once per worker.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from synthaudio.augment.augmenter import Augmenter
from synthaudio.augment.channel import check_codec_support
from synthaudio.augment.config import AugmentConfig
from synthaudio.augment.noise import NoiseFolder, is_all_zero
from synthaudio.augment.rirbank import RirBank, build_rir_bank
from synthaudio.errors import ConfigKeyError, InputError
from synthaudio.io.fileio import check_finite_audio
from synthaudio.streams import STREAM_BABBLE, STREAM_RIRS

BABBLE_POOL_SIZE = 24  # clips of corpus speakers that babble noise is mixed from


@dataclass(frozen=True)
class EnvironmentResources:
    """What a worker needs to build its Augmenter (picklable; files are read in the worker)."""

    config: AugmentConfig
    rir_dir: str | None
    measured_rirs: bool
    sample_rate: int
    noise_dirs: tuple[str, ...]
    babble_pool: tuple[np.ndarray, ...] | None

    def augmenter(self) -> Augmenter:
        bank = None
        if self.rir_dir is not None:
            bank = (RirBank.from_measured_folder(self.rir_dir, self.sample_rate)
                    if self.measured_rirs else RirBank.load(self.rir_dir))
        return Augmenter(self.config, rir_bank=bank,
                         noise_folders=[NoiseFolder(d) for d in self.noise_dirs],
                         babble_pool=self.babble_pool)



class BabbleSource(Protocol):
    """Whose voices and which texts the babble pool draws: a corpus plan's speakers (with
    a ``voice``) and prompts (with a ``text``)."""

    @property
    def speakers(self) -> Sequence[Any]: ...

    @property
    def prompts(self) -> Sequence[Any]: ...


@dataclass(frozen=True)
class BabbleTexts:
    """A ``BabbleSource`` of its own: the speakers, and only the prompts babble may say (a
    keyword corpus's babble says no target: it sits under ``_unknown_`` windows)."""

    speakers: Sequence[Any]
    prompts: Sequence[Any]


def _resolve(path: str, base: Path, key: str) -> str:
    p = Path(path)
    p = p if p.is_absolute() else base / p
    if not p.is_dir():
        raise ConfigKeyError(f"{key}: folder {p} not found")
    return str(p)


def check_environment_paths(config: AugmentConfig, base: Path) -> None:
    """Fail early (before OUT is touched) on folders that do not exist."""
    if config.room is not None and config.room.measured_rirs:
        _resolve(config.room.measured_rirs, base, "augment.room.measured_rirs")
    if config.noise is not None:
        for i, d in enumerate(config.noise.noise_dirs):
            _resolve(d, base, f"augment.noise.noise_dirs.{i}")


def rir_bank_seed(seed: int) -> int:
    """The seed of a corpus's RIR bank, drawn from the corpus seed's RIR stream."""
    return int(np.random.default_rng([seed, STREAM_RIRS]).integers(2**31))


def prepare_environment(
    config: AugmentConfig, sample_rate: int, seed: int, out_dir: Path, config_dir: Path,
    plan: BabbleSource | None, jobs: int, synthesize_babble: object = None,
) -> EnvironmentResources:
    """Build (or reuse) the RIR bank under ``OUT/rirs`` and render the babble pool."""
    rir_dir: str | None = None
    measured = False
    room = config.room
    if room is not None and room.probability > 0:
        if room.measured_rirs:
            rir_dir, measured = _resolve(room.measured_rirs, config_dir,
                                         "augment.room.measured_rirs"), True
            RirBank.from_measured_folder(rir_dir, sample_rate)  # fail early, in the parent
        else:
            rir_dir = str(out_dir / "rirs")
            build_rir_bank(Path(rir_dir), room.simulation, room.bank_size, sample_rate,
                           seed=rir_bank_seed(seed),
                           jobs=jobs)
    noise_dirs: tuple[str, ...] = ()
    babble_pool = None
    noise = config.noise
    if noise is not None and noise.probability > 0:
        noise_dirs = tuple(_resolve(d, config_dir, f"augment.noise.noise_dirs.{i}")
                           for i, d in enumerate(noise.noise_dirs))
        if noise.mixes_babble:
            if plan is None or not callable(synthesize_babble):
                raise ConfigKeyError("augment.noise.kinds: babble needs synthetic speakers; "
                                  "use it in generate, or give it weight 0")
            babble_pool = _babble_pool(plan, seed, synthesize_babble)
    return EnvironmentResources(config, rir_dir, measured, sample_rate, noise_dirs, babble_pool)


def babble_pool_draws(plan: BabbleSource, seed: int) -> list[tuple[Any, Any]]:
    """Who says what in each clip of the babble pool: (speaker, prompt), drawn from the
    seed (babble noise's ``talkers`` record indices into this list)."""
    rng = np.random.default_rng([seed, STREAM_BABBLE])
    draws = []
    for _ in range(BABBLE_POOL_SIZE):
        speaker = plan.speakers[int(rng.integers(len(plan.speakers)))]
        draws.append((speaker, plan.prompts[int(rng.integers(len(plan.prompts)))]))
    return draws


def _babble_pool(plan: BabbleSource, seed: int, synthesize: object) -> tuple[np.ndarray, ...]:
    """Clean clips of the corpus's own speakers saying its prompts, drawn from the seed."""
    assert callable(synthesize)
    return tuple(np.asarray(synthesize(prompt.text, speaker.voice), dtype=np.float32)
                 for speaker, prompt in babble_pool_draws(plan, seed))


def check_environment_inputs(aug: AugmentConfig, sample_rate: int, base: Path) -> list[str]:
    """Check everything the environment will read or need before OUT is touched: the paths,
    the codecs this libsndfile can encode (ConfigError), the noise folders and measured RIRs
    (InputError naming the file when one is not usable audio); return notes on what will be
    done to fit them."""
    check_environment_paths(aug, base)
    check_codec_support(aug.channel)

    def resolve(path: str) -> Path:
        p = Path(path)
        return p if p.is_absolute() else base / p

    notes = []
    noise = aug.noise
    if noise.probability > 0 and noise.kinds.get("folder", 0.0) > 0:
        for d in noise.noise_dirs:
            folder = NoiseFolder(resolve(d))
            short = [f for f in folder.files if f.frames < noise.min_file_s * f.sample_rate]
            if short:
                raise InputError(
                    f"{folder.root / short[0].path}: noise file of {short[0].frames} frames "
                    f"({short[0].frames / short[0].sample_rate:.3f} s) is shorter than "
                    f"augment.noise.min_file_s ({noise.min_file_s:g} s)"
                    + (f"; {len(short) - 1} more in this folder" if len(short) > 1 else ""))
            for f in folder.files:  # before OUT is claimed: a bad sample stops nothing midway
                path = Path(folder.root) / f.path
                check_finite_audio(path, "noise file")
                if is_all_zero(path):  # no noise can be mixed at an SNR
                    raise InputError(f"{path}: noise file is all zeros (silent); remove it "
                                     "from the folder")
            other = [f for f in folder.files if f.sample_rate != sample_rate]
            if other:
                notes.append(f"note: noise: {len(other)} of {len(folder)} file(s) in "
                             f"{folder.root} are not at {sample_rate} Hz and are resampled "
                             f"when read (e.g. {other[0].path} at {other[0].sample_rate} Hz)")
            multi = [f for f in folder.files if f.channels > 1]
            if multi:
                notes.append(f"note: noise: {len(multi)} file(s) in {folder.root} have more "
                             f"than one channel and are averaged to mono (e.g. {multi[0].path}"
                             f", {multi[0].channels} channels)")
    room = aug.room
    if room.probability > 0 and room.measured_rirs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # said in the notes instead
            bank = RirBank.from_measured_folder(resolve(room.measured_rirs), sample_rate)
        resampled = [e for e in bank.entries if e.resampled_from is not None]
        if resampled:
            notes.append(f"note: room: {len(resampled)} of {len(bank)} measured RIR(s) in "
                         f"{bank.root} are resampled to {sample_rate} Hz (e.g. "
                         f"{resampled[0].path} from {resampled[0].resampled_from} Hz)")
        channels = sorted({e.num_channels for e in bank.entries})
        if channels != [1]:
            counts = ", ".join(str(k) for k in channels)
            notes.append(f"note: room: the measured RIRs in {bank.root} have {counts} "
                         "channel(s); an utterance reverberated with a K-channel RIR has K "
                         "channels")
    return notes

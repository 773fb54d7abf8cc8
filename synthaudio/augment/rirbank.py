"""RIR banks: a folder of RIR files plus ``index.jsonl``, and convolution with a RIR.

A bank folder holds ``<rir_id>.wav`` (speech source, float32 WAV, ``K`` channels),
``<rir_id>.noise.wav`` (noise source, simulated banks only) and ``index.jsonl``: one
``RirEntry`` per line, sorted by ``rir_id``. RIRs are float32 ``(K, n)``.

(Over 400 lines on purpose: the bank's format, its build with the RT60 checks and its
loader are one file format, read and changed together.)
"""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.signal
import soundfile as sf
import soxr

from synthaudio.augment.acoustics import (
    direct_path_index,
    measure_c50_db,
    measure_drr_db,
    measure_rt60,
)
from synthaudio.augment.checks import check_audio
from synthaudio.augment.room.config import RoomConfig, Source
from synthaudio.augment.room.sampling import RoomParams, sample_room
from synthaudio.augment.room.simulation import simulate_rir
from synthaudio.augment.rt60_limits import RT60_TOLERANCE, check_reachable, is_reachable, reached
from synthaudio.errors import ConfigError, InputError, SynthaudioError
from synthaudio.io.fileio import (
    check_wav_complete,
    encode_audio,
    is_temp_name,
    write_bytes_atomic,
    write_text_atomic,
)
from synthaudio.run.executors import fit_jobs
from synthaudio.run.progress import progress_bar
from synthaudio.run.workers import worker_pool

INDEX_NAME = "index.jsonl"
AUDIO_SUFFIXES = (".wav", ".flac")  # accepted measured RIR files
_INDEX_FLUSH_EVERY = 100  # rewrite the index after this many new entries (resumable runs)
_MAX_REDRAWS = 20  # rooms drawn for one entry before its ranges are called unreachable


@dataclass(frozen=True)
class RirEntry:
    """One RIR of a bank, with its acoustic labels."""

    rir_id: str  # "rir-000017" (simulated) or the file stem (measured)
    path: str  # speech-source RIR, relative to the bank folder
    noise_path: str | None  # noise-source RIR in the same room; None for measured RIRs
    num_channels: int  # K
    sample_rate: int  # Hz, of the arrays ``RirBank.get`` returns
    room: dict[str, Any] | None  # RoomParams.to_dict() for simulated RIRs, else None
    rt60_target_s: float | None  # the RT60 the simulation aimed at; None for measured
    rt60_s: float  # measured T20 RT60 (mean over channels), s
    drr_db: float  # direct-to-reverberant ratio (mean over channels), dB
    c50_db: float  # clarity C50 (mean over channels), dB
    direct_delay_s: float  # direct-path arrival at channel 0, s
    resampled_from: int | None = None  # measured file's own rate when it is resampled on load

    @property
    def labels(self) -> dict[str, float | None]:
        """The acoustic labels by name: rt60_target_s, rt60_s, drr_db, c50_db, direct_delay_s."""
        return {
            "rt60_target_s": self.rt60_target_s,
            "rt60_s": self.rt60_s,
            "drr_db": self.drr_db,
            "c50_db": self.c50_db,
            "direct_delay_s": self.direct_delay_s,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values, rounded (RT60 and delay to 0.1 ms / 1 us, dB to 0.01)."""
        return {
            "rir_id": self.rir_id,
            "path": self.path,
            "noise_path": self.noise_path,
            "num_channels": self.num_channels,
            "sample_rate": self.sample_rate,
            "room": self.room,
            "rt60_target_s": None if self.rt60_target_s is None else round(self.rt60_target_s, 4),
            "rt60_s": round(self.rt60_s, 4),
            "drr_db": round(self.drr_db, 2),
            "c50_db": round(self.c50_db, 2),
            "direct_delay_s": round(self.direct_delay_s, 6),
            "resampled_from": self.resampled_from,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RirEntry:
        """Inverse of ``to_dict``; raises KeyError/TypeError/ValueError on malformed data."""
        target = data["rt60_target_s"]
        room = data["room"]
        if room is not None and not isinstance(room, dict):
            raise TypeError(f"room must be an object or null, got {type(room).__name__}")
        noise = data["noise_path"]
        resampled = data.get("resampled_from")
        return cls(
            rir_id=str(data["rir_id"]),
            path=str(data["path"]),
            noise_path=None if noise is None else str(noise),
            num_channels=int(data["num_channels"]),
            sample_rate=int(data["sample_rate"]),
            room=None if room is None else dict(room),
            rt60_target_s=None if target is None else float(target),
            rt60_s=float(data["rt60_s"]),
            drr_db=float(data["drr_db"]),
            c50_db=float(data["c50_db"]),
            direct_delay_s=float(data["direct_delay_s"]),
            resampled_from=None if resampled is None else int(resampled),
        )


def _entry(
    rir_id: str,
    rir: np.ndarray,
    sample_rate: int,
    path: str,
    noise_path: str | None = None,
    room: RoomParams | None = None,
    resampled_from: int | None = None,
) -> RirEntry:
    """An index entry labelled with the RIR's measured RT60, DRR, C50 and direct delay.

    Rounded as in the index, so that it equals the entry read back by ``RirBank.load``.
    """
    entry = RirEntry(
        rir_id=rir_id,
        path=path,
        noise_path=noise_path,
        num_channels=rir.shape[0],
        sample_rate=sample_rate,
        room=None if room is None else room.to_dict(),
        rt60_target_s=None if room is None else room.rt60_target_s,
        rt60_s=measure_rt60(rir, sample_rate),
        drr_db=measure_drr_db(rir, sample_rate),
        c50_db=measure_c50_db(rir, sample_rate),
        direct_delay_s=direct_path_index(rir) / sample_rate,
        resampled_from=resampled_from,
    )
    return RirEntry.from_dict(entry.to_dict())


class RirBank:
    """The RIRs of one bank folder; arrays are loaded on first use and cached, read-only."""

    def __init__(self, root: Path, entries: Iterable[RirEntry]) -> None:
        self.root = Path(root)
        self.entries: tuple[RirEntry, ...] = tuple(sorted(entries, key=lambda e: e.rir_id))
        self._by_id = {e.rir_id: e for e in self.entries}
        self._cache: dict[tuple[str, str], np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def __getstate__(self) -> dict[str, Any]:
        # Workers get the index, not the parent's cached arrays.
        return {"root": self.root, "entries": self.entries}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["root"], state["entries"])  # type: ignore[misc]

    @classmethod
    def load(cls, directory: Path | str) -> RirBank:
        """Read ``<directory>/index.jsonl``; InputError naming ``file:line`` on a bad line."""
        root = Path(directory)
        index = root / INDEX_NAME
        if not index.is_file():
            raise InputError(f"{index}: no RIR bank index here (build one with build_rir_bank)")
        entries: list[RirEntry] = []
        seen: set[str] = set()
        with index.open(encoding="utf-8") as f:
            for lineno, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    data = json.loads(line)
                    if not isinstance(data, dict):
                        raise TypeError("not a JSON object")
                    entry = RirEntry.from_dict(data)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{index}:{lineno}: not valid JSON ({exc.msg})") from None
                except KeyError as exc:
                    raise InputError(f"{index}:{lineno}: missing key {exc}") from None
                except (TypeError, ValueError) as exc:
                    raise InputError(f"{index}:{lineno}: bad entry ({exc})") from None
                for rel in (entry.path, entry.noise_path):
                    if rel is not None and (Path(rel).name != rel or rel in ("", ".", "..")):
                        raise InputError(
                            f"{index}:{lineno}: path {rel!r} must be a file name in the bank folder"
                        )
                if entry.rir_id in seen:
                    raise InputError(f"{index}:{lineno}: duplicate rir_id {entry.rir_id!r}")
                seen.add(entry.rir_id)
                entries.append(entry)
        if not entries:
            raise InputError(f"{index}: no entries")
        return cls(root, entries)

    def get(self, rir_id: str, source: Source = "speech") -> np.ndarray:
        """The RIR ``(K, n)`` float32 (read-only, cached) for ``source`` "speech" or "noise"."""
        key = (rir_id, source)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        entry = self._by_id.get(rir_id)
        if entry is None:
            raise KeyError(f"no RIR {rir_id!r} in the bank at {self.root}")
        if source == "speech":
            rel = entry.path
        elif source == "noise":
            if entry.noise_path is None:
                raise InputError(f"{self.root / entry.path}: RIR {rir_id} has no noise-source RIR")
            rel = entry.noise_path
        else:
            raise ValueError(f"source must be 'speech' or 'noise', got {source!r}")
        rir = _read_rir(self.root / rel, entry.sample_rate)
        rir.flags.writeable = False
        self._cache[key] = rir
        return rir

    def choose(self, rng: np.random.Generator) -> RirEntry:
        """One entry, uniformly at random."""
        if not self.entries:
            raise InputError(f"{self.root}: the RIR bank is empty")
        return self.entries[int(rng.integers(len(self.entries)))]

    @classmethod
    def from_measured_folder(cls, directory: Path | str, sample_rate: int) -> RirBank:
        """A bank from a folder of measured RIRs (``.wav`` / ``.flac``, mono or multichannel).

        Every non-hidden file must be a readable, non-empty, finite, non-silent WAV or FLAC
        file (InputError naming the file otherwise). Files at another rate are resampled
        (soxr, on every load) and say so in ``resampled_from`` and a warning. Entries are
        labelled with the measured RT60, DRR and C50 (``rt60_target_s`` is None); ids are
        the file stems. Nothing is written to the folder.
        """
        root = Path(directory)
        if not root.is_dir():
            raise InputError(f"{root}: not a folder of measured RIRs")
        entries: list[RirEntry] = []
        arrays: dict[str, np.ndarray] = {}
        resampled: list[str] = []
        for path in sorted(p for p in root.iterdir() if not p.name.startswith(".")):
            if path.is_dir():
                continue
            if path.suffix.lower() not in AUDIO_SUFFIXES:
                raise InputError(
                    f"{path}: not a RIR file (only .wav and .flac are read); "
                    "move it out of the folder"
                )
            if path.stem in arrays:
                raise InputError(f"{path}: a RIR named {path.stem!r} is already in the folder")
            if path.suffix.lower() == ".wav":
                check_wav_complete(path)
            try:
                file_rate = sf.info(str(path)).samplerate
            except (RuntimeError, sf.LibsndfileError) as exc:
                raise InputError(f"{path}: not readable audio ({exc})") from None
            rir = _read_rir(path, sample_rate)
            try:
                entry = _entry(
                    path.stem,
                    rir,
                    sample_rate,
                    path.name,
                    resampled_from=file_rate if file_rate != sample_rate else None,
                )
            except ValueError as exc:
                raise InputError(f"{path}: cannot measure this RIR ({exc})") from None
            if file_rate != sample_rate:
                resampled.append(path.name)
            rir.flags.writeable = False
            arrays[path.stem] = rir
            entries.append(entry)
        if not entries:
            raise InputError(f"{root}: no .wav or .flac RIR files")
        if resampled:
            warnings.warn(
                f"{root}: resampled {len(resampled)} RIR file(s) to {sample_rate} Hz "
                f"(e.g. {resampled[0]})",
                stacklevel=2,
            )
        bank = cls(root, entries)
        for rir_id, rir in arrays.items():
            bank._cache[(rir_id, "speech")] = rir
        return bank


def _read_rir(path: Path, sample_rate: int) -> np.ndarray:
    """``(K, n)`` float32 at ``sample_rate``; InputError naming the file on bad content."""
    try:
        data, file_rate = sf.read(str(path), dtype="float64", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise InputError(f"{path}: not readable audio ({exc})") from None
    if data.shape[0] == 0:
        raise InputError(f"{path}: empty RIR (no samples)")
    if not np.all(np.isfinite(data)):
        raise InputError(f"{path}: RIR contains NaN or inf samples")
    if not np.any(data):
        raise InputError(f"{path}: RIR is all zeros")
    if file_rate != sample_rate:
        data = soxr.resample(data, file_rate, sample_rate, quality="HQ")
    return np.ascontiguousarray(data.T, dtype=np.float32)


# --------------------------------------------------------------------------- building


def _write_wav_atomic(path: Path, rir: np.ndarray, sample_rate: int) -> None:
    write_bytes_atomic(path, encode_audio(rir.T, sample_rate, "wav", "FLOAT"))


def _write_index(root: Path, entries: Iterable[RirEntry]) -> None:
    lines = [
        json.dumps(e.to_dict(), sort_keys=True) + "\n"
        for e in sorted(entries, key=lambda e: e.rir_id)
    ]
    write_text_atomic(root / INDEX_NAME, "".join(lines))


def _draw_room(
    cfg: RoomConfig, seed: int, index: int, first_attempt: int = 0
) -> tuple[RoomParams, int]:
    """The first room, from attempt ``first_attempt`` on, whose target RT60 it can reach.

    Attempt 0 draws from ``default_rng([seed, index])``, attempt ``a`` from
    ``default_rng([seed, index, a])``; returns the room and its attempt number.
    """
    for attempt in range(first_attempt, _MAX_REDRAWS):
        rng = np.random.default_rng([seed, index] if attempt == 0 else [seed, index, attempt])
        params = sample_room(cfg, rng)
        if is_reachable(params):
            return params, attempt
    raise ConfigError(
        f"room simulation: {_MAX_REDRAWS} rooms drawn for rir-{index:06d} could not reach "
        f"their RT60 target (within {RT60_TOLERANCE:.0%}); narrow rt60_s to longer times "
        "or dims_m to smaller rooms"
    )


def _render_entry(
    root: Path,
    rir_id: str,
    params: RoomParams,
    sample_rate: int,
    redraw: tuple[RoomConfig, int, int, int] | None = None,
) -> RirEntry:
    """Simulate and write one entry's two RIRs; returns its index entry.

    A speech RIR whose measured RT60 misses its target by more than ``RT60_TOLERANCE``
    never enters the bank: with ``redraw`` (cfg, seed, index, attempt) the next reachable
    room is drawn; without it, or after ``_MAX_REDRAWS`` rooms, an error is raised.
    """
    while True:
        path, noise_path = f"{rir_id}.wav", f"{rir_id}.noise.wav"
        try:  # the calibration cannot measure a decay that collapses to NaN
            with np.errstate(invalid="ignore", over="ignore"):
                speech = simulate_rir(params, sample_rate, "speech")
        except ValueError:
            speech = np.full((1, 1), np.nan, dtype=np.float32)
        miss = "has NaN or inf samples"
        if np.all(np.isfinite(speech)):
            try:  # a decay far too short leaves nothing to measure: another room
                with np.errstate(invalid="ignore", over="ignore"):
                    entry = _entry(rir_id, speech, sample_rate, path, noise_path, params)
                if reached(params.rt60_target_s, entry.rt60_s):
                    with np.errstate(invalid="ignore", over="ignore"):
                        noise = simulate_rir(params, sample_rate, "noise")
                    if np.all(np.isfinite(noise)):
                        break
                    miss = "has a noise RIR with NaN or inf samples"
                else:
                    miss = f"measures RT60 {entry.rt60_s:.4f} s"
            except ValueError as exc:
                miss = f"cannot be measured ({exc})"
        if redraw is None:
            raise SynthaudioError(
                f"{root / path}: the simulated RIR {miss} against its target "
                f"{params.rt60_target_s:.4f} s; not written"
            )
        cfg, seed, index, attempt = redraw
        params, attempt = _draw_room(cfg, seed, index, attempt + 1)
        redraw = (cfg, seed, index, attempt)
    _write_wav_atomic(root / path, speech, sample_rate)
    _write_wav_atomic(root / noise_path, noise, sample_rate)
    return entry


def _render_star(
    args: tuple[Path, str, RoomParams, int, tuple[RoomConfig, int, int, int] | None],
) -> RirEntry:
    return _render_entry(*args)


def _is_complete(root: Path, entry: RirEntry | None, params: RoomParams, sample_rate: int) -> bool:
    if entry is None or entry.room != params.to_dict() or entry.sample_rate != sample_rate:
        return False
    if entry.rt60_target_s is None or not reached(entry.rt60_target_s, entry.rt60_s):
        return False  # made before targets were checked: simulate it again
    for rel in (entry.path, entry.noise_path):
        if rel is None:
            return False
        try:
            info = sf.info(str(root / rel))
        except (RuntimeError, sf.LibsndfileError):
            return False
        if (
            info.samplerate != sample_rate
            or info.channels != entry.num_channels
            or info.frames == 0
        ):
            return False
    return True


def build_rir_bank(
    out_dir: Path, cfg: RoomConfig, count: int, sample_rate: int, seed: int, jobs: int = 1,
    progress: bool = False,
) -> RirBank:
    """Simulate ``count`` rooms into a bank folder; identical output for any ``jobs``.

    Entry ``i`` ("rir-%06d") draws its room from ``np.random.default_rng([seed, i])``; a
    room that cannot reach its drawn RT60 (Eyring with fully absorbent walls, see
    ``rt60_limits``), or whose simulated RIR measures more than 10 % off its target, is
    drawn again from ``default_rng([seed, i, attempt])``, so every entry's
    ``rt60_target_s`` is what its RIR holds. Ranges that no room can reach are refused
    (ConfigError) before anything is written.
    Entries already in the folder's index with the same room and sample rate, whose files
    are present, are kept as they are; the index is rewritten atomically every 100 new
    entries and at the end, so an interrupted run resumes where it stopped.

    Args:
        out_dir: bank folder (created).
        cfg: the room ranges.
        count: number of rooms (each gives a speech and a noise RIR).
        sample_rate: Hz.
        seed: bank seed.
        jobs: worker processes (1: in this process).
        progress: a progress bar on stderr (when it is a terminal).
    """
    if count < 1:
        raise ConfigError(f"build_rir_bank: count must be >= 1, got {count}")
    if not 8000 <= sample_rate <= 192000:
        raise ConfigError(f"build_rir_bank: sample_rate must be 8000..192000 Hz, got {sample_rate}")
    if jobs < 1:
        raise ConfigError(f"build_rir_bank: jobs must be >= 1, got {jobs}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"--seed must be an integer >= 0, got {seed!r}")
    check_reachable(cfg)
    root = Path(out_dir)
    # every room is drawn before the folder is made: a range refused while drawing (no
    # room reaches it in 20 draws) leaves no empty folder behind
    if (root / INDEX_NAME).exists():  # never replace an index synthaudio did not write
        try:
            RirBank.load(root)
        except InputError as exc:
            raise InputError(f"{exc}; {root / INDEX_NAME} is not the index of a RIR bank "
                             "synthaudio wrote and is kept: give a new folder") from None
    drawn = [_draw_room(cfg, seed, i) for i in range(count)]
    created = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    try:
        return _build(root, cfg, count, sample_rate, seed, jobs, progress, drawn)
    except BaseException:
        if created:  # a refused range (no room reaches it) leaves no empty folder
            with contextlib.suppress(OSError):
                for temp in root.iterdir():
                    if is_temp_name(temp.name):
                        temp.unlink()
                root.rmdir()
        raise


def _build(root: Path, cfg: RoomConfig, count: int, sample_rate: int, seed: int, jobs: int,
           progress: bool, drawn: list[tuple[RoomParams, int]]) -> RirBank:
    """The bank's rooms rendered into ``root`` (made), resuming what is complete."""
    previous: dict[str, RirEntry] = {}
    if (root / INDEX_NAME).is_file():
        previous = {e.rir_id: e for e in RirBank.load(root).entries}  # checked above

    done: dict[str, RirEntry] = {}
    todo: list[tuple[Path, str, RoomParams, int, tuple[RoomConfig, int, int, int] | None]] = []
    for i in range(count):
        rir_id = f"rir-{i:06d}"
        params, attempt = drawn[i]
        old = previous.get(rir_id)
        if old is not None and _is_complete(root, old, params, sample_rate):
            done[rir_id] = old
        else:
            todo.append((root, rir_id, params, sample_rate, (cfg, seed, i, attempt)))

    bar = progress_bar(len(todo), "rirs", unit="room", progress=progress)

    def collect(results: Iterable[RirEntry]) -> None:
        for n_new, entry in enumerate(results, start=1):
            done[entry.rir_id] = entry
            bar.update(1)
            if n_new % _INDEX_FLUSH_EVERY == 0:
                _write_index(root, done.values())

    with bar:
        if jobs == 1 or len(todo) <= 1:
            collect(_render_star(t) for t in todo)
        else:
            with worker_pool(min(fit_jobs(jobs)[0], len(todo))) as pool:  # stops on Ctrl-C, error
                chunk = max(1, min(16, len(todo) // (4 * jobs)))
                collect(pool.map(_render_star, todo, chunksize=chunk))
    _write_index(root, done.values())
    return RirBank(root, done.values())


# --------------------------------------------------------------------------- applying


def apply_reverb(audio: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """Convolve mono audio with a K-channel RIR: ``y[k] = audio * rir[k]``.

    Args:
        audio: ``(n,)`` float.
        rir: ``(K, m)`` float.

    Returns:
        float32 ``(K, n + m - 1)``; the direct path keeps the RIR's propagation delay.
    """
    x = np.asarray(audio)
    h = np.asarray(rir)
    if x.ndim != 1 or h.ndim != 2 or x.size == 0 or h.shape[1] == 0:
        raise ValueError(
            f"apply_reverb wants audio (n,) and rir (K, m), got {x.shape} and {h.shape}"
        )
    check_audio(x, mono=True)
    check_audio(h, "rir")
    out = scipy.signal.oaconvolve(x.astype(np.float32)[None, :], h.astype(np.float32), axes=-1)
    return np.asarray(out, dtype=np.float32)

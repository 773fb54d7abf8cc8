"""Check a corpus folder: metadata, audio, and every export that is present.

``validate_corpus(OUT)`` returns a list of :class:`Problem` (``path:line:
message``), empty for a clean corpus. It checks:

- ``metadata.jsonl``: valid lines, sorted unique ids, usable transcripts,
  audio present and readable with ``duration_s``/rate/channels matching it,
  word timings inside the audio, no speaker in two splits, every referenced
  RIR (``augment.room.rir_id`` -> ``rirs/<id>.wav``) and stem file present;
- Kaldi directories (the checks of ``validate_data_dir.sh --no-feats``),
  NeMo, lhotse, Hugging Face, CTM and WebDataset exports: the same utterance
  ids as the metadata for their split, durations within 10 ms of the audio,
  transcripts and audio paths matching the metadata.

(Over 400 lines on purpose: one short checker per export, side by side, so a new export's
checker is written next to the others; Kaldi tables are parsed by :mod:`synthaudio.io.kaldi`.)
"""

from __future__ import annotations

import gzip
import json
import math
import os
import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from synthaudio.errors import InputError
from synthaudio.io.kaldi import iter_table
from synthaudio.io.metadata import (
    SPLITS,
    is_safe_relpath,
    iter_metadata,
    metadata_path,
    parse_record,
    read_json_lines,
    text_problem,
)
from synthaudio.manifests.audio_info import probe
from synthaudio.manifests.ctm import ctm_path
from synthaudio.manifests.hf import hf_metadata_path
from synthaudio.manifests.kaldi import DATA_DIR, validate_kaldi_dir
from synthaudio.manifests.lhotse_export import KINDS, lhotse_manifest_path
from synthaudio.manifests.nemo import nemo_manifest_path
from synthaudio.manifests.problem import Problem, format_problems
from synthaudio.manifests.webdataset_export import SHARDS_DIR
from synthaudio.registry import resolve
from synthaudio.run.pipelines import pipeline_of, validator_for

__all__ = ["DURATION_TOLERANCE_S", "Problem", "format_problems", "validate_corpus"]

DURATION_TOLERANCE_S = 0.010  # largest accepted gap between a stated duration and the audio
_SOX_RE = re.compile(r"sox (\S+) -t wav - remix 1 \|\Z")


class _Problems(list[Problem]):
    def add(self, path: Path, line: int | None, message: str) -> None:
        self.append(Problem(path, line, message))


@dataclass
class _Utt:
    """What the export checks need to know about one metadata utterance."""

    split: str
    speaker: str
    text: str
    audio: str  # normalized absolute path
    duration_s: float  # measured from the audio when readable, else metadata's
    num_samples: int | None = None  # None when the audio is unreadable


class _Corpus:
    """The utterances of metadata.jsonl, indexed for the export checks."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.root = os.path.abspath(out_dir)
        self.utts: dict[str, _Utt] = {}
        self.by_split: dict[str, list[str]] = {s: [] for s in SPLITS}
        self._by_audio: dict[str, str] | None = None
        self._by_real: dict[str, str] | None = None

    def abspath(self, rel: str, base: str | None = None) -> str:
        return os.path.normpath(os.path.join(base or self.root, rel))

    def find_audio(self, path: str) -> str | None:
        """The id of the utterance whose audio is at absolute ``path`` (symlinks resolved)."""
        if self._by_audio is None:
            self._by_audio = {u.audio: uid for uid, u in self.utts.items()}
        uid = self._by_audio.get(path)
        if uid is None:
            if self._by_real is None:
                self._by_real = {os.path.realpath(a): u for a, u in self._by_audio.items()}
            uid = self._by_real.get(os.path.realpath(path))
        return uid

    def lookup(
        self, path: Path, line: int, uid: Any, split: str, problems: _Problems
    ) -> _Utt | None:
        """The utterance ``uid`` of ``split``, or None after reporting why not."""
        utt = self.utts.get(uid) if isinstance(uid, str) else None
        if utt is None:
            problems.add(path, line, f"{uid!r} is not an utterance in metadata.jsonl")
        elif utt.split != split:
            problems.add(path, line, f"{uid} belongs to split {utt.split}, not {split}")
            utt = None
        return utt

    def check_coverage(self, path: Path, split: str, seen: set[str], problems: _Problems) -> None:
        missing = [u for u in self.by_split[split] if u not in seen]
        if missing:
            more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
            problems.add(path, None, f"missing utterance {missing[0]}{more} of split {split}")


def _lines(path: Path, problems: _Problems) -> Iterator[tuple[int, str]]:
    """Yield (line number, text) of a UTF-8 text file, gunzipped when it ends in ``.gz``."""
    try:
        f: IO[str] = (
            gzip.open(path, "rt", encoding="utf-8", newline="")
            if path.suffix == ".gz"
            else open(path, encoding="utf-8", newline="")
        )
        with f:
            for i, line in enumerate(f, start=1):
                yield i, line.rstrip("\n")
    except (OSError, UnicodeDecodeError, EOFError) as e:
        problems.add(path, None, f"unreadable: {e}")


def _json_lines(path: Path, problems: _Problems) -> Iterator[tuple[int, dict[str, Any]]]:
    for i, line in _lines(path, problems):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            problems.add(path, i, f"invalid JSON ({e.msg})")
            continue
        if isinstance(obj, dict):
            yield i, obj
        else:
            problems.add(path, i, "not a JSON object")


def _number(value: Any) -> float | None:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _check_duration(
    path: Path, line: int, uid: str, stated: Any, utt: _Utt, problems: _Problems
) -> None:
    value = _number(stated)
    if value is None:
        problems.add(path, line, f"{uid}: duration {stated!r} is not a number")
    elif abs(value - utt.duration_s) > DURATION_TOLERANCE_S:
        problems.add(
            path, line, f"{uid}: duration {value:g} s differs from the audio ({utt.duration_s:g} s)"
        )


# --- metadata.jsonl ---------------------------------------------------------------------


def _augment_files(augment: Any) -> Iterator[tuple[str, str]]:
    """(kind, path relative to OUT) of every file an ``augment`` record references."""
    if not isinstance(augment, dict):
        return
    room = augment.get("room")
    if isinstance(room, dict) and room.get("rir_id") is not None:
        yield "RIR", f"rirs/{room['rir_id']}.wav"
    stack: list[Any] = [augment.get("stems")]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item[k] for k in sorted(item, reverse=True))
        elif isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, str):
            yield "stem", item


def _check_metadata(corpus: _Corpus, problems: _Problems) -> bool:
    path = metadata_path(corpus.out_dir)
    if not path.is_file():
        problems.add(path, None, "not found")
        return False
    prev = ""
    speaker_split: dict[str, tuple[str, int]] = {}
    leaks: set[tuple[str, str]] = set()
    for line, obj in _json_lines(path, problems):
        try:
            rec = parse_record(obj, line)
        except ValueError as e:
            problems.add(path, line, str(e))
            continue
        why = text_problem(rec.text)
        if why:
            problems.add(path, line, f"{rec.id}: {why}")
        if rec.id <= prev:
            what = "duplicate id" if rec.id == prev else "ids not sorted"
            problems.add(path, line, f"{what}: {rec.id!r} after {prev!r}")
        prev = max(prev, rec.id)
        if rec.id in corpus.utts:
            continue
        own = pipeline_of(rec.extra)  # a session's speakers are its talkers
        talkers = (resolve(own.speakers_of)(rec.extra) if own is not None
                   and own.speakers_of is not None else None)
        speakers = [rec.speaker] if talkers is None else talkers
        for speaker in speakers:
            first_split, first_line = speaker_split.setdefault(speaker, (rec.split, line))
            if first_split != rec.split and (speaker, rec.split) not in leaks:
                leaks.add((speaker, rec.split))
                problems.add(
                    path,
                    line,
                    f"speaker {speaker} is in split {rec.split} and in split {first_split} "
                    f"(line {first_line})",
                )
        utt = _Utt(rec.split, rec.speaker, rec.text, corpus.abspath(rec.audio), rec.duration_s)
        try:
            info = probe(Path(utt.audio))
        except OSError as e:
            problems.add(path, line, f"{rec.id}: {rec.audio}: {e}")
        else:
            utt.num_samples, utt.duration_s = info.num_samples, info.duration_s
            if abs(rec.duration_s - info.duration_s) > DURATION_TOLERANCE_S:
                problems.add(
                    path,
                    line,
                    f"{rec.id}: duration_s {rec.duration_s:g} differs from the audio "
                    f"({info.duration_s:g} s)",
                )
            if (info.sample_rate, info.num_channels) != (rec.sample_rate, rec.num_channels):
                problems.add(
                    path,
                    line,
                    f"{rec.id}: audio is {info.sample_rate} Hz x {info.num_channels} ch, "
                    f"metadata says {rec.sample_rate} Hz x {rec.num_channels} ch",
                )
        for word, start, dur in rec.words or ():
            if start + dur > utt.duration_s + DURATION_TOLERANCE_S:
                problems.add(path, line, f"{rec.id}: word {word!r} ends after the audio")
                break
        for kind, rel in _augment_files(rec.augment):
            if not is_safe_relpath(rel):
                problems.add(
                    path, line, f"{rec.id}: {kind} path {rel!r} is not a safe relative path"
                )
            elif not (corpus.out_dir / rel).is_file():
                problems.add(path, line, f"{rec.id}: {kind} file {rel} not found")
        corpus.utts[rec.id] = utt
        corpus.by_split[rec.split].append(rec.id)
    return True


# --- exports ----------------------------------------------------------------------------


def _kaldi_rows(path: Path, problems: _Problems) -> Iterator[tuple[int, list[str]]]:
    """(line, fields) of a table (the one Kaldi parser; its own problems are reported by
    :func:`validate_kaldi_dir`)."""
    if path.is_file():
        try:
            data = path.read_bytes()
        except OSError as e:
            problems.add(path, None, f"unreadable: {e}")
            return
        for entry in iter_table(data):
            if entry.fields is not None:
                yield entry.line, entry.fields


def _check_kaldi(corpus: _Corpus, problems: _Problems) -> None:
    for split in SPLITS:
        folder = corpus.out_dir / DATA_DIR / split
        if not folder.is_dir():
            continue
        problems.extend(validate_kaldi_dir(folder))
        if not corpus.by_split[split]:
            problems.add(folder, None, f"metadata.jsonl has no utterances of split {split}")
            continue
        utt2spk = folder / "utt2spk"
        seen: set[str] = set()
        for i, f in _kaldi_rows(utt2spk, problems):
            seen.add(f[0])
            utt = corpus.lookup(utt2spk, i, f[0], split, problems)
            if utt and f[1:] != [utt.speaker]:
                problems.add(utt2spk, i, f"{f[0]}: speaker differs from metadata.jsonl")
        if utt2spk.is_file():
            corpus.check_coverage(utt2spk, split, seen, problems)
        for i, f in _kaldi_rows(folder / "text", problems):
            utt = corpus.utts.get(f[0])
            if utt and utt.text and " ".join(f[1:]) != utt.text:
                problems.add(folder / "text", i, f"{f[0]}: transcript differs from metadata.jsonl")
        for name in ("utt2dur", "reco2dur"):
            for i, f in _kaldi_rows(folder / name, problems):
                utt = corpus.utts.get(f[0])
                if utt and len(f) == 2:
                    _check_duration(folder / name, i, f[0], f[1], utt, problems)
        for i, f in _kaldi_rows(folder / "wav.scp", problems):
            entry = " ".join(f[1:])
            m = _SOX_RE.match(entry)
            target = m.group(1) if m else (None if entry.endswith("|") else entry)
            if f[0] in corpus.utts and target is not None:
                if corpus.find_audio(corpus.abspath(target)) != f[0]:
                    problems.add(
                        folder / "wav.scp",
                        i,
                        f"{f[0]}: {target} is not the utterance's audio "
                        f"(relative paths are taken from {corpus.out_dir})",
                    )


def _manifest_entries(
    corpus: _Corpus, path: Path, split: str, problems: _Problems, key: str = "id"
) -> Iterator[tuple[int, str, dict[str, Any], _Utt]]:
    """(line, id, object, utterance) of each line of a JSON-lines manifest of ``split``
    whose ``key`` names one of its utterances (``key="audio_filepath"``: whose audio path
    does); the others are reported. Last, reports the utterances no line named."""
    base = os.path.abspath(path.parent)
    seen: set[str] = set()
    for i, obj in _json_lines(path, problems):
        uid: Any = obj.get(key)
        if key != "id":
            uid = corpus.find_audio(corpus.abspath(uid, base)) if isinstance(uid, str) else None
            if uid is None:
                problems.add(path, i, f"{key} {obj.get(key)!r} is not an utterance's audio")
                continue
        utt = corpus.lookup(path, i, uid, split, problems)
        if utt is None or not isinstance(uid, str):
            continue
        seen.add(uid)
        _check_duration(path, i, uid, obj.get("duration"), utt, problems)
        yield i, uid, obj, utt
    corpus.check_coverage(path, split, seen, problems)


def _check_text(path: Path, line: int, uid: str, text: Any, utt: _Utt,
                problems: _Problems) -> None:
    if text != utt.text:
        problems.add(path, line, f"{uid}: text differs from metadata.jsonl")


def _check_nemo(corpus: _Corpus, problems: _Problems) -> None:
    for split in SPLITS:
        path = nemo_manifest_path(corpus.out_dir, split)
        if path.is_file():
            for i, uid, obj, utt in _manifest_entries(corpus, path, split, problems,
                                                      key="audio_filepath"):
                _check_text(path, i, uid, obj.get("text"), utt, problems)


def _lhotse_source(recording: Any) -> Any:
    sources = recording.get("sources") if isinstance(recording, dict) else None
    first = sources[0] if isinstance(sources, list) and sources else None
    return first.get("source") if isinstance(first, dict) else None


def _old_root(corpus: _Corpus, uid: str, source: Any) -> str | None:
    """The folder the corpus was in when ``source`` (absolute) was written, when it names
    the utterance's audio at its place relative to that folder; else None."""
    utt = corpus.utts.get(uid)
    if utt is None or not isinstance(source, str) or not os.path.isabs(source):
        return None
    rel = os.path.relpath(utt.audio, corpus.root)
    norm = os.path.normpath(source)
    if rel.startswith("..") or not norm.endswith(os.sep + rel):
        return None
    old = norm[: -len(rel) - 1] or os.sep
    return old if old != corpus.root else None


def _moved_from(corpus: _Corpus) -> str | None:
    """Where the corpus was when its Lhotse manifests were written, when every source that
    is not the utterance's audio names it under one other folder (the corpus was moved or
    copied); else None."""
    olds: set[str | None] = set()
    for split in SPLITS:
        for kind in ("recordings", "cuts"):
            path = lhotse_manifest_path(corpus.out_dir, kind, split)
            if not path.is_file():
                continue
            for _, obj in _json_lines(path, _Problems()):
                recording = obj if kind == "recordings" else obj.get("recording")
                uid, source = obj.get("id"), _lhotse_source(recording)
                if not isinstance(uid, str) or not isinstance(source, str):
                    continue
                if corpus.find_audio(corpus.abspath(source)) != uid:
                    olds.add(_old_root(corpus, uid, source))
    return olds.pop() if len(olds) == 1 and None not in olds else None


def _check_lhotse_recording(
    path: Path, line: int, uid: str, recording: Any, corpus: _Corpus, problems: _Problems,
    moved_from: str | None = None,
) -> None:
    source = _lhotse_source(recording)
    if not isinstance(source, str) or corpus.find_audio(corpus.abspath(source)) != uid:
        if moved_from is None or _old_root(corpus, uid, source) != moved_from:
            problems.add(path, line, f"{uid}: source {source!r} is not the utterance's audio")
    expected = corpus.utts[uid].num_samples
    if isinstance(recording, dict) and expected is not None:
        if recording.get("num_samples") != expected:
            problems.add(path, line, f"{uid}: num_samples differs from the audio ({expected})")


def _check_lhotse(corpus: _Corpus, problems: _Problems) -> None:
    moved_from = _moved_from(corpus)
    if moved_from is not None:  # one line, not one per utterance
        problems.add(lhotse_manifest_path(corpus.out_dir, "cuts", "train").parent, None,
                     f"the corpus was moved from {moved_from}: its Lhotse manifests hold "
                     "absolute audio paths there; rewrite them with "
                     f"`synthaudio export {corpus.out_dir} --format lhotse`")
    for split in SPLITS:
        for kind in KINDS:
            path = lhotse_manifest_path(corpus.out_dir, kind, split)
            if not path.is_file():
                continue
            for i, uid, obj, utt in _manifest_entries(corpus, path, split, problems):
                if kind == "recordings":
                    _check_lhotse_recording(path, i, uid, obj, corpus, problems, moved_from)
                elif kind == "cuts":
                    _check_lhotse_recording(path, i, uid, obj.get("recording"), corpus,
                                            problems, moved_from)
                else:
                    _check_text(path, i, uid, obj.get("text"), utt, problems)


def _check_hf(corpus: _Corpus, problems: _Problems) -> None:
    for split in SPLITS:
        path = hf_metadata_path(corpus.out_dir, split)
        if not path.is_file():
            continue
        base = os.path.abspath(path.parent)
        for i, uid, obj, utt in _manifest_entries(corpus, path, split, problems):
            name = obj.get("file_name")
            if not isinstance(name, str) or corpus.find_audio(corpus.abspath(name, base)) != uid:
                problems.add(path, i, f"{uid}: file_name {name!r} is not the utterance's audio")
            _check_text(path, i, uid, obj.get("text"), utt, problems)


def _check_ctm(corpus: _Corpus, problems: _Problems) -> None:
    for split in SPLITS:
        path = ctm_path(corpus.out_dir, split)
        if not path.is_file():
            continue
        prev: tuple[bytes, str, float] | None = None
        unknown: set[str] = set()  # report a bad utterance id once, not once per word
        for i, line in _lines(path, problems):
            f = line.split()
            start = _number(f[2]) if len(f) in (5, 6) else None
            dur = _number(f[3]) if len(f) in (5, 6) else None
            if start is None or dur is None or start < 0 or dur < 0:
                problems.add(path, i, "expected '<utt> <channel> <start_s> <dur_s> <word>'")
                continue
            utt = None if f[0] in unknown else corpus.lookup(path, i, f[0], split, problems)
            if utt is None:
                unknown.add(f[0])
            elif start + dur > utt.duration_s + DURATION_TOLERANCE_S:
                problems.add(path, i, f"{f[0]}: word {f[4]!r} ends after the audio")
            key = (f[0].encode(), f[1], start)
            if prev is not None and key < prev:
                problems.add(path, i, "not sorted by utterance, channel and start time")
            prev = key


def _check_shards(corpus: _Corpus, problems: _Problems) -> None:
    for split in SPLITS:
        folder = corpus.out_dir / SHARDS_DIR / split
        if not folder.is_dir():
            continue
        members: dict[str, set[str]] = {}
        for shard in sorted(folder.glob("shard-*.tar")):
            try:
                with tarfile.open(shard) as tar:
                    names = tar.getnames()
            except (OSError, tarfile.TarError) as e:
                problems.add(shard, None, f"unreadable tar: {e}")
                continue
            for name in names:
                key, _, ext = name.partition(".")
                if ext in members.get(key, ()):
                    problems.add(shard, None, f"duplicate member {name}")
                members.setdefault(key, set()).add(ext)
        for key in sorted(members):
            utt = corpus.utts.get(key)
            if utt is None or utt.split != split:
                problems.add(folder, None, f"sample {key!r} is not an utterance of split {split}")
            elif members[key] != {"flac", "json"}:
                problems.add(
                    folder, None, f"sample {key} has {sorted(members[key])}, not flac+json"
                )
        corpus.check_coverage(folder, split, set(members), problems)


def validate_corpus(out_dir: Path) -> list[Problem]:
    """Every problem found in the corpus at ``out_dir``, in a stable order (empty when clean).

    Raises:
        InputError: ``out_dir`` is not a folder (nothing to validate: a usage error).
    """
    if not Path(out_dir).is_dir():
        what = "is not a folder" if Path(out_dir).exists() else "no such folder"
        raise InputError(f"{out_dir}: {what} (expected a corpus folder made by synthaudio)")
    corpus = _Corpus(Path(out_dir))
    problems = _Problems()
    if _check_metadata(corpus, problems):
        first = next(read_json_lines(metadata_path(Path(out_dir))), (0, None))[1]
        found = validator_for(first) if isinstance(first, dict) else None
        if found is not None:  # a pipeline's own corpus (sessions): its validator
            try:
                problems.extend(found[1](Path(out_dir), iter_metadata(Path(out_dir))))
            except InputError as exc:  # a line _check_metadata has named already
                problems.add(metadata_path(Path(out_dir)), None, str(exc))
            return list(problems)
        _check_kaldi(corpus, problems)
        _check_nemo(corpus, problems)
        _check_lhotse(corpus, problems)
        _check_hf(corpus, problems)
        _check_ctm(corpus, problems)
        _check_shards(corpus, problems)
    return list(problems)

"""Kaldi data directories ``OUT/data/{train,dev,test}/`` and a Python port of their validator.

Files per split: ``wav.scp``, ``text``, ``utt2spk``, ``spk2utt``, ``utt2dur``,
``reco2dur`` (keyed by utterance id: there is no ``segments`` file, one
recording per utterance), ``utt2lang`` (when every utterance has a language)
and ``spk2gender`` (when every speaker is ``m`` or ``f``). Lines are sorted
by the UTF-8 bytes of the key (``LC_ALL=C``), fields are separated by single
spaces and every line ends in ``\\n``.

Paths in ``wav.scp``: by default relative to ``OUT`` (``audio/train/...``).
Kaldi opens them relative to the current directory, so run Kaldi/ESPnet
scripts from ``OUT`` (or symlink ``OUT/data`` and ``OUT/audio`` into the
recipe folder). With ``absolute_paths=True`` they are absolute and work from
anywhere; such files then depend on where ``OUT`` is.

Multichannel audio: Kaldi wants mono, so for ``num_channels > 1`` the entry is
the pipe ``sox <path> -t wav - remix 1 |``, which feeds Kaldi the first
channel (the reference microphone). The command is only ever built from our
own checked paths (``[A-Za-z0-9_./+-]``), never from transcript or other user
text; ``sox`` must be installed where Kaldi runs (Kaldi's own tools require it).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from synthaudio.errors import InputError
from synthaudio.io.fileio import AtomicTextFile
from synthaudio.io.kaldi import iter_table
from synthaudio.io.metadata import GENDERS, SPLITS, MetadataRecord, text_problem
from synthaudio.manifests.problem import Problem

DATA_DIR = "data"
CORE_FILES = ("wav.scp", "text", "utt2spk", "spk2utt", "utt2dur", "reco2dur")
OPTIONAL_FILES = ("utt2lang", "spk2gender")
ALL_FILES = CORE_FILES + OPTIONAL_FILES
_PIPE_SAFE_RE = re.compile(r"[A-Za-z0-9_./+-]+\Z")


def format_seconds(value: float) -> str:
    """Seconds with 4 decimals, trailing zeros trimmed: ``2.5``, ``0.0625``, ``3``."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return text or "0"


def audio_path_for(rec: MetadataRecord, out_dir: Path, absolute_paths: bool) -> str:
    """``rec.audio`` as written in an export: relative to OUT, or absolute."""
    if not absolute_paths:
        return rec.audio
    return os.path.join(os.path.abspath(out_dir), *rec.audio.split("/"))


def wav_scp_entry(rec: MetadataRecord, out_dir: Path, absolute_paths: bool) -> str:
    """The rxfilename for ``rec``: the file, or a ``sox`` pipe taking channel 1."""
    path = audio_path_for(rec, out_dir, absolute_paths)
    if rec.num_channels == 1:
        if any(ch.isspace() for ch in path):
            raise InputError(f"{out_dir}: Kaldi wav.scp paths cannot contain whitespace: {path!r}")
        return path
    if not _PIPE_SAFE_RE.match(path):
        raise InputError(
            f"{out_dir}: refusing to put path {path!r} in a wav.scp command; "
            "use an output folder whose path is [A-Za-z0-9_./+-]"
        )
    return f"sox {path} -t wav - remix 1 |"


@dataclass
class _SplitWriter:
    """Open temporary files for one split plus the state needed to finish it."""

    files: dict[str, AtomicTextFile]
    genders: dict[str, str | None] = field(default_factory=dict)
    all_have_lang: bool = True
    current_speaker: str | None = None
    current_utts: list[str] = field(default_factory=list)
    count: int = 0

    def flush_speaker(self) -> None:
        if self.current_speaker is not None:
            self.files["spk2utt"].write_line(" ".join([self.current_speaker, *self.current_utts]))
        self.current_speaker, self.current_utts = None, []


def write_kaldi_dirs(
    out_dir: Path, records: Iterable[MetadataRecord], absolute_paths: bool = False
) -> dict[str, int]:
    """Write ``OUT/data/<split>/`` for every split present; return utterances per split.

    ``records`` must be sorted by id (as :func:`iter_metadata` guarantees).
    Kaldi files of splits with no utterances are removed, so re-exporting is
    idempotent.
    """
    out_dir = Path(out_dir)
    writers: dict[str, _SplitWriter] = {}
    with ExitStack() as stack:
        for rec in records:
            w = writers.get(rec.split)
            if w is None:
                folder = out_dir / DATA_DIR / rec.split
                files = {
                    name: stack.enter_context(AtomicTextFile(folder / name)) for name in ALL_FILES
                }
                w = writers[rec.split] = _SplitWriter(files=files)
            where = f"{out_dir / 'metadata.jsonl'}:{rec.line}"
            if rec.speaker in w.genders and rec.speaker != w.current_speaker:
                raise InputError(f"{where}: utterances of speaker {rec.speaker} are not contiguous")
            if rec.speaker != w.current_speaker:
                w.flush_speaker()
                w.current_speaker = rec.speaker
                w.genders[rec.speaker] = rec.gender
            elif w.genders[rec.speaker] != rec.gender:
                raise InputError(f"{where}: speaker {rec.speaker} has more than one gender")
            w.current_utts.append(rec.id)
            duration = format_seconds(rec.duration_s)
            f = w.files
            f["wav.scp"].write_line(f"{rec.id} {wav_scp_entry(rec, out_dir, absolute_paths)}")
            f["text"].write_line(f"{rec.id} {rec.text}")
            f["utt2spk"].write_line(f"{rec.id} {rec.speaker}")
            f["utt2dur"].write_line(f"{rec.id} {duration}")
            f["reco2dur"].write_line(f"{rec.id} {duration}")
            if rec.lang is None:
                w.all_have_lang = False
            else:
                f["utt2lang"].write_line(f"{rec.id} {rec.lang}")
            w.count += 1
        for w in writers.values():
            w.flush_speaker()
            if all(g in GENDERS for g in w.genders.values()):
                for spk in sorted(w.genders, key=str.encode):
                    w.files["spk2gender"].write_line(f"{spk} {w.genders[spk]}")
            else:
                w.files["spk2gender"].discard()
                (w.files["spk2gender"].path).unlink(missing_ok=True)
            if not w.all_have_lang:
                w.files["utt2lang"].discard()
                (w.files["utt2lang"].path).unlink(missing_ok=True)
    for split in SPLITS:
        if split not in writers:
            _remove_kaldi_dir(out_dir / DATA_DIR / split)
    return {split: w.count for split, w in writers.items()}


def _remove_kaldi_dir(folder: Path) -> None:
    for name in ALL_FILES:
        (folder / name).unlink(missing_ok=True)
    try:
        folder.rmdir()
    except OSError:
        pass  # missing, or holds files that are not ours


def utt2spk_to_spk2utt(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    """What Kaldi's ``utils/utt2spk_to_spk2utt.pl`` prints: speakers in first-seen order."""
    spk2utt: dict[str, list[str]] = {}
    for utt, spk in pairs:
        spk2utt.setdefault(spk, []).append(utt)
    return list(spk2utt.items())


# ---------------------------------------------------------------------------
# Validator: the checks of utils/validate_data_dir.sh --no-feats, plus
# "no empty transcript" and "single spaces", reported with file and line.


@dataclass
class _Table:
    path: Path
    rows: list[tuple[int, list[str]]]  # (line number, whitespace-split fields)

    @property
    def keys(self) -> list[str]:
        return [fields[0] for _, fields in self.rows]


def _read_table(path: Path, problems: list[Problem]) -> _Table | None:
    """The rows of ``path`` (None when missing), its problems added to ``problems``."""
    if not path.is_file():
        return None
    rows: list[tuple[int, list[str]]] = []
    for entry in iter_table(path.read_bytes()):
        problems.extend(Problem(path, entry.line, p) for p in entry.problems)
        if entry.fields is not None:
            rows.append((entry.line, entry.fields))
    return _Table(path, rows)


def _check_sorted_unique(table: _Table, problems: list[Problem]) -> None:
    prev: bytes | None = None
    for line_no, fields in table.rows:
        key = fields[0].encode("utf-8")
        if prev is not None and key <= prev:
            what = "duplicate key" if key == prev else "not sorted (LC_ALL=C order of column 1)"
            problems.append(Problem(table.path, line_no, f"{what}: {fields[0]}"))
        prev = key


def _check_same_keys(table: _Table, reference: _Table, problems: list[Problem]) -> None:
    ref = set(reference.keys)
    keys = set(table.keys)
    for line_no, fields in table.rows:
        if fields[0] not in ref:
            problems.append(
                Problem(table.path, line_no, f"{fields[0]} is not in {reference.path.name}")
            )
    missing = [k for k in reference.keys if k not in keys]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        problems.append(
            Problem(table.path, None, f"missing {missing[0]}{more} listed in {reference.path.name}")
        )


def _check_positive_number(table: _Table, problems: list[Problem]) -> None:
    for line_no, fields in table.rows:
        ok = len(fields) == 2
        if ok:
            try:
                value = float(fields[1])
                ok = math.isfinite(value) and value > 0
            except ValueError:
                ok = False
        if not ok:
            problems.append(Problem(table.path, line_no, "expected '<key> <positive seconds>'"))


def validate_kaldi_dir(data_dir: Path) -> list[Problem]:
    """Check one Kaldi data directory the way ``validate_data_dir.sh --no-feats`` does.

    Also rejects empty transcripts and separators other than one space, which
    Kaldi's script lets through but ESPnet and lhotse choke on.
    """
    data_dir = Path(data_dir)
    problems: list[Problem] = []
    tables: dict[str, _Table] = {}
    for name in ALL_FILES:
        t = _read_table(data_dir / name, problems)
        if t is not None:
            tables[name] = t
    for name in ("utt2spk", "spk2utt", "text", "wav.scp"):
        if name not in tables:
            problems.append(Problem(data_dir / name, None, "missing"))
        elif not tables[name].rows:
            problems.append(Problem(data_dir / name, None, "empty"))
    if "utt2spk" not in tables:
        return problems
    utt2spk = tables["utt2spk"]
    for t in tables.values():
        _check_sorted_unique(t, problems)

    prev: tuple[bytes, bytes] | None = None
    for line_no, fields in utt2spk.rows:
        if len(fields) != 2:
            problems.append(Problem(utt2spk.path, line_no, "expected '<utt> <speaker>'"))
            continue
        cur = (fields[1].encode(), " ".join(fields).encode())
        if prev is not None and cur < prev:
            problems.append(
                Problem(
                    utt2spk.path,
                    line_no,
                    "not sorted by speaker (make speaker ids prefixes of utterance ids)",
                )
            )
        prev = cur

    if "spk2utt" in tables:
        spk2utt = tables["spk2utt"]
        pairs = [(f[0], f[1]) for _, f in utt2spk.rows if len(f) == 2]
        expected = [" ".join([spk, *utts]) for spk, utts in utt2spk_to_spk2utt(pairs)]
        actual = [" ".join(f) for _, f in spk2utt.rows]
        for i, (exp, act) in enumerate(zip(expected, actual, strict=False)):
            if exp != act:
                problems.append(
                    Problem(
                        spk2utt.path, spk2utt.rows[i][0], "does not match utt2spk_to_spk2utt.pl"
                    )
                )
                break
        else:
            if len(expected) != len(actual):
                problems.append(
                    Problem(
                        spk2utt.path, None, f"{len(actual)} speakers, utt2spk has {len(expected)}"
                    )
                )

    if "text" in tables:
        text = tables["text"]
        for line_no, fields in text.rows:
            why = text_problem(" ".join(fields[1:]))
            if why:
                problems.append(Problem(text.path, line_no, f"{fields[0]}: {why}"))
        _check_same_keys(text, utt2spk, problems)

    if "wav.scp" in tables:
        wav = tables["wav.scp"]
        for line_no, fields in wav.rows:
            if len(fields) < 2:
                problems.append(Problem(wav.path, line_no, "expected '<utt> <path or command |>'"))
            elif fields[1].startswith("~"):
                problems.append(Problem(wav.path, line_no, "do not use ~ in wav.scp"))
        _check_same_keys(wav, utt2spk, problems)

    for name in ("utt2lang", "utt2dur", "reco2dur"):
        if name in tables:
            _check_same_keys(tables[name], utt2spk, problems)
    for name in ("utt2dur", "reco2dur"):
        if name in tables:
            _check_positive_number(tables[name], problems)

    if "spk2gender" in tables and "spk2utt" in tables:
        s2g = tables["spk2gender"]
        for line_no, fields in s2g.rows:
            if len(fields) != 2 or fields[1] not in GENDERS:
                problems.append(
                    Problem(s2g.path, line_no, "expected '<speaker> m' or '<speaker> f'")
                )
        _check_same_keys(s2g, tables["spk2utt"], problems)
    return problems


def kaldi_split_dirs(out_dir: Path) -> list[Path]:
    """The ``OUT/data/<split>`` folders that exist."""
    return [out_dir / DATA_DIR / s for s in SPLITS if (out_dir / DATA_DIR / s).is_dir()]

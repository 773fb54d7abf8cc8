"""Reading ``OUT/metadata.jsonl``, the source of truth every export is derived from.

The schema is in ``docs/architecture.md``. Records are streamed one line at a
time; :func:`iter_metadata` checks each one and that ids are strictly
increasing (sorted, unique), and raises :class:`InputError` naming
``file:line`` for the first bad one.

Ids are restricted so that every export is valid without escaping: a speaker
id is ``[A-Za-z0-9_]+`` and an utterance id is ``<speaker>-<suffix>`` with the
same characters in the suffix. Because ``-`` sorts before every allowed
character, sorting utterance ids also sorts their speakers (Kaldi's
``utt2spk`` rule), and the ids contain no ``.`` (WebDataset keys) and no
whitespace (Kaldi tables).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthaudio.errors import InputError
from synthaudio.io.fileio import AtomicTextFile
from synthaudio.io.kaldi import text_problem

METADATA_NAME = "metadata.jsonl"
SPLITS = ("train", "dev", "test")
GENDERS = ("m", "f")
AUDIO_EXTENSIONS = (".wav", ".flac")

_SPEAKER_RE = re.compile(r"[A-Za-z0-9_]+\Z")
_LANG_RE = re.compile(r"[A-Za-z0-9_-]+\Z")
# Relative POSIX path whose components never start with "." (so no "..", no hidden files).
_SAFE_PATH_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*(/[A-Za-z0-9_][A-Za-z0-9_.+-]*)*\Z")

WordTiming = tuple[str, float, float]  # (word, start_s, dur_s), relative to the audio start


@dataclass(frozen=True, kw_only=True)
class MetadataRecord:
    """One utterance of ``metadata.jsonl`` (fields as in docs/architecture.md).

    The one record type: the pipelines build it and write :meth:`to_dict` (``generate``'s
    renderer, ``augment``), the exporters and the validator read it with :meth:`from_dict`
    (:func:`iter_metadata`). ``to_dict`` gives the keys in the documented order, then
    ``extra`` (pipeline-specific keys such as ``source`` or ``quality``) in its order.
    """

    id: str
    split: str
    speaker: str
    text: str  # normalized: single spaces, no leading/trailing space
    audio: str  # POSIX path relative to OUT
    duration_s: float
    sample_rate: int  # Hz
    num_channels: int
    gender: str | None = None  # "m" | "f" | None
    lang: str | None = None
    raw_text: str | None = None  # the prompt as written (absent in a hand-made record: None)
    prompt_id: str | None = None
    words: tuple[WordTiming, ...] | None = None
    tts: Mapping[str, Any] | None = field(default=None, compare=False)
    augment: Mapping[str, Any] | None = field(default=None, compare=False)
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)  # other keys
    line: int = field(default=0, compare=False)  # 1-based line in metadata.jsonl (0: new)
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)  # the JSON read

    @property
    def stem(self) -> str:
        """Audio file name without folder (``<id>.wav``)."""
        return self.audio.rsplit("/", 1)[-1]

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of this record, keys in the documented order."""
        return {
            "id": self.id,
            "split": self.split,
            "speaker": self.speaker,
            "gender": self.gender,
            "lang": self.lang,
            "text": self.text,
            "raw_text": self.raw_text,
            "prompt_id": self.prompt_id,
            "audio": self.audio,
            "duration_s": self.duration_s,
            "sample_rate": self.sample_rate,
            "num_channels": self.num_channels,
            "words": None if self.words is None else [list(w) for w in self.words],
            "tts": None if self.tts is None else dict(self.tts),
            "augment": None if self.augment is None else dict(self.augment),
            **self.extra,
        }

    @classmethod
    def from_dict(cls, obj: Any, line: int = 0) -> MetadataRecord:
        """Check and read one decoded JSON object (``ValueError`` with a short reason);
        does not modify ``obj``. See :func:`parse_record`."""
        return parse_record(obj, line)


# keys of a record that are fields of MetadataRecord; any other key goes to ``extra``
_FIELDS = ("id", "split", "speaker", "gender", "lang", "text", "raw_text", "prompt_id",
           "audio", "duration_s", "sample_rate", "num_channels", "words", "tts", "augment")


def metadata_path(out_dir: Path) -> Path:
    """``OUT/metadata.jsonl``."""
    return Path(out_dir) / METADATA_NAME


def is_safe_relpath(path: str) -> bool:
    """True for a relative POSIX path of ``[A-Za-z0-9_.+-]`` components not starting with ``.``."""
    return bool(_SAFE_PATH_RE.match(path))


def read_json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, object)`` per line; raise :class:`InputError` on bad JSON."""
    try:
        f = open(path, encoding="utf-8", newline="")
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror or e}") from None
    with f:
        line_no = 0
        while True:
            try:
                line = f.readline()
            except UnicodeDecodeError:
                raise InputError(f"{path}:{line_no + 1}: not valid UTF-8") from None
            if not line:
                return
            line_no += 1
            if not line.strip():
                raise InputError(f"{path}:{line_no}: empty line")
            try:
                yield line_no, json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(f"{path}:{line_no}: invalid JSON ({e.msg})") from None


def _require(obj: Mapping[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    if key not in obj:
        raise ValueError(f"missing field {key!r}")
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"field {key!r} has the wrong type ({type(value).__name__})")
    return value


def _is_number(value: Any) -> bool:
    return type(value) is float or type(value) is int or (
        isinstance(value, (int, float)) and not isinstance(value, bool))


def _parse_words(value: Any) -> tuple[WordTiming, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValueError("field 'words' must be a list of [word, start_s, dur_s] or null")
    words: list[WordTiming] = []
    for i, item in enumerate(value):
        ok = (
            isinstance(item, list)
            and len(item) == 3
            and isinstance(item[0], str)
            and _is_number(item[1])
            and _is_number(item[2])
        )
        if not ok:
            raise ValueError(f"words[{i}] must be [word, start_s, dur_s]")
        word, start, dur = item[0], float(item[1]), float(item[2])
        # " " is the one whitespace character that str.isprintable() accepts
        if not word or " " in word or not word.isprintable():
            raise ValueError(f"words[{i}] {word!r} is empty or contains whitespace")
        if not (math.isfinite(start) and math.isfinite(dur) and start >= 0 and dur >= 0):
            raise ValueError(f"words[{i}] has a negative or non-finite time")
        words.append((word, start, dur))
    return tuple(words)


def _single_spaced(text: str) -> str:
    """``text`` with runs of spaces made one and no leading or trailing space."""
    if "  " not in text and not text.startswith(" ") and not text.endswith(" "):
        return text
    return " ".join(t for t in text.split(" ") if t)


def parse_record(obj: Any, line: int) -> MetadataRecord:
    """Check the structure of one decoded line; raise ``ValueError`` with a short reason.

    Transcript content is checked separately by :func:`text_problem`.
    """
    if not isinstance(obj, dict):
        raise ValueError("line is not a JSON object")
    uid = _require(obj, "id", str)
    speaker = _require(obj, "speaker", str)
    if not _SPEAKER_RE.match(speaker):
        raise ValueError(f"speaker {speaker!r} must be [A-Za-z0-9_]+")
    if not (uid.startswith(speaker + "-") and _SPEAKER_RE.match(uid[len(speaker) + 1 :])):
        raise ValueError(f"id {uid!r} must be '{speaker}-' followed by [A-Za-z0-9_]+")
    split = _require(obj, "split", str)
    if split not in SPLITS:
        raise ValueError(f"split {split!r} is not one of {', '.join(SPLITS)}")
    text = _require(obj, "text", str)
    audio = _require(obj, "audio", str)
    if not is_safe_relpath(audio) or not audio.endswith(AUDIO_EXTENSIONS):
        raise ValueError(
            f"audio {audio!r} must be a relative path of [A-Za-z0-9_.+-] parts "
            "ending in .wav or .flac"
        )
    duration = float(_require(obj, "duration_s", (int, float)))
    if not (math.isfinite(duration) and duration > 0):
        raise ValueError(f"duration_s {duration!r} must be positive")
    sample_rate = _require(obj, "sample_rate", int)
    num_channels = _require(obj, "num_channels", int)
    if sample_rate <= 0 or num_channels <= 0:
        raise ValueError("sample_rate and num_channels must be positive")
    gender = obj.get("gender")
    if gender is not None and gender not in GENDERS:
        raise ValueError(f"gender {gender!r} must be 'm', 'f' or null")
    lang = obj.get("lang")
    if lang is not None and not (isinstance(lang, str) and _LANG_RE.match(lang)):
        raise ValueError(f"lang {lang!r} must be [A-Za-z0-9_-]+ or null")
    augment = obj.get("augment")
    if augment is not None and not isinstance(augment, dict):
        raise ValueError("field 'augment' must be an object or null")
    tts = obj.get("tts")
    raw_text, prompt_id = obj.get("raw_text"), obj.get("prompt_id")
    return MetadataRecord(
        line=line,
        raw_text=raw_text if isinstance(raw_text, str) else None,
        prompt_id=prompt_id if isinstance(prompt_id, str) else None,
        tts=tts if isinstance(tts, dict) else None,
        extra={k: v for k, v in obj.items() if k not in _FIELDS},
        id=uid,
        split=split,
        speaker=speaker,
        text=_single_spaced(text),
        audio=audio,
        duration_s=duration,
        sample_rate=sample_rate,
        num_channels=num_channels,
        gender=gender,
        lang=lang,
        words=_parse_words(obj.get("words")),
        augment=augment,
        raw=obj,
    )


def iter_metadata(out_dir: Path) -> Iterator[MetadataRecord]:
    """Stream the records of ``OUT/metadata.jsonl``, strictly checked.

    Raises:
        InputError: the file is missing, a line is malformed, a transcript is
            unusable, or ids are not strictly increasing; the message names
            ``file:line``.
    """
    path = metadata_path(out_dir)
    if not path.is_file():
        raise InputError(f"{path}: not found (generate the corpus first)")
    prev: str | None = None
    for line, obj in read_json_lines(path):
        try:
            rec = parse_record(obj, line)
        except ValueError as e:
            raise InputError(f"{path}:{line}: {e}") from None
        problem = text_problem(rec.text)
        if problem:
            raise InputError(f"{path}:{line}: {rec.id}: {problem}")
        if prev is not None and rec.id <= prev:
            raise InputError(
                f"{path}:{line}: id {rec.id!r} is not after {prev!r} "
                "(metadata.jsonl must be sorted by id, without duplicates)"
            )
        prev = rec.id
        yield rec


@dataclass(frozen=True)
class MetaRecord:
    """One metadata.jsonl line and where it came from (for error messages)."""

    where: str  # "path:line"
    data: Mapping[str, Any]  # the JSON object (the report reads optional keys from it)
    record: MetadataRecord  # the same, checked

    @property
    def id(self) -> str:
        return str(self.data["id"])


def read_metadata(out_dir: Path) -> list[MetaRecord]:
    """Every record of ``out_dir/metadata.jsonl`` with where it stands, for evaluate and the
    report: checked for ``id``, ``audio`` and ``text`` and unique ids, but not for order
    (:func:`iter_metadata` is the strict, streamed reader of the exports)."""
    path = out_dir / "metadata.jsonl"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as e:
        raise InputError(f"{path}: not found (is {out_dir} a synthaudio corpus?)") from e
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read ({e})") from e
    records: list[MetaRecord] = []
    seen: set[str] = set()
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{where}: invalid JSON ({e.msg})") from e
        try:
            record = MetadataRecord.from_dict(data, lineno)
        except ValueError as e:
            raise InputError(f"{where}: {e}") from None
        if record.id in seen:
            raise InputError(f"{where}: duplicate id {record.id!r}")
        seen.add(record.id)
        records.append(MetaRecord(where, data, record))
    return records


def dump_record(obj: Mapping[str, Any]) -> str:
    """One compact JSON line with sorted keys (the form :func:`write_metadata` uses)."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def write_metadata(path: Path, records: Iterable[Mapping[str, Any]]) -> None:
    """Write records to ``path`` as JSON lines sorted by ``id``, atomically."""
    with AtomicTextFile(Path(path)) as f:
        for obj in sorted(records, key=lambda r: str(r["id"])):
            f.write_line(dump_record(obj))

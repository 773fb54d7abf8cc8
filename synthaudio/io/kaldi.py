"""Kaldi tables and data directories: the one parser, the one path rule, the input reader.

Every Kaldi table synthaudio reads goes through :func:`iter_table` (the input reader below,
the export validator in :mod:`synthaudio.manifests.kaldi`, ``synthaudio validate``,
``evaluate`` of a Kaldi dir and the training recipes), and every table line it writes
through :func:`table_line`. A table is UTF-8 text, one ``<key> <rest>`` entry a line, fields
split on ASCII blanks only (as Kaldi and awk split; not on U+00A0), sorted by the key's
bytes (``LC_ALL=C``).

**The relative-path rule** (:func:`resolve_audio_path`), for a relative ``wav.scp`` path of
a data directory ``D``: the current directory first (Kaldi's rule: recipes run from the
recipe folder), then ``D`` itself (a self-contained folder such as ``wav/x.wav`` beside
``wav.scp``), then, for ``D`` = ``OUT/data/<split>``, the corpus folder ``OUT`` (the paths
synthaudio's own exports write are relative to ``OUT``). The first that holds the file wins.

Two readers of a data directory share that parser and rule. :func:`list_kaldi_dir` is
lenient, as scoring is (``evaluate`` of a Kaldi dir, the training recipes): any order,
``utt2spk`` optional, only ``wav.scp`` and ``text`` required. :func:`read_kaldi_dir` is the
strict one for input that becomes a corpus (``synthaudio augment``), every problem one
:class:`InputError` naming ``file:line``:

- required: ``wav.scp``, ``text``, ``utt2spk``; optional and cross-checked: ``spk2utt``,
  ``spk2gender`` (``m``/``f`` per speaker), ``segments`` (``<utt> <recording> <start_s>
  <end_s>``, end -1: to the end of the file; ``wav.scp`` is then keyed by recording and
  each utterance is cut from its recording) with ``reco2dur`` checked against the files.
- every file sorted and unique on its first column in ``LC_ALL=C`` (byte) order, as
  Kaldi's ``validate_data_dir.sh`` demands; ``text``, ``wav.scp`` and ``utt2spk`` list
  the same utterances.
- ``wav.scp`` entries are plain files, or one of the common pure decoders, whose input
  file is read directly and the command never run: ``flac -c -d -s PATH |``,
  ``sox PATH -t wav - |``, ``sph2pipe -f wav PATH |``, ``ffmpeg -i PATH -f wav - |``
  (:func:`decoder_input`; FLAC, SPHERE and WAV through libsndfile). Any other command
  (``... |``) and anything with shell syntax is refused and never run; so are ark offsets
  (``foo.ark:123``) and ``-`` (stdin).
- relative paths: the rule above.
- ids (utterances and speakers) must not contain ``/``, ``\\``, ``..``, whitespace or
  non-printable characters: they become file names later.
- every audio file is opened (header only) for its rate, channels and length.

(Over 400 lines on purpose: one Kaldi module, so the parser, the path rule and the two
readers built on them are read, and changed, together.)
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from synthaudio.errors import InputError
from synthaudio.io.fileio import check_wav_complete, write_text_atomic

REQUIRED_FILES = ("wav.scp", "text", "utt2spk")
UNSUPPORTED_FILES: dict[str, str] = {}
RECO2DUR_TOLERANCE_S = 0.01  # reco2dur and a segment's end may differ this much from the file
# Characters that make a wav.scp entry a shell command rather than a file name.
_SHELL_CHARS = set("|;&$`<>")
_ARK_OFFSET_RE = re.compile(r".*\.(ark|scp):\d+(\[.*\])?\Z")
_KALDI_BLANKS = re.compile(r"[ \t]+")  # Kaldi and awk split on ASCII blanks only
# Kaldi's validate_data_dir.sh rejects these when `grep -w` finds them (C-locale word chars).
_ILLEGAL_TOKEN_RE = re.compile(r"(?<![A-Za-z0-9_])(<s>|</s>|#0)(?![A-Za-z0-9_])")


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be a transcript (empty, non-printable, Kaldi-illegal), or None."""
    if not text.strip():
        return "empty transcript"
    if not text.isprintable():  # the space is the one printable whitespace character
        for ch in text:
            if ch != " " and not ch.isprintable():
                return f"transcript contains non-printable character U+{ord(ch):04X}"
    m = _ILLEGAL_TOKEN_RE.search(text)
    if m:
        return f"transcript contains {m.group(1)!r}, which Kaldi reserves"
    return None



@dataclass(frozen=True)
class KaldiUtterance:
    """One utterance of the input directory."""

    utt_id: str
    speaker: str
    text: str  # words joined by single spaces
    audio: Path  # the resolved file, absolute (exists)
    wav_line: int  # line in wav.scp
    sample_rate: int  # Hz, from the file header
    num_channels: int
    num_samples: int  # per channel, of the utterance (the segment when segmented)
    gender: str | None = None  # from spk2gender when present
    start_sample: int = 0  # first frame of the utterance in ``audio`` (segments)
    recording: str | None = None  # the wav.scp key when the directory has segments

    @property
    def duration_s(self) -> float:
        return self.num_samples / self.sample_rate


@dataclass(frozen=True)
class KaldiDir:
    """A checked Kaldi data directory; utterances sorted by id in ``LC_ALL=C`` order."""

    path: Path
    utterances: tuple[KaldiUtterance, ...]

    @property
    def speakers(self) -> tuple[str, ...]:
        """Speaker ids in byte order."""
        return tuple(sorted({u.speaker for u in self.utterances}, key=str.encode))

    def __len__(self) -> int:
        return len(self.utterances)


@dataclass(frozen=True)
class _Row:
    line: int
    key: str
    rest: str  # everything after the first blank run, stripped


def check_id(value: str, what: str, where: str) -> None:
    """Raise InputError unless ``value`` is safe to turn into a file name later."""
    if not value:
        raise InputError(f"{where}: empty {what} id")
    bad = None
    if "/" in value or "\\" in value:
        bad = "a path separator"
    elif ".." in value:
        bad = "'..'"
    elif any(ch.isspace() for ch in value):
        bad = "whitespace"
    elif not value.isprintable():
        bad = "a non-printable character"
    if bad is not None:
        raise InputError(f"{where}: {what} id {value!r} contains {bad}")


@dataclass(frozen=True)
class TableLine:
    """One line of a table as read: its fields, or the problem that kept it from having any.

    ``problems`` lists what is wrong with a line that still has fields (a CR, blanks other
    than single spaces); ``fields`` is None when the line is not valid UTF-8 or is empty."""

    line: int  # 1-based
    text: str  # decoded, without the newline ("" when not UTF-8)
    fields: list[str] | None
    problems: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        assert self.fields is not None
        return self.fields[0]

    @property
    def rest(self) -> str:
        """Everything after the key and the blanks after it, stripped of blanks."""
        parts = _KALDI_BLANKS.split(self.text.strip(" \t"), maxsplit=1)
        return parts[1].strip(" \t") if len(parts) > 1 else ""


NOT_UTF8 = "not valid UTF-8"
EMPTY_LINE = "empty line"
CARRIAGE_RETURN = "contains a carriage return (CR)"
NOT_SINGLE_SPACED = "fields must be separated by single spaces"
NO_FINAL_NEWLINE = "last line does not end in a newline"


def iter_table(data: bytes) -> Iterator[TableLine]:
    """Parse the bytes of a table file, line by line; a last line without a newline gets
    the problem :data:`NO_FINAL_NEWLINE`."""
    lines = data.split(b"\n") if data else []
    unterminated = bool(lines) and lines[-1] != b""
    if lines and not unterminated:
        lines.pop()
    for number, raw in enumerate(lines, start=1):
        end = (NO_FINAL_NEWLINE,) if unterminated and number == len(lines) else ()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            yield TableLine(number, "", None, (NOT_UTF8, *end))
            continue
        fields = _KALDI_BLANKS.split(text.strip(" \t"))
        if fields == [""]:
            yield TableLine(number, text, None, (EMPTY_LINE, *end))
            continue
        problems = ((CARRIAGE_RETURN,) if "\r" in text else ()) + (
            (NOT_SINGLE_SPACED,) if text != " ".join(fields) else ())
        yield TableLine(number, text, fields, problems + end)


def read_table_bytes(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def table_line(key: str, *values: str) -> str:
    """One table line as synthaudio writes it: fields joined by single spaces, no newline."""
    return " ".join((key, *values))


def c_sort_key(key: str) -> bytes:
    """The ``LC_ALL=C`` order of table keys: by their UTF-8 bytes."""
    return key.encode("utf-8")


def _read_table(path: Path) -> list[_Row]:
    """Rows of a Kaldi table file, strictly: InputError on bad encoding, a CR, a blank line or
    keys not in C sort order (the first problem, naming ``file:line``)."""
    data = read_table_bytes(path)
    if not data.strip():
        raise InputError(f"{path}: file is empty")
    rows: list[_Row] = []
    prev: bytes | None = None
    for entry in iter_table(data):
        where = f"{path}:{entry.line}"
        if entry.fields is None:
            raise InputError(f"{where}: {entry.problems[0]}")
        if CARRIAGE_RETURN in entry.problems:
            raise InputError(f"{where}: {CARRIAGE_RETURN}; convert the file with dos2unix")
        key = entry.key
        key_bytes = c_sort_key(key)
        if prev is not None and key_bytes <= prev:
            what = "duplicate id" if key_bytes == prev else "not sorted"
            raise InputError(f"{where}: {what}: {key!r} after {prev.decode('utf-8')!r} "
                             "(Kaldi needs files sorted with LC_ALL=C sort; "
                             "utils/fix_data_dir.sh does it)")
        prev = key_bytes
        rows.append(_Row(entry.line, key, entry.rest))
    return rows


def resolve_audio_path(entry: str, data_dir: Path) -> Path | None:
    """The file a relative or absolute ``wav.scp`` path names, by the module's path rule
    (absolute, resolved against the current directory, the data directory, then OUT for
    ``OUT/data/<split>``); None when none of them holds it."""
    path = Path(entry)
    if path.is_absolute():
        candidates = [path]
    else:
        candidates = [Path.cwd() / path, data_dir / path]
        if data_dir.parent.name == "data":  # OUT/data/<split>: synthaudio's own export
            candidates.append(data_dir.parent.parent / path)
    for candidate in candidates:
        if candidate.is_file():
            return Path(os.path.abspath(candidate))
    return None


_FLAC_FLAGS = {"-c", "-d", "-s", "-cds", "-dcs", "-csd", "-dc", "-cd", "--decode", "--stdout",
               "--silent", "-f", "--force"}


def decoder_input(entry: str) -> str | None:
    """PATH of a ``wav.scp`` entry that only decodes one file to WAV on stdout, else None.

    Recognized (options in any order, nothing that changes rate, channels or time):
    ``flac -c -d -s PATH |``, ``sox PATH -t wav - |``, ``sph2pipe -f wav [-p] PATH |``,
    ``ffmpeg [-nostdin] [-hide_banner] [-loglevel L] -i PATH [-f wav] [-acodec pcm_s16le]
    - |``. The decoded audio is what libsndfile reads from PATH, so the command is never run.
    """
    tokens = _KALDI_BLANKS.split(entry.strip(" \t"))
    if len(tokens) < 3 or tokens[-1] != "|" or any(ch in _SHELL_CHARS for t in tokens[:-1]
                                                   for ch in t):
        return None
    cmd, args = tokens[0], tokens[1:-1]
    if cmd == "flac":
        paths = [a for a in args if not a.startswith("-")]
        flags = {a for a in args if a.startswith("-")}
        decodes = any(f == "--decode" or (not f.startswith("--") and "d" in f) for f in flags)
        if len(paths) == 1 and flags <= _FLAC_FLAGS and decodes:
            return paths[0]
        return None
    if cmd == "sox":
        if len(args) == 4 and not args[0].startswith("-") and args[1:] == ["-t", "wav", "-"]:
            return args[0]
        return None
    if cmd == "sph2pipe":
        rest = list(args)
        path = rest.pop() if rest and not rest[-1].startswith("-") else None
        opts = " ".join(rest)
        if path is not None and opts in ("-f wav", "-f wav -p", "-p -f wav", "-f rif",
                                         "-f rif -p", "-p -f rif"):
            return path
        return None
    if cmd == "ffmpeg":
        path, i = None, 0
        while i < len(args):
            a = args[i]
            nxt = args[i + 1] if i + 1 < len(args) else None
            if a == "-i" and nxt is not None and path is None:
                path, i = nxt, i + 2
            elif a in ("-nostdin", "-hide_banner", "-y") or (a == "-" and i == len(args) - 1):
                i += 1
            elif (a, nxt) in (("-f", "wav"), ("-acodec", "pcm_s16le"), ("-c:a", "pcm_s16le"),
                              ("-sample_fmt", "s16")) or (a in ("-loglevel", "-v")
                                                          and nxt is not None):
                i += 2
            else:
                return None
        return path if args and args[-1] == "-" else None
    return None


def _audio_path(rest: str, data_dir: Path, where: str) -> Path:
    """The file a wav.scp entry names; refuses commands, offsets and stdin."""
    if not rest:
        raise InputError(f"{where}: expected '<utterance-id> <path>'")
    decoded = decoder_input(rest)
    if decoded is not None:
        rest = decoded
    if rest.endswith("|") or any(ch in _SHELL_CHARS for ch in rest):
        raise InputError(f"{where}: pipe commands are not supported: {rest!r} (convert the "
                         "audio to files first; synthaudio never runs wav.scp commands and "
                         "reads the file of only 'flac -c -d -s F |', 'sox F -t wav - |', "
                         "'sph2pipe -f wav F |' and 'ffmpeg -i F -f wav - |')")
    if any(ch.isspace() for ch in rest):
        raise InputError(f"{where}: path contains whitespace, which Kaldi tables do not "
                         f"allow: {rest!r}")
    if rest == "-":
        raise InputError(f"{where}: reading audio from stdin ('-') is not supported")
    if rest.startswith("~"):
        raise InputError(f"{where}: '~' is not expanded in wav.scp; give the full path: "
                         f"{rest!r}")
    found = resolve_audio_path(rest, data_dir)
    if found is not None:
        return found
    path = Path(rest)
    if _ARK_OFFSET_RE.match(rest):
        raise InputError(f"{where}: archive offsets are not supported: {rest!r} "
                         "(wav.scp must name audio files)")
    corpus = ", then the corpus folder" if data_dir.parent.name == "data" else ""
    tried = "" if path.is_absolute() else (f" (tried from the current directory and "
                                           f"{data_dir}{corpus})")
    raise InputError(f"{where}: audio file not found: {rest}{tried}")


def _probe(path: Path, where: str) -> tuple[int, int, int]:
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        detail = str(exc).replace("\n", " ")
        raise InputError(f"{where}: cannot read audio {path}: {detail}") from None
    if info.frames <= 0:
        raise InputError(f"{where}: audio {path} has no samples")
    return int(info.samplerate), int(info.channels), int(info.frames)


def _check_keys(rows: list[_Row], path: Path, reference: dict[str, int], ref_path: Path,
                ) -> None:
    """The keys of ``rows`` equal those of ``reference`` (key -> line in ``ref_path``)."""
    keys = set()
    for row in rows:
        keys.add(row.key)
        if row.key not in reference:
            raise InputError(f"{path}:{row.line}: utterance {row.key!r} is not in "
                             f"{ref_path.name}")
    for key, line in reference.items():
        if key not in keys:
            raise InputError(f"{ref_path}:{line}: utterance {key!r} is not in {path.name}")


def read_kaldi_dir(path: Path) -> KaldiDir:
    """Read and check the Kaldi data directory at ``path``; open every audio header.

    Raises:
        InputError: the folder or a required file is missing, a file is malformed or
            unsorted, ids disagree between files, an id is unsafe, a wav.scp entry is a
            command or a missing/unreadable file. The message names ``file:line``.
    """
    data_dir = Path(path)
    if not data_dir.exists():
        raise InputError(f"{data_dir}: Kaldi data directory not found")
    if not data_dir.is_dir():
        raise InputError(f"{data_dir}: not a directory (expected a Kaldi data directory)")
    for name, why in UNSUPPORTED_FILES.items():
        if (data_dir / name).exists():
            raise InputError(f"{data_dir / name}: {why}")
    missing = [n for n in REQUIRED_FILES if not (data_dir / n).is_file()]
    if missing:
        raise InputError(f"{data_dir}: missing {', '.join(missing)} (a Kaldi data directory "
                         "needs wav.scp, text and utt2spk)")
    wav_path, text_path, u2s_path = (data_dir / n for n in REQUIRED_FILES)
    wav_rows = _read_table(wav_path)
    text_rows = _read_table(text_path)
    u2s_rows = _read_table(u2s_path)
    seg_path = data_dir / "segments"
    segmented = seg_path.is_file()
    for row in wav_rows:
        check_id(row.key, "recording" if segmented else "utterance", f"{wav_path}:{row.line}")
    wav_lines = {row.key: row.line for row in wav_rows}
    seg_rows = _read_table(seg_path) if segmented else []
    utt_lines, utt_path = wav_lines, wav_path
    if segmented:
        utt_lines, utt_path = {row.key: row.line for row in seg_rows}, seg_path
    _check_keys(text_rows, text_path, utt_lines, utt_path)
    _check_keys(u2s_rows, u2s_path, utt_lines, utt_path)

    speaker_of: dict[str, str] = {}
    for row in u2s_rows:
        where = f"{u2s_path}:{row.line}"
        if not row.rest or _KALDI_BLANKS.search(row.rest):
            raise InputError(f"{where}: expected '<utterance-id> <speaker-id>'")
        check_id(row.rest, "speaker", where)
        speaker_of[row.key] = row.rest
    speakers = set(speaker_of.values())

    text_of: dict[str, str] = {}
    for row in text_rows:
        words = " ".join(_KALDI_BLANKS.split(row.rest)) if row.rest else ""
        problem = text_problem(words)
        if problem is not None:
            raise InputError(f"{text_path}:{row.line}: {row.key}: {problem}")
        text_of[row.key] = words

    spk2utt = data_dir / "spk2utt"
    if spk2utt.is_file():
        _check_spk2utt(_read_table(spk2utt), spk2utt, speaker_of)
    gender_of: dict[str, str] = {}
    spk2gender = data_dir / "spk2gender"
    if spk2gender.is_file():
        gender_of = _read_spk2gender(spk2gender, speakers)

    utterances = []
    files: dict[str, _File] = {}
    for row in wav_rows:
        where = f"{wav_path}:{row.line}"
        audio = _audio_path(row.rest, data_dir, where)
        if audio.suffix.lower() == ".wav":
            check_wav_complete(audio)  # libsndfile would read the part that is there
        files[row.key] = _File(audio, *_probe(audio, where), row.line)
    if segmented:
        _check_reco2dur(data_dir / "reco2dur", files)
        for row in seg_rows:
            where = f"{seg_path}:{row.line}"
            check_id(row.key, "utterance", where)
            reco, start, count = _segment(row.rest, files, where)
            f = files[reco]
            speaker = speaker_of[row.key]
            utterances.append(KaldiUtterance(
                utt_id=row.key, speaker=speaker, text=text_of[row.key], audio=f.audio,
                wav_line=f.line, sample_rate=f.rate, num_channels=f.channels,
                num_samples=count, gender=gender_of.get(speaker), start_sample=start,
                recording=reco))
        return KaldiDir(data_dir, tuple(utterances))
    for key, f in files.items():
        speaker = speaker_of[key]
        utterances.append(KaldiUtterance(
            utt_id=key, speaker=speaker, text=text_of[key], audio=f.audio,
            wav_line=f.line, sample_rate=f.rate, num_channels=f.channels,
            num_samples=f.frames, gender=gender_of.get(speaker)))
    return KaldiDir(data_dir, tuple(utterances))


@dataclass(frozen=True)
class _File:
    """A wav.scp entry's file, probed."""

    audio: Path
    rate: int
    channels: int
    frames: int
    line: int


def parse_segment(rest: str, duration_s: float, where: str) -> tuple[str, float, float]:
    """(recording, start_s, end_s) of a ``segments`` line's ``rest`` (after the utterance
    id), checked against the recording's ``duration_s``; end -1 is the recording's end."""
    fields = _KALDI_BLANKS.split(rest) if rest else []
    if len(fields) != 3:
        raise InputError(f"{where}: expected '<utterance-id> <recording-id> <start_s> <end_s>'")
    reco, start_txt, end_txt = fields
    try:
        start_s, end_s = float(start_txt), float(end_txt)
    except ValueError:
        raise InputError(f"{where}: start and end must be seconds, got {start_txt!r} "
                         f"{end_txt!r}") from None
    if end_s == -1:  # Kaldi's extract-segments: to the end of the recording
        end_s = duration_s
    if not 0.0 <= start_s < end_s:
        raise InputError(f"{where}: segment must have 0 <= start < end, got {start_s:g} "
                         f"{end_s:g}")
    if end_s > duration_s + RECO2DUR_TOLERANCE_S:
        raise InputError(f"{where}: segment ends at {end_s:g} s, after the end of recording "
                         f"{reco!r} ({duration_s:.3f} s)")
    return reco, start_s, min(end_s, duration_s)


def _segment(rest: str, files: dict[str, _File], where: str) -> tuple[str, int, int]:
    """(recording, first frame, frame count) of a ``segments`` line's ``rest``."""
    reco = _KALDI_BLANKS.split(rest)[0] if rest else ""
    if reco not in files:
        raise InputError(f"{where}: recording {reco!r} is not in wav.scp")
    f = files[reco]
    _, start_s, end_s = parse_segment(rest, f.frames / f.rate, where)
    first, last = int(round(start_s * f.rate)), min(int(round(end_s * f.rate)), f.frames)
    if last <= first:
        raise InputError(f"{where}: segment holds no samples")
    return reco, first, last - first


def _check_reco2dur(path: Path, files: dict[str, _File]) -> None:
    """When ``reco2dur`` exists: one line per recording, each within
    ``RECO2DUR_TOLERANCE_S`` of the file's duration."""
    if not path.is_file():
        return
    seen = set()
    for row in _read_table(path):
        where = f"{path}:{row.line}"
        if row.key not in files:
            raise InputError(f"{where}: recording {row.key!r} is not in wav.scp")
        try:
            dur = float(row.rest)
        except ValueError:
            raise InputError(f"{where}: expected '<recording-id> <duration_s>'") from None
        f = files[row.key]
        if abs(dur - f.frames / f.rate) > RECO2DUR_TOLERANCE_S:
            raise InputError(f"{where}: reco2dur says {dur:g} s but {f.audio} holds "
                             f"{f.frames / f.rate:.3f} s (regenerate it with "
                             "utils/data/get_reco2dur.sh)")
        seen.add(row.key)
    missing = [k for k in files if k not in seen]
    if missing:
        raise InputError(f"{path}: recording {missing[0]!r} of wav.scp has no duration")


def _check_spk2utt(rows: list[_Row], path: Path, speaker_of: dict[str, str]) -> None:
    """Every (utterance, speaker) pair of spk2utt is in utt2spk, and the other way round."""
    seen: set[str] = set()
    for row in rows:
        for utt in _KALDI_BLANKS.split(row.rest) if row.rest else []:
            if speaker_of.get(utt) != row.key:
                raise InputError(f"{path}:{row.line}: utterance {utt!r} of speaker {row.key!r} "
                                 "does not match utt2spk")
            seen.add(utt)
    missing = [u for u in speaker_of if u not in seen]
    if missing:
        raise InputError(f"{path}: utterance {missing[0]!r} of utt2spk is not listed "
                         "(regenerate it with utils/utt2spk_to_spk2utt.pl)")


def _read_spk2gender(path: Path, speakers: set[str]) -> dict[str, str]:
    genders: dict[str, str] = {}
    for row in _read_table(path):
        if row.rest not in ("m", "f"):
            raise InputError(f"{path}:{row.line}: expected '<speaker-id> m' or "
                             "'<speaker-id> f'")
        genders[row.key] = row.rest
    missing = sorted(speakers - genders.keys(), key=str.encode)
    if missing:
        raise InputError(f"{path}: speaker {missing[0]!r} has no gender")
    return genders


# ---- the lenient reader -----------------------------------------------------------------


@dataclass(frozen=True)
class ListedUtterance:
    """One utterance of a data directory as :func:`list_kaldi_dir` reads it."""

    id: str
    wav_path: Path  # resolved by the path rule (may not exist when no base holds it)
    text: str
    speaker: str | None
    gender: str | None
    where: str  # "wav.scp:line"
    start_s: float = 0.0  # where the utterance starts in ``wav_path`` (segments)
    end_s: float | None = None  # where it ends; None: at the end of the file


def read_table_map(path: Path, required: bool = True) -> dict[str, tuple[str, str]]:
    """``<key> <rest>`` lines -> {key: (rest, "path:line")}, in any order; blank lines are
    skipped; a missing optional file is {}. InputError on a duplicate key or bad UTF-8."""
    if not path.exists():
        if required:
            raise InputError(f"{path}: not found")
        return {}
    out: dict[str, tuple[str, str]] = {}
    for entry in iter_table(read_table_bytes(path)):
        where = f"{path}:{entry.line}"
        if NOT_UTF8 in entry.problems:
            raise InputError(f"{where}: cannot read ({NOT_UTF8})")
        if entry.fields is None:
            continue
        if entry.key in out:
            raise InputError(f"{where}: duplicate id {entry.key!r}")
        out[entry.key] = (entry.rest, where)
    return out


def list_kaldi_dir(kaldi_dir: Path) -> list[ListedUtterance]:
    """The utterances of a data directory with plain file paths in ``wav.scp``, by id.

    Lenient (see the module docstring); relative paths by the module's path rule."""
    kaldi_dir = Path(kaldi_dir)
    if not kaldi_dir.is_dir():
        raise InputError(f"{kaldi_dir}: not a directory")
    wavs = read_table_map(kaldi_dir / "wav.scp")
    texts = read_table_map(kaldi_dir / "text")
    segments = read_table_map(kaldi_dir / "segments", required=False)
    if segments:  # wav.scp holds recordings; each utterance is a stretch of one
        recordings = wavs
        wavs = {}
        for utt_id, (rest, where) in segments.items():
            reco = _KALDI_BLANKS.split(rest)[0] if rest else ""
            if reco not in recordings:
                raise InputError(f"{where}: recording {reco!r} is not in wav.scp")
            wavs[utt_id] = (recordings[reco][0], where)
    utt2spk = read_table_map(kaldi_dir / "utt2spk", required=False)
    spk2gender = read_table_map(kaldi_dir / "spk2gender", required=False)
    for utt_id, (_, where) in sorted(texts.items()):
        if utt_id not in wavs:
            raise InputError(f"{where}: utterance {utt_id!r} is not in wav.scp")
    utts: list[ListedUtterance] = []
    for utt_id, (rxfile, where) in sorted(wavs.items()):
        if utt_id not in texts:
            raise InputError(f"{where}: utterance {utt_id!r} has no line in text")
        rxfile = decoder_input(rxfile) or rxfile
        if rxfile.endswith("|") or len(_KALDI_BLANKS.split(rxfile)) != 1:
            raise InputError(f"{where}: only plain file paths and the common decoders "
                             f"('flac -c -d -s F |', 'sox F -t wav - |', 'sph2pipe -f wav F |',"
                             f" 'ffmpeg -i F -f wav - |') are supported, got {rxfile!r}")
        path = resolve_audio_path(rxfile, kaldi_dir) or Path(os.path.abspath(rxfile))
        speaker = utt2spk.get(utt_id, ("", ""))[0] or None
        gender = (spk2gender.get(speaker, ("", ""))[0] or None) if speaker else None
        start_s, end_s = 0.0, None
        if segments:
            _, start_s, end = parse_segment(segments[utt_id][0], math.inf, where)
            end_s = None if end == math.inf else end
        utts.append(ListedUtterance(utt_id, path, texts[utt_id][0], speaker, gender, where,
                                    start_s, end_s))
    if not utts:
        raise InputError(f"{kaldi_dir / 'wav.scp'}: no utterances")
    return utts


def write_kaldi_dir(out: Path, entries: Sequence[tuple[str, str, str, Path]]) -> Path:
    """``wav.scp``, ``text``, ``utt2spk`` and ``spk2utt`` of (utterance id, speaker, text,
    audio path) entries in ``out``, sorted in byte order."""
    out.mkdir(parents=True, exist_ok=True)
    rows = sorted(entries, key=lambda e: e[0].encode())
    spk2utt: dict[str, list[str]] = {}
    for utt, spk, _, _ in rows:
        spk2utt.setdefault(spk, []).append(utt)
    files = {
        "wav.scp": [f"{u} {p}" for u, _, _, p in rows],
        "text": [f"{u} {t}" for u, _, t, _ in rows],
        "utt2spk": [f"{u} {s}" for u, s, _, _ in rows],
        "spk2utt": [f"{s} {' '.join(us)}" for s, us in sorted(spk2utt.items(),
                                                              key=lambda kv: kv[0].encode())],
    }
    for name, lines in files.items():
        write_text_atomic(out / name, "".join(line + "\n" for line in lines))
    return out

"""The ``sessions`` export: every file diarization and meeting-ASR toolkits read.

Per session (``<id>`` = ``session-000012``, under ``OUT/manifests/``):

- ``rttm/<split>/<id>.rttm``: ``SPEAKER <id> 1 <start> <dur> <NA> <NA> <speaker> <NA> <NA>``,
  one line per speech segment (:mod:`synthaudio.pipelines.sessions.labels`: the gap rule);
- ``uem/<split>/<id>.uem``: ``<id> 1 0.000 <duration>`` (the scored region: all of it);
- ``ctm/<split>/<id>.ctm``: one line per word, ``<id> <speaker> <start> <dur> <word> 0``
  (NeMo's speaker-in-the-channel-field CTM);
- ``sessions/<split>/<id>.json``: SegLST (CHiME-7/NOTSOFAR, meeteval's format), one entry
  per turn: ``session_id``, ``speaker``, ``start_time``, ``end_time``, ``words`` (text), and
  ``word_alignment`` ``[[word, start, end], ...]``.

Per split:

- ``nemo/diarization_<split>.json``: NeMo's diarization manifest, one line per session
  (``audio_filepath``, ``offset``, ``duration``, ``label``, ``text``, ``num_speakers``,
  ``rttm_filepath``, ``uem_filepath``, ``ctm_filepath``; absolute paths);
- ``lhotse/sessions_{recordings,supervisions}_<split>.jsonl.gz``: one recording per session,
  one supervision per turn (speaker, text, word alignment in recording time);
- ``OUT/data/<split>/``: a Kaldi directory whose utterances are the turns: ``wav.scp``
  (sessions), ``segments``, ``utt2spk``, ``spk2utt``, ``text``, ``utt2dur``, ``reco2dur``,
  ``reco2file_and_channel`` and ``rttm``. Kaldi's speaker is the talker within the session
  (``<id>-<speaker>``, as in Kaldi's CALLHOME diarization recipe), so utterance ids
  ``<id>-<speaker>-<turn>`` sort with their speakers and the files stream session by
  session.

Times are seconds with 3 decimals. Absolute paths make the NeMo and Lhotse files
reproducible for one OUT location (re-export after moving a corpus).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from synthaudio.errors import InputError
from synthaudio.io.fileio import AtomicTextFile, write_text_atomic
from synthaudio.io.metadata import MetadataRecord
from synthaudio.manifests.formats import ExportContext, ExportOutcome, default_formats
from synthaudio.manifests.kaldi import OPTIONAL_FILES, format_seconds, wav_scp_entry
from synthaudio.manifests.lhotse_export import lhotse_dicts
from synthaudio.splits import SPLITS

MANIFESTS = Path("manifests")
KALDI_FILES = ("wav.scp", "segments", "utt2spk", "spk2utt", "text", "utt2dur", "reco2dur",
               "reco2file_and_channel", "rttm")



# What a session corpus (one record per session, its turns inside) can be exported as: the
# ``sessions`` export writes these at turn level (Kaldi with segments, NeMo diarization,
# Lhotse supervisions per turn, CTM per session). The others have one utterance per
# record, which for a session would be a whole conversation under one speaker: refused.
SESSION_EXPRESSIBLE = ("kaldi", "nemo", "lhotse", "ctm", "sessions")


def session_formats(chosen: Sequence[str], given: Sequence[str]) -> tuple[tuple[str, ...], str]:
    """The formats a session corpus is exported as (``sessions``, at turn level) and a
    line saying so; InputError for a format that cannot express sessions."""
    asked = {f.strip().lower() for f in given}
    if "all" not in asked and set(chosen) != set(default_formats()):
        refused = [f for f in chosen if f not in SESSION_EXPRESSIBLE]
        if refused:
            raise InputError(
                f"--format {refused[0]}: a session corpus has no per-utterance {refused[0]} "
                "export (each record is a whole conversation); --format sessions writes its "
                "turns: Kaldi with segments, NeMo diarization, Lhotse, RTTM, UEM, CTM, SegLST")
    mapped = sorted(set(chosen) - {"sessions"})
    line = ("sessions: a session corpus is exported at turn level by the sessions export"
            + (f" (asked for: {', '.join(mapped)})" if mapped else ""))
    return ("sessions",), line

def session_file(out_dir: Path, kind: str, split: str, session_id: str) -> Path:
    """``OUT/manifests/<kind>/<split>/<id>.<ext>`` (kind: rttm, uem, ctm, sessions)."""
    ext = {"sessions": "json"}.get(kind, kind)
    return Path(out_dir) / MANIFESTS / kind / split / f"{session_id}.{ext}"


def nemo_diarization_path(out_dir: Path, split: str) -> Path:
    return Path(out_dir) / MANIFESTS / "nemo" / f"diarization_{split}.json"


def lhotse_sessions_path(out_dir: Path, kind: str, split: str) -> Path:
    return Path(out_dir) / MANIFESTS / "lhotse" / f"sessions_{kind}_{split}.jsonl.gz"


def _t(x: float) -> str:
    return f"{x:.3f}"


def rttm_lines(session_id: str, segments: Iterable[list[Any]]) -> list[str]:
    """RTTM lines of ``[speaker, start_s, end_s]`` segments."""
    return [f"SPEAKER {session_id} 1 {_t(s)} {_t(e - s)} <NA> <NA> {spk} <NA> <NA>"
            for spk, s, e in segments]


def turn_ids(session_id: str, turns: list[dict[str, Any]]) -> list[str]:
    """Kaldi utterance ids of the turns: ``<session>-<speaker>-<turn index:04d>``."""
    return [f"{session_id}-{t['speaker']}-{k:04d}" for k, t in enumerate(turns)]


def seglst(session_id: str, turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The session's turns as SegLST entries (meeteval's reference format)."""
    return [{"session_id": session_id, "speaker": t["speaker"], "start_time": t["start_s"],
             "end_time": t["end_s"], "words": t["text"],
             "word_alignment": [[w, s, round(s + d, 3)] for w, s, d in t["words"]]}
            for t in turns]


class _PerSplit:
    """Lazily opened per-split files (Kaldi tables, NeMo and Lhotse manifests)."""

    def __init__(self, stack: contextlib.ExitStack, out_dir: Path) -> None:
        self.stack, self.out_dir = stack, out_dir
        self.files: dict[tuple[str, str], AtomicTextFile] = {}

    def __call__(self, split: str, name: str) -> AtomicTextFile:
        f = self.files.get((split, name))
        if f is None:
            if name == "nemo":
                path = nemo_diarization_path(self.out_dir, split)
            elif name in ("recordings", "supervisions"):
                path = lhotse_sessions_path(self.out_dir, name, split)
            else:
                path = self.out_dir / "data" / split / name
            f = self.files[(split, name)] = self.stack.enter_context(
                AtomicTextFile(path, gzip_output=path.name.endswith(".gz")))
        return f


def write_session_exports(out_dir: Path, records: Iterable[MetadataRecord],
                          absolute_paths: bool = False) -> dict[str, int]:
    """Write every file of the module docstring for the session records (streamed, one
    session at a time); return the sessions per split. Files of splits without sessions
    are removed."""
    out_dir = Path(out_dir)
    counts: dict[str, int] = {}
    with contextlib.ExitStack() as stack:
        out = _PerSplit(stack, out_dir)
        for rec in records:
            session = rec.extra.get("session")
            if not isinstance(session, dict):
                continue
            _write_one(out_dir, rec, session, out, absolute_paths)
            counts[rec.split] = counts.get(rec.split, 0) + 1
    if not counts:  # not a session corpus: leave its (utterance) exports alone
        return counts
    for split in counts:  # the utterance Kaldi export's files that do not apply to turns
        for name in OPTIONAL_FILES:
            (out_dir / "data" / split / name).unlink(missing_ok=True)
    for split in SPLITS:
        if split not in counts:
            for name in KALDI_FILES:
                (out_dir / "data" / split / name).unlink(missing_ok=True)
            nemo_diarization_path(out_dir, split).unlink(missing_ok=True)
            for kind in ("recordings", "supervisions"):
                lhotse_sessions_path(out_dir, kind, split).unlink(missing_ok=True)
    return counts


def _write_one(out_dir: Path, rec: MetadataRecord, session: dict[str, Any], out: _PerSplit,
               absolute_paths: bool) -> None:
    sid, split, turns = rec.id, rec.split, session["turns"]
    paths = {kind: session_file(out_dir, kind, split, sid)
             for kind in ("rttm", "uem", "ctm", "sessions")}
    rttm = rttm_lines(sid, session["segments"])
    write_text_atomic(paths["rttm"], "".join(line + "\n" for line in rttm))
    write_text_atomic(paths["uem"], f"{sid} 1 0.000 {_t(rec.duration_s)}\n")
    words = sorted((s, t["speaker"], d, w) for t in turns for w, s, d in t["words"])
    write_text_atomic(paths["ctm"], "".join(f"{sid} {spk} {_t(s)} {_t(d)} {w} 0\n"
                                            for s, spk, d, w in words))
    write_text_atomic(paths["sessions"], json.dumps(seglst(sid, turns), indent=1) + "\n")

    def absolute(path: Path) -> str:
        return os.path.abspath(path)

    out(split, "nemo").write_line(json.dumps({
        "audio_filepath": absolute(out_dir / rec.audio), "offset": 0.0,
        "duration": rec.duration_s, "label": "infer", "text": "-",
        "num_speakers": session["num_speakers"], "rttm_filepath": absolute(paths["rttm"]),
        "uem_filepath": absolute(paths["uem"]), "ctm_filepath": absolute(paths["ctm"])}))

    recording = lhotse_dicts(rec, out_dir)[0]
    recording["id"] = sid
    out(split, "recordings").write_line(json.dumps(recording, ensure_ascii=False))
    channel: int | list[int] = 0 if rec.num_channels == 1 else list(range(rec.num_channels))
    genders = {t["speaker"]: t["gender"] for t in session["talkers"]}
    ids = turn_ids(sid, turns)
    for uid, t in zip(ids, turns, strict=True):
        sup: dict[str, Any] = {
            "id": uid, "recording_id": sid, "start": t["start_s"],
            "duration": round(t["end_s"] - t["start_s"], 3), "channel": channel,
            "text": t["text"], "language": rec.lang, "speaker": t["speaker"]}
        if genders.get(t["speaker"]) is not None:
            sup["gender"] = genders[t["speaker"]]
        sup["custom"] = {"split": split, "session": sid, "kind": t["kind"]}
        sup["alignment"] = {"word": [[w, s, d, None] for w, s, d in t["words"]]}
        out(split, "supervisions").write_line(json.dumps(sup, ensure_ascii=False))

    rows = sorted(zip(ids, turns, strict=True), key=lambda r: r[0])
    out(split, "wav.scp").write_line(f"{sid} {wav_scp_entry(rec, out_dir, absolute_paths)}")
    out(split, "reco2dur").write_line(f"{sid} {format_seconds(rec.duration_s)}")
    out(split, "reco2file_and_channel").write_line(f"{sid} {sid} 1")
    for line in rttm:
        out(split, "rttm").write_line(line)
    speakers: dict[str, list[str]] = {}
    for uid, t in rows:
        out(split, "segments").write_line(
            f"{uid} {sid} {format_seconds(t['start_s'])} {format_seconds(t['end_s'])}")
        kaldi_speaker = f"{sid}-{t['speaker']}"
        out(split, "utt2spk").write_line(f"{uid} {kaldi_speaker}")
        out(split, "text").write_line(f"{uid} {t['text']}")
        out(split, "utt2dur").write_line(
            f"{uid} {format_seconds(round(t['end_s'] - t['start_s'], 3))}")
        speakers.setdefault(kaldi_speaker, []).append(uid)
    for spk in sorted(speakers):
        out(split, "spk2utt").write_line(f"{spk} {' '.join(speakers[spk])}")


def write_sessions(ctx: ExportContext) -> ExportOutcome:
    """The ``sessions`` export format (registry entry)."""
    counts = write_session_exports(ctx.out_dir, ctx.records(), ctx.absolute_paths)
    total = sum(counts.values())
    if not total:
        return ExportOutcome("sessions: no session records in this corpus, nothing written")
    per = ", ".join(f"{s} {n}" for s, n in counts.items())
    return ExportOutcome(f"sessions: RTTM, UEM, CTM, SegLST, NeMo, Lhotse and Kaldi for "
                         f"{total} sessions ({per}) under manifests/ and data/")

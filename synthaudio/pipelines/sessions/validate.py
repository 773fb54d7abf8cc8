"""``synthaudio validate`` for a session corpus: the ``sessions`` export against the records
and the audio (``metadata.jsonl`` itself is checked by :mod:`synthaudio.manifests.validate`).

Per session: the stems are as long as the mix, with its channels; the RTTM holds the
record's segments, inside the audio, by the record's talkers; the UEM covers the audio;
the CTM has every word; the SegLST every turn. Per split: the Kaldi directory reads
(:func:`synthaudio.io.kaldi.read_kaldi_dir`: segments inside their recordings) with one
utterance per turn; the NeMo manifest has one line per session with its duration.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import soundfile as sf

from synthaudio.errors import InputError
from synthaudio.io.kaldi import read_kaldi_dir
from synthaudio.io.metadata import MetadataRecord
from synthaudio.manifests.problem import Problem
from synthaudio.pipelines.sessions.export import nemo_diarization_path, rttm_lines, session_file

_TOL_S = 1e-3



def talkers(extra: Mapping[str, Any]) -> list[str] | None:
    """The speakers of a session record: its talkers (validate's speaker-split check);
    None when the record holds no session."""
    session = extra.get("session")
    return [str(t.get("speaker")) for t in session.get("talkers", ())] \
        if isinstance(session, dict) else None

def _check_session(out_dir: Path, rec: MetadataRecord, problems: list[Problem]) -> None:
    session = rec.extra["session"]
    mix = sf.info(str(out_dir / rec.audio))
    for name, rel in session["stems"].items():
        path = out_dir / rel
        try:
            info = sf.info(str(path))
        except (OSError, RuntimeError):
            problems.append(Problem(path, None, f"{rec.id}: stem {name} missing or unreadable"))
            continue
        if (info.frames, info.channels) != (mix.frames, mix.channels):
            problems.append(Problem(path, None, f"{rec.id}: stem {name} is {info.frames} x "
                                                f"{info.channels}, the mix {mix.frames} x "
                                                f"{mix.channels}"))
    duration = mix.frames / mix.samplerate
    rttm = session_file(out_dir, "rttm", rec.split, rec.id)
    talkers = {t["speaker"] for t in session["talkers"]}
    try:
        lines = rttm.read_text(encoding="utf-8").splitlines()
    except OSError:
        problems.append(Problem(rttm, None, f"{rec.id}: RTTM missing"))
        lines = []
    else:
        if lines != rttm_lines(rec.id, session["segments"]):
            problems.append(Problem(rttm, None, f"{rec.id}: RTTM differs from the record's "
                                                "segments"))
        for n, line in enumerate(lines, 1):
            f = line.split()
            if len(f) != 10 or f[0] != "SPEAKER" or f[1] != rec.id or f[7] not in talkers \
                    or float(f[3]) < 0 or float(f[3]) + float(f[4]) > duration + _TOL_S:
                problems.append(Problem(rttm, n, "not a segment of this session inside its "
                                                 f"audio ({duration:.3f} s)"))
    uem = session_file(out_dir, "uem", rec.split, rec.id)
    try:
        region = uem.read_text(encoding="utf-8").split()
        if region[:3] != [rec.id, "1", "0.000"] or abs(float(region[3]) - duration) > _TOL_S:
            problems.append(Problem(uem, 1, f"{rec.id}: UEM does not cover the audio"))
    except (OSError, IndexError, ValueError):
        problems.append(Problem(uem, None, f"{rec.id}: UEM missing or malformed"))
    words = sum(len(t["words"]) for t in session["turns"])
    ctm = session_file(out_dir, "ctm", rec.split, rec.id)
    seglst = session_file(out_dir, "sessions", rec.split, rec.id)
    try:
        if len(ctm.read_text(encoding="utf-8").splitlines()) != words:
            problems.append(Problem(ctm, None, f"{rec.id}: CTM does not have the {words} words"))
        if len(json.loads(seglst.read_text(encoding="utf-8"))) != len(session["turns"]):
            problems.append(Problem(seglst, None, f"{rec.id}: SegLST does not have the turns"))
    except (OSError, ValueError) as exc:
        problems.append(Problem(Path(getattr(exc, "filename", None) or seglst), None,
                                f"{rec.id}: unreadable ({exc})"))


def validate_sessions(out_dir: Path, records: Iterable[MetadataRecord]) -> list[Problem]:
    """Every problem of the ``sessions`` export of ``out_dir`` (empty when clean)."""
    out_dir = Path(out_dir)
    problems: list[Problem] = []
    turns: dict[str, int] = {}
    durations: dict[str, dict[str, float]] = {}
    for rec in records:
        _check_session(out_dir, rec, problems)
        turns[rec.split] = turns.get(rec.split, 0) + len(rec.extra["session"]["turns"])
        durations.setdefault(rec.split, {})[rec.id] = rec.duration_s
    for split, count in turns.items():
        data = out_dir / "data" / split
        try:
            kaldi = read_kaldi_dir(data)
            if len(kaldi) != count:
                problems.append(Problem(data / "segments", None, f"{len(kaldi)} utterances, "
                                        f"the sessions have {count} turns"))
        except InputError as exc:
            problems.append(Problem(data, None, str(exc)))
        nemo = nemo_diarization_path(out_dir, split)
        try:
            entries = [json.loads(line) for line in nemo.read_text(encoding="utf-8").splitlines()]
        except (OSError, ValueError):
            problems.append(Problem(nemo, None, "NeMo diarization manifest missing or malformed"))
            continue
        found = {Path(e["audio_filepath"]).stem: e["duration"] for e in entries}
        if set(found) != set(durations[split]) or any(
                abs(found[k] - d) > _TOL_S for k, d in durations[split].items()):
            problems.append(Problem(nemo, None, "NeMo manifest does not list the sessions of "
                                                f"split {split} with their durations"))
    return problems

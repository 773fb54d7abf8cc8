"""Scoring a diarization or multi-talker ASR system on a session corpus.

- **DER** and **JER** with ``pyannote.metrics`` (``DiarizationErrorRate``,
  ``JaccardErrorRate``): the reference RTTM and UEM files of a split
  (``OUT/manifests/{rttm,uem}/<split>/``) against a system's RTTM, ``hyp:FILE`` (one file
  with lines for any number of sessions). ``collar`` is pyannote's: the total width
  removed around each reference boundary (``collar / 2`` on each side; md-eval's
  ``-c 0.25`` is ``collar=0.5`` here); ``skip_overlap`` leaves overlapped speech unscored.
- **cpWER** with ``meeteval``: the reference SegLST files (``OUT/manifests/sessions/``)
  against a system's transcripts, ``hyp:FILE`` (SegLST JSON or STM), or against an ASR's
  transcripts of the reference turns, ``asr:SPEC`` (``asr:faster-whisper[:MODEL]``,
  ``asr:pocketsphinx``): oracle segmentation and speakers, so the figure is the ASR's on
  conversational, overlapped and reverberant speech; both sides through the English WER
  normalizer, the hypotheses kept as ``OUT/eval/<name>/hyp-asr.json`` (SegLST).

Needs the ``sessions`` extra (``pip install 'synthaudio[sessions]'``). The scores go to
``OUT/eval/<name>/scores.json`` and come back as :class:`SessionScores`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthaudio.errors import ConfigError, InputError
from synthaudio.io.fileio import write_text_atomic
from synthaudio.io.metadata import iter_metadata
from synthaudio.pipelines.sessions.export import session_file


@dataclass(frozen=True)
class SessionScores:
    split: str
    sessions: int
    der: float | None = None  # over the split: (missed + false alarm + confusion) / total
    jer: float | None = None
    cpwer: float | None = None  # errors / reference words over the split
    details: dict[str, Any] = field(default_factory=dict)  # components, per session

    def format(self) -> str:
        parts = [f"{name} {100 * v:.2f} %" for name, v in
                 (("DER", self.der), ("JER", self.jer), ("cpWER", self.cpwer)) if v is not None]
        notes = [n for key in ("diarization", "transcripts")
                 for n in self.details.get(key, {}).get("notes", [])]
        return "\n".join([f"{self.split}: {self.sessions} sessions: " + ", ".join(parts),
                          *notes])


def _imports() -> Any:
    try:
        import meeteval  # noqa: F401
        import pyannote.database.util  # noqa: F401
        import pyannote.metrics  # noqa: F401
    except ImportError as exc:
        raise ConfigError(f"session scoring needs the sessions extra ({exc.name} is missing): "
                          "pip install 'synthaudio[sessions]'") from None


def _hyp_path(hyp: str, what: str) -> Path:
    if not hyp.startswith("hyp:") or len(hyp) == 4:
        also = " or asr:SPEC" if what == "--transcripts" else ""
        raise ConfigError(f"{what}: expected hyp:FILE{also}, got {hyp!r}")
    path = Path(hyp[4:])
    if not path.is_file():
        raise InputError(f"{path}: {what} file not found")
    return path


def _lines(path: Path, what: str) -> list[tuple[int, list[str]]]:
    """(line number, fields) of the non-empty, non-comment lines of a text file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the {what} file: {exc}") from None
    return [(n, line.split()) for n, line in enumerate(text.splitlines(), 1)
            if line.strip() and not line.lstrip().startswith(("#", ";;"))]


def _number(path: Path, line: int, field: int, name: str, text: str,
            minimum: float = 0.0) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < minimum:
        raise InputError(f"{path}:{line}: field {field} ({name}): expected a number >= "
                         f"{minimum:g}, got {text!r}")
    return value


def load_rttm(path: Path) -> dict[str, Any]:
    """``{uri: pyannote.core.Annotation}`` of the ``SPEAKER`` lines of an RTTM file
    (``SPEAKER <file> <channel> <start> <duration> <NA> <NA> <speaker> <NA> <NA>``; other
    line types are not speech turns and are passed over). Strict: InputError naming the
    line and field of a short line, a time that is no number, a negative duration."""
    from pyannote.core import Annotation, Segment

    out: dict[str, Any] = {}
    for n, fields in _lines(path, "RTTM"):
        if fields[0] != "SPEAKER":
            if fields[0].isupper() and len(fields) >= 5:
                continue  # SPKR-INFO, LEXEME, NON-SPEECH...: no speaker turn
            raise InputError(f"{path}:{n}: field 1 (type): expected SPEAKER, got "
                             f"{fields[0]!r} (not an RTTM line)")
        if len(fields) < 8:
            raise InputError(f"{path}:{n}: {len(fields)} fields, an RTTM SPEAKER line has 10 "
                             "(SPEAKER file channel start duration <NA> <NA> speaker <NA> <NA>)")
        start = _number(path, n, 4, "start", fields[3])
        duration = _number(path, n, 5, "duration", fields[4])
        uri, speaker = fields[1], fields[7]
        annotation = out.setdefault(uri, Annotation(uri=uri))
        if duration > 0:
            annotation[Segment(start, start + duration), n] = speaker
    return out


def load_uem(path: Path) -> dict[str, Any]:
    """``{uri: pyannote.core.Timeline}`` of a UEM file (``<file> <channel> <start> <end>``);
    InputError naming the line and field of a bad one."""
    from pyannote.core import Segment, Timeline

    out: dict[str, Any] = {}
    for n, fields in _lines(path, "UEM"):
        if len(fields) != 4:
            raise InputError(f"{path}:{n}: {len(fields)} fields, a UEM line has 4 (file "
                             "channel start end)")
        start = _number(path, n, 3, "start", fields[2])
        end = _number(path, n, 4, "end", fields[3], minimum=start)
        out.setdefault(fields[0], Timeline(uri=fields[0])).add(Segment(start, end))
    return out


SEGLST_KEYS: dict[str, type | tuple[type, ...]] = {
    "session_id": str, "speaker": str, "start_time": (int, float), "end_time": (int, float),
    "words": str}


def load_seglst(path: Path) -> list[dict[str, Any]]:
    """The entries of a SegLST JSON file (a list of objects with ``session_id``,
    ``speaker``, ``start_time``, ``end_time``, ``words``); InputError naming the entry and
    field of a bad one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the SegLST file: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    if not isinstance(data, list):
        raise InputError(f"{path}: a SegLST file is a JSON list of segments, got "
                         f"{type(data).__name__}")
    for i, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise InputError(f"{path}: entry {i}: expected an object, got {entry!r:.40}")
        for key, kind in SEGLST_KEYS.items():
            value = entry.get(key)
            bad = key not in entry or isinstance(value, bool) or not isinstance(value, kind)
            if not bad and kind is not str:
                bad = not math.isfinite(entry[key])
            if bad:
                raise InputError(f"{path}: entry {i}: {key}: expected a "
                                 f"{'string' if kind is str else 'number'}, got "
                                 f"{'nothing' if key not in entry else repr(value)}")
        if entry["end_time"] < entry["start_time"]:
            raise InputError(f"{path}: entry {i}: end_time {entry['end_time']} is before "
                             f"start_time {entry['start_time']}")
    return data


def diarization_scores(reference: dict[str, Any], hypothesis: dict[str, Any],
                       uems: dict[str, Any], collar: float = 0.0,
                       skip_overlap: bool = False) -> dict[str, Any]:
    """DER and JER over the sessions of ``reference`` (a session missing from
    ``hypothesis`` is scored as all missed); the components and per-session values."""
    from pyannote.core import Annotation
    from pyannote.metrics.diarization import DiarizationErrorRate, JaccardErrorRate

    der: Any = DiarizationErrorRate(collar=collar, skip_overlap=skip_overlap)
    jer: Any = JaccardErrorRate(collar=collar, skip_overlap=skip_overlap)
    per: dict[str, dict[str, float]] = {}
    for uri in sorted(reference):
        hyp = hypothesis.get(uri, Annotation(uri=uri))
        per[uri] = {"der": float(der(reference[uri], hyp, uem=uems.get(uri))),
                    "jer": float(jer(reference[uri], hyp, uem=uems.get(uri)))}
    components = {k: float(der[k]) for k in ("missed detection", "false alarm", "confusion",
                                               "total")}
    notes = [] if set(reference) & set(hypothesis) else [
        f"note: the system's RTTM names none of the {len(reference)} reference sessions "
        f"({', '.join(sorted(hypothesis)[:3]) or 'no SPEAKER line'}): everything is missed"]
    return {"der": float(abs(der)), "jer": float(abs(jer)), "components": components,
            "sessions": per, "collar": collar, "skip_overlap": skip_overlap,
            "unknown_sessions": sorted(set(hypothesis) - set(reference)), "notes": notes}


def cpwer_scores(reference: Sequence[dict[str, Any]], hypothesis_path: Path) -> dict[str, Any]:
    """cpWER of a hypothesis file (SegLST JSON or STM) against SegLST reference entries."""
    from meeteval.io import STM, SegLST
    from meeteval.wer import cpwer

    ref = SegLST([{k: e[k] for k in ("session_id", "speaker", "start_time", "end_time",
                                     "words")} for e in reference])
    try:
        hyp = (STM.load(hypothesis_path).to_seglst() if hypothesis_path.suffix == ".stm"
               else SegLST(load_seglst(hypothesis_path)))
    except (ValueError, KeyError, TypeError, OSError, IndexError) as exc:
        raise InputError(f"{hypothesis_path}: not a SegLST or STM file ({exc})") from None
    ref_ids = {e["session_id"] for e in reference}
    hyp_ids = {e["session_id"] for e in hyp}
    notes = []
    if hyp_ids - ref_ids:  # scored as diarization does: sessions outside the split ignored
        hyp = hyp.filter(lambda e: e["session_id"] in ref_ids)
        notes.append(f"note: {len(hyp_ids - ref_ids)} sessions of {hypothesis_path} are not "
                     f"in the reference split ({', '.join(sorted(hyp_ids - ref_ids)[:3])}): "
                     "not scored")
    if not hyp_ids & ref_ids:
        notes.append(f"note: {hypothesis_path} names none of the reference's sessions: every "
                     "reference word counts as an error")
    missing = sorted(ref_ids - hyp_ids)
    if missing:  # a session the system left out: nothing recognized, all its words missed
        hyp = SegLST([*hyp, *({"session_id": sid, "speaker": "<none>", "start_time": 0.0,
                               "end_time": 0.0, "words": ""} for sid in missing)])
    per = cpwer(ref, hyp)
    errors = sum(r.errors for r in per.values())
    length = sum(r.length for r in per.values())
    return {"cpwer": errors / length if length else 0.0, "errors": errors, "words": length,
            "notes": notes,
            "sessions": {k: {"cpwer": float(r.error_rate) if r.error_rate is not None else 0.0,
                             "errors": r.errors, "words": r.length} for k, r in per.items()}}


def asr_transcripts(out_dir: Path, records: Sequence[Any], entries: Sequence[dict[str, Any]],
                    spec: str) -> list[dict[str, Any]]:
    """SegLST hypotheses of an ASR (``make_backend`` spec) over each reference turn's span
    of its session's mix (oracle segmentation and speaker labels)."""
    import soundfile as sf

    from synthaudio.evaluate.asr import make_backend

    backend = make_backend(spec)
    audio_of = {r.id: out_dir / r.audio for r in records}
    hyps: list[dict[str, Any]] = []
    loaded: tuple[str, Any, int] | None = None
    for e in entries:
        sid = e["session_id"]
        if loaded is None or loaded[0] != sid:
            try:
                data, sr = sf.read(audio_of[sid], dtype="float32", always_2d=True)
            except (OSError, RuntimeError, KeyError) as exc:
                raise InputError(f"{audio_of.get(sid, sid)}: cannot read the session audio "
                                 f"({exc})") from None
            loaded = (sid, data.T, sr)
        _, audio, sr = loaded
        start, end = int(round(e["start_time"] * sr)), int(round(e["end_time"] * sr))
        words = backend.transcribe(audio[:, max(start, 0):max(end, start)], sr)
        hyps.append({k: e[k] for k in ("session_id", "speaker", "start_time", "end_time")}
                    | {"words": words})
    return hyps


def evaluate_sessions(out_dir: Path, *, diarization: str | None = None,
                      transcripts: str | None = None, split: str = "test",
                      collar: float = 0.0, skip_overlap: bool = False,
                      name: str = "sessions") -> SessionScores:
    """Score ``hyp:FILE`` diarization (RTTM) and/or transcripts (``hyp:FILE`` SegLST/STM,
    or ``asr:SPEC`` an ASR over the reference turns) on ``split``.

    Raises:
        ConfigError: nothing to score, a bad ``hyp:`` spec or collar, a missing extra.
        InputError: no session of ``split`` in OUT, an unreadable file.
    """
    from synthaudio.run.outdir import check_inside

    if diarization is None and transcripts is None:
        raise ConfigError("give --diarization hyp:FILE.rttm and/or --transcripts hyp:FILE")
    results = check_inside(Path(out_dir) / "eval", name, "--name")  # never outside OUT
    if not 0.0 <= collar <= 10.0:
        raise ConfigError(f"--collar must be within 0..10 s, got {collar}")
    _imports()
    out_dir = Path(out_dir)
    records = [r for r in iter_metadata(out_dir) if r.split == split and "session" in r.extra]
    if not records:
        raise InputError(f"{out_dir}: no sessions in split {split!r}")
    scores: dict[str, Any] = {"split": split, "sessions": len(records)}
    der = jer = cpwer = None
    if diarization is not None:
        reference: dict[str, Any] = {}
        uems: dict[str, Any] = {}
        for r in records:
            reference.update(load_rttm(session_file(out_dir, "rttm", split, r.id)))
            uems.update(load_uem(session_file(out_dir, "uem", split, r.id)))
        for r in records:  # a session with no speech at all still has an (empty) reference
            if r.id not in reference:
                from pyannote.core import Annotation
                reference[r.id] = Annotation(uri=r.id)
        result = diarization_scores(reference, load_rttm(_hyp_path(diarization, "--diarization")),
                                    uems, collar, skip_overlap)
        der, jer = result["der"], result["jer"]
        scores["diarization"] = result
    if transcripts is not None:
        entries: list[dict[str, Any]] = []
        for r in records:
            entries += json.loads(session_file(out_dir, "sessions", split, r.id).read_text(
                encoding="utf-8"))
        if transcripts.startswith("asr:") and len(transcripts) > 4:
            from synthaudio.evaluate.normalizer import EnglishEvalNormalizer

            english = EnglishEvalNormalizer()
            hyps = asr_transcripts(out_dir, records, entries, transcripts[4:])
            hyp_file = results / "hyp-asr.json"
            write_text_atomic(hyp_file, json.dumps(hyps, indent=1) + "\n")
            scored = results / "hyp-asr-normalized.json"
            write_text_atomic(scored, json.dumps(
                [h | {"words": english(h["words"])} for h in hyps], indent=1) + "\n")
            entries = [e | {"words": english(e["words"])} for e in entries]
            result = cpwer_scores(entries, scored) | {"asr": transcripts[4:]}
        else:
            result = cpwer_scores(entries, _hyp_path(transcripts, "--transcripts"))
        cpwer = result["cpwer"]
        scores["transcripts"] = result
    write_text_atomic(results / "scores.json",
                      json.dumps(scores, indent=1, sort_keys=True) + "\n")
    return SessionScores(split, len(records), der, jer, cpwer, scores)

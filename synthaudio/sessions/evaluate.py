"""Scoring a diarization or multi-talker ASR system on a session corpus.

- **DER** and **JER** with ``pyannote.metrics`` (``DiarizationErrorRate``,
  ``JaccardErrorRate``): the reference RTTM and UEM files of a split
  (``OUT/manifests/{rttm,uem}/<split>/``) against a system's RTTM, ``hyp:FILE`` (one file
  with lines for any number of sessions). ``collar`` is pyannote's: the total width
  removed around each reference boundary (``collar / 2`` on each side; md-eval's
  ``-c 0.25`` is ``collar=0.5`` here); ``skip_overlap`` leaves overlapped speech unscored.
- **cpWER** with ``meeteval``: the reference SegLST files (``OUT/manifests/sessions/``)
  against a system's transcripts, ``hyp:FILE`` (SegLST JSON or STM).

Needs the ``sessions`` extra (``pip install 'synthaudio[sessions]'``). The scores go to
``OUT/eval/<name>/scores.json`` and come back as :class:`SessionScores`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthaudio.errors import ConfigError, InputError
from synthaudio.fileio import write_text_atomic
from synthaudio.manifests.metadata import iter_metadata
from synthaudio.sessions.export import session_file


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
        return f"{self.split}: {self.sessions} sessions: " + ", ".join(parts)


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
        raise ConfigError(f"{what}: expected hyp:FILE, got {hyp!r}")
    path = Path(hyp[4:])
    if not path.is_file():
        raise InputError(f"{path}: {what} file not found")
    return path


def load_rttm(path: Path) -> dict[str, Any]:
    """``{uri: pyannote.core.Annotation}`` of an RTTM file (pyannote.database's reader);
    InputError naming the file when it cannot be parsed."""
    from pyannote.database.util import load_rttm as pyannote_load_rttm

    try:
        return dict(pyannote_load_rttm(str(path)))
    except (ValueError, KeyError, IndexError, OSError) as exc:
        raise InputError(f"{path}: not a readable RTTM file ({exc})") from None


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
    return {"der": float(abs(der)), "jer": float(abs(jer)), "components": components,
            "sessions": per, "collar": collar, "skip_overlap": skip_overlap,
            "unknown_sessions": sorted(set(hypothesis) - set(reference))}


def cpwer_scores(reference: Sequence[dict[str, Any]], hypothesis_path: Path) -> dict[str, Any]:
    """cpWER of a hypothesis file (SegLST JSON or STM) against SegLST reference entries."""
    from meeteval.io import STM, SegLST
    from meeteval.wer import cpwer

    ref = SegLST([{k: e[k] for k in ("session_id", "speaker", "start_time", "end_time",
                                     "words")} for e in reference])
    try:
        hyp = (STM.load(hypothesis_path).to_seglst() if hypothesis_path.suffix == ".stm"
               else SegLST.load(hypothesis_path))
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise InputError(f"{hypothesis_path}: not a SegLST or STM file ({exc})") from None
    per = cpwer(ref, hyp)
    errors = sum(r.errors for r in per.values())
    length = sum(r.length for r in per.values())
    return {"cpwer": errors / length if length else 0.0, "errors": errors, "words": length,
            "sessions": {k: {"cpwer": float(r.error_rate) if r.error_rate is not None else 0.0,
                             "errors": r.errors, "words": r.length} for k, r in per.items()}}


def evaluate_sessions(out_dir: Path, *, diarization: str | None = None,
                      transcripts: str | None = None, split: str = "test",
                      collar: float = 0.0, skip_overlap: bool = False,
                      name: str = "sessions") -> SessionScores:
    """Score ``hyp:FILE`` diarization (RTTM) and/or transcripts (SegLST/STM) on ``split``.

    Raises:
        ConfigError: nothing to score, a bad ``hyp:`` spec or collar, a missing extra.
        InputError: no session of ``split`` in OUT, an unreadable file.
    """
    from synthaudio.corpus.outdir import check_inside

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
        from pyannote.database.util import load_uem

        reference: dict[str, Any] = {}
        uems: dict[str, Any] = {}
        for r in records:
            reference.update(load_rttm(session_file(out_dir, "rttm", split, r.id)))
            uems.update(load_uem(str(session_file(out_dir, "uem", split, r.id))))
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
        result = cpwer_scores(entries, _hyp_path(transcripts, "--transcripts"))
        cpwer = result["cpwer"]
        scores["transcripts"] = result
    write_text_atomic(results / "scores.json",
                      json.dumps(scores, indent=1, sort_keys=True) + "\n")
    return SessionScores(split, len(records), der, jer, cpwer, scores)

"""Evaluate a corpus (or a Kaldi directory) with an ASR backend and write ``OUT/eval/NAME/``.

Outputs, all sorted by utterance id and byte-identical between runs with the same inputs:

- ``hyp.txt``: normalized hypotheses, Kaldi text format (``<id> <words>``).
- ``per_utt.jsonl``: id, reference, hypothesis, errors, char_errors, wer, cer, alignment,
  conditions (and ``gate`` when a quality gate is set).
- ``summary.json``: pooled WER/CER and one breakdown table per condition.
- ``gate_failed.txt``: with a gate only: ``<id> <reason>`` per failing utterance.
- ``lm/``: with ``pocketsphinx:corpus-lm`` only: the ARPA model, dictionary and OOV list.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from synthaudio.errors import InputError
from synthaudio.evaluate.asr import ASRBackend, HypFileBackend, corpus_lm_backend, make_backend
from synthaudio.evaluate.conditions import CONDITION_KEYS, length_bucket, sort_buckets
from synthaudio.evaluate.conditions import utterance_conditions as metadata_conditions
from synthaudio.evaluate.normalizer import EnglishEvalNormalizer, EvalNormalizer
from synthaudio.evaluate.scoring import Scores, breakdown, pool, score_utterance
from synthaudio.io.fileio import load_audio, write_text_atomic
from synthaudio.io.kaldi import list_kaldi_dir
from synthaudio.io.metadata import read_metadata
from synthaudio.run.executors import check_executor, run_tasks
from synthaudio.run.progress import progress_bar

GATE_KEYS = ("max_cer", "max_wer")
_NORMALIZE = EvalNormalizer()


@dataclass(frozen=True)
class _Item:
    id: str
    audio_path: Path
    reference: str  # normalized
    conditions: dict[str, str]
    where: str  # source line, for error messages
    segment: tuple[float, float | None] | None = None  # Kaldi segments: (start_s, end_s)


@dataclass(frozen=True)
class EvalSummary:
    """What one evaluation run found; `to_dict` is the content of summary.json."""

    name: str
    asr: str
    split: str | None  # None for a Kaldi directory
    eval_dir: Path
    overall: Scores
    breakdowns: dict[str, dict[str, Scores]]
    gate: dict[str, float] | None = None
    gate_failed: tuple[str, ...] = ()
    oov_words: tuple[str, ...] = field(default=())  # corpus-lm words without pronunciation
    # hyp:FILE ids that are not utterances of what was scored (left out, said in a note)
    unused_hypotheses: tuple[str, ...] = field(default=())
    # the same hypotheses scored after EnglishEvalNormalizer on both sides (numbers,
    # contractions, spellings, hesitations); None where it was not computed
    english: Scores | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "asr": self.asr,
            "split": self.split,
            "normalizer": "EvalNormalizer: lower-case, no punctuation, no fillers",
            "num_utterances": self.overall.count,
            "overall": self.overall.to_dict(),
            **({"english_normalized": {
                "normalizer": "EnglishEvalNormalizer: number words as digits, contractions "
                              "expanded, American spelling, no hesitations",
                "overall": self.english.to_dict()}} if self.english is not None else {}),
            "breakdown": {
                key: {b: s.to_dict() for b, s in buckets.items()}
                for key, buckets in self.breakdowns.items()
            },
            "gate": None if self.gate is None else {**self.gate, "failed": len(self.gate_failed)},
            "lm_oov_words": list(self.oov_words),
            **({"unused_hypotheses": list(self.unused_hypotheses)}
               if self.unused_hypotheses else {}),
        }


def parse_gate(spec: str | Sequence[str]) -> dict[str, float]:
    """``"max_cer=0.5"`` (or several, comma-separated or as a list) -> ``{"max_cer": 0.5}``."""
    parts = [spec] if isinstance(spec, str) else list(spec)
    gate: dict[str, float] = {}
    for part in (p.strip() for s in parts for p in s.split(",")):
        key, sep, value = part.partition("=")
        if not sep:
            raise InputError(f"--gate {part!r}: expected KEY=VALUE, e.g. max_cer=0.5")
        gate[key.strip()] = _gate_value(key.strip(), value.strip())
    return _check_gate(gate)


def _gate_value(key: str, value: Any) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError) as e:
        raise InputError(f"gate {key}: {value!r} is not a number") from e
    if not math.isfinite(x) or x < 0:
        raise InputError(f"gate {key}: must be a non-negative number, got {value!r}")
    return x


def _check_gate(gate: Mapping[str, Any]) -> dict[str, float]:
    for key in gate:
        if key not in GATE_KEYS:
            raise InputError(f"gate {key!r}: unknown key (known: {', '.join(GATE_KEYS)})")
    if not gate:
        raise InputError(f"gate: empty (known keys: {', '.join(GATE_KEYS)})")
    return {k: _gate_value(k, gate[k]) for k in sorted(gate)}


def gate_reason(wer: float, cer: float, gate: Mapping[str, float]) -> str | None:
    """Why an utterance fails the gate ("cer 0.62 > 0.50"), or None when it passes."""
    reasons = []
    if "max_cer" in gate and cer > gate["max_cer"]:
        reasons.append(f"cer {cer:.2f} > {gate['max_cer']:.2f}")
    if "max_wer" in gate and wer > gate["max_wer"]:
        reasons.append(f"wer {wer:.2f} > {gate['max_wer']:.2f}")
    return "; ".join(reasons) if reasons else None


def transcribe_clean(
    audio: np.ndarray, sample_rate: int, backend: ASRBackend, reference: str
) -> tuple[str, float]:
    """Normalized hypothesis of one utterance and its CER against ``reference``.

    For the generator's quality gate: re-draw an utterance whose CER is too high.
    """
    hyp = _NORMALIZE(backend.transcribe(audio, sample_rate))
    return hyp, score_utterance("", _NORMALIZE(reference), hyp).cer


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._]+", "-", text).strip("-.") or "eval"


def _default_name(asr: str) -> str:
    kind, _, arg = asr.partition(":")
    if kind == "hyp":
        return _slug(f"hyp-{Path(arg).stem}")
    return _slug(asr)


def _check_name(name: str) -> str:
    if not name or name in (".", "..") or "/" in name or "\\" in name:
        raise InputError(f"eval name {name!r}: must be a plain folder name")
    return name


def _worker_backend(backend: ASRBackend) -> ASRBackend:
    """Per-worker state: the backend, sent once per worker (it loads lazily, there)."""
    return backend


_Work = tuple[str, Path, str, tuple[float, float | None] | None]  # id, audio, where, segment


def _decode_chunk(backend: ASRBackend, chunk: Sequence[_Work]) -> list[tuple[str, str]]:
    return [_decode(backend, item) for item in chunk]


def _decode(backend: ASRBackend, item: _Work) -> tuple[str, str]:
    utt_id, path, where, segment = item
    audio, sample_rate = load_audio(path, where, segment)
    return utt_id, backend.transcribe(audio, sample_rate)


def _decode_all(items: Sequence[_Item], backend: ASRBackend, jobs: int,
                executor: str = "local", ray_address: str | None = None,
                progress: bool = False) -> dict[str, str]:
    if isinstance(backend, HypFileBackend):
        backend.check_ids([it.id for it in items])
        return {it.id: backend.hypothesis(it.id) for it in items}
    work = [(it.id, it.audio_path, it.where, it.segment) for it in items]
    # backends load lazily, so the parent holds no decoder (nor torch threads) when the
    # local pool forks; chunks of work keep the per-task overhead small
    size = 1 if jobs <= 1 else max(1, min(32, len(work) // (jobs * 4)))
    hyps: dict[str, str] = {}

    with progress_bar(len(work), "evaluate", progress=progress) as bar:

        def collect(chunk: list[tuple[str, str]]) -> None:
            hyps.update(chunk)
            bar.update(len(chunk))

        run_tasks(_decode_chunk, (work[i:i + size] for i in range(0, len(work), size)),
                  collect, jobs=min(jobs, max(1, len(work))), init=_worker_backend,
                  init_args=(backend,), executor=executor, ray_address=ray_address)
    return hyps


def _run(
    items: list[_Item],
    eval_dir: Path,
    asr: str,
    name: str,
    split: str | None,
    jobs: int,
    gate: Mapping[str, Any] | None,
    executor: str = "local",
    ray_address: str | None = None,
    progress: bool = False,
) -> EvalSummary:
    if jobs < 1:
        raise InputError(f"jobs: must be at least 1, got {jobs}")
    check_executor(executor)
    checked_gate = _check_gate(gate) if gate is not None else None
    oov: tuple[str, ...] = ()
    if asr == "pocketsphinx:corpus-lm":
        backend: ASRBackend
        backend, lm = corpus_lm_backend([it.reference for it in items], eval_dir / "lm")
        oov = lm.oov_words
    else:
        backend = make_backend(asr)
    unused = backend.unused_ids([it.id for it in items]) \
        if isinstance(backend, HypFileBackend) else []
    hyps = _decode_all(items, backend, jobs, executor, ray_address, progress)

    records: list[dict[str, Any]] = []
    english_records: list[dict[str, Any]] = []
    english = EnglishEvalNormalizer()
    failed: list[str] = []
    for it in sorted(items, key=lambda i: i.id):
        english_records.append(score_utterance(it.id, english(it.reference),
                                               english(hyps[it.id])).to_record())
        utt = score_utterance(it.id, it.reference, _NORMALIZE(hyps[it.id]))
        rec = utt.to_record()
        rec["conditions"] = it.conditions
        if checked_gate is not None:
            reason = gate_reason(utt.wer, utt.cer, checked_gate)
            rec["gate"] = "pass" if reason is None else f"fail: {reason}"
            if reason is not None:
                failed.append(f"{it.id} {reason}")
        records.append(rec)

    keys = [k for k in CONDITION_KEYS if any(k in r["conditions"] for r in records)]
    tables = {}
    for key in keys:
        table = breakdown(records, key)
        tables[key] = {b: table[b] for b in sort_buckets(key, table)}
    summary = EvalSummary(
        name=name,
        asr=asr,
        split=split,
        eval_dir=eval_dir,
        overall=pool(records),
        breakdowns=tables,
        gate=checked_gate,
        gate_failed=tuple(failed),
        oov_words=oov,
        unused_hypotheses=tuple(unused),
        english=pool(english_records),
    )

    write_text_atomic(
        eval_dir / "hyp.txt",
        "".join(f"{r['id']} {r['hypothesis']}".rstrip() + "\n" for r in records),
    )
    write_text_atomic(
        eval_dir / "per_utt.jsonl",
        "".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in records),
    )
    write_text_atomic(
        eval_dir / "summary.json",
        # Key order is fixed by construction; buckets keep their natural order (not sorted).
        json.dumps(summary.to_dict(), indent=2, ensure_ascii=False) + "\n",
    )
    gate_file = eval_dir / "gate_failed.txt"
    if checked_gate is not None:
        write_text_atomic(gate_file, "".join(line + "\n" for line in failed))
    else:
        gate_file.unlink(missing_ok=True)
    return summary


def evaluate_corpus(
    out_dir: Path | str,
    split: str = "test",
    asr: str = "pocketsphinx",
    name: str | None = None,
    jobs: int = 1,
    gate: Mapping[str, Any] | None = None,
    executor: str = "local",
    ray_address: str | None = None,
    progress: bool = False,
) -> EvalSummary:
    """Decode one split of a synthaudio corpus and score it against ``metadata.jsonl``.

    Args:
        out_dir: the corpus folder (holds metadata.jsonl).
        split: "train", "dev" or "test".
        asr: backend spec, see `asr.make_backend`.
        name: output folder under ``out_dir/eval``; default from ``asr`` and ``split``.
        jobs: decoder processes.
        gate: e.g. ``{"max_cer": 0.5}``: mark and list utterances above the limit.
        executor: "local" (a process pool of ``jobs`` decoders) or "ray" (tasks on the Ray
            cluster at ``ray_address``, or a local Ray instance with ``jobs`` CPUs); the
            files written are the same.
    """
    out = Path(out_dir)
    records = [r for r in read_metadata(out) if r.data.get("split") == split]
    if not records:
        raise InputError(f"{out / 'metadata.jsonl'}: no utterances in split {split!r}")
    items = [
        _Item(
            id=r.id,
            audio_path=out / str(r.data["audio"]),
            reference=_NORMALIZE(str(r.data["text"])),
            conditions=metadata_conditions(r.data),
            where=r.where,
        )
        for r in records
    ]
    eval_name = _check_name(name if name is not None else f"{_default_name(asr)}-{split}")
    return _run(items, out / "eval" / eval_name, asr, eval_name, split, jobs, gate, executor,
                ray_address, progress)


def evaluate_kaldi_dir(
    kaldi_dir: Path | str,
    out_dir: Path | str | None = None,
    asr: str = "pocketsphinx",
    name: str | None = None,
    jobs: int = 1,
    gate: Mapping[str, Any] | None = None,
    executor: str = "local",
    ray_address: str | None = None,
    progress: bool = False,
) -> EvalSummary:
    """Evaluate a plain Kaldi data directory (``wav.scp`` with file paths, ``text``).

    Results go to ``out_dir/eval/NAME/`` (``out_dir`` defaults to ``kaldi_dir``). Conditions
    are the speaker (``utt2spk``), gender (``spk2gender``) and length; the synthesis and
    augmentation conditions are unknown for such a directory and left out. ``jobs``,
    ``executor`` and ``ray_address`` as in :func:`evaluate_corpus`.
    """
    kdir = Path(kaldi_dir)
    items = []
    for u in list_kaldi_dir(kdir):
        ref = _NORMALIZE(u.text)
        conditions = {
            "speaker": u.speaker or "unknown",
            "gender": u.gender or "unknown",
            "length": length_bucket(len(ref.split())),
        }
        segment = (u.start_s, u.end_s) if u.start_s or u.end_s is not None else None
        items.append(_Item(u.id, u.wav_path, ref, conditions, u.where, segment))
    eval_name = _check_name(name if name is not None else _default_name(asr))
    base = Path(out_dir) if out_dir is not None else kdir
    return _run(items, base / "eval" / eval_name, asr, eval_name, None, jobs, gate, executor,
                ray_address, progress)


def _pct(x: float) -> str:
    return f"{100.0 * x:6.2f}%"


def format_table(summary: EvalSummary | Mapping[str, Any], max_buckets: int = 20) -> str:
    """Readable text tables of an evaluation (an `EvalSummary` or a loaded summary.json)."""
    d = summary.to_dict() if isinstance(summary, EvalSummary) else summary
    o = d["overall"]
    split = f", split {d['split']}" if d.get("split") else ""
    lines = [
        f"eval {d['name']} (asr {d['asr']}{split}, {d['num_utterances']} utterances)",
        f"overall  WER {_pct(o['wer'])}  CER {_pct(o['cer'])}  "
        f"(H {o['hits']} S {o['substitutions']} D {o['deletions']} I {o['insertions']}, "
        f"{o['ref_words']} reference words)",
    ]
    eng = d.get("english_normalized")
    if eng:
        e = eng["overall"]
        lines.append(f"english  WER {_pct(e['wer'])}  CER {_pct(e['cer'])}  (numbers as digits, "
                     "contractions, spellings, hesitations normalized)")
    gate = d.get("gate")
    if gate:
        limits = ", ".join(f"{k} {v}" for k, v in sorted(gate.items()) if k != "failed")
        lines.append(f"gate     {limits}: {gate['failed']} utterance(s) failed")
    if d.get("lm_oov_words"):
        lines.append(f"corpus LM: {len(d['lm_oov_words'])} word(s) without pronunciation left out")
    unused = d.get("unused_hypotheses")
    if unused:
        shown = ", ".join(unused[:5]) + (", ..." if len(unused) > 5 else "")
        where = f"split {d['split']}" if d.get("split") else "the data directory"
        lines.append(f"note: {len(unused)} hypothesis id(s) of {d['asr']} are not in "
                     f"{where} and were not scored: {shown}")
    for key, buckets in d["breakdown"].items():
        lines.append("")
        width = max([len(key), *(len(b) for b in buckets)])
        lines.append(f"{key:<{width}}  {'utts':>6}  {'words':>7}  {'WER':>7}  {'CER':>7}")
        if len(buckets) > max_buckets:
            lines.append(f"{'':<{width}}  ({len(buckets)} buckets; see summary.json)")
            continue
        for bucket, s in buckets.items():
            lines.append(
                f"{bucket:<{width}}  {s['count']:>6}  {s['ref_words']:>7}  "
                f"{_pct(s['wer'])}  {_pct(s['cer'])}"
            )
    return "\n".join(lines) + "\n"

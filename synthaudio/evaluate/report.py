"""Self-contained HTML report of a corpus: statistics, evaluation results, listening examples.

``write_report(OUT)`` writes ONE file, ``OUT/report/index.html``, that can be mailed: its
PNG plots are embedded as ``data:`` URIs, and so are at most ``MAX_EMBEDDED_CLIPS`` example
clips (mono Ogg/Opus, the first ``MAX_CLIP_S`` seconds each); the page loads nothing from
the network or the disk. Rebuilding replaces it (and removes the ``img/`` and ``audio/``
folders older versions wrote beside it).

(Over 400 lines: one page, its sections written side by side so they stay consistent.)
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import os
import re
import secrets
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr

from synthaudio.errors import InputError
from synthaudio.evaluate import plots
from synthaudio.evaluate.conditions import (
    RT60_BUCKETS,
    SNR_BUCKETS,
    codec_of,
    drr_db_of,
    rt60_s_of,
    snr_db_of,
    sort_buckets,
    utterance_conditions,
    voice_of,
)
from synthaudio.evaluate.kws import kws_section
from synthaudio.io.fileio import load_audio, write_text_atomic
from synthaudio.io.metadata import MetaRecord, read_metadata
from synthaudio.run.progress import progress_bar

SPLIT_ORDER = ("train", "dev", "test")
EXAMPLE_KEYS = ("snr", "rt60", "codec", "voice")  # conditions with listening examples
EXAMPLES_PER_BUCKET = 2
MAX_EXAMPLE_BUCKETS = 24  # per condition, to bound the page size
MAX_EMBEDDED_CLIPS = 24  # example clips embedded in the page (later rows say "not embedded")
MAX_CLIP_S = 10.0  # seconds of each embedded clip
_OPUS_RATES = (8000, 12000, 16000, 24000, 48000)  # rates Opus encodes

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
margin:2em auto;max-width:70em;padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0 1.2em}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:right;white-space:nowrap}
th{background:#f3f3f3}.l{text-align:left}td.text{text-align:left;white-space:normal;max-width:30em}
img{max-width:100%;height:auto;border:1px solid #eee;margin:.4em 0}
.plots{display:flex;flex-wrap:wrap;gap:1em}.plots img{max-width:48%}
.note{color:#666}nav a{margin-right:1em}audio{height:2em;vertical-align:middle}
"""


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]], left: int = 1) -> str:
    """HTML table; the first ``left`` columns are left-aligned text, the rest numbers."""
    out = ["<table><tr>"]
    out += [f"<th{' class=l' if i < left else ''}>{_e(h)}</th>" for i, h in enumerate(header)]
    out.append("</tr>")
    for row in rows:
        out.append("<tr>")
        out += [f"<td{' class=l' if i < left else ''}>{_e(c)}</td>" for i, c in enumerate(row)]
        out.append("</tr>")
    out.append("</table>")
    return "".join(out)


def _pct(x: float) -> str:
    return f"{100.0 * x:.2f}%"


def _split_names(records: Sequence[MetaRecord]) -> list[str]:
    present = {str(r.data.get("split", "none")) for r in records}
    return [s for s in SPLIT_ORDER if s in present] + sorted(present - set(SPLIT_ORDER))


def _duration(r: MetaRecord) -> float:
    d = r.data.get("duration_s")
    return float(d) if isinstance(d, (int, float)) and not isinstance(d, bool) else 0.0


def _accent(r: MetaRecord) -> str:
    tts = r.data.get("tts")
    if isinstance(tts, Mapping) and isinstance(tts.get("accent"), str):
        return str(tts["accent"])
    lang = r.data.get("lang")
    return str(lang) if isinstance(lang, str) and lang else "unknown"


def _gender(r: MetaRecord) -> str:
    g = r.data.get("gender")
    return str(g) if isinstance(g, str) and g else "unknown"


def _img(rel: str, alt: str) -> str:
    return f'<img src="{_e(rel)}" alt="{_e(alt)}">'


def _split_section(records: Sequence[MetaRecord], splits: Sequence[str]) -> str:
    by_split = {s: [r for r in records if str(r.data.get("split", "none")) == s] for s in splits}
    rows = []
    for s in [*splits, "all"]:
        recs = list(records) if s == "all" else by_split[s]
        durs = [_duration(r) for r in recs]
        speakers = {str(r.data.get("speaker")) for r in recs}
        spk_gender = {str(r.data.get("speaker")): _gender(r) for r in recs}
        g = Counter(spk_gender.values())
        rows.append(
            [
                s,
                len(recs),
                f"{sum(durs) / 3600.0:.3f}",
                f"{sum(durs) / max(len(durs), 1):.2f}",
                f"{min(durs, default=0.0):.2f}-{max(durs, default=0.0):.2f}",
                len(speakers),
                " / ".join(f"{k} {g[k]}" for k in sorted(g)),
                len({voice_of(r.data) for r in recs}),
            ]
        )
    header = [
        "split",
        "utterances",
        "hours",
        "mean s",
        "range s",
        "speakers",
        "speakers by gender",
        "voices",
    ]
    return '<h2 id="splits">Splits</h2>' + _table(header, rows)


def _count_table(
    title: str,
    records: Sequence[MetaRecord],
    splits: Sequence[str],
    key: Any,
    order: Sequence[str] | None = None,
) -> str:
    counts = {s: Counter(key(r) for r in records if r.data.get("split") == s) for s in splits}
    cats = {c for cnt in counts.values() for c in cnt}
    cats_sorted = [c for c in order if c in cats] if order else sorted(cats)
    rows = [[c, *(counts[s].get(c, 0) for s in splits)] for c in cats_sorted]
    return f"<h3>{_e(title)}</h3>" + _table([title, *splits], rows)


def _balance_section(records: Sequence[MetaRecord], splits: Sequence[str]) -> str:
    parts = ['<h2 id="balance">Balance (utterances)</h2>']
    parts.append(_count_table("gender", records, splits, _gender))
    parts.append(_count_table("accent / language", records, splits, _accent))
    parts.append(_count_table("voice", records, splits, lambda r: voice_of(r.data)))
    return "".join(parts)


def _distributions_section(
    records: Sequence[MetaRecord], splits: Sequence[str], img_dir: Path
) -> str:
    parts = ['<h2 id="distributions">Distributions</h2><div class="plots">']
    numeric = [
        ("duration", "duration (s)", _duration),
        ("snr", "SNR of added noise (dB)", lambda r: snr_db_of(r.data)),
        ("rt60", "RT60 (s)", lambda r: rt60_s_of(r.data)),
        ("drr", "direct-to-reverberant ratio (dB)", lambda r: drr_db_of(r.data)),
    ]
    notes = []
    for stem, label, get in numeric:
        values = {
            s: [v for r in records if r.data.get("split") == s and (v := get(r)) is not None]
            for s in splits
        }
        n = sum(len(v) for v in values.values())
        if n == 0:
            notes.append(f"{label}: no utterance has this value (none augmented this way).")
            continue
        plots.histogram(
            values, label, f"{label}: {n} of {len(records)} utterances", img_dir / f"{stem}.png"
        )
        parts.append(_img(f"img/{stem}.png", f"histogram of {label}"))
    codecs = {
        s: Counter(codec_of(r.data) for r in records if r.data.get("split") == s) for s in splits
    }
    cats = sorted({c for cnt in codecs.values() for c in cnt})
    plots.grouped_bars(
        {s: dict(c) for s, c in codecs.items()},
        cats,
        "utterances",
        "channel codec",
        img_dir / "codec.png",
    )
    parts.append(_img("img/codec.png", "utterances per codec"))
    parts.append("</div>")
    parts += [f'<p class="note">{_e(n)}</p>' for n in notes]
    parts.append(
        _count_table(
            "SNR bucket (dB)",
            records,
            splits,
            lambda r: utterance_conditions(r.data)["snr"],
            SNR_BUCKETS,
        )
    )
    parts.append(
        _count_table(
            "RT60 bucket (s)",
            records,
            splits,
            lambda r: utterance_conditions(r.data)["rt60"],
            RT60_BUCKETS,
        )
    )
    parts.append(_count_table("codec", records, splits, lambda r: codec_of(r.data)))
    return "".join(parts)


def _load_evals(out_dir: Path) -> list[dict[str, Any]]:
    evals = []
    for path in sorted((out_dir / "eval").glob("*/summary.json")):
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise InputError(f"{path}: cannot read evaluation summary ({e})") from e
        if not isinstance(d, dict) or not isinstance(d.get("overall"), dict):
            raise InputError(f"{path}: not an evaluation summary (no 'overall')")
        d["_dir"] = path.parent
        evals.append(d)
    return evals


def _eval_section(evals: Sequence[Mapping[str, Any]], img_dir: Path) -> str:
    parts = ['<h2 id="wer">Recognition results</h2>']
    if not evals:
        parts.append(
            '<p class="note">No evaluation yet: run <code>synthaudio evaluate OUT</code>.</p>'
        )
        return "".join(parts)
    rows = []
    for d in evals:
        o = d["overall"]
        rows.append(
            [
                d.get("name", d["_dir"].name),
                d.get("asr", "?"),
                d.get("split") or "-",
                d.get("num_utterances", o.get("count", "?")),
                _pct(o["wer"]),
                _pct(o["cer"]),
                o["substitutions"],
                o["deletions"],
                o["insertions"],
                o["ref_words"],
            ]
        )
    parts.append(
        _table(
            [
                "evaluation",
                "asr",
                "split",
                "utterances",
                "WER",
                "CER",
                "sub",
                "del",
                "ins",
                "ref words",
            ],
            rows,
            left=3,
        )
    )
    parts.append('<div class="plots">')
    for key, label, order in (
        ("snr", "SNR bucket (dB)", SNR_BUCKETS),
        ("rt60", "RT60 bucket (s)", RT60_BUCKETS),
    ):
        rates = {
            str(d.get("name", d["_dir"].name)): {
                b: float(s["wer"]) for b, s in d.get("breakdown", {}).get(key, {}).items()
            }
            for d in evals
        }
        rates = {k: v for k, v in rates.items() if v}
        if not rates:
            continue
        present = [b for b in order if any(b in v for v in rates.values())]
        plots.rate_by_bucket(rates, present, label, f"WER vs {label}", img_dir / f"wer_{key}.png")
        parts.append(_img(f"img/wer_{key}.png", f"WER by {label}"))
    parts.append("</div>")
    for d in evals:
        name = str(d.get("name", d["_dir"].name))
        parts.append(f"<details><summary>{_e(name)}: breakdown by condition</summary>")
        for key, buckets in d.get("breakdown", {}).items():
            rows = [
                [b, s["count"], s["ref_words"], _pct(s["wer"]), _pct(s["cer"])]
                for b, s in ((b, buckets[b]) for b in sort_buckets(key, buckets))
            ]
            parts.append(_table([key, "utterances", "ref words", "WER", "CER"], rows))
        parts.append("</details>")
    return "".join(parts)


def _safe_name(utt_id: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]", "_", utt_id)
    if name != utt_id or name.startswith("."):
        name = f"{name.lstrip('.')}-{hashlib.sha1(utt_id.encode()).hexdigest()[:8]}"
    return name


def _clip_uri(src: Path, where: str) -> str:
    """The first ``MAX_CLIP_S`` of channel 0 of ``src`` as an Ogg/Opus ``data:`` URI."""
    audio, sample_rate = load_audio(src, where)
    x = np.asarray(audio[0, : int(MAX_CLIP_S * sample_rate)], dtype=np.float32)
    if sample_rate not in _OPUS_RATES:
        x, sample_rate = soxr.resample(x, sample_rate, 16000).astype(np.float32), 16000
    buf = io.BytesIO()
    sf.write(buf, x, sample_rate, format="OGG", subtype="OPUS")
    data = _fixed_ogg_serial(buf.getvalue())
    return "data:audio/ogg;base64," + base64.b64encode(data).decode("ascii")


def _crc_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        crc = i << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if crc & 0x80000000 else crc << 1
        table.append(crc & 0xFFFFFFFF)
    return tuple(table)


_OGG_CRC_TABLE = _crc_table()


def _ogg_crc(data: bytes) -> int:
    """Ogg's page CRC: CRC-32, polynomial 0x04C11DB7, not reflected, initial value 0."""
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _OGG_CRC_TABLE[(crc >> 24) ^ byte]
    return crc


def _fixed_ogg_serial(data: bytes, serial: int = 1) -> bytes:
    """``data`` (one Ogg stream) with its random stream serial number set to ``serial``, so
    the same audio always gives the same bytes (and the same page)."""
    out = bytearray(data)
    pos = 0
    while pos + 27 <= len(out) and out[pos:pos + 4] == b"OggS":
        n_segments = out[pos + 26]
        size = 27 + n_segments + sum(out[pos + 27:pos + 27 + n_segments])
        out[pos + 14:pos + 18] = serial.to_bytes(4, "little")
        out[pos + 22:pos + 26] = b"\0\0\0\0"
        out[pos + 22:pos + 26] = _ogg_crc(bytes(out[pos:pos + size])).to_bytes(4, "little")
        pos += size
    return bytes(out)


def _inline_images(page: str, img_dir: Path) -> str:
    """Each ``src="img/NAME.png"`` of ``page`` replaced by the PNG as a ``data:`` URI."""

    def embed(m: re.Match[str]) -> str:
        data = (img_dir / html.unescape(m.group(1))).read_bytes()
        return 'src="data:image/png;base64,' + base64.b64encode(data).decode("ascii") + '"'

    return re.sub(r'src="img/([^"/]+\.png)"', embed, page)


def _hypotheses(evals: Sequence[Mapping[str, Any]], ids: set[str]) -> dict[str, list[str]]:
    """For the example ids: "name: hypothesis (WER x%)" per evaluation that decoded them."""
    out: dict[str, list[str]] = {}
    for d in evals:
        path = Path(d["_dir"]) / "per_utt.jsonl"
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            rec = json.loads(line)
            if rec.get("id") in ids:
                out.setdefault(rec["id"], []).append(
                    f"{d.get('name', '?')}: {rec.get('hypothesis', '')} "
                    f"(WER {_pct(float(rec.get('wer', 0.0)))})"
                )
    return out


def _examples_section(
    records: Sequence[MetaRecord],
    evals: Sequence[Mapping[str, Any]],
    out_dir: Path,
    progress: bool = False,
) -> str:
    parts = ['<h2 id="listen">Listening examples</h2>']
    chosen: dict[str, dict[str, list[MetaRecord]]] = {}
    for key in EXAMPLE_KEYS:
        groups: dict[str, list[MetaRecord]] = {}
        for r in sorted(records, key=lambda r: r.id):
            b = utterance_conditions(r.data)[key]
            if len(groups.setdefault(b, [])) < EXAMPLES_PER_BUCKET:
                groups[b].append(r)
        chosen[key] = {b: groups[b] for b in sort_buckets(key, groups)[:MAX_EXAMPLE_BUCKETS]}
    ids = {r.id for g in chosen.values() for rs in g.values() for r in rs}
    hyps = _hypotheses(evals, ids)
    embedded = 0
    rows_total = sum(len(recs) for g in chosen.values() for recs in g.values())
    bar = progress_bar(min(rows_total, MAX_EMBEDDED_CLIPS), "report", unit="clip",
                       progress=progress)
    for key, groups in chosen.items():
        parts.append(f"<h3>{_e(key)}</h3>")
        rows = []
        for bucket, recs in groups.items():
            for r in recs:
                if embedded < MAX_EMBEDDED_CLIPS:
                    uri = _clip_uri(out_dir / str(r.data["audio"]), r.where)
                    embedded += 1
                    bar.update(1)
                    player = f'<audio controls preload="metadata" src="{uri}"></audio>'
                else:
                    player = f"(not embedded: the page holds {MAX_EMBEDDED_CLIPS} clips)"

                hyp = "<br>".join(_e(h) for h in hyps.get(r.id, []))
                rows.append(
                    f"<tr><td class=l>{_e(bucket)}</td><td class=l>{_e(r.id)}</td>"
                    f"<td>{player}</td>"
                    f'<td class="text">{_e(r.data["text"])}</td>'
                    f'<td class="text">{hyp}</td></tr>'
                )
        head = "".join(
            f"<th class=l>{_e(h)}</th>" for h in (key, "utterance", "audio", "text", "recognized")
        )
        parts.append(f"<table><tr>{head}</tr>" + "".join(rows) + "</table>")
    bar.close()
    return "".join(parts)


def write_report(out_dir: Path | str, compare: Path | None = None, jobs: int = 1,
                 progress: bool = False) -> Path:
    """Write ``OUT/report/index.html``, one self-contained file, and return its path.

    ``compare``: a reference PROFILE.json; OUT's own distributions are drawn beside it (see
    :mod:`synthaudio.profile.report_section`). Also when OUT holds ``reference_profile.json``.
    ``jobs``: workers profiling OUT for the comparison. ``progress``: a bar on stderr (when it
    is a terminal) over the embedded clips.
    """
    out = Path(out_dir)
    if compare is not None:  # checked before OUT is profiled or anything is written
        from synthaudio.profile.profile import load_profile

        load_profile(compare)
    records = read_metadata(out)
    if not records:
        raise InputError(f"{out / 'metadata.jsonl'}: no utterances")
    _check_audio_inside(out, records)  # up front, as export does: nothing opened outside OUT
    report_dir = out / "report"
    build = out / f".report.{secrets.token_hex(4)}.new"  # mkdir: the usual mode (umask)
    build.mkdir()
    try:
        with tempfile.TemporaryDirectory(prefix="synthaudio-report-") as tmp:
            page = _render_page(out, records, Path(tmp), compare, jobs, progress)
        write_text_atomic(build / "index.html", page)
        _publish(build, report_dir)  # what older versions wrote beside it (img/, audio/) goes
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    return report_dir / "index.html"


def _check_audio_inside(out: Path, records: Sequence[MetaRecord]) -> None:
    """InputError naming the record whose audio lies outside OUT (through a link too)."""
    root = os.path.realpath(out)
    for r in records:
        real = os.path.realpath(out / str(r.data["audio"]))
        if os.path.commonpath([root, real]) != root:
            raise InputError(f"{r.where}: audio {r.data['audio']!r} is outside {out} "
                             f"(it resolves to {real}); the report reads only OUT's files")


def _publish(build: Path, report_dir: Path) -> None:
    """Put the complete report folder ``build`` in place of ``report_dir`` (two renames:
    a reader sees the old report or the new one, never a partial one)."""
    old = build.with_name(build.name.replace(".new", ".old"))
    if report_dir.exists() or report_dir.is_symlink():
        os.replace(report_dir, old)
    os.replace(build, report_dir)
    shutil.rmtree(old, ignore_errors=True)


def _asr_check_section(out: Path) -> str:
    """quality.asr: per engine and voice, how many utterances passed, were re-drawn, dropped."""
    from synthaudio.pipelines.generate.quality import count_verdicts, read_verdicts

    table = count_verdicts(read_verdicts(out))
    if not table:
        return ""
    rows = []
    for engine, voices in table.items():
        for voice, c in voices.items():
            n = c["checked"]
            rows.append((engine, voice, n, c["passed"], c["redrawn"], c["dropped"],
                         _pct(c["redrawn"] / n), _pct(c["dropped"] / n),
                         f"{c['renderings'] / n:.2f}"))
    return ('<h2 id="asr-check">ASR check (quality.asr)</h2><p>Clean renderings decoded '
            "before the environment; re-drawn with new prosody or another voice of the "
            "engine when the error was above the limit, dropped when no attempt passed.</p>"
            + _table(("engine", "voice", "checked", "passed", "re-drawn", "dropped",
                      "re-drawn %", "dropped %", "renderings/utt"), rows, left=2))


def _render_page(out: Path, records: Sequence[MetaRecord], img_dir: Path,
                 compare: Path | None = None, jobs: int = 1, progress: bool = False) -> str:
    """The whole page, its plots drawn in ``img_dir`` and embedded."""
    splits = _split_names(records)
    evals = _load_evals(out)
    hours = sum(_duration(r) for r in records) / 3600.0
    speakers = len({str(r.data.get("speaker")) for r in records})
    body = [
        f"<h1>Corpus report: {_e(out.resolve().name)}</h1>",
        f"<p>{len(records)} utterances, {hours:.3f} hours, {speakers} speakers, "
        f"splits: {_e(', '.join(splits))}.</p>",
        '<nav><a href="#splits">splits</a><a href="#balance">balance</a>'
        '<a href="#distributions">distributions</a><a href="#wer">recognition</a>'
        '<a href="#listen">listening</a></nav>',
        _split_section(records, splits),
        _balance_section(records, splits),
        _distributions_section(records, splits, img_dir),
        _eval_section(evals, img_dir),
        _asr_check_section(out),  # only when the corpus was made with quality.asr
        kws_section(out, img_dir),  # keyword spotting: only when an evaluation wrote kws.json
        _examples_section(records, evals, out, progress),
    ]
    reference = compare if compare is not None else out / "reference_profile.json"
    if compare is not None or reference.is_file():
        from synthaudio.profile.report_section import comparison_section

        body.insert(-1, comparison_section(out, reference, img_dir, jobs=jobs))
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e('synthaudio report: ' + out.resolve().name)}</title>"
        f"<style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
    return _inline_images(page, img_dir)

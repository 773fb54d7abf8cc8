"""write_report: ONE self-contained page, its images and audio clips embedded."""

from __future__ import annotations

import base64
import io
import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import soundfile as sf

from synthaudio.evaluate.evaluate import evaluate_corpus
from synthaudio.evaluate.report import MAX_EMBEDDED_CLIPS, write_report

HYPS = {
    "spk001-000001": "ten of clubs",
    "spk001-000002": "seven of clubs",
    "spk002-000003": "five nine",
    "spk002-000004": "for queen of",
}


class Refs(HTMLParser):
    """Collects every src/href and the tags used."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str]] = []
        self.tags: set[str] = set()
        self.alts: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "img":
            self.alts.add(dict(attrs).get("alt") or "")
        for name, value in attrs:
            if name in ("src", "href") and value is not None:
                self.refs.append((tag, value))


def parse(index: Path) -> Refs:
    p = Refs()
    p.feed(index.read_text(encoding="utf-8"))
    return p


def evaluated_corpus(
    factory: Any, root: Path, text_overrides: dict[str, str] | None = None
) -> Path:
    out = factory(root, text_overrides)
    hyp = root / "hyp.txt"
    hyp.write_text("".join(f"{k} {v}\n" for k, v in sorted(HYPS.items())), encoding="utf-8")
    evaluate_corpus(out, asr=f"hyp:{hyp}", name="hyp-test")
    return out


def test_report_files_and_references(corpus_factory: Any, tmp_path: Path) -> None:
    out = evaluated_corpus(corpus_factory, tmp_path / "c")
    index = write_report(out)
    assert index == out / "report" / "index.html"
    page = parse(index)
    assert "script" not in page.tags and "link" not in page.tags
    assert sorted(p.name for p in index.parent.iterdir()) == ["index.html"]  # one file
    imgs = [v for t, v in page.refs if t == "img"]
    audios = [v for t, v in page.refs if t == "audio"]
    assert page.alts == {"histogram of duration (s)", "histogram of SNR of added noise (dB)",
                         "histogram of RT60 (s)", "histogram of direct-to-reverberant ratio (dB)",
                         "utterances per codec", "WER by SNR bucket (dB)",
                         "WER by RT60 bucket (s)"}, page.alts
    assert len(imgs) == 7
    for tag, ref in page.refs:
        assert not ref.startswith(("http:", "https:", "//", "/")), ref
        assert ref.startswith(("#", "data:")), (tag, ref)
    for ref in imgs:
        assert ref.startswith("data:image/png;base64,")
        assert base64.b64decode(ref.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    # Every corpus utterance covers some bucket here: clips of all six, as Ogg/Opus.
    assert 6 <= len(audios) <= MAX_EMBEDDED_CLIPS
    decoded = set()
    for ref in audios:
        assert ref.startswith("data:audio/ogg;base64,")
        data = base64.b64decode(ref.split(",", 1)[1])
        clip, rate = sf.read(io.BytesIO(data))
        info = sf.info(io.BytesIO(data))
        assert info.format == "OGG" and info.subtype == "OPUS" and rate == 16000
        decoded.add(round(clip.size / rate, 2))
    durations = {round(sf.info(str(p)).frames / 16000, 2)
                 for p in (out / "audio").rglob("*.wav")}
    assert decoded == durations  # six different utterances, each whole (< 10 s)
    html = index.read_text(encoding="utf-8")
    for bucket in ("clean", "&lt;0", "0-5", "10-20", "&gt;=20", "0.6-0.9", "mulaw", "mp3"):
        assert f"<td class=l>{bucket}</td>" in html, bucket
    assert "hyp-test: five nine (WER 50.00%)" in html
    summary = json.loads((out / "eval" / "hyp-test" / "summary.json").read_text())
    assert f"{100 * summary['overall']['wer']:.2f}%" in html


def test_text_is_escaped(corpus_factory: Any, tmp_path: Path) -> None:
    nasty = 'ten of <b>clubs</b> & "more" <script>alert(1)</script>'
    out = evaluated_corpus(corpus_factory, tmp_path / "c", {"spk001-000001": nasty})
    html = write_report(out).read_text(encoding="utf-8")
    assert "<b>" not in html and "<script>" not in html
    assert "ten of &lt;b&gt;clubs&lt;/b&gt; &amp; &quot;more&quot;" in html


def test_report_is_byte_deterministic_and_replaces_stale_files(
    corpus_factory: Any, tmp_path: Path
) -> None:
    out = evaluated_corpus(corpus_factory, tmp_path / "c")
    index = write_report(out)
    first = index.read_bytes()
    (out / "report" / "img").mkdir()  # what an older version left beside the page
    (out / "report" / "img" / "stale.png").write_bytes(b"old")
    write_report(out)
    assert index.read_bytes() == first
    assert sorted(p.name for p in (out / "report").iterdir()) == ["index.html"]


def test_report_without_evaluation_or_augmentation(corpus_factory: Any, tmp_path: Path) -> None:
    out = corpus_factory(tmp_path / "plain")
    meta = out / "metadata.jsonl"
    records = [json.loads(line) for line in meta.read_text().splitlines()]
    for r in records:
        r["augment"] = None
    meta.write_text("".join(json.dumps(r) + "\n" for r in records))
    index = write_report(out)
    html = index.read_text(encoding="utf-8")
    assert "No evaluation yet" in html
    assert "SNR of added noise (dB): no utterance has this value" in html
    assert parse(index).alts == {"histogram of duration (s)", "utterances per codec"}


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_report_refuses_audio_outside_out_up_front(corpus_factory: Any, tmp_path: Path) -> None:
    import json as _json
    import shutil

    import pytest

    from synthaudio.errors import InputError

    out = corpus_factory(tmp_path / "c")
    meta = out / "metadata.jsonl"
    lines = meta.read_text(encoding="utf-8").splitlines()
    first = _json.loads(lines[0])
    folder = (out / first["audio"]).parent
    outside = tmp_path / "outside"
    shutil.move(str(folder), outside)  # the audio now lives outside OUT, reached by a link
    folder.symlink_to(outside)
    with pytest.raises(InputError, match=r"metadata.jsonl:1: audio .* is outside .*resolves to"):
        write_report(out)
    assert not (out / "report").exists()
    assert [p.name for p in out.iterdir() if p.name.startswith(".report")] == []
    first["audio"] = "../../../../etc/passwd"
    meta.write_text(_json.dumps(first) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="metadata.jsonl:1: .*must be a relative path"):
        write_report(out)
    assert not (out / "report").exists()


def test_a_failed_report_leaves_the_old_one_whole(corpus_factory: Any, tmp_path: Path,
                                                   monkeypatch: Any) -> None:
    import errno

    import pytest

    import synthaudio.evaluate.report as report

    out = evaluated_corpus(corpus_factory, tmp_path / "c")
    write_report(out)
    before = _tree(out / "report")

    def full_disk(*args: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(report, "_render_page", full_disk)
    with pytest.raises(OSError):
        write_report(out)
    assert _tree(out / "report") == before
    assert [p.name for p in out.iterdir() if p.name.startswith(".report")] == []


def test_embedded_clips_are_bounded(corpus_factory: Any, tmp_path: Path,
                                    monkeypatch: Any) -> None:
    import synthaudio.evaluate.report as report

    monkeypatch.setattr(report, "MAX_EMBEDDED_CLIPS", 2)
    out = evaluated_corpus(corpus_factory, tmp_path / "c")
    index = write_report(out)
    assert len([v for t, v in parse(index).refs if t == "audio"]) == 2
    assert "(not embedded: the page holds 2 clips)" in index.read_text(encoding="utf-8")


def test_matplotlib_is_a_core_dependency() -> None:
    import tomllib

    root = Path(__file__).resolve().parents[2]
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert any(d.startswith("matplotlib") for d in project["dependencies"])


def test_report_shows_progress_on_a_terminal(corpus_factory: Any, tmp_path: Path,
                                             monkeypatch: Any) -> None:
    import sys

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = corpus_factory(tmp_path / "c")
    err = Tty()
    monkeypatch.setattr(sys, "stderr", err)
    write_report(out, progress=True)
    assert "report" in err.getvalue() and "clip" in err.getvalue()

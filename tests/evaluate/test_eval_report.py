"""write_report: a self-contained page whose every image and audio file exists."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import soundfile as sf

from synthaudio.evaluate.evaluate import evaluate_corpus
from synthaudio.evaluate.report import write_report

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

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
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
    imgs = [v for t, v in page.refs if t == "img"]
    audios = [v for t, v in page.refs if t == "audio"]
    assert {
        "img/duration.png",
        "img/snr.png",
        "img/rt60.png",
        "img/drr.png",
        "img/codec.png",
        "img/wer_snr.png",
        "img/wer_rt60.png",
    } == set(imgs)
    for tag, ref in page.refs:
        assert not ref.startswith(("http:", "https:", "//", "/")), ref
        if not ref.startswith("#"):
            target = index.parent / ref
            assert target.is_file(), (tag, ref)
            if tag == "img":
                assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Every corpus utterance covers some bucket here, so all six got copied, as WAV.
    assert set(audios) == {
        f"audio/{u}.wav"
        for u in [
            "spk001-000001",
            "spk001-000002",
            "spk002-000003",
            "spk002-000004",
            "spk003-000005",
            "spk003-000006",
        ]
    }
    for a in set(audios):
        info = sf.info(str(index.parent / a))
        assert info.format == "WAV" and info.samplerate == 16000
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
    first = {p.relative_to(out): p.read_bytes() for p in (out / "report").rglob("*") if p.is_file()}
    (out / "report" / "img" / "stale.png").write_bytes(b"old")
    write_report(out)
    second = {
        p.relative_to(out): p.read_bytes() for p in (out / "report").rglob("*") if p.is_file()
    }
    assert first == second
    assert index.exists()


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
    imgs = {v for t, v in parse(index).refs if t == "img"}
    assert imgs == {"img/duration.png", "img/codec.png"}
    assert all((index.parent / i).is_file() for i in imgs)


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

    monkeypatch.setattr(report, "_copy_wav", full_disk)
    with pytest.raises(OSError):
        write_report(out)
    assert _tree(out / "report") == before
    assert [p.name for p in out.iterdir() if p.name.startswith(".report")] == []

"""Evaluation of the real-speech fixture (11 human recordings) with pocketsphinx."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jiwer
import pytest

from synthaudio.errors import InputError
from synthaudio.evaluate.evaluate import EvalSummary, evaluate_kaldi_dir, format_table
from synthaudio.evaluate.normalizer import EvalNormalizer

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "real_speech"


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> EvalSummary:
    return evaluate_kaldi_dir(FIXTURE, out_dir=tmp_path_factory.mktemp("real"))


def read_kaldi_text(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        utt, _, words = line.partition(" ")
        out[utt] = words
    return out


def test_pooled_wer_matches_independent_jiwer(default_run: EvalSummary) -> None:
    normalize = EvalNormalizer()
    refs = {k: normalize(v) for k, v in read_kaldi_text(FIXTURE / "text").items()}
    hyps = read_kaldi_text(default_run.eval_dir / "hyp.txt")
    assert list(hyps) == sorted(refs)
    ids = sorted(refs)
    expected = jiwer.process_words([refs[i] for i in ids], [hyps[i] for i in ids])
    o = default_run.overall
    assert o.wer == pytest.approx(expected.wer, abs=1e-12)
    assert (o.hits, o.substitutions, o.deletions, o.insertions) == (
        expected.hits,
        expected.substitutions,
        expected.deletions,
        expected.insertions,
    )
    assert o.cer == pytest.approx(jiwer.cer([refs[i] for i in ids], [hyps[i] for i in ids]))
    # The fixture README measured about 22% with the bundled en-us model.
    assert 0.17 <= o.wer <= 0.27, o.wer
    assert o.count == 11 and o.ref_words == 99
    summary = json.loads((default_run.eval_dir / "summary.json").read_text())
    assert summary["overall"]["wer"] == round(o.wer, 6)
    assert summary["split"] is None and summary["asr"] == "pocketsphinx"


def test_buckets_add_up_to_pooled_totals(default_run: EvalSummary) -> None:
    summary = json.loads((default_run.eval_dir / "summary.json").read_text())
    overall = summary["overall"]
    assert set(summary["breakdown"]) == {"speaker", "gender", "length"}
    for key, buckets in summary["breakdown"].items():
        for field in (
            "count",
            "hits",
            "substitutions",
            "deletions",
            "insertions",
            "ref_words",
            "char_hits",
            "char_insertions",
            "ref_chars",
        ):
            assert sum(b[field] for b in buckets.values()) == overall[field], (key, field)
    assert set(summary["breakdown"]["speaker"]) == {"cards", "forever", "librivox"}
    assert summary["breakdown"]["speaker"]["cards"]["count"] == 5
    table = format_table(default_run)
    assert "overall  WER  " in table and "librivox" in table


def test_hyp_file_backend_reproduces_scores(default_run: EvalSummary, tmp_path: Path) -> None:
    hyp = tmp_path / "hyps.txt"
    shutil.copyfile(default_run.eval_dir / "hyp.txt", hyp)
    again = evaluate_kaldi_dir(FIXTURE, out_dir=tmp_path, asr=f"hyp:{hyp}")
    assert again.name == "hyp-hyps"
    assert again.overall == default_run.overall
    for name in ("hyp.txt", "per_utt.jsonl"):
        assert (again.eval_dir / name).read_bytes() == (default_run.eval_dir / name).read_bytes()

    partial = tmp_path / "partial.txt"
    partial.write_text("cards-001 ten of clubs\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"partial\.txt: no hypothesis for 10 utterance"):
        evaluate_kaldi_dir(FIXTURE, out_dir=tmp_path, asr=f"hyp:{partial}")


def test_corpus_lm_is_better_than_default(default_run: EvalSummary, tmp_path: Path) -> None:
    lm_run = evaluate_kaldi_dir(FIXTURE, out_dir=tmp_path, asr="pocketsphinx:corpus-lm")
    assert lm_run.name == "pocketsphinx-corpus-lm"
    assert lm_run.oov_words == ()
    assert (lm_run.eval_dir / "lm" / "corpus.arpa").exists()
    assert lm_run.overall.wer <= 0.05 < default_run.overall.wer


def _kaldi_copy(tmp_path: Path) -> Path:
    d = tmp_path / "kaldi"
    shutil.copytree(FIXTURE, d)
    for p in d.rglob("*"):
        p.chmod(0o644 if p.is_file() else 0o755)
    return d


def test_kaldi_dir_errors(tmp_path: Path) -> None:
    d = _kaldi_copy(tmp_path)
    scp = (d / "wav.scp").read_text()
    (d / "wav.scp").write_text(
        scp.replace("cards-002 wav/cards-002.wav",
                    "cards-002 sox wav/cards-002.wav -r 8000 -t wav - |")  # resamples: refused
    )
    with pytest.raises(InputError, match=r"wav\.scp:2: only plain file paths"):
        evaluate_kaldi_dir(d, out_dir=tmp_path, asr="hyp:/dev/null")
    (d / "wav.scp").write_text(scp)
    (d / "text").write_text((d / "text").read_text() + "extra-001 hello\n")
    with pytest.raises(InputError, match=r"text:12: utterance 'extra-001' is not in wav\.scp"):
        evaluate_kaldi_dir(d, out_dir=tmp_path)
    with pytest.raises(InputError, match="not a directory"):
        evaluate_kaldi_dir(tmp_path / "nope")


def test_unreadable_audio_names_the_line(tmp_path: Path) -> None:
    d = _kaldi_copy(tmp_path)
    (d / "wav" / "cards-003.wav").write_bytes(b"not a wav")
    with pytest.raises(InputError, match=r"wav\.scp:3: cannot read audio"):
        evaluate_kaldi_dir(d, out_dir=tmp_path)

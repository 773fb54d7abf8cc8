"""The keyword pipeline end to end on small corpora: measured labels (keyword spans hold the
keyword's speech, clips are exactly ``clip_s``, ``_silence_`` holds none), the Speech
Commands layout split by speaker, negatives.json, streams, -j 1 == -j 2, kill and resume,
and bad input refused with nothing written."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from synthaudio.cli import main
from synthaudio.errors import ConfigError
from synthaudio.io.metadata import iter_metadata
from synthaudio.pipelines.keywords.pipeline import make_keywords

REPO = Path(__file__).resolve().parents[2]
SENTENCES = REPO / "corpora" / "prompt_sets" / "sentences.txt"
CLEAN = f"""\
name: kw-clean
seed: 5
targets: ["yes", "stop", "hey jarvis"]
clip_s: 1.5
counts: {{positives: 5, hard_negatives: 0.6, speech: 0.3, words: 0.2, babble: 0.1,
         noise: 0.15, silence: 0.15, background_files: 2, background_s: 3}}
streams: {{count: 1, duration_s: 15, positives_per_minute: 12}}
text: {{sources: [{{file: {SENTENCES}}}]}}
speakers: {{count: 6, variants: [m1, f2, m3]}}
splits: {{train: 0.5, dev: 0.25, test: 0.25}}
"""
NOISY = CLEAN.replace("kw-clean", "kw-noisy").replace("count: 1, duration_s: 15",
                                                      "count: 2, duration_s: 15") + """\
augment:
  speed: {probability: 0.5}
  room: {probability: 0.7, bank_size: 3,
         simulation: {dims_m: [[3, 4], [3, 4], [2.5, 3]], rt60_s: [0.2, 0.4]}}
  noise: {probability: 1.0, snr_db: [10, 20]}
"""


def _write(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "keywords.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _hashes(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file() and "logs" not in p.parts}


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("kw")
    out = root / "out"
    make_keywords(_write(root, CLEAN), out, progress=False)
    return out


@pytest.fixture(scope="module")
def noisy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("kwn")
    config = _write(root, NOISY)
    make_keywords(config, root / "out", jobs=2, progress=False)
    return config, root / "out"


def _clips(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]


def test_every_clip_is_exactly_clip_s_and_where_its_label_says(clean: Path) -> None:
    records = _clips(clean)
    kinds = {r["kind"] for r in records}
    assert kinds == {"positive", "hard_negative", "speech", "babble", "noise", "silence",
                     "background", "stream"}
    for r in records:
        info = sf.info(str(clean / r["audio"]))
        assert info.samplerate == 16000 and info.channels == 1
        if r["kind"] == "background":
            assert info.frames == 3 * 16000 and r["audio"].startswith("audio/_background_noise_/")
        elif r["kind"] == "stream":
            assert info.frames == 15 * 16000 and r["audio"].startswith("streams/")
        else:
            assert info.frames == 24000, r["id"]  # 1.5 s exactly
            name = r["audio"].split("/")
            assert name[1] == r["label"] and name[2].startswith(f"{r['speaker']}_nohash_")
    labels = {r["label"] for r in records if r["kind"] == "positive"}
    assert labels == {"yes", "stop", "hey_jarvis"}
    assert {r["label"] for r in records if r["kind"] in ("hard_negative", "speech",
                                                          "babble")} == {"_unknown_"}
    assert {r["label"] for r in records if r["kind"] in ("noise", "silence")} == {"_silence_"}
    assert len(list(iter_metadata(clean))) == len(records)  # the strict reader takes them


def test_keyword_spans_hold_the_keyword_speech(clean: Path) -> None:
    """Energy inside the recorded [start, end] against outside, measured on the file."""
    positives = [r for r in _clips(clean) if r["kind"] == "positive"]
    assert len(positives) == 15
    for r in positives:
        audio, rate = sf.read(str(clean / r["audio"]), dtype="float64")
        start, end = r["keyword"]["start_s"], r["keyword"]["end_s"]
        assert 0.05 - 1e-6 <= start < end <= 1.45 + 1e-6  # inside the margins
        a, b = round(start * rate), round(end * rate)
        energy = audio ** 2
        inside = energy[a:b].sum() / energy.sum()
        assert inside > 0.95, (r["id"], r["text"], inside)
        assert abs(inside - r["keyword"]["energy_inside"]) < 0.01
        # 10 ms windows just outside the span are quieter than its loudest window by 30 dB
        win = round(0.01 * rate)
        frames = energy[: len(energy) // win * win].reshape(-1, win).mean(1)
        loudest = frames.max()
        outside = np.r_[frames[: max(0, a // win - 2)], frames[b // win + 3:]]
        assert outside.size == 0 or outside.max() < loudest * 1e-3, r["id"]
        words = [w[0] for w in r["words"]]
        assert " ".join(words) == r["text"] == r["target"].replace("_", " ")


def test_silence_and_noise_clips_hold_no_speech(clean: Path) -> None:
    records = [r for r in _clips(clean) if r["label"] == "_silence_"]
    assert {r["kind"] for r in records} == {"noise", "silence"}
    for r in records:
        audio, _ = sf.read(str(clean / r["audio"]), dtype="float64")
        level = 10 * np.log10(np.mean(audio ** 2))
        low, high = (-80, -60) if r["kind"] == "silence" else (-45, -20)
        assert low - 0.5 <= level <= high + 0.5, (r["id"], level)
        assert r["words"] is None and r["tts"] is None
        assert all(s["kind"] != "babble" for s in r["noise"]["sources"])  # babble is speech


def test_hard_negatives_come_from_negatives_json(clean: Path) -> None:
    negatives = json.loads((clean / "negatives.json").read_text())
    assert negatives["phone_set"] == "arpabet"
    assert set(negatives["targets"]) == {"yes", "stop", "hey_jarvis"}
    for entry in negatives["targets"].values():
        texts = [n["text"] for n in entry["negatives"]]
        assert entry["text"] not in texts and texts
        assert all(n["distance"] >= 1 for n in entry["negatives"])
    jarvis = {n["text"]: n["kind"] for n in negatives["targets"]["hey_jarvis"]["negatives"]}
    assert jarvis["hey"] == jarvis["jarvis"] == "partial" and jarvis["jarvis hey"] == "reordered"
    hard = [r for r in _clips(clean) if r["kind"] == "hard_negative"]
    assert len(hard) == 3 * 3  # 0.6 x 5 per target
    for r in hard:
        listed = {n["text"]: n for n in negatives["targets"][r["target"]]["negatives"]}
        assert listed[r["text"]]["distance"] == r["distance"]
        assert listed[r["text"]]["kind"] == r["confusion"]
    speech = [r for r in _clips(clean) if r["kind"] == "speech"]
    for r in speech:  # other speech never says a target word
        assert not {"yes", "stop"} & set(r["text"].split())
    words = set(negatives["other_words"])  # the lexicon words other-word clips draw from
    assert "the" in words and not {"yes", "stop", "hey"} & words
    assert len(speech) == round(0.3 * 15) + round(0.2 * 15)  # of all 15 positives
    assert sum(r["text"] in words for r in speech) >= 3


def test_speech_commands_lists_split_by_speaker(clean: Path) -> None:
    root = clean / "audio"
    by_split: dict[str, set[str]] = defaultdict(set)
    records = [r for r in _clips(clean) if r["kind"] not in ("stream", "background")]
    for r in records:
        by_split[r["split"]].add(r["speaker"])
    assert len(by_split) == 3 and not (by_split["train"] & (by_split["dev"] | by_split["test"]))
    for split, name in (("dev", "validation_list.txt"), ("test", "testing_list.txt")):
        listed = (root / name).read_text().splitlines()
        expected = sorted(r["audio"][len("audio/"):] for r in records if r["split"] == split)
        assert listed == expected and listed
        assert all((root / p).is_file() for p in listed)
    counts = dict(line.split("\t") for line in (root / "labels.txt").read_text().splitlines())
    assert counts["yes"] == "5" and set(counts) == {"yes", "stop", "hey_jarvis", "_unknown_",
                                                    "_silence_"}
    assert (clean / "data" / "train" / "wav.scp").is_file()  # and the Kaldi export


def test_streams_mark_each_inserted_positive(clean: Path) -> None:
    (stream,) = [r for r in _clips(clean) if r["kind"] == "stream"]
    assert stream["split"] == "test" and stream["events"]
    audio, rate = sf.read(str(clean / stream["audio"]), dtype="float64")
    labels = {"yes": "yes", "stop": "stop", "hey_jarvis": "hey jarvis"}
    for label, start, end in stream["events"]:
        said = [w for w in stream["words"] if start - 1e-3 <= w[1] and w[1] + w[2] <= end + 1e-3]
        assert " ".join(w[0] for w in said) == labels[label]
        segment = audio[round(start * rate):round(end * rate)]
        assert np.mean(segment ** 2) > 10 ** (-40 / 10)  # speech there, not a gap
    other = [w[0] for w in stream["words"]]
    n_target_words = sum(1 for w in other if w in ("yes", "stop"))
    assert n_target_words == sum(1 for e in stream["events"] if e[0] in ("yes", "stop"))


def test_environment_keeps_the_labels_and_any_jobs_gives_the_same_bytes(
        noisy: tuple[Path, Path], tmp_path: Path) -> None:
    config, out = noisy
    records = _clips(out)
    positives = [r for r in records if r["kind"] == "positive"]
    assert any(r["augment"]["room"] for r in positives)
    assert any(r["augment"]["speed"] and r["augment"]["speed"]["factor"] != 1.0
               for r in positives)
    for r in positives:  # on the clean speech stem, through speed and room
        assert r["keyword"]["energy_inside"] > 0.9, r["id"]
        assert 0.0 <= r["keyword"]["start_s"] < r["keyword"]["end_s"] <= 1.5
        assert sf.info(str(out / r["audio"])).frames == 24000
    for r in (r for r in records if r["kind"] == "stream"):  # exactly as long, times mapped
        assert sf.info(str(out / r["audio"])).frames == 15 * 16000
        assert all(0 <= a < b <= 15.0 for _, a, b in r["events"])
    serial = tmp_path / "serial"
    make_keywords(config, serial, jobs=1, progress=False)
    assert _hashes(serial) == _hashes(out)


def test_killed_run_resumes_to_the_same_bytes(noisy: tuple[Path, Path],
                                               tmp_path: Path) -> None:
    config, reference = noisy
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "synthaudio.cli", "keywords", str(config), "-o", str(out),
           "-q", "-j", "2"]
    records = out / ".work" / "records"
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if records.is_dir() and len([p for p in records.iterdir()
                                     if p.suffix == ".jsonl"]) >= 1:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "metadata.jsonl").exists()
    done = len(list(records.glob("group-*.jsonl")))
    assert done >= 1
    assert main(["keywords", str(config), "-o", str(out), "-q", "-j", "1", "--resume"]) == 0
    assert "resumed:" in (out / "logs" / "keywords.log").read_text()
    assert _hashes(out) == _hashes(reference)


def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str],
                                                         ) -> None:
    bad = _write(tmp_path / "a", CLEAN.replace('"yes", "stop"', 'yes, "stop"'))
    out = tmp_path / "out"
    assert main(["keywords", str(bad), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "quote the word" in err and "keywords.yaml:3" in err
    no_text = _write(tmp_path / "b", CLEAN.replace(f"text: {{sources: [{{file: {SENTENCES}}}]}}\n",
                                                   ""))
    with pytest.raises(ConfigError, match="text: needed"):
        make_keywords(no_text, out, progress=False)
    same = _write(tmp_path / "c", CLEAN.replace('targets: ["yes", "stop", "hey jarvis"]',
                                                'targets: ["yes", {text: "yes please", '
                                                'label: "yes"}]'))
    assert main(["keywords", str(same), "-o", str(out)]) == 2
    assert "two targets have the label 'yes'" in capsys.readouterr().err
    assert not out.exists()

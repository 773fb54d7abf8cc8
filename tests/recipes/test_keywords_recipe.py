"""recipes/keywords/run.py --quick as a user runs it: corpus, training, scores, report."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from synthaudio.evaluate.kws import THRESHOLDS
from synthaudio.io.metadata import iter_metadata

REPO = Path(__file__).resolve().parents[2]
REAL_SPEECH = REPO / "tests" / "fixtures" / "real_speech"


@pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                    reason="the keywords recipe trains with torch (extra 'train')")
def test_keywords_quick(tmp_path: Path) -> None:
    out = tmp_path / "kws"
    # the word vectors where EfficientWord-Net is installed (not an extra of the test
    # install: its requirements name pyaudio); more clips and streams of their own voices
    words = importlib.util.find_spec("eff_word_net") is not None
    proc = subprocess.run(
        [sys.executable, str(REPO / "recipes/keywords/run.py"), "--quick", "--out", str(out),
         "--jobs", "2", "--threads", "1", "--real-test", str(REAL_SPEECH),
         "--extra-clips", "4", "--extra-streams", "1", "--dev-streams", "1",
         "--test-streams", "1", "--clip-mixup", "0.2",
         "--clip-heads", "2", "--word-vectors", "ewn" if words else "none"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    m = re.search(r"^commands10-full: accuracy (\d+\.\d)% \((\d+) test clips; "
                  r"(\d+\.\d)% balanced\), FRR (\d+\.\d)% \([\d.]+-[\d.]+\) at 0.5 FA/h, FRR "
                  r"(\d+\.\d)% \(([\d.]+)-([\d.]+)\) at 1.0 FA/h", proc.stdout, re.M)
    assert m, proc.stdout
    results = json.loads((out / "results.json").read_text())["rows"]["full"]
    assert results["loss_ok"] and results["dev_loss"][1] < results["dev_loss"][0]
    assert abs(100 * results["accuracy"] - float(m.group(1))) < 0.06
    assert abs(100 * results["balanced_accuracy"] - float(m.group(3))) < 0.06
    assert results["features"] == "embedding" and results["balance"] == 1.0
    # the clip scores come from a head of their own (--clip-head 256x3 by default, here with
    # --clip-mixup); the detector's head (model.pt, --head 128x2) without mixup
    assert results["mixup"] == 0.0 and results["clip_mixup"] == 0.2
    assert results["head"] == "128x2" and results["clip_head"] == "256x3"
    assert "commands10-full: the clip classifier's head (256x3, mixup 0.2)" in proc.stdout
    from synthaudio.train.classifier import load_classifier, load_detector_settings

    exp = out / "exp" / "commands10-full"
    clip, clip_labels, _ = load_classifier(exp / "clip_model.pt")
    head, head_labels, _ = load_classifier(exp / "model.pt")
    assert clip_labels == head_labels
    assert (clip.cfg.channels, clip.cfg.layers) == (256, 3)
    assert (head.cfg.channels, head.cfg.layers) == (128, 2)
    assert sum(x.numel() for x in head.parameters()) == 88524  # 12 classes
    assert load_detector_settings(exp / "model.pt") and not load_detector_settings(
        exp / "clip_model.pt")
    # --clip-heads 2: a second clip head, seed + 1000, whose posteriors are averaged in
    assert results["clip_heads"] == 2 and len(results["clip_best_epoch"]) == 2
    assert "commands10-full: clip head 2 of 2 (seed 1000)" in proc.stdout
    second, second_labels, _ = load_classifier(exp / "clip_model-2.pt")
    assert second_labels == clip_labels and (second.cfg.channels, second.cfg.layers) == (256, 3)
    first_w = next(iter(clip.state_dict().values()))
    assert not (next(iter(second.state_dict().values())) == first_w).all()
    # --extra-clips 4: 4 positives a command (40), 20 hard negatives, 14 other speech, 2
    # each of babble, noise and silence, all training clips
    extra = out / "corpora" / "kws-commands10-full-quick-extra"
    assert len((extra / "metadata.jsonl").read_text().splitlines()) == results["extra_clips"]
    assert results["extra_clips"] == 80
    assert "80 more clips (40 positive) from kws-commands10-full-quick-extra" in proc.stdout
    assert re.search(r"\d+ more stream windows \(\d+ positive\) from 1 extra training streams",
                     proc.stdout)
    assert results["word_vectors"] == ("ewn" if words else "none")
    if words:
        assert results["word_vectors_c"] in (0.3, 1.0, 3.0, 10.0)
        assert (out / "exp" / "commands10-full" / "word_classifier.npz").is_file()
        assert 0 <= results["real"]["head_only"]["accuracy"] <= 1
        # the clip fusion's weight: the largest of the grid within one standard error of
        # the best balanced accuracy on the synthetic dev clips
        dev, se = results["fuse_dev_balanced"], results["fuse_dev_se"]
        assert set(dev) == set(se) == {"0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8"}
        assert results["fuse_rule"] == "dev" and all(0 <= v <= 0.5 for v in se.values())
        best = max(dev, key=lambda w: (dev[w], -abs(float(w) - 0.5)))
        within = [float(w) for w in dev if dev[w] >= dev[best] - se[best]]
        assert results["fuse_weight"] == max(within)
    # every word of the fixture cut out by alignment: its "go" and "on" ("feels like these
    # days go on forever") are the commands, the other words _unknown_
    real = results["real"]
    spoken = [w for line in (REAL_SPEECH / "text").read_text().splitlines()
              for w in line.split()[1:]]
    assert real["clips"] == len(spoken) == 99
    # printed with its standard error
    printed = re.search(r"real: accuracy [\d.]+%, balanced (\d+\.\d)% \+- (\d+\.\d),",
                        proc.stdout)
    assert printed, proc.stdout
    assert abs(100 * real["balanced_accuracy"] - float(printed.group(1))) < 0.06
    assert abs(100 * real["balanced_accuracy_se"] - float(printed.group(2))) < 0.06
    assert 0 <= real["balanced_accuracy_se"] < 0.5
    assert real["per_class"]["go"][1] == real["per_class"]["on"][1] == 1
    assert real["per_class"]["_unknown_"][1] == len(spoken) - 2
    right = sum(v[0] for v in real["per_class"].values())
    assert real["accuracy"] == pytest.approx(right / 99)
    assert real["target_recall"] == pytest.approx((real["per_class"]["go"][0]
                                                   + real["per_class"]["on"][0]) / 2)
    assert {w for w in real["per_word"]} == set(spoken) and real["per_word"]["go"][1] == 1
    # the detector: trained on windows of streams of other voices, scored on the test
    # streams' keywords, its per-keyword thresholds chosen on the dev streams
    assert results["frr_at"]["1.0"]["false_reject_rate"] == float(m.group(5)) / 100
    # with the 95% interval over the test streams drawn again (one stream: the figure)
    low, high = results["frr_at"]["1.0"]["interval"]
    assert [100 * low, 100 * high] == pytest.approx([float(m.group(6)), float(m.group(7))],
                                                    abs=0.06)
    assert low <= results["frr_at"]["1.0"]["false_reject_rate"] <= high
    assert results["frr_at_target_interval"] == [low, high]
    # --dev-streams 1: the dev streams are the streams corpus's last one and that corpus's
    assert (out / "corpora" / "kws-commands10-full-quick-streams-dev" / "metadata.jsonl"
            ).is_file()
    assert results["dev_thresholds"]["dev_stream_hours"] == pytest.approx(2 * 30 / 3600)
    # --test-streams 1: one test stream of its own corpus beside the corpus's own
    more_tests = out / "corpora" / "kws-commands10-full-quick-streams-test"
    assert results["test"] == ("test split of kws-commands10-full-quick and the streams of "
                               "kws-commands10-full-quick-streams-test")
    tested = {c: [r for r in iter_metadata(c) if r.split == "test"
                  and r.extra.get("kind") == "stream"]
              for c in (out / "corpora" / "kws-commands10-full-quick", more_tests)}
    assert len(tested[more_tests]) == 1
    assert results["stream_hours"] == pytest.approx(
        sum(r.duration_s for rs in tested.values() for r in rs) / 3600)
    commands = set(results["dev_thresholds"]["thresholds"])
    said = {c: sum(ev[0] in commands for r in rs for ev in r.extra["events"])
            for c, rs in tested.items()}
    assert results["stream_events"] == sum(said.values()) and said[more_tests] > 0
    assert set(results["dev_thresholds"]["thresholds"]) == {
        "down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes"}
    # the detector saved for users: one pooled threshold (the default), at least 0.5
    pooled = results["dev_thresholds"]["pooled"]
    assert results["detector"]["threshold"] == pooled["threshold"] >= 0.5
    assert results["detector"]["thresholds"] == {}
    assert results["real_speech_false_accepts"]["seconds"] > 30
    if words:  # the cascade: the head's candidates verified by the word vectors
        cascade = results["cascade"]
        assert set(cascade["frr_at"]) == {"0.5", "1.0", "2.0", "5.0"}
        assert results["detector"]["verify_threshold"] == cascade["pooled"]["threshold"] >= 0.5
        assert results["detector"]["candidate_threshold"] == 0.5
        assert cascade["stage2_cpu_s_per_hour"] > 0 and cascade["stage2_vectors_per_hour"] > 0
        # stage 2 fuses the word vectors with the clip heads (--verify-heads clip), saved
        # beside the model; the same candidates fused with the detector head's row beside
        assert cascade["verify_heads"] == "clip"
        assert results["detector"]["verify_models"] == cascade["verify_models"] == [
            "clip_model.pt", "clip_model-2.pt"]
        assert set(cascade["detector_head"]["frr_at"]) == {"0.5", "1.0", "2.0", "5.0"}
        assert "fused with the detector head instead: FRR" in proc.stdout
        # every keyword the cascade finds at a second threshold of 0 has a candidate, so it
        # misses at least what the head misses at 0.5
        head_05 = next(p for p in results_det(out) if p["threshold"] == 0.5)
        assert cascade["det"][0]["false_reject_rate"] == head_05["false_reject_rate"]
        # cascade.py gives the recipe's cascade again, with its intervals; against itself
        # as the baseline every difference is 0
        corpora = out / "corpora"
        found = tmp_path / "cascade.json"
        subprocess.run(
            [sys.executable, str(REPO / "recipes/keywords/cascade.py"),
             str(out / "exp" / "commands10-full" / "model.pt"),
             str(corpora / "kws-commands10-full-quick"),
             "--stream-corpus", str(corpora / "kws-commands10-full-quick-streams"),
             "--dev-streams", str(corpora / "kws-commands10-full-quick-streams-dev"),
             "--test-streams", str(more_tests),
             "--cache", str(out / "cache" / "embedding"), "--candidates", "0.5",
             "--heads", "clip", "--baseline", str(out / "exp" / "commands10-full" / "model.pt"),
             "--json", str(found)], check=True, capture_output=True, timeout=300)
        again = json.loads(found.read_text())
        assert again["cascade"]["0.5/0.5/clip"]["frr_at"] == {
            x: v["false_reject_rate"] for x, v in cascade["frr_at"].items()}
        assert again["cascade"]["0.5/0.5/clip"]["frr_interval"] == {
            x: v["interval"] for x, v in cascade["frr_at"].items()}
        assert again["cascade"]["0.5/0.5/clip"]["pooled"] == cascade["pooled"]
        assert again["baseline"]["difference"]["0.5/0.5/clip"]["1.0"] == [0.0, 0.0, 0.0]
        for x, (diff, low, high) in again["cascade"]["0.5/0.5/clip"]["against_head"].items():
            assert diff == pytest.approx(again["cascade"]["0.5/0.5/clip"]["frr_at"][x]
                                         - again["head"]["frr_at"][x]) and low <= high
        assert again["baseline"]["difference"]["head"]["5.0"] == [0.0, 0.0, 0.0]
    else:
        assert "cascade" not in results and results["detector"]["verify_threshold"] is None
    corpus = out / "corpora" / "kws-commands10-full-quick"
    kws = json.loads((corpus / "eval" / "commands10-full" / "kws.json").read_text())
    det = kws["det"]
    assert len(det) == len(THRESHOLDS) and det[0]["threshold"] == 0.0
    assert det[-1]["threshold"] == 1.0 and det[-2]["threshold"] == 0.999999
    frr = [p["false_reject_rate"] for p in det]
    fa = [p["false_accepts_per_hour"] for p in det]
    assert frr == sorted(frr) and fa == sorted(fa, reverse=True)  # a DET curve is monotone
    page = (corpus / "report" / "index.html").read_text()
    assert "Keyword spotting" in page and 'alt="DET curve"' in page
    assert (out / "exp" / "commands10-full" / "model.pt").is_file()
    det_csv = (corpus / "eval" / "commands10-full" / "det.csv").read_text().splitlines()
    assert det_csv[0] == "threshold,false_accepts_per_hour,false_reject_rate"
    assert len(det_csv) == len(THRESHOLDS) + 1
    assert (corpus / "eval" / "commands10-full" / "det.png").stat().st_size > 1000
    cut = {p.relative_to(out / "real-cut-real_speech").as_posix()
           for p in (out / "real-cut-real_speech").rglob("*.wav")}
    assert len(cut) == len(spoken)
    assert {"go/forever01_nohash_0.wav", "on/forever01_nohash_0.wav",
            "five/cards004_nohash_1.wav"} <= cut
    # why it misses: each test-stream keyword counted once per factor of its conditions
    misses = subprocess.run(
        [sys.executable, str(REPO / "recipes/keywords/stream_misses.py"),
         str(out / "exp" / "commands10-full" / "model.pt"), str(corpus),
         "--test-streams", str(more_tests), "--cache", str(out / "cache" / "embedding")],
        capture_output=True, text=True, timeout=120, check=False)
    assert misses.returncode == 0, misses.stdout + misses.stderr
    keywords = int(re.search(r"^(\d+) keywords; at 1.0 FA/h", misses.stdout, re.M).group(1))
    assert keywords == results["stream_events"] > 0
    for factor in ("noise", "snr", "rt60", "codec", "engine"):
        line = re.search(rf"^  {factor}: (.*)$", misses.stdout, re.M)
        assert line, misses.stdout
        counts = [tuple(map(int, c.rsplit(" ", 1)[1].split("/")))
                  for c in line.group(1).split("; ")]
        assert sum(n for _, _, n in counts) == keywords
        assert all(recognised <= n and found <= n for recognised, found, n in counts)
    assert "engine: ? " not in misses.stdout and "; ? " not in misses.stdout  # each matched
    # the same corpus (reused, not made again) through the log-mel front end
    again = _quick_again(out, "log-mel")
    logmel = json.loads((out / "results.json").read_text())["rows"]["full"]
    assert logmel["features"] == "log-mel" and logmel["loss_ok"]
    assert logmel["clip_mixup"] == logmel["mixup"] == 0.0  # by default one head does both
    assert logmel["head"] is None and logmel["clip_head"] is None  # the embedding heads only
    assert not (out / "exp" / "commands10-full-log-mel" / "clip_model.pt").exists()
    assert "rendered now: 0" in again.stdout
    assert (out / "exp" / "commands10-full-log-mel" / "model.pt").is_file()
    assert (out / "exp" / "commands10-full" / "model.pt").is_file()  # not overwritten
    # and through Whisper's encoder: the embedding's head, stream windows and detector
    whisper = _quick_again(out, "whisper")
    w = json.loads((out / "results.json").read_text())["rows"]["full"]
    assert w["features"] == "whisper" and w["loss_ok"] and w["head"] == "128x2"
    assert re.search(r"commands10-full-whisper: \d+ stream windows \([1-9]\d* positive\) from "
                     r"\d+ training streams", whisper.stdout), whisper.stdout
    # (without --test-streams: the corpus's own test streams)
    assert w["stream_events"] == results["stream_events"] - said[more_tests] and "frr_at" in w
    assert w["real_speech_false_accepts"]["seconds"] > 30  # scored over the real fixtures
    model = out / "exp" / "commands10-full-whisper" / "model.pt"
    stream = next((out / "corpora" / "kws-commands10-full-quick").rglob("stream-*.wav"), None)
    assert stream is not None
    from synthaudio.cli import main as synthaudio_main

    assert synthaudio_main(["detect", str(model), str(stream), "-o", str(tmp_path / "w.csv")]) == 0
    assert (tmp_path / "w.csv").read_text().startswith("file,keyword,start_s,end_s,score\n")
    assert "--tune-layers and --context are the speech embedding's" in _refused(
        out, tmp_path, "--features", "whisper", "--tune-layers", "1")
    # a one-vs-rest detector head reading its window's frames in order: its own sigmoids and
    # its window's 16 frames in the saved model, which detect reads
    # (and with a folder of the user's own negative audio: 20 s, its windows _unknown_)
    negatives = tmp_path / "negatives" / "room"
    negatives.mkdir(parents=True)
    noise = np.random.default_rng(3).normal(0, 0.05, 20 * 8000).astype(np.float32)
    sf.write(negatives / "hum.wav", noise, 8000)
    ovr_run = _quick_again(out, "embedding", "--detector-output", "sigmoid", "--detector-pool",
                           "flat", "--tag=-ovr", "--negative-audio", str(negatives.parent))
    ovr = json.loads((out / "results.json").read_text())["rows"]["full"]
    assert ovr["loss_ok"] and "frr_at" in ovr and ovr["detector_output"] == "sigmoid"
    heard = ovr["negative_audio"][str(negatives.parent)]
    assert heard["files"] == 1 and heard["seconds"] == 20.3  # the recording and its gap
    # a window every 80 ms, every --negative-every-th (2) of them kept
    assert 20.3 / 0.08 / 2 - 10 < heard["windows"] <= 20.3 / 0.08 / 2
    assert (f"commands10-full-ovr: {heard['windows']} windows of 0.01 h of negative audio "
            f"(1 files in {negatives.parent})") in ovr_run.stdout
    assert "not a folder" in _refused(out, tmp_path, "--negative-audio",
                                      str(tmp_path / "nothing"))
    # a real test set it cannot read: said before any corpus or training, not after
    assert "real test set not found" in _refused(out, tmp_path, "--real-test",
                                                 str(tmp_path / "nothing"))
    assert "--negative-audio gives windows to the embedding" in _refused(
        out, tmp_path, "--features", "log-mel", "--negative-audio", str(negatives.parent))
    assert ovr["detector_pool"] == "flat"
    assert results["detector_output"] == "softmax" and results["detector_pool"] == "max"
    ovr_model = out / "exp" / "commands10-full-ovr" / "model.pt"
    from synthaudio.train.classifier import load_classifier

    head = load_classifier(ovr_model)[0].cfg
    assert (head.output, head.pool, head.frames) == ("sigmoid", "flat", 16)
    assert synthaudio_main(["detect", str(ovr_model), str(stream), "-o",
                            str(tmp_path / "o.csv")]) == 0
    assert (tmp_path / "o.csv").read_text().startswith("file,keyword,start_s,end_s,score\n")
    for option in (("--detector-output", "sigmoid"), ("--detector-pool", "flat")):
        assert "--detector-pool flat are the embedding and Whisper heads'" in _refused(
            out, tmp_path, "--features", "log-mel", *option)


def _refused(out: Path, cwd: Path, *options: str) -> str:
    """The quick run with ``options`` the recipe refuses: exit 2 and one line, returned."""
    refused = subprocess.run(
        [sys.executable, str(REPO / "recipes/keywords/run.py"), "--quick", "--out", str(out),
         *options], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    return refused.stderr


def _quick_again(out: Path, features: str, *more: str) -> subprocess.CompletedProcess[str]:
    """The quick run again on its corpus (reused) through the front end ``features``."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "recipes/keywords/run.py"), "--quick", "--out", str(out),
         "--jobs", "2", "--threads", "1", "--features", features, *more],
        cwd=out.parent, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def results_det(out: Path) -> list[dict[str, float]]:
    """The head's DET curve of the quick run's model."""
    kws = out / "corpora" / "kws-commands10-full-quick" / "eval" / "commands10-full" / "kws.json"
    return list(json.loads(kws.read_text())["det"])


def test_real_speech_commands_folder_maps_to_the_model_labels(tmp_path: Path) -> None:
    """Any rate; a vocabulary word keeps its label, other words and _unknown_ are _unknown_,
    _silence_ is _silence_, _background_noise_ is not scored."""
    import numpy as np
    import soundfile as sf

    sys.path.insert(0, str(REPO / "recipes" / "keywords"))
    from real_test import real_clips

    folder = tmp_path / "sc"
    tone = (0.1 * np.sin(np.arange(8000) / 8000 * 2 * np.pi * 440)).astype(np.float32)
    for rel in ("yes/ab12_nohash_0.wav", "yes/cd34_nohash_1.wav", "cat/ab12_nohash_0.wav",
                "_unknown_/u1.wav", "_silence_/s1.wav", "_background_noise_/pink.wav"):
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        sf.write(folder / rel, tone, 8000)
    clips = real_clips(folder, ["_silence_", "_unknown_", "no", "yes"], tmp_path / "work", 1.0)
    got = sorted((c.word, c.label) for c in clips)
    assert got == [("_silence_", "_silence_"), ("_unknown_", "_unknown_"),
                   ("cat", "_unknown_"), ("yes", "yes"), ("yes", "yes")]
    assert all(c.path.is_file() for c in clips)


def test_real_proxy_builds_a_kaldi_dir_from_shipped_recordings(tmp_path: Path) -> None:
    import io
    import tarfile

    import numpy as np
    import soundfile as sf

    sys.path.insert(0, str(REPO / "recipes" / "keywords"))
    from real_proxy import main

    from synthaudio.io.kaldi import list_kaldi_dir

    alsa = tmp_path / "alsa"
    alsa.mkdir()
    tone = (0.1 * np.sin(np.arange(48000) / 48000 * 2 * np.pi * 300)).astype(np.float32)
    sf.write(alsa / "Front_Left.wav", np.stack([tone, tone], 1), 48000)  # stereo, 48 kHz
    sf.write(alsa / "Noise.wav", tone, 48000)  # no "_": not a voice prompt
    sdist = tmp_path / "pocketsphinx-5.1.1.tar.gz"
    with tarfile.open(sdist, "w:gz") as tar:
        pcm = (tone[:16000] * 32767).astype("<i2").tobytes()
        info = tarfile.TarInfo("pocketsphinx-5.1.1/test/data/goforward.raw")
        info.size = len(pcm)
        tar.addfile(info, io.BytesIO(pcm))
    out = tmp_path / "proxy"
    assert main(["--out", str(out), "--alsa", str(alsa), "--pocketsphinx-sdist", str(sdist)]) == 0
    utts = {u.id: u for u in list_kaldi_dir(out)}
    assert utts["alsa-frontleft"].text == "front left"
    assert utts["pocketsphinx-goforward"].text == "go forward ten meters"
    assert len(utts) == 11 + 2  # the fixture's eleven, the prompt, the raw recording
    audio, rate = sf.read(utts["alsa-frontleft"].wav_path)
    assert rate == 16000 and audio.ndim == 1 and len(audio) == 16000
    assert main(["--out", str(out), "--alsa", str(tmp_path / "nope")]) == 2


def test_stream_windows_are_labelled_by_the_keywords_they_hold() -> None:
    """A window holding a whole keyword of the model is that keyword, one cutting through it
    is left out, the rest (other words of a larger vocabulary too) are _unknown_."""
    sys.path.insert(0, str(REPO / "recipes" / "keywords"))
    from streaming import model_label, window_labels

    # windows 0.5 s apart, 1 s long: [0, 1), [0.5, 1.5), [1, 2), ...
    events = [["yes", 1.2, 1.7], ["tree", 3.1, 3.5]]
    got = window_labels(10, 0.5, 1.0, events, ["yes", "_unknown_"])
    assert got[:4] == ["_unknown_", None, "yes", None]  # [0.5, 1.5) cuts through 1.2-1.7
    assert got[5:8] == ["_unknown_"] * 3  # "tree" is not the model's: a negative
    assert model_label("tree", ["yes"]) == "_unknown_"
    assert model_label("_silence_", ["yes"]) == "_silence_"


def test_stream_misses_sorts_each_keyword_into_the_conditions_it_was_said_in() -> None:
    """stream_misses.py's breakdown: a keyword's stream's noise kinds, SNR and RT60 bands and
    codec, and the engine of the phrase that said it; counts per factor and value."""
    from types import SimpleNamespace

    sys.path.insert(0, str(REPO / "recipes" / "keywords"))
    from stream_misses import by_condition, conditions

    record = SimpleNamespace(
        augment={"noise": {"snr_db": 14.9, "sources": [{"kind": "music"}, {"kind": "babble"},
                                                        {"kind": "music"}]},
                 "room": {"rt60_s": 0.5}, "channel": {"codec": {"kind": "opus"}}},
        tts={"phrases": [{"text": "go", "engine": "flite", "start_s": 3.0},
                         {"text": "go on", "engine": "pico", "start_s": 9.9},
                         {"text": "go", "engine": "piper", "start_s": 10.0}]})
    first = conditions(record, 3.05, "go")
    assert first == {"noise": "babble+music", "snr": "5-15 dB", "rt60": ">=0.5 s",
                     "codec": "opus", "engine": "flite"}
    assert conditions(record, 10.02, "go")["engine"] == "piper"  # the phrase nearest it
    quiet = SimpleNamespace(augment={"noise": None, "room": {"rt60_s": 0.2}, "channel": {}},
                            tts={"phrases": []})
    assert conditions(quiet, 1.0, "up") == {"noise": "none", "snr": "no noise",
                                            "rt60": "<0.3 s", "codec": "none", "engine": "?"}
    loud = SimpleNamespace(augment={"noise": {"snr_db": 25.0, "sources": [{"kind": "hum"}]}},
                           tts=None)
    assert conditions(loud, 0.0, "up")["snr"] == ">=25 dB"
    assert conditions(loud, 0.0, "up")["rt60"] == "no room"
    table = by_condition([(first, True, False), (first, True, True),
                          (conditions(quiet, 1.0, "up"), False, False)])
    assert table["engine"] == {"flite": (2, 2, 1), "?": (1, 0, 0)}
    assert table["snr"] == {"5-15 dB": (2, 2, 1), "no noise": (1, 0, 0)}


def test_head_sizes_are_checked_before_anything_runs(tmp_path: Path) -> None:
    """--head / --clip-head CxL: a bad size is one line and exit 2, nothing made."""
    sys.path.insert(0, str(REPO / "recipes" / "keywords"))
    from run import head_size

    assert head_size("256x3") == (256, 3) and head_size("128X2") == (128, 2)
    for bad in ("256", "0x3", "256x", "ax3", "256x3x1", "-1x2"):
        with pytest.raises(ValueError, match="CHANNELSxLAYERS"):
            head_size(bad)
    for option in ("--head", "--clip-head"):
        proc = subprocess.run(
            [sys.executable, str(REPO / "recipes/keywords/run.py"), "--quick", "--out",
             str(tmp_path / "kws"), option, "256"],
            cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 2
        assert proc.stderr.strip() == (f"run.py: {option} must be CHANNELSxLAYERS such as "
                                       "256x3, got '256'")
        assert not (tmp_path / "kws").exists()


@pytest.mark.parametrize("script", ["stream_misses.py", "cascade.py", "real_false_accepts.py"])
def test_the_analysis_scripts_refuse_a_model_that_is_not_one_in_one_line(
        tmp_path: Path, script: str) -> None:
    (tmp_path / "exp").mkdir()
    (tmp_path / "notes.pt").write_text("not a model\n")
    for model, why in ((tmp_path / "exp", "no such keyword model"),
                       (tmp_path / "notes.pt", "not a keyword model")):
        proc = subprocess.run(
            [sys.executable, str(REPO / "recipes/keywords" / script), str(model),
             *([] if script == "real_false_accepts.py" else [str(tmp_path)])],
            cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith(f"{script}: {model}: {why}"), proc.stderr
        assert proc.stderr.count("\n") == 1, proc.stderr
    if script == "real_false_accepts.py":  # a curve it cannot read, before any model
        for curve, why in (("0.5,high", "--curve must be thresholds joined by commas"),
                           ("0.5,0.9", "--threshold 0.7 is above --curve's lowest")):
            proc = subprocess.run(
                [sys.executable, str(REPO / "recipes/keywords" / script),
                 str(tmp_path / "exp"), "--curve", curve, "--threshold", "0.7"],
                cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
            assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
            assert proc.stderr.startswith(f"{script}: {why}"), proc.stderr


def test_wake_targets_from_the_command_line() -> None:
    sys.path.insert(0, str(REPO / "recipes" / "keywords"))
    from run import derive_config, vocab_targets

    assert vocab_targets("wake") == ("wake", ["hey jarvis"])
    assert vocab_targets("wake", "Computer, hey  robot") == ("wake-computer-hey_robot",
                                                             ["computer", "hey robot"])
    cfg = derive_config("wake", "full", False, None, None, "computer")
    assert cfg["name"] == "kws-wake-computer-full"
    assert [t["text"] for t in cfg["targets"]] == ["computer"]
    assert cfg["clip_s"] == 1.5


def test_asr_check_names_its_corpus_and_checks_every_clip() -> None:
    sys.path.insert(0, str(REPO / "recipes" / "keywords"))
    from run import derive_config, stream_config

    from synthaudio.pipelines.keywords.config import KeywordsConfig

    plain = derive_config("commands10", "full", False, None, 200)
    checked = derive_config("commands10", "full", False, None, 200, asr_check=True)
    assert KeywordsConfig.model_validate(plain).quality is None
    assert checked["name"] == plain["name"] + "-asr"
    asr = KeywordsConfig.model_validate(checked).quality.asr
    assert asr is not None and (asr.backend, asr.metric, asr.max_error) == (
        "faster-whisper", "cer", 0.5)
    # everything else is the plain row's, and its streams are checked too
    assert {k: v for k, v in checked.items() if k not in ("name", "quality")} == \
        {k: v for k, v in plain.items() if k not in ("name", "quality")}
    streams = KeywordsConfig.model_validate(stream_config(checked, 4, False))
    assert streams.quality.asr == asr


def test_joined_negative_streams_and_hard_negative_mining(tmp_path: Path) -> None:
    """Negative clips joined into streams of the asked length (every clip once before any
    twice, the same draw for a seed); mining keeps the negative windows a model takes for
    a target, highest first, up to the limit."""
    import numpy as np
    import soundfile as sf

    sys.path.insert(0, str(REPO / "recipes" / "keywords"))
    from streaming import hard_negatives, joined_streams

    paths = []
    for k in range(5):  # 0.5 s clips of constant value k + 1
        paths.append(tmp_path / f"c{k}.wav")
        sf.write(paths[-1], np.full(8000, (k + 1) / 10, np.float32), 16000, subtype="FLOAT")
    one = joined_streams(paths, 2.0, 2, seed=3)
    assert [len(x) for x in one] == [32000, 32000]  # 4 clips reach 2 s
    firsts = np.concatenate(one)[::8000].round(2)
    assert sorted(firsts[:5]) == [0.1, 0.2, 0.3, 0.4, 0.5]  # all five before a repeat
    assert all(np.array_equal(a, b) for a, b in zip(one, joined_streams(paths, 2.0, 2, 3),
                                                    strict=True))
    windows = [np.full((2, 3), v, np.float32) for v in (0.1, 0.9, 0.5, 0.95, 0.2)]

    def score(ws: list[np.ndarray]) -> np.ndarray:  # labels: yes, _unknown_
        top = np.array([w[0, 0] for w in ws])
        return np.stack([top, 1 - top], axis=1)

    found, scores = hard_negatives(score, windows, ["yes", "_unknown_"], 0.3, 2)
    assert scores == pytest.approx([0.95, 0.9]) and found[0] is windows[3]
    assert len(hard_negatives(score, windows, ["yes", "_unknown_"], 0.3, 10)[0]) == 3
    assert hard_negatives(score, [], ["yes", "_unknown_"], 0.3, 10) == ([], [])


def test_real_false_accepts_counts_true_and_false_detections(tmp_path: Path) -> None:
    """Clips of known words joined into one recording: a detection over its own word is
    true, over another word false; digits files carry their word in the name."""
    from types import SimpleNamespace

    import numpy as np
    import soundfile as sf

    sys.path.insert(0, str(REPO / "recipes" / "keywords"))
    from real_false_accepts import clip_words, curve, joined, judge, ordered

    from synthaudio.train.detect import Detection, DetectorSettings

    for name in ("yes/a.wav", "no/b.wav", "3_theo_1.wav"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        sf.write(tmp_path / name, np.zeros(16000, np.float32), 16000)
    clips = clip_words(tmp_path)
    assert [w for _, w in clips] == ["three", "no", "yes"]
    audio, spans = joined(clips, 16000, 0.5)
    assert len(audio) == 3 * 24000 and spans[1] == (1.5, 2.5, "no")
    found = [Detection("x", "no", 1.4, 2.4, 0.9), Detection("x", "yes", 0.0, 1.0, 0.8),
             Detection("x", "yes", 3.0, 4.0, 0.95)]
    stub = SimpleNamespace(labels=("no", "yes", "_unknown_"),
                           features=SimpleNamespace(sample_rate=16000),
                           detect=lambda *a: found)
    got = judge(stub, audio, spans, DetectorSettings(), "x")  # type: ignore[arg-type]
    assert (got["detections"], got["false_accepts"], got["keywords_said"],
            got["keywords_found"]) == (3, 1, 2, 2)
    assert got["false"] == [["yes", 0.0, 0.8, "three"]]  # "yes" over the clip of "three"
    assert got["found_scores"] == [0.9, 0.95]  # "no" and "yes", each by its own detection
    # --curve: what runs at higher thresholds would find, from the one run
    points = curve({"x": got}, [0.5, 0.85, 0.92, 0.99], 0.5)
    assert [(c["keywords_found"], c["false_accepts"]) for c in points] == [
        (2, 1), (2, 0), (1, 0), (0, 0)]
    assert points[0]["false_accepts_per_hour"] == 2.0
    # joined shuffled by default: a word's clips not back to back (their posteriors would
    # merge into one run); the same seed, the same order
    many = [(Path(f"{w}/{k}.wav"), w) for w in ("down", "go", "up") for k in range(8)]
    shuffled = ordered(many, "shuffled", 0)
    assert sorted(shuffled) == sorted(many) and shuffled == ordered(many, "shuffled", 0)
    assert shuffled != ordered(many, "shuffled", 1) and ordered(many, "name", 0) == many
    def neighbours(clips: list[tuple[Path, str]]) -> int:  # the same word twice in a row
        return sum(a[1] == b[1] for a, b in zip(clips, clips[1:], strict=False))

    assert neighbours(shuffled) < neighbours(many) == 21
    with pytest.raises(ValueError, match="shuffled or name"):
        ordered(many, "random", 0)


def test_extra_clips_and_extra_streams_are_corpora_of_their_own_voices() -> None:
    """--extra-clips: more positives a target by voices of their own (seed + 3, as many as
    the base's train split), negatives in the base's ratios, all training clips, no
    streams; --extra-streams: streams only, seed + 2, their own name (the dev streams of
    <name>-streams stay what they were); --dev-streams: streams only, seed + 4."""
    sys.path.insert(0, str(REPO / "recipes" / "keywords"))
    from run import derive_config, extra_clips_config, stream_config

    cfg = derive_config("commands10", "full", False, None, 200)
    extra = extra_clips_config(cfg, 150, False)
    assert extra["name"] == "kws-commands10-full-extra" and extra["seed"] == cfg["seed"] + 3
    assert extra["speakers"]["count"] == 128 and cfg["speakers"]["count"] == 160
    assert extra["splits"] == {"train": 1.0, "dev": 0.0, "test": 0.0}
    assert extra["counts"]["positives"] == 150 and extra["streams"]["count"] == 0
    for kind in ("hard_negatives", "speech", "babble", "noise", "silence"):
        assert extra["counts"][kind] == cfg["counts"][kind]
    assert extra["targets"] == cfg["targets"] and extra["augment"] == cfg["augment"]
    dev = stream_config(cfg, 24, False)
    more = stream_config(cfg, 12, False, "extra")
    dev_more = stream_config(cfg, 60, False, "dev")
    test_more = stream_config(cfg, 60, False, "test")
    assert (dev["name"], dev["seed"], dev["streams"]["count"]) == (
        "kws-commands10-full-streams", cfg["seed"] + 1, 24)
    assert (more["name"], more["seed"], more["streams"]["count"]) == (
        "kws-commands10-full-streams-extra", cfg["seed"] + 2, 12)
    assert (dev_more["name"], dev_more["seed"], dev_more["streams"]["count"]) == (
        "kws-commands10-full-streams-dev", cfg["seed"] + 4, 60)
    assert dev_more["streams"]["duration_s"] == dev["streams"]["duration_s"] == 120
    assert more["speakers"]["count"] == dev["speakers"]["count"] == 48
    assert dev_more["speakers"]["count"] == 48
    assert (test_more["name"], test_more["seed"], test_more["streams"]["count"]) == (
        "kws-commands10-full-streams-test", cfg["seed"] + 5, 60)
    assert test_more["splits"] == {"train": 0.0, "dev": 0.0, "test": 1.0}
    assert test_more["augment"] == dev["augment"] and test_more["counts"] == dev["counts"]
    assert dev_more["augment"] == dev["augment"] and dev_more["counts"] == dev["counts"]


def test_feature_caches_follow_the_audio_not_the_path(tmp_path: Path) -> None:
    """A corpus made again at the same path with other audio (the generator's coding
    changed, a config changed) must not reuse the features of the one before."""
    sys.path.insert(0, str(REPO / "recipes" / "keywords"))
    from streaming import cached, files_digest

    clip = tmp_path / "corpus" / "a.wav"
    clip.parent.mkdir()
    clip.write_bytes(b"first rendering")
    calls: list[bytes] = []

    def features() -> bytes:
        calls.append(clip.read_bytes())
        return clip.read_bytes()

    cache = tmp_path / "cache" / "corpus-train"
    assert cached(cache, (files_digest([clip]), "cfg"), features) == b"first rendering"
    assert cached(cache, (files_digest([clip]), "cfg"), features) == b"first rendering"
    assert len(calls) == 1  # the same bytes: from the cache
    clip.write_bytes(b"other rendering")
    assert cached(cache, (files_digest([clip]), "cfg"), features) == b"other rendering"
    assert len(calls) == 2
    assert files_digest([clip, clip]) != files_digest([clip])


def test_cascade_reads_each_front_ends_own_cache() -> None:
    """cascade.py --cache OUT/cache/embedding --baseline M: a baseline over Whisper's frames
    reads OUT/cache/whisper (the recipe's cache of its front end), not the embedding's."""
    sys.path.insert(0, str(REPO / "recipes" / "keywords"))
    from cascade import front_end_cache

    cache = Path("out") / "cache" / "embedding"
    assert front_end_cache(cache, "whisper") == Path("out") / "cache" / "whisper"
    assert front_end_cache(cache, "embedding") == cache
    assert front_end_cache(Path("mine"), "whisper") == Path("mine")  # not the recipe's: as given
    assert front_end_cache(None, "whisper") is None


def test_make_corpus_reuses_a_corpus_made_from_prompt_files_at_other_paths(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """The same prompts under another checkout's paths are the same config: --reuse-corpus
    keeps the corpus and its config (the paths it was made from); other contents make it
    again; a second run waits for the one making the corpus, then reuses it."""
    import threading
    import types

    sys.path.insert(0, str(REPO / "recipes" / "keywords"))
    import run

    made: list[str] = []

    def fake_make(path: Path, corpus: Path, **_: object) -> object:
        made.append(path.read_text(encoding="utf-8"))
        corpus.mkdir(parents=True, exist_ok=True)
        for name in ("metadata.jsonl", "corpus.yaml"):
            (corpus / name).write_text("x\n", encoding="utf-8")
        return types.SimpleNamespace(format=lambda: "made\nmade: 1 clip", wall_s=0.0)

    monkeypatch.setattr(run, "make_keywords", fake_make)
    first, second = tmp_path / "a" / "p.txt", tmp_path / "b" / "p.txt"
    for f in (first, second):
        f.parent.mkdir()
        f.write_text("turn the light on\n", encoding="utf-8")

    def cfg(prompts: Path) -> dict[str, object]:
        return {"name": "kws-x", "seed": 1, "text": {"sources": [{"file": str(prompts)}]}}

    out = tmp_path / "out"
    corpus = run.make_corpus(cfg(first), out, 1, reuse=True)
    config = out / "configs" / "kws-x.yaml"
    assert len(made) == 1 and str(first) in config.read_text(encoding="utf-8")
    assert run.make_corpus(cfg(second), out, 1, reuse=True) == corpus
    assert len(made) == 1 and str(first) in config.read_text(encoding="utf-8")  # kept
    assert "reused" in capsys.readouterr().out
    run.make_corpus(cfg(second), out, 1)  # without --reuse-corpus: resumed, same config
    assert len(made) == 2 and str(first) in made[-1]
    second.write_text("turn the light off\n", encoding="utf-8")
    run.make_corpus(cfg(second), out, 1, reuse=True)  # other prompts: made again
    assert len(made) == 3 and str(second) in made[-1]
    assert made[-1] == config.read_text(encoding="utf-8")
    assert run.same_inputs({"a": [1, str(first)]}, {"a": [1, str(first)]})
    assert not run.same_inputs({"a": [1, str(first)]}, {"a": [2, str(first)]})
    assert not run.same_inputs({"a": "x/p.txt"}, {"a": "y/p.txt"})  # not files: compared

    # one run at a time: the second waits for the lock, then reuses what the first made
    waited: list[Path] = []
    with run._corpus_lock(out / "configs" / "kws-x.lock", "kws-x"):
        thread = threading.Thread(target=lambda: waited.append(
            run.make_corpus(cfg(second), out, 1, reuse=True)))
        thread.start()
        thread.join(0.5)
        assert thread.is_alive() and not waited  # blocked behind the lock
    thread.join(10)
    assert waited == [corpus] and len(made) == 3
    assert "another run is making it; waiting" in capsys.readouterr().out


def test_negative_audio_is_every_recording_once_in_pieces(tmp_path: Path) -> None:
    """--negative-audio: a folder's .wav/.flac files (any rate, any channels) read
    recursively, joined in a seeded shuffled order with a gap after each, cut into pieces;
    bad folders and files are one-line errors naming the option and the path."""
    sys.path.insert(0, str(REPO / "recipes" / "keywords"))
    from streaming import NEGATIVE_GAP_S, RATE, audio_files, negative_pieces

    from synthaudio.errors import SynthaudioError

    folder = tmp_path / "neg"
    (folder / "sub").mkdir(parents=True)
    sf.write(folder / "a.wav", np.full(RATE, 0.125, np.float32), RATE)  # 1 s
    sf.write(folder / "sub" / "b.flac", np.full((3 * RATE, 2), 0.25, np.float32), RATE)
    sf.write(folder / "c.wav", np.full(8000 // 2, 0.375, np.float32), 8000)  # 0.5 s at 8 kHz
    (folder / "notes.txt").write_text("not audio")
    files = audio_files(folder, "--negative-audio")
    assert [f.relative_to(folder).as_posix() for f in files] == ["a.wav", "c.wav",
                                                                 "sub/b.flac"]
    pieces = list(negative_pieces(files, 1.0))
    again = list(negative_pieces(files, 1.0))
    assert all(np.array_equal(x, y) for x, y in zip(pieces, again, strict=True))
    assert [len(x) for x in pieces[:-1]] == [RATE] * (len(pieces) - 1)
    joined = np.concatenate(pieces)
    gap = round(NEGATIVE_GAP_S * RATE)
    assert len(joined) == round(4.5 * RATE) + 3 * gap  # every recording once, a gap after each
    # a's, b's first channel, c's resampled to 16 kHz (within the resampler's edges)
    assert np.sum(joined == 0.125) == RATE
    assert np.sum(joined == 0.25) == 3 * RATE
    assert abs(np.sum(np.abs(joined - 0.375) < 0.01) - RATE // 2) < 50
    assert np.sum(joined == 0) >= 3 * gap
    with pytest.raises(SynthaudioError, match="--negative-audio .*nothing: not a folder"):
        audio_files(tmp_path / "nothing", "--negative-audio")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SynthaudioError, match="empty: no .wav or .flac files in it"):
        audio_files(tmp_path / "empty", "--negative-audio")
    (folder / "d.wav").write_bytes(b"RIFF....WAVE")
    with pytest.raises(SynthaudioError, match=r"d\.wav: not a readable audio file"):
        audio_files(folder, "--negative-audio")

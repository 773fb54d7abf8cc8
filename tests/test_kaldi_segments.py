"""Real Kaldi directories: ``segments`` (with ``reco2dur``) and the common decoder pipes
in ``wav.scp``, read from files built here (WAV, FLAC, and SPHERE written by sox)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from synthaudio.errors import InputError
from synthaudio.io.fileio import load_audio
from synthaudio.io.kaldi import decoder_input, list_kaldi_dir, read_kaldi_dir
from synthaudio.pipelines.augment_dir.pipeline import augment_kaldi_dir

SR = 16000


def _recording(seed: int, seconds: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    x = 0.3 * np.sin(2 * np.pi * (200 + 50 * seed) * t) + 0.05 * rng.standard_normal(t.size)
    return (np.round(x * 32767) / 32767).astype(np.float32)


@pytest.fixture()
def corpus(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    """A segmented directory: three recordings (WAV, FLAC, SPHERE), five segments."""
    audio = tmp_path / "audio"
    audio.mkdir()
    recs = {"rec-a": _recording(1, 3.0), "rec-b": _recording(2, 2.0), "rec-c": _recording(3, 2.5)}
    sf.write(audio / "a.wav", recs["rec-a"], SR, subtype="PCM_16")
    sf.write(audio / "b.flac", recs["rec-b"], SR, subtype="PCM_16")
    sf.write(audio / "c.wav", recs["rec-c"], SR, subtype="PCM_16")
    if shutil.which("sox") is None:  # sox is a listed system package (.ci/system-packages.sh)
        pytest.fail("sox is needed to write the SPHERE file")
    subprocess.run(["sox", str(audio / "c.wav"), str(audio / "c.sph")], check=True)
    (audio / "c.wav").unlink()
    d = tmp_path / "data"
    d.mkdir()
    (d / "wav.scp").write_text(
        f"rec-a {audio / 'a.wav'}\n"
        f"rec-b flac -c -d -s {audio / 'b.flac'} |\n"
        f"rec-c sph2pipe -f wav {audio / 'c.sph'} |\n")
    (d / "segments").write_text(
        "a-1 rec-a 0.00 1.25\na-2 rec-a 1.50 -1\nb-1 rec-b 0.25 1.75\n"
        "c-1 rec-c 0.10 1.10\nc-2 rec-c 1.20 2.50\n")
    (d / "text").write_text("a-1 one\na-2 two\nb-1 three\nc-1 four\nc-2 five\n")
    (d / "utt2spk").write_text("a-1 s1\na-2 s1\nb-1 s2\nc-1 s3\nc-2 s3\n")
    (d / "reco2dur").write_text("rec-a 3.0\nrec-b 2.0\nrec-c 2.5\n")
    return d, recs


CUTS = {"a-1": ("rec-a", 0.0, 1.25), "a-2": ("rec-a", 1.5, 3.0), "b-1": ("rec-b", 0.25, 1.75),
        "c-1": ("rec-c", 0.1, 1.1), "c-2": ("rec-c", 1.2, 2.5)}


def test_segments_are_cut_from_their_recordings(corpus: tuple[Path, dict]) -> None:
    d, _ = corpus
    kaldi = read_kaldi_dir(d)
    assert [u.utt_id for u in kaldi.utterances] == list(CUTS)
    for u in kaldi.utterances:
        reco, start, end = CUTS[u.utt_id]
        assert u.recording == reco
        assert u.start_sample == round(start * SR)
        assert u.num_samples == round(end * SR) - round(start * SR)
    assert {u.audio.suffix for u in kaldi.utterances} == {".wav", ".flac", ".sph"}


def test_augment_writes_each_segment_s_samples(corpus: tuple[Path, dict], tmp_path: Path) -> None:
    d, recs = corpus
    config = tmp_path / "clean.yaml"
    config.write_text("augment: {}\n")
    out = tmp_path / "out"
    augment_kaldi_dir(d, out, config_path=config, progress=False)
    records = [json.loads(x) for x in (out / "metadata.jsonl").read_text().splitlines()]
    assert len(records) == 5
    for r in records:
        reco, start, end = CUTS[r["source"]["utt_id"]]
        want = recs[reco][round(start * SR):round(end * SR)]
        got, _ = sf.read(str(out / r["audio"]), dtype="int16")
        assert got.size == want.size
        assert np.max(np.abs(got / 32767 - want)) <= 2 / 32767  # 16-bit rounding, both ways
        assert r["duration_s"] == pytest.approx(want.size / SR)
        assert r["source"]["recording"] == reco
        assert r["source"]["start_sample"] == round(start * SR)


def test_evaluate_reader_cuts_the_same_segments(corpus: tuple[Path, dict]) -> None:
    d, recs = corpus
    listed = list_kaldi_dir(d)
    assert [u.id for u in listed] == list(CUTS)
    for u in listed:
        reco, start, end = CUTS[u.id]
        audio, rate = load_audio(u.wav_path, u.where, (u.start_s, u.end_s))
        want = recs[reco][round(start * SR):round(end * SR)]
        assert rate == SR and audio.shape == (1, want.size)
        assert np.max(np.abs(audio[0] - want)) <= 1 / 32767


@pytest.mark.parametrize(("old", "new", "message"), [
    ("rec-b 2.0", "rec-b 2.2", r"reco2dur:2: reco2dur says 2.2 s but .*b\.flac holds 2\.000 s"),
    ("b-1 rec-b 0.25 1.75", "b-1 rec-b 0.25 2.75", r"segments:3: segment ends at 2.75 s"),
    ("b-1 rec-b 0.25 1.75", "b-1 rec-b 1.75 0.25", r"segments:3: segment must have 0 <= start"),
    ("b-1 rec-b 0.25 1.75", "b-1 rec-x 0.25 1.75", r"segments:3: recording 'rec-x' is not in"),
])
def test_bad_segments_and_reco2dur_are_named(corpus: tuple[Path, dict], old: str, new: str,
                                             message: str) -> None:
    d, _ = corpus
    for name in ("segments", "reco2dur"):
        text = (d / name).read_text()
        (d / name).write_text(text.replace(old, new))
    with pytest.raises(InputError, match=message):
        read_kaldi_dir(d)


@pytest.mark.parametrize(("entry", "path"), [
    ("flac -c -d -s /x/a.flac |", "/x/a.flac"),
    ("flac -cds /x/a.flac |", "/x/a.flac"),
    ("sox /x/a.wav -t wav - |", "/x/a.wav"),
    ("sph2pipe -f wav /x/a.sph |", "/x/a.sph"),
    ("sph2pipe -f wav -p /x/a.sph |", "/x/a.sph"),
    ("ffmpeg -i /x/a.flac -f wav - |", "/x/a.flac"),
    ("ffmpeg -nostdin -loglevel quiet -i /x/a.m4a -f wav -acodec pcm_s16le - |", "/x/a.m4a"),
    ("sox /x/a.wav -r 8000 -t wav - |", None),  # resamples: not the file's audio
    ("sph2pipe -f wav -c 2 /x/a.sph |", None),  # picks a channel
    ("ffmpeg -i /x/a.flac -ar 8000 -f wav - |", None),
    ("flac -c -d -s /x/a.flac | sox - -t wav - |", None),
    ("cat /x/a.wav |", None),
    ("flac -c -d -s $(touch y) |", None),
])
def test_common_decoders_are_read_directly_and_others_refused(entry: str,
                                                              path: str | None) -> None:
    assert decoder_input(entry) == path


def test_an_unknown_pipe_keeps_the_refusal(corpus: tuple[Path, dict], tmp_path: Path) -> None:
    d, _ = corpus
    marker = tmp_path / "ran"
    text = (d / "wav.scp").read_text()
    (d / "wav.scp").write_text(text.replace("flac -c -d -s", f"touch {marker}; flac -c -d -s"))
    with pytest.raises(InputError, match=r"wav\.scp:2: pipe commands are not supported"):
        read_kaldi_dir(d)
    assert not marker.exists()


def test_augment_refuses_a_truncated_wav(tmp_path: Path) -> None:
    wav = tmp_path / "x.wav"
    sf.write(wav, _recording(1, 1.0), SR, subtype="PCM_16")
    wav.write_bytes(wav.read_bytes()[:16022])  # the header still declares 32,000 bytes
    d = tmp_path / "data"
    d.mkdir()
    (d / "wav.scp").write_text(f"u-1 {wav}\n")
    (d / "text").write_text("u-1 hello\n")
    (d / "utt2spk").write_text("u-1 s\n")
    with pytest.raises(InputError, match=r"x\.wav.*truncated WAV"):
        read_kaldi_dir(d)

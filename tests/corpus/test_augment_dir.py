"""``synthaudio augment``: the real-speech fixture in, augmented copies out, checked."""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import soxr

from synthaudio.cli import main
from synthaudio.errors import ConfigError
from synthaudio.manifests.kaldi import validate_kaldi_dir
from synthaudio.manifests.validate import validate_corpus
from synthaudio.pipelines.augment_dir.config import (
    DEFAULT_AUGMENT,
    AugmentDirConfig,
    load_augment_config,
    parse_augment_config,
)
from synthaudio.pipelines.augment_dir.pipeline import augment_kaldi_dir, copy_ids

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "real_speech"
KALDI_UTILS = ROOT / "tests" / "manifests" / "kaldi_utils"
FIXTURE_IDS = [line.split(" ", 1)[0] for line in (FIXTURE / "wav.scp").read_text().splitlines()]
FIXTURE_TEXT = dict(line.split(" ", 1) for line in (FIXTURE / "text").read_text().splitlines())
FIXTURE_SPK = dict(line.split(" ", 1) for line in (FIXTURE / "utt2spk").read_text().splitlines())

# Small and fast: a 6-room bank; most copies noisy; no speed (so lengths are predictable).
CONFIG = """\
augment:
  room: {probability: 0.6, bank_size: 6, tail_s: 0.2}
  noise: {probability: 0.9, snr_db: [0, 20]}
  channel:
    eq: {probability: 0.5}
"""
NO_EFFECTS = "augment: {}\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def records(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]


def tree_hashes(out: Path) -> dict[str, str]:
    """sha256 of every file but the logs. The RIR bank's float WAVs are compared by their
    samples: libsndfile stamps the write time into their PEAK chunk."""
    hashes = {}
    for p in sorted(out.rglob("*")):
        rel = p.relative_to(out)
        if not p.is_file() or "logs" in rel.parts:
            continue
        data = p.read_bytes()
        if rel.parts[0] == "rirs" and p.suffix == ".wav":
            data = sf.read(str(p), dtype="float32")[0].tobytes()
        hashes[str(rel)] = hashlib.sha256(data).hexdigest()
    return hashes


def read_pcm(path: Path) -> tuple[np.ndarray, int]:
    audio, sr = sf.read(str(path), dtype="int16")
    return audio.astype(np.int64), sr


@pytest.fixture(scope="module")
def augmented(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("aug")
    config = write(root / "aug.yaml", CONFIG)
    out = root / "out"
    summary = augment_kaldi_dir(FIXTURE, out, config_path=config, copies=2, jobs=1,
                                seed=3, progress=False)
    assert (summary.utterances, summary.rendered, summary.input_utterances) == (22, 22, 11)
    assert summary.sample_rate == 16000
    return out


def test_ids_are_prefixed_per_copy_like_reverberate_data_dir(augmented: Path) -> None:
    recs = records(augmented)
    expected = sorted(f"rev{k}_{utt}" for k in (1, 2) for utt in FIXTURE_IDS)
    assert [r["id"] for r in recs] == expected
    for r in recs:
        src = r["source"]
        assert r["speaker"] == f"rev{src['copy']}_{FIXTURE_SPK[src['utt_id']]}"
        assert r["id"] == f"rev{src['copy']}_{src['utt_id']}"
        assert r["text"] == r["raw_text"] == FIXTURE_TEXT[src["utt_id"]]
        assert r["prompt_id"] == src["utt_id"] and src["channel"] == 0
        assert r["split"] == "train" and r["tts"] is None and r["words"] is None
        assert r["audio"] == f"audio/train/{r['speaker']}/{r['id']}.wav"
        assert src["kaldi_dir"] == str(FIXTURE)


def test_kaldi_export_passes_both_validators(augmented: Path) -> None:
    data = augmented / "data" / "train"
    assert validate_kaldi_dir(data) == []
    assert validate_corpus(augmented) == []
    assert (data / "spk2utt").read_text().splitlines()[0] == (
        "rev1_cards rev1_cards-001 rev1_cards-002 rev1_cards-003 rev1_cards-004 rev1_cards-005")
    nemo = (augmented / "manifests" / "nemo" / "train.json").read_text().splitlines()
    assert len(nemo) == 22
    if not all(shutil.which(t) for t in ("bash", "perl", "awk", "sort", "cmp", "diff", "grep")):
        pytest.skip("Kaldi's validate_data_dir.sh needs bash, perl and coreutils")
    result = subprocess.run(
        ["bash", "utils/validate_data_dir.sh", "--no-feats", str(data)], cwd=KALDI_UTILS,
        capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C"})
    assert "Successfully validated data-directory" in result.stdout, result.stdout + result.stderr
    assert result.returncode == 0


def test_snr_labels_match_the_mixed_stems(augmented: Path) -> None:
    noisy = [r for r in records(augmented) if r["augment"]["noise"] is not None]
    assert len(noisy) >= 15  # probability 0.9 of 22
    for r in noisy:
        target = r["augment"]["noise"]["snr_db"]
        assert 0.0 <= target <= 20.0
        assert abs(r["augment"]["measured"]["snr_db"] - target) < 0.5
    quiet = [r for r in records(augmented) if r["augment"]["noise"] is None]
    assert all(r["augment"]["measured"]["snr_db"] is None for r in quiet)


def test_durations_match_the_audio_and_the_input(augmented: Path) -> None:
    rooms = 0
    for r in records(augmented):
        info = sf.info(str(augmented / r["audio"]))
        assert info.subtype == "PCM_16" and info.channels == 1 and info.samplerate == 16000
        assert r["duration_s"] == pytest.approx(info.frames / 16000, abs=1e-6)
        n_in = sf.info(str(FIXTURE / "wav" / f"{r['source']['utt_id']}.wav")).frames
        room = r["augment"]["room"]
        tail = 0 if room is None else room["tail_samples"]
        rooms += room is not None
        assert info.frames == n_in + tail == r["augment"]["measured"]["num_samples"]
        assert tail in (0, 3200)  # tail_s 0.2 at 16 kHz
        assert (augmented / "rirs" / f"{room['rir_id']}.wav").is_file() if room else True
    assert 6 <= rooms <= 20  # probability 0.6 of 22


def test_clean_config_copies_the_input_within_16_bit_rounding(tmp_path: Path) -> None:
    out = tmp_path / "out"
    config = write(tmp_path / "clean.yaml", NO_EFFECTS)
    augment_kaldi_dir(FIXTURE, out, config_path=config, copies=1, progress=False)
    assert not (out / "rirs").exists()  # no room: no bank
    for r in records(out):
        got, _ = read_pcm(out / r["audio"])
        want, _ = read_pcm(FIXTURE / "wav" / f"{r['source']['utt_id']}.wav")
        assert got.shape == want.shape
        assert np.max(np.abs(got - want)) <= 1  # float -> int16 uses a 32767 scale
        assert r["augment"] == {"speed": None, "room": None, "noise": None, "channel": None,
                                "measured": r["augment"]["measured"]}


def test_noise_only_audio_holds_the_labelled_snr(tmp_path: Path) -> None:
    """Without reverb or channel the output is input + noise: measure the SNR on the files."""
    out = tmp_path / "out"
    config = write(tmp_path / "noise.yaml",
                   "augment:\n  noise: {probability: 1.0, snr_db: [3, 15]}\n")
    augment_kaldi_dir(FIXTURE, out, config_path=config, copies=1, seed=11, progress=False)
    for r in records(out):
        got, _ = read_pcm(out / r["audio"])
        clean, _ = read_pcm(FIXTURE / "wav" / f"{r['source']['utt_id']}.wav")
        gain = 10 ** (r["augment"]["measured"]["output_gain_db"] / 20)
        speech = clean * (32767 / 32768) * gain
        noise = got - speech
        snr = 10 * math.log10(np.mean(speech**2) / np.mean(noise**2))
        assert snr == pytest.approx(r["augment"]["noise"]["snr_db"], abs=0.1)


def test_byte_identical_for_any_number_of_jobs_and_resumes(tmp_path: Path) -> None:
    config = write(tmp_path / "aug.yaml", CONFIG)
    out = tmp_path / "out"  # same OUT path for both runs: lhotse manifests hold absolute paths
    augment_kaldi_dir(FIXTURE, out, config_path=config, copies=2, jobs=1, progress=False)
    one = tree_hashes(out)
    out.rename(tmp_path / "j1")
    summary = augment_kaldi_dir(FIXTURE, out, config_path=config, copies=2, jobs=2,
                                progress=False)
    assert summary.rendered == 22
    assert tree_hashes(out) == one
    # a re-run of the same command renders nothing; a lost file is remade byte for byte
    assert augment_kaldi_dir(FIXTURE, out, config_path=config, copies=2, jobs=2,
                             progress=False).rendered == 0
    (out / "audio/train/rev2_librivox/rev2_librivox-0890.wav").unlink()
    assert augment_kaldi_dir(FIXTURE, out, config_path=config, copies=2,
                             progress=False).rendered == 1
    assert tree_hashes(out) == one


def test_other_config_into_the_same_out_needs_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    clean = write(tmp_path / "clean.yaml", NO_EFFECTS)
    augment_kaldi_dir(FIXTURE, out, config_path=clean, copies=1, progress=False)
    before = tree_hashes(out)
    args = ["augment", str(FIXTURE), "-o", str(out), "--config", str(clean), "-q"]
    assert main([*args, "--copies", "2"]) == 2
    assert "not empty and was not made from this config" in capsys.readouterr().err
    assert tree_hashes(out) == before
    assert main([*args, "--copies", "2", "--overwrite"]) == 0
    assert len(records(out)) == 22


def test_multichannel_and_other_rates_are_converted(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    d = tmp_path / "in"
    (d / "wav").mkdir(parents=True)
    t = np.arange(8000) / 8000
    left = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    stereo = np.stack([left, 0.1 * rng.standard_normal(8000).astype(np.float32)], axis=1)
    sf.write(d / "wav" / "a.wav", stereo, 8000, subtype="FLOAT")
    sf.write(d / "wav" / "b.flac", (0.2 * np.sin(2 * np.pi * 300 * np.arange(16000) / 16000)),
             16000)
    write(d / "wav.scp", "s1-a wav/a.wav\ns1-b wav/b.flac\n")
    write(d / "text", "s1-a tone\ns1-b other tone\n")
    write(d / "utt2spk", "s1-a s1\ns1-b s1\n")
    assert main(["augment", str(d), "-o", str(tmp_path / "bad"), "-q",
                 "--config", str(write(tmp_path / "c0.yaml", NO_EFFECTS))]) == 2
    assert not (tmp_path / "bad").exists()  # mixed rates need sample_rate
    config = write(tmp_path / "c.yaml", "augment: {}\nsample_rate: 16000\n")
    summary = augment_kaldi_dir(d, tmp_path / "out", config_path=config, progress=False)
    text = summary.format()
    assert "1 input file(s) have more than one channel" in text
    assert "1 input file(s) resampled from 8000 Hz to 16000 Hz" in text
    rec = records(tmp_path / "out")[0]
    assert rec["id"] == "rev1_s1-a" and rec["source"]["num_channels"] == 2
    assert rec["source"]["sample_rate"] == 8000 and rec["sample_rate"] == 16000
    got, sr = sf.read(str(tmp_path / "out" / rec["audio"]), dtype="float32")
    want = soxr.resample(left, 8000, 16000, quality="HQ") * (32767 / 32768)
    assert sr == 16000 and got.shape == want.shape == (16000,)
    assert np.max(np.abs(got - want)) < 2 / 32768  # channel 0 only, resampled


def test_ids_outside_the_export_alphabet_are_mapped() -> None:
    # LibriSpeech's Kaldi dirs: speaker "103-1240", utterance "103-1240-0000"
    assert copy_ids("103-1240", "103-1240-0000", 1) == ("rev1_103_1240", "rev1_103_1240-0000")
    assert copy_ids("spk", "other.utt", 2) == ("rev2_spk", "rev2_spk-other_utt")
    assert copy_ids("a", "a-b", 3) == ("rev3_a", "rev3_a-b")


def test_ids_that_map_to_the_same_output_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = tmp_path / "in"
    wav = FIXTURE / "wav" / "cards-001.wav"
    write(d / "wav.scp", f"s-a.1 {wav}\ns-a_1 {wav}\n")
    write(d / "text", "s-a.1 one\ns-a_1 two\n")
    write(d / "utt2spk", "s-a.1 s\ns-a_1 s\n")
    assert main(["augment", str(d), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "wav.scp:2: utterances 's-a_1' and 's-a.1' (line 1) both become 'rev1_s-a_1'" in err
    assert not (tmp_path / "out").exists()


def _bad_dir(tmp_path: Path, case: str) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    for name in ("text", "utt2spk"):
        shutil.copy(FIXTURE / name, d / name)
    lines = [f"{u} {FIXTURE}/wav/{u}.wav" for u in FIXTURE_IDS]
    if case == "pipe":
        lines[2] = f"cards-003 sox {FIXTURE}/wav/cards-003.wav -r 8000 -t wav - |"  # resamples
    elif case == "unsorted":
        lines[0], lines[1] = lines[1], lines[0]
    elif case == "missing_file":
        lines[3] = "cards-004 wav/nothere.wav"
    elif case == "dotdot":
        for name in ("text", "utt2spk"):
            text = (d / name).read_text().replace("forever-01", "forever..01")
            (d / name).write_text(text)
        lines[5] = f"forever..01 {FIXTURE}/wav/forever-01.wav"
    (d / "wav.scp").write_text("\n".join(lines) + "\n")
    return d


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("pipe", "in/wav.scp:3: pipe commands are not supported: 'sox "),
        ("unsorted", "in/wav.scp:2: not sorted: 'cards-001' after 'cards-002'"),
        ("missing_file", "in/wav.scp:4: audio file not found: wav/nothere.wav"),
        ("missing_dir", "nothere: Kaldi data directory not found"),
        ("dotdot", "in/wav.scp:6: utterance id 'forever..01' contains '..'"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, message: str
) -> None:
    d = tmp_path / "nothere" if case == "missing_dir" else _bad_dir(tmp_path, case)
    out = tmp_path / "out"
    assert main(["augment", str(d), "-o", str(out), "--copies", "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("synthaudio: error: ") and err.count("\n") == 1
    assert message in err
    assert not out.exists()


def test_config_errors_name_file_and_line(tmp_path: Path) -> None:
    bad = write(tmp_path / "a.yaml", "augment:\n  noise:\n    probability: 1.0\n"
                                     "    kinds: {pink: 1, babble: 1}\n")
    with pytest.raises(ConfigError, match=r"a\.yaml:4: augment\.noise\.kinds\.babble: babble "
                                          r"noise needs synthetic speakers"):
        load_augment_config(bad)
    with pytest.raises(ConfigError, match=r"<config>:2: noise: snr_db: inverted range"):
        parse_augment_config("room: {probability: 0}\nnoise: {snr_db: [20, 5]}\n")
    with pytest.raises(ConfigError, match=r"<config>:2: exports: unknown export format 'kaldy'"):
        parse_augment_config("augment: {}\nexports: [kaldy]\n")
    with pytest.raises(ConfigError, match=r"<config>:1: sped: unknown key 'sped'"):
        parse_augment_config("sped: {probability: 1}\n")
    with pytest.raises(ConfigError, match=r"<config>: the augment config is empty"):
        parse_augment_config("")
    out = tmp_path / "out"
    assert main(["augment", str(FIXTURE), "-o", str(out), "--config", str(bad)]) == 2
    assert not out.exists()


def test_both_config_forms_and_the_documented_defaults() -> None:
    bare = parse_augment_config("noise: {probability: 0.5}\n")
    wrapped = parse_augment_config("augment:\n  noise: {probability: 0.5}\n")
    assert bare == wrapped and bare.augment.room.probability == 0.0
    assert parse_augment_config("sample_rate: 8000\n").augment == AugmentDirConfig().augment
    default_yaml = load_augment_config(ROOT / "corpora" / "augment" / "default.yaml")
    assert default_yaml == AugmentDirConfig()
    assert default_yaml.augment.room.probability == DEFAULT_AUGMENT["room"]["probability"]
    recipe = load_augment_config(ROOT / "recipes" / "augment_real" / "augment.yaml")
    assert recipe.augment.room.probability == 1.0 and recipe.exports == ("kaldi",)


def test_recipe_script_runs_on_the_fixture(tmp_path: Path) -> None:
    out = tmp_path / "out"
    config = write(tmp_path / "aug.yaml", CONFIG)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
           "COPIES": "1", "JOBS": "2", "CONFIG": str(config)}
    result = subprocess.run(["bash", str(ROOT / "recipes" / "augment_real" / "run.sh"),
                             str(FIXTURE), str(out)], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{out}: no problems found" in result.stdout
    assert len((out / "manifests" / "nemo" / "train.json").read_text().splitlines()) == 11
    assert (out / "manifests" / "lhotse" / "cuts_train.jsonl.gz").is_file()
    assert len((out / "data" / "train" / "text").read_text().splitlines()) == 11


def test_augment_resumes_like_the_other_pipelines(tmp_path: Path, augmented: Path) -> None:
    """--resume finishes an earlier run of the same input and config (a lost copy alone is
    made again, to the same bytes); without an earlier run it is an error."""
    config = write(tmp_path / "aug.yaml", CONFIG)
    with pytest.raises(Exception, match="--resume: there is no earlier run here"):
        augment_kaldi_dir(FIXTURE, tmp_path / "none", config_path=config, copies=2, seed=3,
                          resume=True, progress=False)
    out = tmp_path / "out"
    shutil.copytree(augmented, out)

    def hashes() -> dict[str, str]:  # lhotse holds absolute paths: the copy's differ
        return {k: v for k, v in tree_hashes(out).items() if "lhotse" not in k}

    full = hashes()
    lost = json.loads((out / "metadata.jsonl").read_text().splitlines()[3])["audio"]
    (out / lost).unlink()
    again = augment_kaldi_dir(FIXTURE, out, config_path=config, copies=2, seed=3, resume=True,
                              progress=False)
    assert (again.utterances, again.rendered) == (22, 1)
    assert hashes() == full
    assert main(["augment", str(FIXTURE), "-o", str(out), "--config", str(config),
                 "--copies", "2", "--seed", "3", "--resume", "-q", "-j", "1"]) == 0


def test_copies_draw_from_their_own_stream_tag() -> None:
    """Copy k of input i draws from [seed, 40, k, i]: not the text (1), speaker (2) or
    order (9) stream of item i, as [seed, k, i] was."""
    from synthaudio.pipelines.augment_dir.pipeline import copy_rng
    from synthaudio.streams import STREAMS

    for k in (1, 2, 9):
        ours = copy_rng(3, k, 5).integers(2**62, size=4)
        assert list(ours) == list(np.random.default_rng([3, 40, k, 5]).integers(2**62, size=4))
        assert list(ours) != list(np.random.default_rng([3, k, 5]).integers(2**62, size=4))
    assert STREAMS["augment"] == 40 and 40 not in [v for n, v in STREAMS.items()
                                                    if n != "augment"]

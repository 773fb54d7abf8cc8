"""End to end: a small config in, a corpus out, checked with numbers."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from synthaudio.cli import main
from synthaudio.pipelines.generate.pipeline import GROUP_SIZE, generate_corpus
from synthaudio.text.normalize import TextNormalizer

CONFIG = """\
name: small
seed: 7
language: en-us
text:
  sources:
    - file: prompts.txt
    - template: "turn {{on|off}} the {{light|fan}} in the {{kitchen|hall}}"
speakers:
  count: {speakers}
  voices: [en-us, en-gb-x-rp]
  variants: [m1, f2, m4, f4]
utterances:
  per_speaker: {per_speaker}
splits: {{train: 0.6, dev: 0.2, test: 0.2}}
"""

PROMPTS = """\
p-001\tHello, Dr. Smith lives at 42 Baker St.
p-002\tThe meeting starts at 3:45 pm.
p-003\tPlease transfer $250 today.
p-004\t!!!
p-005\tIt was born in 1987 on the 2nd of May.
"""


def write_config(folder: Path, speakers: int = 5, per_speaker: int = 3, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "prompts.txt").write_text(PROMPTS, encoding="utf-8")
    path = folder / "corpus.yaml"
    path.write_text(CONFIG.format(speakers=speakers, per_speaker=per_speaker) + extra,
                    encoding="utf-8")
    return path


def tree_hashes(out: Path) -> dict[str, str]:
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and "logs" not in p.relative_to(out).parts
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gen")
    config = write_config(root / "cfg")
    out = root / "out"
    summary = generate_corpus(config, out, jobs=1, progress=False)
    assert summary.utterances == 15
    assert summary.skipped_prompts == 1  # "!!!"
    return out


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]


def kaldi(out: Path, split: str, name: str) -> dict[str, str]:
    lines = (out / "data" / split / name).read_text(encoding="utf-8").splitlines()
    return dict(line.split(" ", 1) for line in lines)


def test_transcripts_are_the_normalized_prompts(corpus: Path) -> None:
    norm = TextNormalizer("en-us")
    recs = records(corpus)
    assert [r["id"] for r in recs] == sorted(r["id"] for r in recs)
    for r in recs:
        assert r["text"] and r["text"] == norm(r["raw_text"])
        assert kaldi(corpus, r["split"], "text")[r["id"]] == r["text"]
    assert "doctor smith" in " ".join(r["text"] for r in recs) or any(
        "turn" in r["text"] for r in recs)


def test_durations_match_the_audio_within_10ms(corpus: Path) -> None:
    for r in records(corpus):
        info = sf.info(corpus / r["audio"])
        assert info.samplerate == r["sample_rate"] == 16000
        assert info.subtype == "PCM_16" and info.channels == 1
        true_s = info.frames / info.samplerate
        assert abs(r["duration_s"] - true_s) < 0.01
        assert abs(float(kaldi(corpus, r["split"], "utt2dur")[r["id"]]) - true_s) < 0.01


def test_word_timings_inside_audio_and_in_order(corpus: Path) -> None:
    for r in records(corpus):
        words = r["words"]
        assert [w[0] for w in words] == r["text"].split()
        prev_end = 0.0
        for _, start, dur in words:
            assert start >= prev_end - 1e-6 and dur > 0
            prev_end = start + dur
        assert prev_end <= r["duration_s"] + 1e-6
        # the words hold the speech: audio outside them is much quieter than inside
        audio, sr = sf.read(corpus / r["audio"], dtype="float32")
        mask = np.zeros(len(audio), bool)
        for _, start, dur in words:
            mask[int(start * sr):int((start + dur) * sr)] = True
        assert np.sum(audio[mask] ** 2) > 0.95 * np.sum(audio**2)


def test_speakers_keep_their_voice_and_stay_in_one_split(corpus: Path) -> None:
    recs = records(corpus)
    split_of: dict[str, str] = {}
    voice_of: dict[str, tuple] = {}
    for r in recs:
        assert split_of.setdefault(r["speaker"], r["split"]) == r["split"]
        v = (r["tts"]["voice"], r["tts"]["variant"], r["tts"]["volume"])
        assert voice_of.setdefault(r["speaker"], v) == v
        assert r["id"].startswith(r["speaker"] + "-")
        assert r["gender"] == {"m1": "m", "m4": "m", "f2": "f", "f4": "f"}[r["tts"]["variant"]]
    assert set(split_of.values()) == {"train", "dev", "test"}
    assert len({r["tts"]["rate_wpm"] for r in recs}) > 5  # per-utterance jitter


def test_corpus_yaml_records_config_and_versions_without_timestamps(corpus: Path) -> None:
    import yaml

    resolved = yaml.safe_load((corpus / "corpus.yaml").read_text())
    assert resolved["config"]["seed"] == 7
    assert resolved["versions"]["espeak-ng"].startswith("1.")
    assert "synthaudio" in resolved["versions"]
    assert len(resolved["fingerprint"]) == 16


def test_byte_identical_for_any_number_of_jobs(tmp_path: Path) -> None:
    config = write_config(tmp_path / "cfg", speakers=5, per_speaker=8)
    out = tmp_path / "out"  # same OUT path for both runs: lhotse manifests hold absolute paths
    summary = generate_corpus(config, out, jobs=1, progress=False)
    assert summary.utterances > 2 * GROUP_SIZE  # several render groups, one partial
    one = tree_hashes(out)
    out.rename(tmp_path / "j1")
    generate_corpus(config, out, jobs=2, progress=False)
    assert tree_hashes(out) == one
    # and independent of the OUT location, apart from lhotse's absolute paths
    elsewhere = tmp_path / "elsewhere" / "corpus"
    generate_corpus(config, elsewhere, jobs=2, progress=False)
    assert {k: v for k, v in one.items() if "lhotse" not in k} == {
        k: v for k, v in tree_hashes(elsewhere).items() if "lhotse" not in k}


def test_rerun_skips_complete_work_and_other_config_is_refused(tmp_path: Path) -> None:
    config = write_config(tmp_path / "cfg", speakers=3, per_speaker=1)
    out = tmp_path / "out"
    generate_corpus(config, out, progress=False)
    before = tree_hashes(out)
    again = generate_corpus(config, out, progress=False)
    assert again.rendered == 0 and tree_hashes(out) == before
    other = write_config(tmp_path / "cfg2", speakers=4, per_speaker=1)
    assert main(["generate", str(other), "-o", str(out), "-q"]) == 2
    assert tree_hashes(out) == before  # nothing lost or overwritten
    assert main(["generate", str(other), "-o", str(out), "-q", "--overwrite"]) == 0
    assert len(records(out)) == 4


def test_limit_renders_the_first_utterances(tmp_path: Path) -> None:
    config = write_config(tmp_path / "cfg")
    summary = generate_corpus(config, tmp_path / "out", limit=4, progress=False)
    assert summary.utterances == 4


def test_seed_override_changes_voices(tmp_path: Path) -> None:
    config = write_config(tmp_path / "cfg", speakers=3, per_speaker=1)
    generate_corpus(config, tmp_path / "a", progress=False, seed=1)
    generate_corpus(config, tmp_path / "b", progress=False, seed=2)
    assert records(tmp_path / "a")[0]["tts"] != records(tmp_path / "b")[0]["tts"]


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: (d / "corpus.yaml").unlink(), "config file not found"),
        (lambda d: (d / "corpus.yaml").write_text("name: [x"), "not valid YAML"),
        (lambda d: (d / "corpus.yaml").write_text(
            (d / "corpus.yaml").read_text() + "voice: x\n"), "unknown key 'voice'"),
        (lambda d: (d / "corpus.yaml").write_text(
            (d / "corpus.yaml").read_text().replace("per_speaker: 3", "per_speaker: 0")),
         "utterances.per_speaker"),
        (lambda d: (d / "corpus.yaml").write_text(
            (d / "corpus.yaml").read_text().replace("en-gb-x-rp", "en-gb-x-rpp")),
         "close matches: en-gb-x-rp"),
        (lambda d: (d / "prompts.txt").write_text(""), "prompts.txt"),
        (lambda d: (d / "prompts.txt").write_bytes(b"p-1\thello\np-2\t\xff\xfe bad\n"),
         "prompts.txt:2"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mutate, message: str
) -> None:
    cfg_dir = tmp_path / "cfg"
    write_config(cfg_dir)
    mutate(cfg_dir)
    out = tmp_path / "out"
    code = main(["generate", str(cfg_dir / "corpus.yaml"), "-o", str(out), "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0 and err.startswith("synthaudio: error:")
    assert message in err
    assert "Traceback" not in err
    assert not out.exists()


def test_unwritable_out_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    config = write_config(tmp_path / "cfg", speakers=3, per_speaker=1)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root ignores permissions: use a file as parent
            target = tmp_path / "afile"
            target.write_text("x")
            out = target / "out"
        else:
            out = locked / "out"
        assert main(["generate", str(config), "-o", str(out), "-q"]) == 2
        assert "synthaudio: error:" in capsys.readouterr().err
    finally:
        locked.chmod(0o700)


@pytest.mark.parametrize("command", ["generate", "augment"])
def test_unavailable_codec_is_refused_before_out_is_claimed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    """Both pipelines check codec support with the rest of the input: nothing is written
    (generate used to write OUT/corpus.yaml first)."""
    from synthaudio.augment import channel

    monkeypatch.setattr(channel, "codec_available", lambda kind: kind != "mp3")
    codec = "  channel:\n    codec: {probability: 0.5, kinds: {mp3: 1, mulaw: 1}}\n"
    out = tmp_path / "out"
    if command == "generate":
        config = write_config(tmp_path / "cfg", extra="augment:\n" + codec)
        argv = ["generate", str(config), "-o", str(out), "-q"]
    else:
        aug = tmp_path / "aug.yaml"
        aug.write_text(codec.replace("  channel", "channel", 1).replace("\n    ", "\n  "))
        fixture = Path(__file__).resolve().parents[1] / "fixtures" / "real_speech"
        argv = ["augment", str(fixture), "-o", str(out), "--config", str(aug), "-q"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "augment.channel.codec.kinds.mp3" in err, err
    assert not out.exists()

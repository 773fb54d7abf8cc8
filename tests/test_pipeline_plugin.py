"""A fifth pipeline added as a plugin: one folder (examples/pipeline_plugin/synthaudio_tones)
and one entry point, installed as a real distribution (a ``.dist-info`` with
``entry_points.txt`` on ``sys.path``), then run through the CLI: -j 2, resume, an export."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
import yaml

from synthaudio.run.pipelines import PIPELINES
from synthaudio.streams import STREAMS

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "pipeline_plugin"


def install(root: Path) -> Path:
    site = root / "site"
    shutil.copytree(EXAMPLE / "synthaudio_tones", site / "synthaudio_tones")
    dist = site / "synthaudio_tones-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: synthaudio-tones\n"
                                   "Version: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[synthaudio.pipelines]\ntones = synthaudio_tones:PIPELINE\n")
    return site


def cli(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(site), *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.run([sys.executable, "-m", "synthaudio.cli", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def hashes(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file() and p.parts[len(out.parts)] != "logs"}


def test_builtin_pipelines_are_registered_with_their_own_parts() -> None:
    assert PIPELINES.names(plugins=False) == ("generate", "augment", "sessions", "keywords")
    assert PIPELINES.get("keywords").outputs == ("negatives.json", "streams")
    assert [f.name for f in PIPELINES.get("sessions").exporters] == ["sessions"]
    assert PIPELINES.get("sessions").marker == "session"
    for entry in PIPELINES.entries(plugins=False):  # their tags are the table's
        assert all(STREAMS.get(k, n) == n and n in STREAMS.values()
                   for k, n in entry.stream_tags.items()), entry.name


def test_a_plugin_pipeline_runs_through_the_cli(tmp_path: Path) -> None:
    site = install(tmp_path)
    config = tmp_path / "tones.yaml"
    config.write_text(yaml.safe_dump({"seed": 5, "count": 10, "freq_hz": [300, 900]}))
    out = tmp_path / "out"

    helptext = cli(site, "--help")
    assert helptext.returncode == 0 and "tones" in helptext.stdout, helptext.stderr
    done = cli(site, "tones", str(config), "-o", str(out), "-j", "2", "-q")
    assert done.returncode == 0, done.stderr
    assert "tones: 10" in done.stdout and "rendered now: 10" in done.stdout
    records = [json.loads(x) for x in (out / "metadata.jsonl").read_text().splitlines()]
    assert [r["id"] for r in records] == [f"tone-{i:06d}" for i in range(10)]
    for rec in records:  # each file is the tone its record says, measured
        audio, rate = sf.read(out / rec["audio"])
        assert rate == 16000 and round(len(audio) / rate, 6) == rec["duration_s"]
        spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio)), 8 * len(audio)))
        peak_hz = np.argmax(spectrum) * rate / (8 * len(audio))
        assert abs(peak_hz - rec["tts"]["freq_hz"]) < 2.0 and 300 <= peak_hz <= 900
    freqs = {r["tts"]["freq_hz"] for r in records}
    assert len(freqs) == 10  # every tone drew its own
    # the pipeline's own export and the engine's ones ran; the corpus validates
    tsv = (out / "tones.tsv").read_text().splitlines()
    assert [line.split("\t")[0] for line in tsv] == [r["id"] for r in records]
    assert (out / "data" / "train" / "wav.scp").read_text().count("\n") == 10
    assert cli(site, "validate", str(out)).returncode == 0
    full = hashes(out)

    # resume: a finished run is complete; a lost file's group alone is made again
    again = cli(site, "tones", str(config), "-o", str(out), "--resume", "-q")
    assert again.returncode == 0 and "rendered now: 0" in again.stdout, again.stderr
    (out / records[5]["audio"]).unlink()
    again = cli(site, "tones", str(config), "-o", str(out), "-q", "-j", "1")
    assert again.returncode == 0 and "rendered now: 4" in again.stdout, again.stderr
    assert hashes(out) == full  # and the bytes are those of one uninterrupted -j 2 run

    # an export by name, through `synthaudio export`
    (out / "tones.tsv").unlink()
    exported = cli(site, "export", str(out), "--format", "tonelist")
    assert exported.returncode == 0 and "tonelist: 10 tones" in exported.stdout
    assert hashes(out) == full
    # --overwrite from another config replaces the pipeline's own outputs too
    config.write_text(yaml.safe_dump({"seed": 6, "count": 3, "exports": ["kaldi"]}))
    other = cli(site, "tones", str(config), "-o", str(out), "--overwrite", "-q")
    assert other.returncode == 0, other.stderr
    assert not (out / "tones.tsv").exists()
    assert len((out / "metadata.jsonl").read_text().splitlines()) == 3

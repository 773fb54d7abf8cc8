"""Registries: built-in tables, and engines/exporters another package adds by entry point.

The plugin is a real installed distribution (a ``.dist-info`` folder with
``entry_points.txt`` on ``sys.path``), found by ``importlib.metadata`` like any other.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from synthaudio.errors import ConfigError
from synthaudio.manifests.formats import EXPORTERS
from synthaudio.registry import Registry
from synthaudio.tts.engines import ENGINES, engine_of

PLUGIN = textwrap.dedent('''
    """A sine "TTS" engine and an id-list exporter, as a third party would write them."""
    from dataclasses import dataclass

    import numpy as np
    from pydantic import BaseModel, ConfigDict

    from synthaudio.manifests.formats import ExportFormat, ExportOutcome
    from synthaudio.tts.base import Synthesis, VoiceInfo, WordTiming
    from synthaudio.tts.engines import EngineEntry

    RATE, WORD_S, GAP_S = 8000, 0.2, 0.1


    class SineConfig(BaseModel):
        model_config = ConfigDict(frozen=True, extra="forbid")
        base_hz: tuple[float, float] = (100.0, 300.0)


    @dataclass(frozen=True)
    class SineVoice:
        freq_hz: float

        def to_dict(self):
            return {"freq_hz": self.freq_hz}


    class SineEngine:
        name = "sine-tts"

        def version(self):
            return "0.1"

        def voices(self):
            return [VoiceInfo("sine", ("en",), None, self.name)]

        def synthesize(self, text, voice):
            words, chunks, t = [], [], 0.0
            for w in text.split():
                n = int(WORD_S * RATE)
                chunks.append(0.5 * np.sin(2 * np.pi * voice.freq_hz * np.arange(n) / RATE))
                chunks.append(np.zeros(int(GAP_S * RATE)))
                words.append(WordTiming(w, t, WORD_S))
                t += WORD_S + GAP_S
            return Synthesis(np.concatenate(chunks).astype(np.float32), RATE, tuple(words))


    def speaker_voices(engine, section, count, rng, language):
        lo, hi = (section or SineConfig()).base_hz
        return [(SineVoice(round(float(rng.uniform(lo, hi)), 1)), None) for _ in range(count)]


    ENGINE = EngineEntry(
        name="sine-tts", factory=lambda section, config_dir: SineEngine(),
        version=lambda: "0.1", voices=lambda section: SineEngine().voices(),
        word_timings=True, section="sine", config_model=SineConfig, voice_type=SineVoice,
        speaker_voices=speaker_voices, description="sine tones, one per word")


    def write_idlist(ctx):
        ids = [rec.id for rec in ctx.records()]
        (ctx.out_dir / "ids.txt").write_text("".join(i + "\\n" for i in ids))
        return ExportOutcome(f"idlist: {len(ids)} ids")


    EXPORTER = ExportFormat("idlist", write_idlist, "every utterance id, OUT/ids.txt")
''')


def install_plugin(root: Path) -> Path:
    site = root / "site"
    dist = site / "synthaudio_demo_plugin-0.1.dist-info"
    dist.mkdir(parents=True)
    (site / "synthaudio_demo_plugin.py").write_text(PLUGIN)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: synthaudio-demo-plugin\n"
                                   "Version: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[synthaudio.engines]\nsine-tts = synthaudio_demo_plugin:ENGINE\n\n"
        "[synthaudio.exporters]\nidlist = synthaudio_demo_plugin:EXPORTER\n")
    return site


def run_cli(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(site), *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.run([sys.executable, "-m", "synthaudio.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120)


@dataclass(frozen=True)
class _Item:
    name: str


def test_registry_rejects_duplicates_and_names_the_known_ones() -> None:
    reg: Registry[_Item] = Registry("widget")
    reg.register(_Item("a"))
    reg.register(_Item("b"))
    with pytest.raises(ValueError, match="widget 'a' is already registered"):
        reg.register(_Item("a"))
    with pytest.raises(ConfigError, match=r"^x: unknown widget 'c'; known: a, b$"):
        reg.get("c", "x")
    assert reg.names() == ("a", "b") and "a" in reg and "c" not in reg


def test_builtin_engines_and_formats() -> None:
    assert ENGINES.names(plugins=False)[:2] == ("espeak-ng", "coqui-tts")
    espeak = ENGINES.get("espeak-ng")
    assert espeak.word_timings and espeak.section is None
    assert espeak.get_version()[:1].isdigit()
    assert any(v.name == "en-us" for v in espeak.list_voices())
    from synthaudio.tts.coqui import CoquiConfig, CoquiVoice
    from synthaudio.tts.espeak_binding import EspeakVoice

    coqui = ENGINES.get("coqui-tts")
    assert coqui.section == "coqui" and coqui.section_required
    assert isinstance(coqui.validate_section({"model_name": "m"}), CoquiConfig)
    assert engine_of(EspeakVoice("en-us", None, 160, 50, 50, 100, 0)) is espeak
    assert engine_of(CoquiVoice(model="m", speaker=None, language=None, reference=None,
                                speed=1.0, name="v")) is coqui
    assert EXPORTERS.names(plugins=False)[-3:] == ("speechbrain", "sessions", "speech_commands")


def test_plugin_engine_and_exporter_end_to_end(tmp_path: Path) -> None:
    site = install_plugin(tmp_path)
    config = tmp_path / "corpus.yaml"
    config.write_text(yaml.safe_dump({
        "name": "plugin", "seed": 3,
        "text": {"sources": [{"template": "{one|two} {three|four} five"}]},
        "speakers": {"count": 3, "engine": "sine-tts", "sine": {"base_hz": [200, 400]}},
        "utterances": {"per_speaker": 2}, "splits": {"train": 1.0, "dev": 0.0, "test": 0.0},
        "audio": {"sample_rate": 16000}, "exports": ["kaldi", "idlist"],
    }))
    out = tmp_path / "out"
    done = run_cli(site, "generate", str(config), "-o", str(out), "-q")
    assert done.returncode == 0, done.stderr
    records = [json.loads(x) for x in (out / "metadata.jsonl").read_text().splitlines()]
    assert len(records) == 6 and {r["tts"]["engine"] for r in records} == {"sine-tts"}
    freqs = {r["speaker"]: r["tts"]["freq_hz"] for r in records}
    assert len(set(freqs.values())) == 3 and all(200 <= f <= 400 for f in freqs.values())
    for rec in records:  # the timings are where the tones are, measured on the audio
        audio, rate = sf.read(out / rec["audio"])
        assert rate == 16000 and len(rec["words"]) == 3
        for _word, start, dur in rec["words"]:
            inside = audio[int((start + 0.02) * rate):int((start + dur - 0.02) * rate)]
            gap = audio[int((start + dur + 0.02) * rate):int((start + dur + 0.08) * rate)]
            assert np.sqrt(np.mean(inside**2)) > 0.3 and np.max(np.abs(gap)) < 0.01
    resolved = yaml.safe_load((out / "corpus.yaml").read_text())
    assert resolved["versions"]["sine-tts"] == "0.1"
    assert resolved["config"]["speakers"]["sine"] == {"base_hz": [200.0, 400.0]}
    assert (out / "ids.txt").read_text().split() == [r["id"] for r in records]
    again = run_cli(site, "generate", str(config), "-o", str(out), "-q")  # same fingerprint
    assert again.returncode == 0, again.stderr

    voices = run_cli(site, "voices", "--engine", "sine-tts")
    assert voices.returncode == 0 and "sine" in voices.stdout, voices.stderr
    helptext = run_cli(site, "export", "--help").stdout
    assert "idlist" in helptext and "speechbrain" in helptext
    exported = run_cli(site, "export", str(out), "--format", "all")
    assert exported.returncode == 0, exported.stderr
    assert "idlist: 6 ids" in exported.stdout


def test_unknown_engine_in_config_names_the_registered_ones(tmp_path: Path) -> None:
    site = install_plugin(tmp_path)
    config = tmp_path / "corpus.yaml"
    config.write_text("name: x\ntext: {sources: [{template: a}]}\n"
                      "speakers: {count: 1, engine: festivall}\nutterances: {per_speaker: 1}\n")
    done = run_cli(site, "generate", str(config), "-o", str(tmp_path / "out"))
    assert done.returncode == 2
    assert done.stderr.strip().startswith(f"synthaudio: error: {config}:3: speakers.engine: "
                                          "unknown TTS engine 'festivall'; known: espeak-ng")
    assert "sine-tts" in done.stderr and not (tmp_path / "out").exists()


def test_process_cache_shares_in_a_process_and_reloads_in_a_forked_worker() -> None:
    import os

    from synthaudio.registry import ProcessCache

    cache: ProcessCache[str, object] = ProcessCache()
    made: list[str] = []
    first = cache.get("model", lambda: made.append("parent") or object())
    assert cache.get("model", lambda: made.append("again") or object()) is first
    assert made == ["parent"]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # a forked worker must load its own, never use the parent's
        os.close(read)
        os.write(write, str(cache.get("model", lambda: "child's own")).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert os.read(read, 100) == b"child's own"
    assert cache.get("model", lambda: "not made") is first

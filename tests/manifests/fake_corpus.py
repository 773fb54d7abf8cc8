"""Small fabricated corpora (WAVs of known length + metadata.jsonl) for the manifest tests.

Imported by the tests as ``fake_corpus`` (pytest puts this folder on ``sys.path``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

KALDI_UTILS = Path(__file__).parent / "kaldi_utils"

DEFAULT_SPEAKERS: dict[str, list[str]] = {
    "train": ["spk001", "spk002", "spk003"],
    "dev": ["spk004", "spk005"],
    "test": ["spk006", "spk007"],
}
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]


@dataclass(frozen=True)
class FakeCorpus:
    """A corpus folder written by :func:`build_corpus`."""

    out: Path
    records: list[dict[str, Any]]  # metadata objects, sorted by id

    def split(self, name: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["split"] == name]

    def line_of(self, uid: str) -> int:
        """1-based line of ``uid`` in metadata.jsonl."""
        return [r["id"] for r in self.records].index(uid) + 1

    def samples(self, uid: str) -> np.ndarray:
        """The int16 samples of an utterance, shape (n_samples, n_channels)."""
        rec = next(r for r in self.records if r["id"] == uid)
        data, _ = sf.read(self.out / rec["audio"], dtype="int16", always_2d=True)
        return data


def default_duration(index: int) -> float:
    return 0.3 + 0.05 * (index % 5)


def build_corpus(
    out: Path,
    speakers: Mapping[str, Sequence[str]] | None = None,
    utts_per_speaker: int = 3,
    sample_rate: int = 16000,
    num_channels: int = 1,
    duration_s: Callable[[int], float] = default_duration,
    genders: bool = True,
    lang: str | None = "en-us",
    augment: bool = False,
) -> FakeCorpus:
    """Write ``out/audio/<split>/<speaker>/<id>.wav`` (sine + noise) and ``out/metadata.jsonl``.

    Every 4th utterance has no word timings; with ``augment`` every utterance
    references ``rirs/rir000.wav`` or ``rirs/rir001.wav`` and two stems.
    """
    rng = np.random.default_rng(1234)
    speakers = speakers or DEFAULT_SPEAKERS
    records: list[dict[str, Any]] = []
    index = 0
    for split, names in speakers.items():
        for s, speaker in enumerate(names):
            for _ in range(utts_per_speaker):
                uid = f"{speaker}-{index:06d}"
                n = round(duration_s(index) * sample_rate)
                t = np.arange(n) / sample_rate
                tone = 0.3 * np.sin(2 * np.pi * (200 + 20 * index) * t)
                chans = [
                    tone * (0.5 + 0.5 * c) + 0.01 * rng.standard_normal(n)
                    for c in range(num_channels)
                ]
                audio_rel = f"audio/{split}/{speaker}/{uid}.wav"
                (out / audio_rel).parent.mkdir(parents=True, exist_ok=True)
                pcm = np.stack(chans, axis=1) if num_channels > 1 else chans[0]
                sf.write(out / audio_rel, pcm, sample_rate, subtype="PCM_16")
                n_words = 2 + index % 3
                text_words = [WORDS[(index + j) % len(WORDS)] for j in range(n_words)]
                step = n / sample_rate / n_words
                words = None
                if index % 4 != 3:
                    words = [
                        [w, round(j * step, 4), round(step * 0.9, 4)]
                        for j, w in enumerate(text_words)
                    ]
                rec: dict[str, Any] = {
                    "id": uid,
                    "split": split,
                    "speaker": speaker,
                    "gender": ("m" if s % 2 == 0 else "f") if genders else None,
                    "lang": lang,
                    "text": " ".join(text_words),
                    "raw_text": " ".join(text_words).capitalize() + ".",
                    "prompt_id": f"p{index:04d}",
                    "audio": audio_rel,
                    "duration_s": round(n / sample_rate, 6),
                    "sample_rate": sample_rate,
                    "num_channels": num_channels,
                    "words": words,
                    "tts": {"engine": "fake", "pitch": 50 + index},
                    "augment": None,
                }
                if augment:
                    rir_id = f"rir{index % 2:03d}"
                    stems = {"speech": f"stems/{uid}/speech.wav", "noise": f"stems/{uid}/noise.wav"}
                    rec["augment"] = {"room": {"rir_id": rir_id, "rt60_s": 0.3}, "stems": stems}
                    for rel in [f"rirs/{rir_id}.wav", *stems.values()]:
                        (out / rel).parent.mkdir(parents=True, exist_ok=True)
                        sf.write(out / rel, np.zeros(160), sample_rate, subtype="PCM_16")
                records.append(rec)
                index += 1
    records.sort(key=lambda r: r["id"])
    write_records(out, records)
    return FakeCorpus(out, records)


def write_records(out: Path, records: Sequence[Mapping[str, Any]]) -> None:
    """Write metadata.jsonl exactly in the given order (tests may want it unsorted)."""
    out.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    (out / "metadata.jsonl").write_text(text, encoding="utf-8")


def run_kaldi_script(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a vendored Kaldi script from kaldi_utils/ (it calls utils/... relative to CWD)."""
    return subprocess.run(
        ["bash", f"utils/{script}", *args],
        cwd=KALDI_UTILS,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C"},
    )


def have_kaldi_tools() -> bool:
    return all(shutil.which(t) for t in ("bash", "perl", "awk", "sort", "cmp", "diff", "grep"))

"""Shared inputs for the evaluation tests: the real-speech fixture and a tiny fabricated corpus."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf

REAL_SPEECH = Path(__file__).resolve().parent.parent / "fixtures" / "real_speech"


def real_texts() -> dict[str, str]:
    lines = (REAL_SPEECH / "text").read_text(encoding="utf-8").splitlines()
    return {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in lines}


# (fixture utterance, corpus id, split, augment): the audio is the real recording; the
# augmentation records only label it, so condition bookkeeping can be checked.
_PLAN: list[tuple[str, str, str, dict[str, Any] | None]] = [
    ("cards-001", "spk001-000001", "test", None),
    ("cards-003", "spk001-000002", "test", {"noise": {"snr_db": 3.0}, "room": None}),
    (
        "cards-004",
        "spk002-000003",
        "test",
        {
            "room": {"rt60_target_s": 0.5, "rt60_s": 0.71, "drr_db": 2.5, "rir_id": "r1"},
            "noise": {"snr_db": 25.0},
            "channel": {"codec": {"kind": "mulaw", "compression_level": None}},
        },
    ),
    (
        "cards-002",
        "spk002-000004",
        "test",
        {
            "room": {"rt60_target_s": 0.2, "labels": {"rt60_s": 0.25, "drr_db": 8.0}},
            "noise": {"snr_db": 12.0},
            "channel": {"codec": None},
        },
    ),
    ("forever-01", "spk003-000005", "train", {"noise": {"snr_db": -2.0}}),
    (
        "librivox-0880",
        "spk003-000006",
        "dev",
        {"channel": {"codec": {"kind": "mp3", "compression_level": 0.5}}},
    ),
]


def make_corpus(out: Path, text_overrides: dict[str, str] | None = None) -> Path:
    """Write a small corpus (metadata.jsonl + audio/) in ``out`` from the fixture's recordings."""
    texts = real_texts()
    records = []
    for src, utt_id, split, augment in _PLAN:
        speaker = utt_id.split("-")[0]
        rel = f"audio/{split}/{speaker}/{utt_id}.wav"
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REAL_SPEECH / "wav" / f"{src}.wav", out / rel)
        info = sf.info(str(out / rel))
        text = (text_overrides or {}).get(utt_id, texts[src])
        records.append(
            {
                "id": utt_id,
                "split": split,
                "speaker": speaker,
                "gender": "f" if speaker == "spk002" else "m",
                "lang": "en-us",
                "text": text,
                "raw_text": text.capitalize() + ".",
                "prompt_id": f"p{utt_id[-3:]}",
                "audio": rel,
                "duration_s": round(info.frames / info.samplerate, 3),
                "sample_rate": info.samplerate,
                "num_channels": info.channels,
                "words": None,
                "tts": {
                    "engine": "espeak-ng",
                    "voice": "en-us",
                    "variant": "m3" if speaker != "spk002" else "f2",
                },
                "augment": augment,
            }
        )
    (out / "metadata.jsonl").write_text(
        "".join(json.dumps(r, sort_keys=True) + "\n" for r in records), encoding="utf-8"
    )
    return out


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return make_corpus(tmp_path / "corpus")


@pytest.fixture
def corpus_factory() -> Any:
    """``make_corpus`` itself, for tests that need other transcripts."""
    return make_corpus


@pytest.fixture
def real_speech() -> Path:
    return REAL_SPEECH

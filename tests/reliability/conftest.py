"""The tiny corpus every reliability test compares against, generated once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from relutil import tree_hashes, write_tiny_config

from synthaudio.corpus.generate import generate_corpus


@pytest.fixture(scope="session")
def tiny_reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """(config path, file hashes of its uninterrupted corpus, logs/ excluded)."""
    root = tmp_path_factory.mktemp("tiny")
    config = write_tiny_config(root / "cfg")
    generate_corpus(config, root / "ref", jobs=2, progress=False)
    return config, tree_hashes(root / "ref")


SESSIONS_CONFIG = """\
name: dry
seed: 5
text:
  sources:
    - file: prompts.txt
speakers:
  count: 6
  variants: [m1, f2, m3]
splits: {train: 0.0, dev: 0.0, test: 1.0}
sessions:
  count: 2
  speakers: [2, 3]
  length_s: [10, 14]
  turn_words: [3, 8]
  overlap_ratio: 0.15
  silence_ratio: 0.12
"""
SESSION_PROMPTS = """\
p-1\tThe meeting starts at 3:45 pm.
p-2\tPlease call Dr. Smith tomorrow morning.
p-3\tI think we should move the release to next week.
p-4\tCan you send me the report before lunch?
"""


def write_sessions_config(folder: Path, text: str = SESSIONS_CONFIG) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "prompts.txt").write_text(SESSION_PROMPTS, encoding="utf-8")
    (folder / "sessions.yaml").write_text(text, encoding="utf-8")
    return folder / "sessions.yaml"


@pytest.fixture(scope="session")
def session_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two dry sessions (test split); tests copy it before changing it."""
    from synthaudio.sessions.generate import generate_sessions

    root = tmp_path_factory.mktemp("sessions")
    generate_sessions(write_sessions_config(root / "cfg"), root / "out", jobs=1,
                      progress=False)
    return root / "out"


@pytest.fixture(scope="session")
def real_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """PROFILE.json of the real-speech fixture (no DNSMOS, no speaker encoder)."""
    from synthaudio.profile.profile import ProfileOptions, profile_corpus

    out = tmp_path_factory.mktemp("profile") / "real.json"
    profile_corpus(Path(__file__).resolve().parents[1] / "fixtures" / "real_speech", out,
                   options=ProfileOptions(families=("level", "noise", "channel", "reverb",
                                                    "speech")))
    return out

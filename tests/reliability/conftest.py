"""The tiny corpus every reliability test compares against, generated once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from relutil import tree_hashes, write_sessions_config, write_tiny_config

from synthaudio.pipelines.generate.pipeline import generate_corpus


@pytest.fixture(scope="session")
def tiny_reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """(config path, file hashes of its uninterrupted corpus, logs/ excluded)."""
    root = tmp_path_factory.mktemp("tiny")
    config = write_tiny_config(root / "cfg")
    generate_corpus(config, root / "ref", jobs=2, progress=False)
    return config, tree_hashes(root / "ref")


@pytest.fixture(scope="session")
def session_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two dry sessions (test split); tests copy it before changing it."""
    from synthaudio.pipelines.sessions.pipeline import generate_sessions

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

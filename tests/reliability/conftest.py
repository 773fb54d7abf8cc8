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

"""Fixtures for the manifest tests; the corpus builder lives in fake_corpus.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_corpus import FakeCorpus, build_corpus


@pytest.fixture
def corpus(tmp_path: Path) -> FakeCorpus:
    """The default 3-split, 7-speaker, 21-utterance mono corpus in ``tmp_path/out``."""
    return build_corpus(tmp_path / "out")

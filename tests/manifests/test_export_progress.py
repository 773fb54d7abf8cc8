"""`export` shows progress while the WebDataset shards (the slow part) are written."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

from fake_corpus import build_corpus

from synthaudio.manifests.export import export_corpus


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_export_shows_a_bar_on_a_terminal_only(tmp_path: Path, monkeypatch: Any) -> None:
    c = build_corpus(tmp_path / "out")
    for progress, shown in ((True, True), (False, False)):
        err = _Tty()
        monkeypatch.setattr(sys, "stderr", err)
        export_corpus(c.out, ["webdataset"], shard_size=2, progress=progress)
        assert ("export webdataset" in err.getvalue()) == shown, err.getvalue()

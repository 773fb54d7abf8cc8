"""recipes/digits/run.py's training options: wrong combinations stop before any work."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from synthaudio.errors import SynthaudioError

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                                reason="the digits recipe trains with torch (extra 'train')")


@pytest.fixture(scope="module")
def run():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(REPO / "recipes" / "digits"))
    try:
        import run as module
    finally:
        sys.path.pop(0)
        # the keywords recipe's tests import their own `run`: leave no digits `run` behind
        sys.modules.pop("run", None)
    return module


@pytest.mark.parametrize(("argv", "message"), [
    (["--views", "speed,reverb"], r"--views: unknown \['reverb'\]"),
    (["--ensemble", "0"], r"--ensemble must be >= 1, got 0"),
    (["--test-shifts", "0"], r"--test-shifts must be >= 1, got 0"),
    (["--features", "log-mel", "--mask"], r"only with --features embedding"),
    (["--features", "log-mel", "--views", "speed"], r"only with --features embedding"),
])
def test_bad_training_options_fail_before_generation(run, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                     argv: list[str], message: str) -> None:
    with pytest.raises(SynthaudioError, match=message):
        run.main([*argv, "--out", str(tmp_path / "out")])
    assert not (tmp_path / "out" / "corpora").exists()  # nothing generated


def test_model_shapes_and_views_are_known(run) -> None:  # type: ignore[no-untyped-def]
    from synthaudio.train.model import EmbeddingCTCConfig, new_ctc_model

    assert run.DEFAULT_MODEL in run.EMBEDDING_MODELS
    assert run.EMBEDDING_MODELS[run.DEFAULT_MODEL] == run.EMBEDDING_MODEL
    sizes = {name: sum(p.numel() for p in new_ctc_model(EmbeddingCTCConfig(**kw), 11)
                       .parameters()) for name, kw in run.EMBEDDING_MODELS.items()}
    assert sizes["conv3"] < sizes["conv4"] < sizes["conv5"] < sizes["wide3"]
    assert set(run.VIEWS) == {"speed", "narrowband", "shift"}
    assert run.test_shifts_s(run.EmbeddingConfig(), 4) == [0.0, 0.02, 0.04, 0.06]
    assert run.test_shifts_s(run.FeatureConfig(), 4) == [0.0]  # log-mel: one pass

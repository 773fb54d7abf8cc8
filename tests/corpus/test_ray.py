"""The Ray executor writes the same bytes as the local pool."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from synthaudio.corpus.generate import generate_corpus

ray = pytest.importorskip("ray", reason="the ray extra is not installed")

from test_generate import write_config  # noqa: E402


def hashes(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*"))
            if p.is_file() and "logs" not in p.relative_to(out).parts}


def test_ray_run_is_byte_identical_to_the_local_pool(tmp_path: Path) -> None:
    config = write_config(tmp_path / "cfg", speakers=4, per_speaker=5,
                          extra="augment:\n  room: {probability: 1.0, bank_size: 4}\n"
                                "  noise: {probability: 1.0, snr_db: [5, 20]}\n")
    out = tmp_path / "out"  # the same OUT path: lhotse manifests hold absolute paths
    generate_corpus(config, out, jobs=2, progress=False)
    local = hashes(out)
    out.rename(tmp_path / "local")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        summary = generate_corpus(config, out, jobs=2, progress=False, executor="ray")
    finally:
        ray.shutdown()
    assert summary.utterances == 20
    assert hashes(out) == local
    assert any(k.startswith("rirs/") for k in local)

"""Scaling of ``generate`` from 1 to 2 worker processes, and the Ray executor's overhead
against the local pool on the same machine.

Side by side in one script, each configuration run alternately several times into fresh
folders; medians reported. Targets: 2 workers >= 1.8x one worker; Ray within 15% of the
local pool at the same worker count.

    python benchmarks/bench_scaling.py [--config corpora/quickstart/corpus.yaml] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from _common import variant_config

from synthaudio.pipelines.generate.pipeline import generate_corpus


def timed(config: Path, out: Path, **kwargs: object) -> float:
    start = time.perf_counter()
    generate_corpus(config, out, progress=False, **kwargs)  # type: ignore[arg-type]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("corpora/quickstart/corpus.yaml"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--per-speaker", type=int, default=25)
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    runs: dict[str, list[float]] = {"j1": [], "j2": [], "ray_j2": []}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        config = variant_config(args.config, work / "corpus.yaml",
                                utterances__per_speaker=args.per_speaker)
        ray = None
        if not args.no_ray:
            import ray as ray_module

            ray = ray_module
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        timed(config, work / "warmup", jobs=2)
        for i in range(args.repeats):
            runs["j1"].append(timed(config, work / f"j1-{i}", jobs=1))
            runs["j2"].append(timed(config, work / f"j2-{i}", jobs=2))
            if ray is not None:
                runs["ray_j2"].append(timed(config, work / f"ray-{i}", jobs=2, executor="ray"))
        if ray is not None:
            ray.shutdown()
    med = {k: statistics.median(v) for k, v in runs.items() if v}
    result = {
        "utterances": 24 * args.per_speaker, "cpus": os.cpu_count(), "repeats": args.repeats,
        "median_s": {k: round(v, 2) for k, v in med.items()},
        "speedup_2_workers": round(med["j1"] / med["j2"], 3), "target_speedup": 1.8,
        "runs": {k: [round(x, 2) for x in v] for k, v in runs.items()},
    }
    if "ray_j2" in med:
        result["ray_overhead"] = round(med["ray_j2"] / med["j2"] - 1, 3)
        result["target_ray_overhead"] = 0.15
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

"""Peak memory of ``generate`` for 1,000 vs 10,000 utterances of the quickstart corpus.

Each run is a fresh ``synthaudio generate -j 1`` subprocess; its peak resident set size
comes from ``getrusage(RUSAGE_CHILDREN)``. Target: the larger run uses at most 10% more.

    python benchmarks/bench_memory.py [--config corpora/quickstart/corpus.yaml] [--no-augment]
                                      [--shards] [--sizes 1000,10000]

``--shards`` adds WebDataset shards (of 1,000 samples) to the exports.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import variant_config


def peak_rss_mb(config: Path, out: Path, limit: int) -> tuple[float, float]:
    """(peak RSS in MiB, wall seconds) of one generate run in a child process."""
    code = ("import sys; from synthaudio.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    start = time.perf_counter()
    pid = subprocess.Popen([sys.executable, "-c", code, "generate", str(config), "-o", str(out),
                            "-j", "1", "-q", "--limit", str(limit)],
                           stdout=subprocess.DEVNULL).pid
    _, status, usage = os.wait4(pid, 0)
    if status != 0:
        raise SystemExit(f"generate failed with status {status}")
    return usage.ru_maxrss / 1024, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("corpora/quickstart/corpus.yaml"))
    parser.add_argument("--no-augment", action="store_true", help="drop the augment: section")
    parser.add_argument("--shards", action="store_true", help="also export WebDataset shards")
    parser.add_argument("--sizes", default="1000,10000")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        speakers = 24  # quickstart's speakers, each saying n / 24 utterances: every run has
        for n in sizes:  # all voices and all three splits, only more utterances of each
            config = variant_config(
                args.config, work / f"corpus{n}.yaml",
                drop=("augment",) if args.no_augment else (),
                speakers__count=speakers,
                utterances__per_speaker=-(-n // speakers),
                **({"exports": ["kaldi", "nemo", "lhotse", "hf", "ctm", "webdataset"]}
                   if args.shards else {}),
            )
            rss, wall = peak_rss_mb(config, work / f"out{n}", n)
            results[str(n)] = {"peak_rss_mib": round(rss, 1), "wall_s": round(wall, 1)}
    small, large = (results[str(n)]["peak_rss_mib"] for n in (min(sizes), max(sizes)))
    print(json.dumps({
        "config": str(args.config), "augment": not args.no_augment, "shards": args.shards,
        "runs": results,
        "growth": round(large / small - 1, 4), "target_growth": 0.10,
        "self_max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }, indent=1))


if __name__ == "__main__":
    main()

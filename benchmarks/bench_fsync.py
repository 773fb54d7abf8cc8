"""What syncing files to disk (``synthaudio.io.fileio.FSYNC``) costs a ``generate`` run.

Side by side in one process: the same corpus generated with ``jobs=1`` into a fresh folder on
the file system of ``--dir``, with ``fileio.FSYNC`` on (the default) and off, alternately,
``--repeats`` times each; the medians of the wall times and their ratio are printed. (On a
tmpfs, fsync costs nothing: measure on the disk the corpora go to.)

    python benchmarks/bench_fsync.py [--config corpora/quickstart/corpus.yaml] [--repeats 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from _common import variant_config

from synthaudio.io import fileio
from synthaudio.pipelines.generate.pipeline import generate_corpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("corpora/quickstart/corpus.yaml"))
    parser.add_argument("--utterances-per-speaker", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=Path("."),
                        help="where the corpora are written (a folder on the disk to measure)")
    args = parser.parse_args()
    times: dict[bool, list[float]] = {True: [], False: []}
    files = 0
    with tempfile.TemporaryDirectory(dir=args.dir, prefix=".bench-fsync-") as tmp:
        config = variant_config(args.config, Path(tmp) / "corpus.yaml",
                                utterances__per_speaker=args.utterances_per_speaker)
        for i in range(args.repeats):
            for sync in (True, False) if i % 2 == 0 else (False, True):
                out = Path(tmp) / f"out-{sync}"
                shutil.rmtree(out, ignore_errors=True)
                fileio.FSYNC = sync
                start = time.perf_counter()
                generate_corpus(config, out, jobs=1, progress=False)
                times[sync].append(time.perf_counter() - start)
                files = sum(1 for p in out.rglob("*") if p.is_file())
    fileio.FSYNC = True
    on, off = statistics.median(times[True]), statistics.median(times[False])
    print(f"{files} files per corpus, {args.repeats} runs each, medians:")
    print(f"  fsync on : {on:.3f} s  {sorted(round(t, 3) for t in times[True])}")
    print(f"  fsync off: {off:.3f} s  {sorted(round(t, 3) for t in times[False])}")
    print(f"  ratio on/off: {on / off:.3f}")


if __name__ == "__main__":
    main()

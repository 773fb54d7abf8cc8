#!/usr/bin/env python3
"""NeMo data preparation: generate a synthaudio corpus and a config snippet for NeMo ASR.

    python recipes/nemo/prepare_data.py --config corpora/digits/corpus.yaml --out out/nemo

Writes OUT (the corpus), OUT/manifests/nemo/{train,dev,test}.json with absolute audio
paths, validates them, and writes OUT/nemo_data.yaml: the ``model.*`` keys that point a
NeMo ASR config (e.g. examples/asr/conf/conformer/conformer_ctc_char.yaml) at the
manifests, with the character labels found in the transcripts. Prints the training command.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from synthaudio.errors import SynthaudioError
from synthaudio.manifests.export import export_corpus
from synthaudio.manifests.nemo import nemo_manifest_path
from synthaudio.manifests.validate import format_problems, validate_corpus
from synthaudio.pipelines.generate.pipeline import generate_corpus

REPO = Path(__file__).resolve().parents[2]
SPLITS = {"train": "train_ds", "dev": "validation_ds", "test": "test_ds"}


def labels_of(manifest: Path) -> list[str]:
    """Sorted characters of the ``text`` fields of a NeMo manifest (space first)."""
    chars: set[str] = set()
    for line in manifest.read_text(encoding="utf-8").splitlines():
        if line.strip():
            chars.update(json.loads(line)["text"])
    return sorted(chars)


def nemo_snippet(out: Path, sample_rate: int, batch_size: int) -> dict[str, Any]:
    """``model:`` overrides for a NeMo char-CTC config: manifests, labels, sample rate."""
    train = nemo_manifest_path(out, "train")
    model: dict[str, Any] = {"sample_rate": sample_rate, "labels": labels_of(train)}
    for split, key in SPLITS.items():
        model[key] = {
            "manifest_filepath": str(nemo_manifest_path(out, split)),
            "sample_rate": sample_rate,
            "labels": "${model.labels}",
            "batch_size": batch_size,
            "shuffle": split == "train",
            "max_duration": 20.0,
            "min_duration": 0.1,
        }
    return {"model": model}


def prepare(config: Path, out: Path, jobs: int, limit: int | None,
            batch_size: int) -> dict[str, Any]:
    """Generate and export the corpus, validate it, write ``OUT/nemo_data.yaml``; return it."""
    summary = generate_corpus(config, out, jobs=jobs, limit=limit, progress=False)
    print(summary.format())
    export_corpus(out, ["nemo"], absolute_paths=True)
    problems = validate_corpus(out)
    if problems:
        print(format_problems(problems), file=sys.stderr)
        raise SynthaudioError(f"{out}: {len(problems)} problem(s) found by validation")
    missing = [s for s in SPLITS if not nemo_manifest_path(out, s).exists()]
    if missing:
        raise SynthaudioError(f"{out}: no {', '.join(missing)} split (too few speakers, or "
                              "--limit too small)")
    corpus = yaml.safe_load((out / "corpus.yaml").read_text(encoding="utf-8"))
    sample_rate = int(corpus["config"]["audio"]["sample_rate"])
    snippet = nemo_snippet(out, sample_rate, batch_size)
    (out / "nemo_data.yaml").write_text(
        yaml.safe_dump(snippet, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return snippet


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", type=Path, default=REPO / "corpora" / "digits" / "corpus.yaml")
    p.add_argument("--out", type=Path, default=REPO / "out" / "nemo")
    p.add_argument("-j", "--jobs", type=int, default=1)
    p.add_argument("--limit", type=int, help="render only the first N utterances")
    p.add_argument("--batch-size", type=int, default=32)
    args = p.parse_args(argv)
    out = args.out.resolve()
    try:
        m = prepare(args.config, out, args.jobs, args.limit, args.batch_size)["model"]
    except SynthaudioError as exc:
        print(f"prepare_data.py: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out / 'nemo_data.yaml'}\ntrain with NeMo (char CTC), e.g.:\n"
          "  python examples/asr/asr_ctc/speech_to_text_ctc.py \\\n"
          "    --config-path=../conf/conformer --config-name=conformer_ctc_char \\\n"
          + "".join(f"    model.{key}.manifest_filepath={m[key]['manifest_filepath']} \\\n"
                    for key in SPLITS.values())
          + f"    'model.labels={json.dumps(m['labels'])}'")
    return 0


if __name__ == "__main__":
    sys.exit(main())

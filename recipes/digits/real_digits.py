#!/usr/bin/env python3
"""Isolated real digit words cut out of real recordings of longer speech, for --real-test.

    python recipes/digits/real_digits.py KALDI_DIR OUT_DIR

Each digit word ("zero" ... "nine") in an utterance's transcript is located by forced
alignment and cut out with some context (synthaudio.io.importers.words.cut_words). OUT_DIR
becomes a Kaldi data dir of those clips (``<utt>-w<k>``, the k-th word of ``<utt>``) that
``run.py --real-test`` scores. Utterances whose transcript cannot be aligned are skipped,
and said so.
"""

from __future__ import annotations

import sys
from pathlib import Path

from synthaudio.errors import SynthaudioError
from synthaudio.io.importers.folders import DIGIT_WORDS
from synthaudio.io.importers.words import cut_words


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    out, n = cut_words(Path(argv[0]), DIGIT_WORDS, Path(argv[1]))
    print(f"{n} digit words -> {out}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except SynthaudioError as exc:
        print(f"real_digits.py: error: {exc}", file=sys.stderr)
        sys.exit(2)

#!/usr/bin/env python3
"""Isolated real digit words cut out of real recordings of longer speech, for --real-test.

    python recipes/digits/real_digits.py KALDI_DIR OUT_DIR

Each digit word ("zero" ... "nine") in an utterance's transcript is located by forced
alignment of the whole transcript (synthaudio.tts.align, pocketsphinx's bundled en-us model)
and cut out with ``MARGIN_S`` of context on each side (never past the neighbouring words'
midpoints), at the recording's own rate. OUT_DIR becomes a Kaldi data dir of those clips
(``<utt>-w<k>``, the k-th word of ``<utt>``) that ``run.py --real-test`` scores. Utterances
whose transcript cannot be aligned are skipped, and said so.
"""

from __future__ import annotations

import sys
from pathlib import Path

import soundfile as sf

from synthaudio.errors import SynthaudioError
from synthaudio.io.fileio import write_audio_atomic
from synthaudio.io.kaldi import read_kaldi_dir
from synthaudio.tts.align import align_words

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the recipe's own modules
from real_sets import DIGIT_WORDS, write_kaldi_dir  # noqa: E402

MARGIN_S = 0.08  # context kept before and after a word, at most


def cut_digit_words(kaldi_dir: Path, out: Path) -> tuple[Path, int]:
    """(OUT_DIR, number of clips) of the digit words of ``kaldi_dir``'s utterances."""
    data = read_kaldi_dir(kaldi_dir)
    entries = []
    for utt in data.utterances:
        words = utt.text.split()
        if not any(w in DIGIT_WORDS for w in words):
            continue
        audio, rate = sf.read(str(utt.audio), dtype="float32", always_2d=True,
                              start=utt.start_sample, frames=utt.num_samples)
        audio = audio.mean(axis=1)
        try:
            timings = align_words(audio, rate, words)
        except ValueError:
            print(f"{utt.utt_id}: transcript not aligned, skipped", file=sys.stderr)
            continue
        for k, t in enumerate(timings):
            if t.word not in DIGIT_WORDS:
                continue
            end = t.start_s + t.dur_s
            lo = t.start_s - MARGIN_S
            hi = end + MARGIN_S
            if k > 0:
                prev = timings[k - 1]
                lo = max(lo, (prev.start_s + prev.dur_s + t.start_s) / 2)
            if k + 1 < len(timings):
                hi = min(hi, (end + timings[k + 1].start_s) / 2)
            clip = audio[max(0, int(lo * rate)):int(hi * rate)]
            uid = f"{utt.utt_id}-w{k:02d}"
            path = (out / "wav" / f"{uid}.wav").resolve()
            path.parent.mkdir(parents=True, exist_ok=True)
            write_audio_atomic(path, clip, rate)
            entries.append((uid, utt.speaker, t.word, path))
    if not entries:
        raise SynthaudioError(f"{kaldi_dir}: no digit word could be cut out")
    return write_kaldi_dir(out, entries), len(entries)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    out, n = cut_digit_words(Path(argv[0]), Path(argv[1]))
    print(f"{n} digit words -> {out}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except SynthaudioError as exc:
        print(f"real_digits.py: error: {exc}", file=sys.stderr)
        sys.exit(2)

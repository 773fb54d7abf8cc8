#!/usr/bin/env python3
"""A small real-speech proxy set for --real-test, from recordings that packages ship.

    python recipes/keywords/real_proxy.py --out DIR [--pocketsphinx-sdist FILE.tar.gz]
                                          [--alsa /usr/share/sounds/alsa]

Writes a Kaldi dir (16 kHz wav, text, utt2spk) of: the project's real fixture
(tests/fixtures/real_speech: "four", "five", "seven", "eight", "go", "on" among its words),
two recordings from the test data of pocketsphinx's source release on PyPI ("go forward
ten meters"; the TIDIGITS sample "two nine three four zero"; get it with
``pip download pocketsphinx --no-deps --no-binary :all:``), and the eight voice prompts of
Debian's alsa-utils ("front left", "rear right", ...: "left" and "right" three times each).
``run.py --real-test DIR`` cuts every word out by forced alignment and scores the
vocabulary words as themselves and the others as _unknown_. A handful of speakers and words
cut from running speech: a smoke test of transfer, not the issue's real test set.
"""

from __future__ import annotations

import argparse
import sys
import tarfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from synthaudio.io.fileio import write_audio_atomic
from synthaudio.train.features import load_mono

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "real_speech"
RATE = 16000
POCKETSPHINX = {  # test/data member (16 kHz 16-bit little-endian raw) -> transcript
    "goforward.raw": ("pocketsphinx-goforward", "go forward ten meters"),
    "tidigits/dhd.2934z.raw": ("tidigits-dhd2934z", "two nine three four zero"),
}


def build(out: Path, sdist: Path | None, alsa: Path | None) -> int:
    """Write the Kaldi dir; return its number of utterances."""
    rows: list[tuple[str, str, np.ndarray]] = []
    for line in (FIXTURE / "text").read_text(encoding="utf-8").splitlines():
        uid, text = line.split(" ", 1)
        rows.append((f"fixture-{uid}", text, load_mono(FIXTURE / "wav" / f"{uid}.wav", RATE)))
    if sdist is not None:
        with tarfile.open(sdist) as tar:
            for member in tar.getmembers():
                for name, (uid, text) in POCKETSPHINX.items():
                    if member.name.endswith(f"/test/data/{name}"):
                        raw = tar.extractfile(member)
                        assert raw is not None
                        pcm = np.frombuffer(raw.read(), dtype="<i2")
                        rows.append((uid, text, pcm.astype(np.float32) / 32768.0))
    if alsa is not None:
        for path in sorted(alsa.glob("*_*.wav")):  # Front_Left.wav: "front left"
            text = path.stem.replace("_", " ").lower()
            rows.append((f"alsa-{path.stem.replace('_', '').lower()}", text,
                         load_mono(path, RATE)))
    rows.sort()
    for uid, _, audio in rows:
        write_audio_atomic(out / "wav" / f"{uid}.wav", audio, RATE)
    (out / "text").write_text("".join(f"{u} {t}\n" for u, t, _ in rows), encoding="utf-8")
    (out / "wav.scp").write_text("".join(f"{u} {(out / 'wav' / u).resolve()}.wav\n"
                                         for u, _, _ in rows), encoding="utf-8")
    (out / "utt2spk").write_text("".join(f"{u} {u.rsplit('-', 1)[0]}\n" for u, _, _ in rows),
                                 encoding="utf-8")
    return len(rows)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--pocketsphinx-sdist", type=Path, help="pocketsphinx-*.tar.gz")
    p.add_argument("--alsa", type=Path, help="alsa-utils' voice prompts (Front_Left.wav, ...)")
    args = p.parse_args(argv)
    for given in (args.pocketsphinx_sdist, args.alsa):
        if given is not None and not given.exists():
            print(f"real_proxy.py: error: {given}: not found", file=sys.stderr)
            return 2
    n = build(args.out, args.pocketsphinx_sdist, args.alsa)
    print(f"{args.out}: {n} utterances")
    return 0


if __name__ == "__main__":
    sys.exit(main())

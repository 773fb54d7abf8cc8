"""Real test sets for the digits recipe: a Kaldi data dir, or a folder in a common layout.

``as_kaldi_dir(folder, work)`` returns a Kaldi data directory for ``folder``:

- a Kaldi data dir (``wav.scp`` and ``text``): itself;
- the Speech Commands layout, ``<word>/*.wav`` (folders starting with ``_``, such as
  ``_background_noise_``, are skipped; the speaker is the file name before ``_nohash_``);
- the Free Spoken Digit layout, ``<digit>_<speaker>_<n>.wav`` (in the folder or in its
  ``recordings/``), the digit said as a word.

The last two are written as ``wav.scp`` (absolute paths), ``text``, ``utt2spk`` and
``spk2utt`` under ``work/real-<layout>-<folder name>``, sorted in byte order as Kaldi
requires. Any sample rate: the recipe's features resample. Anything else is an
:class:`InputError` naming the folder.
"""

from __future__ import annotations

import re
from pathlib import Path

from synthaudio.errors import InputError

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_FSDD = re.compile(r"(?P<digit>[0-9])_(?P<speaker>[A-Za-z0-9-]+)_(?P<n>[0-9]+)\.wav")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def _safe(name: str) -> str:
    return _UNSAFE.sub("-", name) or "x"


def detect_layout(folder: Path) -> str:
    """"kaldi", "speech-commands" or "fsdd"; InputError when it is none of them."""
    if not folder.is_dir():
        raise InputError(f"{folder}: real test set not found (a folder is expected)")
    if (folder / "wav.scp").is_file() and (folder / "text").is_file():
        return "kaldi"
    fsdd = folder / "recordings" if (folder / "recordings").is_dir() else folder
    if any(_FSDD.fullmatch(p.name) for p in fsdd.glob("*.wav")):
        return "fsdd"
    words = [d for d in folder.iterdir() if d.is_dir() and not d.name.startswith("_")
             and any(d.glob("*.wav"))]
    if words:
        return "speech-commands"
    raise InputError(f"{folder}: not a Kaldi data dir (wav.scp, text), a folder of "
                     "<word>/*.wav (Speech Commands) or of <digit>_<speaker>_<n>.wav "
                     "(Free Spoken Digit)")


def _entries(folder: Path, layout: str) -> list[tuple[str, str, str, Path]]:
    """(utterance id, speaker, text, audio path) of each recording."""
    out = []
    if layout == "fsdd":
        src = folder / "recordings" if (folder / "recordings").is_dir() else folder
        for p in sorted(src.glob("*.wav")):
            m = _FSDD.fullmatch(p.name)
            if m is None:
                continue
            spk = _safe(m["speaker"])
            out.append((f"{spk}-{m['digit']}-{int(m['n']):04d}", spk,
                        DIGIT_WORDS[int(m["digit"])], p.resolve()))
    else:
        for d in sorted(folder.iterdir()):
            if not d.is_dir() or d.name.startswith("_"):
                continue
            word = d.name.lower()
            for p in sorted(d.glob("*.wav")):
                spk = _safe(p.stem.split("_nohash_")[0])
                rest = _safe(p.stem.split("_nohash_")[-1])
                out.append((f"{spk}-{_safe(word)}-{rest}", spk, word, p.resolve()))
    return out


def as_kaldi_dir(folder: Path, work: Path) -> Path:
    """A Kaldi data directory holding the recordings of ``folder`` (see the module doc)."""
    layout = detect_layout(folder)
    if layout == "kaldi":
        return folder
    entries = _entries(folder, layout)
    if not entries:
        raise InputError(f"{folder}: no recordings found in the {layout} layout")
    ids = [e[0] for e in entries]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise InputError(f"{folder}: two recordings map to the utterance id {dup!r}")
    for _, _, _, path in entries:
        if any(c.isspace() for c in str(path)):
            raise InputError(f"{path}: a path with white space cannot go into wav.scp")
    return write_kaldi_dir(work / f"real-{layout}-{_safe(folder.name)}", entries)


def write_kaldi_dir(out: Path, entries: list[tuple[str, str, str, Path]]) -> Path:
    """``wav.scp``, ``text``, ``utt2spk`` and ``spk2utt`` of (utterance id, speaker, text,
    audio path) entries in ``out``, sorted in byte order."""
    out.mkdir(parents=True, exist_ok=True)
    rows = sorted(entries, key=lambda e: e[0].encode())
    spk2utt: dict[str, list[str]] = {}
    for utt, spk, _, _ in rows:
        spk2utt.setdefault(spk, []).append(utt)
    files = {
        "wav.scp": [f"{u} {p}" for u, _, _, p in rows],
        "text": [f"{u} {t}" for u, _, t, _ in rows],
        "utt2spk": [f"{u} {s}" for u, s, _, _ in rows],
        "spk2utt": [f"{s} {' '.join(us)}" for s, us in sorted(spk2utt.items(),
                                                              key=lambda kv: kv[0].encode())],
    }
    for name, lines in files.items():
        (out / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return out

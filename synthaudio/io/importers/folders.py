"""Importers of real corpora in common folder layouts, as Kaldi data directories (lhotse's
``prepare_x()`` in spirit: the recipes and the CLI stay thin over them).

``as_kaldi_dir(folder, work)`` returns a Kaldi data directory for ``folder``:

- a Kaldi data dir (``wav.scp`` and ``text``): itself;
- the Speech Commands layout, ``<word>/*.wav`` (folders starting with ``_``, such as
  ``_background_noise_``, are skipped; the speaker is the file name before ``_nohash_``);
- the Free Spoken Digit layout, ``<digit>_<speaker>_<n>.wav`` (in the folder or in its
  ``recordings/``), the digit said as a word.

:func:`audio_files` lists any folder of audio files (no transcripts; the speaker is the
parent folder), as ``synthaudio profile`` reads one.

The last two are written (:func:`synthaudio.io.kaldi.write_kaldi_dir`) as ``wav.scp``
(absolute paths), ``text``, ``utt2spk`` and ``spk2utt`` under
``work/real-<layout>-<folder name>``, sorted in byte order as Kaldi requires
(:func:`prepare_speech_commands`, :func:`prepare_fsdd`: one layout, into a folder you name).
Any sample rate (a reader resamples). Anything else is an
:class:`InputError` naming the folder.
"""

from __future__ import annotations

import re
from pathlib import Path

import soundfile as sf

from synthaudio.errors import InputError
from synthaudio.io.kaldi import write_kaldi_dir

# files with these suffixes are meant as audio: one libsndfile cannot read is an error
_AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".au"}
_SKIP_SUFFIXES = {".txt", ".json", ".jsonl", ".yaml", ".yml", ".md", ".csv", ".scp", ".gz",
                  ".tar", ".png", ".html", ".py", ".sh", ".log", ".ctm", ".pt", ".npy"}
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
    return _prepare(folder, layout, work / f"real-{layout}-{_safe(folder.name)}")


def prepare_speech_commands(folder: Path, out: Path) -> Path:
    """``folder`` in the Speech Commands layout (``<word>/*.wav``) as a Kaldi dir ``out``."""
    return _prepare(folder, "speech-commands", out)


def prepare_fsdd(folder: Path, out: Path) -> Path:
    """``folder`` in the Free Spoken Digit layout (``<digit>_<speaker>_<n>.wav``, in it or
    its ``recordings/``) as a Kaldi dir ``out``, the digits said as words."""
    return _prepare(folder, "fsdd", out)


def _prepare(folder: Path, layout: str, out: Path) -> Path:
    if not folder.is_dir():
        raise InputError(f"{folder}: not found (a folder is expected)")
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
    return write_kaldi_dir(out, entries)


def audio_files(folder: Path) -> list[tuple[str, str | None, Path]]:
    """(utterance id, speaker, absolute path) of every audio file below ``folder`` that
    libsndfile reads (wav, flac, ogg, mp3...), in byte order of their paths: the id is the
    relative path without suffix (``/`` as ``_``), the speaker the parent folder's name.
    InputError for a file meant as audio that cannot be read, or none at all."""
    files = sorted((p for p in folder.rglob("*") if p.is_file()
                    and p.suffix.lower() not in _SKIP_SUFFIXES and not p.name.startswith(".")),
                   key=lambda p: str(p.relative_to(folder)).encode())
    items: list[tuple[str, str | None, Path]] = []
    for path in files:
        try:
            frames = sf.info(str(path)).frames
        except (sf.LibsndfileError, RuntimeError, OSError) as exc:
            if path.suffix.lower() in _AUDIO_SUFFIXES:
                reason = "empty file" if path.stat().st_size == 0 else \
                    str(exc).replace("\n", " ")
                raise InputError(f"{path}: cannot read audio: {reason} (remove it or move it "
                                 "out of the folder)") from None
            continue  # not audio
        if frames == 0:
            raise InputError(f"{path}: audio has no samples (remove it or move it out of the "
                             "folder)")
        rel = path.relative_to(folder)
        utt_id = str(rel.with_suffix("")).replace("/", "_")
        speaker = rel.parent.name if rel.parent != Path(".") else None
        items.append((utt_id, speaker, path.resolve()))
    if not items:
        raise InputError(f"{folder}: no audio files found (searched recursively for files "
                         "libsndfile reads: wav, flac, ogg, mp3...)")
    return items

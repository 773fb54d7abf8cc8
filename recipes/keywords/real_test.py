"""Real recordings for ``--real-test``: a Speech Commands folder, or a Kaldi data dir whose
vocabulary words are cut out of the sentences by forced alignment.

Speech Commands (``<word>/*.wav``, any sample rate): a word of the model's vocabulary keeps
its label, any other word folder and ``_unknown_/`` are ``_unknown_``, ``_silence_/`` is
``_silence_``; ``_background_noise_/`` is not scored. A Kaldi dir (wav.scp with plain
paths, text): every word is aligned (pocketsphinx, ``synthaudio.tts.align``) and a clip of
``clip_s`` centred on it is written as a Speech Commands folder under the work folder: the
vocabulary words are scored as their labels, the other words as ``_unknown_`` (so a real
recording measures false accepts too). Words cut from running speech carry their
neighbours' coarticulation and edges: harder than Speech Commands' isolated words.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synthaudio.errors import InputError
from synthaudio.io.fileio import write_audio_atomic
from synthaudio.train.features import load_mono

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "digits"))
from real_sets import as_kaldi_dir, detect_layout  # noqa: E402  (the digits recipe's reader)

from synthaudio.train.data import kaldi_dir_utterances  # noqa: E402

RATE = 16000


@dataclass(frozen=True)
class RealClip:
    id: str
    path: Path
    label: str  # the model's label: a target, _unknown_ or _silence_
    word: str  # what the recording says (its folder name)


def cut_words(kaldi_dir: Path, words: Sequence[str] | None, clip_s: float, out: Path) -> Path:
    """Write each aligned occurrence of ``words`` (None: of every word) in ``kaldi_dir`` as
    ``out/<word>/<speaker>_nohash_<n>.wav`` (16 kHz, ``clip_s`` centred on the word);
    return ``out``. InputError when none occurs."""
    from synthaudio.tts.align import align_words

    n = round(clip_s * RATE)
    count = 0
    for utt in kaldi_dir_utterances(kaldi_dir):
        said = utt.text.split()
        wanted = set(said) if words is None else set(words)
        if not wanted & set(said):
            continue
        audio = load_mono(utt.audio_path, RATE)
        try:
            timings = align_words(audio, RATE, said)
        except ValueError:
            continue
        seen: dict[str, int] = {}
        for w in timings:
            if w.word not in wanted:
                continue
            centre = round((w.start_s + w.dur_s / 2) * RATE)
            start = min(max(0, centre - n // 2), max(0, len(audio) - n))
            clip = np.zeros(n, np.float32)
            piece = audio[start:start + n]
            clip[:len(piece)] = piece
            k = seen.get(w.word, 0)
            seen[w.word] = k + 1
            speaker = utt.id.replace("-", "")
            write_audio_atomic(out / w.word / f"{speaker}_nohash_{k}.wav", clip, RATE)
            count += 1
    if count == 0:
        raise InputError(f"{kaldi_dir}: none of the vocabulary words occurs (aligned)")
    return out


def real_clips(folder: Path, labels: Sequence[str], work: Path, clip_s: float) -> list[RealClip]:
    """The scored recordings of ``folder`` (see the module docstring)."""
    targets = {label.replace("_", " "): label for label in labels if not label.startswith("_")}
    if detect_layout(folder) == "kaldi":
        folder = cut_words(folder, None, clip_s, work / f"real-cut-{folder.name}")
    kaldi = as_kaldi_dir(folder, work)  # word folders (those starting with "_" skipped)
    clips = [RealClip(u.id, u.audio_path, targets.get(u.text, "_unknown_"), u.text)
             for u in kaldi_dir_utterances(kaldi)]
    for name, label in (("_unknown_", "_unknown_"), ("_silence_", "_silence_")):
        for p in sorted((folder / name).glob("*.wav")):
            clips.append(RealClip(f"{name}-{p.stem}", p.resolve(), label, name))
    return clips

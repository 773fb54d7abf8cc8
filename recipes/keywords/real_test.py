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

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from synthaudio.io.importers.folders import as_kaldi_dir, detect_layout
from synthaudio.io.importers.words import cut_word_clips
from synthaudio.train.data import kaldi_dir_utterances

RATE = 16000


@dataclass(frozen=True)
class RealClip:
    id: str
    path: Path
    label: str  # the model's label: a target, _unknown_ or _silence_
    word: str  # what the recording says (its folder name)


def real_clips(folder: Path, labels: Sequence[str], work: Path, clip_s: float) -> list[RealClip]:
    """The scored recordings of ``folder`` (see the module docstring)."""
    targets = {label.replace("_", " "): label for label in labels if not label.startswith("_")}
    if detect_layout(folder) == "kaldi":
        folder = cut_word_clips(folder, None, clip_s, work / f"real-cut-{folder.name}", RATE)
    kaldi = as_kaldi_dir(folder, work)  # word folders (those starting with "_" skipped)
    clips = [RealClip(u.id, u.audio_path, targets.get(u.text, "_unknown_"), u.text)
             for u in kaldi_dir_utterances(kaldi)]
    for name, label in (("_unknown_", "_unknown_"), ("_silence_", "_silence_")):
        for p in sorted((folder / name).glob("*.wav")):
            clips.append(RealClip(f"{name}-{p.stem}", p.resolve(), label, name))
    return clips

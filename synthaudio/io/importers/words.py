"""Words cut out of the utterances of a Kaldi data directory by forced alignment.

Each utterance's transcript (through the evaluation normalizer) is aligned on its audio
(:func:`synthaudio.tts.align.align_words`, pocketsphinx's bundled en-us model); utterances
whose transcript cannot be aligned are skipped. One reader
(:func:`synthaudio.io.kaldi.list_kaldi_dir`: plain paths, segments) and one walk serve two
writers:

- :func:`cut_words`: each wanted word with ``margin_s`` of context on each side (never past
  the neighbouring words' midpoints), at the recording's own rate, as a Kaldi data dir of
  clips ``<utt>-w<k>`` (the k-th word of ``<utt>``);
- :func:`cut_word_clips`: each wanted word centred in a clip of ``clip_s`` at ``rate``, as
  a Speech Commands folder ``<word>/<speaker>_nohash_<n>.wav``.

Words cut from running speech carry their neighbours' coarticulation and edges: harder
than isolated words.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from synthaudio.errors import InputError, SynthaudioError
from synthaudio.evaluate.normalizer import EvalNormalizer
from synthaudio.io.fileio import write_audio_atomic
from synthaudio.io.kaldi import ListedUtterance, list_kaldi_dir, write_kaldi_dir
from synthaudio.tts.base import WordTiming

MARGIN_S = 0.08  # context kept before and after a word, at most (cut_words)


def _read(utt: ListedUtterance, rate: int | None) -> tuple[np.ndarray, int]:
    """The utterance's first channel, float32, at ``rate`` (None: the file's own)."""
    try:
        file_rate = sf.info(str(utt.wav_path)).samplerate
        start = int(round(utt.start_s * file_rate))
        stop = None if utt.end_s is None else int(round(utt.end_s * file_rate))
        data, file_rate = sf.read(str(utt.wav_path), dtype="float32", always_2d=True,
                                  start=start, stop=stop)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise InputError(f"{utt.where}: cannot read audio {utt.wav_path} ({exc})") from None
    audio = np.ascontiguousarray(data[:, 0])
    if rate is not None and rate != file_rate:
        return soxr.resample(audio, file_rate, rate, quality="HQ").astype(np.float32), rate
    return audio, int(file_rate)


def aligned_words(kaldi_dir: Path, wanted: Callable[[list[str]], Collection[str]],
                  rate: int | None = None,
                  ) -> Iterator[tuple[ListedUtterance, np.ndarray, int, list[WordTiming],
                                      Collection[str]]]:
    """(utterance, its audio, rate, the aligned words, the words wanted of them) for each
    utterance that says a word ``wanted(words said)`` names."""
    from synthaudio.tts.align import align_words  # pocketsphinx, loaded when used

    normalize = EvalNormalizer()
    for utt in list_kaldi_dir(kaldi_dir):
        said = normalize(utt.text).split()
        want = wanted(said)
        if not set(want) & set(said):
            continue
        audio, got_rate = _read(utt, rate)
        try:
            timings = list(align_words(audio, got_rate, said))
        except ValueError:
            print(f"{utt.id}: transcript not aligned, skipped", file=sys.stderr)
            continue
        yield utt, audio, got_rate, timings, want


def cut_words(kaldi_dir: Path, words: Collection[str], out: Path,
              margin_s: float = MARGIN_S) -> tuple[Path, int]:
    """(OUT, number of clips): a Kaldi dir of ``words`` cut out of ``kaldi_dir`` with
    ``margin_s`` of context, at each recording's rate. SynthaudioError when none is."""
    entries = []
    for utt, audio, rate, timings, _ in aligned_words(kaldi_dir, lambda _said: words):
        for k, t in enumerate(timings):
            if t.word not in words:
                continue
            end = t.start_s + t.dur_s
            lo, hi = t.start_s - margin_s, end + margin_s
            if k > 0:
                prev = timings[k - 1]
                lo = max(lo, (prev.start_s + prev.dur_s + t.start_s) / 2)
            if k + 1 < len(timings):
                hi = min(hi, (end + timings[k + 1].start_s) / 2)
            clip = audio[max(0, int(lo * rate)):int(hi * rate)]
            uid = f"{utt.id}-w{k:02d}"
            path = (out / "wav" / f"{uid}.wav").resolve()
            write_audio_atomic(path, clip, rate)
            entries.append((uid, utt.speaker or utt.id, t.word, path))
    if not entries:
        raise SynthaudioError(f"{kaldi_dir}: none of the words could be cut out")
    return write_kaldi_dir(out, entries), len(entries)


def cut_word_clips(kaldi_dir: Path, words: Collection[str] | None, clip_s: float, out: Path,
                   rate: int = 16000) -> Path:
    """Write each aligned occurrence of ``words`` (None: of every word) in ``kaldi_dir`` as
    ``out/<word>/<speaker>_nohash_<n>.wav`` (``rate``, ``clip_s`` centred on the word);
    return ``out``. InputError when none occurs."""
    n = round(clip_s * rate)
    count = 0
    for utt, audio, _, timings, wanted in aligned_words(
            kaldi_dir, lambda said: set(said) if words is None else set(words), rate):
        seen: dict[str, int] = {}
        for w in timings:
            if w.word not in wanted:
                continue
            centre = round((w.start_s + w.dur_s / 2) * rate)
            start = min(max(0, centre - n // 2), max(0, len(audio) - n))
            clip = np.zeros(n, np.float32)
            piece = audio[start:start + n]
            clip[:len(piece)] = piece
            k = seen.get(w.word, 0)
            seen[w.word] = k + 1
            speaker = utt.id.replace("-", "")
            write_audio_atomic(out / w.word / f"{speaker}_nohash_{k}.wav", clip, rate)
            count += 1
    if count == 0:
        raise InputError(f"{kaldi_dir}: none of the vocabulary words occurs (aligned)")
    return out

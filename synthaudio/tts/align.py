"""Word timings by forced alignment, for engines that give none.

pocketsphinx 5's alignment mode with its bundled en-us acoustic model and pronouncing
dictionary aligns the known transcript to the audio (100 frames a second). Words missing
from the dictionary get a pronunciation from dictionary pieces (``birchwood``: ``birch`` +
``wood``) or, failing that, from letter rules: rough, but with about the right number of
phones, which is what a word's boundaries depend on. Audio is float32 mono ``(n_samples,)``
at any rate; timings are in seconds from its start.

The decoder is loaded once per process and reset (front end, search) for each utterance, so
an alignment depends on its audio and words alone. When no alignment is found (the audio
does not match the text), :func:`estimate_words` spreads the words over the voiced span in
proportion to their length, and :func:`align_or_estimate` says which of the two it did.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import soxr

from synthaudio.tts.base import WordTiming
from synthaudio.tts.wordspans import loud_frames

ALIGN_SAMPLE_RATE = 16000  # Hz; the bundled en-us model's rate
FRAME_S = 0.01  # pocketsphinx's frame shift
# Silence added before and after the audio so that the first and last words have room for
# the model's silence states; tried again without it when alignment fails.
_PADS_S = (0.25, 0.0)
# Beams far wider than the recognizer's defaults (1e-48): alignment of a known text is cheap,
# and synthetic speech is often far from the model's training speech.
_BEAM = 1e-200
_WORD_BEAM = 1e-180
_FILLERS = {"<s>", "</s>", "<sil>", "(NULL)"}
_ALT = re.compile(r"\(\d+\)$")  # "to(3)": the third pronunciation of "to"

# Letter rules for words found in no dictionary piece: digraphs first, then single letters.
_DIGRAPHS = {
    "sh": "SH", "ch": "CH", "th": "TH", "ph": "F", "ng": "NG", "ck": "K", "qu": "K W",
    "wh": "W", "ee": "IY", "ea": "IY", "oo": "UW", "ou": "AW", "ow": "OW", "ai": "EY",
    "ay": "EY", "oi": "OY", "oy": "OY", "au": "AO", "aw": "AO", "er": "ER", "ir": "ER",
    "ur": "ER", "ar": "AA R", "or": "AO R", "gh": "", "kn": "N", "wr": "R",
}
_LETTERS = {
    "a": "AE", "b": "B", "c": "K", "d": "D", "e": "EH", "f": "F", "g": "G", "h": "HH",
    "i": "IH", "j": "JH", "k": "K", "l": "L", "m": "M", "n": "N", "o": "AA", "p": "P",
    "q": "K", "r": "R", "s": "S", "t": "T", "u": "AH", "v": "V", "w": "W", "x": "K S",
    "y": "Y", "z": "Z",
}


def letter_phones(word: str) -> str:
    """A rough ARPABET pronunciation from spelling alone (never empty for a word with a
    letter; "AH" for one without)."""
    w = "".join(c for c in word.lower() if c.isalpha())
    phones: list[str] = []
    i = 0
    while i < len(w):
        pair = w[i:i + 2]
        if pair in _DIGRAPHS:
            phones.extend(_DIGRAPHS[pair].split())
            i += 2
            continue
        if w[i] == "e" and i == len(w) - 1 and i > 1:  # silent final e
            i += 1
            continue
        phones.extend(_LETTERS.get(w[i], "").split())
        i += 1
    deduped = [p for k, p in enumerate(phones) if k == 0 or p != phones[k - 1]]
    return " ".join(deduped) or "AH"


class Aligner:
    """pocketsphinx alignment of a known word sequence; one instance per process."""

    def __init__(self) -> None:
        self._decoder: Any = None
        self._added: set[str] = set()  # words this process added to the dictionary
        self._lock = threading.Lock()

    def _get_decoder(self) -> Any:
        if self._decoder is None:
            from pocketsphinx import Decoder

            # bestpath off: its fake one-frame </s> drops the last word of an alignment
            self._decoder = Decoder(samprate=ALIGN_SAMPLE_RATE, lm=None, loglevel="FATAL",
                                    bestpath=False, beam=_BEAM, pbeam=_BEAM, wbeam=_WORD_BEAM)
        return self._decoder

    def pronunciation(self, word: str) -> str | None:
        """The dictionary's pronunciation of ``word``, or None when it has none."""
        phones = self._get_decoder().lookup_word(word)
        return str(phones) if phones else None

    def _ensure_words(self, words: Sequence[str]) -> list[str]:
        """The words as the dictionary spells them, adding those it lacks."""
        decoder = self._get_decoder()
        out = []
        for raw in words:
            word = raw.lower()
            if not self.pronunciation(word):
                decoder.add_word(word, self._guess(word), True)
                self._added.add(word)
            out.append(word)
        return out

    def _guess(self, word: str) -> str:
        """Phones of an out-of-dictionary word: the fewest dictionary pieces that spell it
        (each of two letters or more), else letter rules. Words added by earlier guesses
        are never pieces, so a guess does not depend on what was aligned before."""
        def known(piece: str) -> str | None:
            return None if piece in self._added else self.pronunciation(piece)

        core = re.sub(r"[^a-z']", "", word)
        if core and core != word and known(core):
            return str(known(core))
        n = len(core)
        best: dict[int, list[str]] = {0: []}
        for end in range(2, n + 1):
            for start in range(0, end - 1):
                if start not in best:
                    continue
                piece = known(core[start:end])
                if piece and (end not in best or len(best[start]) + 1 < len(best[end])):
                    best[end] = [*best[start], piece]
        pieces = best.get(n)
        return " ".join(pieces) if pieces else letter_phones(word)

    def align(self, audio: np.ndarray, sample_rate: int,
              words: Sequence[str]) -> tuple[WordTiming, ...] | None:
        """Each word's start and duration in ``audio``, or None when no alignment is found."""
        if not words:
            return ()
        x = np.asarray(audio, dtype=np.float32)
        if sample_rate != ALIGN_SAMPLE_RATE and x.size:
            x = soxr.resample(x, sample_rate, ALIGN_SAMPLE_RATE, quality="HQ")
        duration_s = len(audio) / sample_rate
        with self._lock:
            spelled = self._ensure_words(words)
            text = " ".join(spelled)
            for pad_s in _PADS_S:
                segs = self._run(x, text, pad_s)
                if segs is not None and len(segs) == len(words):
                    spans = [(min(max(s - pad_s, 0.0), duration_s),
                              min(max(e - pad_s, 0.0), duration_s)) for s, e in segs]
                    return tuple(WordTiming(w, s, e - s) for w, (s, e) in
                                 zip(words, _to_loud_frames(audio, sample_rate, spans),
                                     strict=True))
        return None

    def _run(self, x: np.ndarray, text: str, pad_s: float) -> list[tuple[float, float]] | None:
        decoder = self._get_decoder()
        pad = np.zeros(int(round(pad_s * ALIGN_SAMPLE_RATE)), np.float32)
        pcm = (np.clip(np.concatenate([pad, x, pad]), -1.0, 1.0) * 32767.0).round()
        decoder.reinit_feat()
        try:
            decoder.set_align_text(text)
            decoder.start_utt()
            decoder.process_raw(pcm.astype("<i2").tobytes(), full_utt=True)
            decoder.end_utt()
        except RuntimeError:
            return None
        if decoder.hyp() is None:
            return None
        return [(seg.start_frame * FRAME_S, (seg.end_frame + 1) * FRAME_S)
                for seg in decoder.seg() or ()
                if _ALT.sub("", seg.word) not in _FILLERS and not seg.word.startswith("[")]


def _to_loud_frames(audio: np.ndarray, sample_rate: int,
                    spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Aligned spans with each word's end moved to its last loud frame before the next word
    starts: the model's 10 ms frames and silence states clip weak releases (a final "t")
    that the audio still holds. The same convention as espeak-ng's own timings."""
    frame, loud = loud_frames(audio, sample_rate)
    duration_s = len(audio) / sample_rate
    out = []
    for k, (start, end) in enumerate(spans):
        limit = spans[k + 1][0] if k + 1 < len(spans) else duration_s
        i0 = np.searchsorted(loud, int(np.ceil(end * sample_rate / frame)))
        i1 = np.searchsorted(loud, int(limit * sample_rate // frame))
        if i1 > i0:  # loud frames between the aligned end and the next word
            end = max(end, min(limit, (loud[i1 - 1] + 1) * frame / sample_rate))
        out.append((start, end))
    return out


@lru_cache(maxsize=1)
def _aligner() -> Aligner:
    return Aligner()


def align_words(audio: np.ndarray, sample_rate: int,
                words: Sequence[str]) -> tuple[WordTiming, ...]:
    """Word timings of ``words`` spoken in ``audio`` (float32 ``(n,)``, any rate), by forced
    alignment; ValueError when the words cannot be aligned to the audio."""
    out = _aligner().align(audio, sample_rate, words)
    if out is None:
        raise ValueError(f"no alignment of {len(words)} words to {len(audio)} samples")
    return out


def estimate_words(audio: np.ndarray, sample_rate: int,
                   words: Sequence[str]) -> tuple[WordTiming, ...]:
    """Words spread over the voiced span (frames within 35 dB of the loudest), each in
    proportion to its number of letters: the fallback when alignment fails."""
    if not words:
        return ()
    frame = max(1, sample_rate // 200)
    n_frames = max(1, len(audio) // frame)
    energy = np.square(np.asarray(audio[:n_frames * frame], np.float64)).reshape(n_frames, -1)
    level = energy.mean(1)
    loud = np.flatnonzero(level > level.max() * 10 ** -3.5) if level.max() > 0 else np.array([])
    start = loud[0] * frame if loud.size else 0
    end = (loud[-1] + 1) * frame if loud.size else len(audio)
    weights = np.array([max(len(w), 1) for w in words], float)
    bounds = start + (end - start) * np.concatenate([[0.0], np.cumsum(weights) / weights.sum()])
    return tuple(WordTiming(w, float(bounds[k]) / sample_rate,
                            float(bounds[k + 1] - bounds[k]) / sample_rate)
                 for k, w in enumerate(words))


def align_or_estimate(audio: np.ndarray, sample_rate: int,
                      words: Sequence[str]) -> tuple[tuple[WordTiming, ...], str]:
    """(timings, how): ``"aligned"`` by forced alignment, else ``"estimated"``."""
    out = _aligner().align(audio, sample_rate, words)
    if out is not None:
        return out, "aligned"
    return estimate_words(audio, sample_rate, words), "estimated"


def asr_word_timings(audio: np.ndarray, sample_rate: int, words: Sequence[str],
                     backend: Any = None, min_matched: float = 0.5,
                     ) -> tuple[WordTiming, ...] | None:
    """Word timings of ``words`` from an ASR's word timestamps (faster-whisper by default,
    the bundled tiny.en): the recognized words are matched to ``words`` (both normalized
    with numbers as words, so "7" times "seven"), matched words take the recognizer's
    start and end, the words between two matches share the gap in proportion to their
    letters. None when fewer than ``min_matched`` of ``words`` are matched.

    Args:
        audio: float32 ``(n,)`` at ``sample_rate`` Hz.
        words: the transcript's words, in order.
        backend: anything with ``transcribe_words(audio, rate) -> (text, words)`` whose words
            have ``word``, ``start_s``, ``end_s`` (``evaluate.asr.FasterWhisperBackend``).
    """
    from difflib import SequenceMatcher

    from synthaudio.evaluate.normalizer import EnglishEvalNormalizer

    if not words:
        return ()
    if backend is None:
        backend = _default_whisper()
    normalize = _english(EnglishEvalNormalizer)
    _, recognized = backend.transcribe_words(audio, sample_rate)
    # each recognized word as its normalized words, its time split between them
    hyp: list[tuple[str, float, float]] = []
    for w in recognized:
        parts = normalize(w.word).split()
        step = (w.end_s - w.start_s) / max(len(parts), 1)
        hyp += [(p, w.start_s + k * step, w.start_s + (k + 1) * step) for k, p in enumerate(parts)]
    # the reference: each word's normalized parts; a word matches on its first part
    ref = [" ".join(normalize(w).split()) or w.lower() for w in words]
    ref_tokens = [r.split()[0] if r else "" for r in ref]
    times: list[tuple[float, float] | None] = [None] * len(words)
    matcher = SequenceMatcher(a=ref_tokens, b=[h[0] for h in hyp], autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            i, j = block.a + k, block.b + k
            n_parts = len(ref[i].split())
            end = hyp[min(j + n_parts - 1, len(hyp) - 1)][2]
            times[i] = (hyp[j][1], end)
    matched = sum(t is not None for t in times)
    if matched < min_matched * len(words):
        return None
    duration_s = len(audio) / sample_rate
    out: list[WordTiming] = []
    i = 0
    while i < len(words):
        t = times[i]
        if t is not None:
            out.append(WordTiming(words[i], t[0], max(0.0, t[1] - t[0])))
            i += 1
            continue
        j = i
        while j < len(words) and times[j] is None:
            j += 1
        lo = out[-1].start_s + out[-1].dur_s if out else 0.0
        nxt = times[j] if j < len(words) else None
        hi = nxt[0] if nxt is not None else duration_s
        weights = np.array([max(len(w), 1) for w in words[i:j]], float)
        bounds = lo + max(hi - lo, 0.0) * np.concatenate([[0.0], np.cumsum(weights) /
                                                          weights.sum()])
        out += [WordTiming(words[i + k], float(bounds[k]), float(bounds[k + 1] - bounds[k]))
                for k in range(j - i)]
        i = j
    return tuple(out)


@lru_cache(maxsize=1)
def _default_whisper() -> Any:
    from synthaudio.evaluate.asr import FasterWhisperBackend

    return FasterWhisperBackend().check()


@lru_cache(maxsize=1)
def _english(cls: Any) -> Any:
    return cls(digits=False)  # one normalized word per spoken word


def boundary_errors(reference: Sequence[WordTiming],
                    estimate: Sequence[WordTiming]) -> list[float]:
    """|start - start'| and |end - end'| in seconds of each word pair (same words, in order):
    the boundary error of ``estimate`` against ``reference``."""
    if len(reference) != len(estimate):
        raise ValueError(f"{len(reference)} reference words, {len(estimate)} estimated")
    out = []
    for r, e in zip(reference, estimate, strict=True):
        out += [abs(r.start_s - e.start_s), abs((r.start_s + r.dur_s) - (e.start_s + e.dur_s))]
    return out

"""The keywords recipe's stream side: training windows cut from long streams, keyword
positives embedded in context, stream scoring with smoothing, per-keyword thresholds, and
false accepts on real speech whose words are known.

A window ``k`` of a stream covers ``[k * hop_s, k * hop_s + window_s)`` (plus the
embedding's context on both sides). In training, a window holding a whole inserted
positive of a model label (within ``EDGE_S``) is that label; a window cutting through one
is left out (neither label is right); every other window is ``_unknown_``: sentences,
other words, pauses, babble and music or noise under them, as openWakeWord trains on hours
of negative audio.
"""

from __future__ import annotations

import hashlib
import pickle
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synthaudio.errors import InputError, SynthaudioError
from synthaudio.evaluate.kws import StreamPeaks, judge_stream, peaks
from synthaudio.io.fileio import audio_files_under
from synthaudio.io.metadata import iter_metadata
from synthaudio.train.detect import (
    DetectorSettings,
    cascade_detections,
    find_detections,
    pooled_threshold,
    smooth_scores,
)
from synthaudio.train.embedding import EmbeddingConfig, shared_embedding
from synthaudio.train.features import load_mono
from synthaudio.train.frontends import FrameConfig, stream_windows

UNKNOWN = "_unknown_"
EDGE_S = 0.1  # an event may stick out of a positive window this much on either side
RATE = 16000
NEGATIVE_GAP_S = 0.3  # silence between two recordings of --negative-audio


def run_script(main: Callable[[], int], name: str) -> int:
    """``main()`` of one of the recipe's scripts, bad input (a model or corpus that is not
    there or not one) one line on stderr and exit status 2, as the CLI does."""
    try:
        return main()
    except SynthaudioError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2


def files_digest(paths: Sequence[Path]) -> str:
    """A digest of the files' bytes, in order: what a cache key holds so that a corpus made
    again (the same paths, other audio) does not reuse the features of the one before."""
    h = hashlib.sha256()
    for p in paths:
        h.update(Path(p).read_bytes())
    return h.hexdigest()[:16]


def cached(path: Path, key: Any, compute: Callable[[], Any]) -> Any:
    """``compute()``, kept in ``path`` for the same ``key`` (features are the slow part of
    a head experiment); keys hold a ``files_digest`` of the audio the value comes from."""
    digest = hashlib.sha256(repr(key).encode()).hexdigest()[:16]
    file = path.with_name(f"{path.name}-{digest}.pkl")
    if file.is_file():
        with file.open("rb") as fh:
            return pickle.load(fh)
    value = compute()
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(file)
    return value


def stream_records(corpus: Path, split: str | None = None) -> list[Any]:
    """The stream records of ``corpus``'s metadata, in order (of ``split`` only, where
    given)."""
    return [r for r in iter_metadata(corpus) if r.extra.get("kind") == "stream"
            and (split is None or r.split == split)]


def model_label(label: str, labels: Sequence[str]) -> str:
    """A corpus label as the model's: a word outside the model's targets is ``_unknown_``
    (labels starting with "_" stay)."""
    return label if label in labels or label.startswith("_") else UNKNOWN


def window_labels(n: int, hop_s: float, window_s: float, events: Sequence[Sequence[Any]],
                  labels: Sequence[str]) -> list[str | None]:
    """The training label of each of ``n`` windows (None: left out), see the module doc."""
    out: list[str | None] = [UNKNOWN] * n
    for ev in events:
        label, a, b = str(ev[0]), float(ev[1]), float(ev[2])
        if label not in labels:
            continue  # another word: its windows stay negatives
        for k in range(max(0, int((a - window_s) / hop_s) - 1), min(n, int(b / hop_s) + 2)):
            t0, t1 = k * hop_s, k * hop_s + window_s
            if a >= t0 - EDGE_S and b <= t1 + EDGE_S:
                out[k] = label
            elif a < t1 and b > t0 and out[k] == UNKNOWN:
                out[k] = None
    return out


def pack_windows(windows: Sequence[np.ndarray]) -> tuple[Any, int]:
    """Windows of ``n`` frames, each one frame on from the one before within a run, as the
    frames of each run (``(frames, n)``: one array where they are one run, as the speech
    embedding's are; a list of arrays where a window starts a new run, as Whisper's do
    at each of its encodes): what the caches keep instead of every window's frames."""
    n = windows[0].shape[0]
    runs = [[windows[0]]]
    for prev, w in zip(windows, windows[1:], strict=False):
        if np.array_equal(w[:-1], prev[1:]):
            runs[-1].append(w[-1:])
        else:
            runs.append([w])
    frames = [np.concatenate(r) for r in runs]
    return (frames[0] if len(frames) == 1 else frames), n


def unpack_windows(packed: tuple[Any, int]) -> list[np.ndarray]:
    """The windows :func:`pack_windows` packed (views of its frames)."""
    frames, n = packed
    runs = [frames] if isinstance(frames, np.ndarray) else frames
    return [f[k:k + n] for f in runs for k in range(len(f) - n + 1)]


def stream_features(path: Path, cfg: FrameConfig, window_s: float,
                    cache: Path | None = None) -> list[np.ndarray]:
    """The windows of a stream (``synthaudio.train.frontends.stream_windows``); with
    ``cache``, its frames are kept there (:func:`pack_windows`; the windows are views of
    them)."""
    if cache is None:
        return stream_windows(cfg, load_mono(path, cfg.sample_rate), window_s)
    return unpack_windows(cached(cache / path.stem, (files_digest([path]), cfg, window_s),
                                 lambda: pack_windows(stream_features(path, cfg, window_s))))


def training_windows(streams: Sequence[tuple[Path, Sequence[Sequence[Any]]]],
                     cfg: FrameConfig, window_s: float, hop_s: float,
                     labels: Sequence[str], negative_every: int
                     ) -> tuple[list[np.ndarray], list[str]]:
    """Windows of training streams with their labels: every positive window, every
    ``negative_every``-th negative one."""
    feats, ys = [], []
    for path, events in streams:
        windows = stream_features(path, cfg, window_s)
        for k, label in enumerate(window_labels(len(windows), hop_s, window_s, events, labels)):
            if label is None or (label == UNKNOWN and k % negative_every):
                continue
            feats.append(windows[k])
            ys.append(label)
    return feats, ys


def context_features(clips: Sequence[Path], others: Sequence[Path], cfg: EmbeddingConfig,
                     seed: int) -> list[np.ndarray]:
    """Each clip embedded between the end of one drawn clip of ``others`` and the start of
    another (``cfg.pad_s`` of each) instead of silence: a keyword as it comes in running
    audio."""
    rng = np.random.default_rng([seed, 23])
    emb = shared_embedding(cfg)
    pad = round(cfg.pad_s * RATE)
    out = []
    for path in clips:
        before, after = (load_mono(others[int(k)], RATE)
                         for k in rng.integers(len(others), size=2))
        audio = np.concatenate([np.pad(before[-pad:], (max(0, pad - len(before)), 0)),
                                load_mono(path, RATE),
                                np.pad(after[:pad], (0, max(0, pad - len(after))))])
        out.append(emb.frames(audio.astype(np.float32)))
    return out


def score_streams(score: Callable[[list[np.ndarray]], np.ndarray],
                  streams: Sequence[tuple[list[np.ndarray], Sequence[Sequence[Any]], float]],
                  labels: Sequence[str], hop_s: float, window_s: float,
                  settings: DetectorSettings) -> list[StreamPeaks]:
    """Each stream's smoothed peaks judged against its events of the model's labels
    (``streams``: windows, events, duration). A peak over another word is false."""
    out = []
    for windows, events, duration_s in streams:
        smoothed = smooth_scores(score(windows), settings.smooth_frames)
        mine = [ev for ev in events if ev[0] in labels]
        out.append(judge_stream(smoothed, labels, hop_s, window_s, mine, duration_s,
                                settings.refractory_s))
    return out


def real_false_accepts(score: Callable[[list[np.ndarray]], np.ndarray],
                       recordings: Sequence[tuple[str, np.ndarray, str]], cfg: FrameConfig,
                       labels: Sequence[str], hop_s: float, window_s: float,
                       settings: DetectorSettings, verifier: Any = None,
                       second: Callable[[list[np.ndarray]], np.ndarray] | None = None
                       ) -> dict[str, Any]:
    """Detections on real recordings whose words are known (``(id, audio, text)``): a
    detection is false where its keyword is not said in that recording. ``verifier``: the
    cascade's second stage (``settings.verify_threshold`` set), fused with ``second``'s
    smoothed posteriors (the clip heads') where given, else with the head's."""
    from synthaudio.train.verifier import rows_at

    false, true, seconds = [], 0, 0.0
    for rec_id, audio, text in recordings:
        seconds += len(audio) / RATE
        windows = stream_windows(cfg, audio, window_s)
        smoothed = smooth_scores(score(windows), settings.smooth_frames)
        said = f" {text} "
        found = (cascade_detections(smoothed, labels, hop_s, window_s, settings, audio,
                                    verifier, rows_at(second, windows,
                                                      settings.smooth_frames))
                 if verifier is not None
                 else find_detections(smoothed, labels, hop_s, window_s, settings))
        for label, start_s, _, value in found:
            if f" {label.replace('_', ' ')} " in said:
                true += 1
            else:
                false.append([rec_id, label, start_s, round(value, 4)])
    hours = seconds / 3600
    return {"seconds": round(seconds, 1), "false_accepts": len(false),
            "false_accepts_per_hour": len(false) / hours if hours else None,
            "true_detections": true, "false": false}


def joined_streams(paths: Sequence[Path], stream_s: float, count: int, seed: int
                   ) -> list[np.ndarray]:
    """``count`` signals of about ``stream_s`` each, clips of ``paths`` (drawn without
    replacement, then again) joined end to end: long negative audio made of the corpus's
    own negative clips (other speech, hard negatives, babble, noise, silence, background
    music and noise), whose windows straddle two clips as a live detector's do."""
    rng = np.random.default_rng([seed, 2323])
    order = list(rng.permutation(len(paths)))
    out = []
    for _ in range(count):
        parts, total = [], 0
        while total < stream_s * RATE:
            if not order:
                order = list(rng.permutation(len(paths)))
            audio = load_mono(paths[int(order.pop())], RATE)
            parts.append(audio)
            total += len(audio)
        out.append(np.concatenate(parts).astype(np.float32))
    return out


def audio_files(folder: Path, option: str) -> list[Path]:
    """The .wav and .flac files under ``folder`` (recursively, in name order), each one's
    header read (:func:`synthaudio.io.fileio.audio_files_under`, as a noise folder is): a
    folder that is not there, holds none, or holds one that is not audio is an error naming
    ``option`` and the file."""
    if not folder.is_dir():
        raise SynthaudioError(f"{option} {folder}: not a folder")
    try:
        files = [path for path, _ in audio_files_under(folder)]
    except InputError as exc:
        raise SynthaudioError(f"{option} {exc}") from None
    if not files:
        raise SynthaudioError(f"{option} {folder}: no .wav or .flac files in it")
    return files


def negative_pieces(paths: Sequence[Path], piece_s: float, gap_s: float = NEGATIVE_GAP_S,
                    seed: int = 0) -> Iterator[np.ndarray]:
    """The recordings of ``paths`` in an order shuffled by ``seed``, ``gap_s`` of silence
    after each, as one signal cut into pieces of ``piece_s`` (the last one shorter): a
    user's long negative audio (or a folder of short clips) as a live detector hears it,
    one piece in memory at a time, every recording once."""
    gap = np.zeros(round(gap_s * RATE), np.float32)
    n = round(piece_s * RATE)
    held: list[np.ndarray] = []
    size = 0
    for k in np.random.default_rng([seed, 2324]).permutation(len(paths)):
        audio = load_mono(paths[int(k)], RATE)
        held += [audio, gap]
        size += len(audio) + len(gap)
        while size >= n:
            joined = np.concatenate(held)
            yield joined[:n]
            held, size = [joined[n:]], len(joined) - n
    if size:
        yield np.concatenate(held)


def negative_audio_windows(paths: Sequence[Path], cfg: FrameConfig, window_s: float,
                           piece_s: float) -> tuple[Any, ...]:
    """The windows of :func:`negative_pieces` of ``paths``, each piece's packed
    (:func:`pack_windows`), and the seconds of audio they came from."""
    packed, seconds = [], 0.0
    for piece in negative_pieces(paths, piece_s):
        seconds += len(piece) / RATE
        windows = stream_windows(cfg, piece, window_s)
        if windows:
            packed.append(pack_windows(windows))
    return tuple(packed), seconds


def hard_negatives(score: Callable[[list[np.ndarray]], np.ndarray],
                   windows: Sequence[np.ndarray], labels: Sequence[str], min_score: float,
                   limit: int) -> tuple[list[np.ndarray], list[float]]:
    """The negative ``windows`` (all ``_unknown_``) a trained model takes for a target:
    those whose highest target posterior is above ``min_score``, highest first, at most
    ``limit`` (hard-negative mining, as openWakeWord's training adds the false activations
    of a first model)."""
    if not windows:
        return [], []
    targets = [k for k, x in enumerate(labels) if not x.startswith("_")]
    top = score(list(windows))[:, targets].max(axis=1)
    order = [int(k) for k in np.argsort(-top, kind="stable") if top[k] > min_score][:limit]
    return [windows[k] for k in order], [float(top[k]) for k in order]


def candidate_windows(smoothed: np.ndarray, labels: Sequence[str], hop_s: float,
                      refractory_s: float, min_score: float) -> list[int]:
    """The windows of the peaks (non-maximum suppression over ``refractory_s``, as
    ``judge_stream``) above ``min_score`` of any target's smoothed track: where the
    cascade's first stage proposes a candidate."""
    found: set[int] = set()
    for j, label in enumerate(labels):
        if label.startswith("_"):
            continue
        found |= {round(t / hop_s) for t, s in peaks(smoothed[:, j], hop_s, refractory_s)
                  if s > min_score}
    return sorted(found)


def verified(smoothed: np.ndarray, words: Mapping[int, np.ndarray], candidate_t: float,
             weight: float, rows: Mapping[int, np.ndarray] | None = None
             ) -> Callable[[int, int, float], float]:
    """``judge_stream``'s ``rescore`` of a cascade: a peak at or below ``candidate_t`` is
    rejected (0), one above gets the fused posterior of its label (the word posteriors
    ``words[window]`` and the head's row there: ``rows[window]``, the clip heads', where
    given, else the smoothed head row)."""
    from synthaudio.train.verifier import best_fused

    def rescore(j: int, k: int, score: float) -> float:
        if score <= candidate_t:
            return 0.0
        return float(best_fused(smoothed[k] if rows is None else rows[k], words[k],
                                weight)[j])

    return rescore


@dataclass
class ScoredStream:
    """A stream's smoothed head posteriors, its events, and the word posteriors of every
    candidate window of the cascade's first stage (and the clip heads' smoothed
    posteriors there, where scored)."""

    smoothed: np.ndarray
    events: list[Any]  # of the model's labels
    duration_s: float
    words: dict[int, np.ndarray]  # window -> word posteriors (shifts, labels)
    clip_rows: dict[int, np.ndarray] | None = None  # window -> the clip heads' row


def score_cascade(score: Callable[[list[np.ndarray]], np.ndarray],
                  streams: Sequence[tuple[list[np.ndarray], Path, Sequence[Sequence[Any]], float]],
                  labels: Sequence[str], hop_s: float, window_s: float,
                  settings: DetectorSettings, verifier: Any, min_candidate: float,
                  second: Callable[[list[np.ndarray]], np.ndarray] | None = None
                  ) -> tuple[list[ScoredStream], float, int]:
    """Each stream (``windows, audio path, events, duration``) scored by the head, and its
    candidates above ``min_candidate`` by ``verifier`` (a ``synthaudio.train.verifier.Verifier``)
    and, where given, ``second`` (the clip heads: their smoothed rows); with the CPU
    seconds of stage 2 and the number of the verifier's word vectors."""
    from synthaudio.train.verifier import candidate_centre_s, smoothed_rows_at

    out, cpu_s, vectors = [], 0.0, 0
    for windows, path, events, duration_s in streams:
        smoothed = smooth_scores(score(windows), settings.smooth_frames)
        ks = candidate_windows(smoothed, labels, hop_s, settings.refractory_s, min_candidate)
        audio = load_mono(path, RATE)
        t0 = time.process_time()
        rows = verifier.shifted_word_scores(audio, [candidate_centre_s(k, hop_s, window_s,
                                                                       settings.smooth_frames)
                                                    for k in ks])
        clip_rows = None
        if second is not None:
            clip_rows = dict(zip(ks, smoothed_rows_at(second, windows, ks,
                                                      settings.smooth_frames), strict=True))
        cpu_s += time.process_time() - t0
        vectors += len(ks)
        out.append(ScoredStream(smoothed, [ev for ev in events if ev[0] in labels], duration_s,
                                dict(zip(ks, rows, strict=True)), clip_rows))
    return out, cpu_s, vectors


def judge_cascade(streams: Sequence[ScoredStream], labels: Sequence[str], hop_s: float,
                  window_s: float, refractory_s: float, candidate_t: float | None,
                  weight: float, clip: bool = True) -> list[StreamPeaks]:
    """The streams' peaks judged with the cascade's scores (``candidate_t`` None: the head
    alone); ``clip``: the word vectors fused with the clip heads' rows where the streams
    hold them, else with the detector head's."""
    return [judge_stream(s.smoothed, labels, hop_s, window_s, s.events, s.duration_s,
                         refractory_s, None if candidate_t is None else
                         verified(s.smoothed, s.words, candidate_t, weight,
                                  s.clip_rows if clip else None)) for s in streams]


def pooled_on_test(dev_judged: Sequence[StreamPeaks], judged: Sequence[StreamPeaks],
                   labels: Sequence[str], fa_per_hour: float) -> dict[str, float]:
    """The pooled threshold of the dev streams' false peaks for ``fa_per_hour``, and the
    test streams' false accepts an hour and miss rate at it."""
    t = pooled_threshold([v for st in dev_judged for v in st.false_scores],
                         sum(st.hours for st in dev_judged), fa_per_hour)
    missed = fas = 0
    for st in judged:
        m, f = st.misses_and_false_accepts({x: t for x in labels})
        missed, fas = missed + m, fas + f
    return {"threshold": t, "test_false_accepts_per_hour": fas / sum(st.hours for st in judged),
            "test_miss_rate": missed / sum(st.events for st in judged)}

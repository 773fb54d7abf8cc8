"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml


def variant_config(config: Path, target: Path, drop: tuple[str, ...] = (),
                   **overrides: Any) -> Path:
    """Write a copy of ``config`` to ``target`` with prompt paths made absolute, top-level
    keys in ``drop`` removed and ``overrides`` ("utterances.per_speaker"=N style) applied."""
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    for key in drop:
        data.pop(key, None)
    data["text"]["sources"] = [
        {**s, "file": str((config.parent / s["file"]).resolve())} if "file" in s else s
        for s in data["text"]["sources"]
    ]
    for dotted, value in overrides.items():
        node = data
        *parents, last = dotted.split("__")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    target.write_text(yaml.safe_dump(data), encoding="utf-8")
    return target


def raw_espeak(texts: Sequence[tuple[str, Any]],
               clock: Callable[[], float]) -> tuple[float, float]:
    """(``clock`` seconds, audio s) of one espeak-ng library instance synthesizing every
    (text, voice) to memory: no resampling, no files (the reference of ``bench_generate``
    and ``bench_speed``; ``clock`` is ``time.perf_counter`` or ``time.process_time``)."""
    import ctypes

    import espeakng_loader

    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    rate = lib.espeak_Initialize(2, 0, espeakng_loader.get_data_path().encode(), 0x8000)
    chunks: list[int] = []
    callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                                     ctypes.c_void_p)

    def on_audio(wav: object, n: int, events: object) -> int:
        if n > 0:
            chunks.append(n)
        return 0

    callback = callback_type(on_audio)
    lib.espeak_SetSynthCallback(callback)
    start = clock()
    for text, voice in texts:
        lib.espeak_SetVoiceByName(voice.spec.encode())
        for param, value in ((1, voice.rate_wpm), (2, voice.volume), (3, voice.pitch),
                             (4, voice.pitch_range), (7, voice.word_gap_ms // 10)):
            lib.espeak_SetParameter(param, int(value), 0)
        data = text.encode()
        lib.espeak_Synth(data, len(data) + 1, 0, 1, 0, 1, None, None)
        lib.espeak_Synchronize()
    spent = clock() - start
    lib.espeak_Terminate()
    return spent, sum(chunks) / rate


def cached(path: Path, make: Callable[[], Any]) -> Any:
    """``make()``'s value, pickled at ``path`` on first use and read from there after
    (the CPU seconds of the first use are printed)."""
    if path.is_file():
        return pickle.loads(path.read_bytes())
    t0 = time.process_time()
    value = make()
    print(f"{path.name}: {time.process_time() - t0:.0f} s CPU in this process", flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(value))
    return value


def real_accuracy(reals: dict[str, list[Any]], hyps: dict[str, list[str]]) -> dict[str, float]:
    """Share of clips whose hypothesis is the transcript, per real set (utterances with
    ``.id`` and ``.text``) and, for sets of over 500 clips, per speaker (the id's prefix)."""
    import numpy as np

    result: dict[str, float] = {}
    for k, us in reals.items():
        right = [u.text == h for u, h in zip(us, hyps[k], strict=True)]
        result[k] = float(np.mean(right))
        for spk in sorted({u.id.split("-")[0] for u in us}) if len(us) > 500 else []:
            result[f"{k}-{spk}"] = float(np.mean([r for u, r in zip(us, right, strict=True)
                                                  if u.id.split("-")[0] == spk]))
    return result

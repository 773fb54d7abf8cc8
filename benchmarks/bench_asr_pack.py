"""The ASR check packed (``quality.asr.pack``: a render group's renderings decoded with one
Whisper encoder pass a window) against one decode per rendering (``pack: false``, as
before): agreement of hypotheses and of pass/fail, and CPU seconds per audio hour.

The default digits corpus (``corpora/digits/corpus.yaml``, every engine, no augment):
``--groups`` of its render groups (16 consecutive utterances: one speaker's), evenly spaced
over the plan; each utterance's first clean rendering (attempt 0: the corpus's own prosody).
Each is checked by ``ASRCheck.run`` (alone) and by ``ASRCheck.run_group`` per render group
(packed; what ``generate`` runs), with ``max_attempts: 1`` so that both decide on the same
audio, for each ``--backend`` spec. A packed failure is decoded alone and that decides
(see ``ASRCheck.run_group``), so the figures to read are how many passed packed that fail
alone, and the CPU.

    python benchmarks/bench_asr_pack.py [--groups 20] [--backend faster-whisper ...]
        [--max-error 0.5]

CPU seconds are of this process (CTranslate2's threads included: one thread asked), per
hour of the decoded audio. Rendered audio is cached under $TMPDIR/bench_asr_pack. Prints one
JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from synthaudio.evaluate.asr import PACK_GAP_S, PACK_WINDOW_S, FasterWhisperBackend, make_backend
from synthaudio.pipelines.generate.config import load_corpus_config
from synthaudio.pipelines.generate.pipeline import GROUP_SIZE
from synthaudio.pipelines.generate.plan import plan_corpus
from synthaudio.pipelines.generate.quality import ASRCheck, ASRCheckConfig, CheckItem, Rendering
from synthaudio.pipelines.generate.render import Renderer

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(tempfile.gettempdir()) / "bench_asr_pack"
RATE = 16000


def rendered(num_groups: int) -> tuple[list, list[list[int]], list[np.ndarray]]:
    """(specs, render groups as positions, first clean rendering of each spec)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    config = ROOT / "corpora/digits/corpus.yaml"
    cfg = load_corpus_config(config)
    cfg = cfg.model_copy(update={"augment": None})
    plan = plan_corpus(cfg, config.parent)
    total = -(-len(plan.utterances) // GROUP_SIZE)
    chosen = sorted({int(g) for g in np.linspace(0, total - 1, num_groups).round()})
    specs: list = []
    groups: list[list[int]] = []
    for g in chosen:
        members = range(g * GROUP_SIZE, min((g + 1) * GROUP_SIZE, len(plan.utterances)))
        groups.append(list(range(len(specs), len(specs) + len(members))))
        specs.extend(plan.utterances[i] for i in members)
    cache = CACHE / f"digits-groups-{num_groups}.npz"
    if cache.is_file():
        z = np.load(cache)
        return specs, groups, [z[f"a{i}"] for i in range(len(specs))]
    renderer = Renderer(cfg, config_dir=config.parent)
    audios = []
    for spec in specs:
        item = renderer._check_item(spec)
        audios.append(item.render(spec.speaker, item.first_rng).audio)
    np.savez(cache, **{f"a{i}": a for i, a in enumerate(audios)})  # type: ignore[arg-type]
    return specs, groups, audios


def item(spec, audio: np.ndarray) -> CheckItem:
    rendering = Rendering(audio, RATE, None, spec.speaker.voice)
    return CheckItem(spec.text, spec.speaker, spec.split, [0, spec.index],
                     np.random.default_rng(0), lambda speaker, rng: rendering)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--groups", type=int, default=20)
    ap.add_argument("--backend", nargs="+", default=["faster-whisper"])
    ap.add_argument("--max-error", type=float, default=0.5)
    args = ap.parse_args()
    specs, groups, audios = rendered(args.groups)
    hours = sum(a.size for a in audios) / RATE / 3600
    out: dict = {"utterances": len(audios), "groups": len(groups), "audio_h": round(hours, 4),
                 "runs": {}}
    for spec in args.backend:
        check = ASRCheck(ASRCheckConfig(backend=spec, max_error=args.max_error, max_attempts=1,
                                        pack=True),
                         make_backend(spec))
        check.backend.transcribe(audios[0], RATE)  # load the model outside the timing
        c0 = time.process_time()
        alone = [check.run(*_args(item(s, a))) for s, a in zip(specs, audios, strict=True)]
        cpu_alone = time.process_time() - c0
        c0 = time.process_time()
        packed: list = [None] * len(specs)
        for members in groups:
            got = check.run_group([item(specs[k], audios[k]) for k in members])
            for k, g in zip(members, got, strict=True):
                packed[k] = g
        cpu = time.process_time() - c0
        per_engine: dict[str, Counter] = defaultdict(Counter)
        diffs = []
        for s, a, p in zip(specs, alone, packed, strict=True):
            va, vp = a[2], p[2]
            c = per_engine[s.speaker.engine]
            c["n"] += 1
            c["same_hypothesis"] += va.hypothesis == vp.hypothesis
            c["pass_alone"] += va.outcome == "passed"
            c["pass_packed"] += vp.outcome == "passed"
            c["passed_packed_failed_alone"] += vp.outcome == "passed" != va.outcome
            c["decided_alone"] += vp.packed == 1
            if va.hypothesis != vp.hypothesis:
                diffs.append([s.index, s.speaker.engine, s.text, va.hypothesis, va.error,
                              vp.hypothesis, vp.error])
        total: Counter = Counter()
        for c in per_engine.values():
            total.update(c)
        row = {"alone_cpu_s": round(cpu_alone, 2),
               "alone_cpu_s_per_audio_h": round(cpu_alone / hours, 1),
               "packed_cpu_s": round(cpu, 2), "packed_cpu_s_per_audio_h": round(cpu / hours, 1),
               "speedup": round(cpu_alone / cpu, 2), "total": dict(total),
               "per_engine": {e: dict(c) for e, c in sorted(per_engine.items())}}
        row["raw"] = sweep(check, specs, groups, audios, [va for _, _, va in alone],
                           args.max_error)
        print(spec, json.dumps(row), flush=True)
        out["runs"][spec] = {**row, "differences": diffs}
    (CACHE / f"result-groups-{args.groups}.json").write_text(json.dumps(out, indent=1))
    print(json.dumps(out))


def sweep(check: ASRCheck, specs: list, groups: list[list[int]], audios: list[np.ndarray],
          alone: list, max_error: float) -> dict:
    """The packed decoding before any decision is redone alone (``decode_packed`` over the
    windows ``transcribe_packed`` makes): pass/fail against one decode each, both ways, and
    what each ``pack_min_logprob`` cut would decode alone and leave different."""
    backend = check.backend
    assert isinstance(backend, FasterWhisperBackend)  # the packed decode is its
    gap, limit = int(PACK_GAP_S * RATE), int(PACK_WINDOW_S * RATE)
    packed: list = [None] * len(specs)
    c0 = time.process_time()
    for members in groups:
        windows: list[list[int]] = []
        size = 0
        for k in members:
            if windows and size + gap + audios[k].size <= limit:
                windows[-1].append(k)
                size += gap + audios[k].size
            else:
                windows.append([k])
                size = audios[k].size
        for w in windows:
            got = backend.decode_packed([audios[k] for k in w]) if len(w) > 1 else [None]
            for k, g in zip(w, got, strict=True):
                packed[k] = g
    cpu = time.process_time() - c0
    both: Counter = Counter()
    for s, a, p in zip(specs, alone, packed, strict=True):
        if p is None:
            both["alone (one clip, ran on or repeated)"] += 1
            continue
        hyp, error = check.score_text(p[0], s.text, "wer")
        both["same_hypothesis"] += hyp == a.hypothesis
        both[f"alone {'pass' if a.outcome == 'passed' else 'fail'}, packed "
             f"{'pass' if error <= max_error else 'fail'}"] += 1
    cuts = {}
    for cut in (-1.0, -0.8, -0.6, -0.5, -0.4, -0.3):
        redo = lenient = 0
        for s, a, p in zip(specs, alone, packed, strict=True):
            if p is None or p[1] < cut:
                redo += 1
                continue
            error = check.score_text(p[0], s.text, "wer")[1]
            if error > max_error:
                redo += 1  # confirmed alone: the decision is alone's
            elif a.outcome != "passed":
                lenient += 1
        cuts[str(cut)] = {"decoded_alone": redo, "passed_packed_failed_alone": lenient}
    return {"packed_decode_cpu_s": round(cpu, 2), "counts": dict(both), "cuts": cuts}


def _args(it: CheckItem) -> tuple:
    return it.text, it.own, it.split, it.key, it.first_rng, it.render


if __name__ == "__main__":
    main()

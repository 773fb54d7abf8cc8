#!/usr/bin/env python3
"""Spoken digits, end to end: generate a corpus, train a small CTC model on the CPU, score WER.

    python recipes/digits/run.py [--out out/digits] [--quick] [--ablation] [--real-test DIR]
                                 [--features embedding|log-mel]

Stages: derive the corpus config(s) from corpora/digits/corpus.yaml and generate them under
OUT/corpora/; compute features (a speech embedding trained on real speech,
synthaudio.train.embedding, or log-mel); train a CTC model (synthaudio.train); decode the
test split(s) greedily; write the hypotheses as Kaldi text and score them with synthaudio's
evaluation.
``--quick`` is a one-minute smoke run that exits 1 unless training lowered the loss.
See recipes/digits/README.md for timings and results.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from synthaudio.errors import SynthaudioError
from synthaudio.evaluate.evaluate import evaluate_corpus, evaluate_kaldi_dir
from synthaudio.evaluate.scoring import score
from synthaudio.io.importers.folders import as_kaldi_dir
from synthaudio.pipelines.generate.config import CorpusConfig, resized, with_sources_from
from synthaudio.pipelines.generate.pipeline import generate_corpus
from synthaudio.train.data import (
    SpecAugmentConfig,
    Utterance,
    compute_features,
    corpus_split,
    kaldi_dir_utterances,
    speaker_mean_normalize,
)
from synthaudio.train.embedding import EmbeddingConfig, embedding_features
from synthaudio.train.features import FeatureConfig
from synthaudio.train.tokens import Unit, Vocabulary
from synthaudio.train.views import ViewConfig

if TYPE_CHECKING:  # torch is optional (extra "train"): imported where training starts
    from synthaudio.train.model import EmbeddingCTCConfig, ModelConfig
    from synthaudio.train.trainer import TrainConfig

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = REPO / "corpora" / "digits" / "corpus.yaml"

# Training corpora of the ablation, in table order: (name, description).
CONDITIONS = {
    "clean-1voice": "(a) clean, one voice",
    "voices": "(b) many voices, clean",
    "full": "(c) full randomization",
}
# Voice-source rows of the ablation: one engine alone (same prompts, counts, environments
# and conversion as "full"); the mix is corpus.yaml's own speakers.engines ("full"), and
# "mix-novc" is the mix without speakers.conversion. The engine names live here and in
# corpus.yaml's speakers.engines only.
SOURCE_ENGINES = ("espeak-ng", "flite", "piper")
for _engine in SOURCE_ENGINES:
    CONDITIONS[f"only-{_engine}"] = f"voices: {_engine} only"
CONDITIONS["mix-novc"] = "voices: the mix, no VC"
QUICK_SPEAKERS, QUICK_PER_SPEAKER, QUICK_EPOCHS, QUICK_BATCH, QUICK_BANK = 32, 12, 6, 16, 8
MIN_DEV_LOSS_DROP = 0.25  # --quick fails unless the dev loss falls at least this much
# Front ends: the speech embedding (frozen, trained on real speech; 96 values per 80 ms) or
# log-mel (64 bands per 10 ms, the CTC model learns everything from the synthetic corpus).
FEATURES = ("embedding", "log-mel")
EPOCHS = {"embedding": 30, "log-mel": 20}
# over the embedding: three 1-D convolutions, no GRU (each output sees 7 frames, 1.3 s of
# audio); on the dev sets the GRU's model fitted the synthetic strings and transferred worse
# (fsdd_dev 77.8% with a 2-layer BiGRU, 87.3% without; README: Front ends)
EMBEDDING_MODEL: dict[str, Any] = {"conv_layers": 3, "gru_layers": 0, "dropout": 0.3}
# --model: the embedding CTC model's shapes compared in the README's ablation
EMBEDDING_MODELS: dict[str, dict[str, Any]] = {
    "conv3": EMBEDDING_MODEL,
    "conv4": {"conv_layers": 4, "gru_layers": 0, "dropout": 0.3},
    "conv5": {"conv_layers": 5, "gru_layers": 0, "dropout": 0.3},
    "wide3": {"conv_layers": 3, "channels": 256, "gru_layers": 0, "dropout": 0.3},
    "gru1": {"conv_layers": 3, "hidden": 64, "gru_layers": 1, "dropout": 0.3},
}
DEFAULT_MODEL = "conv3"
# --views: extra renderings of each training file through the embedding
# (synthaudio.train.views): speed perturbation, and an 8 kHz (telephone-band) pass
VIEWS: dict[str, ViewConfig] = {"speed": ViewConfig("speed", 0.85, 1.15),
                                "narrowband": ViewConfig("narrowband", narrow_rate_hz=8000),
                "shift": ViewConfig("shift", max_shift_s=0.08)}
VIEW_SEED = 20261206  # the views' draws (the corpus is fixed; the training --seed is not)
# --mask: time and channel masks on the embedding frames (SpecAugment's masks, no warp)
FRAME_MASKS = SpecAugmentConfig(freq_masks=2, max_freq_width=12, time_masks=2,
                                max_time_frac=0.15)
# --match profiles only what `synthaudio match` fits (quality's DNSMOS goes into a comment
# only, voices into nothing): the speaker encoder and DNSMOS were most of the profile's time
MATCH_FAMILIES = ("level", "noise", "channel", "reverb", "speech")
# test-time views over the embedding (--test-shifts): each test file embedded with its words
# at N phases of the 80 ms frame grid (0, 80/N, ... ms of silence before it) and the frame
# posteriors averaged (synthaudio.train.decoding.mean_posteriors): where a short word falls
# on the grid is chance, and one phase decides a real 0.4 s digit (README: Decoding)
TEST_SHIFTS = 4
MEL_TOP_HZ = 7600.0  # log-mel band's upper edge, or 95% of Nyquist when that is lower


@dataclass(frozen=True)
class TestSet:
    name: str  # column of the WER table
    utts: list[Utterance]
    corpus: Path | None  # scored with evaluate_corpus(split="test") when set
    kaldi_dir: Path | None = None  # else with evaluate_kaldi_dir


def derive_config(base: dict[str, Any], condition: str, config_dir: Path,
                  speakers: int | None, per_speaker: int | None, quick: bool) -> dict[str, Any]:
    """The corpus config of one ablation condition (as the YAML mapping it is written as),
    derived through the config's typed API."""
    cfg = with_sources_from(CorpusConfig.model_validate(base), config_dir)
    cfg = cfg.replace(name=f"{base['name']}-{condition}" + ("-quick" if quick else ""),
                      exports=["kaldi"])
    if quick:
        cfg = resized(cfg, speakers=QUICK_SPEAKERS, per_speaker=QUICK_PER_SPEAKER,
                      rir_bank=QUICK_BANK)
    cfg = resized(cfg, speakers=speakers, per_speaker=per_speaker)
    if condition.startswith("only-"):
        engine = condition.removeprefix("only-")
        cfg = cfg.replace(speakers=cfg.speakers.only_engines({engine: 1.0}))
    if condition == "mix-novc":
        cfg = cfg.replace(speakers=cfg.speakers.replace(conversion=None))
    if condition in ("voices", "clean-1voice"):
        cfg = cfg.replace(augment=None)
    if condition == "clean-1voice":  # one espeak-ng voice, whatever the mix
        cfg = cfg.replace(speakers=cfg.speakers.single_voice())
    return cfg.model_dump(mode="json")


def check_condition(cfg: dict[str, Any], condition: str) -> None:
    """SynthaudioError naming the row and its engines when its corpus cannot be made here
    (an engine not installed, or unknown to this synthaudio)."""
    from synthaudio.pipelines.generate.config import parse_corpus_config
    from synthaudio.pipelines.generate.plan import plan_corpus

    engines = sorted(cfg["speakers"].get("engines")
                     or {cfg["speakers"].get("engine", "espeak-ng"): 1})
    try:
        plan_corpus(parse_corpus_config(yaml.safe_dump(cfg), f"<{condition}>"), Path.cwd(),
                    limit=1)
    except SynthaudioError as exc:
        raise SynthaudioError(
            f"--ablation row {condition!r} ({CONDITIONS[condition]}): its voices "
            f"({', '.join(engines)}) cannot be rendered here: {exc}; install the engine, or "
            "leave the row out with --rows") from None


def make_corpus(cfg: dict[str, Any], out: Path, jobs: int) -> Path:
    """Write the config under OUT/configs and generate (or resume) its corpus."""
    name = cfg["name"]
    path = out / "configs" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    corpus = out / "corpora" / name
    summary = generate_corpus(path, corpus, jobs=jobs, overwrite=True, progress=False)
    print(f"corpus {name}: {summary.utterances} utterances ({summary.hours:.2f} h), "
          f"{summary.speakers_per_split} speakers, {summary.wall_s:.0f} s", flush=True)
    return corpus


def write_hyps(path: Path, utts: Sequence[Utterance], hyps: Sequence[str]) -> None:
    """Kaldi text format: ``<utt-id> <words>`` per line, sorted by id."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = sorted(f"{u.id} {h}".rstrip() for u, h in zip(utts, hyps, strict=True))
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def score_test_set(test: TestSet, hyp_file: Path, model_name: str, exp_dir: Path) -> float:
    """WER of the hypotheses in ``hyp_file`` with synthaudio's evaluation (writes eval/)."""
    asr = f"hyp:{hyp_file}"
    if test.corpus is not None:
        summary = evaluate_corpus(test.corpus, split="test", asr=asr, name=model_name)
    else:
        summary = evaluate_kaldi_dir(test.kaldi_dir or Path(), out_dir=exp_dir, asr=asr,
                                     name=f"{model_name}-{test.name}")
    return summary.overall.wer


FeatureSettings = FeatureConfig | EmbeddingConfig


def front_end(kind: str, sample_rate: int, unit: Unit, speaker_norm: bool = True
              ) -> tuple[ModelConfig | EmbeddingCTCConfig, FeatureSettings]:
    """The model and feature settings of a front end (``FEATURES``) for a corpus at
    ``sample_rate``. Checked here, before any long work: a log-mel band that does not fit
    the rate (an 8 kHz matched corpus) is narrowed to 95% of Nyquist; the embedding resamples
    every file to its 16 kHz."""
    from synthaudio.train.model import EmbeddingCTCConfig, ModelConfig

    if kind == "embedding":
        if unit != "word":
            raise SynthaudioError("--features embedding: one frame per 80 ms is too coarse "
                                  "for --unit char; use --features log-mel")
        return (EmbeddingCTCConfig(**EMBEDDING_MODEL),
                EmbeddingConfig(speaker_mean_norm=speaker_norm))
    win = round(0.025 * sample_rate)  # 25 ms windows every 10 ms at any rate
    feats = FeatureConfig(sample_rate=sample_rate, win_length=win,
                          hop_length=round(0.01 * sample_rate),
                          n_fft=max(512, 1 << (win - 1).bit_length()),
                          fmax_hz=min(MEL_TOP_HZ, 0.95 * sample_rate / 2))
    return ModelConfig(n_mels=feats.n_mels, time_stride=4 if unit == "word" else 2), feats


def utterance_features(utts: Sequence[Utterance], feats_cfg: FeatureSettings,
                       jobs: int, shift_s: float = 0.0) -> list[np.ndarray]:
    """Features of each utterance, in order (any sample rate: resampled); ``shift_s`` of
    silence before each (embedding only); minus each speaker's mean frame over ``utts``
    where the settings say so."""
    if isinstance(feats_cfg, EmbeddingConfig):
        feats = embedding_features([u.audio_path for u in utts], feats_cfg, jobs, shift_s)
        return speaker_mean_normalize(feats, utts) if feats_cfg.speaker_mean_norm else feats
    if shift_s:
        raise SynthaudioError("test-time shifts: only with --features embedding")
    return compute_features(utts, feats_cfg, jobs)


def test_shifts_s(feats_cfg: FeatureSettings, count: int) -> list[float]:
    """The test-time shifts (s): ``count`` phases of the embedding's frame grid; one (none)
    for log-mel, whose 10 ms frames leave nothing to average."""
    if count < 1:
        raise SynthaudioError(f"--test-shifts must be >= 1, got {count}")
    if not isinstance(feats_cfg, EmbeddingConfig):
        return [0.0]
    from synthaudio.train.embedding import FRAME_S

    return [round(k * FRAME_S / count, 6) for k in range(count)]


def isolated_choices(vocab: Vocabulary) -> list[str]:
    """The one-word transcripts a word model can give (its symbols): the grammar of an
    isolated-word test set."""
    return list(vocab.symbols[1:]) if vocab.unit == "word" else []


def train_and_score(cond: str, corpus: Path, tests: Sequence[TestSet],
                    test_feats: Sequence[Sequence[Sequence[np.ndarray]]], exp_dir: Path,
                    unit: Unit,
                    model_cfg: ModelConfig | EmbeddingCTCConfig, train_cfg: TrainConfig,
                    feats_cfg: FeatureSettings, jobs: int, views: Sequence[str] = (),
                    ensemble: int = 1) -> tuple[dict[str, float | None], bool]:
    """Train on the corpus's train split, score each test set; return the WERs (one per
    test set, plus "<test>-in-vocab" where some references have words outside the model's
    vocabulary: None when none is inside) and whether the loss fell enough.

    ``test_feats``: per test set, its features at each test-time shift (the posteriors are
    averaged over them). Real sets are scored twice: the free greedy transcript
    ("<test>-accuracy": exactly right) and, over their one-word in-vocabulary clips, the
    isolated-word decode ("<test>-isolated": the most probable single word of the
    vocabulary, as an isolated-digit or command task is decoded).

    ``views``: names in ``VIEWS``, extra renderings of every training file (embedding
    only); ``ensemble``: models trained with seeds ``seed .. seed + ensemble - 1``, decoded
    together (mean frame posteriors), saved as ``model.pt``, ``model-2.pt``, ..."""
    from synthaudio.train.decoding import (
        closed_set_transcripts,
        greedy_transcripts,
        log_posteriors,
        mean_posteriors,
    )
    from synthaudio.train.ensemble import EnsembleCTCModel
    from synthaudio.train.trainer import save_model, train_ctc
    from synthaudio.train.views import view_features

    t0 = time.perf_counter()
    train, dev = corpus_split(corpus, "train"), corpus_split(corpus, "dev")
    train_x = utterance_features(train, feats_cfg, jobs)
    dev_x = utterance_features(dev, feats_cfg, jobs)
    train_t = [u.text for u in train]
    for i, name in enumerate(views, start=1):
        if not isinstance(feats_cfg, EmbeddingConfig):
            raise SynthaudioError("--views: only with --features embedding")
        vx = view_features([u.audio_path for u in train], VIEWS[name], VIEW_SEED, i,
                           feats_cfg, jobs)
        train_x += speaker_mean_normalize(vx, train) if feats_cfg.speaker_mean_norm else vx
        train_t += [u.text for u in train]
    vocab = Vocabulary.build(train_t, unit)
    print(f"{len(train)} train ({len(train_x)} with {len(views)} views) / {len(dev)} dev "
          f"utterances, {len(vocab) - 1} {unit} symbols, "
          f"features {time.perf_counter() - t0:.0f} s", flush=True)
    results = []
    for k in range(ensemble):
        cfg_k = dataclasses.replace(train_cfg, seed=train_cfg.seed + k)
        if ensemble > 1:
            print(f"-- ensemble member {k + 1} of {ensemble} (seed {cfg_k.seed})", flush=True)
        result = train_ctc(train_x, train_t, dev_x, [u.text for u in dev], vocab,
                           model_cfg, cfg_k, log=lambda line: print(line, flush=True))
        save_model(exp_dir / ("model.pt" if k == 0 else f"model-{k + 1}.pt"), result,
                   feats_cfg)
        first, last = result.history[0], result.history[-1]
        drop = 1.0 - result.best.dev_loss / result.initial_dev_loss
        print(f"loss: dev {result.initial_dev_loss:.3f} -> {result.best.dev_loss:.3f} "
              f"({100 * drop:.0f}% lower, best epoch {result.best_epoch}); "
              f"train {first.train_loss:.3f} -> {last.train_loss:.3f}; "
              f"training {sum(h.seconds for h in result.history):.0f} s", flush=True)
        results.append(result)
    model: Any = (EnsembleCTCModel([r.model for r in results]).eval() if ensemble > 1
                  else results[0].model)
    row: dict[str, float | None] = {}
    for test, shifted in zip(tests, test_feats, strict=True):
        logps = mean_posteriors([log_posteriors(model, feats) for feats in shifted])
        hyps = greedy_transcripts(logps, vocab, nonempty=True)  # every prompt has a digit
        hyp_file = exp_dir / f"hyp-{test.name}.txt"
        write_hyps(hyp_file, test.utts, hyps)
        wer = row[test.name] = score_test_set(test, hyp_file, f"digits-{cond}", exp_dir)
        covered = [(u.text, h) for u, h in zip(test.utts, hyps, strict=True)
                   if vocab.covers(u.text)]
        extra = ""
        if test.corpus is None and covered:  # real clips: the share transcribed exactly
            acc = row[f"{test.name}-accuracy"] = float(np.mean([r == h for r, h in covered]))
            extra = f"; accuracy {100 * acc:.1f}% of {len(covered)} in-vocabulary"
            single = [i for i, u in enumerate(test.utts)
                      if len(u.text.split()) == 1 and vocab.covers(u.text)]
            choices = isolated_choices(vocab)
            if single and choices:
                words = closed_set_transcripts([logps[i] for i in single], vocab, choices)
                iso = row[f"{test.name}-isolated"] = float(np.mean(
                    [test.utts[i].text == w for i, w in zip(single, words, strict=True)]))
                extra += f"; isolated-word decode {100 * iso:.1f}% of {len(single)}"
        if len(covered) < len(test.utts):
            sub = (score([r for r, _ in covered], [h for _, h in covered]).wer
                   if covered else None)
            row[f"{test.name}-in-vocab"] = sub
            extra += (f"; {len(covered)} of {len(test.utts)} utterances in the model's "
                     "vocabulary" + (f": WER {100 * sub:.1f}%" if sub is not None else ""))
        print(f"WER {test.name} ({len(test.utts)} utterances): {100 * wer:.1f}%{extra}",
              flush=True)
    print(f"model {cond}: {(time.perf_counter() - t0) / 60:.1f} min", flush=True)
    loss_ok = all(1.0 - r.best.dev_loss / r.initial_dev_loss >= MIN_DEV_LOSS_DROP
                  and r.history[-1].train_loss < r.history[0].train_loss for r in results)
    return row, loss_ok


def format_table(table: dict[str, dict[str, float | None]]) -> str:
    """One row per training condition, one column per test set; "-" for no value."""
    cols: list[str] = []
    for row in table.values():
        cols += [c for c in row if c not in cols]
    lines = [f"{'training data':<26}" + "".join(f"{c:>20}" for c in cols)]
    for cond, row in table.items():
        cells = [row.get(c) for c in cols]
        lines.append(f"{CONDITIONS[cond]:<26}" + "".join(
            f"{'-' if v is None else f'{100 * v:.1f}':>20}" for v in cells))
    return "\n".join(lines)


def ablation_rows(base: dict[str, Any], rows: str | None) -> list[str]:
    """The ablation's rows in table order: all of CONDITIONS, or those named in ``rows``;
    "mix-novc" only when the config converts voices (else it is "full")."""
    chosen = list(CONDITIONS) if rows is None else [r for r in rows.split(",") if r]
    unknown = [r for r in chosen if r not in CONDITIONS]
    if unknown:
        raise SynthaudioError(f"--rows: unknown row(s) {unknown}; choose from "
                              f"{', '.join(CONDITIONS)}")
    if "full" not in chosen:
        chosen.insert(0, "full")  # its test split is the synthetic test set
    if not base.get("speakers", {}).get("conversion"):
        chosen = [r for r in chosen if r != "mix-novc"]
    return [r for r in CONDITIONS if r in chosen]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=REPO / "out" / "digits",
                   help="work folder: corpora, features, models, results (default out/digits)")
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="corpus definition")
    p.add_argument("--quick", action="store_true",
                   help=f"smoke run: {QUICK_SPEAKERS} speakers x {QUICK_PER_SPEAKER} utterances, "
                        f"{QUICK_EPOCHS} epochs; exit 1 unless the loss falls")
    p.add_argument("--ablation", action="store_true",
                   help="train on (a) clean one-voice, (b) many clean voices, (c) full "
                        "randomization, and each voice source alone and the mix without "
                        "voice conversion; print a WER table")
    p.add_argument("--rows", help="comma-separated ablation rows (default: all of "
                                  f"{', '.join(CONDITIONS)})")
    p.add_argument("--real-test", type=Path, metavar="DIR", action="append",
                   help="also score real recordings (any rate): a Kaldi data dir, a folder "
                        "of <word>/*.wav (Speech Commands) or of <digit>_<speaker>_<n>.wav "
                        "(Free Spoken Digit); repeat for more sets (scored as real, real2, "
                        "...)")
    p.add_argument("--match", type=Path, metavar="DIR",
                   help="fit the corpus to DIR's audio first (synthaudio profile + match; "
                        "see matching.py); DIR is also scored when it is a Kaldi directory")
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                   help="processes for generation and features (default: all cores)")
    p.add_argument("--threads", type=int,
                   help="torch threads (default: 1 for --features embedding, whose small "
                        "head trains as fast on one; torch's choice for log-mel)")
    p.add_argument("--epochs", type=int,
                   help=f"training epochs (default {EPOCHS['embedding']}, log-mel "
                        f"{EPOCHS['log-mel']}; quick {QUICK_EPOCHS})")
    p.add_argument("--batch", type=int, help=f"utterances per batch, at most (default 64; "
                                              f"quick {QUICK_BATCH})")
    p.add_argument("--speakers", type=int, help="override speakers.count")
    p.add_argument("--per-speaker", type=int, help="override utterances.per_speaker")
    p.add_argument("--unit", choices=["word", "char"], default="word",
                   help="CTC output units (default word)")
    p.add_argument("--features", choices=FEATURES, default=FEATURES[0],
                   help="front end: the speech embedding trained on real speech "
                        "(synthaudio.train.embedding; default) or log-mel")
    p.add_argument("--seed", type=int, default=0, help="training seed")
    p.add_argument("--model", choices=list(EMBEDDING_MODELS), default=DEFAULT_MODEL,
                   help=f"the embedding CTC model's shape (default {DEFAULT_MODEL})")
    p.add_argument("--views", default="",
                   help="comma-separated extra renderings of the training audio through the "
                        f"embedding: {', '.join(VIEWS)} (default: none)")
    p.add_argument("--mask", action=argparse.BooleanOptionalAction, default=None,
                   help="time and channel masks on the training embedding frames (default "
                        "on with the embedding; --no-mask: off)")
    p.add_argument("--ensemble", type=int, default=1,
                   help="models trained with seeds seed..seed+N-1, decoded together "
                        "(default 1)")
    p.add_argument("--speaker-norm", action=argparse.BooleanOptionalAction, default=True,
                   help="embedding frames minus each speaker's mean frame, in training and "
                        "at test (Kaldi's per-speaker mean normalization; speakers from the "
                        "corpus and the real sets' utt2spk; default on)")
    p.add_argument("--test-shifts", type=int, default=TEST_SHIFTS,
                   help="test files embedded at N phases of the 80 ms frame grid, posteriors "
                        f"averaged (default {TEST_SHIFTS}; 1: one pass; log-mel: always 1)")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import synthaudio.train.model  # noqa: F401 - its ImportError names the extra
    except ImportError as exc:
        print(f"run.py: {exc}", file=sys.stderr)
        return 2
    from synthaudio.train.trainer import TrainConfig

    started = time.perf_counter()
    out: Path = args.out.resolve()
    base = yaml.safe_load(args.config.read_text(encoding="utf-8"))
    if args.match is not None:
        from matching import match_target  # recipes/digits/matching.py

        front_end(args.features, 16000, args.unit)  # a wrong option fails before profiling
        base, target = match_target(args.match, args.config, out, jobs=args.jobs,
                                    families=MATCH_FAMILIES)
        if target is not None and not args.real_test:
            args.real_test = [target]
    unit: Unit = args.unit
    # the front end for the corpus's rate, before any generation (a matched config can be at
    # 8 kHz): settings that cannot work fail here, not after the corpus is made
    model_cfg, feats_cfg = front_end(
        args.features, int(base.get("audio", {}).get("sample_rate", 16000)), unit,
        args.speaker_norm)
    views = [v for v in args.views.split(",") if v]
    unknown = [v for v in views if v not in VIEWS]
    if unknown or args.ensemble < 1:
        raise SynthaudioError(f"--views: unknown {unknown}; choose from {', '.join(VIEWS)}"
                              if unknown else f"--ensemble must be >= 1, got {args.ensemble}")
    test_shifts_s(feats_cfg, args.test_shifts)  # a bad count fails before any generation
    if args.features == "embedding":
        from synthaudio.train.model import EmbeddingCTCConfig

        model_cfg = EmbeddingCTCConfig(**EMBEDDING_MODELS[args.model])
        if args.mask is None:
            args.mask = True
    elif views or args.mask or args.model != DEFAULT_MODEL:
        raise SynthaudioError("--views, --mask and --model: only with --features embedding")
    conditions = ablation_rows(base, args.rows) if args.ablation else ["full"]
    real_dirs = [as_kaldi_dir(d.resolve(), out) for d in args.real_test or []]
    cfgs = {c: derive_config(base, c, args.config.resolve().parent, args.speakers,
                             args.per_speaker, args.quick) for c in conditions}
    for c, cfg in cfgs.items():  # every row's engines, before hours of work
        check_condition(cfg, c)
    corpora = {c: make_corpus(cfg, out, args.jobs) for c, cfg in cfgs.items()}
    gen_s = time.perf_counter() - started

    tests = [TestSet("synthetic", corpus_split(corpora["full"], "test"), corpora["full"])]
    if "voices" in corpora:  # the clean many-voice row's test split, when it is trained
        tests.append(TestSet("synth-clean", corpus_split(corpora["voices"], "test"),
                             corpora["voices"]))
    for k, real_dir in enumerate(real_dirs):  # "real", "real2", ...
        tests.append(TestSet("real" + (str(k + 1) if k else ""),
                             kaldi_dir_utterances(real_dir), None, real_dir))
    shifts = test_shifts_s(feats_cfg, args.test_shifts)
    test_feats = [[utterance_features(t.utts, feats_cfg, args.jobs, s) for s in shifts]
                  for t in tests]

    epochs = args.epochs or (QUICK_EPOCHS if args.quick else EPOCHS[args.features])
    batch = args.batch or (QUICK_BATCH if args.quick else 64)
    # SpecAugment for log-mel; over the frozen embedding, its masks when --mask
    # one thread for the embedding's head: as fast alone (30 epochs in ~35 s), and torch's
    # default of every core made each epoch 30x slower (1 s -> 31 s) with one other busy
    # process on a 2-core machine (measured 2026-12-06)
    threads = args.threads or (1 if args.features == "embedding" else None)
    train_cfg = TrainConfig(epochs=epochs, max_batch=batch, seed=args.seed, threads=threads,
                            spec_augment=SpecAugmentConfig() if args.features == "log-mel"
                            else FRAME_MASKS if args.mask else None)
    table: dict[str, dict[str, float | None]] = {}
    loss_ok = True
    for cond in conditions:
        print(f"\n== model {cond}: {CONDITIONS[cond]}", flush=True)
        table[cond], ok = train_and_score(cond, corpora[cond], tests, test_feats,
                                          out / "exp" / cond, unit, model_cfg, train_cfg,
                                          feats_cfg, args.jobs, views, args.ensemble)
        loss_ok = loss_ok and ok

    total_s = time.perf_counter() - started
    print(f"\nWER (%), greedy CTC, {unit} units, {args.features} features, {epochs} epochs; "
          "test speakers unseen in training")
    print(format_table(table))
    print(f"time: {total_s / 60:.1f} min (generation {gen_s:.0f} s)")
    results = {"wer": table, "unit": unit, "features": args.features, "epochs": epochs,
               "quick": args.quick, "model": args.model if args.features == "embedding" else None,
               "views": views, "mask": args.mask, "ensemble": args.ensemble,
               "seconds": round(total_s, 1), "loss_ok": loss_ok}
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if args.quick and not loss_ok:
        print(f"FAILED: training did not lower the loss (needs a dev loss drop of at least "
              f"{100 * MIN_DEV_LOSS_DROP:.0f}% and a lower train loss)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SynthaudioError as exc:
        print(f"run.py: error: {exc}", file=sys.stderr)
        sys.exit(2)

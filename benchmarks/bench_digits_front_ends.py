#!/usr/bin/env python3
"""Front ends for the digits recipe, compared on one generated corpus and real digit sets.

    python benchmarks/bench_digits_front_ends.py CORPUS --real DIR [--real DIR2]
        [--model ctc-conv3|ctc-conv2|ctc-gru|log-mel|head|ewn] [--epochs 30] [--seed 0]

CORPUS is a digits corpus that ``recipes/digits/run.py`` generated (``OUT/corpora/
digits-full``); each ``--real`` is a folder the recipe's ``--real-test`` reads (Free Spoken
Digit or Speech Commands layout, or a Kaldi dir). Features are cached under
``CORPUS/featcache/`` and ``--cache`` (the real sets), so the rows of one corpus cost one
feature pass. Models:

- ``ctc-conv3`` (the recipe's default), ``ctc-conv2``, ``ctc-gru`` (1 conv + 2-layer BiGRU):
  CTC over the speech embedding's frames, trained on every utterance;
- ``log-mel``: the recipe's log-mel CTC model (SpecAugment, 20 epochs unless --epochs);
- ``head``: the keywords recipe's classifier head over the embedding, trained on the
  single-digit utterances only (isolated words only; no strings);
- ``ewn``: efficientword-net 1.0.5's 2048-d word embedding of each 1.5 s clip and a logistic
  regression over it, single-digit utterances only (``pip install efficientword-net==1.0.5
  scikit-learn``; not an extra of synthaudio).

Prints one ``RESULT`` line: accuracy (%) on each real set's digit clips (``-nonempty``: with
the recipe's decoding, never empty), per FSDD speaker, and the synthetic test WER (CTC).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "recipes" / "digits"))
import run  # noqa: E402 - the recipe's front ends
from _common import cached, real_accuracy  # noqa: E402

from synthaudio.evaluate.scoring import score  # noqa: E402
from synthaudio.io.importers.folders import DIGIT_WORDS, as_kaldi_dir  # noqa: E402
from synthaudio.train.data import Utterance, corpus_split, kaldi_dir_utterances  # noqa: E402

CTC_MODELS = {"ctc-conv3": run.EMBEDDING_MODEL,
              "ctc-conv2": {"conv_layers": 2, "gru_layers": 0, "dropout": 0.3},
              "ctc-gru": {"conv_layers": 1, "gru_layers": 2, "dropout": 0.2}}




def ewn_vectors(utts: Sequence[Utterance]) -> np.ndarray:
    """efficientword-net's vector of each clip: leading/trailing zeros cut, centred in 1.5 s."""
    from eff_word_net.audio_processing import Resnet50_Arc_loss

    from synthaudio.train.features import load_mono

    model = Resnet50_Arc_loss()
    n = model.window_frames
    out = []
    for u in utts:
        x = load_mono(u.audio_path, 16000)
        nz = np.flatnonzero(np.abs(x) > 1e-4)
        x = x[nz[0]:nz[-1] + 1] if len(nz) else x
        start = max(0, (len(x) - n) // 2)
        x = x[start:start + n]
        left = (n - len(x)) // 2
        x = np.pad(x, (left, n - len(x) - left))
        out.append(model.audioToVector(x.astype(np.float32))[0])
    return np.stack(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("corpus", type=Path)
    p.add_argument("--real", type=Path, action="append", required=True)
    p.add_argument("--model", default="ctc-conv3",
                   choices=[*CTC_MODELS, "log-mel", "head", "ewn"])
    p.add_argument("--epochs", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-j", "--jobs", type=int, default=1)
    p.add_argument("--cache", type=Path, default=Path("out/bench_digits_cache"))
    a = p.parse_args()
    from synthaudio.train.data import SpecAugmentConfig
    from synthaudio.train.model import EmbeddingCTCConfig, HeadConfig
    from synthaudio.train.tokens import Vocabulary
    from synthaudio.train.trainer import TrainConfig, decode, train_ctc

    kind = "log-mel" if a.model == "log-mel" else "embedding"
    model_cfg, feats_cfg = run.front_end(kind, 16000, "word")
    tag = "ewn" if a.model == "ewn" else kind
    splits = {s: corpus_split(a.corpus, s) for s in ("train", "dev", "test")}
    reals = {d.name: [u for u in kaldi_dir_utterances(as_kaldi_dir(d.resolve(), a.cache))
                      if u.text in DIGIT_WORDS] for d in a.real}

    def feats(name: str, utts: Sequence[Utterance], root: Path) -> Any:
        if a.model == "ewn":
            return cached(root / tag / f"{name}.pkl", lambda: ewn_vectors(utts))
        return cached(root / tag / f"{name}.pkl",
                      lambda: run.utterance_features(utts, feats_cfg, a.jobs))

    if a.model in ("head", "ewn"):  # isolated digits only
        splits = {s: [u for u in us if u.text in DIGIT_WORDS] for s, us in splits.items()}
    x = {s: feats(f"{s}-{a.model in ('head', 'ewn')}", us, a.corpus / "featcache")
         for s, us in splits.items()}
    rx = {k: feats(k, us, a.cache) for k, us in reals.items()}
    hyps: dict[str, list[str]] = {}
    result: dict[str, float] = {}
    if a.model == "ewn":
        from sklearn.linear_model import LogisticRegression

        def unit(v: np.ndarray) -> np.ndarray:
            return v / np.linalg.norm(v, axis=1, keepdims=True)

        clf = LogisticRegression(C=10, max_iter=2000).fit(
            unit(np.concatenate([x["train"], x["dev"]])),
            [u.text for u in splits["train"] + splits["dev"]])
        hyps = {k: list(clf.predict(unit(v))) for k, v in rx.items()}
    elif a.model == "head":
        from synthaudio.train.classifier import posteriors, train_classifier

        head = train_classifier(x["train"], [u.text for u in splits["train"]], x["dev"],
                                [u.text for u in splits["dev"]], DIGIT_WORDS,
                                HeadConfig(channels=128, layers=2, dropout=0.3),
                                TrainConfig(epochs=a.epochs or 40, spec_augment=None,
                                            threads=1, seed=a.seed), log=lambda line: None)
        hyps = {k: [DIGIT_WORDS[i] for i in posteriors(head.model, v).argmax(1)]
                for k, v in rx.items()}
    else:
        if a.model in CTC_MODELS:
            model_cfg = EmbeddingCTCConfig(**CTC_MODELS[a.model])
        train = splits["train"]
        vocab = Vocabulary.build([u.text for u in train], "word")
        t0 = time.process_time()
        res = train_ctc(x["train"], [u.text for u in train], x["dev"],
                        [u.text for u in splits["dev"]], vocab, model_cfg,
                        TrainConfig(epochs=a.epochs or run.EPOCHS[kind], seed=a.seed,
                                    threads=1, spec_augment=SpecAugmentConfig()
                                    if kind == "log-mel" else None),
                        log=lambda line: print(line, flush=True))
        print(f"training: {time.process_time() - t0:.0f} s CPU", flush=True)
        result["synthetic-wer"] = score([u.text for u in splits["test"]],
                                        decode(res.model, x["test"], vocab,
                                               nonempty=True)).wer
        for k, v in rx.items():
            plain = decode(res.model, v, vocab)
            result[f"{k}-greedy"] = float(np.mean([u.text == h
                                                   for u, h in zip(reals[k], plain, strict=True)]))
        hyps = {k: decode(res.model, v, vocab, nonempty=True) for k, v in rx.items()}
    result.update(real_accuracy(reals, hyps))
    print("RESULT", a.model, f"seed {a.seed}",
          {k: round(100 * v, 1) for k, v in result.items()}, flush=True)


if __name__ == "__main__":
    main()

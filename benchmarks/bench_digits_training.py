#!/usr/bin/env python3
"""Training choices for the digits recipe's embedding CTC model, on one corpus and real sets.

    python benchmarks/bench_digits_training.py CORPUS --real DIR [--real DIR2]
        [--views speed,narrowband] [--mask] [--model conv3|conv4|conv5|wide3|gru1]
        [--epochs 30] [--seeds 0,1,2] [--test-shifts 4] [--cache DIR] [--word-vectors]

CORPUS is a digits corpus that ``recipes/digits/run.py`` generated (``OUT/corpora/
digits-full``); each ``--real`` a folder the recipe's ``--real-test`` reads. Features
(the speech embedding, and each ``--views`` rendering of the training split,
``synthaudio.train.views``) are cached under ``--cache``, so rows share them. Each seed
trains one model (the recipe's trainer, one torch thread); with several seeds their
ensemble (``synthaudio.train.ensemble``, mean frame posteriors) is scored too.

Prints one ``RESULT`` line per model and for the ensemble: accuracy (%) on each real set's
digit clips (decoded as the recipe does: greedy, never empty), per FSDD speaker, and the
synthetic test WER (%), each decoded as the recipe does with ``--test-shifts`` (posteriors
averaged over phases of the frame grid; 1: one pass), and, as ``...-isolated``, the real
sets' isolated-word decode (the most probable single digit word). ``--views``, ``--mask``,
``--model`` and ``--epochs`` are the recipe's ``run.py`` options of the same names
(``--seeds`` is its ``--ensemble`` with seeds ``seed..seed+n-1``); the benchmark exists
to compare rows on shared features.

``--word-vectors``: a second front end for the isolated-word decode, as the keywords
recipe's ``--word-vectors ewn`` (``synthaudio.train.word_vectors``): EfficientWord-Net's
word vector of every word of the training and dev splits (cut out by the corpus's word
timings, 0.1 s either side) and of each real digit clip, minus each speaker's mean unit
vector where ``--speaker-norm``; a logistic regression (C chosen on the dev words) gives
word posteriors. Printed per model as ``...-words`` (the regression alone) and
``...-fused`` (the isolated-word decode's closed-set posteriors and the regression's,
geometric mean, half each).
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "recipes" / "digits"))
import numpy as np  # noqa: E402
import run  # noqa: E402 - the recipe's model and view settings
from _common import cached, real_accuracy  # noqa: E402

from synthaudio.evaluate.scoring import score  # noqa: E402
from synthaudio.io.importers.folders import DIGIT_WORDS, as_kaldi_dir  # noqa: E402
from synthaudio.train.data import (  # noqa: E402
    Utterance,
    corpus_split,
    kaldi_dir_utterances,
    speaker_mean_normalize,
)
from synthaudio.train.tokens import Vocabulary  # noqa: E402


def accuracy_row(reals: dict[str, list[Utterance]], hyps: dict[str, list[str]],
                 isolated: dict[str, list[str]], synth_wer: float) -> dict[str, float]:
    result = {"synthetic-wer": synth_wer, **real_accuracy(reals, hyps),
              **{f"{k}-isolated": v for k, v in real_accuracy(reals, isolated).items()}}
    return {k: round(100 * v, 1) for k, v in result.items()}


WORD_CUT_MARGIN_S = 0.1  # s kept either side of a word cut out by its timing


def word_cuts(utts: list[Utterance], corpus: Path) -> tuple[list[np.ndarray], list[str],
                                                             list[Utterance]]:
    """Each word of ``utts`` cut out of its 16 kHz audio by the corpus's word timings:
    (clips, words, the utterance of each)."""
    import soundfile as sf

    from synthaudio.io.metadata import iter_metadata

    timings = {r.id: r.words for r in iter_metadata(corpus)}
    clips, words, owners = [], [], []
    for u in utts:
        audio, rate = sf.read(u.audio_path, dtype="float32", always_2d=True)
        for word, start_s, dur_s in timings[u.id] or ():
            a = max(0, round((start_s - WORD_CUT_MARGIN_S) * rate))
            b = round((start_s + dur_s + WORD_CUT_MARGIN_S) * rate)
            clips.append(audio[a:b, 0])
            words.append(word)
            owners.append(u)
    return clips, words, owners


def speaker_centred(x: np.ndarray, utts: list[Utterance]) -> np.ndarray:
    """Unit vectors minus their speaker's mean unit vector (``speaker_mean_normalize`` over
    one-frame utterances)."""
    unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return np.concatenate(speaker_mean_normalize([v[None] for v in unit], utts))


def word_vector_posteriors(a: argparse.Namespace, splits: dict[str, list[Utterance]],
                           reals: dict[str, list[Utterance]], labels: list[str],
                           ) -> dict[str, np.ndarray]:
    """``--word-vectors``: the regression's posteriors ``(clips, labels)`` per real set."""
    from synthaudio.train.word_vectors import (
        clip_vectors,
        fit_word_classifier,
        word_posteriors,
        word_vectors,
    )

    data = {}
    for split in ("train", "dev"):
        clips, words, owners = word_cuts(splits[split], a.corpus)
        x = cached(a.cache / a.corpus.name / f"ewn-{split}.pkl",
                   functools.partial(clip_vectors, clips))
        data[split] = (speaker_centred(x, owners) if a.speaker_norm else x, words)
    params = fit_word_classifier(*data["train"], *data["dev"], labels)
    print(f"word vectors: C {params['c']}, dev balanced accuracy {params['dev_balanced']}",
          flush=True)
    out = {}
    for k, us in reals.items():
        x = cached(a.cache / f"real-{k}-ewn.pkl",
                   functools.partial(word_vectors, [u.audio_path for u in us]))
        out[k] = word_posteriors(params, speaker_centred(x, us) if a.speaker_norm else x)
    return out


def scored(model: object, test: list[Utterance], x_test: list[list[np.ndarray]],
           reals: dict[str, list[Utterance]], rx: dict[str, list[list[np.ndarray]]],
           vocab: Vocabulary, words: dict[str, np.ndarray] | None = None,
           ) -> dict[str, float]:
    """The row of one model: each set's features at every test shift, posteriors averaged;
    with ``words`` (``word_vector_posteriors``) the word vectors' and the fused rows too."""
    from synthaudio.train.decoding import (
        closed_set_scores,
        closed_set_transcripts,
        greedy_transcripts,
        log_posteriors,
        mean_posteriors,
    )

    def posts(shifted: list[list[np.ndarray]]) -> list[np.ndarray]:
        return mean_posteriors([log_posteriors(model, f) for f in shifted])

    synth = score([u.text for u in test], greedy_transcripts(posts(x_test), vocab, True)).wer
    lps = {k: posts(v) for k, v in rx.items()}
    hyps = {k: greedy_transcripts(v, vocab, True) for k, v in lps.items()}
    choices = run.isolated_choices(vocab)
    iso = {k: closed_set_transcripts(v, vocab, choices) for k, v in lps.items()}
    row = accuracy_row(reals, hyps, iso, synth)
    if words is None:
        return row
    labels = sorted(choices)
    for k, v in lps.items():
        ctc = closed_set_scores(v, vocab, labels)
        ctc = ctc - np.logaddexp.reduce(ctc, axis=1, keepdims=True)  # over the choices
        fused = 0.5 * ctc + 0.5 * np.log(np.maximum(words[k], 1e-9))
        for name, post in (("words", words[k]), ("fused", fused)):
            picked = {k: [labels[int(i)] for i in np.argmax(post, axis=1)]}
            row.update({f"{key}-{name}": round(100 * acc, 1) for key, acc in
                        real_accuracy({k: reals[k]}, picked).items()})
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("corpus", type=Path)
    p.add_argument("--real", type=Path, action="append", required=True)
    p.add_argument("--views", default="", help="comma-separated: " + ", ".join(run.VIEWS))
    p.add_argument("--mask", action=argparse.BooleanOptionalAction, default=True,
                   help="time and channel masks on the frames (run.py's default: on)")
    p.add_argument("--model", default=run.DEFAULT_MODEL, choices=list(run.EMBEDDING_MODELS))
    p.add_argument("--epochs", type=int, default=run.EPOCHS["embedding"])
    p.add_argument("--seeds", default="0")
    p.add_argument("-j", "--jobs", type=int, default=1)
    p.add_argument("--cache", type=Path, default=Path("out/bench_digits_cache"))
    p.add_argument("--test-shifts", type=int, default=run.TEST_SHIFTS)
    p.add_argument("--speaker-norm", action=argparse.BooleanOptionalAction, default=True,
                   help="run.py's --speaker-norm (default on)")
    p.add_argument("--tag", default="", help="a name for the RESULT lines")
    p.add_argument("--word-vectors", action="store_true",
                   help="EfficientWord-Net word vectors as a second isolated-word front end")
    a = p.parse_args()
    from synthaudio.train.embedding import EmbeddingConfig
    from synthaudio.train.ensemble import EnsembleCTCModel
    from synthaudio.train.model import EmbeddingCTCConfig
    from synthaudio.train.trainer import TrainConfig, train_ctc
    from synthaudio.train.views import view_features

    feats_cfg = EmbeddingConfig()
    splits = {s: corpus_split(a.corpus, s) for s in ("train", "dev", "test")}
    # every clip of a real set is embedded (a speaker's mean frame is over all of the set's
    # clips of that speaker, as the recipe's --real-test takes it); its digit clips are scored
    real_all = {d.name: kaldi_dir_utterances(as_kaldi_dir(d.resolve(), a.cache)) for d in a.real}
    digit_idx = {k: [i for i, u in enumerate(us) if u.text in DIGIT_WORDS]
                 for k, us in real_all.items()}
    reals = {k: [us[i] for i in digit_idx[k]] for k, us in real_all.items()}
    root = a.cache / a.corpus.name
    x = {s: cached(root / f"{s}.pkl",
                   functools.partial(run.utterance_features, us, feats_cfg, a.jobs))
         for s, us in splits.items()}
    shifts = run.test_shifts_s(feats_cfg, a.test_shifts)

    def at_shifts(name: str, us: list[Utterance]) -> list[list[np.ndarray]]:
        return [cached(a.cache / (f"{name}.pkl" if not t else f"{name}-shift{t:g}.pkl"),
                       functools.partial(run.utterance_features, us, feats_cfg, a.jobs, t))
                for t in shifts]

    x_test = at_shifts(f"{a.corpus.name}/test", splits["test"])
    rx_all = {k: at_shifts(f"real-{k}-all", us) for k, us in real_all.items()}
    if a.speaker_norm:  # cached unnormalized; normalized here over each set's speakers
        x = {s: speaker_mean_normalize(v, splits[s]) for s, v in x.items()}
        x_test = [speaker_mean_normalize(v, splits["test"]) for v in x_test]
        rx_all = {k: [speaker_mean_normalize(v, real_all[k]) for v in vs]
                  for k, vs in rx_all.items()}
    rx = {k: [[v[i] for i in digit_idx[k]] for v in vs] for k, vs in rx_all.items()}
    train = splits["train"]
    train_x, train_t = list(x["train"]), [u.text for u in train]
    views = [v for v in a.views.split(",") if v]
    for i, name in enumerate(views, start=1):
        # a view's cache is keyed by its position too: two speed views draw differently
        vx = cached(root / f"view-{name}-{i}.pkl", functools.partial(
            view_features, [u.audio_path for u in train], run.VIEWS[name], run.VIEW_SEED, i,
            feats_cfg, a.jobs))
        train_x += speaker_mean_normalize(vx, train) if a.speaker_norm else vx
        train_t += [u.text for u in train]
    vocab = Vocabulary.build(train_t, "word")
    words = (word_vector_posteriors(a, splits, reals, sorted(run.isolated_choices(vocab)))
             if a.word_vectors else None)
    model_cfg = EmbeddingCTCConfig(**run.EMBEDDING_MODELS[a.model])
    models = []
    tag = a.tag or f"{a.model} views={a.views or '-'} mask={a.mask} epochs={a.epochs}"
    for seed in [int(s) for s in a.seeds.split(",")]:
        t0 = time.process_time()
        res = train_ctc(train_x, train_t, x["dev"], [u.text for u in splits["dev"]], vocab,
                        model_cfg, TrainConfig(epochs=a.epochs, seed=seed, threads=1,
                                               spec_augment=run.FRAME_MASKS if a.mask else None),
                        log=lambda line: None)
        cpu = time.process_time() - t0
        models.append(res.model)
        print("RESULT", tag, f"seed {seed}",
              scored(res.model, splits["test"], x_test, reals, rx, vocab, words),
              f"best epoch {res.best_epoch}, train {cpu:.0f} s CPU", flush=True)
    if len(models) > 1:
        ens = EnsembleCTCModel(models).eval()
        print("RESULT", tag, f"ensemble {a.seeds}",
              scored(ens, splits["test"], x_test, reals, rx, vocab, words), flush=True)


if __name__ == "__main__":
    main()

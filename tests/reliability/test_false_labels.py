"""Never label a clip with what it does not say: keyword corpora's ``_unknown_`` clips
never say a target (nor a homophone, by pronunciation), two targets that sound alike and a
target that cannot fit its clip are refused before anything is written; ``export`` never
turns a session corpus into one utterance per session."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from synthaudio.cli import main
from synthaudio.pipelines.keywords.confusable import english_lexicon

SENTENCES = Path(__file__).resolve().parents[2] / "corpora" / "prompt_sets" / "sentences.txt"

KEYWORDS = """\
name: kw
seed: 3
targets: {targets}
clip_s: {clip_s}
counts: {{positives: 2, hard_negatives: 6, speech: 0, babble: 0, noise: 0, silence: 0,
         background_files: 0}}
speakers: {{count: 2, variants: [m1, f2]}}
splits: {{train: 1.0, dev: 0.0, test: 0.0}}
"""


def _error(code: int, err: str, *expected: str) -> None:
    assert code == 2, err
    assert err.startswith("synthaudio: error: ") and err.count("\n") == 1, err
    for text in expected:
        assert text in err, err


def _keywords(tmp_path: Path, targets: str, clip_s: float = 1.5) -> tuple[int, Path]:
    config = tmp_path / "keywords.yaml"
    config.write_text(KEYWORDS.format(targets=targets, clip_s=clip_s), encoding="utf-8")
    out = tmp_path / "out"
    return main(["keywords", str(config), "-o", str(out), "-q", "-j", "1"]), out


def test_no_unknown_clip_says_a_target(tmp_path: Path) -> None:
    from synthaudio.pipelines.keywords.confusable import says_any  # the rule the corpus must follow

    code, out = _keywords(tmp_path, '["yes", "yes please"]')
    assert code == 0
    lexicon = english_lexicon()
    banned = {lexicon.encode(lexicon.pronounce(t)) for t in ("yes", "yes please")}
    clips = [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]
    unknown = [c["text"] for c in clips if c["label"] == "_unknown_"]
    assert len(unknown) == 2 * 2 * 6  # 6 hard negatives per positive, 2 positives, 2 targets
    saying = sorted({t for t in unknown if says_any(t.split(), lexicon, banned)})
    assert saying == []  # a233fa4 wrote "please yes" and "yes plays" as _unknown_
    negatives = json.loads((out / "negatives.json").read_text())
    proposed = [n["text"] for t in negatives["targets"].values() for n in t["negatives"]]
    assert proposed and not [t for t in proposed if says_any(t.split(), lexicon, banned)]


BABBLE = f"""\
name: kw-babble
seed: 4
targets: ["on", "up"]
counts: {{positives: 2, hard_negatives: 0, speech: 0, babble: 0, noise: 0, silence: 0,
         background_files: 0}}
text: {{sources: [{{file: {SENTENCES}}}]}}
speakers: {{count: 2, variants: [m1, f2]}}
splits: {{train: 1.0, dev: 0.0, test: 0.0}}
augment: {{noise: {{probability: 1.0, snr_db: [5, 10], kinds: {{babble: 1}}}}}}
"""


def test_babble_noise_never_says_a_target(tmp_path: Path) -> None:
    """Babble noise sits under every kind of clip (and under streams, whose negative windows
    are ``_unknown_``): its pool says no target. Before, it drew from every prompt."""
    from synthaudio.augment.environment import babble_pool_draws
    from synthaudio.pipelines.keywords.config import parse_keywords_config
    from synthaudio.pipelines.keywords.confusable import says_any
    from synthaudio.pipelines.keywords.plan import plan_keywords

    config = tmp_path / "keywords.yaml"
    config.write_text(BABBLE, encoding="utf-8")
    lexicon = english_lexicon()
    banned = {lexicon.encode(lexicon.pronounce(t)) for t in ("on", "up")}
    cfg = parse_keywords_config(BABBLE)
    everything = [p.text for _, p in babble_pool_draws(plan_keywords(cfg, tmp_path).corpus,
                                                       cfg.seed)]
    assert [t for t in everything if says_any(t.split(), lexicon, banned)]  # the old draw did

    out = tmp_path / "out"
    assert main(["keywords", str(config), "-o", str(out), "-q", "-j", "1"]) == 0
    pool = json.loads((out / "negatives.json").read_text())["babble_pool"]
    assert len(pool) == 24 and len({p["text"] for p in pool}) > 5
    assert not [p["text"] for p in pool if says_any(p["text"].split(), lexicon, banned)]
    clips = [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]
    talkers = [t["clip"] for c in clips for s in c["augment"]["noise"]["sources"]
               for t in s["talkers"]]
    assert len(clips) == 4 and talkers and max(talkers) < len(pool)


def test_targets_that_sound_alike_are_refused(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _keywords(tmp_path, '["two", "too"]')
    _error(code, capsys.readouterr().err, "targets: 'two' and 'too' sound alike (T UW)")
    assert not out.exists()


def test_a_target_that_cannot_fit_its_clip_is_refused_before_writing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _keywords(tmp_path, '["please turn on all the kitchen lights"]', clip_s=0.25)
    _error(code, capsys.readouterr().err,
           "targets: 'please turn on all the kitchen lights' (22 phonemes)",
           "more than a clip_s 0.25 s clip holds")
    assert not out.exists()


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_export_kaldi_keeps_a_session_corpus_at_turn_level(
        tmp_path: Path, session_corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    shutil.copytree(session_corpus, out)
    before = _hashes(out / "data")
    assert main(["export", str(out), "--format", "kaldi", "-q"]) == 0
    assert "exported at turn level" in capsys.readouterr().out
    assert _hashes(out / "data") == before  # the turns' Kaldi dir, byte for byte
    assert main(["validate", str(out)]) == 0


def test_export_all_writes_no_per_session_utterance(
        tmp_path: Path, session_corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    shutil.copytree(session_corpus, out)
    assert main(["export", str(out), "--format", "all", "-q"]) == 0
    for per_session in ("manifests/nemo/test.json", "manifests/speechbrain",
                        "manifests/lhotse/supervisions_test.jsonl.gz", "shards",
                        "audio/test/metadata.jsonl", "alignments"):
        assert not (out / per_session).exists(), per_session
    text = (out / "data" / "test" / "text").read_text().splitlines()
    segments = (out / "data" / "test" / "segments").read_text().splitlines()
    assert len(text) == len(segments) > 2  # one line per turn
    assert main(["validate", str(out)]) == 0
    for fmt in ("hf", "webdataset", "speechbrain", "espnet"):
        _error(main(["export", str(out), "--format", fmt, "-q"]), capsys.readouterr().err,
               f"--format {fmt}: a session corpus has no per-utterance {fmt} export")

from __future__ import annotations

import pytest

from synthaudio.evaluate.normalizer import EvalNormalizer

normalize = EvalNormalizer()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Hello, World!", "hello world"),
        ("  many   spaces\tand\ttabs\n", "many spaces and tabs"),
        ("Don't stop.", "don't stop"),
        ("It\u2019s John\u2019s", "it's john's"),
        ("'quoted' words", "quoted words"),
        ("rock 'n' roll", "rock n roll"),
        ("the dogs' bone", "the dogs bone"),
        ("well-known e-mail", "well known e mail"),
        ("<s> ten of clubs </s>", "ten of clubs"),
        ("four <sil> queen [NOISE] of ++BREATH++ clubs", "four queen of clubs"),
        ("[SPEECH]", ""),
        ("the(2) cat(3)", "the cat"),
        ("<|startoftranscript|> Hi there.<|endoftext|>", "hi there"),
        ("3 cats, 10%", "3 cats 10"),
        ("caf\u00e9 na\u00efve", "caf\u00e9 na\u00efve"),
        ("\uff28\uff49", "hi"),  # full-width letters, NFKC
        ("a\u00a0b", "a b"),  # non-breaking space
        ("", ""),
        ("...", ""),
    ],
)
def test_normalizer_table(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_same_normalization_for_reference_and_hypothesis() -> None:
    ref = "Mister Dashwood, Esq."
    hyp = "mister dashwood esq"
    assert normalize(ref) == normalize(hyp) == "mister dashwood esq"


def test_options_keep_case_and_fillers() -> None:
    keep = EvalNormalizer(lowercase=False, remove_fillers=False)
    assert keep("Ten <sil> Clubs") == "Ten sil Clubs"


def test_idempotent() -> None:
    for raw in ["Don't <s> STOP!!", "It\u2019s  'ok'", "a-b [x] c"]:
        once = normalize(raw)
        assert normalize(once) == once

import pytest

from synthaudio.errors import ConfigError
from synthaudio.pipelines.generate.config import parse_corpus_config

GOOD = """\
name: t
seed: 3
text:
  sources:
    - template: "say {one|two}"
speakers:
  count: 4
utterances:
  per_speaker: 2
"""


def test_good_config_parses_with_defaults():
    cfg = parse_corpus_config(GOOD)
    assert cfg.seed == 3 and cfg.audio.sample_rate == 16000
    assert cfg.splits.train == pytest.approx(0.8)


@pytest.mark.parametrize(
    "text, pattern",
    [
        ("name: [unclosed", r"<c>:1: not valid YAML"),
        ("- a\n- b\n", r"must be a YAML mapping, got list"),
        (GOOD + "colour: blue\n", r"<c>:10: colour: unknown key 'colour'"),
        (GOOD.replace("count: 4", "count: -1"),
         r"<c>:7: speakers.count: .*greater than or equal to 1"),
        (GOOD.replace("count: 4", "count: four"), r"speakers.count: .*integer"),
        (GOOD + "  rate_wpm: [200, 150]\n".replace("  ", "", 0), r"unknown key|inverted"),
        (GOOD.replace("speakers:\n", "speakers:\n  rate_wpm: [200, 150]\n"),
         r"<c>:6: speakers: rate_wpm: inverted range \[200.0, 150.0\]"),
        (GOOD.replace("speakers:\n", "speakers:\n  pitch: [10, 120]\n"),
         r"outside the allowed \[0, 99\]"),
        (GOOD + "splits: {train: 0.5, dev: 0.1, test: 0.1}\n",
         r"splits: split fractions must sum to 1"),
        (GOOD.replace("seed: 3", "seed: 1.5"), r"<c>:2: seed: .*integer"),
        (GOOD.replace("seed: 3", "seed: '7'"), r"seed: .*integer"),
        (GOOD.replace("- template: \"say {one|two}\"", "- {file: a.txt, template: x}"),
         r"exactly one of 'file' or 'template'"),
    ],
)
def test_bad_configs_name_the_place(text, pattern):
    with pytest.raises(ConfigError, match=pattern) as info:
        parse_corpus_config(text, "<c>")
    assert "\n" not in str(info.value)

from __future__ import annotations

from fake_corpus import FakeCorpus, write_records

from synthaudio.io.metadata import iter_metadata
from synthaudio.manifests.ctm import ctm_path, write_ctm


def test_ctm_lines_sorted_with_three_decimals(corpus: FakeCorpus) -> None:
    records = [dict(r) for r in corpus.records]
    records[0]["words"] = [["world", 0.5, 0.25], ["hello", 0.0625, 0.4]]  # out of order
    write_records(corpus.out, records)
    write_ctm(corpus.out, iter_metadata(corpus.out))
    lines = ctm_path(corpus.out, "train").read_text().splitlines()
    uid = records[0]["id"]
    assert lines[:2] == [f"{uid} 1 0.062 0.400 hello", f"{uid} 1 0.500 0.250 world"]
    keys = [(x.split()[0], float(x.split()[2])) for x in lines]
    assert keys == sorted(keys)
    for line in lines:
        fields = line.split(" ")
        assert len(fields) == 5 and fields[1] == "1"
        assert all(len(f.split(".")[1]) == 3 for f in fields[2:4])


def test_utterances_without_timings_are_omitted_and_counted(corpus: FakeCorpus) -> None:
    counts = write_ctm(corpus.out, iter_metadata(corpus.out))
    no_words = [r for r in corpus.records if not r["words"]]
    assert sum(counts.omitted.values()) == len(no_words) > 0
    for split in ("train", "dev", "test"):
        utts = {x.split()[0] for x in ctm_path(corpus.out, split).read_text().splitlines()}
        expected = {r["id"] for r in corpus.split(split) if r["words"]}
        assert utts == expected
        assert counts.written[split] == len(expected)
        for r in corpus.split(split):
            if r["words"]:
                n = sum(
                    1
                    for x in ctm_path(corpus.out, split).read_text().splitlines()
                    if x.startswith(r["id"] + " ")
                )
                assert n == len(r["words"])

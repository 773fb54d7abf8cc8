from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fake_corpus import FakeCorpus, build_corpus, write_records

from synthaudio.manifests.export import export_corpus
from synthaudio.manifests.validate import Problem, format_problems, validate_corpus


@pytest.fixture
def exported(tmp_path: Path) -> FakeCorpus:
    c = build_corpus(tmp_path / "out", augment=True)
    export_corpus(c.out, ["all"], shard_size=4)
    return c


def has(problems: list[Problem], path: Path, line: int | None, text: str) -> bool:
    return any(p.path == path and p.line == line and text in p.message for p in problems)


def rewrite_line(path: Path, line_no: int, edit: Callable[[str], str]) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[line_no - 1] = edit(lines[line_no - 1])
    path.write_text("".join(x + "\n" for x in lines), encoding="utf-8")


def test_clean_corpus_has_no_problems(exported: FakeCorpus) -> None:
    assert validate_corpus(exported.out) == []


def test_clean_multichannel_absolute_corpus_has_no_problems(tmp_path: Path) -> None:
    c = build_corpus(tmp_path / "out", num_channels=2)
    export_corpus(c.out, ["all"], absolute_paths=True)
    assert validate_corpus(c.out) == []


def test_deleted_wav(exported: FakeCorpus) -> None:
    rec = exported.split("dev")[1]
    (exported.out / rec["audio"]).unlink()
    problems = validate_corpus(exported.out)
    line = exported.line_of(rec["id"])
    meta = exported.out / "metadata.jsonl"
    assert has(problems, meta, line, f"{rec['id']}: {rec['audio']}: audio file not found")


def test_wrong_duration_in_utt2dur(exported: FakeCorpus) -> None:
    path = exported.out / "data" / "train" / "utt2dur"
    rewrite_line(path, 5, lambda s: s.split()[0] + " 9.5")
    problems = validate_corpus(exported.out)
    assert problems == [Problem(path, 5, problems[0].message)]
    assert "duration 9.5 s differs from the audio" in problems[0].message


def test_wrong_duration_in_nemo_and_lhotse(exported: FakeCorpus) -> None:
    nemo = exported.out / "manifests" / "nemo" / "test.json"
    rewrite_line(nemo, 2, lambda s: json.dumps(dict(json.loads(s), duration=0.2)))
    problems = validate_corpus(exported.out)
    assert has(problems, nemo, 2, "duration 0.2 s differs from the audio")
    assert len(problems) == 1


def test_wrong_duration_in_metadata(exported: FakeCorpus) -> None:
    records = [dict(r) for r in exported.records]
    records[3]["duration_s"] += 0.02
    write_records(exported.out, records)
    problems = validate_corpus(exported.out)
    assert has(problems, exported.out / "metadata.jsonl", 4, "duration_s")


def test_shuffled_line(exported: FakeCorpus) -> None:
    path = exported.out / "data" / "dev" / "text"
    lines = path.read_text().splitlines()
    lines[2], lines[3] = lines[3], lines[2]
    path.write_text("".join(x + "\n" for x in lines))
    problems = validate_corpus(exported.out)
    assert has(problems, path, 4, "not sorted")


def test_empty_transcript(exported: FakeCorpus) -> None:
    text = exported.out / "data" / "test" / "text"
    rewrite_line(text, 2, lambda s: s.split()[0])
    records = [dict(r) for r in exported.records]
    records[0]["text"] = ""
    write_records(exported.out, records)
    problems = validate_corpus(exported.out)
    assert has(problems, text, 2, "empty transcript")
    assert has(problems, exported.out / "metadata.jsonl", 1, "empty transcript")


def test_leaked_speaker(exported: FakeCorpus) -> None:
    records = [dict(r) for r in exported.records]
    moved = exported.split("train")[-1]  # last utterance of spk003 now claims to be in dev
    i = exported.line_of(moved["id"])
    records[i - 1]["split"] = "dev"
    write_records(exported.out, records)
    problems = validate_corpus(exported.out)
    assert has(problems, exported.out / "metadata.jsonl", i, "speaker spk003 is in split dev")
    # the exports, made before the change, no longer agree with the metadata either
    utt2spk = exported.out / "data" / "train" / "utt2spk"
    assert has(problems, utt2spk, 9, f"{moved['id']} belongs to split dev, not train")
    ctm = [p for p in problems if p.path.name == "train.ctm"]
    assert len(ctm) == (1 if moved["words"] else 0)  # once per utterance, not per word


def test_missing_rir_and_stem(exported: FakeCorpus) -> None:
    (exported.out / "rirs" / "rir001.wav").unlink()
    stem_owner = exported.records[0]["id"]
    (exported.out / "stems" / stem_owner / "noise.wav").unlink()
    problems = validate_corpus(exported.out)
    meta = exported.out / "metadata.jsonl"
    users = [
        exported.line_of(r["id"])
        for r in exported.records
        if r["augment"]["room"]["rir_id"] == "rir001"
    ]
    for line in users:
        assert has(problems, meta, line, "RIR file rirs/rir001.wav not found")
    assert has(problems, meta, 1, f"stem file stems/{stem_owner}/noise.wav not found")
    assert len(problems) == len(users) + 1


def test_export_missing_an_utterance(exported: FakeCorpus) -> None:
    hf = exported.out / "audio" / "train" / "metadata.jsonl"
    lines = hf.read_text().splitlines()
    hf.write_text("".join(x + "\n" for x in lines[1:]))
    problems = validate_corpus(exported.out)
    assert problems == [
        Problem(hf, None, f"missing utterance {exported.records[0]['id']} of split train")
    ]


def test_missing_shard_member(exported: FakeCorpus) -> None:
    shard = exported.out / "shards" / "dev" / "shard-000001.tar"
    shard.unlink()
    problems = validate_corpus(exported.out)
    assert len(problems) == 1 and "missing utterance" in problems[0].message
    assert problems[0].path == exported.out / "shards" / "dev"


def test_missing_metadata(tmp_path: Path) -> None:
    assert validate_corpus(tmp_path) == [Problem(tmp_path / "metadata.jsonl", None, "not found")]


def test_format_problems(tmp_path: Path) -> None:
    problems = [Problem(tmp_path / "a", 3, "bad"), Problem(tmp_path / "b", None, "gone")]
    assert format_problems(problems) == f"{tmp_path}/a:3: bad\n{tmp_path}/b: gone\n"
    assert format_problems([]) == ""


def test_moved_corpus_is_named_in_one_line_with_the_fix(exported: FakeCorpus,
                                                        tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere" / "corpus"
    moved.parent.mkdir()
    exported.out.rename(moved)
    problems = validate_corpus(moved)
    assert len(problems) == 1, format_problems(problems)
    message = problems[0].message
    assert f"moved from {exported.out.resolve()}" in message
    assert f"`synthaudio export {moved} --format lhotse`" in message
    export_corpus(moved, ["lhotse"])  # the fix the line gives
    assert validate_corpus(moved) == []


def test_a_lhotse_source_elsewhere_is_not_called_a_move(exported: FakeCorpus) -> None:
    path = exported.out / "manifests" / "lhotse" / "recordings_train.jsonl.gz"
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    first = json.loads(lines[0])
    first["sources"][0]["source"] = "/nowhere/else.wav"
    lines[0] = json.dumps(first)
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    problems = validate_corpus(exported.out)
    assert [p.line for p in problems] == [1]
    assert "is not the utterance's audio" in problems[0].message

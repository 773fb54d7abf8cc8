from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_corpus import FakeCorpus, write_records

from synthaudio.errors import InputError
from synthaudio.io.metadata import iter_metadata, text_problem, write_metadata


def test_iter_metadata_streams_all_records_in_id_order(corpus: FakeCorpus) -> None:
    recs = list(iter_metadata(corpus.out))
    assert [r.id for r in recs] == [r["id"] for r in corpus.records]
    assert [r.line for r in recs] == list(range(1, len(recs) + 1))
    first = recs[0]
    assert first.speaker == "spk001" and first.split == "train" and first.gender == "m"
    assert first.words is not None and first.words[0][0] == first.text.split()[0]
    assert first.raw["tts"]["engine"] == "fake"


def test_text_is_normalized_to_single_spaces(corpus: FakeCorpus) -> None:
    records = [dict(r) for r in corpus.records]
    records[0]["text"] = "  hello   world "
    write_records(corpus.out, records)
    assert next(iter_metadata(corpus.out)).text == "hello world"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"split": "valid"}, "split 'valid' is not one of train, dev, test"),
        ({"duration_s": -1.0}, "duration_s -1.0 must be positive"),
        ({"text": ""}, "empty transcript"),
        ({"text": "a\u00a0b"}, "non-printable character U+00A0"),
        ({"text": "hello <s> there"}, "'<s>'"),
        ({"gender": "x"}, "gender 'x'"),
        ({"audio": "../etc/passwd.wav"}, "must be a relative path"),
        ({"id": "other-000001"}, "must be 'spk001-'"),
        ({"words": [["a", 0.1]]}, "words[0] must be [word, start_s, dur_s]"),
    ],
)
def test_bad_record_raises_one_line_error_with_file_and_line(
    corpus: FakeCorpus, change: dict[str, object], expected: str
) -> None:
    records = [dict(r) for r in corpus.records]
    records[1].update(change)
    write_records(corpus.out, records)
    with pytest.raises(InputError) as err:
        list(iter_metadata(corpus.out))
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{corpus.out / 'metadata.jsonl'}:2: ")
    assert expected in message


def test_unsorted_and_duplicate_ids_are_rejected(corpus: FakeCorpus) -> None:
    records = list(corpus.records)
    write_records(corpus.out, [records[0], records[2], records[1], *records[3:]])
    with pytest.raises(InputError, match=r"metadata.jsonl:3: id 'spk001-000001' is not after"):
        list(iter_metadata(corpus.out))
    write_records(corpus.out, [records[0], records[0]])
    with pytest.raises(InputError, match="metadata.jsonl:2: .*sorted by id, without duplicates"):
        list(iter_metadata(corpus.out))


def test_invalid_json_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="metadata.jsonl: not found"):
        list(iter_metadata(tmp_path))
    (tmp_path / "metadata.jsonl").write_text('{"id": 1}\n{oops\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"metadata.jsonl:1: field 'id' has the wrong type"):
        list(iter_metadata(tmp_path))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("hello world", None),
        ("a#0b", None),  # grep -w "#0" needs non-word characters around it
        ("ok #0", "'#0'"),
        ("</s>", "'</s>'"),
        (" ", "empty transcript"),
        ("tab\there", "U+0009"),
        ("naïve café", None),
    ],
)
def test_text_problem(text: str, problem: str | None) -> None:
    found = text_problem(text)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_write_metadata_sorts_and_is_atomic(tmp_path: Path) -> None:
    path = tmp_path / "metadata.jsonl"
    write_metadata(path, [{"id": "b-1", "x": 1}, {"id": "a-1", "y": "é"}])
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["id"] for x in lines] == ["a-1", "b-1"]
    assert lines[0] == '{"id":"a-1","y":"é"}'
    assert [p.name for p in tmp_path.iterdir()] == ["metadata.jsonl"]  # no temp left


def test_metadata_record_round_trips_in_the_documented_key_order() -> None:
    from synthaudio.io.metadata import MetadataRecord

    obj = {"id": "spk001-000003", "split": "dev", "speaker": "spk001", "gender": "f",
           "lang": "en-us", "text": "turn on the light", "raw_text": "Turn on the light!",
           "prompt_id": "p-3", "audio": "audio/dev/spk001/spk001-000003.wav",
           "duration_s": 1.25, "sample_rate": 16000, "num_channels": 1,
           "words": [["turn", 0.1, 0.2], ["on", 0.3, 0.1]], "tts": {"engine": "espeak-ng"},
           "augment": None, "quality": {"cer": 0.0}, "source": {"copy": 1}}
    rec = MetadataRecord.from_dict(obj, line=4)
    assert rec.line == 4 and rec.words == (("turn", 0.1, 0.2), ("on", 0.3, 0.1))
    assert rec.extra == {"quality": {"cer": 0.0}, "source": {"copy": 1}}
    out = rec.to_dict()
    assert out == obj and list(out) == list(obj)
    assert MetadataRecord.from_dict(out) == rec
    with pytest.raises(ValueError, match="duration_s"):
        MetadataRecord.from_dict({**obj, "duration_s": -1.0})

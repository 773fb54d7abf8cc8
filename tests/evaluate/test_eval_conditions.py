from __future__ import annotations

import pytest

from synthaudio.evaluate.conditions import (
    CONDITION_KEYS,
    length_bucket,
    rt60_bucket,
    snr_bucket,
    sort_buckets,
    utterance_conditions,
)


@pytest.mark.parametrize(
    ("snr_db", "bucket"),
    [
        (None, "clean"),
        (float("nan"), "clean"),
        (-30.0, "<0"),
        (-0.01, "<0"),
        (0.0, "0-5"),
        (4.99, "0-5"),
        (5.0, "5-10"),
        (10.0, "10-20"),
        (19.9, "10-20"),
        (20.0, ">=20"),
        (float("inf"), ">=20"),
    ],
)
def test_snr_bucket(snr_db: float | None, bucket: str) -> None:
    assert snr_bucket(snr_db) == bucket


@pytest.mark.parametrize(
    ("rt60_s", "bucket"),
    [
        (None, "none"),
        (0.0, "<0.3"),
        (0.29, "<0.3"),
        (0.3, "0.3-0.6"),
        (0.6, "0.6-0.9"),
        (0.89, "0.6-0.9"),
        (0.9, ">=0.9"),
        (2.5, ">=0.9"),
    ],
)
def test_rt60_bucket(rt60_s: float | None, bucket: str) -> None:
    assert rt60_bucket(rt60_s) == bucket


@pytest.mark.parametrize(
    ("n", "bucket"),
    [
        (0, "0"),
        (1, "1-3"),
        (3, "1-3"),
        (4, "4-7"),
        (7, "4-7"),
        (8, "8-15"),
        (15, "8-15"),
        (16, ">=16"),
        (100, ">=16"),
    ],
)
def test_length_bucket(n: int, bucket: str) -> None:
    assert length_bucket(n) == bucket


def test_full_record() -> None:
    rec = {
        "id": "spk003-000012",
        "speaker": "spk003",
        "gender": "f",
        "text": "one two three four five",
        "tts": {"engine": "espeak-ng", "voice": "en-us", "variant": "f2", "rate_wpm": 170},
        "augment": {
            "room": {"rt60_target_s": 0.5, "rir_id": "rir0003", "rt60_s": 0.93, "drr_db": 1.0},
            "noise": {"snr_db": 7.5, "noise_id": "babble"},
            "channel": {"codec": "gsm", "bandwidth_hz": 3400},
        },
    }
    assert utterance_conditions(rec) == {
        "snr": "5-10",
        "rt60": ">=0.9",
        "codec": "gsm",
        "speaker": "spk003",
        "gender": "f",
        "voice": "en-us+f2",
        "engine": "espeak-ng",
        "length": "4-7",
    }


def test_rt60_falls_back_to_target_and_labels() -> None:
    assert utterance_conditions({"augment": {"room": {"rt60_target_s": 0.4}}})["rt60"] == (
        "0.3-0.6"
    )
    rec = {"augment": {"room": {"rt60_target_s": 0.4, "labels": {"rt60_s": 0.1}}}}
    assert utterance_conditions(rec)["rt60"] == "<0.3"


@pytest.mark.parametrize(
    "rec",
    [
        {},
        {"augment": None, "tts": None},
        {"augment": {"room": None, "noise": None, "channel": None}},
        {"augment": {"channel": {"codec": None}, "speed": {"factor": 1.1}}},
        {"augment": "garbage", "tts": {"voice": ""}, "speaker": None, "text": None},
    ],
)
def test_missing_or_malformed_fields_give_neutral_buckets(rec: dict[str, object]) -> None:
    c = utterance_conditions(rec)
    assert set(c) == set(CONDITION_KEYS)
    assert (c["snr"], c["rt60"], c["codec"]) == ("clean", "none", "none")
    assert c["speaker"] == c["voice"] == c["engine"] == c["gender"] == "unknown"
    assert c["length"] == "0"


def test_stage_without_value_is_unknown() -> None:
    rec = {"augment": {"noise": {"snr_db": "loud"}, "room": {"rt60_s": None}, "channel": {}}}
    c = utterance_conditions(rec)
    assert (c["snr"], c["rt60"], c["codec"]) == ("unknown", "unknown", "none")
    measured = {"augment": {"noise": {"sources": []}, "measured": {"snr_db": 12.0}}}
    assert utterance_conditions(measured)["snr"] == "10-20"


def test_augmenter_record_shape() -> None:
    """The dicts synthaudio.augment writes: ReverbParams, NoiseParams, ChannelParams."""
    rec = {
        "augment": {
            "speed": None,
            "room": {
                "rir_id": "room003-mic0",
                "num_channels": 1,
                "direct_delay_s": 0.004,
                "rt60_s": 0.45,
                "drr_db": 3.2,
            },
            "noise": {"snr_db": 17.5, "num_samples": 16000, "sources": []},
            "channel": {
                "eq": None,
                "codec": {"kind": "mp3", "compression_level": 0.5},
                "packet_loss": None,
            },
            "measured": {"snr_db": 17.49, "codec": "MPEG/MPEG_LAYER_III@16000"},
        }
    }
    c = utterance_conditions(rec)
    assert (c["snr"], c["rt60"], c["codec"]) == ("10-20", "0.3-0.6", "mp3")


def test_sort_buckets() -> None:
    assert sort_buckets("snr", [">=20", "clean", "0-5", "<0"]) == ["clean", "<0", "0-5", ">=20"]
    assert sort_buckets("rt60", [">=0.9", "none", "<0.3"]) == ["none", "<0.3", ">=0.9"]
    assert sort_buckets("codec", ["mp3", "gsm", "none"]) == ["gsm", "mp3", "none"]

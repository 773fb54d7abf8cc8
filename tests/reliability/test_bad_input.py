"""Bad input, everywhere: config, prompt text and audio files given to ``generate`` get one
line naming the problem and where it is, exit code 2, no traceback, and nothing written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from relutil import TINY_CONFIG, check_consistent, write_tiny_config

from synthaudio.cli import main

Mutation = Callable[[Path], None]


def _config(old: str, new: str) -> Mutation:
    def mutate(folder: Path) -> None:
        path = folder / "corpus.yaml"
        text = path.read_text(encoding="utf-8")
        assert old in text, old
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return mutate


def _config_text(text: str | bytes) -> Mutation:
    def mutate(folder: Path) -> None:
        if isinstance(text, bytes):
            (folder / "corpus.yaml").write_bytes(text)
        else:
            (folder / "corpus.yaml").write_text(text, encoding="utf-8")

    return mutate


def _prompts(content: str | bytes) -> Mutation:
    def mutate(folder: Path) -> None:
        write_tiny_config(folder, prompts=content)

    return mutate


def _run(tmp_path: Path, capsys: pytest.CaptureFixture[str], mutate: Mutation,
         extra: tuple[str, ...] = ()) -> tuple[int, str, Path]:
    folder = tmp_path / "cfg"
    write_tiny_config(folder)
    mutate(folder)
    out = tmp_path / "out"
    code = main(["generate", str(folder / "corpus.yaml"), "-o", str(out), "-q", *extra])
    captured = capsys.readouterr()
    return code, captured.err, out


def _assert_one_line_error(code: int, err: str, *expected: str) -> None:
    assert code == 2, err
    assert err.startswith("synthaudio: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for text in expected:
        assert text in err, err


CONFIG_CASES: list[tuple[str, Mutation, tuple[str, ...]]] = [
    ("not-yaml", _config_text("name: [tiny\n"), ("corpus.yaml:", "not valid YAML")),
    ("not-mapping", _config_text("- a\n- b\n"), ("must be a YAML mapping, got list",)),
    ("empty-file", _config_text(""), ("must be a YAML mapping, got NoneType",)),
    ("not-utf8", _config_text(b"name: t\xff\n"), ("not UTF-8",)),
    ("python-tag", _config_text("!!python/object/apply:os.system ['touch pwned']\n"),
     ("not valid YAML",)),
    ("unknown-key", _config(TINY_CONFIG, TINY_CONFIG + "colour: blue\n"),
     ("corpus.yaml:22:", "colour: unknown key 'colour'")),
    ("unknown-nested-key", _config("snr_db:", "snr:"),
     ("augment.noise.snr: unknown key 'snr'",)),
    ("wrong-type", _config("count: 4", "count: four"), ("corpus.yaml:8:", "speakers.count")),
    ("negative-count", _config("count: 4", "count: -4"),
     ("speakers.count", "greater than or equal to 1")),
    ("zero-utterances", _config("per_speaker: 6", "per_speaker: 0"),
     ("utterances.per_speaker",)),
    ("inverted-range", _config("snr_db: [10, 20]", "snr_db: [20, 10]"),
     ("augment.noise", "inverted range [20.0, 10.0]")),
    ("probability-above-1", _config("probability: 1.0, snr_db", "probability: 1.5, snr_db"),
     ("augment.noise.probability", "less than or equal to 1")),
    ("probability-below-0", _config("speed: {probability: 0.5}", "speed: {probability: -0.1}"),
     ("augment.speed.probability", "greater than or equal to 0")),
    ("rt60-unrealizable", _config("rt60_s: [0.2, 0.3]", "rt60_s: [0.2, 9.0]"),
     ("augment.room.simulation", "rt60_s")),
    ("room-too-small", _config("dims_m: [[3, 4]", "dims_m: [[0.5, 4]"),
     ("augment.room.simulation", "dims_m")),
    ("room-no-space-for-mics", _config("rt60_s: [0.2, 0.3]",
                                       "rt60_s: [0.2, 0.3], min_wall_distance_m: 2.0"),
     ("augment.room.simulation", "dims_m", "no space")),
    ("splits-do-not-sum-to-1", _config("test: 0.25}", "test: 0.5}"),
     ("splits", "must sum to 1")),
    ("seed-not-integer", _config("seed: 11", "seed: 1.5"), ("corpus.yaml:2:", "seed")),
    ("seed-a-string", _config("seed: 11", "seed: eleven"), ("seed",)),
    ("sample-rate-0", _config("audio: {stems: true}", "audio: {stems: true, sample_rate: 0}"),
     ("audio.sample_rate",)),
    ("unknown-export", _config("webdataset]", "webdataset, parquet]"),
     ("exports", "parquet")),
    ("unknown-voice", _config("variants: [m1, f2]", "voices: [en-xx]\n  variants: [m1, f2]"),
     ("en-xx",)),
    ("unknown-variant", _config("variants: [m1, f2]", "variants: [m1, zz9]"), ("zz9",)),
    ("name-with-slash", _config("name: tiny", "name: ../tiny"), ("name",)),
    ("noise-dir-missing", _config("snr_db: [10, 20]}",
                                  "snr_db: [10, 20], noise_dirs: [nowhere]}"),
     ("augment.noise.noise_dirs.0", "nowhere", "not found")),
    ("config-missing", lambda d: (d / "corpus.yaml").unlink(), ("config file not found",)),
]

TEXT_CASES: list[tuple[str, Mutation, tuple[str, ...]]] = [
    ("empty-file", _prompts(""), ("prompts.txt", "no prompts")),
    ("only-blank-lines", _prompts("\n   \n\t\n\n"), ("prompts.txt", "no prompts")),
    ("not-utf8", _prompts(b"p-1\thello\np-2\t\xff\xfe bad\n"),
     ("prompts.txt:2:", "not valid UTF-8")),
    ("control-character", _prompts("p-1\thello\np-2\tbell\x07here\n"),
     ("prompts.txt:2:", "control character U+0007")),
    ("line-of-100000-characters", _prompts("p-1\t" + "a" * 100_000 + "\n"),
     ("prompts.txt:1:", "100,004 characters long")),
    ("id-with-space", _prompts("p 1\thello\n"), ("prompts.txt:1:", "invalid prompt id 'p 1'")),
    ("id-with-slash", _prompts("a/b\thello\n"), ("prompts.txt:1:", "invalid prompt id 'a/b'")),
    ("id-dot-dot", _prompts("..\thello\n"), ("prompts.txt:1:", "invalid prompt id '..'")),
    ("id-path", _prompts("../../etc/passwd\thello\n"), ("invalid prompt id",)),
    ("duplicate-id", _prompts("p-1\thello\np-1\tagain\n"),
     ("prompts.txt:2:", "duplicate prompt id 'p-1'")),
    ("two-tabs", _prompts("p-1\thello\tthere\n"), ("prompts.txt:1:", "more than one tab")),
    ("id-without-text", _prompts("p-1\t  \n"), ("prompts.txt:1:", "has no text")),
    ("unbalanced-template", _config("{on|off} the", "{on|off the"), ("unbalanced braces",)),
    ("prompt-file-missing", _config("file: prompts.txt", "file: missing.txt"),
     ("missing.txt", "prompt file not found")),
    ("prompt-file-is-a-folder", _config("file: prompts.txt", "file: ."),
     ("prompt file is a directory",)),
]


@pytest.mark.parametrize("mutate, expected", [c[1:] for c in CONFIG_CASES],
                         ids=[c[0] for c in CONFIG_CASES])
def test_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str], mutate: Mutation,
                    expected: tuple[str, ...]) -> None:
    code, err, out = _run(tmp_path, capsys, mutate)
    _assert_one_line_error(code, err, *expected)
    assert not out.exists()
    assert not Path("pwned").exists()


@pytest.mark.parametrize("mutate, expected", [c[1:] for c in TEXT_CASES],
                         ids=[c[0] for c in TEXT_CASES])
def test_bad_prompt_text(tmp_path: Path, capsys: pytest.CaptureFixture[str], mutate: Mutation,
                         expected: tuple[str, ...]) -> None:
    code, err, out = _run(tmp_path, capsys, mutate)
    _assert_one_line_error(code, err, *expected)
    assert not out.exists()


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    folder = tmp_path / "cfg"
    write_tiny_config(folder, prompts="")
    with pytest.raises(Exception, match="no prompts"):
        main(["--debug", "generate", str(folder / "corpus.yaml"), "-o", str(tmp_path / "o")])


# ---- audio files: noise folders and measured RIRs -----------------------------------------

SR = 16000
NOISE = "noise: {probability: 1.0, snr_db: [10, 20]}"
NOISE_FOLDER = ("noise: {probability: 1.0, snr_db: [10, 20], noise_dirs: [noise], "
                "kinds: {folder: 1}}")
ROOM = """  room:
    probability: 1.0
    bank_size: 3
    simulation: {dims_m: [[3, 4], [3, 4], [2.5, 3]], rt60_s: [0.2, 0.3]}
"""
MEASURED = "  room: {probability: 1.0, measured_rirs: rirs}\n"


def _noise(rng: np.random.Generator, n: int = SR) -> np.ndarray:
    return (0.1 * rng.standard_normal(n)).astype(np.float32)


def _rir(rng: np.random.Generator, channels: int = 1, sr: int = SR) -> np.ndarray:
    t = np.arange(int(0.3 * sr)) / sr
    rir = rng.standard_normal((len(t), channels)) * np.exp(-t / 0.05)[:, None] * 0.1
    rir[40] = 1.0
    return rir.astype(np.float32)


def _write_wav(path: Path, data: np.ndarray, sr: int = SR, subtype: str = "FLOAT") -> None:
    sf.write(path, data, sr, subtype=subtype)


def _truncate(path: Path, keep: int) -> None:
    path.write_bytes(path.read_bytes()[:keep])


def _make(kind: str, folder: Path, problem: str) -> None:
    """Write one ``problem`` file into the noise folder or the measured-RIR folder."""
    rng = np.random.default_rng(5)
    target = folder / ("noise" if kind == "noise" else "rirs")
    target.mkdir()
    good = _noise(rng) if kind == "noise" else _rir(rng)
    path = target / "x.wav"
    if problem == "not-audio":
        path.write_text("this is not audio\n")
    elif problem == "empty-file":
        path.write_bytes(b"")
    elif problem == "zero-frames":
        _write_wav(path, np.zeros(0, np.float32))
    elif problem in ("nan", "inf"):
        bad = good.copy()
        bad[100] = np.nan if problem == "nan" else np.inf
        _write_wav(path, bad)
    elif problem == "silent":
        _write_wav(path, np.zeros_like(good))
    elif problem == "short":
        _write_wav(path, good[:3])
    elif problem == "truncated-header":
        _write_wav(path, good)
        _truncate(path, 30)
    elif problem == "truncated-data":
        _write_wav(path, good)
        _truncate(path, path.stat().st_size // 2)
    elif problem == "text-file":
        _write_wav(path, good)
        (target / "README.txt").write_text("measured in the lab\n")
    elif problem == "other-rate":
        resampled = good[::2] if kind == "noise" else _rir(rng, sr=8000)
        _write_wav(path, resampled, 8000)
    elif problem == "stereo":
        _write_wav(path, np.stack([good, good], axis=1) if kind == "noise"
                   else _rir(rng, channels=2))
    else:  # pragma: no cover
        raise AssertionError(problem)


def _audio_config(kind: str) -> str:
    config = TINY_CONFIG.replace("per_speaker: 6", "per_speaker: 1")
    if kind == "noise":
        return config.replace(NOISE, NOISE_FOLDER)
    return config.replace(ROOM, MEASURED)


AUDIO_ERRORS = [
    ("noise", "not-audio", ("noise/x.wav", "not a readable audio file")),
    ("noise", "empty-file", ("noise/x.wav", "not a readable audio file")),
    ("noise", "zero-frames", ("noise/x.wav", "empty audio file")),
    ("noise", "truncated-header", ("noise/x.wav", "not a readable audio file")),
    ("noise", "truncated-data", ("noise/x.wav", "truncated WAV")),
    ("noise", "short", ("noise/x.wav", "noise file of 3 frames", "augment.noise.min_file_s")),
    ("rir", "not-audio", ("rirs/x.wav", "not readable audio")),
    ("rir", "empty-file", ("rirs/x.wav", "not readable audio")),
    ("rir", "zero-frames", ("rirs/x.wav", "empty RIR")),
    ("rir", "nan", ("rirs/x.wav", "NaN or inf")),
    ("rir", "inf", ("rirs/x.wav", "NaN or inf")),
    ("rir", "silent", ("rirs/x.wav", "all zeros")),
    ("rir", "truncated-header", ("rirs/x.wav", "not readable audio")),
    ("rir", "truncated-data", ("rirs/x.wav", "truncated WAV")),
    ("rir", "text-file", ("README.txt", "not a RIR file")),
]


@pytest.mark.parametrize("kind, problem, expected", AUDIO_ERRORS,
                         ids=[f"{k}-{p}" for k, p, _ in AUDIO_ERRORS])
def test_bad_audio_file_is_refused_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, problem: str,
    expected: tuple[str, ...],
) -> None:
    def mutate(folder: Path) -> None:
        write_tiny_config(folder, _audio_config(kind))
        _make(kind, folder, problem)

    code, err, out = _run(tmp_path, capsys, mutate)
    _assert_one_line_error(code, err, *expected)
    assert not out.exists()


@pytest.mark.parametrize("value, expected", [("nan", "contains NaN or infinite samples"),
                                             ("inf", "contains NaN or infinite samples"),
                                             ("silent", "noise file is all zeros (silent)")])
def test_noise_with_nan_or_silence_is_refused_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str, expected: str
) -> None:
    """Every noise file's samples are checked (in blocks) before OUT is claimed: one line
    naming the file, and no OUT (it used to hold corpus.yaml and a WAV already)."""

    def mutate(folder: Path) -> None:
        write_tiny_config(folder, _audio_config("noise"))
        _make("noise", folder, value)

    code, err, out = _run(tmp_path, capsys, mutate, ("-j", "2"))
    _assert_one_line_error(code, err, "noise/x.wav", expected)
    assert not out.exists()


AUDIO_FITTED = [
    ("noise", "other-rate", "are not at 16000 Hz and are resampled"),
    ("noise", "stereo", "averaged to mono"),
    ("rir", "other-rate", "resampled to 16000 Hz"),
    ("rir", "stereo", "have 2 channel(s)"),
]


@pytest.mark.parametrize("kind, problem, note", AUDIO_FITTED,
                         ids=[f"{k}-{p}" for k, p, _ in AUDIO_FITTED])
def test_audio_at_another_rate_or_channel_count_is_fitted_and_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, problem: str, note: str
) -> None:
    def mutate(folder: Path) -> None:
        write_tiny_config(folder, _audio_config(kind))
        _make(kind, folder, problem)

    code, err, out = _run(tmp_path, capsys, mutate, ("--limit", "2"))
    assert code == 0, err
    assert "Warning" not in err
    log = (out / "logs" / "generate.log").read_text(encoding="utf-8")
    assert note in log
    check_consistent(out)


# ---- resume ---------------------------------------------------------------------------------


def test_resume_needs_an_earlier_run_of_the_same_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_tiny_config(tmp_path / "cfg", TINY_CONFIG.replace("per_speaker: 6",
                                                                     "per_speaker: 1"))
    out = tmp_path / "out"
    argv = ["generate", str(config), "-o", str(out), "-q"]
    assert main([*argv, "--resume"]) == 2
    _assert_one_line_error(2, capsys.readouterr().err, "no earlier run here to resume")
    assert not out.exists()
    assert main([*argv, "--resume", "--overwrite"]) == 2
    _assert_one_line_error(2, capsys.readouterr().err, "exclude each other")
    assert main(argv) == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    other = write_tiny_config(tmp_path / "other", TINY_CONFIG.replace("seed: 11", "seed: 12"))
    assert main(["generate", str(other), "-o", str(out), "-q", "--resume"]) == 2
    _assert_one_line_error(2, capsys.readouterr().err, "made from another config",
                           "--overwrite")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert main([*argv, "--resume"]) == 0
    assert "rendered now: 0" in capsys.readouterr().out

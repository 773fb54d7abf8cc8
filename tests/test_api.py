"""The public API: ``import synthaudio as sa`` (lazy), the composable transforms, the
DataLoader helper, and the README's example, run as written."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import synthaudio as sa
from synthaudio.augment.augmenter import Augmenter
from synthaudio.augment.config import AugmentConfig as PlainAugmentConfig

SR = 16000
README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> sa.RirBank:
    root = tmp_path_factory.mktemp("api") / "out" / "quickstart" / "rirs"
    return sa.build_rir_bank(root, sa.RoomConfig(rt60_s=(0.3, 0.6)), 3, SR, 0)


def speech() -> np.ndarray:
    from synthaudio.tts.espeak import EspeakEngine
    from synthaudio.tts.espeak_binding import EspeakVoice

    synth = EspeakEngine().synthesize("turn on the kitchen light",
                                      EspeakVoice("en-us", None, 170, 50, 50, 100, 0))
    import soxr

    return np.asarray(soxr.resample(synth.audio, synth.sample_rate, SR), dtype=np.float32)


def test_import_is_lazy_and_fast() -> None:
    # side by side in one process: import synthaudio, then numpy (what an eager import of
    # any stage would cost at least); ratio of the medians of 3 runs
    code = ("import sys, time; t = time.perf_counter(); import synthaudio as sa; "
            "dt = time.perf_counter() - t; "
            "mods = sorted(m for m in sys.modules if m.startswith('synthaudio')); "
            "heavy = [m for m in ('numpy', 'scipy', 'pydantic', 'torch') if m in sys.modules]; "
            "t = time.perf_counter(); import numpy; dn = time.perf_counter() - t; "
            "sa.ConfigError; after = 'synthaudio.errors' in sys.modules; "
            "print(dt, dn, mods, heavy, after)")
    ours, numpys = [], []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, timeout=120).stdout.split(" ", 2)
        ours.append(float(out[0]))
        numpys.append(float(out[1]))
        assert out[2].strip() == "['synthaudio'] [] True"
    assert sorted(ours)[1] < 0.25 * sorted(numpys)[1]


def test_all_names_resolve() -> None:
    assert "Compose" in sa.__all__ and "generate" in sa.__all__ and len(set(sa.__all__)) \
        == len(sa.__all__)
    for name in sa.__all__:
        assert getattr(sa, name) is not None, name
    assert sa.generate.__name__ == "generate_corpus" and sa.export.__name__ == "export_corpus"
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        sa.Nope  # noqa: B018


def test_type_stub_matches_the_lazy_names() -> None:
    import ast

    stub = Path(sa.__file__).with_suffix(".pyi")
    tree = ast.parse(stub.read_text(encoding="utf-8"))
    imported = {a.asname or a.name: f"{node.module}:{a.name}" for node in tree.body
                if isinstance(node, ast.ImportFrom) for a in node.names}
    assert imported == sa._LAZY  # the same names, from the same places
    declared = next(n for n in tree.body if isinstance(n, ast.Assign)
                    and getattr(n.targets[0], "id", "") == "__all__")
    assert ast.literal_eval(declared.value) == sa.__all__


def test_compose_draws_what_the_equivalent_augmenter_draws(bank: sa.RirBank) -> None:
    audio = speech()
    compose = sa.Compose([sa.Reverb(bank, p=0.8), sa.AddNoise(p=0.9, snr_db=(5, 20)),
                          sa.Gain(p=0.5), sa.Codec(p=0.3, kinds={"mulaw": 1})])
    plain = Augmenter(PlainAugmentConfig.model_validate({
        "room": {"probability": 0.8}, "noise": {"probability": 0.9, "snr_db": [5, 20]},
        "channel": {"gain": {"probability": 0.5},
                    "codec": {"probability": 0.3, "kinds": {"mulaw": 1}}}}), rir_bank=bank)
    for seed in range(6):
        a = compose(audio, SR, np.random.default_rng(seed))
        b = plain(audio, SR, np.random.default_rng(seed)).audio
        assert a.dtype == np.float32 and np.array_equal(a, b)


def test_sample_then_apply_with_frozen_params(bank: sa.RirBank) -> None:
    audio = speech()
    aug = sa.Compose([sa.Reverb(bank, p=1.0), sa.AddNoise(p=1.0, snr_db=(10, 10))])
    params = aug.randomize_parameters(audio, SR, np.random.default_rng(4))
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.noise = None  # type: ignore[misc]
    first = aug.apply(audio, SR, params)
    assert np.array_equal(first, aug.apply(audio, SR, params))
    assert np.array_equal(first, aug(audio, SR, np.random.default_rng(4)))
    result = aug.augment(audio, SR, np.random.default_rng(4))
    assert result.report.snr_db == pytest.approx(10.0, abs=1e-3)
    assert first.shape[-1] == audio.size + round(0.25 * SR)  # the default reverb tail
    replay = sa.AugmentParams.from_dict(json.loads(json.dumps(params.to_dict())),
                                        audio.size, SR)
    assert np.array_equal(aug.apply(audio, SR, replay), first)


def test_keep_length_drops_the_reverb_tail(bank: sa.RirBank) -> None:
    audio = speech()
    aug = sa.Compose([sa.Reverb(bank, p=1.0)], keep_length=True)
    out = aug(audio, SR, np.random.default_rng(0))
    assert out.shape[-1] == audio.size
    long = sa.Compose([sa.Reverb(bank, p=1.0)])(audio, SR, np.random.default_rng(0))
    # the same reverberant signal cut at n, its level set on what is kept (normalize_level)
    cut = long[..., : audio.size].astype(np.float64)
    scale = float(np.sum(out * cut) / np.sum(cut * cut))
    assert np.max(np.abs(out - scale * cut)) < 1e-6
    from synthaudio.augment.noise_sources import mean_power

    assert mean_power(out) == pytest.approx(mean_power(audio), rel=1e-4)
    cfg = sa.AugmentConfig(room={"probability": 1})
    assert sa.Augmenter(cfg, rir_bank=bank, keep_length=True)(
        audio, SR, np.random.default_rng(1)).audio.shape[-1] == audio.size


def test_channel_transforms_do_what_their_params_say() -> None:
    t = np.arange(SR) / SR
    tone = (0.1 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    gain = sa.Gain(p=1.0, gain_db=(-6.0, 6.0))
    params = gain.randomize_parameters(tone, SR, np.random.default_rng(2))
    assert params.channel is not None and params.channel.gain_db is not None
    out = gain.apply(tone, SR, params)
    measured_db = 10 * math.log10(np.mean(out.astype(np.float64) ** 2)
                                  / np.mean(tone.astype(np.float64) ** 2))
    assert measured_db == pytest.approx(params.channel.gain_db, abs=1e-4)
    never = sa.Telephone(p=0.0)
    assert np.array_equal(never(tone, SR, np.random.default_rng(0)), tone)
    phone = sa.Telephone(p=1.0)(np.sin(2 * np.pi * 100 * t).astype(np.float32), SR,
                                np.random.default_rng(0))
    assert np.sqrt(np.mean(phone[SR // 4:-SR // 4] ** 2)) < 0.05  # 100 Hz is out of band


def test_one_line_config_errors() -> None:
    cases = [
        (lambda: sa.AddNoise(snr_db=(20, 5)),
         "AddNoise: snr_db: inverted range [20.0, 5.0] (min must be <= max)"),
        (lambda: sa.AddNoise(kinds={"hvca": 1}), "AddNoise: kinds: unknown noise kind 'hvca'"),
        (lambda: sa.Gain(p=2.0), "Gain: probability: Input should be less than or equal to 1"),
        (lambda: sa.Speed(factorz=(1.0,)), "Speed: factorz: unknown key 'factorz'"),
        (lambda: sa.AugmentConfig(noise={"snr_db": (20, 5)}),
         "AugmentConfig: noise: snr_db: inverted range"),
        (lambda: sa.Compose([sa.Codec(), sa.AddNoise()]),
         "Compose: AddNoise cannot come after Codec"),
    ]
    for build, start in cases:
        with pytest.raises(sa.ConfigError) as err:
            build()
        assert str(err.value).startswith(start) and "\n" not in str(err.value)
        assert isinstance(err.value, ValueError)


class _Clips:
    """A map-style dataset augmenting with its own Generator (``self.rng``)."""

    def __init__(self, clip: np.ndarray, n: int) -> None:
        self.clip, self.n, self.rng = clip, n, np.random.default_rng(0)
        self.augment = sa.Compose([sa.AddNoise(p=1.0, snr_db=(0, 30)), sa.Gain(p=1.0)])

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[object, int]:
        import torch

        info = torch.utils.data.get_worker_info()
        out = self.augment(self.clip, SR, self.rng)
        return torch.from_numpy(out), -1 if info is None else info.id


def test_dataloader_workers_get_distinct_reproducible_streams() -> None:
    import torch
    clip = speech()[:8000]

    def run(seed: int, init: object) -> tuple[list[np.ndarray], list[int]]:
        loader = torch.utils.data.DataLoader(
            _Clips(clip, 8), batch_size=None, num_workers=2, worker_init_fn=init,
            generator=torch.Generator().manual_seed(seed))
        items = list(loader)
        return [x.numpy() for x, _ in items], [w for _, w in items]

    a, workers = run(7, sa.worker_init_fn)
    assert sorted(set(workers)) == [0, 1]
    # without the helper both workers draw the same values: the first item of each is equal
    same, w = run(7, None)
    first = {wid: same[i] for i, wid in reversed(list(enumerate(w)))}
    assert np.array_equal(first[0], first[1])
    # with it: every item differs, and a second run with the same seed is identical
    assert len({x.tobytes() for x in a}) == len(a)
    again, _ = run(7, sa.worker_init_fn)
    assert all(np.array_equal(x, y) for x, y in zip(a, again, strict=True))
    other, _ = run(8, sa.worker_init_fn)
    assert not any(np.array_equal(x, y) for x, y in zip(a, other, strict=True))


def readme_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Environments, as a Python API"):]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


def test_readme_example_runs(bank: sa.RirBank, tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    code = readme_example()
    assert "import synthaudio as sa" in code and "sa.Compose(" in code
    root = bank.root.parents[2]  # the fixture made out/quickstart/rirs under it
    monkeypatch.chdir(root)
    sf.write(root / "speech.wav", speech(), SR, subtype="PCM_16")
    namespace: dict[str, object] = {"__name__": "readme"}
    exec(compile(code, str(README), "exec"), namespace)  # noqa: S102 - our own README
    audio = namespace["audio"]
    assert isinstance(audio, np.ndarray)
    out = namespace["out"]
    assert isinstance(out, np.ndarray) and out.shape[-1] == audio.size  # keep_length
    batches = namespace["batches"]
    assert isinstance(batches, list) and len(batches) == 2
    assert tuple(batches[0].shape) == (4, audio.size)
    assert os.path.isfile(root / "speech.wav")

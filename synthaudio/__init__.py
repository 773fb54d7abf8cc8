"""synthaudio: synthetic speech corpora for training and testing ASR.

The public API is flat::

    import synthaudio as sa
    sa.generate("corpus.yaml", "out")                  # a corpus (as `synthaudio generate`)
    augment = sa.Compose([sa.Reverb(bank, p=0.8), sa.AddNoise(snr_db=(5, 20)), sa.Codec(p=0.2)])

Names are imported on first use (PEP 562), so ``import synthaudio`` loads no numpy and no
pipeline stage; deep imports (``synthaudio.augment.noise``...) are for extending it.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> "module:attribute"
_LAZY: dict[str, str] = {
    # pipelines (each is what one CLI subcommand calls)
    "generate": "synthaudio.pipelines.generate.pipeline:generate_corpus",
    "augment_kaldi_dir": "synthaudio.pipelines.augment_dir.pipeline:augment_kaldi_dir",
    "export": "synthaudio.manifests.export:export_corpus",
    "validate": "synthaudio.manifests.validate:validate_corpus",
    "evaluate": "synthaudio.evaluate.evaluate:evaluate_corpus",
    "evaluate_kaldi_dir": "synthaudio.evaluate.evaluate:evaluate_kaldi_dir",
    "build_rir_bank": "synthaudio.augment.rirbank:build_rir_bank",
    "load_corpus_config": "synthaudio.pipelines.generate.config:load_corpus_config",
    # conversations (issue 17)
    "generate_sessions": "synthaudio.pipelines.sessions.pipeline:generate_sessions",
    "evaluate_sessions": "synthaudio.pipelines.sessions.evaluate:evaluate_sessions",
    "make_keywords": "synthaudio.pipelines.keywords.pipeline:make_keywords",
    "find_confusables": "synthaudio.pipelines.keywords.confusable:find_confusables",
    # augmentation
    "Augmenter": "synthaudio.augment.augmenter:Augmenter",
    "AugmentConfig": "synthaudio.augment.transforms:AugmentConfig",
    "AugmentParams": "synthaudio.augment.augmenter:AugmentParams",
    "AugmentResult": "synthaudio.augment.augmenter:AugmentResult",
    "RirBank": "synthaudio.augment.rirbank:RirBank",
    "RoomConfig": "synthaudio.augment.room.config:RoomConfig",
    "NoiseFolder": "synthaudio.augment.noise:NoiseFolder",
    "mix_at_snr": "synthaudio.augment.noise:mix_at_snr",
    # composable transforms
    "Compose": "synthaudio.augment.transforms:Compose",
    "Speed": "synthaudio.augment.transforms:Speed",
    "Reverb": "synthaudio.augment.transforms:Reverb",
    "AddNoise": "synthaudio.augment.transforms:AddNoise",
    "Eq": "synthaudio.augment.transforms:Eq",
    "Clipping": "synthaudio.augment.transforms:Clipping",
    "Gain": "synthaudio.augment.transforms:Gain",
    "BitDepth": "synthaudio.augment.transforms:BitDepth",
    "BandLimit": "synthaudio.augment.transforms:BandLimit",
    "Telephone": "synthaudio.augment.transforms:Telephone",
    "Resample": "synthaudio.augment.transforms:Resample",
    "Codec": "synthaudio.augment.transforms:Codec",
    "PacketLoss": "synthaudio.augment.transforms:PacketLoss",
    # PyTorch DataLoader workers
    "worker_init_fn": "synthaudio.augment.dataloader:worker_init_fn",
    "worker_rng": "synthaudio.augment.dataloader:worker_rng",
    "SeedWorkers": "synthaudio.augment.dataloader:SeedWorkers",
    # extension points (registries) for plugin authors
    "EngineEntry": "synthaudio.tts.engines:EngineEntry",
    "ExportFormat": "synthaudio.manifests.formats:ExportFormat",
    "NoiseKind": "synthaudio.augment.noise_kinds:NoiseKind",
    # errors
    "SynthaudioError": "synthaudio.errors:SynthaudioError",
    "ConfigError": "synthaudio.errors:ConfigError",
    "InputError": "synthaudio.errors:InputError",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'synthaudio' has no attribute {name!r}")
    module, _, attr = target.partition(":")
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


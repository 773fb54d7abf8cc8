"""The session plan: what session ``i`` is (split, talkers, their voices, levels and places,
the room, the target length), drawn from ``[seed, STREAM_SESSION, i]`` alone.

Sessions are computed from their index on demand (:class:`SessionList`), so memory does not
grow with their number. The corpus plan (:func:`generate.plan.plan_corpus`) gives
the pool of speakers (each in one split) and the normalized text prompts; dialogue files
(``speaker<TAB>text`` lines, one conversation per file) are read and normalized here.
What is drawn while rendering (the turns' texts, the timeline, the noise) comes from the
session's own sub-streams (:func:`session_rng`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synthaudio.augment.room.config import Vec3
from synthaudio.augment.room.sampling import RoomParams, place_talker, sample_room
from synthaudio.errors import ConfigKeyError, InputError
from synthaudio.pipelines.generate.plan import CorpusPlan, PlannedPrompt, plan_corpus
from synthaudio.pipelines.sessions.config import SessionCorpusConfig
from synthaudio.splits import SPLITS
from synthaudio.streams import STREAM_SESSION, item_rng
from synthaudio.text.normalize import TextNormalizer
from synthaudio.tts.speakers import SpeakerParams

# Sub-streams of one session, in a fixed order: each stage draws from its own.
SUB_PLAN, SUB_TURNS, SUB_TIMELINE, SUB_PROSODY, SUB_NOISE, SUB_MOVES = range(6)


session_rng = item_rng(STREAM_SESSION)  # the stream of stage ``sub`` of session ``index``


def session_id(index: int) -> str:
    """``session-000012``: the record id (speaker part ``session``) and the file name."""
    return f"session-{index:06d}"


@dataclass(frozen=True)
class DialogueLine:
    label: str  # the speaker label as written in the file
    raw_text: str
    text: str  # normalized spoken form
    where: str  # file:line


@dataclass(frozen=True)
class Talker:
    speaker: SpeakerParams
    level_db: float  # gain at the source, relative to the TTS output
    position_m: Vec3 | None  # in the session's room (None: no room)
    label: str | None = None  # dialogue label this talker speaks

    def to_dict(self) -> dict[str, Any]:
        return {"speaker": self.speaker.speaker_id, "gender": self.speaker.gender,
                "label": self.label, "level_db": self.level_db,
                "position_m": None if self.position_m is None else list(self.position_m),
                "voice": self.speaker.to_dict()}  # engine, voice (each turn: its jitter)


@dataclass(frozen=True)
class SessionSpec:
    index: int
    session_id: str
    split: str
    talkers: tuple[Talker, ...]
    length_s: float  # target: turns are added until the speech reaches it
    lead_s: float  # silence before the first word
    trail_s: float  # silence after the last word
    room: RoomParams | None
    dialogue: int | None  # index of the dialogue file it follows (None: text prompts)


def read_dialogue(path: Path, normalizer: TextNormalizer) -> tuple[DialogueLine, ...]:
    """The lines of a dialogue file: ``speaker<TAB>text``, blank lines and ``#`` comments
    skipped; InputError naming ``file:line`` for a malformed or unspeakable line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: dialogue file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read dialogue file ({exc})") from None
    lines = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{path}:{n}"
        label, tab, raw = line.partition("\t")
        if not tab or not label.strip() or not raw.strip():
            raise InputError(f"{where}: expected 'speaker<TAB>text'")
        spoken = normalizer(raw)
        if not spoken:
            raise InputError(f"{where}: nothing speakable in {raw.strip()!r}")
        lines.append(DialogueLine(label.strip(), raw.strip(), spoken, where))
    if not lines:
        raise InputError(f"{path}: dialogue file has no lines")
    return tuple(lines)


def dialogue_labels(lines: Sequence[DialogueLine]) -> tuple[str, ...]:
    """The speaker labels of a dialogue in order of first appearance."""
    return tuple(dict.fromkeys(line.label for line in lines))


class SessionList(Sequence[SessionSpec]):
    """The corpus's sessions, drawn from their index on demand."""

    def __init__(self, cfg: SessionCorpusConfig, pools: dict[str, tuple[SpeakerParams, ...]],
                 dialogues: tuple[tuple[DialogueLine, ...], ...]) -> None:
        self.cfg, self.pools, self.dialogues = cfg, pools, dialogues
        need = [len(dialogue_labels(d)) for d in dialogues] or [cfg.sessions.speakers[0]]
        self.splits = tuple(s for s in SPLITS
                            if getattr(cfg.splits, s) > 0 and len(pools[s]) >= max(need))
        if not self.splits:
            have = ", ".join(f"{s}: {len(pools[s])}" for s in SPLITS)
            raise ConfigKeyError(f"sessions: no split has the {max(need)} speakers a session "
                              f"needs (speakers per split: {have}); raise speakers.count")
        weights = np.array([getattr(cfg.splits, s) for s in self.splits])
        self._weights = weights / weights.sum()

    def __len__(self) -> int:
        return self.cfg.sessions.count

    def __getitem__(self, index: int) -> SessionSpec:  # type: ignore[override]
        if not 0 <= index < len(self):
            raise IndexError(index)
        cfg, sess = self.cfg, self.cfg.sessions
        rng = session_rng(cfg.seed, index, SUB_PLAN)
        split = self.splits[int(rng.choice(len(self.splits), p=self._weights))]
        pool = self.pools[split]
        dialogue = index % len(self.dialogues) if self.dialogues else None
        if dialogue is not None:
            labels: tuple[str | None, ...] = dialogue_labels(self.dialogues[dialogue])
        else:
            count = int(rng.integers(sess.speakers[0], sess.speakers[1] + 1))
            labels = (None,) * min(count, len(pool))
        chosen = rng.choice(len(pool), size=len(labels), replace=False)
        length_s = round(float(rng.uniform(*sess.length_s)), 3)
        lead_s, trail_s = (round(float(rng.uniform(*sess.lead_s)), 3) for _ in range(2))
        levels = [round(float(rng.uniform(*sess.level_db)), 2) for _ in labels]
        room, positions = self._room(rng, len(labels))
        talkers = tuple(Talker(pool[int(c)], lv, pos, label) for c, lv, pos, label
                        in zip(chosen, levels, positions, labels, strict=True))
        return SessionSpec(index, session_id(index), split, talkers, length_s, lead_s,
                           trail_s, room, dialogue)

    def _room(self, rng: np.random.Generator, talkers: int,
              ) -> tuple[RoomParams | None, list[Vec3 | None]]:
        aug = self.cfg.augment
        if aug is None or aug.room.probability <= 0 or rng.random() >= aug.room.probability:
            return None, [None] * talkers
        room = sample_room(aug.room.simulation, rng)
        positions: list[Vec3 | None] = [room.source_pos_m]
        positions += [place_talker(aug.room.simulation, room, rng) for _ in range(talkers - 1)]
        return room, positions

    def __iter__(self) -> Iterator[SessionSpec]:
        return (self[i] for i in range(len(self)))


@dataclass(frozen=True)
class SessionPlan:
    corpus: CorpusPlan  # speakers (with splits) and the normalized prompts
    sessions: SessionList
    dialogues: tuple[tuple[DialogueLine, ...], ...]
    backchannels: tuple[str, ...]  # normalized

    @property
    def prompts(self) -> tuple[PlannedPrompt, ...]:
        return self.corpus.prompts


def plan_sessions(cfg: SessionCorpusConfig, config_dir: Path) -> SessionPlan:
    """Draw the speaker pool and read the text (prompts, dialogue files); ConfigError or
    InputError before anything is written."""
    corpus = plan_corpus(cfg, config_dir)
    pools = {s: tuple(p for p in corpus.speakers if corpus.splits[p.speaker_id] == s)
             for s in SPLITS}
    normalizer = TextNormalizer(cfg.language)
    dialogues = tuple(read_dialogue(_resolve(config_dir, f), normalizer)
                      for f in cfg.sessions.dialogues)
    backchannels = tuple(t for t in (normalizer(b) for b in cfg.sessions.backchannels) if t)
    return SessionPlan(corpus, SessionList(cfg, pools, dialogues), dialogues, backchannels)


def _resolve(base: Path, name: str) -> Path:
    path = Path(name)
    return path if path.is_absolute() else base / path

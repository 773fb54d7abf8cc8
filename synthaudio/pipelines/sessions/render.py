"""Render one session: turns by TTS, placed on the time line, in one room, with noise.

Each talker keeps one voice for the session (prosody jittered per turn as in ``generate``)
and stands at their own place in the session's room; every talker is heard through the
same microphone or array (a turn is convolved with the RIR from where its talker stands
then; ``move_probability`` moves a talker before a turn). A talker's **stem** is the sum of
their turns at the microphones, ``(K, n)``; the noise (diffuse or a point source in the
same room) is mixed at the drawn SNR against the sum of the stems, so
``mix = sum(stems) + noise`` exactly (all turned down together if it would clip). Labels
are measured: word times move by each RIR's direct-path delay, the RTTM segments and
ratios come from them (:mod:`.labels`), the SNR from the stems, the RT60 from each RIR.
Arrays are float32 ``(K, n)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.fft

from synthaudio.augment.acoustics import direct_path_index, measure_rt60
from synthaudio.augment.augmenter import fit_full_scale
from synthaudio.augment.noise import (
    NoiseFolder,
    measure_snr_db,
    mix_at_snr,
    render_noise,
    sample_noise,
)
from synthaudio.augment.noise_sources import mean_power
from synthaudio.augment.rirbank import apply_reverb
from synthaudio.augment.room.config import Vec3
from synthaudio.augment.room.sampling import place_talker
from synthaudio.io.metadata import MetadataRecord
from synthaudio.pipelines.generate.render import (
    STEM_FORMAT,
    check_path_component,
    write_files,
)
from synthaudio.pipelines.sessions.config import SessionCorpusConfig
from synthaudio.pipelines.sessions.labels import (
    mask_ratios,
    measure_ratios,
    speech_segments,
    stem_activity,
)
from synthaudio.pipelines.sessions.plan import (
    SUB_MOVES,
    SUB_NOISE,
    SUB_PROSODY,
    SUB_TIMELINE,
    SUB_TURNS,
    DialogueLine,
    SessionSpec,
    session_rng,
)
from synthaudio.pipelines.sessions.timeline import DryTurn, PlacedTurn, Timeline
from synthaudio.tts.render import SpeechRenderer

_MAX_TURNS = 100_000  # a session that reaches no length (it cannot: every turn speaks)
_CUT_FADE_S = 0.01  # fade-out where an interrupted turn's audio is cut
STEMS_DIR = "stems"


@dataclass(frozen=True)
class TextPool:
    """What turns say: the corpus's normalized prompts, the dialogues, the backchannels."""

    prompts: tuple[str, ...]
    dialogues: tuple[tuple[DialogueLine, ...], ...]
    backchannels: tuple[str, ...]


def session_audio_path(spec: SessionSpec, fmt: str) -> str:
    return f"audio/{check_path_component(spec.split)}/{check_path_component(spec.session_id)}.{fmt}"


class SessionRenderer:
    """Makes the audio, stems and record of sessions, one at a time (one per worker)."""

    def __init__(self, cfg: SessionCorpusConfig, text: TextPool, config_dir: Path | None,
                 noise_dirs: tuple[str, ...] = ()) -> None:
        self.cfg, self.text = cfg, text
        self.tts = SpeechRenderer(cfg.speakers, cfg.audio.sample_rate, config_dir)
        self.folders = [NoiseFolder(d) for d in noise_dirs]

    # --- turns ----------------------------------------------------------------------

    def _speak(self, spec: SessionSpec, talker: int, kind: str, text: str,
               rng: np.random.Generator) -> tuple[DryTurn, np.ndarray, dict[str, Any]]:
        said = self.tts.say(text, spec.talkers[talker].speaker, rng)
        return (DryTurn(talker, kind, text, tuple(said.words), int(said.audio.size)), said.audio,
                said.tts)

    def _turn_text(self, rng: np.random.Generator) -> str:
        want = int(rng.integers(self.cfg.sessions.turn_words[0],
                                self.cfg.sessions.turn_words[1] + 1))
        words: list[str] = []
        while len(words) < want:
            words += self.text.prompts[int(rng.integers(len(self.text.prompts)))].split()
        return " ".join(words)

    def place_turns(self, spec: SessionSpec,
                    ) -> tuple[Timeline, dict[int, np.ndarray], dict[int, dict[str, Any]]]:
        """Synthesize and place the session's turns: the time line, the dry audio and TTS
        parameters of each turn (by ``id`` of its DryTurn)."""
        sess, seed = self.cfg.sessions, self.cfg.seed
        turns_rng = session_rng(seed, spec.index, SUB_TURNS)
        prosody = session_rng(seed, spec.index, SUB_PROSODY)
        timeline = Timeline(sess, spec.lead_s, spec.trail_s,
                            session_rng(seed, spec.index, SUB_TIMELINE))
        audio: dict[int, np.ndarray] = {}
        tts: dict[int, dict[str, Any]] = {}
        labels = [t.label for t in spec.talkers]
        lines = self.text.dialogues[spec.dialogue] if spec.dialogue is not None else ()
        n = len(spec.talkers)
        previous = -1
        spoken: set[int] = set()  # talkers with a turn (a session ends when all have one)
        with self.tts.tts_session(t.speaker.voice for t in spec.talkers):
            for k in range(_MAX_TURNS):
                if lines:
                    if k >= len(lines):
                        break  # a dialogue ends the session where it ends
                    talker, text = labels.index(lines[k].label), lines[k].text
                else:  # anyone but the last talker; first those who have not spoken
                    others = [i for i in range(n) if i != previous or n == 1]
                    silent = [i for i in others if i not in spoken]
                    pick = silent or others
                    talker = pick[int(turns_rng.integers(len(pick)))]
                    text = self._turn_text(turns_rng)
                dry, wave, params = self._speak(spec, talker, "turn", text, prosody)
                if not any(w.dur_s > 0 for w in dry.words):
                    continue
                timeline.add(dry)
                audio[id(dry)], tts[id(dry)] = wave, params
                previous = talker
                spoken.add(talker)
                if n > 1 and self.text.backchannels and \
                        turns_rng.random() < sess.backchannel_probability:
                    other = int(turns_rng.integers(n - 1))
                    other += int(other >= talker)
                    said = self.text.backchannels[int(turns_rng.integers(
                        len(self.text.backchannels)))]
                    bc, wave, params = self._speak(spec, other, "backchannel", said, prosody)
                    if any(w.dur_s > 0 for w in bc.words) and timeline.add_backchannel(bc):
                        audio[id(bc)], tts[id(bc)] = wave, params
                if timeline.end_s >= spec.length_s - spec.trail_s and len(spoken) == n:
                    break
        return timeline, audio, tts

    # --- acoustics ------------------------------------------------------------------

    def render(self, spec: SessionSpec, out_dir: Path) -> dict[str, Any]:
        """Render ``spec``, write its audio and stems atomically, return its record."""
        cfg, sr = self.cfg, self.cfg.audio.sample_rate
        timeline, dry, tts = self.place_turns(spec)
        n = int(round(timeline.duration_s * sr))
        room = spec.room
        k = 1 if room is None else room.num_mics
        stems = np.zeros((len(spec.talkers), k, n), dtype=np.float32)
        rirs: dict[Vec3, tuple[np.ndarray, float]] = {}  # position -> (RIR, direct delay)
        positions = [t.position_m for t in spec.talkers]
        moves = session_rng(cfg.seed, spec.index, SUB_MOVES)
        assert cfg.augment is not None or room is None
        turn_records = []
        for placed in sorted(timeline.turns, key=lambda t: (t.start_s, t.turn.talker)):
            talker = placed.turn.talker
            if room is not None and cfg.augment is not None and placed.turn.kind == "turn" \
                    and moves.random() < cfg.sessions.move_probability:
                positions[talker] = place_talker(cfg.augment.room.simulation, room, moves)
            wave = _cut(dry[id(placed.turn)], placed.keep_s, sr)
            wave = wave * np.float32(10 ** (spec.talkers[talker].level_db / 20))
            delay = 0.0
            pos = positions[talker]
            if room is not None and pos is not None:
                if pos not in rirs:
                    rir = _room_rir(room, pos, sr)
                    rirs[pos] = (rir, direct_path_index(rir) / sr)
                rir, delay = rirs[pos]
                wet = apply_reverb(wave, rir)
                if cfg.augment is not None and cfg.augment.room.normalize_level:
                    power = mean_power(wet)
                    if power > 0:
                        wet *= np.float32(math.sqrt(mean_power(wave[None, :]) / power))
            else:
                wet = wave[None, :]
            start = int(round(placed.offset_s * sr))
            stop = min(n, start + wet.shape[1])
            stems[talker, :, start:stop] += wet[:, : stop - start]
            turn_records.append(_turn_record(spec, placed, delay, tts[id(placed.turn)], pos))
        speech = stems.sum(axis=0)
        noise, noise_info = self._noise(spec, speech, n, rirs)
        mix = speech + noise
        mix, _, noise, gain_db = fit_full_scale(mix, speech, noise)
        if gain_db:
            stems *= np.float32(10 ** (gain_db / 20))
            mix = stems.sum(axis=0) + noise
        return self._write(spec, out_dir, mix, stems, noise, noise_info, gain_db, turn_records,
                           rirs, timeline)

    def _noise(self, spec: SessionSpec, speech: np.ndarray, n: int,
               rirs: dict[Vec3, tuple[np.ndarray, float]],
               ) -> tuple[np.ndarray, dict[str, Any] | None]:
        aug, sr = self.cfg.augment, self.cfg.audio.sample_rate
        rng = session_rng(self.cfg.seed, spec.index, SUB_NOISE)
        if aug is None or aug.noise.probability <= 0 or rng.random() >= aug.noise.probability \
                or not np.any(speech):
            return np.zeros_like(speech), None
        # drawn for a length the FFT of the coloured noises is fast at, then cut to n (a
        # long session's sample count may have large prime factors: 5x slower)
        params = sample_noise(aug.noise, rng, num_samples=scipy.fft.next_fast_len(n, real=True),
                              sample_rate=sr, point_source_ok=spec.room is not None,
                              folders=self.folders)
        noise_rir = None
        if spec.room is not None and any(s.placement == "point" for s in params.sources):
            noise_rir = _room_rir(spec.room, None, sr)
        stem = render_noise(params, sr, speech.shape[0], noise_rir=noise_rir,
                            folders=self.folders)[:, :n]
        if not np.any(stem):
            return np.zeros_like(speech), None
        _, noise = mix_at_snr(speech, stem, params.snr_db)
        return noise, {**params.to_dict(), "snr_db_measured": round(
            measure_snr_db(speech, noise), 3)}

    def _write(self, spec: SessionSpec, out_dir: Path, mix: np.ndarray, stems: np.ndarray,
               noise: np.ndarray, noise_info: dict[str, Any] | None, gain_db: float,
               turns: list[dict[str, Any]], rirs: dict[Vec3, tuple[np.ndarray, float]],
               timeline: Timeline) -> dict[str, Any]:
        cfg, sr = self.cfg, self.cfg.audio.sample_rate
        rel = session_audio_path(spec, cfg.audio.format)
        k, n = mix.shape
        squeeze = (lambda a: a[0]) if k == 1 else (lambda a: a)
        stem_dir = f"{STEMS_DIR}/{check_path_component(spec.session_id)}"
        stem_paths = {t.speaker.speaker_id:
                      f"{stem_dir}/{check_path_component(t.speaker.speaker_id)}.wav"
                      for t in spec.talkers}
        files: list[tuple[Path, np.ndarray, int, str]] = [
            (out_dir / rel, squeeze(mix), sr, cfg.audio.format)]
        files += [(out_dir / stem_paths[t.speaker.speaker_id], squeeze(stems[i]), sr, STEM_FORMAT)
                  for i, t in enumerate(spec.talkers)]
        if noise_info is not None:
            stem_paths["noise"] = f"{stem_dir}/noise.wav"
            files.append((out_dir / stem_paths["noise"], squeeze(noise), sr, STEM_FORMAT))
        write_files(files)
        duration_s = n / sr
        words = [(t["speaker"], s, s + d) for t in turns for _, s, d in t["words"]]
        segments = speech_segments(words, cfg.sessions.merge_gap_s)
        ratios = measure_ratios(segments, duration_s)
        masks = [stem_activity(stems[i], sr, cfg.sessions.merge_gap_s)
                 for i in range(len(spec.talkers))]
        from_stems = mask_ratios(masks, 0.01, duration_s)
        talkers = [t.to_dict() for t in spec.talkers]
        rt60 = [measure_rt60(r, sr) for r, _ in rirs.values()]
        session = {
            "num_speakers": len(spec.talkers),
            "talkers": talkers,
            "targets": {"length_s": spec.length_s, "overlap_ratio": cfg.sessions.overlap_ratio,
                        "silence_ratio": cfg.sessions.silence_ratio},
            "measured": {**ratios.to_dict(),
                         "stems": {"overlap_ratio": round(from_stems.overlap_ratio, 4),
                                   "silence_ratio": round(from_stems.silence_ratio, 4)},
                         "rt60_s": round(float(np.mean(rt60)), 4) if rt60 else None,
                         "snr_db": None if noise_info is None else noise_info["snr_db_measured"],
                         "output_gain_db": gain_db,
                         "peak": round(float(np.max(np.abs(mix))), 4)},
            "room": None if spec.room is None else spec.room.to_dict(),
            "noise": noise_info,
            "dialogue": spec.dialogue,
            "segments": [[s.speaker, s.start_s, s.end_s] for s in segments],
            "turns": turns,
            "stems": stem_paths,
        }
        text = " ".join(t["text"] for t in turns)
        return MetadataRecord(
            id=spec.session_id, split=spec.split, speaker="session", lang=cfg.language,
            text=text, audio=rel, duration_s=round(duration_s, 6), sample_rate=sr,
            num_channels=k, extra={"session": session}).to_dict()


def _room_rir(room: Any, position: Vec3 | None, sample_rate: int) -> np.ndarray:
    """The RIR from ``position`` (None: the room's noise source) to the microphones."""
    from dataclasses import replace

    from synthaudio.augment.room.simulation import simulate_rir  # pyroomacoustics: on use

    if position is None:
        return simulate_rir(room, sample_rate, "noise")
    return simulate_rir(replace(room, source_pos_m=position), sample_rate)


def _cut(audio: np.ndarray, keep_s: float | None, sample_rate: int) -> np.ndarray:
    """``audio`` up to ``keep_s`` (an interrupted turn), faded out over 10 ms after it."""
    if keep_s is None:
        return audio
    stop = min(audio.size, int(round(keep_s * sample_rate)))
    fade = min(audio.size - stop, int(round(_CUT_FADE_S * sample_rate)))
    out = audio[: stop + fade].copy()
    if fade:
        out[stop:] *= np.linspace(1.0, 0.0, fade, endpoint=False, dtype=np.float32)
    return out


def _turn_record(spec: SessionSpec, placed: PlacedTurn, delay_s: float, tts: dict[str, Any],
                 position: Vec3 | None) -> dict[str, Any]:
    """One turn as recorded: its words in session time (with the direct-path delay)."""
    words: list[tuple[str, float, float]] = [
        (w, round(s + delay_s, 3), round(e - s, 3)) for w, s, e in placed.words]
    talker = spec.talkers[placed.turn.talker]
    return {
        "speaker": talker.speaker.speaker_id,
        "kind": placed.turn.kind,
        "text": " ".join(w for w, _, _ in placed.words),
        "start_s": words[0][1],
        "end_s": round(words[-1][1] + words[-1][2], 3),
        "offset_s": placed.offset_s,
        "direct_delay_s": round(delay_s, 5),
        "position_m": None if position is None else list(position),
        **placed.relation,
        "words": words,
        "tts": tts,
    }

"""Session corpora end to end: labels against the audio, targets, determinism, resume,
exports read by the real tools (Kaldi's validator, lhotse, pyannote, meeteval)."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from sessutil import DRY_CONFIG, ROOM_CONFIG, tree_hashes, write_config

from synthaudio.cli import main
from synthaudio.errors import ConfigError, InputError
from synthaudio.io.kaldi import read_kaldi_dir
from synthaudio.io.metadata import iter_metadata
from synthaudio.pipelines.sessions.config import load_sessions_config
from synthaudio.pipelines.sessions.export import session_file
from synthaudio.pipelines.sessions.labels import Segment, mask_ratios, segment_mask, stem_activity
from synthaudio.pipelines.sessions.pipeline import generate_sessions
from synthaudio.pipelines.sessions.plan import plan_sessions

KALDI_UTILS = Path(__file__).resolve().parents[1] / "manifests" / "kaldi_utils"
FRAME_S = 0.01


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(config, OUT) of a 4-session corpus in rooms with noise, made with -j 1."""
    root = tmp_path_factory.mktemp("sessions")
    config = write_config(root / "cfg")
    generate_sessions(config, root / "out", jobs=1, progress=False)
    return config, root / "out"


def _read(path: Path) -> np.ndarray:
    x, _ = sf.read(str(path), dtype="float32", always_2d=True)
    return x.T  # (K, n)


def _sessions(out: Path) -> list[tuple[str, str, float, dict]]:  # type: ignore[type-arg]
    return [(r.id, r.split, r.duration_s, dict(r.extra["session"])) for r in iter_metadata(out)]


def test_rttm_overlap_equals_the_stems_overlap_and_segments_hold_the_speaker(
        corpus: tuple[Path, Path]) -> None:
    from pyannote.database.util import load_rttm

    _, out = corpus
    kinds = set()
    for sid, split, duration, session in _sessions(out):
        ann = load_rttm(str(session_file(out, "rttm", split, sid)))[sid]
        speech = ann.get_timeline().support().duration()
        overlap = ann.get_overlap().duration()
        sr = sf.info(str(out / session["stems"][session["talkers"][0]["speaker"]])).samplerate
        masks, segments = [], [Segment(*s) for s in session["segments"]]
        for talker in session["talkers"]:
            spk = talker["speaker"]
            stem = _read(out / session["stems"][spk])
            active = stem_activity(stem, sr, 0.3, FRAME_S)
            masks.append(active)
            labelled = segment_mask(segments, spk, active.size, FRAME_S)
            assert labelled.any(), (sid, spk)  # every talker of a session speaks
            for seg in segments:  # each segment is this speaker's speech, not silence
                if seg.speaker == spk:
                    lo, hi = int(seg.start_s / FRAME_S), int(math.ceil(seg.end_s / FRAME_S))
                    assert active[lo:hi].mean() > 0.9, (sid, seg)
            # and outside the speaker's segments (0.3 s of reverberant tail aside) it is quiet
            tail = segment_mask([Segment(s.speaker, s.start_s, s.end_s + 0.3)
                                 for s in segments], spk, active.size, FRAME_S)
            assert active[~tail].mean() < 0.02, (sid, spk)
        from_stems = mask_ratios(masks, FRAME_S, duration)
        assert abs(overlap / speech - from_stems.overlap_ratio) < 0.02, sid
        assert abs((duration - speech) / duration - from_stems.silence_ratio) < 0.02, sid
        measured = session["measured"]  # the record says what pyannote reads from the RTTM
        assert measured["overlap_ratio"] == pytest.approx(overlap / speech, abs=1e-3)
        assert measured["silence_ratio"] == pytest.approx((duration - speech) / duration,
                                                          abs=1e-3)
        assert {t["speaker"] for t in session["talkers"]} == set(ann.labels())
        for talker in session["talkers"]:  # nobody talks over themself
            spans = sorted((t["start_s"], t["end_s"]) for t in session["turns"]
                           if t["speaker"] == talker["speaker"])
            assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False)), sid
        kinds.update(t["kind"] for t in session["turns"])
        kinds.update(k for t in session["turns"] for k in ("interrupts", "overlap_s", "gap_s")
                     if k in t)
    assert kinds >= {"turn", "backchannel", "overlap_s", "gap_s"}


def test_mix_is_the_stems_plus_noise_at_the_measured_snr_and_rt60(
        corpus: tuple[Path, Path]) -> None:
    from synthaudio.augment.noise import measure_snr_db

    _, out = corpus
    moved = 0
    for sid, split, duration, session in _sessions(out):
        mix = _read(out / f"audio/{split}/{sid}.wav")
        stems = sum(_read(out / session["stems"][t["speaker"]]) for t in session["talkers"])
        noise = _read(out / session["stems"]["noise"])
        assert mix.shape == stems.shape == noise.shape
        assert mix.shape[1] == round(duration * sf.info(str(out / f"audio/{split}/{sid}.wav"))
                                     .samplerate)
        assert np.max(np.abs(mix - (stems + noise))) < 2 / 32767  # 16-bit rounding
        snr = measure_snr_db(stems, noise)
        assert snr == pytest.approx(session["measured"]["snr_db"], abs=0.01)
        assert session["noise"]["snr_db"] == pytest.approx(snr, abs=0.01)
        target = session["room"]["rt60_target_s"]
        assert session["measured"]["rt60_s"] == pytest.approx(target, rel=0.1)
        positions = {tuple(t["position_m"]) for t in session["talkers"]}
        assert len(positions) == len(session["talkers"])  # each talker in their own place
        for t in session["talkers"]:  # a talker who moved is heard from the new place
            places = {tuple(u["position_m"]) for u in session["turns"]
                      if u["speaker"] == t["speaker"]}
            moved += len(places - {tuple(t["position_m"])})
            delays = {u["direct_delay_s"] for u in session["turns"]
                      if u["speaker"] == t["speaker"]}
            assert len(delays) <= len(places | {tuple(t["position_m"])})
    assert moved > 0


def test_exports_validate_with_the_real_readers(corpus: tuple[Path, Path]) -> None:
    import lhotse
    from meeteval.io import SegLST
    from pyannote.database.util import load_rttm, load_uem

    _, out = corpus
    splits = sorted({split for _, split, _, _ in _sessions(out)})
    for split in splits:
        data = out / "data" / split
        done = subprocess.run(["bash", "utils/validate_data_dir.sh", "--no-feats", str(data)],
                              cwd=KALDI_UTILS, capture_output=True, text=True, timeout=60,
                              env={"PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C"})
        assert "Successfully validated data-directory" in done.stdout, done.stdout + done.stderr
        kaldi = read_kaldi_dir(data)  # our strict reader: segments inside their recordings
        assert len(kaldi) == sum(len(s["turns"]) for _, sp, _, s in _sessions(out)
                                 if sp == split)
        assert load_rttm(str(data / "rttm"))  # one RTTM with every session of the split

        recordings = lhotse.load_manifest(out / f"manifests/lhotse/sessions_recordings_{split}"
                                          ".jsonl.gz")
        supervisions = lhotse.load_manifest(
            out / f"manifests/lhotse/sessions_supervisions_{split}.jsonl.gz")
        lhotse.validate_recordings_and_supervisions(recordings, supervisions)
        cuts = lhotse.CutSet.from_manifests(recordings=recordings, supervisions=supervisions)
        for cut in cuts:
            assert cut.load_audio().shape[-1] == cut.num_samples
            for sup in cut.supervisions:
                for item in sup.alignment["word"]:
                    assert sup.start - 1e-3 <= item.start <= sup.end + 1e-3

        for line in (out / f"manifests/nemo/diarization_{split}.json").read_text().splitlines():
            entry = json.loads(line)
            info = sf.info(entry["audio_filepath"])
            assert entry["offset"] == 0.0
            assert entry["duration"] == pytest.approx(info.frames / info.samplerate, abs=1e-6)
            ann = next(iter(load_rttm(entry["rttm_filepath"]).values()))
            assert entry["num_speakers"] == len(ann.labels())
            assert ann.get_timeline().extent().end <= entry["duration"]
            uem = next(iter(load_uem(entry["uem_filepath"]).values()))
            assert uem.extent().duration == pytest.approx(entry["duration"], abs=1e-3)
            ctm = Path(entry["ctm_filepath"]).read_text().splitlines()
            assert ctm and all(float(c.split()[2]) + float(c.split()[3]) <= entry["duration"]
                               for c in ctm)
    for sid, split, _, session in _sessions(out):
        seglst = SegLST.load(session_file(out, "sessions", split, sid))
        assert len(seglst) == len(session["turns"])
        words = sum(len(t["words"]) for t in session["turns"])
        assert len(session_file(out, "ctm", split, sid).read_text().splitlines()) == words


def test_byte_identical_for_one_and_two_jobs(corpus: tuple[Path, Path], tmp_path: Path) -> None:
    config, out = corpus
    assert main(["sessions", str(config), "-o", str(tmp_path / "j2"), "-j", "2", "-q"]) == 0
    assert tree_hashes(tmp_path / "j2") == tree_hashes(out)


def test_killed_run_resumes_to_the_same_bytes(corpus: tuple[Path, Path], tmp_path: Path) -> None:
    """A real SIGKILL of the installed CLI after its first committed session (about 7 s:
    the child's start-up is most of it), then a re-run: the bytes of an uninterrupted run."""
    config, out = corpus
    killed = tmp_path / "killed"
    child = subprocess.Popen([sys.executable, "-m", "synthaudio.cli", "sessions", str(config),
                              "-o", str(killed), "-q", "-j", "1"], start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    records = killed / ".work" / "records"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (
            records.is_dir() and any(p.suffix == ".jsonl" for p in records.iterdir())):
        time.sleep(0.02)
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    assert (killed / ".work").is_dir() and not (killed / "metadata.jsonl").exists()
    summary = generate_sessions(config, killed, progress=False)
    assert summary.rendered < 4  # the committed sessions were kept
    assert tree_hashes(killed) == tree_hashes(out)


def test_mean_ratios_over_20_sessions_hit_the_targets(tmp_path: Path) -> None:
    config = write_config(tmp_path / "cfg", DRY_CONFIG)
    out = tmp_path / "out"
    summary = generate_sessions(config, out, jobs=2, progress=False)
    sessions = _sessions(out)
    assert len(sessions) == 20
    overlap = np.mean([s["measured"]["overlap_ratio"] for *_, s in sessions])
    silence = np.mean([s["measured"]["silence_ratio"] for *_, s in sessions])
    assert abs(overlap - 0.15) <= 0.03 and abs(silence - 0.12) <= 0.03, (overlap, silence)
    assert summary.overlap == pytest.approx((0.15, overlap), abs=1e-4)
    for *_, s in sessions:  # dry stems: the RTTM and the stems agree closely
        assert abs(s["measured"]["overlap_ratio"] - s["measured"]["stems"]["overlap_ratio"]) \
            < 0.02
        assert 10 <= s["targets"]["length_s"] <= 14
        assert len(s["talkers"]) in (2, 3)


DIALOGUE = """\
# a dialogue: speaker<TAB>text
ann\tGood morning, are we ready to start?
bob\tAlmost, I am still waiting for the slides.
cid\tI sent them ten minutes ago.
ann\tGreat, then let us begin with the budget.
bob\tThe budget is fine.
"""


def test_dialogue_files_and_a_microphone_array(tmp_path: Path) -> None:
    text = ROOM_CONFIG.replace("  backchannel_probability: 0.3\n", """\
  backchannel_probability: 0.0
  length_s: [100, 100]
  count: 2
  dialogues: [meeting.tsv]
""").replace("  count: 4\n", "").replace("  length_s: [10, 14]\n", "").replace(
        "rt60_s: [0.2, 0.4]}", "rt60_s: [0.2, 0.4], mic_array: {kind: linear, num_mics: 2, "
        "spacing_m: 0.1}}")
    config = write_config(tmp_path / "cfg", text)
    (tmp_path / "cfg" / "meeting.tsv").write_text(DIALOGUE, encoding="utf-8")
    out = tmp_path / "out"
    generate_sessions(config, out, progress=False)
    lines = [line.split("\t") for line in DIALOGUE.splitlines()[1:]]
    for rec in iter_metadata(out):
        session = rec.extra["session"]
        assert rec.num_channels == 2 and _read(out / rec.audio).shape[0] == 2
        assert [t["label"] for t in session["talkers"]] == ["ann", "bob", "cid"]
        by_label = {t["label"]: t["speaker"] for t in session["talkers"]}
        turns = session["turns"]  # in time order; interruptions may cut a turn short
        assert len(turns) == len(lines)
        order = sorted(turns, key=lambda t: t["offset_s"])
        for (label, said), turn in zip(lines, order, strict=True):
            assert turn["speaker"] == by_label[label]
            assert said.lower().replace(",", "").replace(".", "").replace("?", "").startswith(
                turn["text"])
        assert session["measured"]["stems"]["overlap_ratio"] == pytest.approx(
            session["measured"]["overlap_ratio"], abs=0.02)


def test_bad_input_is_one_line_and_writes_nothing(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path / "cfg", DRY_CONFIG.replace("sessions:\n", "other:\n"))
    with pytest.raises(ConfigError, match=r"sessions\.yaml: sessions: Field required"):
        load_sessions_config(config)
    bad = write_config(tmp_path / "cfg", DRY_CONFIG.replace("speakers: [2, 3]",
                                                            "speakers: [3, 2]"), "bad.yaml")
    assert main(["sessions", str(bad), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.yaml:10: sessions: speakers: inverted range" in err[0]
    dialogue = write_config(tmp_path / "cfg", DRY_CONFIG.replace(
        "  turn_words: [3, 8]\n", "  turn_words: [3, 8]\n  dialogues: [d.tsv]\n"), "d.yaml")
    (tmp_path / "cfg" / "d.tsv").write_text("ann\thello there\nbob no tab here\n")
    with pytest.raises(InputError, match=r"d\.tsv:2: expected 'speaker<TAB>text'"):
        generate_sessions(dialogue, tmp_path / "out", progress=False)
    too_few = write_config(tmp_path / "cfg", DRY_CONFIG.replace("count: 6", "count: 1"), "f.yaml")
    with pytest.raises(ConfigError, match="no split has the 2 speakers"):
        generate_sessions(too_few, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_the_plan_holds_no_per_session_state(tmp_path: Path) -> None:
    """Memory does not grow with the number of sessions: the plan draws session i from its
    index (the engine streams records; the exports go session by session)."""
    def peak(count: int) -> int:
        cfg = load_sessions_config(write_config(tmp_path / f"c{count}", DRY_CONFIG.replace(
            "count: 20", f"count: {count}")))
        tracemalloc.start()
        plan = plan_sessions(cfg, tmp_path / f"c{count}")
        for i in range(0, count, max(1, count // 50)):
            assert plan.sessions[i].session_id == f"session-{i:06d}"
        used = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return used

    small, large = peak(10), peak(200_000)
    assert large < 1.5 * small + 200_000, (small, large)


def test_validate_checks_the_session_exports(corpus: tuple[Path, Path], tmp_path: Path) -> None:
    import shutil

    from synthaudio.manifests.validate import validate_corpus

    _, out = corpus
    assert validate_corpus(out) == []
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    sid, split, _, _ = _sessions(copy)[0]
    rttm = session_file(copy, "rttm", split, sid)
    rttm.write_text(rttm.read_text().replace("SPEAKER", "SPEAKR", 1))
    (copy / "data" / split / "segments").write_text("")
    found = [str(p) for p in validate_corpus(copy)]
    assert any(f"{rttm}: {sid}: RTTM differs" in p for p in found), found
    assert any(f"{rttm}:1: not a segment" in p for p in found), found
    assert any(str(copy / "data" / split) in p for p in found), found


def test_stages_sessions_do_not_apply_are_named(tmp_path: Path) -> None:
    text = DRY_CONFIG.replace("count: 20", "count: 1").replace("length_s: [10, 14]",
                                                               "length_s: [3, 3]")
    config = write_config(tmp_path / "cfg", text + "augment:\n  speed: {probability: 0.5}\n"
                          "  channel: {codec: {probability: 0.2}}\n")
    summary = generate_sessions(config, tmp_path / "out", progress=False)
    assert "note: sessions apply augment.room and augment.noise; not applied: " \
           "augment.speed, augment.channel.codec" in summary.notes
    gated = write_config(tmp_path / "cfg", text + "quality: {max_cer: 0.5}\n", "q.yaml")
    with pytest.raises(ConfigError, match="quality: the quality gate is for utterances"):
        generate_sessions(gated, tmp_path / "out2", progress=False)

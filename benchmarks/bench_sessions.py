"""Session generation speed (x real time per core) beside ``generate`` on the same voices.

Side by side in one process, alternately, ``--repeats`` times: (a) ``generate_sessions``
with ``jobs=1`` on a sessions config (TTS per turn, one simulated room per session with an
RIR per talker, noise, stems, labels, the sessions export); (b) the reference,
``generate_corpus`` with ``jobs=1`` on the same config without its ``sessions:`` section
(the same speakers, text, room and noise ranges; a bank of ``--bank`` rooms; Kaldi export),
as utterances. Reported: medians of seconds of audio made per CPU second of the process
(every thread), i.e. x real time per core, and their ratio.

    python benchmarks/bench_sessions.py [--config recipes/diarization/sessions.yaml]
        [--sessions 4] [--length 60] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
from pathlib import Path

import yaml

from synthaudio.pipelines.generate.pipeline import generate_corpus
from synthaudio.pipelines.sessions.pipeline import generate_sessions


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def configs(source: Path, work: Path, sessions: int, length_s: float, bank: int,
            per_speaker: int) -> tuple[Path, Path]:
    """(sessions config, utterance config) written under ``work``, prompts made absolute."""
    cfg = yaml.safe_load(source.read_text(encoding="utf-8"))
    for s in cfg["text"]["sources"]:
        if "file" in s and not Path(s["file"]).is_absolute():
            s["file"] = str((source.parent / s["file"]).resolve())
    cfg["sessions"].update(count=sessions, length_s=[length_s, length_s])
    sess = work / "sessions.yaml"
    sess.write_text(yaml.safe_dump(cfg))
    utt = {k: v for k, v in cfg.items() if k != "sessions"}
    utt["utterances"] = {"per_speaker": per_speaker}
    utt["exports"] = ["kaldi"]
    if "augment" in utt:
        utt["augment"]["room"]["bank_size"] = bank
    ref = work / "utterances.yaml"
    ref.write_text(yaml.safe_dump(utt))
    return sess, ref


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path,
                        default=Path("recipes/diarization/sessions.yaml"))
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--length", type=float, default=60.0, help="session length, s")
    parser.add_argument("--bank", type=int, default=8, help="rooms of the reference's bank")
    parser.add_argument("--per-speaker", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rates: dict[str, list[float]] = {"sessions": [], "generate": []}
    audio: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sess, ref = configs(args.config, work, args.sessions, args.length, args.bank,
                            args.per_speaker)
        for k in range(args.repeats):
            for name in ("sessions", "generate"):
                out = work / f"{name}-{k}"
                cpu = cpu_s()
                if name == "sessions":
                    summary = generate_sessions(sess, out, jobs=1, progress=False)
                else:
                    summary = generate_corpus(ref, out, jobs=1, progress=False)  # type: ignore[assignment]
                used = cpu_s() - cpu
                audio[name] = summary.audio_s
                rates[name].append(summary.audio_s / used)
    medians = {k: statistics.median(v) for k, v in rates.items()}
    print(json.dumps({"x_real_time_per_core": medians, "runs": rates, "audio_s": audio,
                      "sessions_vs_generate": medians["sessions"] / medians["generate"]},
                     indent=1))


if __name__ == "__main__":
    main()

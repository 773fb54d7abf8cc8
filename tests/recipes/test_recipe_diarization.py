"""recipes/diarization/run.py, run as a user runs it, on six short meetings; what it
prepares is read back by pyannote.database (the protocol) and checked against the audio."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "recipes" / "diarization"


def test_diarization_recipe_prepares_nemo_and_pyannote(tmp_path: Path) -> None:
    from pyannote.database import FileFinder, registry

    cfg = yaml.safe_load((RECIPE / "sessions.yaml").read_text())
    cfg["text"]["sources"] = [{"file": str(RECIPE / "prompts.txt")}]
    cfg["sessions"].update(count=6, length_s=[10, 12], speakers=[2, 6], turn_words=[3, 10])
    cfg["speakers"]["count"] = 12
    config = tmp_path / "small.yaml"
    config.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, str(RECIPE / "run.py"), "--config", str(config),
                           "--out", str(out), "-j", "2"], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "overlap: target measured" in done.stdout and "\nall           6" in done.stdout

    database = out / "manifests" / "pyannote" / "database.yml"
    registry.load_database(database)
    protocol = registry.get_protocol("Synthaudio.SpeakerDiarization.meetings",
                                     preprocessors={"audio": FileFinder()})
    rows = (out / "manifests" / "diarization_ratios.tsv").read_text().splitlines()[1:]
    seen, talkers = 0, set()
    for subset in ("train", "development", "test"):
        lst = database.parent / "lists" / f"{subset}.lst"
        if not lst.exists():
            continue
        for file in getattr(protocol, subset)():
            seen += 1
            assert Path(file["audio"]).is_file()
            annotation, annotated = file["annotation"], file["annotated"]
            assert 2 <= len(annotation.labels()) <= 6
            talkers.add(len(annotation.labels()))
            assert annotation.get_timeline().extent() in annotated.extent()
            row = next(r.split("\t") for r in rows if r.startswith(file["uri"] + "\t"))
            overlap = annotation.get_overlap().duration() / annotation.get_timeline().support(
            ).duration()
            assert abs(float(row[5]) - overlap) < 1e-3  # the table is what pyannote reads
    assert seen == 6 == len(rows)
    assert min(talkers) <= 3 and max(talkers) >= 5, talkers  # the 2-6 range is used

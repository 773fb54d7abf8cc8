"""``run.py --match DIR``: fit the digits corpus to a target's audio before generating it.

``match_target(DIR, config, out)`` profiles DIR (a Kaldi data directory, a folder of audio
files or a synthaudio corpus; no transcripts needed) into ``OUT/match/target_profile.json``,
fits the corpus config to it (``synthaudio match``: SNR, noise colours, band edges and
sample rate, codec, level, rooms; the rate from the transcripts when there are any) into
``OUT/match/matched.yaml`` and returns that config as a mapping, with the Kaldi directory
to score on when DIR is one (it has transcripts).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from synthaudio.profile.features import FAMILIES
from synthaudio.profile.match import DEFAULT_WIDEN, write_matched
from synthaudio.profile.profile import ProfileOptions, profile_corpus


def match_target(target: Path, config: Path, out: Path, *, jobs: int = 1,
                 widen: float = DEFAULT_WIDEN, families: tuple[str, ...] = FAMILIES,
                 ) -> tuple[dict[str, Any], Path | None]:
    """(the matched config, the target as a test set when it is a Kaldi dir, else None)."""
    work = out / "match"
    work.mkdir(parents=True, exist_ok=True)
    profile = work / "target_profile.json"
    summary = profile_corpus(target, profile, options=ProfileOptions(families=families),
                             jobs=jobs)
    print(summary.format(), flush=True)
    matched = write_matched(profile, config, work / "matched.yaml", widen)
    print(f"matched config: {matched}", flush=True)
    cfg = yaml.safe_load(matched.read_text(encoding="utf-8"))
    return cfg, (target if (target / "wav.scp").is_file() else None)

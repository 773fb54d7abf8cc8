"""Shared pieces of the session tests: small configs, the prompts, file hashes."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

PROMPTS = """\
p-1\tThe meeting starts at 3:45 pm.
p-2\tPlease call Dr. Smith tomorrow morning.
p-3\tI think we should move the release to next week.
p-4\tThat sounds reasonable to me, but let us check the numbers first.
p-5\tCan you send me the report before lunch?
p-6\tWe have three open issues and two of them are blocking.
"""

# Short sessions in one room with a point or diffuse noise source: every acoustic stage.
ROOM_CONFIG = """\
name: talk
seed: 3
text:
  sources:
    - file: prompts.txt
speakers:
  count: 8
  variants: [m1, f2, m3, f4]
splits: {train: 0.5, dev: 0.25, test: 0.25}
sessions:
  count: 4
  speakers: [2, 4]
  length_s: [10, 14]
  turn_words: [3, 10]
  overlap_ratio: 0.15
  silence_ratio: 0.12
  backchannel_probability: 0.3
  move_probability: 0.3
augment:
  speed: {probability: 0}
  channel:
    eq: {probability: 0}
    clipping: {probability: 0}
    gain: {probability: 0}
    bit_depth: {probability: 0}
    band_limit: {probability: 0}
    telephone: {probability: 0}
    resample: {probability: 0}
    codec: {probability: 0}
    packet_loss: {probability: 0}
  room:
    probability: 1.0
    simulation: {dims_m: [[4, 6], [4, 6], [2.5, 3]], rt60_s: [0.2, 0.4]}
  noise: {probability: 1.0, snr_db: [15, 25], kinds: {white: 1, pink: 1}}
"""

# Dry sessions (no room, no noise): the fast target-vs-measured check over 20 sessions.
DRY_CONFIG = """\
name: dry
seed: 5
text:
  sources:
    - file: prompts.txt
speakers:
  count: 6
  variants: [m1, f2, m3]
splits: {train: 1.0, dev: 0.0, test: 0.0}
sessions:
  count: 20
  speakers: [2, 3]
  length_s: [10, 14]
  turn_words: [3, 8]
  overlap_ratio: 0.15
  silence_ratio: 0.12
"""


def write_config(folder: Path, text: str = ROOM_CONFIG, name: str = "sessions.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "prompts.txt").write_text(PROMPTS, encoding="utf-8")
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def tree_hashes(out: Path) -> dict[str, str]:
    """sha256 of every file under OUT but logs/; the absolute OUT path in the NeMo and Lhotse
    manifests (by design) is replaced by ``OUT`` first, so two folders compare."""
    hashes = {}
    for p in sorted(out.rglob("*")):
        if not p.is_file() or "logs" in p.relative_to(out).parts:
            continue
        data = p.read_bytes()
        if p.name.endswith(".gz"):
            data = gzip.decompress(data)
        if "nemo" in p.parts or "lhotse" in p.parts:
            data = data.replace(str(out.resolve()).encode(), b"OUT")
        hashes[str(p.relative_to(out))] = hashlib.sha256(data).hexdigest()
    return hashes

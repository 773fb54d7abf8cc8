"""The Speech Commands layout of a keyword corpus, under ``OUT/audio/``.

``OUT/audio`` is a Speech Commands root, as its loaders (TensorFlow's ``input_data.py``,
``torchaudio.datasets.SPEECHCOMMANDS``, ``tfds speech_commands``) read one: a folder per
label with ``<speaker>_nohash_<n>.wav`` in it (the speaker before ``_nohash_`` is what
their hash-based split uses), ``validation_list.txt`` and ``testing_list.txt`` (paths
relative to the root, by speaker: the dev and test splits), ``_unknown_/`` (other speech,
hard negatives) and ``_silence_/`` (no speech) as in the Speech Commands test set, and
``_background_noise_/`` (long noise recordings the loaders cut silence from). Streams lie
outside it, under ``OUT/streams/``.
"""

from __future__ import annotations

from collections import Counter

from synthaudio.io.fileio import write_text_atomic
from synthaudio.manifests.formats import ExportContext, ExportOutcome
from synthaudio.pipelines.generate.render import check_path_component
from synthaudio.pipelines.keywords.config import BACKGROUND
from synthaudio.pipelines.keywords.plan import ClipSpec

ROOT = "audio"  # the Speech Commands root under OUT
STREAMS_DIR = "streams"
LISTS = {"dev": "validation_list.txt", "test": "testing_list.txt"}


def clip_relpath(spec: ClipSpec, fmt: str) -> str:
    """Where a clip's audio goes, relative to OUT."""
    if fmt not in ("wav", "flac"):
        raise ValueError(f"audio format must be 'wav' or 'flac', got {fmt!r}")
    if spec.kind == "stream":
        return f"{STREAMS_DIR}/{check_path_component(spec.clip_id)}.{fmt}"
    if spec.kind == "background":
        return f"{ROOT}/{BACKGROUND}/{check_path_component(str(spec.noise_kind))}_noise_" \
               f"{spec.number}.{fmt}"
    label = check_path_component(spec.label)
    return f"{ROOT}/{label}/{check_path_component(spec.speaker_id)}_nohash_{spec.number}.{fmt}"


def write_speech_commands(ctx: ExportContext) -> ExportOutcome:
    """``validation_list.txt`` and ``testing_list.txt`` in ``OUT/audio`` (the dev and test
    clips, sorted), and ``labels.txt`` (each label folder with its clip count)."""
    lists: dict[str, list[str]] = {split: [] for split in LISTS}
    labels: Counter[str] = Counter()
    for rec in ctx.records():
        label = rec.extra.get("label")
        if not isinstance(label, str) or rec.extra.get("kind") in ("stream", "background"):
            continue
        if not rec.audio.startswith(ROOT + "/"):
            continue  # not a keyword corpus clip
        labels[label] += 1
        if rec.split in lists:
            lists[rec.split].append(rec.audio[len(ROOT) + 1:])
    if not labels:  # not a keyword corpus: nothing to list
        return ExportOutcome("speech_commands: no keyword clips (labels), nothing written")
    root = ctx.out_dir / ROOT
    for split, name in LISTS.items():
        write_text_atomic(root / name, "".join(f"{p}\n" for p in sorted(lists[split])))
    write_text_atomic(root / "labels.txt",
                      "".join(f"{label}\t{labels[label]}\n" for label in sorted(labels)))
    return ExportOutcome(f"speech_commands: {len(labels)} labels, "
                         f"{len(lists['dev'])} validation and {len(lists['test'])} testing "
                         f"clips listed in {ROOT}/")

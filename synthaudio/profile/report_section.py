"""The report's "real vs synthetic" section: OUT's profile beside a reference profile.

``comparison_section(out, reference, img_dir)`` profiles OUT into ``OUT/profile.json`` (kept
when it is already there), compares it with the reference (:mod:`synthaudio.profile.compare`)
and returns the HTML: the distance table and, per feature, the two histograms side by side
as shares of utterances on the profile's fixed bins.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from synthaudio.profile.compare import compare_profiles
from synthaudio.profile.features import BY_NAME
from synthaudio.profile.profile import load_profile, profile_corpus

OUT_PROFILE = "profile.json"


def _shares(profile: Mapping[str, Any], name: str) -> tuple[np.ndarray, np.ndarray] | None:
    feat = BY_NAME[name]
    v = [r.get(name) for r in profile["per_utterance"]]
    vals = np.asarray([x for x in v if isinstance(x, (int, float))], dtype=np.float64)
    if not len(vals):
        return None
    counts, edges = np.histogram(np.clip(vals, feat.lo, feat.hi), bins=feat.edges())
    return counts / counts.sum(), edges


def _plot(name: str, ref: Mapping[str, Any], out: Mapping[str, Any], labels: tuple[str, str],
          path: Path) -> bool:
    a, b = _shares(ref, name), _shares(out, name)
    if a is None or b is None:
        return False
    edges = a[1]
    used = np.flatnonzero((a[0] > 0) | (b[0] > 0))
    lo, hi = edges[max(0, used[0] - 1)], edges[min(len(edges) - 1, used[-1] + 2)]
    fig = Figure(figsize=(4.8, 2.8))
    ax = fig.subplots()
    width = (edges[1] - edges[0]) * 0.42
    centres = (edges[:-1] + edges[1:]) / 2
    ax.bar(centres - width / 2, a[0], width=width, label=labels[0])
    ax.bar(centres + width / 2, b[0], width=width, label=labels[1])
    ax.set_xlim(lo, hi)
    ax.set_xlabel(f"{name} ({BY_NAME[name].unit})")
    ax.set_ylabel("share of utterances")
    ax.legend(fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=96, metadata={"Software": None})
    return True


def comparison_section(out_dir: Path, reference: Path, img_dir: Path, jobs: int = 1) -> str:
    ref = load_profile(reference)
    own_path = out_dir / OUT_PROFILE
    if not own_path.is_file():
        profile_corpus(out_dir, own_path, jobs=jobs)
    own = load_profile(own_path)
    result = compare_profiles(ref, own)
    labels = (f"reference ({ref['utterances']})", f"this corpus ({own['utterances']})")
    rows = "".join(
        f"<tr><td>{html.escape(f.name)}</td><td>{html.escape(f.unit)}</td>"
        f"<td>{f.median_a:.4g}</td><td>{f.median_b:.4g}</td><td>{f.wasserstein:.4g}</td>"
        f"<td>{f.w_std:.3f}</td></tr>" for f in result.features)
    fd = "n/a" if result.frechet is None else f"{result.frechet:.3f}"
    parts = [
        '<h2 id="profile">Real vs synthetic</h2>',
        f"<p>Reference profile: {html.escape(str(reference))} "
        f"({html.escape(str(ref['source']['path']))}). Fréchet distance on "
        f"{len(result.summary_features)} standardized features: <b>{fd}</b>.</p>",
        "<table><tr><th>feature</th><th>unit</th><th>median reference</th>"
        "<th>median this corpus</th><th>Wasserstein</th><th>W / std</th></tr>"
        f"{rows}</table>",
        f'<p class="note">{html.escape(json.dumps(result.categories))}</p>',
        '<div class="plots">',
    ]
    for f in result.features:
        rel = f"img/profile-{f.name}.png"
        if _plot(f.name, ref, own, labels, img_dir / f"profile-{f.name}.png"):
            parts.append(f'<img src="{rel}" alt="histograms of {html.escape(f.name)}">')
    parts.append("</div>")
    return "".join(parts)

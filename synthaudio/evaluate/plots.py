"""PNG plots for the report, drawn with matplotlib's object API (Agg, no pyplot state).

Files are byte-identical between runs: no "Software" or date metadata is written.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.figure import Figure

from synthaudio.io.fileio import write_bytes_atomic

_DPI = 96
_SIZE_IN = (6.4, 3.4)  # figure size in inches


def _save(fig: Figure, path: Path) -> None:
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, metadata={"Software": None})
    write_bytes_atomic(path, buf.getvalue())


def histogram(
    values_by_split: Mapping[str, Sequence[float]],
    xlabel: str,
    title: str,
    path: Path,
    bins: int = 20,
) -> None:
    """Overlaid step histograms, one per split, on shared bin edges."""
    fig = Figure(figsize=_SIZE_IN)
    ax = fig.subplots()
    all_values = [v for vs in values_by_split.values() for v in vs]
    lo, hi = min(all_values), max(all_values)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    for split, values in values_by_split.items():
        if values:
            ax.hist(
                list(values),
                bins=bins,
                range=(lo, hi),
                histtype="step",
                linewidth=1.5,
                label=f"{split} ({len(values)})",
            )
    ax.set_xlabel(xlabel)
    ax.set_ylabel("utterances")
    ax.set_title(title)
    ax.legend(fontsize="small")
    _save(fig, path)


def grouped_bars(
    counts: Mapping[str, Mapping[str, int]],
    categories: Sequence[str],
    ylabel: str,
    title: str,
    path: Path,
) -> None:
    """Bars per category, one colour per series (e.g. split)."""
    fig = Figure(figsize=_SIZE_IN)
    ax = fig.subplots()
    n = max(len(counts), 1)
    width = 0.8 / n
    for i, (series, by_cat) in enumerate(counts.items()):
        xs = [j + (i - (n - 1) / 2) * width for j in range(len(categories))]
        ax.bar(xs, [by_cat.get(c, 0) for c in categories], width=width, label=series)
    ax.set_xticks(range(len(categories)), list(categories), rotation=30, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize="small")
    _save(fig, path)


def rate_by_bucket(
    rates: Mapping[str, Mapping[str, float]],
    buckets: Sequence[str],
    xlabel: str,
    title: str,
    path: Path,
) -> None:
    """WER (in %) per bucket, one line per evaluation; missing buckets leave gaps."""
    fig = Figure(figsize=_SIZE_IN)
    ax = fig.subplots()
    for name, by_bucket in rates.items():
        ys = [100.0 * by_bucket[b] if b in by_bucket else float("nan") for b in buckets]
        ax.plot(range(len(buckets)), ys, marker="o", label=name)
    ax.set_xticks(range(len(buckets)), list(buckets))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("WER (%)")
    ax.set_ylim(bottom=0)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    _save(fig, path)


def det_plot(curves: Mapping[str, Sequence[tuple[float, float]]], path: Path) -> None:
    """DET curves: false-reject rate (%) against false accepts per hour, one line per
    model; the x axis is symlog so that zero false accepts stays on the plot."""
    fig = Figure(figsize=_SIZE_IN)
    ax = fig.subplots()
    for name, points in curves.items():
        pts = sorted(points)
        ax.plot([x for x, _ in pts], [100.0 * y for _, y in pts], marker=".", label=name)
    ax.set_xscale("symlog", linthresh=0.1)
    ax.set_xlabel("false accepts per hour")
    ax.set_ylabel("false rejects (%)")
    ax.set_ylim(bottom=0)
    ax.set_title("DET curve (synthetic streams)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    _save(fig, path)

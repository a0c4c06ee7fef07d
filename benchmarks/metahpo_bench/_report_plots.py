"""Replay benchmark plots: regret and rank against evaluations, regret by family (PNG)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from metahpo_bench._methods import METHODS

REGRET_PNG = "regret_vs_evals.png"
RANK_PNG = "rank_vs_evals.png"
FAMILY_PNG = "regret_by_family.png"


def _style(methods: Sequence[str]) -> dict[str, dict[str, Any]]:
    from matplotlib import colormaps

    # Distinct hues first (tab10, then Dark2), so that neighbours in the legend differ.
    palette = [
        *(colormaps["tab10"](i) for i in range(10)),
        *(colormaps["Dark2"](i) for i in range(8)),
        *(colormaps["Set1"](i) for i in range(9)),
    ]
    out = {}
    for i, m in enumerate(methods):
        meta = METHODS[m].meta if m in METHODS else False
        out[m] = {
            "color": palette[i % len(palette)],
            "linestyle": "-" if meta else "--",
            "linewidth": 1.8 if meta else 1.3,
        }
    return out


def plot(summary: dict[str, Any], out: Path) -> list[Path]:
    """Regret and rank against evaluations (Agg backend, no global pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    methods: list[str] = summary["methods"]
    if not methods or "all" not in summary["splits"]:
        return []
    style = _style(methods)
    everything = summary["splits"]["all"]
    x = np.arange(1, summary["budget"] + 1)
    written = []

    fig = Figure(figsize=(9, 6), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for m in methods:
        e = everything["methods"][m]
        floor = 1e-4
        ax.plot(x, np.maximum(e["mean"], floor), label=m, **style[m])
        ax.fill_between(
            x,
            np.maximum(e["ci_low"], floor),
            np.maximum(e["ci_high"], floor),
            color=style[m]["color"],
            alpha=0.12,
            linewidth=0,
        )
    ax.set_yscale("log")
    ax.set_xlabel("evaluations")
    ax.set_ylabel("mean normalised regret (log scale)")
    ax.set_title(
        f"Replay benchmark: {everything['n_datasets']} datasets, {everything['n_runs']} runs "
        "per method (bands: 95 % bootstrap over datasets)"
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(ncol=2, fontsize=8)
    path = out / REGRET_PNG
    fig.savefig(path, dpi=120)
    written.append(path)

    fig = Figure(figsize=(9, 6), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for m in methods:
        ax.plot(x, everything["methods"][m]["rank"], label=m, **style[m])
    ax.set_xlabel("evaluations")
    ax.set_ylabel(f"mean rank among {len(methods)} methods (1 = best)")
    ax.set_title("Mean rank per run against evaluations")
    ax.grid(True, alpha=0.3)
    ax.legend(ncol=2, fontsize=8)
    path = out / RANK_PNG
    fig.savefig(path, dpi=120)
    written.append(path)

    families = sorted(k for k in summary["splits"] if k.startswith("family:"))
    if families:
        cols = 3
        rows = -(-len(families) // cols)
        fig = Figure(figsize=(4.2 * cols, 3.4 * rows), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(rows, cols, squeeze=False)
        for ax, name in zip(axes.flat, families, strict=False):
            split = summary["splits"][name]
            for m in methods:
                ax.plot(x, np.maximum(split["methods"][m]["mean"], 1e-4), label=m, **style[m])
            ax.set_yscale("log")
            ax.set_title(f"{name.removeprefix('family:')} ({split['n_datasets']} datasets)")
            ax.grid(True, which="both", alpha=0.3)
        for ax in list(axes.flat)[len(families) :]:
            ax.axis("off")
        handles, labels = axes.flat[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside right center", fontsize=8)
        path = out / FAMILY_PNG
        fig.savefig(path, dpi=110)
        written.append(path)
    return written

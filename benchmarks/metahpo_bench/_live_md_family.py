"""LIVE.md's sections per family and task type: centre and tail over datasets.

Rendered from ``summary.json``'s ``groups`` (:mod:`metahpo_bench._live_groups`); a summary
without it (made before it, or without complete cells) renders nothing here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def fmt(v: float | None, nd: int = 3) -> str:
    """``v`` with ``nd`` decimals, a dash for none."""
    return "—" if v is None else f"{v:.{nd}f}"


def table(head: Sequence[str], rows: Sequence[Sequence[str]], right_from: int = 1) -> list[str]:
    """A Markdown table, left-aligned up to column ``right_from``, right-aligned after."""
    align = ["---" if i < right_from else "--:" for i in range(len(head))]
    return [
        "| " + " | ".join(head) + " |",
        "| " + " | ".join(align) + " |",
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def _entries(groups: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(kind, name, entry) of every group: families first, then task types."""
    return [(kind, g, e) for kind in ("family", "task") for g, e in groups[kind].items()]


def _spread_section(groups: dict[str, Any]) -> list[str]:
    cuts: list[int] = groups["cutpoints"]
    q = f"p{groups['quantile'] * 100:g}"
    lines = [
        "## By family and task type: mean, median and worst datasets",
        "",
        "Normalised regret over the datasets of each family (task type), a dataset's value "
        "being its mean over seeds (and, for a task type, over families): mean / median / "
        f"{q} ({groups['quantile'] * 100:g}th percentile) over datasets, and the worst dataset "
        "with its regret.",
        "",
    ]
    head = ["method"]
    for t in cuts:
        head += [f"@{t} mean / median / {q}", f"@{t} worst"]
    for kind, g, e in _entries(groups):
        rows = []
        for m, s in e["methods"].items():
            row = [f"`{m}`"]
            for k in range(len(cuts)):
                w = s["worst"][k]
                row += [
                    f"{s['mean'][k]:.3f} / {s['median'][k]:.3f} / {s['p90'][k]:.3f}",
                    f"{w['regret']:.3f} {w['dataset']}",
                ]
            rows.append(row)
        what = "family" if kind == "family" else "task type"
        lines += [
            f"### {g} ({what}; {e['n_datasets']} datasets, {e['n_cells']} run cells)",
            "",
            *table(head, rows),
            "",
        ]
    return lines


def _ratio_section(groups: dict[str, Any], tie: float) -> list[str]:
    cuts: list[int] = groups["cutpoints"]
    h = groups["headline"]
    entries = [x for x in _entries(groups) if x[2]["ratio"]]
    if not entries:
        return []
    base = list(entries[0][2]["ratio"])
    head = [
        "group",
        "datasets",
        *(f"÷{b} @{t}" for b in base for t in cuts),
        *(f"W:T:L vs {b} @{cuts[-1]}" for b in base),
    ]
    rows = [
        [
            g,
            str(e["n_datasets"]),
            *(fmt(v, 2) for b in base for v in e["ratio"][b]),
            *(":".join(map(str, e["wtl"][b])) for b in base),
        ]
        for _, g, e in entries
    ]
    return [
        f"## `{h}` against {' and '.join(f'`{b}`' for b in base)} by family and task type",
        "",
        f"Ratio of `{h}`'s mean regret to the baseline's over the group's datasets (below 1: "
        f"better); win / tie / loss of `{h}` after {cuts[-1]} evaluations over the group's "
        f"paired runs (ties within {tie:g}).",
        "",
        *table(head, rows),
        "",
    ]


def _tail_section(groups: dict[str, Any]) -> list[str]:
    h = groups["headline"]
    budget = groups["cutpoints"][-1]
    fams = {g: e for g, e in groups["family"].items() if e["tail"]}
    if not fams:
        return []
    shown = list(next(iter(fams.values()))["tail"][0]["regret"])
    rows = [
        [g, x["dataset"], *(f"{x['regret'][m]:.3f}" for m in shown)]
        for g, e in fams.items()
        for x in e["tail"]
    ]
    n = max(len(e["tail"]) for e in fams.values())
    return [
        f"## Worst datasets for `{h}` (regret @{budget}, mean over seeds)",
        "",
        f"For each family, the {n} datasets where `{h}` ends furthest from the best score "
        "found, with the other methods' regret on the same datasets.",
        "",
        *table(["family", "dataset", *(f"`{m}`" for m in shown)], rows, right_from=2),
        "",
    ]


def render_groups(summary: dict[str, Any]) -> list[str]:
    """The sections per family and task type (none when the summary has no ``groups``)."""
    groups = summary.get("groups")
    if not groups or not (groups["family"] or groups["task"]):
        return []
    return [
        *_spread_section(groups),
        *_ratio_section(groups, summary["tie"]),
        *_tail_section(groups),
    ]

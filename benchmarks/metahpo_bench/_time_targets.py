"""Issue 25's targets, measured on the TIME grid's runs (TIME.md's "Targets" section).

* **Regret ratio** (per budget): the headline method's mean normalised final regret over the
  cells it shares with a peer, divided by the peer's mean on the same cells. Target: at most
  :data:`RATIO` against FLAML and against Optuna TPE + Hyperband.
* **Better than every peer** (per budget): cells where the headline's final regret is lower
  than every other method's in the cell (ties within :data:`~metahpo_bench._metrics.TIE` are
  not better). Target: at least :data:`BETTER_SHARE` of the cells.
* **Time to FLAML's score at the longest budget**: per cell (dataset, family, seed) where FLAML
  ran at the longest budget, the first moment (a checkpoint of any of the headline's runs of
  the cell, at any budget) at which the headline's test score is at least FLAML's final one;
  the median over those cells, a cell never reached counting as later than any. Target: at
  most :data:`REACH_S` seconds.
* **First result on large tables** (per budget): the headline's runs on tables of at least
  :data:`LARGE_ROWS` rows whose first full-fidelity result came within :data:`FIRST_SHARE`
  of T. Target: all of them.
* **No model** (per budget): the headline's runs that end without a model. Target: none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from metahpo_bench._metrics import TIE
from metahpo_bench._time_cache import TimeRun
from metahpo_bench._time_stats import Cell, cell_regrets, cells, gains

#: Peers whose mean regret the headline's must be at most RATIO times.
RATIO_PEERS = ("flaml", "tpe-hb")
RATIO = 0.5
BETTER_SHARE = 2 / 3
REACH_S = 60.0
LARGE_ROWS = 100_000
FIRST_SHARE = 0.1
#: The peer whose final score at the longest budget the headline has to reach.
REACH_PEER = "flaml"


def _r(v: float) -> float:
    return round(float(v), 4)


def _ratio(group: dict[Cell, dict[str, TimeRun]], headline: str, peer: str) -> dict[str, Any]:
    both = [c for c, by in group.items() if headline in by and peer in by]
    if not both:
        return {"cells": 0}
    regrets = [cell_regrets(group[c]) for c in both]
    mine = float(np.mean([r[headline][-1] for r in regrets]))
    theirs = float(np.mean([r[peer][-1] for r in regrets]))
    ratio = mine / theirs if theirs > 0 else (0.0 if mine == 0 else float("inf"))
    return {
        "cells": len(both),
        "headline": _r(mine),
        "peer": _r(theirs),
        "ratio": _r(ratio) if np.isfinite(ratio) else None,
        "met": bool(mine <= RATIO * theirs + TIE),
    }


def _better_than_all(group: dict[Cell, dict[str, TimeRun]], headline: str) -> dict[str, Any]:
    mine = [c for c, by in group.items() if headline in by]
    better = 0
    for c in mine:
        r = cell_regrets(group[c])
        others = [v[-1] for m, v in r.items() if m != headline]
        better += int(all(r[headline][-1] < o - TIE for o in others))
    return {
        "cells": len(mine),
        "better": better,
        "met": bool(mine) and better >= BETTER_SHARE * len(mine) - TIE,
    }


def _large_first(runs: Sequence[TimeRun]) -> dict[str, Any]:
    large = [r for r in runs if r.n_train + r.n_test >= LARGE_ROWS]
    late = [
        f"{r.dataset}/{r.family}"
        for r in large
        if r.first_s is None or r.first_s > FIRST_SHARE * r.budget_s + TIE
    ]
    return {"runs": len(large), "within": len(large) - len(late), "late": late, "met": not late}


def _no_model(runs: Sequence[TimeRun]) -> dict[str, Any]:
    none = [f"{r.dataset}/{r.family}" for r in runs if r.checkpoints[-1].test is None]
    return {"runs": len(runs), "without": len(none), "which": none, "met": not none}


def _budget_targets(
    group: dict[Cell, dict[str, TimeRun]], runs: Sequence[TimeRun], headline: str
) -> dict[str, Any]:
    return {
        "ratio": {p: _ratio(group, headline, p) for p in RATIO_PEERS},
        "better_than_all": _better_than_all(group, headline),
        "large_first": _large_first(runs),
        "no_model": _no_model(runs),
    }


def _reach(runs: Sequence[TimeRun], headline: str) -> dict[str, Any] | None:
    """When the headline first reaches the peer's final score at the peer's longest budget."""
    peer = [r for r in runs if r.method == REACH_PEER]
    if not peer:
        return None
    longest = max(r.budget_s for r in peer)
    times: list[float] = []
    for p in (r for r in peer if r.budget_s == longest):
        target = gains(p)[-1]
        mine = [
            r
            for r in runs
            if r.method == headline
            and (r.dataset, r.family, r.seed) == (p.dataset, p.family, p.seed)
        ]
        if not mine:
            continue
        hits = [
            c.fraction * r.budget_s
            for r in mine
            for c, g in zip(r.checkpoints, gains(r), strict=True)
            if g >= target - TIE
        ]
        times.append(min(hits) if hits else float("inf"))
    median = float(np.median(times)) if times else float("inf")
    return {
        "budget_s": longest,
        "cells": len(times),
        "reached": int(np.isfinite(times).sum()),
        "within": int((np.asarray(times) <= REACH_S + TIE).sum()),
        "median_s": _r(median) if np.isfinite(median) else None,
        "met": bool(times) and median <= REACH_S + TIE,
    }


def time_targets(runs: Sequence[TimeRun], headline: str) -> dict[str, Any]:
    """Every target of issue 25 that the TIME grid measures, per budget and overall."""
    all_cells = cells(runs)
    out: dict[str, Any] = {"budgets": {}, "reach": _reach(runs, headline)}
    for budget in sorted({r.budget_s for r in runs if r.method == headline}):
        group = {c: by for c, by in all_cells.items() if c[2] == budget}
        mine = [r for r in runs if r.method == headline and r.budget_s == budget]
        out["budgets"][f"{budget:g}"] = _budget_targets(group, mine, headline)
    return out


def _verdict(met: bool) -> str:
    return "met" if met else "**missed**"


def _ratio_cell(e: dict[str, Any]) -> str:
    if not e["cells"]:
        return "–"
    ratio = "–" if e["ratio"] is None else f"{e['ratio']:.2f}×"
    pair = f"{e['headline']:.3f} vs {e['peer']:.3f}"
    return f"{pair} ({ratio}, {e['cells']} cells): {_verdict(e['met'])}"


def _budget_rows(budgets: dict[str, Any], headline: str) -> list[str]:
    keys = list(budgets)
    rows = [
        "| target | " + " | ".join(f"T = {k} s" for k in keys) + " |",
        "| --- |" + " --- |" * len(keys),
    ]
    for peer, label in (("flaml", "FLAML's"), ("tpe-hb", "Optuna TPE + Hyperband's")):
        rows.append(
            f"| mean regret ≤ {RATIO:g} × {label} | "
            + " | ".join(_ratio_cell(budgets[k]["ratio"][peer]) for k in keys)
            + " |"
        )
    better = [budgets[k]["better_than_all"] for k in keys]
    rows.append(
        f"| better than every peer on ≥ {BETTER_SHARE:.0%} of the cells | "
        + " | ".join(
            f"{b['better']}/{b['cells']}: {_verdict(b['met'])}" if b["cells"] else "–"
            for b in better
        )
        + " |"
    )
    large = [budgets[k]["large_first"] for k in keys]
    rows.append(
        f"| ≥ {LARGE_ROWS:,} rows: first full-fidelity result within {FIRST_SHARE:.0%} of T | "
        + " | ".join(
            f"{g['within']}/{g['runs']}: {_verdict(g['met'])}"
            + (f" (late: {', '.join(g['late'])})" if g["late"] else "")
            if g["runs"]
            else "–"
            for g in large
        )
        + " |"
    )
    none = [budgets[k]["no_model"] for k in keys]
    rows.append(
        f"| no `{headline}` run ends without a model | "
        + " | ".join(f"{n['without']} of {n['runs']}: {_verdict(n['met'])}" for n in none)
        + " |"
    )
    return rows


def render_targets(
    targets: dict[str, Any], headline: str, title: str = "## Targets (issue 25), as measured"
) -> list[str]:
    """TIME.md's "Targets" section (the README's, under another title) from
    :func:`time_targets`'s output."""
    lines = [title, ""]
    if targets["budgets"]:
        lines += _budget_rows(targets["budgets"], headline)
    reach = targets["reach"]
    if reach is not None:
        median = (
            "not reached in most cells" if reach["median_s"] is None else f"{reach['median_s']:g} s"
        )
        lines += [
            "",
            f"Median time for `{headline}` to reach FLAML's {reach['budget_s']:g}-s test "
            f"score (target ≤ {REACH_S:g} s): {median}, {_verdict(reach['met'])}; reached in "
            f"{reach['reached']} of {reach['cells']} cells, within {REACH_S:g} s in "
            f"{reach['within']}.",
        ]
    lines += [
        "",
        "The fourth target, no loss on the evaluation-count live grid, is measured by the live "
        "benchmark (LIVE.md), not here.",
    ]
    return lines

"""Issue 25's targets, measured on the TIME grid's runs (TIME.md's "Targets" section).

Columns for the issue's budgets, :data:`TARGET_BUDGETS` (60 s and 300 s); a budget without
runs of the headline method is "not measured", never met.

* **Regret ratio**: the headline method's mean normalised final regret over the cells it
  shares with a peer, divided by the peer's mean on the same cells. Target: at most
  :data:`RATIO` against FLAML (its cells: the families it has an estimator for) and against
  Optuna TPE + Hyperband.
* **Better than every peer**: cells (dataset x family x seed) where the headline's final regret
  is lower than that of every other method of the grid of record in the cell (the issue's
  peers: FLAML, TPE + Hyperband, GPSampler and metahpo without fidelities; ties within
  :data:`~metahpo_bench._metrics.TIE` are not better). Target: at least :data:`BETTER_SHARE`.
* **Time to FLAML's 300-s score**: per cell where FLAML ran for :data:`REACH_BUDGET` seconds,
  the first checkpoint at which the headline's run of :data:`REACH_S` seconds (one run, the
  one a user with that deadline starts) scores at least FLAML's final test score; the median
  over those cells, a cell never reached counting as later than any. Target: at most
  :data:`REACH_S` seconds, that is, reached in more than half the cells. The headline's
  :data:`REACH_BUDGET`-second runs give a second median, for information.
* **First result on large tables**: the headline's runs on tables of at least
  :data:`LARGE_ROWS` rows (training and test rows) whose first full-fidelity result came within
  :data:`FIRST_SHARE` of T. Target: all of them.
* **No model**: the headline's runs that end without a model, and its runs that failed to
  produce a record at all (the grid's errors). Target: none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from metahpo_bench._metrics import TIE
from metahpo_bench._time_cache import TimeRun, TimeUnit
from metahpo_bench._time_protocol import RECORD_METHODS
from metahpo_bench._time_stats import Cell, cell_regrets, cells, gains, rounded

#: The issue's budgets (seconds of one core).
TARGET_BUDGETS = (60.0, 300.0)
#: Peers whose mean regret the headline's must be at most RATIO times.
RATIO_PEERS = ("flaml", "tpe-hb")
RATIO = 0.5
BETTER_SHARE = 2 / 3
LARGE_ROWS = 100_000
FIRST_SHARE = 0.1
#: The peer, and its budget, whose final test score the headline has to reach ...
REACH_PEER, REACH_BUDGET = "flaml", 300.0
#: ... within this many seconds (its run of this budget).
REACH_S = 60.0


def _name(r: TimeRun) -> str:
    return f"{r.dataset}/{r.family}" + (f" seed {r.seed}" if r.seed else "")


#: Each method's normalised regret at each checkpoint, per cell.
Regrets = dict[Cell, dict[str, np.ndarray]]


def _ratio(group: Regrets, headline: str, peer: str) -> dict[str, Any]:
    both = [c for c, by in group.items() if headline in by and peer in by]
    if not both:
        return {"cells": 0, "met": None}
    regrets = [group[c] for c in both]
    mine = float(np.mean([r[headline][-1] for r in regrets]))
    theirs = float(np.mean([r[peer][-1] for r in regrets]))
    return {
        "cells": len(both),
        "headline": rounded(mine),
        "peer": rounded(theirs),
        "ratio": rounded(mine / theirs) if theirs > 0 else None,
        "met": bool(mine <= RATIO * theirs + TIE),
    }


def _better_than_all(group: Regrets, headline: str) -> dict[str, Any]:
    mine = [c for c, by in group.items() if headline in by]
    better = 0
    for c in mine:
        r = group[c]
        others = [v[-1] for m, v in r.items() if m != headline and m in RECORD_METHODS]
        better += int(bool(others) and all(r[headline][-1] < o - TIE for o in others))
    return {
        "cells": len(mine),
        "better": better,
        "met": bool(better >= BETTER_SHARE * len(mine) - TIE) if mine else None,
    }


def _large_first(runs: Sequence[TimeRun]) -> dict[str, Any]:
    large = [r for r in runs if r.n_train + r.n_test >= LARGE_ROWS]
    late = [
        _name(r) for r in large if r.first_s is None or r.first_s > FIRST_SHARE * r.budget_s + TIE
    ]
    met = not late if large else None
    return {"runs": len(large), "within": len(large) - len(late), "late": late, "met": met}


def _no_model(runs: Sequence[TimeRun], failed: Sequence[TimeUnit]) -> dict[str, Any]:
    none = [_name(r) for r in runs if not r.checkpoints or r.checkpoints[-1].test is None]
    lost = [f"{u[0]}/{u[1]}" for u in failed]
    return {
        "runs": len(runs) + len(lost),
        "without": len(none) + len(lost),
        "which": none + lost,
        "met": not none and not lost,
    }


def _budget_targets(
    group: dict[Cell, dict[str, TimeRun]],
    runs: Sequence[TimeRun],
    failed: Sequence[TimeUnit],
    headline: str,
) -> dict[str, Any]:
    regrets = {c: cell_regrets(by) for c, by in group.items()}
    return {
        "ratio": {p: _ratio(regrets, headline, p) for p in RATIO_PEERS},
        "better_than_all": _better_than_all(regrets, headline),
        "large_first": _large_first(runs),
        "no_model": _no_model(runs, failed),
    }


def _first_hit(run: TimeRun, target: float) -> float:
    """Seconds to the first checkpoint of ``run`` with a gain of at least ``target``."""
    for c, g in zip(run.checkpoints, gains(run), strict=True):
        if g >= target - TIE:
            return float(c.fraction * run.budget_s)
    return float("inf")


def _median(times: list[float]) -> float | None:
    m = float(np.median(times)) if times else float("inf")
    return rounded(m) if np.isfinite(m) else None


def _reach(runs: Sequence[TimeRun], headline: str) -> dict[str, Any] | None:
    """When the headline's runs first score as well as FLAML's 300-s run of the same cell."""
    peer = [r for r in runs if r.method == REACH_PEER and r.budget_s == REACH_BUDGET]
    if not peer:
        return None
    mine: dict[float, dict[tuple[str, str, int], TimeRun]] = {REACH_S: {}, REACH_BUDGET: {}}
    for r in runs:
        if r.method == headline and r.budget_s in mine:
            mine[r.budget_s][(r.dataset, r.family, r.seed)] = r
    times: dict[float, list[float]] = {REACH_S: [], REACH_BUDGET: []}
    for p in peer:
        for budget, by in mine.items():
            run = by.get((p.dataset, p.family, p.seed))
            if run is not None:
                times[budget].append(_first_hit(run, gains(p)[-1]))
    short, long = times[REACH_S], times[REACH_BUDGET]
    return {
        "cells": len(short),
        "within": int(np.isfinite(short).sum()),
        "median_s": _median(short),
        "met": (_median(short) is not None) if short else None,
        "cells_long": len(long),
        "reached_long": int(np.isfinite(long).sum()),
        "median_long_s": _median(long),
    }


def time_targets(
    runs: Sequence[TimeRun], headline: str, errors: Sequence[TimeUnit] = ()
) -> dict[str, Any]:
    """Every target of issue 25 that the TIME grid measures (``errors``: units of the grid
    that produced no run)."""
    all_cells = cells(runs)
    out: dict[str, Any] = {"budgets": {}, "reach": _reach(runs, headline)}
    for budget in TARGET_BUDGETS:
        mine = [r for r in runs if r.method == headline and r.budget_s == budget]
        failed = [u for u in errors if u[2] == headline and u[3] == budget]
        if not mine and not failed:
            out["budgets"][f"{budget:g}"] = None
            continue
        group = {c: by for c, by in all_cells.items() if c[2] == budget}
        out["budgets"][f"{budget:g}"] = _budget_targets(group, mine, failed, headline)
    return out


def _verdict(met: bool | None) -> str:
    return "not measured" if met is None else "met" if met else "**missed**"


def _ratio_cell(e: dict[str, Any]) -> str:
    if not e["cells"]:
        return "not measured"
    ratio = "–" if e["ratio"] is None else f"{e['ratio']:.2f}×"
    pair = f"{e['headline']:.3f} vs {e['peer']:.3f}"
    return f"{pair} ({ratio}, {e['cells']} cells): {_verdict(e['met'])}"


def _better_cell(b: dict[str, Any]) -> str:
    return f"{b['better']}/{b['cells']}: {_verdict(b['met'])}" if b["cells"] else "not measured"


def _large_cell(g: dict[str, Any]) -> str:
    if not g["runs"]:
        return "no such table"
    late = f" (late: {', '.join(g['late'])})" if g["late"] else ""
    return f"{g['within']}/{g['runs']}: {_verdict(g['met'])}{late}"


def _no_model_cell(n: dict[str, Any]) -> str:
    which = f" ({', '.join(n['which'])})" if n["which"] else ""
    return f"{n['without']} of {n['runs']}: {_verdict(n['met'])}{which}"


def _budget_rows(budgets: dict[str, Any], headline: str) -> list[str]:
    keys = list(budgets)
    rows = [
        "| target | " + " | ".join(f"T = {k} s" for k in keys) + " |",
        "| --- |" + " --- |" * len(keys),
    ]
    labels = {"flaml": "FLAML's (its lgbm cells)", "tpe-hb": "Optuna TPE + Hyperband's"}
    cells_of: list[tuple[str, Any]] = [
        *(
            (f"mean regret ≤ {RATIO:g} × {labels[p]}", lambda b, p=p: _ratio_cell(b["ratio"][p]))
            for p in RATIO_PEERS
        ),
        (
            "better than every peer on ≥ 2/3 of the cells (dataset × family)",
            lambda b: _better_cell(b["better_than_all"]),
        ),
        (
            f"≥ {LARGE_ROWS:,} rows: first full-fidelity result within {FIRST_SHARE:.0%} of T",
            lambda b: _large_cell(b["large_first"]),
        ),
        (f"no `{headline}` run ends without a model", lambda b: _no_model_cell(b["no_model"])),
    ]
    for label, cell in cells_of:
        values = [cell(budgets[k]) if budgets[k] is not None else "not measured" for k in keys]
        rows.append(f"| {label} | " + " | ".join(values) + " |")
    return rows


def _reach_line(reach: dict[str, Any] | None, headline: str) -> str:
    what = (
        f"Median time for `{headline}` to reach FLAML's {REACH_BUDGET:g}-s test score "
        f"(target ≤ {REACH_S:g} s)"
    )
    if reach is None or reach["met"] is None:
        return (
            f"{what}: not measured (no {REACH_BUDGET:g}-s FLAML run with a {REACH_S:g}-s "
            f"`{headline}` run of the same cell)."
        )
    median = (
        f"later than {REACH_S:g} s" if reach["median_s"] is None else f"{reach['median_s']:g} s"
    )
    line = (
        f"{what}, read off its {REACH_S:g}-s runs: {median}, {_verdict(reach['met'])}; reached "
        f"within {REACH_S:g} s in {reach['within']} of {reach['cells']} cells."
    )
    if reach["cells_long"]:
        long = reach["median_long_s"]
        line += (
            f" Its {REACH_BUDGET:g}-s runs reach it in {reach['reached_long']} of "
            f"{reach['cells_long']} cells (median "
            + ("beyond its budget" if long is None else f"{long:g} s")
            + ")."
        )
    return line


def render_targets(
    targets: dict[str, Any], headline: str, title: str = "## Targets (issue 25), as measured"
) -> list[str]:
    """TIME.md's "Targets" section (the README's, under another title) from
    :func:`time_targets`'s output."""
    return [
        title,
        "",
        *_budget_rows(targets["budgets"], headline),
        "",
        _reach_line(targets["reach"], headline),
        "",
        "The fourth target, no loss on the evaluation-count live grid, is measured by the live "
        "benchmark (LIVE.md), not here.",
    ]

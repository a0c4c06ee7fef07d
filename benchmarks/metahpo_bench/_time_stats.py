"""TIME benchmark statistics: normalised test regret at each checkpoint, and what a deadline
costs a method (no model yet, time of the first result, time to reach FLAML's final score).

* **Cells**: a (dataset, family, budget, seed) with runs of two methods or more. Each method's
  test score at a checkpoint is the refitted incumbent's, or the "no model" score (a constant
  predictor) where it had none.
* **Normalised regret** (:func:`normalised_regret`): per cell, between the worst and the best
  test score any method reached at 100 % of ``T`` (0: the best final score, 1: the worst),
  clipped to [0, 1]; a cell where every final score is equal gives 0 to a score at least as
  good and 1 to a worse one.
* **Win / tie / loss** of the headline method against each peer: paired cells, regret at
  100 %, ties within :data:`~metahpo_bench._metrics.TIE`.
* **Time to reach FLAML's final score**: the first checkpoint at which a method's test score is
  at least FLAML's at 100 % (cells where FLAML ran), as a share of ``T``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from metahpo_bench._metrics import TIE, win_tie_loss
from metahpo_bench._time_cache import TimeRun
from metahpo_bench._time_protocol import CHECKPOINTS

#: A cell: (dataset, family, budget seconds, seed).
Cell = tuple[str, str, float, int]
#: How many of the headline method's worst cells each group lists.
WORST_SIZE = 3


def gains(run: TimeRun) -> np.ndarray:
    """Test scores at each checkpoint as gains (larger is better)."""
    sign = 1.0 if run.direction == "maximize" else -1.0
    return sign * np.asarray(run.scores(), dtype=float)


def normalised_regret(finals: np.ndarray, curve: np.ndarray) -> np.ndarray:
    """Regret of ``curve`` (gains at the checkpoints) between the worst and best of ``finals``
    (every method's gain at 100 %), clipped to [0, 1]."""
    best, worst = float(np.max(finals)), float(np.min(finals))
    if best - worst <= 1e-12:
        return np.where(curve >= best - 1e-12, 0.0, 1.0)
    return np.asarray(np.clip((best - curve) / (best - worst), 0.0, 1.0), dtype=float)


def cells(runs: Sequence[TimeRun]) -> dict[Cell, dict[str, TimeRun]]:
    """Runs by cell and method; cells with fewer than two methods are left out."""
    out: dict[Cell, dict[str, TimeRun]] = {}
    for r in runs:
        out.setdefault((r.dataset, r.family, r.budget_s, r.seed), {})[r.method] = r
    return {c: m for c, m in sorted(out.items()) if len(m) >= 2}


def cell_regrets(by_method: dict[str, TimeRun]) -> dict[str, np.ndarray]:
    """Each method's normalised regret at each checkpoint in one cell."""
    curves = {m: gains(r) for m, r in by_method.items()}
    finals = np.array([c[-1] for c in curves.values()])
    return {m: normalised_regret(finals, c) for m, c in curves.items()}


def rounded(v: float) -> float:
    """``v`` to the 4 decimals the summaries keep."""
    return round(float(v), 4)


def _reach(runs: Sequence[TimeRun], flaml: Sequence[TimeRun]) -> dict[str, Any]:
    """When ``runs`` first score at least as well as FLAML's final score in the same cell."""
    fractions: list[float] = []
    for run, peer in zip(runs, flaml, strict=True):
        hit = np.flatnonzero(gains(run) >= gains(peer)[-1] - 1e-12)
        if hit.size:
            fractions.append(CHECKPOINTS[int(hit[0])])
    return {
        "cells": len(runs),
        "reached": len(fractions),
        "median_pct": rounded(100 * float(np.median(fractions))) if fractions else None,
    }


def _method_entry(runs: Sequence[TimeRun], regret: np.ndarray) -> dict[str, Any]:
    """One method over a group's cells (``regret``: cells × checkpoints)."""
    # a first result after T (the process runs up to GRACE_S past it) is no result in time
    firsts = [r.first_s / r.budget_s for r in runs if r.first_s is not None]
    firsts = [f for f in firsts if f <= 1.0 + 1e-9]
    no_model = np.array([[c.test is None for c in r.checkpoints] for r in runs], dtype=int)
    entry: dict[str, Any] = {
        "n": len(runs),
        "mean": [rounded(v) for v in regret.mean(axis=0)],
        "median": [rounded(v) for v in np.median(regret, axis=0)],
        "no_model": [int(v) for v in no_model.sum(axis=0)],
        "no_model_final": int(no_model[:, -1].sum()),
        "first_pct_median": rounded(100 * float(np.median(firsts))) if firsts else None,
        "without_result": len(runs) - len(firsts),
        "failed": sum(r.error is not None for r in runs),
    }
    return entry


def group_stats(
    group: dict[Cell, dict[str, TimeRun]], methods: Sequence[str], headline: str
) -> dict[str, Any]:
    """A group of cells: per method its regret, no-model counts, first-result time and time to
    FLAML's final score; the headline's win/tie/loss against each peer; its worst cells."""
    regrets = {c: cell_regrets(by) for c, by in group.items()}
    out: dict[str, Any] = {"n_cells": len(group), "methods": {}, "wtl": {}, "worst": []}
    for m in methods:
        cs = [c for c in group if m in group[c]]
        if not cs:
            continue
        with_flaml = [c for c in cs if "flaml" in group[c]]
        out["methods"][m] = _method_entry(
            [group[c][m] for c in cs], np.array([regrets[c][m] for c in cs])
        )
        if m != "flaml" and with_flaml:
            out["methods"][m]["reach_flaml"] = _reach(
                [group[c][m] for c in with_flaml], [group[c]["flaml"] for c in with_flaml]
            )
        if m != headline:
            both = [c for c in cs if headline in group[c]]
            out["wtl"][m] = list(
                win_tie_loss(
                    np.array([regrets[c][headline][-1] for c in both]),
                    np.array([regrets[c][m][-1] for c in both]),
                    TIE,
                )
            )
    mine = [c for c in group if headline in group[c]]
    for c in sorted(mine, key=lambda c: (-regrets[c][headline][-1], c))[:WORST_SIZE]:
        out["worst"].append(
            {"dataset": c[0], "family": c[1], "seed": c[3]}
            | {"regret": {m: rounded(v[-1]) for m, v in regrets[c].items()}}
        )
    return out


def time_stats(
    runs: Sequence[TimeRun], methods: Sequence[str], headline: str
) -> dict[str, dict[str, Any]]:
    """Per budget (``"60"``, ...): all cells, per family and per task type."""
    all_cells = cells(runs)
    out: dict[str, dict[str, Any]] = {}
    for budget in sorted({c[2] for c in all_cells}):
        mine = {c: by for c, by in all_cells.items() if c[2] == budget}
        entry: dict[str, Any] = {
            "all": group_stats(mine, methods, headline),
            "family": {},
            "task": {},
        }
        for f in sorted({c[1] for c in mine}):
            entry["family"][f] = group_stats(
                {c: by for c, by in mine.items() if c[1] == f}, methods, headline
            )
        tasks = {c: next(iter(by.values())).task for c, by in mine.items()}
        for t in sorted(set(tasks.values())):
            entry["task"][t] = group_stats(
                {c: by for c, by in mine.items() if tasks[c] == t}, methods, headline
            )
        out[f"{budget:g}"] = entry
    return out


def cpu_cost(runs: Sequence[TimeRun]) -> dict[str, float]:
    """Core-hours of the grid: the tuning processes (start-up and overrun included), the
    nominal budgets, and the refits (one core each)."""
    return {
        "runs": len(runs),
        "tuning_core_h": round(sum(r.wall_s for r in runs) / 3600, 3),
        "budget_core_h": round(sum(r.budget_s for r in runs) / 3600, 3),
        "refit_core_h": round(sum(r.refit_s for r in runs) / 3600, 3),
    }

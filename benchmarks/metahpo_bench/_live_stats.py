"""Live benchmark statistics: regret curves, intervals, ranks, wins, overhead, wall time.

Everything is computed from cached :class:`~metahpo_bench._live_cache.LiveRun` records:

* **Normalised regret** of a run after ``t`` evaluations: ``(best − best found) / (best −
  worst)``, where best and worst are over every evaluation that *any* compared method made on
  that (dataset, family), all seeds (there is no stored pool: the best score found by anyone is
  the reference). Failed evaluations never improve the best; until one succeeds the regret is 1.
  (Dataset, family) pairs where every evaluation scored the same are left out.
* Only **complete** (dataset, family, seed) cells enter the tables: every method has a run.
* **Mean** over datasets (a dataset's value averages its families and seeds), with a 95 %
  percentile bootstrap interval resampling datasets; **median** over runs.
* **Rank** among the methods within each run cell (ties share the average rank).
* **Win / tie / loss** against a baseline: paired run cells, a tie when the regrets differ by
  at most :data:`TIE` (normalised units).
* **Evaluations to reach** a baseline's final regret: per run cell, the first ``t`` at which
  the method's regret is at or below the baseline's regret after the whole budget.
* **Overhead**: the optimizer's own seconds per evaluation (median, 95th percentile), apart from
  training; **wall time to a regret**: setup plus overhead plus training until the run first
  reaches it.
* **Per family and per task type**: mean, median, 90th percentile and worst dataset, metahpo's
  ratios and wins, its worst datasets (:mod:`metahpo_bench._live_groups`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from metahpo_bench._live_cache import LiveRun
from metahpo_bench._live_groups import group_summary
from metahpo_bench._live_groups import per_dataset as _per_dataset
from metahpo_bench._metrics import (
    bootstrap_mean,
    evals_to_reach,
    ranks,
    regret_curve,
    win_tie_loss,
)

#: Two live regrets closer than this are a tie.
TIE = 1e-3
#: Regret levels of the wall-time table.
WALL_LEVELS = (0.10, 0.05)


def cutpoints(budget: int) -> list[int]:
    return [t for t in (1, 3, 5, 10, 20, 30, 50, 100) if t < budget] + [budget]


def curves(
    runs: Iterable[LiveRun], methods: Sequence[str], budget: int
) -> tuple[list[tuple[str, str, str, int]], np.ndarray, list[tuple[str, str]]]:
    """Regret curves of the complete run cells.

    Returns:
        ``(cells, regret, skipped)``: the (dataset, family, task, seed) cells, regret of shape
        ``(n_methods, n_cells, budget)``, and the uninformative (dataset, family) pairs.
    """
    by_cell: dict[tuple[str, str, int], dict[str, LiveRun]] = {}
    for r in runs:
        if r.method in methods:
            by_cell.setdefault((r.dataset, r.family, r.seed), {})[r.method] = r
    complete = {k: v for k, v in by_cell.items() if all(m in v for m in methods)}
    groups: dict[tuple[str, str], list[tuple[str, str, int]]] = {}
    for k in sorted(complete):
        groups.setdefault((k[0], k[1]), []).append(k)
    cells: list[tuple[str, str, str, int]] = []
    rows: list[np.ndarray] = []
    skipped: list[tuple[str, str]] = []
    for (dataset, family), keys in groups.items():
        gains: list[float] = []
        picks: dict[tuple[tuple[str, str, int], str], list[int]] = {}
        for k in keys:
            for m in methods:
                g = complete[k][m].gains()[:budget]
                picks[(k, m)] = list(range(len(gains), len(gains) + len(g)))
                gains.extend(g)
        gain = np.asarray(gains, dtype=float)
        ok = gain[np.isfinite(gain)]
        if ok.size < 2 or ok.max() <= ok.min():
            skipped.append((dataset, family))
            continue
        for k in keys:
            cells.append((dataset, family, complete[k][methods[0]].task, k[2]))
            rows.append(np.stack([regret_curve(gain, picks[(k, m)], budget) for m in methods]))
    regret = np.stack(rows, axis=1) if rows else np.zeros((len(methods), 0, budget), dtype=float)
    return cells, regret, skipped


def _wall_to(run: LiveRun, curve: np.ndarray, level: float) -> float:
    t = evals_to_reach(curve, level)
    if t is None:
        return math.inf
    return run.setup_s + float(sum(run.fit_s[:t]) + sum(run.overhead_s[:t]))


def _against(
    regret: np.ndarray,
    cells: Sequence[tuple[str, str, str, int]],
    methods: Sequence[str],
    i: int,
    present: Sequence[str],
    budget: int,
) -> dict[str, Any]:
    """Method ``i`` against each baseline: ratio of means, evaluations to reach, and against
    every other method: win / tie / loss."""
    ci = [t - 1 for t in cutpoints(budget)]
    mean = _per_dataset(cells, regret[i][:, ci]).mean(axis=0)
    e: dict[str, Any] = {"ratio": {}, "reach": {}, "wtl": {}}
    for b in present:
        j = methods.index(b)
        bmean = _per_dataset(cells, regret[j][:, ci]).mean(axis=0)
        e["ratio"][b] = [
            round(float(a / c), 3) if c > 0 else None for a, c in zip(mean, bmean, strict=True)
        ]
        hits = [evals_to_reach(regret[i][k], float(regret[j][k][-1])) for k in range(len(cells))]
        reached = [h for h in hits if h is not None]
        e["reach"][b] = {
            "median": float(np.median([h if h is not None else budget + 1 for h in hits])),
            "mean_reached": round(float(np.mean(reached)), 2) if reached else None,
            "fraction": round(len(reached) / len(hits), 3),
        }
    for b in (m2 for m2 in methods if m2 != methods[i]):
        j = methods.index(b)
        e["wtl"][b] = {
            str(t): list(win_tie_loss(regret[i][:, t - 1], regret[j][:, t - 1], TIE))
            for t in sorted({min(10, budget), min(20, budget), budget})
        }
    return e


def _costs(mine: Sequence[LiveRun], regret: np.ndarray, budget: int) -> dict[str, Any]:
    """Overhead, training time, failures and wall time to a regret of one method's runs."""
    over = np.concatenate([np.asarray(r.overhead_s[:budget], dtype=float) for r in mine])
    fit = np.concatenate([np.asarray(r.fit_s[:budget], dtype=float) for r in mine])
    e: dict[str, Any] = {
        "overhead_s": {
            "median": round(float(np.median(over)), 4),
            "p95": round(float(np.quantile(over, 0.95)), 4),
            "setup_median": round(float(np.median([r.setup_s for r in mine])), 3),
        },
        "fit_s_per_eval": round(float(fit.mean()), 3),
        "seconds_total": round(float(over.sum() + fit.sum() + sum(r.setup_s for r in mine)), 1),
        "failed_evals": int(sum(v is None for r in mine for v in r.values[:budget])),
        "wall_to": {},
    }
    for level in WALL_LEVELS:
        walls = [_wall_to(r, regret[k], level) for k, r in enumerate(mine)]
        med = float(np.median(walls))
        e["wall_to"][f"{level:.2f}"] = {
            "median_s": round(med, 2) if math.isfinite(med) else None,
            "fraction": round(float(np.mean(np.isfinite(walls))), 3),
        }
    return e


def summarize(
    runs: Sequence[LiveRun],
    methods: Sequence[str],
    budget: int,
    *,
    baselines: Sequence[str] = ("gp", "tpe"),
    headline: str = "meta",
) -> dict[str, Any]:
    """The live summary (what ``summary.json`` holds besides the protocol); ``groups`` holds
    :func:`~metahpo_bench._live_groups.group_summary` with ``headline`` against ``baselines``."""
    methods = list(methods)
    cells, regret, skipped = curves(runs, methods, budget)
    cuts = cutpoints(budget)
    ci = [t - 1 for t in cuts]
    out: dict[str, Any] = {
        "cutpoints": cuts,
        "n_cells": len(cells),
        "n_datasets": len({c[0] for c in cells}),
        "datasets": sorted({c[0] for c in cells}),
        "families": sorted({c[1] for c in cells}),
        "skipped": [list(s) for s in skipped],
        "tie": TIE,
        "methods": {},
    }
    if not cells:
        return out
    rank = ranks(regret)
    by_run = {(r.method, r.dataset, r.family, r.seed): r for r in runs}
    present = [b for b in baselines if b in methods]
    for i, m in enumerate(methods):
        mean, low, high = bootstrap_mean(_per_dataset(cells, regret[i][:, ci]))
        e: dict[str, Any] = {
            "mean": [round(float(v), 4) for v in mean],
            "ci_low": [round(float(v), 4) for v in low],
            "ci_high": [round(float(v), 4) for v in high],
            "median_run": [round(float(v), 4) for v in np.median(regret[i][:, ci], axis=0)],
            "rank": [round(float(v), 3) for v in rank[i][:, ci].mean(axis=0)],
            "by_family": {},
            "by_task": {},
        }
        for key, pos in (("by_family", 1), ("by_task", 2)):
            for g in sorted({c[pos] for c in cells}):
                sel = [j for j, c in enumerate(cells) if c[pos] == g]
                sub = _per_dataset([cells[j] for j in sel], regret[i][sel][:, ci])
                e[key][g] = [round(float(v), 4) for v in sub.mean(axis=0)]
        e.update(_against(regret, cells, methods, i, present, budget))
        mine = [by_run[(m, c[0], c[1], c[3])] for c in cells]
        e.update(_costs(mine, regret[i], budget))
        out["methods"][m] = e
    out["groups"] = group_summary(
        cells, regret, methods, budget, headline=headline, baselines=present, tie=TIE
    )
    return out

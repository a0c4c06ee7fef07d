"""Replay benchmark statistics: mean and median regret, ranks and comparisons per split.

Means are over datasets (each dataset's runs averaged first) with percentile bootstrap intervals
over datasets; medians are over runs; ranks are within each run and evaluation count, averaged.
Only runs that every compared method finished are compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from metahpo_bench._metrics import bootstrap_mean, evals_to_reach, ranks, win_tie_loss
from metahpo_bench._replay_records import BenchResult, RunRecord

#: Evaluation counts reported in the tables (those within the budget, plus the budget).
CUTPOINTS = (1, 3, 5, 10, 25, 50)
#: The baseline of the "against" table.
BASELINE = "tpe"


def cutpoints(budget: int) -> list[int]:
    """The reported evaluation counts for a budget."""
    cuts = [c for c in CUTPOINTS if c <= budget]
    return cuts if budget in cuts else [*cuts, budget]


def _split_stats(
    R: np.ndarray,
    units: Sequence[tuple[str, str, int]],
    methods: Sequence[str],
    baseline: str | None,
    n_boot: int,
) -> dict[str, Any]:
    """Statistics of one split. ``R`` has shape ``(n_methods, n_units, budget)``."""
    datasets = sorted({u[0] for u in units})
    index = {d: i for i, d in enumerate(datasets)}
    of = np.asarray([index[u[0]] for u in units])
    counts = np.bincount(of, minlength=len(datasets)).astype(float)
    per_dataset = np.zeros((len(datasets), R.shape[0], R.shape[2]))
    for m in range(R.shape[0]):
        sums = np.zeros((len(datasets), R.shape[2]))
        np.add.at(sums, of, R[m])
        per_dataset[:, m, :] = sums / counts[:, None]
    mean, low, high = bootstrap_mean(per_dataset, n_boot=n_boot)
    rank = ranks(R).mean(axis=1)
    median = np.median(R, axis=1)
    out: dict[str, Any] = {"n_runs": len(units), "n_datasets": len(datasets), "methods": {}}
    b = methods.index(baseline) if baseline in methods else None
    budget = R.shape[2]
    for m, name in enumerate(methods):
        entry: dict[str, Any] = {
            "mean": mean[m].tolist(),
            "ci_low": low[m].tolist(),
            "ci_high": high[m].tolist(),
            "median": median[m].tolist(),
            "rank": rank[m].tolist(),
        }
        if b is not None:
            target = float(mean[b, -1])
            entry["evals_to_baseline_final"] = evals_to_reach(mean[m], target)
            per_run = [evals_to_reach(R[m, u], float(R[b, u, -1])) for u in range(R.shape[1])]
            reached = np.asarray([np.inf if e is None else e for e in per_run], dtype=float)
            med = float(np.median(reached))
            entry["median_evals_to_baseline_final"] = med if np.isfinite(med) else None
            entry["share_reaching_baseline_final"] = float(np.isfinite(reached).mean())
            entry["win_tie_loss"] = {
                str(t): list(win_tie_loss(R[m, :, t - 1], R[b, :, t - 1]))
                for t in range(1, budget + 1)
            }
        out["methods"][name] = entry
    return out


def summarize(
    result: BenchResult, *, baseline: str = BASELINE, n_boot: int = 1000
) -> dict[str, Any]:
    """Aggregate the runs of a benchmark.

    Only runs that every compared method finished are compared (a *unit* is a dataset, family
    and seed); methods with failed runs are left out and listed under ``excluded``. Means are
    over datasets (each dataset's runs averaged first) with percentile bootstrap intervals over
    datasets; medians are over runs; ranks are within each run and evaluation count, averaged.

    Returns:
        A JSON-ready dict: ``methods``, ``excluded``, ``cutpoints``, ``splits`` (``all``,
        ``family:<name>``, ``task:<type>``, each with per-method curves and comparisons),
        ``latency`` and ``counts``.
    """
    budget = result.settings.budget
    failed: dict[str, list[str]] = {}
    for e in result.errors:
        failed.setdefault(e.method, []).append(f"{e.dataset}/{e.family}: {e.message}")
    methods = [m for m in result.settings.methods if m not in failed]
    by_key: dict[tuple[str, str, str, int], RunRecord] = {r.key: r for r in result.runs}
    units = sorted(
        {
            (r.dataset, r.family, r.seed)
            for r in result.runs
            if all((m, r.dataset, r.family, r.seed) in by_key for m in methods)
        }
    )
    task_of = {(r.dataset, r.family): r.task for r in result.runs}
    summary: dict[str, Any] = {
        "methods": methods,
        "excluded": {
            m: {"failed_runs": len(msgs), "first_error": msgs[0]} for m, msgs in failed.items()
        },
        "baseline": baseline if baseline in methods else None,
        "cutpoints": cutpoints(budget),
        "budget": budget,
        "splits": {},
        "latency": {},
    }
    if not methods or not units:
        return summary
    R = np.asarray(
        [[by_key[(m, d, f, s)].regret for (d, f, s) in units] for m in methods], dtype=float
    )
    splits: dict[str, list[int]] = {"all": list(range(len(units)))}
    for i, (d, f, _) in enumerate(units):
        splits.setdefault(f"family:{f}", []).append(i)
        splits.setdefault(f"task:{task_of[(d, f)]}", []).append(i)
    for name in sorted(splits, key=lambda s: (s != "all", s)):
        idx = splits[name]
        summary["splits"][name] = _split_stats(
            R[:, idx, :], [units[i] for i in idx], methods, baseline, n_boot
        )
    for m in methods:
        runs = [by_key[(m, d, f, s)] for (d, f, s) in units]
        first = [r.seconds[0] for r in runs if r.seconds]
        every = [s for r in runs for s in r.seconds]
        fits = [f.seconds for f in result.fits if f.method == m]
        summary["latency"][m] = {
            "first_pick_ms": 1000.0 * float(np.median(first)) if first else None,
            "per_pick_ms": 1000.0 * float(np.median(every)) if every else None,
            "run_s": float(np.median([sum(r.seconds) for r in runs])),
            "prepare_s": float(np.median(fits)) if fits and max(fits) > 0.001 else None,
        }
    summary["counts"] = {
        "runs": len(units),
        "datasets": len({u[0] for u in units}),
        "tasks": len({u[:2] for u in units}),
        "seeds": len({u[2] for u in units}),
    }
    return summary

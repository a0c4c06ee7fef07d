"""Live statistics per model family and per task type: centre and tail over datasets.

A mean over datasets can be carried by a few of them, and a mean over families by one family.
For each group (a family, or a task type) of the complete run cells this gives, after 1, 10 and
the whole budget of evaluations:

* for every method, the **mean**, the **median** and the **90th percentile** over the group's
  datasets, and the **worst** dataset with its regret; a dataset's value is its mean over seeds
  (and, for a task type, over families), as in the overall mean;
* the headline method's (metahpo's default) **ratio** of mean regret to each baseline's, and its
  **win / tie / loss** against each baseline after the whole budget (paired run cells, the
  live tie rule);
* the **tail**: the datasets where the headline method's regret after the whole budget is
  highest, with the baselines' regret on the same datasets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from metahpo_bench._metrics import win_tie_loss

#: The quantile of the tail column (over a group's datasets).
TAIL_QUANTILE = 0.9
#: How many of the headline method's worst datasets each group lists.
TAIL_SIZE = 3

Cell = tuple[str, str, str, int]


def group_cutpoints(budget: int) -> list[int]:
    """Evaluation counts of the group tables: 1, 10 and the budget (those within it)."""
    return sorted({t for t in (1, 10, budget) if t <= budget})


def per_dataset(cells: Sequence[Cell], values: np.ndarray) -> np.ndarray:
    """Average ``values`` (cells first) over each dataset's cells, datasets in name order."""
    names = sorted({c[0] for c in cells})
    idx = {n: i for i, n in enumerate(names)}
    out = np.zeros((len(names), *values.shape[1:]))
    count = np.zeros(len(names))
    for c, v in zip(cells, values, strict=True):
        out[idx[c[0]]] += v
        count[idx[c[0]]] += 1
    return out / count.reshape(-1, *([1] * (values.ndim - 1)))


def _r(v: float) -> float:
    return round(float(v), 4)


def _spread(names: Sequence[str], values: np.ndarray) -> dict[str, Any]:
    """Mean, median, 90th percentile and worst dataset of ``values`` (datasets × cutpoints)."""
    worst = np.argmax(values, axis=0)  # the first in name order among equals
    return {
        "mean": [_r(v) for v in values.mean(axis=0)],
        "median": [_r(v) for v in np.median(values, axis=0)],
        "p90": [_r(v) for v in np.quantile(values, TAIL_QUANTILE, axis=0)],
        "worst": [
            {"dataset": names[int(w)], "regret": _r(values[int(w), k])} for k, w in enumerate(worst)
        ],
    }


def _group(
    cells: Sequence[Cell],
    regret: np.ndarray,
    methods: Sequence[str],
    ci: Sequence[int],
    headline: str,
    baselines: Sequence[str],
    tie: float,
) -> dict[str, Any]:
    """One group's entry; ``regret`` holds only the group's cells."""
    names = sorted({c[0] for c in cells})
    values = {m: per_dataset(cells, regret[i][:, ci]) for i, m in enumerate(methods)}
    out: dict[str, Any] = {
        "n_datasets": len(names),
        "n_cells": len(cells),
        "methods": {m: _spread(names, values[m]) for m in methods},
        "ratio": {},
        "wtl": {},
        "tail": [],
    }
    if headline not in methods:
        return out
    h = methods.index(headline)
    mean = values[headline].mean(axis=0)
    for b in baselines:
        base = values[b].mean(axis=0)
        out["ratio"][b] = [
            round(float(a / c), 3) if c > 0 else None for a, c in zip(mean, base, strict=True)
        ]
        j = methods.index(b)
        out["wtl"][b] = list(win_tie_loss(regret[h][:, -1], regret[j][:, -1], tie))
    final = values[headline][:, -1]
    for k in sorted(range(len(names)), key=lambda k: (-final[k], names[k]))[:TAIL_SIZE]:
        out["tail"].append(
            {
                "dataset": names[k],
                "regret": {m: _r(values[m][k, -1]) for m in (headline, *baselines)},
            }
        )
    return out


def group_summary(
    cells: Sequence[Cell],
    regret: np.ndarray,
    methods: Sequence[str],
    budget: int,
    *,
    headline: str,
    baselines: Sequence[str],
    tie: float,
) -> dict[str, Any]:
    """Per family (``"family"``) and per task type (``"task"``): see the module docstring.

    Args:
        cells: The complete (dataset, family, task, seed) run cells.
        regret: Their regret curves, shape ``(n_methods, n_cells, budget)``.
        methods: The methods, in the order of ``regret``.
        budget: Evaluations per run.
        headline: The method whose ratios, wins and worst datasets are reported.
        baselines: What it is compared with (those among ``methods``).
        tie: Regrets that differ by at most this much are a tie.
    """
    cuts = group_cutpoints(budget)
    present = [b for b in baselines if b in methods and b != headline]
    out: dict[str, Any] = {
        "cutpoints": cuts,
        "quantile": TAIL_QUANTILE,
        "headline": headline,
        "family": {},
        "task": {},
    }
    for key, pos in (("family", 1), ("task", 2)):
        for g in sorted({c[pos] for c in cells}):
            sel = [j for j, c in enumerate(cells) if c[pos] == g]
            out[key][g] = _group(
                [cells[j] for j in sel],
                regret[:, sel],
                list(methods),
                [t - 1 for t in cuts],
                headline,
                present,
                tie,
            )
    return out

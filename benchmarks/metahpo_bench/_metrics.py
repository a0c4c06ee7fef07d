"""Benchmark arithmetic: normalised regret, ranks, bootstrap intervals, wins against a baseline.

Everything here is a pure function of arrays, so that it can be checked by hand.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import rankdata

#: Two regrets closer than this are a tie.
TIE = 1e-12


def regret_curve(gain: np.ndarray, picks: Sequence[int], budget: int) -> np.ndarray:
    """Normalised regret after each of ``1..budget`` evaluations.

    ``regret_t = (best − best found in the first t picks) / (best − worst)``, where best and
    worst are over the finite scores of the whole pool. Failed picks (``nan``) never improve the
    best found; until a finite score is found the regret is 1. If the run has fewer picks than
    ``budget`` (a pool smaller than the budget) the last value is carried forward. A pool whose
    finite scores are all equal (or that has none) has regret 0 throughout.

    Args:
        gain: Scores of every pool row, larger is better (``TaskExperience.gain()``), ``nan``
            where the evaluation failed.
        picks: Pool rows in evaluation order.
        budget: Length of the curve.

    Returns:
        Array of shape ``(budget,)`` with values in ``[0, 1]``, non-increasing.
    """
    g = np.asarray(gain, dtype=float)
    ok = np.isfinite(g)
    out = np.zeros(budget)
    if not ok.any():
        return out
    best, worst = float(g[ok].max()), float(g[ok].min())
    if best <= worst:
        return out
    found = worst
    last = 1.0
    for t in range(budget):
        if t < len(picks):
            v = g[int(picks[t])]
            if np.isfinite(v) and v > found:
                found = float(v)
            last = (best - found) / (best - worst)
        out[t] = last
    return np.clip(out, 0.0, 1.0)


def informative(gain: np.ndarray) -> bool:
    """Whether a pool can tell methods apart: at least two distinct finite scores."""
    g = np.asarray(gain, dtype=float)
    g = g[np.isfinite(g)]
    return g.size >= 2 and float(g.max()) > float(g.min())


def ranks(regret: np.ndarray) -> np.ndarray:
    """Rank of each method within each run and evaluation count (1 = lowest regret).

    Ties share the average rank.

    Args:
        regret: Shape ``(n_methods, n_runs, budget)``.

    Returns:
        Ranks, same shape.
    """
    r: np.ndarray = np.asarray(regret, dtype=float)
    if r.shape[0] == 0:
        return np.array(r, dtype=float)
    # Snap near-equal regrets together so that float noise does not break ties.
    snapped = np.round(r / TIE) * TIE if np.all(np.isfinite(r)) else r
    return np.asarray(rankdata(snapped, axis=0, method="average"), dtype=float)


def bootstrap_mean(
    per_group: np.ndarray, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over groups and its percentile bootstrap interval, resampling groups.

    Args:
        per_group: Shape ``(n_groups, ...)``: one value (or curve) per group (dataset).
        n_boot: Bootstrap resamples.
        seed: Random seed of the resampling (fixed, so that tables are reproducible).
        level: Coverage of the interval.

    Returns:
        ``(mean, low, high)``, each of shape ``per_group.shape[1:]``.
    """
    v = np.asarray(per_group, dtype=float)
    mean = v.mean(axis=0)
    if v.shape[0] < 2:
        return mean, mean.copy(), mean.copy()
    n = v.shape[0]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    # Each resample as counts per group, so memory stays (n_boot × n_groups + n_boot × rest).
    counts = np.zeros((n_boot, n))
    np.add.at(counts, (np.arange(n_boot)[:, None], idx), 1.0)
    boots = (counts @ v.reshape(n, -1) / n).reshape((n_boot, *v.shape[1:]))
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(boots, [alpha, 1.0 - alpha], axis=0)
    return mean, low, high


def evals_to_reach(curve: np.ndarray, target: float) -> int | None:
    """First evaluation count (1-based) at which ``curve`` is at or below ``target``, else None."""
    hit = np.flatnonzero(np.asarray(curve, dtype=float) <= target + TIE)
    return int(hit[0]) + 1 if hit.size else None


def win_tie_loss(
    regret: np.ndarray, baseline: np.ndarray, tie: float = TIE
) -> tuple[int, int, int]:
    """Runs where ``regret`` is lower than (win), equal to (tie) or higher than the baseline's.

    Args:
        regret, baseline: One regret per run, same shape.
        tie: Regrets that differ by at most this much are a tie.
    """
    a, b = np.asarray(regret, dtype=float), np.asarray(baseline, dtype=float)
    diff = a - b
    wins = int((diff < -tie).sum())
    losses = int((diff > tie).sum())
    return wins, int(diff.size) - wins - losses, losses

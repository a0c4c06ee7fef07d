"""Low-fidelity evaluation: nested row subsamples, a holdout split, and the early stop of a
configuration after its first folds.

These are the evaluation layer's pieces of multi-fidelity tuning; the schedule that decides
which configuration gets how many rows lives in :mod:`metahpo.tuning`.

* :func:`subsample_rows` picks ``n`` of a fold's training rows, seeded and stratified, and
  **nested**: with the same seed, the rows picked for a smaller ``n`` are a subset of those for
  a larger one, so a configuration promoted to more rows sees the rows it was ranked on again.
* :func:`make_holdout` is one seeded (stratified) train/validation split, the usual choice
  instead of k-fold cross-validation on large tables.
* :func:`cannot_beat` is the model-based rule that stops a configuration after its first
  folds: the paired differences between its fold scores and the incumbent's on the same folds
  are modelled as normal, and the configuration stops when even an optimistic (``z`` standard
  deviations) forecast of its mean over all folds stays below the incumbent's.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import train_test_split

from metahpo.datasets import Dataset
from metahpo.errors import MetaHPOError

Folds = list[tuple[np.ndarray, np.ndarray]]


def subsample_rows(
    rows: np.ndarray, n: int, seed: int = 0, y: np.ndarray | None = None
) -> np.ndarray:
    """At most ``n`` of ``rows`` (row positions), seeded, stratified by ``y`` and nested.

    Args:
        rows: Candidate row positions (for example one fold's training rows).
        n: Rows wanted; ``rows`` is returned whole (same order) when it has no more.
        seed: Seeds the order; the same seed gives nested subsamples for growing ``n``.
        y: Labels of all rows (indexed by position) to stratify by; ``None``: no strata.
            Every class present in ``rows`` comes first (one row each), so a subsample of at
            least as many rows as classes holds every class; the rest of each class follows in
            proportion to its size.

    Returns:
        The chosen positions, sorted.
    """
    rows = np.asarray(rows)
    if n < 1:
        raise MetaHPOError(f"a row subsample needs at least one row, got {n}")
    if n >= len(rows):
        return rows
    rng = np.random.default_rng(seed)
    noise = rng.random(len(rows))
    if y is None:
        order = np.argsort(noise, kind="stable")
    else:
        labels = np.asarray(y)[rows]
        key = np.empty(len(rows))
        for label in np.unique(labels):
            members = np.flatnonzero(labels == label)
            ranks = np.argsort(np.argsort(noise[members], kind="stable"), kind="stable")
            # spread each class evenly over (0, 1); its first member goes before everything
            key[members] = np.where(ranks == 0, -1.0, (ranks + 0.5) / len(members))
        order = np.lexsort((noise, key))
    return np.sort(rows[order[:n]])


def make_holdout(dataset: Dataset, test_fraction: float = 0.2, seed: int = 0) -> Folds:
    """One seeded train/validation split (stratified for classification when every class has
    two rows), as a one-element list of ``(train_idx, test_idx)`` like :func:`make_folds`."""
    if not 0.0 < test_fraction < 1.0:
        raise MetaHPOError(f"holdout test_fraction must be in (0, 1), got {test_fraction!r}")
    n_test = math.ceil(dataset.n_rows * test_fraction)
    if dataset.n_rows < 2 or n_test >= dataset.n_rows:
        raise MetaHPOError(
            f"dataset {dataset.name!r} has {dataset.n_rows} rows; a holdout split of "
            f"{test_fraction:g} needs rows on both sides"
        )
    idx = np.arange(dataset.n_rows)
    stratify = None
    if dataset.task == "classification":
        _, counts = np.unique(dataset.y, return_counts=True)
        if counts.min() >= 2 and n_test >= len(counts):
            stratify = dataset.y
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train, test = train_test_split(
            idx, test_size=n_test, random_state=seed, shuffle=True, stratify=stratify
        )
    return [(np.sort(train), np.sort(test))]


def paired_spread(
    fold_values: Sequence[Sequence[float]], incumbent: Sequence[float], floor: float = 1e-3
) -> float:
    """The standard deviation of per-fold paired differences against the incumbent.

    Pooled over earlier configurations' complete fold scores (each as long as ``incumbent``):
    for each, the sample variance over folds of ``score - incumbent``; the pooled value is the
    square root of their median, at least ``floor`` (a fold-to-fold noise that small is not
    trusted). With no earlier configuration but the incumbent, the incumbent's own fold
    standard deviation times √2 stands in (two independent configurations' differences).
    """
    inc = np.asarray(incumbent, dtype=float)
    variances = []
    for values in fold_values:
        v = np.asarray(values, dtype=float)
        if v.shape != inc.shape or len(v) < 2 or not np.all(np.isfinite(v)):
            continue
        d = v - inc
        if np.any(d != 0):
            variances.append(float(np.var(d, ddof=1)))
    if variances:
        spread = math.sqrt(float(np.median(variances)))
    elif len(inc) >= 2 and np.all(np.isfinite(inc)):
        spread = float(np.std(inc, ddof=1)) * math.sqrt(2.0)
    else:
        spread = 0.0
    return max(spread, floor)


def cannot_beat(
    values: Sequence[float],
    incumbent: Sequence[float],
    *,
    maximize: bool = True,
    spread: float,
    z: float = 2.0,
) -> bool:
    """Whether a configuration scored ``values`` on its first folds cannot plausibly beat the
    incumbent (``incumbent``: its scores on every fold, the same folds in the same order).

    With ``i`` of ``k`` folds run, the paired differences ``d_j`` (sign-adjusted so that larger
    is better) of the folds run have mean ``d̄``. The remaining ``k - i`` differences are
    modelled as normal with standard deviation ``spread`` and an unknown mean whose estimate
    ``d̄`` has variance ``spread² / i``; the final mean difference ``D`` is then normal with
    mean ``d̄`` and variance ``spread² (k - i) (1 + (k - i) / i) / k²``. The configuration is
    stopped when ``d̄ + z·sd(D) < 0``: even ``z`` standard deviations of luck leave it below
    the incumbent. It never stops once every fold has run (``i = k``), nor before one has.
    """
    i, k = len(values), len(incumbent)
    if i == 0 or i >= k:
        return False
    v = np.asarray(values, dtype=float)
    inc = np.asarray(incumbent[:i], dtype=float)
    if not (np.all(np.isfinite(v)) and np.all(np.isfinite(inc))):
        return False
    d = (v - inc) if maximize else (inc - v)
    mean = float(d.mean())
    rest = k - i
    sd = spread * math.sqrt(rest * (1.0 + rest / i)) / k
    return mean + z * sd < 0.0

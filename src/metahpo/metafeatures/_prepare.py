"""Turn a :class:`Dataset` into the arrays every meta-feature family works on."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from metahpo.datasets import MISSING_CATEGORY, Dataset, TaskType

#: Largest number of bins used to discretise a regression target.
MAX_TARGET_BINS = 10


def n_bins(n_rows: int) -> int:
    """Equal-frequency bins for a numeric column: ``floor(cbrt(n))``, at least 2 (as in pymfe)."""
    return max(2, int(np.floor(np.cbrt(n_rows))))


def n_target_bins(n_rows: int) -> int:
    """Bins for a regression target: ``floor(cbrt(n))`` clipped to ``[2, MAX_TARGET_BINS]``."""
    return min(MAX_TARGET_BINS, n_bins(n_rows))


def equal_frequency_codes(values: np.ndarray, k: int) -> np.ndarray:
    """Codes ``0..k-1`` of ``k`` equal-frequency bins per column; ``NaN`` gets a code of its own.

    Args:
        values: Shape ``(n_rows, n_columns)``, may contain ``NaN``.
        k: Wanted number of bins. Tied quantiles are merged, so a column can get fewer bins.

    Returns:
        Integer codes of shape ``(n_rows, n_columns)``; missing values get code ``k``.
    """
    codes = np.empty(values.shape, dtype=np.int64)
    for j in range(values.shape[1]):
        col = values[:, j]
        present = ~np.isnan(col)
        if not present.any():
            codes[:, j] = k
            continue
        inner = np.quantile(col[present], np.linspace(0.0, 1.0, k + 1)[1:-1])
        # Bin i holds edge[i-1] < x <= edge[i], the same partition as pymfe's discretisation.
        codes[:, j] = np.where(present, np.searchsorted(np.unique(inner), col, side="left"), k)
    return codes


def max_abs_scaled(values: np.ndarray) -> np.ndarray:
    """Divide each column by its largest absolute value.

    Every statistic computed here is scale invariant, and scaling first keeps sums of squares
    and higher moments finite for columns holding values near the float64 limit.
    """
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        scale = np.nanmax(np.abs(values), axis=0) if values.size else np.ones(values.shape[1])
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    scaled: np.ndarray = values / scale
    return scaled


@dataclass(frozen=True)
class Prepared:
    """Array views of a dataset, shared by the meta-feature families.

    Attributes:
        task: ``"classification"`` or ``"regression"``.
        numeric: Numeric features, shape ``(n_rows, n_numeric)``, each column divided by its
            largest absolute value; ``NaN`` marks missing values (infinities become ``NaN``).
        categorical: Ordinal codes of the categorical features, shape ``(n_rows, n_categorical)``;
            codes follow first appearance, and a missing value is a category of its own.
        categorical_missing: Boolean mask, shape of ``categorical``: the value was missing.
        n_distinct: Distinct present values per feature (numeric columns first), counted before
            scaling.
        numeric_zero: Boolean mask, shape of ``numeric``: the value is exactly 0 (before
            scaling, which can flush tiny values to 0).
        y: Class codes ``0..n_classes-1`` (classification) or the target divided by its largest
            absolute value (regression).
        y_codes: Discrete target used by information-theoretic features: the class codes, or
            :func:`n_target_bins` equal-frequency bins of a regression target.
    """

    task: TaskType
    numeric: np.ndarray
    categorical: np.ndarray
    categorical_missing: np.ndarray
    n_distinct: np.ndarray
    numeric_zero: np.ndarray
    y: np.ndarray
    y_codes: np.ndarray

    @property
    def n_rows(self) -> int:
        return int(self.y.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.numeric.shape[1] + self.categorical.shape[1])


def _distinct_numeric(values: np.ndarray) -> np.ndarray:
    """Distinct present values per column (``NaN`` ignored)."""
    if values.shape[0] == 0:
        return np.zeros(values.shape[1], dtype=np.int64)
    s = np.sort(values, axis=0)  # NaN sorts last
    present = ~np.isnan(s)
    changes = (s[1:] != s[:-1]) & present[1:]
    counts: np.ndarray = present[0].astype(np.int64) + changes.sum(axis=0)
    return counts


def _categorical_codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    values = column.astype(object)
    missing = (values.isna() | (values == MISSING_CATEGORY)).to_numpy(dtype=bool)
    codes, _ = pd.factorize(values.where(~missing, MISSING_CATEGORY), sort=False)
    return codes.astype(np.int64), missing


def prepare(dataset: Dataset) -> Prepared:
    """Split a dataset into scaled numeric values, categorical codes and target codes."""
    X = dataset.X
    n = dataset.n_rows
    numeric_cols = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c].dtype)]
    categorical_cols = [c for c in X.columns if c not in set(numeric_cols)]
    numeric = X[numeric_cols].to_numpy(dtype=np.float64, na_value=np.nan).reshape(n, -1)
    numeric = np.where(np.isfinite(numeric), numeric, np.nan)
    distinct = [_distinct_numeric(numeric)]
    zero = numeric == 0
    numeric = max_abs_scaled(numeric)
    categorical = np.empty((n, len(categorical_cols)), dtype=np.int64)
    missing = np.zeros((n, len(categorical_cols)), dtype=bool)
    for j, c in enumerate(categorical_cols):
        categorical[:, j], missing[:, j] = _categorical_codes(X[c])
        distinct.append(np.unique(categorical[~missing[:, j], j]).size * np.ones(1, np.int64))
    y: np.ndarray
    if dataset.task == "classification":
        _, y = np.unique(np.asarray(dataset.y).astype(str), return_inverse=True)
        y = y.astype(np.int64)
        y_codes = y
    else:
        raw = np.asarray(dataset.y, dtype=np.float64).reshape(-1, 1)
        raw = np.where(np.isfinite(raw), raw, np.nan)
        y = max_abs_scaled(raw)[:, 0]
        y = np.where(np.isnan(y), np.nanmedian(y) if np.isfinite(y).any() else 0.0, y)
        y_codes = equal_frequency_codes(y.reshape(-1, 1), n_target_bins(n))[:, 0]
    return Prepared(
        task=dataset.task,
        numeric=numeric,
        categorical=categorical,
        categorical_missing=missing,
        n_distinct=np.concatenate(distinct),
        numeric_zero=zero,
        y=y,
        y_codes=y_codes,
    )

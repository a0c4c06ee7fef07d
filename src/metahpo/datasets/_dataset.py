"""The :class:`Dataset` record: a cleaned feature table, a target and its task type."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd

TaskType = Literal["classification", "regression"]
TASK_TYPES: tuple[TaskType, ...] = ("classification", "regression")

#: Marker that replaces missing values in categorical columns (a category of its own).
MISSING_CATEGORY = "<missing>"


@dataclass(frozen=True)
class Dataset:
    """A supervised learning task ready for cross-validation.

    Attributes:
        name: Short name (file stem or folder name).
        X: Feature table. Numeric columns are ``float64`` (``NaN`` for missing values);
            categorical columns are ``object`` columns of strings, with missing values replaced
            by :data:`MISSING_CATEGORY`.
        y: Target, shape ``(n_rows,)``. Class labels (strings) for classification, ``float64``
            for regression. Rows whose target was missing are already removed.
        task: ``"classification"`` or ``"regression"``.
        target: Name of the target column in the source file.
        dropped: ``(column, reason)`` for every feature column that was removed while cleaning.
        notes: Human-readable remarks about cleaning (rows dropped, columns converted, ...).
    """

    name: str
    X: pd.DataFrame
    y: np.ndarray
    task: TaskType
    target: str = "target"
    source: str = ""
    dropped: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    _fingerprint: list[str] = field(default_factory=list, repr=False, compare=False)

    @property
    def n_rows(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def categorical_columns(self) -> list[str]:
        return [str(c) for c in self.X.columns if self.X[c].dtype == object]

    @property
    def numeric_columns(self) -> list[str]:
        return [str(c) for c in self.X.columns if self.X[c].dtype != object]

    @property
    def classes(self) -> np.ndarray:
        """Sorted class labels (empty for regression)."""
        if self.task != "classification":
            return np.array([], dtype=object)
        return np.unique(self.y)

    def fingerprint(self) -> str:
        """A content hash of features and target (stable across runs and machines)."""
        if not self._fingerprint:
            h = hashlib.sha256()
            h.update(",".join(map(str, self.X.columns)).encode())
            h.update(pd.util.hash_pandas_object(self.X, index=False).to_numpy().tobytes())
            h.update(
                pd.util.hash_pandas_object(pd.Series(self.y), index=False).to_numpy().tobytes()
            )
            self._fingerprint.append(h.hexdigest()[:16])
        return self._fingerprint[0]

    def subsample(self, max_rows: int, seed: int = 0) -> Dataset:
        """At most ``max_rows`` rows; stratified by class for classification.

        Every class keeps at least one row when there is room for it, so rare classes are not
        silently removed.
        """
        if self.n_rows <= max_rows:
            return self
        rng = np.random.default_rng(seed)
        if self.task == "classification":
            labels, inverse, counts = np.unique(self.y, return_inverse=True, return_counts=True)
            quota = np.maximum(1, np.floor(counts * max_rows / self.n_rows)).astype(int)
            # Hand out rows lost to flooring to the largest classes, deterministically.
            order = np.argsort(-counts, kind="stable")
            i = 0
            while quota.sum() < max_rows and i < 10 * len(order):
                k = order[i % len(order)]
                if quota[k] < counts[k]:
                    quota[k] += 1
                i += 1
            while quota.sum() > max_rows:
                k = int(np.argmax(quota))
                quota[k] -= 1
            idx = np.concatenate(
                [
                    rng.choice(np.flatnonzero(inverse == k), size=quota[k], replace=False)
                    for k in range(len(labels))
                ]
            )
        else:
            idx = rng.choice(self.n_rows, size=max_rows, replace=False)
        idx = np.sort(idx)
        note = f"subsampled {self.n_rows} -> {len(idx)} rows (seed {seed})"
        return replace(
            self,
            X=self.X.iloc[idx].reset_index(drop=True),
            y=self.y[idx],
            notes=(*self.notes, note),
            _fingerprint=[],
        )

"""What a configuration costs: seconds from the configuration and the data size.

The experience bundle stores the cross-validation time (fit and predict, all folds) of every
configuration of its design on every dataset. A :class:`CostModel` learns, per family and task
type, the natural log of the seconds of **one fold** (one fit on the fold's training rows and
one prediction) from the configuration's :meth:`~metahpo.spaces.SearchSpace.encode` vector and
the data size: log training rows, log features and ``log(1 + classes)``. A full ``k``-fold
evaluation on ``n`` rows is then ``k`` folds of ``n (k - 1) / k`` training rows each.

The regressor is a gradient-boosted tree ensemble (chosen by grouped cross-validation over
datasets, see ``benchmarks/dev/cost_model.py``), constrained to never decrease with the rows.
The bundle's build capped every dataset at its ``max_rows`` (2,000; 1,333 training rows a
fold), so nothing in the experience was timed on more rows. Beyond the largest timed rows a
prediction grows as ``rows ** exponent``: the exponent is the slope of log seconds in log rows
learned from the data (least squares on configuration and size, upper half of the timed row
range), kept within ``[MIN_ROWS_EXPONENT, MAX_ROWS_EXPONENT]``. Measured on two large datasets
from 2,000 to 16,000 rows (``cost_model.py --rows-check``), the exponent so chosen is within
about 0.3 of the true one for hgb, lgbm, xgb, linear and mlp, too low for rf (0.5 against
0.75 to 1.05) and much too low for svm and knn (1.1 against 1.8 to 2.1; 0.5 to 0.6 against 1.2
to 1.5), whose quadratic parts only show above the cap. Past the cap, a scheduler should
therefore rank with the model but take seconds from its own timings of two fidelities on the
data at hand.

The model fits in about a second per task type from the bundle and is kept in memory
(:meth:`CostModel.from_bundle`); nothing is written to disk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor

from metahpo.datasets import Dataset
from metahpo.errors import DataError, KnowledgeBaseError
from metahpo.knowledge import DEFAULT_BUNDLE, Bundle
from metahpo.spaces import get_space

#: Smallest rows exponent used beyond the experience's largest training rows (a learned slope
#: near zero is timing noise of tiny fits: a fit on 50 times the rows is never free).
MIN_ROWS_EXPONENT = 0.5
#: Largest rows exponent (a guard against a noisy slope).
MAX_ROWS_EXPONENT = 2.5


@dataclass(frozen=True)
class DataSize:
    """The size of a dataset as the cost model reads it.

    Attributes:
        n_rows: Rows of the data the evaluation runs on (before the folds split it).
        n_features: Input columns.
        n_classes: Classes (0 for regression).
    """

    n_rows: int
    n_features: int
    n_classes: int = 0

    def __post_init__(self) -> None:
        if self.n_rows < 2 or self.n_features < 1 or self.n_classes < 0:
            raise DataError(
                f"data size: n_rows must be >= 2 and n_features >= 1, n_classes >= 0 "
                f"(got {self.n_rows}, {self.n_features}, {self.n_classes})"
            )

    @classmethod
    def of(cls, dataset: Dataset) -> DataSize:
        """The size of a loaded dataset."""
        return cls(dataset.n_rows, dataset.n_features, len(dataset.classes))


@dataclass(frozen=True)
class CostTable:
    """Timed evaluations of one family on one task type, one row per evaluation.

    Attributes:
        family: Model family.
        task: Task type.
        folds: Folds of each timed evaluation.
        datasets: Dataset of each row.
        X: Encoded configurations, shape ``(n, encoded_dim)``.
        n_rows: Rows of each evaluation's data (all folds together).
        n_features: Features of each evaluation's data.
        n_classes: Classes of each evaluation's data (0 for regression).
        seconds: Seconds of each whole evaluation (all folds, fit and predict).
        index: Design index of each row's configuration.
    """

    family: str
    task: str
    folds: int
    datasets: tuple[str, ...]
    X: np.ndarray
    n_rows: np.ndarray
    n_features: np.ndarray
    n_classes: np.ndarray
    seconds: np.ndarray
    index: np.ndarray

    def __len__(self) -> int:
        return len(self.datasets)

    def subset(self, mask: np.ndarray) -> CostTable:
        """The rows where ``mask`` is true."""
        keep = np.asarray(mask, dtype=bool)
        return CostTable(
            self.family,
            self.task,
            self.folds,
            tuple(d for d, k in zip(self.datasets, keep, strict=True) if k),
            self.X[keep],
            self.n_rows[keep],
            self.n_features[keep],
            self.n_classes[keep],
            self.seconds[keep],
            self.index[keep],
        )


def cost_tables(family: str, root: str | Path = DEFAULT_BUNDLE) -> dict[str, CostTable]:
    """The timed evaluations of ``family`` in a bundle, per task type.

    Evaluations that failed (no score) are left out: their time says when they failed, not
    what the configuration costs. Raises :class:`~metahpo.errors.KnowledgeBaseError` when the
    bundle holds no timed evaluation of the family.
    """
    key = str(Path(root).resolve())
    bundle = Bundle(key)
    if not bundle.exists():
        raise KnowledgeBaseError(f"cost model: {root} holds no experience bundle")
    mtime = bundle.manifest_path.stat().st_mtime
    tables = _bundle_tables(key, mtime, family)
    if not tables:
        known = sorted({f for n in bundle.shard_names() for f in bundle.shard_meta(n).families})
        raise KnowledgeBaseError(
            f"cost model: the experience has no timed evaluations of family {family!r} "
            f"(families with timings: {', '.join(known) or 'none'})"
        )
    return dict(tables)


@lru_cache(maxsize=16)
def _bundle_tables(root: str, mtime: float, family: str) -> dict[str, CostTable]:
    bundle = Bundle(root)
    folds = int(bundle.manifest()["settings"].get("folds", 3))
    designs = bundle.designs().get(family, {})
    names, vectors = bundle.read_metafeatures()
    at = names.index("n_classes") if "n_classes" in names else -1
    parts: dict[str, list[tuple[str, np.ndarray, int, int, int, np.ndarray]]] = {}
    encoded: dict[str, np.ndarray] = {}
    for name in bundle.shard_names():
        meta, values, fit_time = bundle.read_shard(name)
        if family not in meta.families or meta.task not in designs:
            continue
        if meta.task not in encoded:
            space = get_space(family, meta.task)
            encoded[meta.task] = np.vstack([space.encode(c) for c in designs[meta.task]])
        i = meta.families.index(family)
        t = fit_time[i].astype(float)
        ok = np.isfinite(values[i, :, 0]) & np.isfinite(t) & (t > 0)
        mf = vectors.get(name)
        classes = int(mf[at]) if at >= 0 and mf is not None and np.isfinite(mf[at]) else 0
        classes = classes if meta.task == "classification" else 0
        parts.setdefault(meta.task, []).append((name, ok, meta.n_rows, meta.n_features, classes, t))
    return {task: _table(family, task, folds, encoded[task], rows) for task, rows in parts.items()}


def _table(
    family: str,
    task: str,
    folds: int,
    X0: np.ndarray,
    rows: list[tuple[str, np.ndarray, int, int, int, np.ndarray]],
) -> CostTable:
    sizes = [int(ok.sum()) for _, ok, *_ in rows]
    return CostTable(
        family=family,
        task=task,
        folds=folds,
        datasets=tuple(n for (n, *_), k in zip(rows, sizes, strict=True) for _ in range(k)),
        X=np.vstack([X0[ok] for _, ok, *_ in rows]),
        n_rows=np.repeat([r[2] for r in rows], sizes).astype(float),
        n_features=np.repeat([r[3] for r in rows], sizes).astype(float),
        n_classes=np.repeat([r[4] for r in rows], sizes).astype(float),
        seconds=np.concatenate([t[ok] for _, ok, *_, t in rows]),
        index=np.concatenate([np.flatnonzero(ok) for _, ok, *_ in rows]),
    )


def _size_features(n_train: np.ndarray, n_features: np.ndarray, n_classes: np.ndarray) -> Any:
    return np.column_stack([np.log(n_train), np.log(n_features), np.log1p(n_classes)])


@dataclass(frozen=True)
class _TaskModel:
    """The fitted cost model of one task type."""

    regressor: HistGradientBoostingRegressor
    log_rows_range: tuple[float, float]  # log training rows seen
    local_exponent: float  # slope of log seconds in log rows, upper half of the range
    encoded_dim: int

    @property
    def exponent(self) -> float:
        return float(min(max(self.local_exponent, MIN_ROWS_EXPONENT), MAX_ROWS_EXPONENT))


def _local_exponent(F: np.ndarray, y: np.ndarray) -> float:
    """Slope of ``y`` in the log-rows column of ``F`` (its first size column, third from the
    end), by least squares on configuration and size, on the upper half of the row range."""
    log_rows = F[:, -3]
    upper = log_rows >= (log_rows.min() + log_rows.max()) / 2
    if np.ptp(log_rows[upper]) < 0.5:  # (almost) one row count only: use every row count
        upper = np.ones_like(upper)
    A = np.column_stack([np.ones(int(upper.sum())), F[upper]])
    coef, *_ = np.linalg.lstsq(A, y[upper], rcond=None)
    return float(coef[-3])


def _fit_task(table: CostTable, seed: int) -> _TaskModel:
    k = table.folds
    n_train = table.n_rows * (k - 1) / k
    F = np.hstack([table.X, _size_features(n_train, table.n_features, table.n_classes)])
    y = np.log(table.seconds / k)
    reg = HistGradientBoostingRegressor(
        max_iter=300,
        learning_rate=0.1,
        min_samples_leaf=20,
        monotonic_cst=[0] * table.X.shape[1] + [1, 0, 0],  # never cheaper on more rows
        random_state=seed,
    )
    reg.fit(F, y)
    lo, hi = float(np.log(n_train).min()), float(np.log(n_train).max())
    return _TaskModel(reg, (lo, hi), _local_exponent(F, y), table.X.shape[1])


class CostModel:
    """Seconds of evaluating configurations of one family, learned from timed experience.

    Fit it with :meth:`fit` (from :class:`CostTable` records) or :meth:`from_bundle` (the
    bundled experience, fitted once per process and kept in memory).
    """

    def __init__(self, family: str, models: Mapping[str, _TaskModel], folds: int) -> None:
        self.family = family
        self._models = dict(models)
        self.folds = folds

    @classmethod
    def fit(cls, tables: CostTable | Sequence[CostTable], *, seed: int = 0) -> CostModel:
        """A model fitted on the timed evaluations of one family (one table per task type)."""
        given = [tables] if isinstance(tables, CostTable) else list(tables)
        if not given or not any(len(t) for t in given):
            raise KnowledgeBaseError("cost model: no timed evaluations to fit on")
        families = {t.family for t in given}
        if len(families) != 1:
            raise KnowledgeBaseError(f"cost model: tables of several families {sorted(families)}")
        models = {t.task: _fit_task(t, seed) for t in given if len(t)}
        return cls(given[0].family, models, given[0].folds)

    @classmethod
    def from_bundle(
        cls,
        family: str,
        root: str | Path = DEFAULT_BUNDLE,
        *,
        seed: int = 0,
        task: str | None = None,
    ) -> CostModel:
        """The model of ``family`` fitted on a bundle's timings (cached per process); only of
        ``task`` when given (about half the fitting time)."""
        tables = cost_tables(family, root)  # raises for a family without timings
        if task is not None and task not in tables:
            raise KnowledgeBaseError(f"cost model: no timed {family} {task} evaluations")
        key = str(Path(root).resolve())
        mtime = Bundle(key).manifest_path.stat().st_mtime
        return _cached_model(key, mtime, family, seed, task)

    @property
    def tasks(self) -> tuple[str, ...]:
        """The task types the model has timings of."""
        return tuple(sorted(self._models))

    def _model(self, task: str) -> _TaskModel:
        if task not in self._models:
            raise KnowledgeBaseError(
                f"cost model of {self.family!r} has no timed {task} evaluations "
                f"(it knows: {', '.join(self.tasks)})"
            )
        return self._models[task]

    def rows_exponent(self, task: str) -> tuple[float, float]:
        """The learned slope of log seconds in log rows (upper half of the timed rows) and the
        exponent used beyond the largest timed rows (the slope clipped to
        ``[MIN_ROWS_EXPONENT, MAX_ROWS_EXPONENT]``)."""
        m = self._model(task)
        return m.local_exponent, m.exponent

    def max_rows(self, task: str) -> int:
        """The largest training rows (of one fold) the model saw timed."""
        return round(float(np.exp(self._model(task).log_rows_range[1])))

    def _encode(self, task: str, configs: Sequence[Mapping[str, Any]] | np.ndarray) -> Any:
        m = self._model(task)
        X: np.ndarray | None = None
        if isinstance(configs, np.ndarray):
            X = np.atleast_2d(np.asarray(configs, dtype=float))
        elif len(configs):
            space = get_space(self.family, task)
            X = np.vstack([space.encode(c) for c in configs])
        if X is None or X.ndim != 2 or not len(X) or X.shape[1] != m.encoded_dim:
            raise DataError(
                f"cost model: configs must be a non-empty list of configurations or an array "
                f"of width {m.encoded_dim} (the {self.family} {task} encoding)"
            )
        return X

    def fold_log_seconds(
        self,
        configs: Sequence[Mapping[str, Any]] | np.ndarray,
        task: str,
        train_rows: float,
        n_features: int,
        n_classes: int = 0,
    ) -> np.ndarray:
        """Natural log of the seconds of one fit on ``train_rows`` rows (and one prediction),
        per configuration; never decreasing in ``train_rows``."""
        m = self._model(task)
        X = self._encode(task, configs)
        lo, hi = m.log_rows_range
        q = float(np.log(max(float(train_rows), 1.0)))
        at = min(max(q, lo), hi)
        size = [at, float(np.log(n_features)), float(np.log1p(n_classes))]
        pred = m.regressor.predict(np.hstack([X, np.tile(size, (len(X), 1))]))
        return np.asarray(pred + m.exponent * max(q - hi, 0.0), dtype=float)

    def predict_log_seconds(
        self,
        configs: Sequence[Mapping[str, Any]] | np.ndarray,
        task: str,
        size: DataSize,
        *,
        folds: int | None = None,
    ) -> np.ndarray:
        """Natural log of the seconds of a whole ``folds``-fold evaluation on ``size.n_rows``
        rows (default: the folds of the timed experience), per configuration."""
        k = self.folds if folds is None else int(folds)
        if k < 2:
            raise DataError(f"cost model: folds must be >= 2 (got {folds})")
        one = self.fold_log_seconds(
            configs, task, size.n_rows * (k - 1) / k, size.n_features, size.n_classes
        )
        return np.asarray(one + np.log(k), dtype=float)

    def predict_seconds(
        self,
        configs: Sequence[Mapping[str, Any]] | np.ndarray,
        task: str,
        size: DataSize,
        *,
        folds: int | None = None,
    ) -> np.ndarray:
        """Seconds of a whole cross-validated evaluation per configuration."""
        return np.asarray(np.exp(self.predict_log_seconds(configs, task, size, folds=folds)))

    def scale_seconds(
        self,
        seconds: float,
        task: str,
        from_rows: float,
        to_rows: float,
        size: DataSize,
        config: Mapping[str, Any] | None = None,
    ) -> float:
        """``seconds`` measured on ``from_rows`` training rows, scaled to ``to_rows`` by the
        model's prediction ratio for ``config`` (the family default when ``None``)."""
        if from_rows <= 0 or to_rows <= 0 or not np.isfinite(seconds):
            raise DataError("cost model: from_rows and to_rows must be > 0, seconds finite")
        cfg = dict(config) if config is not None else get_space(self.family, task).default_config()
        a, b = (
            self.fold_log_seconds([cfg], task, r, size.n_features, size.n_classes)[0]
            for r in (from_rows, to_rows)
        )
        return float(seconds * np.exp(b - a))

    def describe(self) -> dict[str, Any]:
        """A JSON-able summary: tasks, timed row range and exponents."""
        return {
            "family": self.family,
            "folds": self.folds,
            "tasks": {
                t: {
                    "max_train_rows": self.max_rows(t),
                    "local_rows_exponent": round(m.local_exponent, 3),
                    "rows_exponent_beyond": round(m.exponent, 3),
                }
                for t, m in sorted(self._models.items())
            },
        }


@lru_cache(maxsize=32)
def _cached_model(root: str, mtime: float, family: str, seed: int, task: str | None) -> CostModel:
    tables = cost_tables(family, root)
    return CostModel.fit([t for k, t in tables.items() if task in (None, k)], seed=seed)


def cost_order(
    configs: Sequence[Mapping[str, Any]],
    cost_model: CostModel,
    task: str,
    size: DataSize,
) -> list[int]:
    """Indices of ``configs`` from the cheapest predicted evaluation to the dearest (ties keep
    the given order)."""
    if not configs:
        return []
    cost = cost_model.predict_log_seconds(configs, task, size)
    return [int(i) for i in np.argsort(cost, kind="stable")]

"""Cross-validated evaluation of one configuration."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import KFold, StratifiedKFold

from metahpo.datasets import Dataset
from metahpo.errors import DataError, MetaHPOError
from metahpo.evaluation._fidelity import Folds as Folds
from metahpo.evaluation._fidelity import subsample_rows
from metahpo.evaluation._metrics import Metric, get_metric
from metahpo.spaces import ModelFamily, build_estimator

#: Called after each fold with the fold's index and the primary metric on the folds run so
#: far; returning True stops the evaluation there (:attr:`Evaluation.stopped`).
FoldCallback = Callable[[int, tuple[float, ...]], bool]


@dataclass(frozen=True)
class Evaluation:
    """The result of cross-validating one configuration.

    Attributes:
        config: The configuration evaluated.
        metric: Name of the primary metric.
        value: Mean of the primary metric over folds (``nan`` if the evaluation failed).
        std: Standard deviation of the primary metric over folds.
        fold_values: Primary metric on each fold.
        metrics: Mean over folds of every metric computed (primary included); a metric that
            could not be computed (for example ROC AUC when a fold lacks a class) is ``nan``.
        fit_time: Seconds spent fitting and predicting, all folds together.
        error: Why the evaluation failed, ``None`` if it succeeded.
        stopped: The ``on_fold`` callback stopped it before its last fold: ``value`` is the
            mean of the folds run (``fold_values``), not a full result, and ``ok`` is False.
        train_rows: Training rows per fold it was limited to (``None``: every row).
    """

    config: dict[str, Any]
    metric: str
    value: float
    std: float = float("nan")
    fold_values: tuple[float, ...] = ()
    metrics: dict[str, float] = field(default_factory=dict)
    fit_time: float = 0.0
    error: str | None = None
    stopped: bool = False
    train_rows: int | None = None

    @property
    def ok(self) -> bool:
        """A complete, successful evaluation: every fold ran and the score is finite."""
        return self.error is None and not self.stopped and bool(np.isfinite(self.value))


def make_folds(dataset: Dataset, n_folds: int = 5, seed: int = 0) -> Folds:
    """Seeded K-fold splits: stratified for classification, shuffled plain K-fold otherwise."""
    if n_folds < 2:
        raise MetaHPOError(f"cross-validation needs at least 2 folds, got {n_folds}")
    if dataset.n_rows < n_folds:
        raise MetaHPOError(
            f"dataset {dataset.name!r} has {dataset.n_rows} rows; {n_folds}-fold "
            "cross-validation needs at least as many rows as folds"
        )
    idx = np.arange(dataset.n_rows)
    splitter: KFold | StratifiedKFold
    if dataset.task == "classification":
        _, counts = np.unique(dataset.y, return_counts=True)
        if counts.max() >= n_folds:
            splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # rare classes: fewer than k members
                return [(tr, te) for tr, te in splitter.split(idx, dataset.y)]
    splitter = KFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return [(tr, te) for tr, te in splitter.split(idx)]


def check_class_folds(dataset: Dataset, n_folds: int) -> None:
    """Refuse classes with fewer rows than folds: some test folds would lack them.

    A fold without a class is scored as if the class did not exist (balanced accuracy over
    the other classes; a majority predictor scores 1.0 on a fold holding one class), so the
    mean over folds would not measure the task. :func:`make_folds` itself still splits such
    data (the experience build keeps its folds); a tuning run refuses it up front.

    Raises:
        DataError: Naming the classes, their row counts and the number of folds.
    """
    if dataset.task != "classification":
        return
    labels, counts = np.unique(dataset.y, return_counts=True)
    small = np.flatnonzero(counts < n_folds)
    if not small.size:
        return
    order = small[np.argsort(counts[small], kind="stable")]
    shown = ", ".join(
        f"{labels[i]!r} ({counts[i]} row{'s' if counts[i] > 1 else ''})" for i in order[:10]
    )
    more = f" and {len(order) - 10} more" if len(order) > 10 else ""
    smallest = int(counts[order[0]])
    them = "that class" if len(order) == 1 else "those classes"
    fix = (
        f"use --folds {smallest} or fewer, or remove or merge {them}"
        if smallest >= 2
        else f"remove or merge {them} (a class of one row cannot be cross-validated)"
    )
    which = (
        f"class {shown} has fewer rows than the {n_folds} folds"
        if len(order) == 1
        else f"{len(order)} classes have fewer rows than the {n_folds} folds: {shown}{more}"
    )
    raise DataError(
        f"{which}; test folds without a class would be scored as if it did not exist: {fix}"
    )


def _scores(
    model: Any, X: Any, classes: np.ndarray, proba_ok: bool
) -> tuple[np.ndarray | None, bool]:
    """Class scores aligned to ``classes`` and whether they are calibrated probabilities."""
    fitted = np.asarray(model.classes_)
    if proba_ok and hasattr(model, "predict_proba"):
        raw = model.predict_proba(X)
        is_proba = True
    elif hasattr(model, "decision_function"):
        raw = model.decision_function(X)
        is_proba = False
        if raw.ndim == 1:
            if len(classes) != 2:
                return None, False
            return raw, False
        if len(fitted) != len(classes):
            return None, False
    else:
        return None, False
    full = np.zeros((raw.shape[0], len(classes)))
    pos = np.searchsorted(classes, fitted)
    full[:, pos] = raw
    return full, is_proba


def _has_proba(model: Any) -> bool:
    try:
        return hasattr(model, "predict_proba")
    except AttributeError:  # SVC(probability=False) raises on attribute access
        return False


def evaluate(
    dataset: Dataset,
    family: str | ModelFamily,
    config: Mapping[str, Any],
    *,
    metric: str | None = None,
    extra_metrics: Sequence[str] = (),
    folds: int | Folds = 5,
    seed: int = 0,
    time_limit: float | None = None,
    train_rows: int | None = None,
    on_fold: FoldCallback | None = None,
) -> Evaluation:
    """Cross-validate one configuration; never raises for a failing configuration.

    Args:
        dataset: The task.
        family: Model family (name or object).
        config: A configuration of the family's space for ``dataset.task``.
        metric: Primary metric (default balanced accuracy / R²).
        extra_metrics: More metrics to compute from the same fits.
        folds: Number of folds, or explicit ``(train_idx, test_idx)`` pairs.
        seed: Seeds the folds (when a number is given) and the model.
        time_limit: Seconds; checked after each fold (a fit is never interrupted), and the
            evaluation fails with ``"time limit exceeded"`` once the limit is passed.
        train_rows: Fit each fold on at most this many of its training rows (a low
            fidelity): :func:`~metahpo.evaluation.subsample_rows`, seeded by ``seed`` and the
            fold, stratified for classification, nested for growing ``train_rows``. The test
            rows are always the whole fold.
        on_fold: Called after each fold but the last (:data:`FoldCallback`); returning True
            stops the evaluation (``stopped``), e.g. with :func:`~metahpo.evaluation.cannot_beat`.

    Returns:
        An :class:`Evaluation`; ``error`` says why when the configuration failed (an exception
        in fit or predict, a non-finite score, the time limit).
    """
    primary = get_metric(metric, dataset.task)
    wanted: list[Metric] = [primary] + [
        get_metric(m, dataset.task) for m in extra_metrics if m != primary.name
    ]
    splits = make_folds(dataset, folds, seed) if isinstance(folds, int) else folds
    needs_proba = primary.needs == "proba"
    estimator = build_estimator(family, config, dataset, seed=seed, needs_proba=needs_proba)
    classes = dataset.classes
    want_scores = dataset.task == "classification" and any(m.needs != "label" for m in wanted)
    per_metric: dict[str, list[float]] = {m.name: [] for m in wanted}
    fit_time = 0.0
    X, y = dataset.X, dataset.y
    strata = y if dataset.task == "classification" else None
    for fold, (train, test) in enumerate(splits):
        if train_rows is not None:
            train = subsample_rows(train, train_rows, seed=seed + fold, y=strata)
        start = time.perf_counter()
        try:
            pred, scores, is_proba = _fit_predict(
                estimator, X, y, train, test, classes, want_scores
            )
        except Exception as exc:  # a configuration that cannot be fitted is a failed trial
            fit_time += time.perf_counter() - start
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            return _failed(config, primary.name, fit_time, f"{type(exc).__name__}: {msg}"[:300])
        fit_time += time.perf_counter() - start
        y_test = y[test]
        for m in wanted:
            per_metric[m.name].append(_metric_value(m, y_test, pred, scores, is_proba, classes))
        if time_limit is not None and fit_time > time_limit:
            exceeded = f"time limit exceeded ({fit_time:.1f} s > {time_limit:g} s)"
            return _failed(config, primary.name, fit_time, exceeded)
        done = tuple(per_metric[primary.name])
        if on_fold is not None and fold < len(splits) - 1 and on_fold(fold, done):
            ev = _summarise(config, primary.name, per_metric, fit_time)
            return replace(ev, stopped=True, train_rows=train_rows)
    return replace(_summarise(config, primary.name, per_metric, fit_time), train_rows=train_rows)


def _failed(config: Mapping[str, Any], metric: str, fit_time: float, error: str) -> Evaluation:
    return Evaluation(dict(config), metric, float("nan"), fit_time=fit_time, error=error)


def _fit_predict(
    estimator: Any,
    X: Any,
    y: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    classes: np.ndarray,
    want_scores: bool,
) -> tuple[Any, np.ndarray | None, bool]:
    """Fit a clone on one fold's training rows; its predictions and class scores on the test rows.

    Warnings are silenced; an exception propagates (the caller records it as a failed trial).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = clone(estimator).fit(X.iloc[train], y[train])
        pred = model.predict(X.iloc[test])
        scores: np.ndarray | None = None
        is_proba = False
        if want_scores:
            scores, is_proba = _scores(model, X.iloc[test], classes, _has_proba(model))
    return pred, scores, is_proba


def _metric_value(
    m: Metric,
    y_test: np.ndarray,
    pred: Any,
    scores: np.ndarray | None,
    is_proba: bool,
    classes: np.ndarray,
) -> float:
    """One metric on one fold; ``nan`` when the fold's predictions cannot give it."""
    value = float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if m.needs == "label":
                value = m.fn(y_test, pred)
            elif scores is not None and (m.needs == "score" or is_proba):
                value = m.fn(y_test, scores, classes)
        except ValueError:  # e.g. ROC AUC on a fold that lacks a class
            value = float("nan")
    return value


def _summarise(
    config: Mapping[str, Any], metric: str, per_metric: dict[str, list[float]], fit_time: float
) -> Evaluation:
    """The :class:`Evaluation` of a configuration whose folds all ran: means over folds."""
    values = np.asarray(per_metric[metric], dtype=float)
    means = {
        k: float(np.mean(v)) if np.all(np.isfinite(v)) else float("nan")
        for k, v in per_metric.items()
    }
    if not np.all(np.isfinite(values)):
        return Evaluation(
            dict(config),
            metric,
            float("nan"),
            fold_values=tuple(values.tolist()),
            metrics=means,
            fit_time=fit_time,
            error=f"{metric} is not finite on some fold",
        )
    return Evaluation(
        config=dict(config),
        metric=metric,
        value=float(values.mean()),
        std=float(values.std()),
        fold_values=tuple(values.tolist()),
        metrics=means,
        fit_time=fit_time,
    )

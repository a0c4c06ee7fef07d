"""Metrics: name, direction, which predictions they need, and how to compute them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from sklearn import metrics as skm

from metahpo.errors import MetaHPOError

Direction = Literal["maximize", "minimize"]


@dataclass(frozen=True)
class Metric:
    """A scoring function.

    Attributes:
        name: Public name (``--metric``).
        task: Task type it applies to.
        direction: Whether larger (``"maximize"``) or smaller values are better.
        needs: ``"label"`` (predicted labels / values), ``"score"`` (probabilities or decision
            values) or ``"proba"`` (calibrated probabilities).
    """

    name: str
    task: str
    direction: Direction
    needs: Literal["label", "score", "proba"]
    fn: Callable[..., float]

    @property
    def sign(self) -> float:
        """+1 when larger is better, -1 otherwise (``sign * value`` is always maximised)."""
        return 1.0 if self.direction == "maximize" else -1.0


def _roc_auc(y: np.ndarray, score: np.ndarray, classes: np.ndarray) -> float:
    """Binary AUC, or the macro average of one-vs-rest AUCs (scikit-learn's ``ovr``).

    The one-vs-rest form only ranks each class's own column, so it is valid for decision
    values as well as probabilities; classes absent from ``y`` are skipped.
    """
    if len(classes) == 2:
        col = score if score.ndim == 1 else score[:, 1]
        return float(skm.roc_auc_score(y == classes[1], col))
    aucs = [
        skm.roc_auc_score(y == c, score[:, k])
        for k, c in enumerate(classes)
        if 0 < np.sum(y == c) < len(y)
    ]
    if not aucs:
        raise ValueError("ROC AUC needs at least two classes in the fold")
    return float(np.mean(aucs))


def _log_loss(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    return float(skm.log_loss(y, np.clip(proba, 1e-15, 1.0), labels=classes))


def _rmse(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.sqrt(skm.mean_squared_error(y, pred)))


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric(
            "balanced_accuracy",
            "classification",
            "maximize",
            "label",
            lambda y, p: float(skm.balanced_accuracy_score(y, p)),
        ),
        Metric(
            "accuracy",
            "classification",
            "maximize",
            "label",
            lambda y, p: float(skm.accuracy_score(y, p)),
        ),
        Metric(
            "f1_macro",
            "classification",
            "maximize",
            "label",
            lambda y, p: float(skm.f1_score(y, p, average="macro")),
        ),
        Metric("roc_auc", "classification", "maximize", "score", _roc_auc),
        Metric("log_loss", "classification", "minimize", "proba", _log_loss),
        Metric("r2", "regression", "maximize", "label", lambda y, p: float(skm.r2_score(y, p))),
        Metric("rmse", "regression", "minimize", "label", _rmse),
        Metric(
            "mae",
            "regression",
            "minimize",
            "label",
            lambda y, p: float(skm.mean_absolute_error(y, p)),
        ),
    )
}

DEFAULT_METRIC = {"classification": "balanced_accuracy", "regression": "r2"}

#: Metrics recorded for every evaluation in knowledge-base builds (cheap to add: one fit).
BUILD_METRICS = {
    "classification": ("balanced_accuracy", "accuracy", "roc_auc", "log_loss"),
    "regression": ("r2", "rmse", "mae"),
}


def get_metric(name: str | None, task: str) -> Metric:
    """The metric called ``name`` (default: balanced accuracy / R²), checked against ``task``."""
    if name is None:
        name = DEFAULT_METRIC[task]
    m = METRICS.get(name)
    if m is None:
        names = ", ".join(k for k, v in METRICS.items() if v.task == task)
        raise MetaHPOError(f"unknown metric {name!r} for {task}; choose one of {names}")
    if m.task != task:
        names = ", ".join(k for k, v in METRICS.items() if v.task == task)
        raise MetaHPOError(f"metric {name!r} is for {m.task}, not {task}; choose one of {names}")
    return m

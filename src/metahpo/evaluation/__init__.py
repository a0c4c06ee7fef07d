"""Evaluation layer: seeded cross-validation of one configuration, with several metrics."""

from metahpo.evaluation._cv import Evaluation, Folds, evaluate, make_folds
from metahpo.evaluation._metrics import (
    BUILD_METRICS,
    DEFAULT_METRIC,
    METRICS,
    Metric,
    get_metric,
)

__all__ = [
    "BUILD_METRICS",
    "DEFAULT_METRIC",
    "METRICS",
    "Evaluation",
    "Folds",
    "Metric",
    "evaluate",
    "get_metric",
    "make_folds",
]

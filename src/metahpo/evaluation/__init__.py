"""Evaluation layer: seeded cross-validation of one configuration, with several metrics."""

from metahpo.evaluation._cv import Evaluation, Folds, check_class_folds, evaluate, make_folds
from metahpo.evaluation._metrics import (
    BUILD_METRICS,
    DEFAULT_METRIC,
    METRICS,
    Metric,
    get_metric,
)
from metahpo.evaluation._threads import available_cores, limit_threads, resolve_n_jobs

__all__ = [
    "BUILD_METRICS",
    "DEFAULT_METRIC",
    "METRICS",
    "Evaluation",
    "Folds",
    "Metric",
    "available_cores",
    "check_class_folds",
    "evaluate",
    "get_metric",
    "limit_threads",
    "make_folds",
    "resolve_n_jobs",
]

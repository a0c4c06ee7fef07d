"""Evaluation layer: seeded cross-validation of one configuration, with several metrics."""

from metahpo._args import available_cores, resolve_n_jobs
from metahpo.evaluation._cv import Evaluation, Folds, check_class_folds, evaluate, make_folds
from metahpo.evaluation._metrics import (
    BUILD_METRICS,
    DEFAULT_METRIC,
    METRICS,
    Metric,
    get_metric,
)
from metahpo.evaluation._threads import limit_threads

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

"""Evaluation layer: seeded cross-validation of one configuration, with several metrics, at full
or low fidelity (a row subsample per fold, a holdout split, an early stop after the first folds)."""

from metahpo._args import available_cores, resolve_n_jobs
from metahpo.evaluation._cv import (
    Evaluation,
    FoldCallback,
    Folds,
    check_class_folds,
    evaluate,
    make_folds,
)
from metahpo.evaluation._fidelity import cannot_beat, make_holdout, paired_spread, subsample_rows
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
    "FoldCallback",
    "Folds",
    "Metric",
    "available_cores",
    "cannot_beat",
    "check_class_folds",
    "evaluate",
    "get_metric",
    "limit_threads",
    "make_folds",
    "make_holdout",
    "paired_spread",
    "resolve_n_jobs",
    "subsample_rows",
]

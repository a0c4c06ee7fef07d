"""Checks of a tuning run's options and data, made before any trial runs.

Each failed check is a :class:`~metahpo.errors.MetaHPOError` whose one-line message names the
CLI option (``--timeout``) or the data column at fault.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from metahpo._files import check_outputs
from metahpo.datasets import MAX_MAGNITUDE, Dataset, check_magnitudes
from metahpo.errors import DataError, MetaHPOError
from metahpo.evaluation import check_class_folds, resolve_n_jobs

#: Largest seed numpy accepts.
MAX_SEED = 2**32 - 1


def _positive(name: str, value: float | None) -> None:
    if value is not None and not (value > 0):  # also catches NaN
        raise MetaHPOError(f"{name} must be a positive number of seconds, got {value:g}")


def check_seed(seed: int, option: str = "--seed") -> None:
    """numpy takes seeds in ``[0, 2**32 - 1]``."""
    if not 0 <= seed <= MAX_SEED:
        raise MetaHPOError(f"{option} must be in [0, {MAX_SEED}], got {seed}")


def check_options(
    *,
    budget: int | None,
    folds: int,
    seed: int,
    timeout: float | None = None,
    trial_time_limit: float | None = None,
    warm_start: int = 0,
    max_failures: int | None = None,
    n_jobs: int | None = None,
    transfer: int | None = None,
    threads: int | None = None,
) -> None:
    """Raise a one-line :class:`MetaHPOError` for the first option out of range."""
    if budget is not None and budget < 1:
        raise MetaHPOError(f"--budget must be at least 1, got {budget}")
    if folds < 2:
        raise MetaHPOError(f"--folds must be at least 2, got {folds}")
    check_seed(seed)
    _positive("--timeout", timeout)
    _positive("--trial-timeout", trial_time_limit)
    if warm_start < 0:
        raise MetaHPOError(f"--warm-start must be 0 or more, got {warm_start}")
    if transfer is not None and transfer < 0:
        raise MetaHPOError(f"--transfer must be 0 or more, got {transfer}")
    if max_failures is not None and max_failures < 1:
        raise MetaHPOError(f"--max-failures must be at least 1, got {max_failures}")
    if budget is None and timeout is None:
        raise MetaHPOError("a run without --budget needs --timeout (it runs until the timeout)")
    resolve_n_jobs(n_jobs, option="--n-jobs", unit="process")
    resolve_n_jobs(threads)


def check_output_path(path: str | Path | None, option: str = "--json") -> None:
    """The folder of an output file must exist and be writable (checked before the work, not
    after it); :func:`metahpo._files.check_outputs` also compares it with the inputs.
    """
    check_outputs({option: path})


def check_folds(splits: Sequence[tuple[np.ndarray, np.ndarray]], metric: str) -> None:
    """R² is undefined on a test fold of one row: every trial would fail."""
    smallest = min((len(test) for _, test in splits), default=0)
    if metric == "r2" and smallest < 2:
        raise DataError(
            f"a test fold of {smallest} row: r2 needs at least 2 rows in each fold; "
            "use fewer --folds, more rows, or --metric rmse / mae"
        )


def check_data(dataset: Dataset, folds: int | None = None) -> None:
    """Data that would make every trial fail, or succeed with a meaningless score.

    The same checks of feature values run on the rows ``metahpo predict`` reads
    (:func:`~metahpo.datasets.check_rows`); with ``folds``, classes with fewer rows than
    folds are refused (:func:`~metahpo.evaluation.check_class_folds`).
    """
    check_magnitudes(dataset.X)
    y = np.asarray(dataset.y)
    if dataset.task == "regression":
        top = float(np.nanmax(np.abs(y.astype(float)))) if y.size else 0.0
        if math.isfinite(top) and top > MAX_MAGNITUDE:
            raise DataError(
                f"the target has values up to {top:.3g}; values beyond {MAX_MAGNITUDE:.0e} "
                "overflow in training: rescale it"
            )
        return
    _, counts = np.unique(y, return_counts=True)
    single = int(np.sum(counts == 1))
    if single > dataset.n_rows / 2:
        raise DataError(
            f"the target has {len(counts)} classes for {dataset.n_rows} rows ({single} classes "
            "have a single row): no model can learn them by cross-validation; is it an "
            "identifier, or a numeric target (--task regression)?"
        )
    if folds is not None:
        check_class_folds(dataset, folds)

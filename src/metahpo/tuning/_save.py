"""Save the best model of a tuning run: :func:`save_model` takes a
:class:`~metahpo.tuning.TuneResult`; the refit and the file are :mod:`metahpo.tuning._model`'s,
which takes plain values (so the model functions never depend on the tuning run)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from metahpo.datasets import Dataset
from metahpo.tuning._model import ModelInfo, model_info, refit_data, write_model

if TYPE_CHECKING:
    from sklearn.base import BaseEstimator

    from metahpo.tuning._result import TuneResult


def save_model(
    result: TuneResult,
    path: str | Path,
    dataset: Dataset | None = None,
    *,
    estimator: BaseEstimator | None = None,
) -> ModelInfo:
    """Refit ``result``'s best configuration on all rows and save it as a skops file.

    Args:
        result: A tuning run (:func:`~metahpo.tuning.tune`).
        path: The file to write (``.skops`` by convention).
        dataset: The data to refit on (default: the dataset ``result`` was tuned on).
        estimator: A pipeline refitted already (:meth:`TuneResult.best_estimator` on
            ``dataset``); default: refit here.

    Returns:
        What was saved with the pipeline.

    Raises:
        MetaHPOError: When the file cannot be written, or the pipeline holds a type outside
            :data:`~metahpo.tuning.TRUSTED_TYPES` (it could not be loaded again).
    """
    data = refit_data(dataset, result._data, result.task)
    if estimator is None:
        estimator = result.best_estimator(data)
    info = model_info(
        data,
        family=result.model,
        metric=result.metric,
        direction=result.direction,
        best_params=result.best_params,
        best_value=result.best_value,
        seed=result.settings.seed if result.settings else 0,
        study=result.study,
    )
    write_model(path, estimator, info)
    return info

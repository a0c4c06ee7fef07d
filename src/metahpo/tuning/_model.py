"""A fitted model at the end of tuning: refit the best configuration, save it, load it.

The best configuration of a run is refitted on every row of the dataset with the pipeline the
trials evaluated (:func:`~metahpo.spaces.build_estimator`: imputation, scaling, one-hot
encoding, model; same seed). :func:`write_model` writes it with :mod:`skops.io`, scikit-learn's
secure format, together with what predicting needs (:class:`ModelInfo`: feature columns and
their types, task, metric, best parameters, class labels, versions).

:func:`~metahpo.tuning.save_model` (:mod:`metahpo.tuning._save`) does both for a
:class:`~metahpo.tuning.TuneResult`; this module takes plain values.

:func:`load_model` never unpickles anything and never trusts a file blindly: skops lists the
types in the file that it does not trust by default, and every one of them must be on
:data:`TRUSTED_TYPES`, metahpo's allow-list of the scikit-learn internals its pipelines hold;
otherwise the file is refused. The same check runs before a model is written, so a model that
could not be loaded again is never saved.
"""

from __future__ import annotations

import json
import warnings
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from metahpo._files import atomic_write
from metahpo._version import __version__
from metahpo.datasets import Dataset, check_rows
from metahpo.errors import DataError, MetaHPOError
from metahpo.evaluation import limit_threads
from metahpo.spaces import build_estimator

#: Written in every saved model; a file of another format is refused.
MODEL_FORMAT = "metahpo-model"
#: Version of the layout of a saved model (the keys of the stored dictionary).
MODEL_FORMAT_VERSION = 1

#: Types skops does not trust by default that a metahpo pipeline may hold: scikit-learn's
#: fitted trees (``rf``, ``hgb``), neighbour search trees and distances (``knn``), the
#: optimiser state of ``mlp``, NumPy dtypes, and the models of the ``boost`` extra (LightGBM's
#: and XGBoost's estimators and boosters, metahpo's label-encoding XGBoost classifier, the
#: ordered dictionary LightGBM keeps its parameters in). Nothing else is ever loaded.
TRUSTED_TYPES: tuple[str, ...] = (
    "collections.OrderedDict",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMClassifier",
    "lightgbm.sklearn.LGBMRegressor",
    "metahpo.spaces._xgb.LabelEncodedXGBClassifier",
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.metrics._dist_metrics.ChebyshevDistance64",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.metrics._dist_metrics.ManhattanDistance64",
    "sklearn.metrics._dist_metrics.MinkowskiDistance64",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    "sklearn.tree._tree.Tree",
    "xgboost.core.Booster",
    "xgboost.sklearn.XGBRegressor",
)


@dataclass(frozen=True)
class ModelInfo:
    """What a saved model is and what predicting with it needs.

    Attributes:
        family, task, metric, direction: What was tuned, and the objective.
        best_params: The configuration refitted.
        best_value: Its mean cross-validation score in the run.
        seed: Seed of the model.
        features: The feature columns the model reads, in order (columns dropped while
            cleaning, such as constant or ID-like ones, are not needed).
        numeric_features: Those of them that are numeric (the others are categorical).
        classes: Class labels as metahpo writes them (text; empty for regression).
        target: Name of the target column (the name of the prediction column).
        dataset, study: Where the model comes from.
        n_rows: Rows it was fitted on.
        metahpo_version, sklearn_version: Versions that wrote the file.
    """

    family: str
    task: str
    metric: str
    direction: str
    best_params: dict[str, Any]
    best_value: float
    seed: int
    features: tuple[str, ...]
    numeric_features: tuple[str, ...]
    classes: tuple[str, ...]
    target: str
    dataset: str
    study: str
    n_rows: int
    metahpo_version: str
    sklearn_version: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelInfo:
        raw = json.loads(text)
        for key in ("features", "numeric_features", "classes"):
            raw[key] = tuple(raw[key])
        return cls(**raw)

    def schema(self) -> Dataset:
        """An empty :class:`~metahpo.datasets.Dataset` with the training columns and types."""
        numeric = set(self.numeric_features)
        columns = {c: pd.Series(dtype="float64" if c in numeric else object) for c in self.features}
        y = np.array([], dtype="float64" if self.task == "regression" else object)
        return Dataset(self.dataset, pd.DataFrame(columns), y, self.task, target=self.target)  # type: ignore[arg-type]


@dataclass(frozen=True)
class SavedModel:
    """A fitted metahpo pipeline and its :class:`ModelInfo` (what :func:`load_model` returns).

    ``predict`` and ``predict_proba`` take a raw table (as read from a file): its columns are
    matched by name, cleaned and validated as the training data was
    (:func:`~metahpo.datasets.check_rows`: the same one-line errors for overflowing values,
    repeated column names, text where numbers are read); other columns, the target included,
    are ignored.
    """

    estimator: BaseEstimator
    info: ModelInfo

    def prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        """The rows the pipeline reads; unusable rows are a :class:`DataError`."""
        return self.check(X)[0]

    def check(self, X: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
        """The rows the pipeline reads, and notes on what was read as missing (infinite
        values, text that is not a number), worded as ``load_dataset``'s notes.

        Raises:
            DataError: For a missing feature column, repeated column names, a numeric column
                holding text, or values that overflow (the messages ``tune`` gives).
        """
        missing = [c for c in self.info.features if c not in X.columns]
        if missing:
            shown = ", ".join(missing[:10]) + (
                f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            )
            raise DataError(
                f"the data lacks {len(missing)} feature column(s) of the model: {shown}"
            )
        return check_rows(self.info.schema(), X)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Predicted class labels (text) or values, one per row of ``X``."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(self.estimator.predict(self.prepare(X)))

    def predict_proba(self, X: pd.DataFrame) -> pd.DataFrame:
        """Class probabilities, one column per class (named by the class), one row per row."""
        if self.info.task != "classification":
            raise MetaHPOError(f"a {self.info.task} model has no class probabilities")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            proba = np.asarray(self.estimator.predict_proba(self.prepare(X)))
        classes = [str(c) for c in self.estimator.classes_]
        return pd.DataFrame(proba, columns=classes, index=X.index)


def refit(
    family: str,
    params: dict[str, Any],
    dataset: Dataset,
    *,
    seed: int = 0,
    threads: int | None = None,
) -> BaseEstimator:
    """The pipeline of one configuration, as the trials built it, fitted on every row.

    Classifiers can ``predict_proba`` (SVC gets ``probability=True``; its labels stay those of
    its decision function).
    """
    estimator = build_estimator(
        family, params, dataset, seed=seed, needs_proba=dataset.task == "classification"
    )
    with limit_threads(threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(dataset.X, dataset.y)
    return estimator


def refit_data(dataset: Dataset | None, tuned: Dataset | None, task: str) -> Dataset:
    """``dataset``, or ``tuned`` (the dataset the run was tuned on); its task must be the
    run's ``task``."""
    data = dataset if dataset is not None else tuned
    if data is None:
        raise MetaHPOError("this result holds no dataset to refit on; pass one")
    if data.task != task:
        raise MetaHPOError(f"the run tuned a {task} model; the dataset is {data.task}")
    return data


def model_info(
    dataset: Dataset,
    *,
    family: str,
    metric: str,
    direction: str,
    best_params: dict[str, Any],
    best_value: float,
    seed: int,
    study: str,
) -> ModelInfo:
    """The :class:`ModelInfo` of a run's best configuration refitted on ``dataset``."""
    import sklearn

    return ModelInfo(
        family=family,
        task=dataset.task,
        metric=metric,
        direction=direction,
        best_params=dict(best_params),
        best_value=float(best_value),
        seed=seed,
        features=tuple(str(c) for c in dataset.X.columns),
        numeric_features=tuple(dataset.numeric_columns),
        classes=tuple(str(c) for c in dataset.classes),
        target=dataset.target,
        dataset=dataset.name,
        study=study,
        n_rows=dataset.n_rows,
        metahpo_version=__version__,
        sklearn_version=sklearn.__version__,
    )


def _untrusted(data: bytes) -> list[str]:
    import skops.io as sio

    return [t for t in sio.get_untrusted_types(data=data) if t not in TRUSTED_TYPES]


def write_model(path: str | Path, estimator: BaseEstimator, info: ModelInfo) -> None:
    """Write a refitted pipeline and its :class:`ModelInfo` as a skops file (atomically).

    Raises:
        MetaHPOError: When the file cannot be written, or the pipeline holds a type outside
            :data:`TRUSTED_TYPES` (it could not be loaded again).
    """
    import skops.io as sio

    payload = {
        "format": MODEL_FORMAT,
        "format_version": MODEL_FORMAT_VERSION,
        "info": info.to_json(),
        "estimator": estimator,
    }
    blob = sio.dumps(payload, compression=zipfile.ZIP_DEFLATED)
    untrusted = _untrusted(blob)
    if untrusted:
        raise MetaHPOError(
            f"cannot save the model: it holds type(s) outside metahpo's allow-list "
            f"({', '.join(untrusted)})"
        )
    try:
        atomic_write(path, blob)  # a temporary file renamed: never half a model
    except OSError as exc:
        raise MetaHPOError(f"{path}: cannot write the model ({exc.strerror})") from None


def load_model(path: str | Path) -> SavedModel:
    """Load a model written by :func:`~metahpo.tuning.save_model`, trusting only
    :data:`TRUSTED_TYPES`.

    Raises:
        MetaHPOError: For a missing or unreadable file, a file that is not a metahpo model,
            or one that holds any type outside the allow-list (it is not loaded at all).
    """
    import skops.io as sio

    p = Path(path)
    try:
        blob = p.read_bytes()
    except OSError as exc:
        raise MetaHPOError(f"{path}: cannot read the model ({exc.strerror})") from None
    try:
        found = sio.get_untrusted_types(data=blob)
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, json.JSONDecodeError):
        raise MetaHPOError(f"{path}: not a skops model file") from None
    refused = [t for t in found if t not in TRUSTED_TYPES]
    if refused:
        raise MetaHPOError(
            f"{path}: refused: the file holds untrusted type(s) {', '.join(refused)}"
        )
    try:
        payload = sio.loads(blob, trusted=found)
    except Exception as exc:  # a damaged file fails in many ways inside skops
        raise MetaHPOError(f"{path}: the model cannot be loaded ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise MetaHPOError(f"{path}: not a metahpo model (save one with tune --save-model)")
    if payload.get("format_version") != MODEL_FORMAT_VERSION:
        raise MetaHPOError(
            f"{path}: model format {payload.get('format_version')} is not supported by "
            f"metahpo {__version__} (format {MODEL_FORMAT_VERSION})"
        )
    try:
        info = ModelInfo.from_json(payload["info"])
    except (KeyError, TypeError, ValueError):
        raise MetaHPOError(f"{path}: the model's description is damaged") from None
    return SavedModel(payload["estimator"], info)

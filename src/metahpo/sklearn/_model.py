"""One metahpo model family as a scikit-learn estimator (preprocessing included)."""

from __future__ import annotations

from dataclasses import replace
from numbers import Integral
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import ClassifierTags, RegressorTags, Tags
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from metahpo.datasets import Dataset, class_labels, conform, from_frame
from metahpo.sklearn._validation import check_features, check_predict_features, check_target
from metahpo.spaces import build_estimator, get_family

#: The values of ``task``: the estimator's scikit-learn type is fixed when it is made.
TASKS = ("classification", "regression")
_OWN = ("family", "task", "random_state")


def task_tags(tags: Tags, task: Any) -> Tags:
    """Set the scikit-learn estimator type that ``task`` stands for on ``tags`` (in place)."""
    if task == "classification":
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags()
        tags.regressor_tags = None
    elif task == "regression":
        tags.estimator_type = "regressor"
        tags.regressor_tags = RegressorTags()
        tags.classifier_tags = None
    return tags


def _is_classifier(model: FamilyModel) -> bool:
    return bool(model.task == "classification")


class FamilyModel(BaseEstimator):  # type: ignore[misc]
    """A scikit-learn estimator for one configuration of a metahpo model family.

    ``fit`` cleans the table as :func:`~metahpo.datasets.load_dataset` does (text numbers,
    booleans, categorical text, constant and ID-like columns), then fits the same pipeline
    (imputation, scaling, one-hot encoding, model) that ``metahpo tune`` evaluates. The
    family's hyperparameters are ordinary estimator parameters, so ``clone``, ``set_params``
    and every scikit-learn search work with them.

    The scikit-learn type follows ``task``, as it would with separate classifier and regressor
    classes: ``FamilyModel("knn")`` is a classifier (``is_classifier`` is True, so
    cross-validation uses stratified folds and scorers find ``predict_proba``);
    ``FamilyModel("knn", task="regression")`` is a regressor (and has no ``predict_proba``).
    The type is known before any data is seen, which is why there is no ``"auto"`` task: a
    continuous target given to a classifier is an error, as in scikit-learn.

    Missing values (``NaN``, ``None``) and text columns are accepted; sparse input is not.
    A DataFrame is matched to the training columns by name, other input by position.

    Args:
        family: ``hgb``, ``rf``, ``svm``, ``linear``, ``knn``, ``mlp``, or with the ``boost``
            extra ``lgbm`` or ``xgb``.
        task: ``"classification"`` (default) or ``"regression"``.
        random_state: Seed of the model.
        **config: Hyperparameters of the family's space (missing ones take the default), and
            any other argument of the underlying model.

    Attributes (after ``fit``):
        pipeline_: The fitted scikit-learn pipeline (on metahpo's cleaned table).
        task_: The task fitted (the ``task`` parameter).
        classes_: The classes, sorted, as given in ``y`` (classification only).
        n_features_in_, feature_names_in_: As in scikit-learn (the latter for a DataFrame
            whose column names are all text).
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "family": [str],
        "task": [StrOptions(set(TASKS))],
        "random_state": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        family: str = "hgb",
        *,
        task: str = "classification",
        random_state: int = 0,
        **config: Any,
    ) -> None:
        self.family = family
        self.task = task
        self.random_state = random_state
        # Hyperparameters are attributes like any parameter; their names are kept in order.
        self._hyperparameters: tuple[str, ...] = ()
        self._set_hyperparameters(config)

    # -- parameters: the family's hyperparameters are first-class -----------------------------
    def _set_hyperparameters(self, config: dict[str, Any]) -> None:
        for key, value in config.items():
            if key.startswith("_") or key.endswith("_") or hasattr(type(self), key):
                raise TypeError(
                    f"{key!r} cannot be a hyperparameter of {type(self).__name__}: the name is "
                    "taken by the estimator itself"
                )
            setattr(self, key, value)
            if key not in self._hyperparameters:
                self._hyperparameters = (*self._hyperparameters, key)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        own = {key: getattr(self, key) for key in _OWN}
        return {**own, **{key: getattr(self, key) for key in self._hyperparameters}}

    def set_params(self, **params: Any) -> FamilyModel:
        for key in _OWN:
            if key in params:
                setattr(self, key, params.pop(key))
        self._set_hyperparameters(params)
        return self

    def __sklearn_tags__(self) -> Tags:
        tags = task_tags(super().__sklearn_tags__(), self.task)
        tags.input_tags.allow_nan = True  # imputed inside the pipeline
        tags.input_tags.string = True  # text columns are one-hot encoded
        tags.input_tags.categorical = True
        tags.target_tags.required = True
        return tags

    # -- fitting and predicting ----------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)  # type: ignore[untyped-decorator]
    def fit(self, X: Any, y: Any) -> FamilyModel:
        """Clean ``X`` and fit the family's pipeline with this configuration.

        Raises:
            ValueError: For input scikit-learn rejects (see :mod:`metahpo.sklearn`), and
                :class:`~metahpo.errors.DataError` for a table metahpo cannot use.
        """
        family = get_family(self.family)  # a clear error for an unknown family
        _, n_features = check_features(X, min_samples=2)
        target = check_target(y, self.task, owner=type(self).__name__)
        ds = from_frame(X, target, task=self.task)  # type: ignore[arg-type]
        # Only the schema is needed to prepare new rows: keep no training data.
        self.dataset_: Dataset = replace(ds, X=ds.X.iloc[:0], y=ds.y[:0])
        config = {key: getattr(self, key) for key in self._hyperparameters}
        self.pipeline_ = build_estimator(
            family, config, ds, seed=self.random_state, needs_proba=True
        )
        self.pipeline_.fit(ds.X, ds.y)
        self.task_ = ds.task
        if ds.task == "classification":
            self._fit_classes(target)
        self.n_features_in_ = n_features
        if isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in X.columns):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def _fit_classes(self, target: np.ndarray) -> None:
        # metahpo stores labels as text; predictions are mapped back to the caller's labels,
        # and classes_ (and predict_proba's columns) follow their sorted order.
        original = pd.Series(target).dropna()
        back = dict(zip(class_labels(original), original, strict=True))
        self._labels = back
        fitted = [str(c) for c in self.pipeline_.classes_]
        try:
            order = sorted(range(len(fitted)), key=lambda i: back[fitted[i]])
        except TypeError:  # labels of mixed types: metahpo's text order
            order = list(range(len(fitted)))
        self._proba_columns = np.asarray(order, dtype=int)
        self.classes_ = np.asarray([back[fitted[i]] for i in order])

    def _rows(self, X: Any) -> pd.DataFrame:
        check_is_fitted(self, "pipeline_")
        check_predict_features(X, self.n_features_in_, owner=type(self).__name__)
        return conform(self.dataset_, X)

    def predict(self, X: Any) -> np.ndarray:
        rows = self._rows(X)
        pred = np.asarray(self.pipeline_.predict(rows))
        if self.task_ == "classification":
            return np.asarray([self._labels[p] for p in pred])
        return pred

    @available_if(_is_classifier)  # type: ignore[untyped-decorator]
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, one column per class of ``classes_`` (classification only)."""
        rows = self._rows(X)
        return np.asarray(self.pipeline_.predict_proba(rows))[:, self._proba_columns]

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Balanced accuracy (classification) or R² (regression): metahpo's default metrics."""
        from sklearn.metrics import balanced_accuracy_score, r2_score

        pred = self.predict(X)
        truth = np.asarray(y).ravel()
        if self.task_ == "classification":
            return float(
                balanced_accuracy_score(
                    class_labels(truth), class_labels(pred), sample_weight=sample_weight
                )
            )
        return float(r2_score(truth.astype(float), pred, sample_weight=sample_weight))

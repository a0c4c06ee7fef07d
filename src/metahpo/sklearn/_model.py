"""One metahpo model family as a scikit-learn estimator (preprocessing included)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from metahpo.datasets import Dataset, class_labels, conform, from_frame
from metahpo.errors import MetaHPOError
from metahpo.spaces import build_estimator, get_family

_OWN = ("family", "task", "random_state")


class FamilyModel(BaseEstimator):  # type: ignore[misc]
    """A scikit-learn estimator for one configuration of a metahpo model family.

    ``fit`` cleans the table as :func:`~metahpo.datasets.load_dataset` does (text numbers,
    booleans, categorical text, constant and ID-like columns), then fits the same pipeline
    (imputation, scaling, one-hot encoding, model) that ``metahpo tune`` evaluates. The
    family's hyperparameters are ordinary estimator parameters, so ``clone``, ``set_params``
    and every scikit-learn search work with them.

    Args:
        family: ``hgb``, ``rf``, ``svm``, ``linear``, ``knn`` or ``mlp``.
        task: ``"classification"``, ``"regression"`` or ``"auto"`` (inferred from ``y``).
        random_state: Seed of the model.
        **config: Hyperparameters of the family's space (missing ones take the default), and
            any other argument of the underlying model.
    """

    def __init__(
        self, family: str = "hgb", *, task: str = "auto", random_state: int = 0, **config: Any
    ) -> None:
        self.family = family
        self.task = task
        self.random_state = random_state
        self.config = dict(config)

    # -- parameters: the family's hyperparameters are first-class -----------------------------
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {
            "family": self.family,
            "task": self.task,
            "random_state": self.random_state,
            **self.config,
        }

    def set_params(self, **params: Any) -> FamilyModel:
        for key, value in params.items():
            if key in _OWN:
                setattr(self, key, value)
            else:
                self.config[key] = value
        return self

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        if self.task == "classification":
            tags.estimator_type = "classifier"
        elif self.task == "regression":
            tags.estimator_type = "regressor"
        return tags

    # -- fitting and predicting ----------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> FamilyModel:
        task = None if self.task == "auto" else self.task
        ds = from_frame(X, y, task=task)  # type: ignore[arg-type]
        # Only the schema is needed to prepare new rows: keep no training data.
        self.dataset_: Dataset = replace(ds, X=ds.X.iloc[:0], y=ds.y[:0])
        self.pipeline_ = build_estimator(
            get_family(self.family), self.config, ds, seed=self.random_state, needs_proba=True
        )
        self.pipeline_.fit(ds.X, ds.y)
        self.task_ = ds.task
        if ds.task == "classification":
            # metahpo stores labels as text; predictions are mapped back to the caller's labels.
            original = pd.Series(np.asarray(y).ravel()).dropna()
            back = dict(zip(class_labels(original), original, strict=True))
            self._labels = back
            self.classes_ = np.asarray([back[c] for c in self.pipeline_.classes_])
        self.n_features_in_ = ds.X.shape[1] + len(ds.dropped)
        return self

    def _rows(self, X: Any) -> Any:
        check_is_fitted(self, "pipeline_")
        return conform(self.dataset_, X)

    def predict(self, X: Any) -> np.ndarray:
        pred = np.asarray(self.pipeline_.predict(self._rows(X)))
        if self.task_ == "classification":
            return np.asarray([self._labels[p] for p in pred])
        return pred

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "pipeline_")
        if self.task_ != "classification":
            raise MetaHPOError("predict_proba is for classification")
        return np.asarray(self.pipeline_.predict_proba(self._rows(X)))

    def score(self, X: Any, y: Any) -> float:
        """Balanced accuracy (classification) or R² (regression): metahpo's default metrics."""
        from sklearn.metrics import balanced_accuracy_score, r2_score

        pred = self.predict(X)
        truth = np.asarray(y).ravel()
        if self.task_ == "classification":
            return float(balanced_accuracy_score(class_labels(truth), class_labels(pred)))
        return float(r2_score(truth.astype(float), pred))

"""XGBoost's classifier for any class labels (imported only when an ``xgb`` model is built).

``XGBClassifier`` accepts only the labels ``0 .. k-1``, and a training fold that lacks a class
breaks that even for integer labels. :class:`LabelEncodedXGBClassifier` encodes the labels of
each fit and decodes its predictions, exactly as LightGBM and scikit-learn classifiers do;
``classes_`` are the training labels, sorted, which are also the columns of ``predict_proba``.
Every other parameter and method is XGBoost's own (``get_params`` and ``set_params`` included).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from xgboost import XGBClassifier


class LabelEncodedXGBClassifier(XGBClassifier):
    """``XGBClassifier`` that fits and predicts arbitrary class labels.

    Suggestions show it as XGBoost's own class (:attr:`public_class`), which takes the same
    arguments; fitted directly, that one needs the labels encoded as 0..k-1.
    """

    public_class = XGBClassifier

    def fit(self, X: Any, y: Any, **kwargs: Any) -> LabelEncodedXGBClassifier:
        self.__dict__.pop("labels_", None)  # XGBoost checks classes_ against 0..k-1 in fit
        labels, codes = np.unique(np.asarray(y), return_inverse=True)
        super().fit(X, codes, **kwargs)
        self.labels_ = labels
        return self

    @property
    def classes_(self) -> np.ndarray:
        labels: np.ndarray | None = self.__dict__.get("labels_")
        return labels if labels is not None else np.arange(self.n_classes_)

    def predict(self, X: Any, **kwargs: Any) -> Any:
        codes = super().predict(X, **kwargs)
        if kwargs.get("output_margin"):
            return codes
        return self.labels_[np.asarray(codes, dtype=int)]

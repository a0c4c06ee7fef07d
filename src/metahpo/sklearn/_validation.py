"""Input checks of the scikit-learn interface, with scikit-learn's own error messages.

metahpo cleans tables itself (:func:`~metahpo.datasets.from_frame`), so these checks do not
convert anything: they reject what scikit-learn estimators reject (sparse, complex, 1-D or empty
input, a missing or multi-column target, continuous labels for a classifier) with the messages
scikit-learn uses, so that code written against scikit-learn estimators handles them alike.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.multiclass import type_of_target

from metahpo.datasets import EXTRA_NA_VALUES
from metahpo.errors import DataError

_RESHAPE = (
    "Reshape your data either using array.reshape(-1, 1) if your data has a single feature or "
    "array.reshape(1, -1) if it contains a single sample."
)


def check_features(X: Any, *, min_samples: int = 1) -> tuple[int, int]:
    """Reject input scikit-learn would reject; ``X``'s shape otherwise (``X`` is unchanged).

    Raises:
        TypeError: For sparse input (densify it with ``.toarray()``).
        ValueError: For complex values, input that is not two-dimensional, no feature columns
            or fewer than ``min_samples`` rows.
    """
    if sp.issparse(X):
        raise TypeError(
            "Sparse data was passed, but dense data is required: metahpo cleans and encodes "
            "tables itself. Use X.toarray() to convert to a dense numpy array."
        )
    if isinstance(X, pd.DataFrame):
        complex_data = any(pd.api.types.is_complex_dtype(t) for t in X.dtypes)
        shape: tuple[int, ...] = X.shape
    else:
        array = np.asarray(X)
        complex_data = np.iscomplexobj(array)
        shape = array.shape
        if array.ndim != 2:
            raise ValueError(f"Expected a 2D array, got a {array.ndim}D array instead: {_RESHAPE}")
    if complex_data:
        raise ValueError("Complex data not supported")
    n_samples, n_features = int(shape[0]), int(shape[1])
    if n_samples < min_samples:
        raise ValueError(
            f"Found array with {n_samples} sample(s) (shape={shape}) while a minimum of "
            f"{min_samples} is required."
        )
    if n_features < 1:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={shape}) while a minimum of 1 is required."
        )
    return n_samples, n_features


def check_target(y: Any, task: str, *, owner: str, allow_missing: bool = True) -> np.ndarray:
    """``y`` as a one-dimensional array, checked for ``task`` as scikit-learn checks it.

    A column vector is flattened with scikit-learn's ``DataConversionWarning``.

    Raises:
        ValueError: Where ``y`` is missing, has several columns, or (classification) holds
            continuous values, with scikit-learn's messages. Labels of mixed types pass
            (metahpo reads them as text); so do missing labels (``NaN``, ``None``, ``"?"``
            ...: an estimator drops their rows when it is fitted) unless ``allow_missing`` is
            false: then they are a :class:`~metahpo.errors.DataError`, as scikit-learn's
            ``Input y contains NaN`` (a search scores every row it is given).
    """
    if y is None:
        raise ValueError(f"{owner} requires y to be passed, but the target y is None.")
    values = y.to_numpy() if isinstance(y, pd.Series | pd.DataFrame) else np.asarray(y)
    if values.ndim == 2 and values.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected. Please change the "
            "shape of y to (n_samples, ), for example using ravel().",
            DataConversionWarning,
            stacklevel=3,
        )
        values = values.ravel()
    if values.ndim != 1:
        raise ValueError(f"y should be a 1d array, got an array of shape {values.shape} instead.")
    if not allow_missing:
        missing = int(missing_labels(values).sum())
        if missing:
            raise DataError(
                f"Input y contains NaN: {missing} of {len(values)} labels are missing (NaN, "
                f"None or a missing-value marker such as '?'); {owner} scores every row it is "
                "given: drop the rows without a label first"
            )
    if task == "classification" and _kind_of_target(values) == "continuous":
        raise ValueError(
            "Unknown label type: continuous. A classifier expects discrete classes; for a "
            "regression target pass task='regression'."
        )
    return values


def missing_labels(values: np.ndarray) -> np.ndarray:
    """Where ``values`` is missing, as metahpo reads a target (``NaN``, ``None``, ``"?"`` ...)."""
    series = pd.Series(values)
    missing: np.ndarray = series.isna().to_numpy(dtype=bool)
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        text = series.astype("string").str.strip()
        missing = missing | text.isin(EXTRA_NA_VALUES).fillna(False).to_numpy(dtype=bool)
    return missing


def _kind_of_target(values: np.ndarray) -> str:
    # Missing labels are allowed (metahpo drops their rows), so they are left out here.
    present = pd.Series(values).dropna().to_numpy()
    try:
        return str(type_of_target(present))
    except (TypeError, ValueError):
        return "unknown"  # mixed or unusual labels: metahpo reads them as text


def check_predict_features(X: Any, n_features_in: int, *, owner: str) -> None:
    """Reject rows that cannot be predicted, as scikit-learn does.

    A DataFrame is matched by column name later (:func:`~metahpo.datasets.conform`); anything
    else is matched by position, so its number of columns must be the one seen in ``fit``.
    """
    check_features(X, min_samples=0)
    if not isinstance(X, pd.DataFrame):
        width = np.asarray(X).shape[1]
        if width != n_features_in:
            raise ValueError(
                f"X has {width} features, but {owner} is expecting {n_features_in} features "
                "as input."
            )

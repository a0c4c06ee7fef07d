"""New rows in the shape of a dataset: for predicting with a model fitted on it.

:func:`check_rows` validates rows as :func:`~metahpo.datasets.load_dataset` and tuning validate
a training table (repeated column names, infinite and overflowing values), and refuses text
where the model reads numbers; :func:`conform` only converts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from metahpo.datasets._dataset import MISSING_CATEGORY, Dataset
from metahpo.datasets._load import EXTRA_NA_VALUES, NUMERIC_TEXT_SHARE, _as_frame
from metahpo.datasets._validate import check_magnitudes, drop_infinite
from metahpo.errors import DataError


def conform(dataset: Dataset, X: Any) -> pd.DataFrame:
    """New rows with the columns and types of ``dataset.X`` (for predicting on unseen data).

    Columns are matched by name (by position for arrays, as when the dataset was made);
    numeric columns are parsed as numbers (anything else becomes missing), categorical ones as
    text with :data:`MISSING_CATEGORY` for missing values. A missing column is an error.
    """
    return _conform(dataset, _as_frame(X), [], strict=False)


def check_rows(dataset: Dataset, X: Any) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """:func:`conform`, validated as a training table is, and what was converted.

    Returns:
        The rows, and notes on what was read as missing (infinite values, text that is not a
        number in a numeric column), worded as :func:`~metahpo.datasets.load_dataset` words
        them.

    Raises:
        DataError: For repeated column names, a missing column, a numeric column holding
            mostly text, and values beyond :data:`~metahpo.datasets.MAX_MAGNITUDE` (with the
            message tuning gives).
    """
    notes: list[str] = []
    rows = _conform(dataset, _as_frame(X), notes, strict=True)
    check_magnitudes(rows)
    return rows, tuple(notes)


def _conform(dataset: Dataset, frame: pd.DataFrame, notes: list[str], *, strict: bool) -> Any:
    missing = [c for c in dataset.X.columns if c not in frame.columns]
    if missing:
        raise DataError(f"X lacks the column(s) {', '.join(map(str, missing[:10]))}")
    numeric = set(dataset.numeric_columns)
    out: dict[str, pd.Series] = {}
    for name in dataset.X.columns:
        col = frame[name]
        if name not in numeric:
            out[name] = _as_text(col)
            continue
        values = _as_float(col)
        if strict:
            _check_numbers(str(name), col, values, notes)
        out[name] = drop_infinite(values, str(name), notes)
    return pd.DataFrame(out, index=frame.index)


def _check_numbers(name: str, col: pd.Series, values: pd.Series, notes: list[str]) -> None:
    """A numeric column must hold numbers, as it did in training (at least
    :data:`NUMERIC_TEXT_SHARE` of the present values); the rest is read as missing, noted."""
    if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        return
    text = col.astype("string").str.strip()
    present = col.notna().to_numpy() & ~text.isin(EXTRA_NA_VALUES).fillna(False).to_numpy()
    lost = present & values.isna().to_numpy()
    if not lost.any():
        return
    if lost.sum() > (1 - NUMERIC_TEXT_SHARE) * present.sum():
        example = str(text[lost].iloc[0])
        raise DataError(
            f"column {name!r} holds text such as {example!r} where the model reads numbers "
            f"({int(lost.sum())} of {int(present.sum())} values are not numbers)"
        )
    n = int(lost.sum())
    notes.append(
        f"column {name!r}: {n} value{'s' if n > 1 else ''} that {'are' if n > 1 else 'is'} "
        "not a number read as missing"
    )


def _as_float(col: pd.Series) -> pd.Series:
    """A column of a numeric feature as ``float64``, converted as :func:`load_dataset` does:
    booleans and ``true`` / ``false`` text are 1 and 0, dates their nanoseconds, other text
    parsed as a number (anything else is missing)."""
    if pd.api.types.is_bool_dtype(col):
        return col.astype("float64")
    if pd.api.types.is_datetime64_any_dtype(col):
        return col.astype("int64").astype("float64").where(col.notna(), np.nan)
    if pd.api.types.is_numeric_dtype(col):
        return col.astype("float64")
    text = col.astype("string").str.strip()
    text = text.str.lower().map({"true": "1", "false": "0"}).fillna(text)
    return pd.to_numeric(text, errors="coerce").astype("float64")


def _as_text(col: pd.Series) -> pd.Series:
    """A column of a categorical feature as text, :data:`MISSING_CATEGORY` for missing values.

    A column read as floats (numbers with gaps, where the training file also had text) writes
    whole numbers as the integers its text had: ``3.0`` is the category ``"3"``.
    """
    values = col.astype(object).where(col.notna(), None)
    whole = pd.api.types.is_float_dtype(col)

    def text(v: Any) -> str:
        if v is None:
            return MISSING_CATEGORY
        if whole and np.isfinite(v) and float(v) == int(v):
            return str(int(v))
        return str(v).strip()

    return values.map(text)

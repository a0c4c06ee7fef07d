"""Checks that keep a table from lying: repeated column names, decimal commas, infinite and
overflowing values, and the arguments of :func:`~metahpo.datasets.load_dataset`.

Each check either refuses the table with a one-line :class:`~metahpo.errors.DataError` or
returns a note saying what was done; nothing is changed silently.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metahpo.errors import DataError

#: Largest magnitude of a feature or regression target: models square values (variances,
#: distances), and past about 1e154 the square of a float64 overflows to infinity.
MAX_MAGNITUDE = 1e150

#: A number written with a decimal comma (``1,5``, ``-0,25``, ``3``, ``2,5e-3``, ``-inf``).
_DECIMAL_COMMA = re.compile(r"[-+]?((\d+(,\d*)?|,\d+)(e[-+]?\d+)?|inf|infinity)", re.IGNORECASE)


def _names(columns: Sequence[str], limit: int = 10) -> str:
    shown = ", ".join(repr(c) for c in columns[:limit])
    return shown + (f" and {len(columns) - limit} more" if len(columns) > limit else "")


def repeated_names(names: Sequence[Any]) -> list[str]:
    """Column names (stripped) that occur more than once, in order of first repetition.

    Empty names are left out: pandas names those ``Unnamed: i``, each its own.
    """
    seen: set[str] = set()
    repeated: list[str] = []
    for raw in names:
        name = "" if raw is None else str(raw).strip()
        if name and name in seen and name not in repeated:
            repeated.append(name)
        seen.add(name)
    return repeated


def refuse_repeated(
    names: Sequence[Any], where: str, *, header: bool = True, declared: Sequence[str] = ()
) -> None:
    """A :class:`DataError` naming every column name that occurs twice or more.

    ``declared``: column names a dataset's ``metadata.yaml`` lists. A repeated ``a`` whose
    copies it lists as pandas names them (``a.1``, ``a.2``, ...) is known and accepted (PMLB's
    ``schizo`` has a feature named ``target`` beside its target, listed as ``target.1``).
    """
    known = set(declared)
    repeated = []
    for r in repeated_names(names):
        count = sum(1 for n in names if str(n).strip() == r)
        if not {f"{r}.{i}" for i in range(1, count)} <= known:
            repeated.append((r, count))
    if repeated:
        shown = ", ".join(f"{r!r} ({c} times)" for r, c in repeated[:10])
        place = " in the header" if header else ""
        raise DataError(
            f"{where}: duplicated column name(s){place}: {shown}; every column needs its own name"
        )


def declared_columns(meta: dict[str, Any]) -> list[str]:
    """The feature names a PMLB ``metadata.yaml`` lists (empty when it lists none)."""
    features = meta.get("features")
    if not isinstance(features, list):
        return []
    return [str(f["name"]) for f in features if isinstance(f, dict) and "name" in f]


def header_names(path: Path, sep: str) -> list[str]:
    """The first row of a delimited file as written (pandas renames a repeated ``a`` to
    ``a.1``, which would hide the repetition)."""
    row = pd.read_csv(
        path,
        sep=sep,
        header=None,
        nrows=1,
        dtype=str,
        keep_default_na=False,
        skipinitialspace=True,
    )
    return [str(v) for v in row.iloc[0].tolist()] if len(row) else []


def _is_text(col: pd.Series) -> bool:
    return bool(col.dtype == object or pd.api.types.is_string_dtype(col))


def decimal_comma_columns(frame: pd.DataFrame) -> list[str]:
    """Text columns whose every present value is a number with a decimal comma (``1,5``),
    at least one of them with the comma."""
    found = []
    for name in frame.columns:
        col = frame[name]
        if not _is_text(col):
            continue
        present = col.dropna().astype(str).str.strip()
        if present.empty or not present.str.contains(",", regex=False).any():
            continue
        if present.str.fullmatch(_DECIMAL_COMMA).all():
            found.append(str(name))
    return found


def read_decimal_commas(frame: pd.DataFrame, sep: str) -> tuple[pd.DataFrame, list[str]]:
    """In a semicolon-separated file, numbers written with decimal commas, as numbers.

    Only a file separated by ``;`` (the convention where the comma is the decimal mark) is
    converted, and only columns where every present value is such a number; a comma-separated
    file is never touched.
    """
    if sep != ";":
        return frame, []
    columns = decimal_comma_columns(frame)
    if not columns:
        return frame, []
    out = frame.copy()
    for name in columns:
        text = out[name].astype("string").str.strip().str.replace(",", ".", regex=False)
        out[name] = pd.to_numeric(text, errors="coerce").astype("float64")
    present = frame[columns[0]].dropna().astype(str).str.strip()
    with_comma = present[present.str.contains(",", regex=False)]
    example = str(min(with_comma, key=len))
    number = float(example.replace(",", "."))
    note = (
        f"decimal commas read as numbers in column(s) {_names(columns)} "
        f"(e.g. {example!r} = {number:g})"
    )
    return out, [note]


def decimal_comma_note(frame: pd.DataFrame) -> list[str]:
    """For an in-memory table: a note on columns of numbers written with decimal commas
    (they stay text categories; nothing says the comma is a decimal mark there)."""
    columns = decimal_comma_columns(frame)
    if not columns:
        return []
    return [
        f"column(s) {_names(columns)} hold numbers written with decimal commas; they are read "
        "as text categories (convert them, e.g. pandas.read_csv(..., sep=';', decimal=','))"
    ]


def drop_infinite(values: pd.Series, name: str, notes: list[str]) -> pd.Series:
    """``values`` (float) with ``±inf`` read as missing, and a note when there were any."""
    infinite = np.isinf(values.to_numpy(dtype="float64", na_value=np.nan))
    if infinite.any():
        n = int(infinite.sum())
        notes.append(f"column {name!r}: {n} infinite value{'s' if n > 1 else ''} read as missing")
        return values.where(~infinite, np.nan)
    return values


def check_magnitudes(X: pd.DataFrame) -> None:
    """Refuse numeric columns with values beyond :data:`MAX_MAGNITUDE` (they overflow)."""
    numeric = X.select_dtypes(include="number")
    if not numeric.shape[1]:
        return
    values = np.abs(numeric.to_numpy(dtype=float, na_value=np.nan))
    with np.errstate(invalid="ignore"):
        big = np.nanmax(np.where(np.isfinite(values), values, 0.0), axis=0, initial=0.0)
    for col, top in zip(numeric.columns, big, strict=True):
        if top > MAX_MAGNITUDE:
            raise DataError(
                f"column {col!r} has values up to {top:.3g}; values beyond "
                f"{MAX_MAGNITUDE:.0e} overflow when models square them: rescale it"
            )


def check_load_arguments(data: Any, target: Any, name: Any) -> str | None:
    """The ``data``, ``target`` and ``name`` of ``load_dataset``: a one-line error naming the
    argument for a wrong type. Returns ``target`` as a column name (``None``: the default)."""
    if isinstance(data, bool) or not isinstance(data, str | os.PathLike | pd.DataFrame):
        kind = type(data).__name__ if data is not None else "None"
        hint = " (for arrays use metahpo.datasets.from_frame(X, y))" if kind == "ndarray" else ""
        raise DataError(
            f"load_dataset: 'data' must be a path or a pandas DataFrame, got {kind}{hint}"
        )
    if name is not None and not isinstance(name, str):
        raise DataError(f"load_dataset: 'name' must be a string, got {type(name).__name__}")
    if target is None:
        return None
    if isinstance(data, pd.DataFrame) and isinstance(target, int) and not isinstance(target, bool):
        return str(target)  # a DataFrame's column labels are read as text
    if not isinstance(target, str):
        raise DataError(
            f"load_dataset: 'target' must be a column name (str), got {type(target).__name__}"
        )
    return target

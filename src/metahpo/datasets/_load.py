"""Reading tabular files into a clean :class:`Dataset`.

Real files are dirty. Cleaning here is row-wise and deterministic (no statistics are learnt from
the data), so it cannot leak information across cross-validation folds; everything that learns
from data (imputation, scaling, encoding) happens inside the evaluated scikit-learn pipeline.
"""

from __future__ import annotations

import csv
import gzip
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metahpo.datasets._dataset import MISSING_CATEGORY, TASK_TYPES, Dataset, TaskType
from metahpo.datasets._validate import (
    check_load_arguments,
    decimal_comma_note,
    declared_columns,
    drop_infinite,
    header_names,
    read_decimal_commas,
    refuse_repeated,
)
from metahpo.errors import DataError

#: A numeric target with at most this many distinct integer values is treated as class labels.
MAX_CLASSES_INFERRED = 20
#: A text column whose non-missing values parse as numbers at least this often is numeric.
NUMERIC_TEXT_SHARE = 0.95
#: Strings read as missing values in addition to pandas' defaults.
EXTRA_NA_VALUES = ["?", "na", "NA", "n/a", "N/A", "null", "NULL", "None", "-", ""]


def _suffixes(path: Path) -> list[str]:
    return [s.lower() for s in path.suffixes]


def _read_metadata(folder: Path) -> dict[str, Any]:
    meta = folder / "metadata.yaml"
    if not meta.exists():
        return {}
    import yaml

    try:
        loaded = yaml.safe_load(meta.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DataError(f"{meta}: not valid YAML ({exc.__class__.__name__})") from None
    return loaded if isinstance(loaded, dict) else {}


def _sniff_separator(path: Path) -> str:
    opener: Any = gzip.open if _suffixes(path)[-1:] == [".gz"] else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
            head = fh.read(65536)
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot be read ({exc})") from None
    if not head.strip():
        raise DataError(f"{path}: the file is empty")
    try:
        return csv.Sniffer().sniff(head.splitlines()[0], delimiters=",\t;|").delimiter
    except csv.Error:
        return "\t" if "\t" in head else ","


def read_table(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, dict[str, Any], str]:
    """Read a CSV / TSV (optionally gzipped), Parquet file or PMLB-style folder.

    Returns:
        The raw table, the folder's ``metadata.yaml`` (empty if none) and a dataset name.

    Raises:
        DataError: For an unreadable file, and for a header that repeats a column name.
    """
    frame, meta, name, _ = read_table_notes(path)
    return frame, meta, name


def read_table_notes(
    path: str | os.PathLike[str],
) -> tuple[pd.DataFrame, dict[str, Any], str, list[str]]:
    """:func:`read_table`, and notes on what reading converted (decimal commas)."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: no such file or directory")
    meta: dict[str, Any] = {}
    if p.is_dir():
        meta = _read_metadata(p)
        candidates = [
            p / f"{p.name}{ext}" for ext in (".tsv.gz", ".tsv", ".csv.gz", ".csv", ".parquet")
        ]
        found = [c for c in candidates if c.exists()]
        if not found:
            raise DataError(f"{p}: folder has no {p.name}.tsv.gz / .csv(.gz) / .parquet file")
        p = found[0]
        name = p.parent.name
    else:
        if p.parent.joinpath("metadata.yaml").exists():
            meta = _read_metadata(p.parent)
        name = p.name.split(".")[0]
    if p.stat().st_size == 0:
        raise DataError(f"{p}: the file is empty")
    declared = declared_columns(meta)
    frame, notes = _parse(p, declared)
    frame.columns = [str(c).strip() for c in frame.columns]
    refuse_repeated(list(frame.columns), str(p), declared=declared)
    return frame, meta, name, notes


def _parse(p: Path, declared: list[str]) -> tuple[pd.DataFrame, list[str]]:
    suffixes = _suffixes(p)
    try:
        if ".parquet" in suffixes or ".pq" in suffixes:
            try:
                return pd.read_parquet(p), []
            except ImportError:
                raise DataError(
                    "reading Parquet needs pyarrow: pip install 'metahpo[parquet]'"
                ) from None
        sep = _sniff_separator(p)
        frame = pd.read_csv(
            p,
            sep=sep,
            na_values=EXTRA_NA_VALUES,
            keep_default_na=True,
            skipinitialspace=True,
            low_memory=False,
        )
        # pandas renames a repeated name ``a`` to ``a.1``: the header as written tells.
        refuse_repeated(header_names(p, sep), str(p), declared=declared)
        return read_decimal_commas(frame, sep)
    except DataError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError(f"{p}: the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{p}: cannot be parsed as a table ({first})") from None


def _as_numeric_if_mostly(col: pd.Series) -> pd.Series | None:
    """Convert a text column to float if (nearly) all its present values are numbers."""
    present = col.dropna()
    if present.empty:
        return None
    converted = pd.to_numeric(present.astype(str).str.strip(), errors="coerce")
    if converted.notna().mean() >= NUMERIC_TEXT_SHARE:
        return pd.to_numeric(col.astype("string").str.strip(), errors="coerce").astype("float64")
    return None


def _clean_features(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[tuple[str, str]], list[str]]:
    out: dict[str, pd.Series] = {}
    dropped: list[tuple[str, str]] = []
    notes: list[str] = []
    n = len(frame)
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_bool_dtype(col):
            col = col.astype("float64")
        elif isinstance(col.dtype, pd.CategoricalDtype):
            col = col.astype(object).where(col.notna(), None)
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            values = drop_infinite(col.astype("float64"), name, notes)
            kind = "numeric"
        elif pd.api.types.is_datetime64_any_dtype(col):
            values = col.astype("int64").astype("float64").where(col.notna(), np.nan)
            kind = "numeric"
        else:
            as_num = _as_numeric_if_mostly(col)
            if as_num is not None:
                lost = int(col.notna().sum() - as_num.notna().sum())
                extra = f" ({lost} other value{'s' if lost > 1 else ''} read as missing)"
                notes.append(f"column {name!r}: text parsed as numbers{extra if lost else ''}")
                values, kind = drop_infinite(as_num, name, notes), "numeric"
            else:
                lowered = col.dropna().astype(str).str.strip().str.lower()
                if not lowered.empty and set(lowered.unique()) <= {"true", "false"}:
                    values = (
                        col.astype("string")
                        .str.strip()
                        .str.lower()
                        .map({"true": 1.0, "false": 0.0})
                        .astype("float64")
                    )
                    kind = "numeric"
                else:
                    values = col.astype(object).where(col.notna(), None)
                    values = values.map(lambda v: MISSING_CATEGORY if v is None else str(v).strip())
                    kind = "categorical"
        present = values[values != MISSING_CATEGORY] if kind == "categorical" else values.dropna()
        n_unique = present.nunique()
        if n_unique <= 1:
            dropped.append((name, "constant" if len(present) else "all missing"))
            continue
        if kind == "categorical" and n >= 20 and n_unique == n:
            dropped.append((name, "ID-like (every value unique)"))
            continue
        if (
            kind == "numeric"
            and n >= 20
            and n_unique == n
            and np.all(np.mod(present.to_numpy(), 1) == 0)
            and (present.is_monotonic_increasing or present.is_monotonic_decreasing)
        ):
            dropped.append((name, "ID-like (a row counter)"))
            continue
        out[name] = values.astype(object) if kind == "categorical" else values.astype("float64")
    return pd.DataFrame(out, index=frame.index), dropped, notes


def infer_task(y: pd.Series) -> TaskType:
    """Classification for text, booleans and few distinct integers; regression otherwise."""
    present = y.dropna()
    if not pd.api.types.is_numeric_dtype(present) or pd.api.types.is_bool_dtype(present):
        return "classification"
    values = present.to_numpy(dtype="float64")
    if np.all(np.mod(values, 1) == 0) and len(np.unique(values)) <= MAX_CLASSES_INFERRED:
        return "classification"
    return "regression"


def class_labels(y: Any) -> np.ndarray:
    """Class labels as metahpo stores them: text, with whole numbers written as integers."""
    return _class_labels(y if isinstance(y, pd.Series) else pd.Series(np.asarray(y).ravel()))


def _class_labels(y: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y):
        values = y.to_numpy(dtype="float64")
        if np.all(np.isfinite(values)) and np.all(np.mod(values, 1) == 0):
            return np.array([str(int(v)) for v in values], dtype=object)
    return np.array([str(v).strip() for v in y], dtype=object)


def load_dataset(
    data: str | os.PathLike[str] | pd.DataFrame,
    target: str | None = None,
    task: TaskType | None = None,
    *,
    name: str | None = None,
) -> Dataset:
    """Load and clean a tabular dataset.

    Args:
        data: A ``.csv``, ``.tsv`` (either optionally ``.gz``) or ``.parquet`` file, or a
            PMLB-style folder ``NAME/`` holding ``NAME.tsv.gz`` and ``metadata.yaml``; or a
            pandas DataFrame holding the features and the target (cleaned as a file is).
        target: Column to predict. Default: a column named ``target``.
        task: ``"classification"`` or ``"regression"``. Default: ``metadata.yaml``'s task if
            present, else inferred from the target (text or at most 20 distinct integers means
            classification).
        name: Dataset name; default the file or folder name (``"dataframe"`` for a DataFrame).

    Raises:
        DataError: With a one-line message for every unusable input, a wrong type of argument
            included.

    What cleaning changed (rows without a target dropped, text read as numbers, infinite
    values read as missing, decimal commas) is listed in the dataset's ``notes``; columns
    removed are in ``dropped``.
    """
    column = check_load_arguments(data, target, name)
    if task is not None and task not in TASK_TYPES:
        raise DataError(f"unknown task {task!r}; choose one of {', '.join(TASK_TYPES)}")
    if isinstance(data, pd.DataFrame):
        frame = data.copy()
        frame.columns = [str(c).strip() for c in frame.columns]
        refuse_repeated(list(frame.columns), "load_dataset", header=False)
        if frame.shape[1] == 0 or frame.shape[0] == 0:
            raise DataError("load_dataset: the DataFrame has no rows")
        return _from_table(
            frame.reset_index(drop=True),
            column,
            task,
            None,
            name=name or "dataframe",
            source="<DataFrame>",
            notes=decimal_comma_note(frame),
        )
    frame, meta, default_name, notes = read_table_notes(data)
    if frame.shape[1] == 0 or frame.shape[0] == 0:
        raise DataError(f"{data}: the table has no rows")
    return _from_table(
        frame,
        column,
        task,
        meta.get("task"),
        name=name or default_name,
        source=str(data),
        notes=notes,
    )


def from_frame(X: Any, y: Any, task: TaskType | None = None, *, name: str = "data") -> Dataset:
    """A cleaned :class:`Dataset` from in-memory features and target (as scikit-learn takes them).

    Args:
        X: A pandas DataFrame, or anything ``pandas.DataFrame`` accepts (a NumPy array gets
            columns ``x0, x1, ...``).
        y: The target, one value per row.
        task: As in :func:`load_dataset` (default: inferred from ``y``).
        name: Dataset name.

    Raises:
        DataError: As :func:`load_dataset` does, and when ``X`` and ``y`` differ in length.
    """
    if task is not None and task not in TASK_TYPES:
        raise DataError(f"unknown task {task!r}; choose one of {', '.join(TASK_TYPES)}")
    frame = _as_frame(X)
    target = pd.Series(np.asarray(y).ravel() if not isinstance(y, pd.Series) else y.to_numpy())
    if len(target) != len(frame):
        raise DataError(f"X has {len(frame)} rows but y has {len(target)} values")
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise DataError("the table has no rows" if frame.shape[0] == 0 else "X has no columns")
    column = "target"
    while column in frame.columns:
        column = f"_{column}"
    frame = frame.reset_index(drop=True).assign(**{column: target})
    return _from_table(frame, column, task, None, name=name, source="<memory>")


def _as_frame(X: Any) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        frame = X.copy()
        frame.columns = [str(c) for c in frame.columns]
        refuse_repeated(list(frame.columns), "X", header=False)
        return frame
    array = np.asarray(X)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2:
        raise DataError(f"X must be a two-dimensional table; got {array.ndim} dimensions")
    return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])


def _from_table(
    frame: pd.DataFrame,
    target: str | None,
    task: TaskType | None,
    meta_task: Any,
    *,
    name: str,
    source: str,
    notes: list[str] | None = None,
) -> Dataset:
    path = source
    column = target if target is not None else "target"
    if column not in frame.columns:
        shown = ", ".join(frame.columns[:25]) + (" ..." if frame.shape[1] > 25 else "")
        option = "target='COL'" if source == "<DataFrame>" else "--target COL"
        hint = "" if target is not None else f" (no column named 'target'; pass {option})"
        raise DataError(f"target column {column!r} not found{hint}; columns: {shown}")
    y_raw = frame[column]
    if y_raw.dtype == object or pd.api.types.is_string_dtype(y_raw):
        y_raw = y_raw.where(~y_raw.astype("string").str.strip().isin(EXTRA_NA_VALUES), None)
    keep = y_raw.notna().to_numpy()
    notes = list(notes or [])
    if not keep.any():
        raise DataError(f"target column {column!r} has no values (all missing)")
    if not keep.all():
        lost = int((~keep).sum())
        notes.append(f"dropped {lost} of {len(keep)} rows with a missing target {column!r}")
    frame = frame.loc[keep].reset_index(drop=True)
    y_raw = y_raw.loc[keep].reset_index(drop=True)
    if len(frame) < 2:
        raise DataError(f"{path}: only {len(frame)} usable row; at least 2 are needed")

    resolved: TaskType
    if task is not None:
        resolved = task
    elif meta_task in TASK_TYPES:
        resolved = meta_task
    else:
        resolved = infer_task(y_raw)

    y: np.ndarray
    if resolved == "classification":
        y = _class_labels(y_raw)
        n_classes = len(np.unique(y))
        if n_classes < 2:
            raise DataError(
                f"target column {column!r} has a single class ({y[0]!r}); "
                "classification needs at least 2"
            )
    else:
        y_num = pd.to_numeric(y_raw, errors="coerce")
        bad = y_num.isna()
        if bad.any():
            example = str(y_raw[bad].iloc[0])
            raise DataError(
                f"regression target {column!r} must be numeric; found values like {example!r}"
                " (use --task classification for labels)"
            )
        y = y_num.to_numpy(dtype="float64")
        if not np.all(np.isfinite(y)):
            raise DataError(f"regression target {column!r} has infinite values")
        if np.ptp(y) == 0:
            raise DataError(f"regression target {column!r} is constant")

    X, dropped, clean_notes = _clean_features(frame.drop(columns=[column]))
    if X.shape[1] == 0:
        reasons = "; ".join(f"{c}: {r}" for c, r in dropped[:10])
        raise DataError(f"no usable feature columns ({reasons or 'the table has only the target'})")
    return Dataset(
        name=name,
        X=X,
        y=y,
        task=resolved,
        target=column,
        source=source,
        dropped=tuple(dropped),
        notes=tuple(notes + clean_notes),
    )


def list_dataset_folders(root: str | Path) -> list[Path]:
    """PMLB-style dataset folders directly below ``root``, sorted by name."""
    base = Path(root)
    if not base.is_dir():
        raise DataError(f"{base}: not a directory")
    return sorted(
        d
        for d in base.iterdir()
        if d.is_dir() and any((d / f"{d.name}{e}").exists() for e in (".tsv.gz", ".csv", ".tsv"))
    )

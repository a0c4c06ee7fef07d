from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metahpo.datasets import MISSING_CATEGORY, load_dataset
from metahpo.errors import DataError


def _dirty_frame(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "id": [f"row-{i}" for i in range(n)],
            "counter": np.arange(n),
            "num": rng.normal(size=n),
            "num_text": [str(v) if i % 7 else "?" for i, v in enumerate(rng.normal(size=n))],
            "color": rng.choice(["red", "green", None], size=n),
            "flag": rng.choice([True, False], size=n),
            "const": 3.0,
            "empty": np.nan,
            "inf": np.where(np.arange(n) % 5 == 0, np.inf, 1.0 * np.arange(n) % 3),
            "huge_card": [f"c{i % 45}" for i in range(n)],
            "target": rng.choice(["yes", "no"], size=n),
        }
    )


def test_dirty_csv_is_cleaned(tmp_path: Path) -> None:
    frame = _dirty_frame()
    frame.loc[3, "target"] = None
    path = tmp_path / "dirty.csv"
    frame.to_csv(path, index=False)
    ds = load_dataset(path)
    assert ds.task == "classification"
    assert ds.n_rows == len(frame) - 1
    dropped = dict(ds.dropped)
    assert "ID-like" in dropped["id"] and "ID-like" in dropped["counter"]
    assert dropped["const"] == "constant" and dropped["empty"] == "all missing"
    assert ds.X["num_text"].dtype == np.float64 and ds.X["num_text"].isna().any()
    assert ds.X["flag"].dtype == np.float64
    assert ds.X["color"].dtype == object and (ds.X["color"] == MISSING_CATEGORY).any()
    assert not np.isinf(ds.X["inf"]).any()
    assert set(ds.categorical_columns) == {"color", "huge_card"}
    assert any("missing target" in n for n in ds.notes)


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".csv.gz", ".tsv.gz", ".parquet"])
def test_file_formats(tmp_path: Path, suffix: str) -> None:
    frame = _dirty_frame().drop(columns=["id"])
    path = tmp_path / f"data{suffix}"
    if suffix == ".parquet":
        frame.to_parquet(path)
    else:
        sep = "\t" if ".tsv" in suffix else ","
        text = frame.to_csv(index=False, sep=sep)
        if suffix.endswith(".gz"):
            path.write_bytes(gzip.compress(text.encode()))
        else:
            path.write_text(text)
    ds = load_dataset(path)
    assert ds.n_rows == len(frame)
    assert "num" in ds.X.columns


def test_pmlb_folder_uses_metadata(data_dir: Path) -> None:
    ds = load_dataset(data_dir / "1027_ESL")
    assert ds.task == "regression" and ds.name == "1027_ESL"
    clf = load_dataset(data_dir / "vehicle")
    assert clf.task == "classification" and len(clf.classes) == 4


def test_task_inference_and_override(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=50), "y": rng.integers(0, 3, size=50)})
    path = tmp_path / "ints.csv"
    frame.to_csv(path, index=False)
    assert load_dataset(path, target="y").task == "classification"
    assert load_dataset(path, target="y", task="regression").task == "regression"
    frame["y"] = rng.normal(size=50)
    frame.to_csv(path, index=False)
    assert load_dataset(path, target="y").task == "regression"


def test_subsample_is_stratified_and_keeps_rare_classes() -> None:
    X = pd.DataFrame({"a": np.arange(1000.0)})
    y = np.array(["rare"] * 3 + ["common"] * 997, dtype=object)
    from metahpo.datasets import Dataset

    ds = Dataset("x", X, y, "classification").subsample(100, seed=0)
    assert ds.n_rows == 100
    assert (ds.y == "rare").sum() >= 1
    again = Dataset("x", X, y, "classification").subsample(100, seed=0)
    assert ds.fingerprint() == again.fingerprint()


BAD = {
    "missing": (None, "no such file"),
    "empty": ("", "empty"),
    "one_row": ("a,target\n1,0\n", "at least 2"),
    "one_class": ("a,target\n1,x\n2,x\n3,x\n", "single class"),
    "target_nan": ("a,target\n1,\n2,\n3,\n", "all missing"),
    "no_target_col": ("a,b\n1,2\n3,4\n", "not found"),
    "text_regression": ("a,target\n1,1.5\n2,abc\n3,2.5\n4,3.5\n", "must be numeric"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_raises_one_clear_error(tmp_path: Path, case: str) -> None:
    content, message = BAD[case]
    path = tmp_path / f"{case}.csv"
    if content is not None:
        path.write_text(content)
    task = "regression" if case == "text_regression" else None
    with pytest.raises(DataError, match=message):
        load_dataset(path, task=task)

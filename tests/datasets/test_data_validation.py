"""Data that lies gets a clear error or an explicit note (issue 23, part 2 and the DataFrame and
NaN-label parts of 3): repeated header names, decimal commas, classes smaller than the folds,
unlabeled rows and infinite values, ``predict`` validating as ``tune`` does, NaN labels in
``MetaSearchCV``, and ``load_dataset`` on a pandas DataFrame."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metahpo.cli import main
from metahpo.datasets import Dataset, check_rows, from_frame, load_dataset, read_table
from metahpo.errors import DataError
from metahpo.evaluation import check_class_folds, make_folds
from metahpo.tuning import load_model, tune
from tests.conftest import one_line_error


def _one_line_error(capsys: pytest.CaptureFixture[str], *needles: str) -> str:
    return one_line_error(capsys, "metahpo: error:", *needles)


def _frame(n: int = 120, seed: int = 0) -> pd.DataFrame:
    """Two informative numeric columns, a text column, a balanced binary target."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    return pd.DataFrame(
        {
            "a": a,
            "b": b,
            "colour": rng.choice(["red", "green", "blue"], size=n),
            "target": np.where(a + b > 0, "yes", "no"),
        }
    )


def _tune_args(data: Path, tmp_path: Path, *extra: str) -> list[str]:
    db = tmp_path / "s.db"
    return [
        "tune",
        str(data),
        "--model",
        "knn",
        "--budget",
        "1",
        "--folds",
        "2",
        "--optimizer",
        "random",
        "--storage",
        f"sqlite:///{db}",
        *extra,
    ]


# -- 1. a header that repeats a name ----------------------------------------------------------
def test_a_header_repeating_the_target_is_refused(tmp_path: Path, capsys) -> None:
    """pandas renamed the copy 'target.1' and it was used as a feature: a score of 1.0."""
    path = tmp_path / "dup.csv"
    frame = _frame()
    text = frame.to_csv(index=False).splitlines()
    rows = [f"{line},{line.rsplit(',', 1)[1]}" for line in text]
    path.write_text("\n".join(rows) + "\n")
    assert rows[0] == "a,b,colour,target,target"
    with pytest.raises(DataError, match=r"duplicated column name.*'target' \(2 times\)"):
        load_dataset(path)
    with pytest.raises(DataError, match="'target'"):
        read_table(path)
    assert main(_tune_args(path, tmp_path)) == 2
    _one_line_error(capsys, "duplicated column name", "'target' (2 times)")
    assert not (tmp_path / "s.db").exists()


@pytest.mark.parametrize(
    ("header", "repeated"),
    [("a,b,a,target", "'a' (2 times)"), ("a, b,b ,target", "'b' (2 times)")],
)
def test_any_repeated_column_name_is_refused_by_name(
    tmp_path: Path, header: str, repeated: str
) -> None:
    path = tmp_path / "dup.tsv"
    body = "\n".join(f"{i},{i % 3},{i * 2},{i % 2}" for i in range(30))
    path.write_text((header + "\n" + body + "\n").replace(",", "\t"))
    with pytest.raises(DataError, match=re.escape(f"header: {repeated}")):
        load_dataset(path)


def test_names_that_only_look_renamed_still_load(tmp_path: Path) -> None:
    path = tmp_path / "ok.csv"
    frame = _frame().rename(columns={"b": "a.1"})
    frame.to_csv(path, index=False)
    assert list(load_dataset(path).X.columns) == ["a", "a.1", "colour"]


def test_a_repetition_the_metadata_declares_loads_as_before(tmp_path: Path) -> None:
    """PMLB's schizo has a feature named 'target' that its metadata.yaml lists as 'target.1';
    the bundled experience was built from it, so it must load as it always did."""
    folder = tmp_path / "twice"
    folder.mkdir()
    frame = _frame().drop(columns=["colour"])
    frame["target2"] = np.arange(len(frame)) % 2
    text = frame.to_csv(index=False, sep="\t").replace("target2", "target")
    (folder / "twice.tsv").write_text(text)
    meta = "task: classification\nfeatures:\n  - name: a\n  - name: b\n  - name: target.1\n"
    (folder / "metadata.yaml").write_text(meta)
    ds = load_dataset(folder)
    assert list(ds.X.columns) == ["a", "b", "target.1"]
    assert set(ds.y) == {"yes", "no"}
    (folder / "metadata.yaml").write_text("task: classification\n")
    with pytest.raises(DataError, match="'target' \\(2 times\\)"):
        load_dataset(folder)


# -- 2. decimal commas ------------------------------------------------------------------------
def test_semicolon_decimal_commas_are_read_as_numbers_with_a_note(tmp_path: Path) -> None:
    frame = _frame()
    european, plain = tmp_path / "eu.csv", tmp_path / "plain.csv"
    frame.to_csv(european, sep=";", decimal=",", index=False)
    frame.to_csv(plain, index=False)
    assert "," in european.read_text().splitlines()[1]
    eu, ref = load_dataset(european), load_dataset(plain)
    assert eu.numeric_columns == ["a", "b"] and eu.categorical_columns == ["colour"]
    assert eu.fingerprint() == ref.fingerprint()
    assert [n for n in eu.notes if "decimal commas" in n] == [
        n for n in eu.notes if "'a', 'b'" in n
    ]
    assert any("decimal commas read as numbers" in n for n in eu.notes)
    assert not ref.notes


def test_the_finding_file_with_decimal_commas(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("a;b;target\n1,5;2,25;0\n2,5;-3,5;1\n3;,5;0\n4,75;1,;1\n")
    ds = load_dataset(path)
    assert ds.X["a"].tolist() == [1.5, 2.5, 3.0, 4.75]
    assert ds.X["b"].tolist() == [2.25, -3.5, 0.5, 1.0]
    assert any("'1,5' = 1.5" in n for n in ds.notes), ds.notes


@pytest.mark.parametrize(
    ("sep", "values"),
    [
        (",", ['"1,5"', '"2,5"', '"3,5"', '"4,5"']),  # a comma file: never converted
        ("\t", ["1,5", "2,5", "3,5", "4,5"]),  # only ';' files use the decimal comma
        (";", ["1,5", "2.5", "3,5", "x"]),  # not every value a decimal-comma number
    ],
)
def test_decimal_commas_are_left_alone_elsewhere(
    tmp_path: Path, sep: str, values: list[str]
) -> None:
    path = tmp_path / "f.csv"
    lines = [sep.join(["a", "code", "target"])]
    lines += [sep.join([str(i), v, str(i % 2)]) for i, v in enumerate(values * 5)]
    path.write_text("\n".join(lines) + "\n")
    ds = load_dataset(path)
    assert ds.categorical_columns == ["code"]
    assert not any("decimal" in n for n in ds.notes)


def test_a_dataframe_with_decimal_comma_text_gets_a_note() -> None:
    frame = _frame()
    frame["a"] = frame["a"].map(lambda v: f"{v:.3f}".replace(".", ","))
    ds = load_dataset(frame, target="target")
    assert "a" in ds.categorical_columns  # nothing says the comma is a decimal mark here
    assert any("decimal commas" in n and "decimal=','" in n for n in ds.notes)


def test_no_real_test_dataset_gets_a_note(data_dir: Path) -> None:
    for name in ("iris", "vehicle", "1027_ESL"):
        ds = load_dataset(data_dir / name)
        assert ds.notes == () and not any("decimal" in n for n in ds.notes)


# -- 3. classes smaller than the folds, unlabeled rows, infinite values -----------------------
def _with_rare_class(n: int = 200, rare: int = 1, missing: int = 67) -> pd.DataFrame:
    """The finding: one class of ``rare`` rows among ``n``, ``missing`` rows without a label."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x0": rng.normal(size=n), "x1": rng.normal(size=n)})
    labels = np.array(["a"] * n, dtype=object)
    labels[:rare] = "b"
    labels[rng.choice(np.arange(rare, n), size=missing, replace=False)] = None
    frame["target"] = labels
    return frame


def test_a_class_smaller_than_the_folds_is_refused_naming_it(tmp_path: Path, capsys) -> None:
    """A majority predictor scored [0.5, 1.0, 1.0] -> 0.8333 on such data, with no warning."""
    path = tmp_path / "rare.csv"
    _with_rare_class().to_csv(path, index=False)
    ds = load_dataset(path)
    with pytest.raises(DataError, match=r"class 'b' \(1 row\) has fewer rows than the 3 folds"):
        tune(ds, "knn", budget=1, folds=3, storage="sqlite:///:memory:", optimizer="random")
    assert main(_tune_args(path, tmp_path)) == 2
    _one_line_error(capsys, "'b' (1 row)", "2 folds", "remove or merge")
    assert not (tmp_path / "s.db").exists()


def test_the_class_check_names_every_small_class_and_a_fold_count_that_works() -> None:
    y = ["a"] * 40 + ["b"] * 3 + ["c"] * 2 + ["d"] * 10
    ds = from_frame(pd.DataFrame({"x": np.arange(len(y)) % 7}), y)
    with pytest.raises(DataError) as info:
        check_class_folds(ds, 5)
    message = str(info.value)
    assert "2 classes have fewer rows than the 5 folds" in message
    assert "'c' (2 rows), 'b' (3 rows)" in message and "'d'" not in message
    assert "--folds 2 or fewer" in message
    check_class_folds(ds, 2)  # every class has 2 rows or more
    # The experience build and the benchmarks split such data as before.
    assert len(make_folds(ds, 5, seed=0)) == 5


def test_regression_has_no_class_check(tiny_reg: Dataset) -> None:
    check_class_folds(tiny_reg, 10)


def test_unlabeled_rows_and_infinite_values_are_noted_and_printed(tmp_path: Path, capsys) -> None:
    frame = _frame(200)
    frame.loc[frame.index[::3], "target"] = None  # 67 of 200 rows without a label
    frame.loc[1, "a"] = np.inf
    frame.loc[4, "b"] = -np.inf
    path = tmp_path / "gaps.csv"
    frame.to_csv(path, index=False)
    ds = load_dataset(path)
    assert "dropped 67 of 200 rows with a missing target 'target'" in ds.notes
    assert "column 'a': 1 infinite value read as missing" in ds.notes
    assert "column 'b': 1 infinite value read as missing" in ds.notes
    assert main(_tune_args(path, tmp_path)) == 0
    out = capsys.readouterr().out
    for note in ds.notes:
        assert f"note: {note}" in out, out
    for command in (["features", str(path)], ["suggest", str(path), "--model", "knn"]):
        assert main(command) == 0
        err = capsys.readouterr().err  # stdout stays the command's output (e.g. --json)
        for note in ds.notes:
            assert f"note: {note}" in err, (command, err)


def test_text_read_as_numbers_counts_what_it_read_as_missing(tmp_path: Path) -> None:
    frame = _frame()
    frame["a"] = frame["a"].astype(str)
    frame.loc[5, "a"] = "oops"
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    ds = load_dataset(path)
    assert "column 'a': text parsed as numbers (1 other value read as missing)" in ds.notes


# -- 4. predict validates as tune does --------------------------------------------------------
@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("model")
    train = folder / "train.csv"
    _frame().to_csv(train, index=False)
    model = folder / "m.skops"
    args = _tune_args(train, folder, "--save-model", str(model))
    assert main(args) == 0
    return model


def _predict_error(model: Path, data: Path, capsys) -> str:
    capsys.readouterr()
    assert main(["predict", str(model), str(data)]) == 2
    return _one_line_error(capsys)


def test_predict_refuses_overflowing_values_with_tunes_message(
    saved_model: Path, tmp_path: Path, capsys
) -> None:
    """predict accepted 1e308 (which tune refuses) and predicted one class for every row."""
    frame = _frame()
    frame.loc[0, "a"] = 1e308
    path = tmp_path / "huge.csv"
    frame.to_csv(path, index=False)
    assert main(_tune_args(path, tmp_path)) == 2
    from_tune = _one_line_error(capsys, "'a'", "1e+308", "rescale")
    assert _predict_error(saved_model, path, capsys) == from_tune
    with pytest.raises(DataError, match="overflow"):
        load_model(saved_model).predict(frame)


def test_predict_refuses_a_repeated_header_with_tunes_message(
    saved_model: Path, tmp_path: Path, capsys
) -> None:
    path = tmp_path / "dup.csv"
    text = _frame().to_csv(index=False).replace("colour", "a", 1)
    path.write_text(text)
    assert main(_tune_args(path, tmp_path)) == 2
    from_tune = _one_line_error(capsys, "'a' (2 times)")
    assert _predict_error(saved_model, path, capsys) == from_tune


def test_predict_refuses_text_where_the_model_reads_numbers(
    saved_model: Path, tmp_path: Path, capsys
) -> None:
    frame = _frame()
    frame["b"] = [f"v{i % 4}" for i in range(len(frame))]
    path = tmp_path / "words.csv"
    frame.to_csv(path, index=False)
    err = _predict_error(saved_model, path, capsys)
    assert "column 'b' holds text such as 'v0' where the model reads numbers" in err


def test_predict_notes_infinite_values_and_decimal_commas(
    saved_model: Path, tmp_path: Path, capsys
) -> None:
    frame = _frame()
    frame.loc[2, "a"] = np.inf
    frame["b"] = frame["b"].astype(object)
    frame.loc[3, "b"] = "n/a"
    path = tmp_path / "eu.csv"
    frame.to_csv(path, sep=";", decimal=",", index=False)
    capsys.readouterr()
    assert main(["predict", str(saved_model), str(path)]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.strip().splitlines()) == len(frame) + 1
    assert "note: column 'a': 1 infinite value read as missing" in captured.err
    assert "note: decimal commas read as numbers" in captured.err


def test_check_rows_on_a_dataframe() -> None:
    ds = from_frame(pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": list("abab")}), [0, 1, 0, 1])
    x = [str(i) for i in range(30)] + ["?", "three"]
    rows, notes = check_rows(ds, pd.DataFrame({"x": x, "c": ["a"] * len(x)}))
    assert rows["x"].isna().sum() == 2 and rows["x"].iloc[29] == 29.0
    assert notes == ("column 'x': 1 value that is not a number read as missing",)
    with pytest.raises(DataError, match="1 of 3 values are not numbers"):
        check_rows(ds, pd.DataFrame({"x": ["1", "2", "three"], "c": ["a"] * 3}))
    with pytest.raises(DataError, match="duplicated column name"):
        check_rows(ds, pd.DataFrame([[1.0, 2.0, "a"]], columns=["x", "x", "c"]))


# -- 5. MetaSearchCV with missing labels ------------------------------------------------------
@pytest.mark.parametrize("missing", [np.nan, None, "?"])
def test_meta_search_refuses_missing_labels(missing: object) -> None:
    """NaN labels were scored as a class: best_score_ 0.61 instead of 0.94."""
    from metahpo.sklearn import MetaSearchCV

    frame = _frame()
    y = frame.pop("target").to_numpy(dtype=object)
    y[::10] = missing
    with pytest.raises(DataError, match="Input y contains NaN: 12 of 120 labels are missing"):
        MetaSearchCV("knn", n_iter=1).fit(frame, y)
    assert issubclass(DataError, ValueError)  # what scikit-learn's searches raise


# -- 6. load_dataset takes a DataFrame --------------------------------------------------------
def test_load_dataset_on_a_dataframe_equals_the_csv(tmp_path: Path) -> None:
    frame = _frame()
    frame.loc[3, "target"] = None
    frame.loc[7, "colour"] = None
    path = tmp_path / "same.csv"
    frame.to_csv(path, index=False)
    from_file = load_dataset(path)
    from_memory = load_dataset(frame, target="target")
    assert from_memory.fingerprint() == from_file.fingerprint()
    assert from_memory.task == from_file.task and from_memory.notes == from_file.notes
    assert from_memory.name == "dataframe" and from_memory.source == "<DataFrame>"
    assert load_dataset(frame).fingerprint() == from_file.fingerprint()  # default 'target'
    named = load_dataset(frame.rename(columns={"target": "y"}), "y", "classification", name="n")
    assert named.name == "n" and named.target == "y" and named.task == "classification"
    assert list(frame.columns) == ["a", "b", "colour", "target"] and len(frame) == 120
    assert pd.isna(frame.loc[3, "target"]), "the caller's DataFrame is not changed"


def test_load_dataset_on_a_dataframe_with_numbered_columns() -> None:
    values = np.random.default_rng(0).normal(size=(50, 3))
    frame = pd.DataFrame(values)
    frame[3] = (values[:, 0] > 0).astype(int)
    ds = load_dataset(frame, target=3)
    assert ds.target == "3" and list(ds.X.columns) == ["0", "1", "2"]


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((3,), {}, "'data' must be a path or a pandas DataFrame, got int"),
        (([1, 2],), {}, "'data' must be a path or a pandas DataFrame, got list"),
        ((None,), {}, "'data' must be a path or a pandas DataFrame, got None"),
        ((np.zeros((3, 2)),), {}, "got ndarray (for arrays use"),
        ((pd.DataFrame({"a": [1.0]}),), {"target": ["a"]}, "'target' must be a column name"),
        ((pd.DataFrame({"a": [1.0]}),), {"name": 5}, "'name' must be a string, got int"),
        ((pd.DataFrame({"a": [1.0, 2.0]}),), {}, "pass target='COL'"),
        ((pd.DataFrame({"a": [], "target": []}),), {}, "the DataFrame has no rows"),
        ((pd.DataFrame({"a": [1.0]}),), {"task": "ranking"}, "unknown task 'ranking'"),
        (
            (pd.DataFrame([[1, 2, 0]], columns=["a", "a", "target"]),),
            {},
            "duplicated column name(s): 'a' (2 times)",
        ),
    ],
)
def test_load_dataset_refuses_wrong_arguments_by_name(
    args: tuple[object, ...], kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(DataError) as info:
        load_dataset(*args, **kwargs)  # type: ignore[arg-type]
    assert message in str(info.value)
    assert len(str(info.value).splitlines()) == 1

"""Meta-features: fixed names, finite values on dirty tables, determinism, pymfe agreement.

The pymfe comparison pins the definitions shared with the reference implementation. Deliberate
differences, and how the comparison accounts for them:

* Skewness / kurtosis: we use scipy's biased estimators (pymfe's ``method=1``); pymfe's default
  (``method=3``) divides by the sample standard deviation instead. Compared with ``method=1``.
* Landmarkers: we use a shuffled, seeded 3-fold CV with pooled out-of-fold predictions, pymfe an
  unshuffled 10-fold CV averaged over folds; both on standardised features with balanced
  accuracy. Compared within an absolute tolerance of 0.05.
* Equivalent number of attributes and noise-to-signal ratio are reported on a log scale
  (``ln(ENA)``, ``ln(1 + NSR)``); pymfe reports them raw. Compared after ``exp`` / ``expm1``.
* Sizes are reported as logarithms (``ln n``, ``ln p``, ``ln(n / p)``); pymfe reports counts and
  ``p / n``.
* pymfe adds 1e-8 to joint probabilities before taking logarithms; we do not, hence a relative
  tolerance of 1e-4 on mutual-information based features.
* For regression pymfe treats every distinct target value as a class, we discretise the target;
  only target-free features are compared there.
* Above 2,000 rows we subsample (pymfe does not); the test datasets are smaller.
"""

from __future__ import annotations

import argparse
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metahpo.datasets import Dataset, TaskType, list_dataset_folders, load_dataset
from metahpo.errors import DataError
from metahpo.metafeatures import (
    MAX_ROWS,
    METAFEATURE_FAMILIES,
    METAFEATURE_NAMES,
    compute_metafeatures,
    metafeature_vector,
)
from tests.conftest import DATA, shared_datasets

#: The published order: knowledge bases store vectors in it, so changing it is a breaking change.
EXPECTED_NAMES = (
    "log_n_rows",
    "log_n_features",
    "log_rows_per_feature",
    "n_classes",
    "share_categorical",
    "share_binary_features",
    "share_missing_cells",
    "share_rows_with_missing",
    "share_features_with_missing",
    "log_mean_categories",
    "minority_class_share",
    "majority_class_share",
    "skewness_mean",
    "skewness_abs_max",
    "kurtosis_mean",
    "kurtosis_max",
    "correlation_abs_mean",
    "correlation_abs_max",
    "pca_fraction_95",
    "pca_first_share",
    "outlier_share",
    "cv_log_mean",
    "share_zero_cells",
    "feature_target_r2_mean",
    "feature_target_r2_max",
    "class_entropy",
    "class_entropy_norm",
    "attr_entropy_mean",
    "mutual_info_mean",
    "mutual_info_max",
    "log_equivalent_attributes",
    "log_noise_signal_ratio",
    "lm_1nn",
    "lm_stump",
    "lm_nb_or_ridge",
    "lm_tree3",
    "lm_elite_1nn",
)
SHARES = [n for n in EXPECTED_NAMES if n.startswith("share_") or n.endswith("_class_share")]
LANDMARKERS = METAFEATURE_FAMILIES["landmarking"]


def _synthetic(rows: int, task: TaskType, seed: int = 0, informative: bool = True) -> Dataset:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(rows, 4)), columns=["a", "b", "c", "d"])
    X["colour"] = rng.choice(np.array(["red", "green", "blue"], dtype=object), size=rows)
    signal = X["a"].to_numpy() + X["b"].to_numpy() if informative else rng.normal(size=rows)
    y: np.ndarray
    if task == "classification":
        y = np.where(signal > 0, "yes", "no").astype(object)
    else:
        y = signal + 0.1 * rng.normal(size=rows)
    return Dataset(name=f"synthetic_{task}", X=X, y=y, task=task)


def _check_ranges(values: dict[str, float], task: str) -> None:
    assert list(values) == list(EXPECTED_NAMES)
    bad = {k: v for k, v in values.items() if not math.isfinite(v)}
    assert not bad, bad
    for name in SHARES:
        assert 0.0 <= values[name] <= 1.0, name
    for name in ("class_entropy_norm", "pca_fraction_95", "pca_first_share"):
        assert 0.0 <= values[name] <= 1.0 + 1e-12, name
    assert 0.0 <= values["mutual_info_mean"] <= values["mutual_info_max"]
    if task == "classification":  # MI(x, y) <= H(y) (the test tables are not subsampled)
        assert values["mutual_info_max"] <= values["class_entropy"] + 1e-9
    low = 0.0 if task == "classification" else -1.0
    for name in LANDMARKERS:
        assert low <= values[name] <= 1.0, name
    assert (values["n_classes"] == 0) == (task == "regression")


# ---------------------------------------------------------------------------------------------
# names and order


def test_names_are_fixed_unique_and_at_least_30() -> None:
    assert METAFEATURE_NAMES == EXPECTED_NAMES
    assert len(set(METAFEATURE_NAMES)) == len(METAFEATURE_NAMES) >= 30
    assert tuple(n for names in METAFEATURE_FAMILIES.values() for n in names) == METAFEATURE_NAMES
    assert set(METAFEATURE_FAMILIES) == {"simple", "statistical", "information", "landmarking"}


@pytest.mark.parametrize("name", ["iris", "vehicle", "1027_ESL"])
def test_real_datasets_give_every_name_in_order(name: str) -> None:
    ds = load_dataset(DATA / name)
    values = compute_metafeatures(ds)
    _check_ranges(values, ds.task)
    vector = metafeature_vector(ds)
    assert vector.dtype == np.float64 and vector.shape == (len(METAFEATURE_NAMES),)
    np.testing.assert_array_equal(vector, [values[n] for n in METAFEATURE_NAMES])


# ---------------------------------------------------------------------------------------------
# determinism and subsampling


def test_same_seed_same_values_and_simple_features_ignore_the_seed() -> None:
    ds = _synthetic(MAX_ROWS + 500, "classification")  # large enough to be subsampled
    first = compute_metafeatures(ds, seed=3)
    assert compute_metafeatures(ds, seed=3) == first
    other = compute_metafeatures(ds, seed=4)
    for name in METAFEATURE_FAMILIES["simple"]:  # computed on every row
        assert other[name] == first[name], name
    assert math.isclose(first["log_n_rows"], math.log(MAX_ROWS + 500))
    # A different subsample and different folds move the estimates, but only a little.
    for name in ("lm_1nn", "lm_tree3", "mutual_info_mean", "skewness_mean"):
        assert abs(other[name] - first[name]) < 0.1, name


def test_values_do_not_depend_on_row_order() -> None:
    ds = load_dataset(DATA / "iris")
    order = np.random.default_rng(0).permutation(ds.n_rows)
    shuffled = Dataset(
        name="iris", X=ds.X.iloc[order].reset_index(drop=True), y=ds.y[order], task=ds.task
    )
    a, b = compute_metafeatures(ds), compute_metafeatures(shuffled)
    for name in EXPECTED_NAMES:
        if name not in LANDMARKERS:  # folds depend on the row order
            assert math.isclose(a[name], b[name], rel_tol=1e-9, abs_tol=1e-12), name


# ---------------------------------------------------------------------------------------------
# both task types


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_signal_is_seen_by_landmarkers_and_mutual_information(task: TaskType) -> None:
    signal = compute_metafeatures(_synthetic(400, task))
    noise = compute_metafeatures(_synthetic(400, task, informative=False))
    _check_ranges(signal, task)
    _check_ranges(noise, task)
    chance = 0.5 if task == "classification" else 0.0
    for name in LANDMARKERS:
        assert signal[name] > noise[name] + 0.2, name
        assert abs(noise[name] - chance) < 0.15 or noise[name] < chance, name
    assert signal["lm_nb_or_ridge"] > 0.85
    assert signal["mutual_info_max"] > 3 * noise["mutual_info_max"]
    assert signal["feature_target_r2_max"] > 0.2 > noise["feature_target_r2_max"]
    assert signal["log_equivalent_attributes"] < noise["log_equivalent_attributes"]


def test_regression_target_shape_is_described_by_class_features() -> None:
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=500), "b": rng.normal(size=500)})
    even = Dataset("even", X, rng.uniform(size=500), "regression")
    skewed = Dataset("skewed", X, np.exp(3 * rng.normal(size=500)), "regression")
    a, b = compute_metafeatures(even), compute_metafeatures(skewed)
    assert a["n_classes"] == b["n_classes"] == 0
    assert a["class_entropy_norm"] > 0.95 > 0.5 > b["class_entropy_norm"]
    assert b["majority_class_share"] > 0.9 > 0.3 > a["majority_class_share"]


def test_numeric_statistics_are_scale_invariant() -> None:
    ds = load_dataset(DATA / "vehicle")
    scaled = Dataset("scaled", ds.X * 1e300, ds.y, ds.task)
    a, b = compute_metafeatures(ds), compute_metafeatures(scaled)
    for name in EXPECTED_NAMES:
        assert math.isclose(a[name], b[name], rel_tol=1e-6, abs_tol=1e-9), name


# ---------------------------------------------------------------------------------------------
# dirty and edge-case tables, written as CSV and read by the loader


def _edge_tables() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(7)
    two = np.array(["a", "b"], dtype=object)
    return {
        "one_feature": pd.DataFrame({"x": rng.normal(size=30), "target": rng.choice(two, 30)}),
        "all_categorical": pd.DataFrame(
            {
                "colour": rng.choice(["red", "green", "blue"], 40),
                "size": rng.choice(["S", "L"], 40),
                "target": rng.choice(["p", "q", "r"], 40),
            }
        ),
        "ten_rows": pd.DataFrame(
            {
                "x": np.arange(10.0) ** 2,
                "z": [1, 2, 1, 2, 1, 2, 1, 2, 1, 5],
                "target": ["a"] * 5 + ["b"] * 5,
            }
        ),
        "two_rows": pd.DataFrame({"x": [1.0, 2.0], "target": ["a", "b"]}),
        "imbalanced": pd.DataFrame(
            {
                "x": rng.normal(size=200),
                "w": rng.normal(size=200),
                "target": ["major"] * 198 + ["minor"] * 2,
            }
        ),
        "huge_values": pd.DataFrame(
            {
                "x": rng.normal(size=50) * 1e300,
                "w": np.r_[1e-300 * rng.normal(size=49), 1.7e308],
                "target": rng.normal(size=50) * 1e300,
            }
        ),
        "dirty": pd.DataFrame(
            {
                "x": [str(v) if i % 3 else "?" for i, v in enumerate(rng.normal(size=60))],
                "c": [
                    ("yes" if v > 0 else "no") if i % 4 else ""
                    for i, v in enumerate(rng.normal(size=60))
                ],
                "sparse": [np.nan] * 57 + [1.0, 2.0, 3.0],
                "constant": ["k"] * 60,
                "id": [f"row{i}" for i in range(60)],
                "target": rng.choice(two, 60),
            }
        ),
        "singleton_classes": pd.DataFrame(
            {"x": rng.normal(size=30), "target": [f"c{i}" for i in range(30)]}
        ),
        "ten_rows_regression": pd.DataFrame(
            {"x": rng.normal(size=10), "c": list("ababababab"), "target": rng.normal(size=10)}
        ),
        "regression_categorical_only": pd.DataFrame(
            {"c": rng.choice(["u", "v", "w"], 40), "target": rng.normal(size=40)}
        ),
        "regression_outlier_target": pd.DataFrame(
            {"x": rng.normal(size=100), "target": np.r_[rng.normal(size=99), 1e9]}
        ),
    }


EDGE = _edge_tables()


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("name", sorted(EDGE))
def test_finite_without_warnings_on_edge_tables(tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.csv"
    EDGE[name].to_csv(path, index=False)
    ds = load_dataset(path)
    values = compute_metafeatures(ds, seed=1)
    _check_ranges(values, ds.task)
    assert compute_metafeatures(ds, seed=1) == values


def _load_edge(tmp_path: Path, name: str) -> tuple[Dataset, dict[str, float]]:
    path = tmp_path / f"{name}.csv"
    EDGE[name].to_csv(path, index=False)
    ds = load_dataset(path)
    return ds, compute_metafeatures(ds)


def test_conventions_for_one_feature_and_categorical_only(tmp_path: Path) -> None:
    _, one = _load_edge(tmp_path, "one_feature")
    assert one["log_n_features"] == 0.0
    assert one["correlation_abs_mean"] == one["correlation_abs_max"] == 0.0
    assert one["pca_fraction_95"] == one["pca_first_share"] == 1.0
    _, cat = _load_edge(tmp_path, "all_categorical")
    assert cat["share_categorical"] == 1.0
    assert cat["share_binary_features"] == 0.5
    assert math.isclose(cat["log_mean_categories"], math.log1p(2.5))
    for name in METAFEATURE_FAMILIES["statistical"]:
        expected = 1.0 if name.startswith("pca_") else 0.0
        assert cat[name] == expected, name
    assert cat["attr_entropy_mean"] > 0.5  # categorical columns still carry information


def test_missing_values_and_imbalance_are_counted(tmp_path: Path) -> None:
    ds, dirty = _load_edge(tmp_path, "dirty")
    assert list(ds.X.columns) == ["x", "c", "sparse"]  # the loader dropped constant and ID
    n_missing = 20 + 15 + 57  # "?" every third row, "" every fourth, 57 NaN
    assert math.isclose(dirty["share_missing_cells"], n_missing / (60 * 3))
    assert dirty["share_features_with_missing"] == 1.0
    assert math.isclose(dirty["share_rows_with_missing"], 58 / 60)  # rows 58 and 59 are full
    assert math.isclose(dirty["share_categorical"], 1 / 3)
    _, imb = _load_edge(tmp_path, "imbalanced")
    assert math.isclose(imb["minority_class_share"], 0.01)
    assert math.isclose(imb["majority_class_share"], 0.99)
    assert imb["class_entropy_norm"] < 0.1


def test_extreme_magnitudes_are_handled_by_scaling(tmp_path: Path) -> None:
    ds, huge = _load_edge(tmp_path, "huge_values")
    assert ds.task == "regression"
    assert huge["share_zero_cells"] == 0.0  # 1e-300 next to 1.7e308 is not zero
    assert huge["share_binary_features"] == 0.0
    assert huge["skewness_abs_max"] > 5  # "w" is one spike


# ---------------------------------------------------------------------------------------------
# agreement with pymfe


def _pymfe(ds: Dataset, features: list[str], groups: list[str]) -> dict[str, float]:
    mfe_module = pytest.importorskip("pymfe.mfe")
    mfe = mfe_module.MFE(
        groups=groups,
        features=features,
        summary=["mean", "max"],
        score="balanced-accuracy",
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mfe.fit(ds.X.to_numpy(dtype=float), ds.y, rescale="standard", suppress_warnings=True)
        names, values = mfe.extract(
            suppress_warnings=True, skewness={"method": 1}, kurtosis={"method": 1}
        )
    return {n: float(v) for n, v in zip(names, values, strict=True)}


def _assert_target_free_agree(ours: dict[str, float], ref: dict[str, float]) -> None:
    assert math.isclose(math.exp(ours["log_n_rows"]), ref["nr_inst"], rel_tol=1e-9)
    assert math.isclose(math.exp(ours["log_n_features"]), ref["nr_attr"], rel_tol=1e-9)
    assert math.isclose(math.exp(-ours["log_rows_per_feature"]), ref["attr_to_inst"], rel_tol=1e-9)
    assert math.isclose(ours["skewness_mean"], ref["skewness.mean"], rel_tol=1e-6)
    assert ours["skewness_abs_max"] >= abs(ref["skewness.max"]) - 1e-9  # ours is max |skew|
    assert math.isclose(ours["kurtosis_mean"], ref["kurtosis.mean"], rel_tol=1e-6)
    assert math.isclose(ours["kurtosis_max"], ref["kurtosis.max"], rel_tol=1e-6)
    assert math.isclose(ours["correlation_abs_mean"], ref["cor.mean"], rel_tol=1e-6)
    assert math.isclose(ours["correlation_abs_max"], ref["cor.max"], rel_tol=1e-6)
    assert math.isclose(ours["attr_entropy_mean"], ref["attr_ent.mean"], rel_tol=1e-4)


TARGET_FREE = ["nr_inst", "nr_attr", "attr_to_inst", "skewness", "kurtosis", "cor", "attr_ent"]


@pytest.mark.parametrize("name", ["iris", "vehicle"])
def test_classification_agrees_with_pymfe(name: str) -> None:
    ds = load_dataset(DATA / name)
    ours = compute_metafeatures(ds)
    features = [
        *TARGET_FREE,
        "nr_class",
        "class_ent",
        "mut_inf",
        "eq_num_attr",
        "ns_ratio",
        "naive_bayes",
        "one_nn",
    ]
    ref = _pymfe(ds, features, ["general", "statistical", "info-theory", "landmarking"])
    _assert_target_free_agree(ours, ref)
    assert ours["n_classes"] == ref["nr_class"]
    assert math.isclose(ours["class_entropy"], ref["class_ent"], rel_tol=1e-9)
    assert math.isclose(ours["mutual_info_mean"], ref["mut_inf.mean"], rel_tol=1e-4)
    assert math.isclose(ours["mutual_info_max"], ref["mut_inf.max"], rel_tol=1e-4)
    ena = math.exp(ours["log_equivalent_attributes"])
    assert math.isclose(ena, ref["eq_num_attr"], rel_tol=1e-4)
    nsr = math.expm1(ours["log_noise_signal_ratio"])
    assert math.isclose(nsr, ref["ns_ratio"], rel_tol=1e-4)
    assert abs(ours["lm_nb_or_ridge"] - ref["naive_bayes.mean"]) < 0.05
    assert abs(ours["lm_1nn"] - ref["one_nn.mean"]) < 0.05


def test_regression_agrees_with_pymfe_on_target_free_features() -> None:
    ds = load_dataset(DATA / "1027_ESL")
    assert ds.task == "regression"
    ref = _pymfe(ds, TARGET_FREE, ["general", "statistical", "info-theory"])
    _assert_target_free_agree(compute_metafeatures(ds), ref)


# ---------------------------------------------------------------------------------------------
# command line


def _run_cli(argv: list[str]) -> int:
    """Through ``metahpo.cli.main`` once ``features`` is wired into it, else the module alone."""
    from metahpo.cli import _features, main

    try:
        return main(argv)
    except SystemExit:  # argparse: "invalid choice: 'features'" (not registered yet)
        pass
    standalone = argparse.ArgumentParser(prog="metahpo")
    _features.register(standalone.add_subparsers(dest="command", required=True))
    args = standalone.parse_args(argv)
    status: int = args.run(args)
    return status


def test_cli_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run_cli(["features", str(DATA / "iris"), "--json", "--seed", "0"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert list(printed) == list(EXPECTED_NAMES)
    assert printed == compute_metafeatures(load_dataset(DATA / "iris"), seed=0)


def test_cli_prints_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run_cli(["features", str(DATA / "1027_ESL"), "--task", "regression"]) == 0
    text = capsys.readouterr().out
    assert "1027_ESL" in text and "regression" in text
    for name in ("log_n_rows", "class_entropy", "lm_nb_or_ridge"):
        assert name in text


def test_cli_reports_bad_input_as_data_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    from metahpo.cli import _features

    args = argparse.Namespace(data=str(missing), target=None, task=None, seed=0, as_json=True)
    with pytest.raises(DataError):
        _features._run(args)


# ---------------------------------------------------------------------------------------------
# every shared real dataset (slow)


@pytest.mark.slow
def test_finite_on_every_shared_dataset() -> None:
    problems: dict[str, str] = {}
    folders = list_dataset_folders(shared_datasets())
    assert folders
    for folder in folders:
        try:
            ds = load_dataset(folder)
        except DataError as exc:
            problems[folder.name] = f"load: {exc}"
            continue
        values = compute_metafeatures(ds)
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        if list(values) != list(EXPECTED_NAMES) or bad:
            problems[folder.name] = f"not finite: {bad}"
    assert not problems, problems

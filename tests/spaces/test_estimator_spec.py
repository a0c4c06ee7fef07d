"""``estimator_spec`` and ``metahpo suggest``: configurations as plain scikit-learn models.

The contract: the class path and arguments (and the preprocessing steps) read from the JSON,
rebuilt with nothing but scikit-learn, cross-validate to exactly metahpo's own score on the same
folds, for every family and both tasks.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.metrics import balanced_accuracy_score, r2_score
from sklearn.pipeline import Pipeline

from metahpo.datasets import Dataset, from_frame
from metahpo.evaluation import evaluate, make_folds
from metahpo.spaces import (
    FAMILY_NAMES,
    build_estimator,
    estimator_spec,
    get_space,
    sobol_design,
)

TASKS = ("classification", "regression")


def _table(task: str, n: int = 60) -> Dataset:
    """Numeric columns (one with missing values) and a text column: every preprocessing step."""
    rng = np.random.default_rng(7)
    X = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.uniform(0, 100, size=n),
            "c": rng.normal(size=n),
            "colour": rng.choice(["red", "green", "blue"], size=n),
        }
    )
    X.loc[rng.choice(n, 8, replace=False), "c"] = np.nan
    signal = X["a"] + X["b"] / 50 + (X["colour"] == "red")
    y: Any = (
        np.where(signal > signal.median(), "yes", "no")
        if task == "classification"
        else 3.0 * signal + rng.normal(scale=0.3, size=n)
    )
    return from_frame(X, y, task=task, name=f"toy-{task}")  # type: ignore[arg-type]


@pytest.fixture(scope="module", params=TASKS)
def table(request: pytest.FixtureRequest) -> Dataset:
    return _table(request.param)


def _config(family: str, task: str) -> dict[str, Any]:
    """A configuration away from the defaults, with NumPy scalars as experience stores them."""
    cfg = sobol_design(get_space(family, task), 4, seed=11)[2]
    return {k: np.float64(v) if isinstance(v, float) else v for k, v in cfg.items()}


def _load(path: str) -> Any:
    module, name = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def _from_json(d: dict[str, Any]) -> Any:
    """The pipeline rebuilt from the JSON alone, with scikit-learn only."""
    model = _load(d["estimator"])(**d["estimator_params"])
    groups: dict[str, tuple[list[tuple[str, Any]], list[str]]] = {}
    for step in d["pipeline"]:
        group = step["step"].split("/")[0]
        steps, _ = groups.setdefault(group, ([], step["columns"]))
        steps.append((step["step"], _load(step["estimator"])(**step["params"])))
    prep = ColumnTransformer([(g, Pipeline(s), cols) for g, (s, cols) in groups.items()])
    pipe = Pipeline([("prep", prep), ("model", model)])
    target = d["target_transform"]
    if target is None:
        return pipe
    return TransformedTargetRegressor(
        pipe, transformer=_load(target["estimator"])(**target["params"])
    )


def _plain_json(value: Any) -> bool:
    if isinstance(value, dict):
        return all(type(k) is str and _plain_json(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain_json(v) for v in value)
    return type(value) in (str, int, float, bool, type(None))


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_the_pasted_estimator_scores_as_metahpo_does(family: str, table: Dataset) -> None:
    cfg = _config(family, table.task)
    spec = estimator_spec(family, cfg, table, seed=3)
    payload = spec.to_json_dict()
    assert _plain_json(payload), payload  # no NumPy types, no tuples
    assert json.loads(json.dumps(payload, allow_nan=False)) == payload
    # the encoded parameters are gone: only arguments of the scikit-learn class remain
    cls = _load(payload["estimator"])
    assert not {"max_features_exp", "gamma_scale", "width", "depth"} & set(
        payload["estimator_params"]
    )
    assert set(payload["estimator_params"]) <= set(cls(**payload["estimator_params"]).get_params())

    folds = make_folds(table, 3, seed=5)
    ours = evaluate(table, family, cfg, folds=folds, seed=3)
    assert ours.ok, ours.error
    pasted = _from_json(json.loads(json.dumps(payload)))
    metric = balanced_accuracy_score if table.task == "classification" else r2_score
    values = []
    # XGBoost's own classifier (what is pasted) needs the labels as 0..k-1
    encode = family == "xgb" and table.task == "classification"
    labels, codes = np.unique(table.y, return_inverse=True) if encode else (None, table.y)
    for train, test in folds:
        fitted = pasted.fit(table.X.iloc[train], codes[train])
        predicted = fitted.predict(table.X.iloc[test])
        if labels is not None:
            predicted = labels[np.asarray(predicted, dtype=int)]
        values.append(metric(table.y[test], predicted))
    assert float(np.mean(values)) == pytest.approx(ours.value, abs=1e-12)


@pytest.mark.parametrize("family", FAMILY_NAMES)
@pytest.mark.parametrize("task", TASKS)
def test_the_snippet_is_python_that_makes_the_evaluated_model(family: str, task: str) -> None:
    ds = _table(task, n=40)
    cfg = _config(family, task)
    spec = estimator_spec(family, cfg, ds)
    line = spec.snippet()
    compile(line, "<snippet>", "eval")
    namespace: dict[str, Any] = {}
    exec(spec.import_line(), namespace)
    pasted = eval(line, namespace)
    built = build_estimator(family, cfg, ds)
    pipe = built.regressor if isinstance(built, TransformedTargetRegressor) else built
    assert pasted.get_params() == pipe.named_steps["model"].get_params()
    assert spec.make().get_params() == pasted.get_params()


def test_data_relative_parameters_are_resolved_for_the_dataset() -> None:
    ds = _table("classification", n=20)  # 3 numeric + 3 one-hot columns = 6 model inputs
    rf = estimator_spec("rf", {"max_features_exp": 0.5}, ds).params
    assert rf["max_features"] == pytest.approx(2 / 6)  # round(6 ** 0.5) of 6 features
    svm = estimator_spec("svm", {"gamma_scale": 3.0}, ds).params
    assert svm["gamma"] == pytest.approx(0.5)
    knn = estimator_spec("knn", {"n_neighbors": 64, "leaf_size": 7}, ds).params
    assert knn == {"n_neighbors": 10, "leaf_size": 7}  # capped at half the rows; user extras kept
    mlp = estimator_spec("mlp", {"width": 32, "depth": 2}, ds)
    assert mlp.params["hidden_layer_sizes"] == (32, 32)
    assert mlp.to_json_dict()["estimator_params"]["hidden_layer_sizes"] == [32, 32]
    assert "StandardScaler" in mlp.pipeline_note() and "OneHotEncoder" in mlp.pipeline_note()
    hgb = estimator_spec("hgb", {}, ds)
    assert "StandardScaler" not in hgb.pipeline_note() and hgb.target_transform is None


def test_cli_suggest_prints_estimators_that_fit(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sklearn.datasets import load_iris

    from metahpo.cli import main

    args = ["suggest", str(data_dir / "iris"), "--model", "rf", "-k", "2"]
    assert main([*args, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    X, y = load_iris(return_X_y=True)
    for item in printed:
        assert item["estimator"] == "sklearn.ensemble.RandomForestClassifier"
        params = item["estimator_params"]
        assert "max_features_exp" not in params and 0 < params["max_features"] <= 1
        assert _load(item["estimator"])(**params).fit(X, y).score(X, y) > 0.9
        assert item["pipeline"][0]["estimator"] == "sklearn.impute.SimpleImputer"

    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    imports = [s for s in lines if s.startswith("from sklearn")]
    snippets = [s for s in lines if s.startswith("RandomForestClassifier(")]
    assert imports == ["from sklearn.ensemble import RandomForestClassifier"]
    assert len(snippets) == len(printed)
    namespace: dict[str, Any] = {}
    exec(imports[0], namespace)
    for line, item in zip(snippets, printed, strict=True):
        compile(line, "<snippet>", "eval")
        model = eval(line, namespace)
        assert {k: model.get_params()[k] for k in item["estimator_params"]} == item[
            "estimator_params"
        ]

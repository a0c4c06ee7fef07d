"""The LightGBM and XGBoost families (extra ``metahpo[boost]``): spaces, estimators, the tune
path, the knowledge-base build and what happens without the extra."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import optuna
import pytest

from metahpo.cli import main
from metahpo.datasets import Dataset
from metahpo.errors import SpaceError
from metahpo.evaluation import BUILD_METRICS, evaluate
from metahpo.knowledge import (
    BuildSettings,
    Bundle,
    Experience,
    KnowledgeStore,
    build,
    design,
    load_bundled,
)
from metahpo.optimizers import BASES, make_meta_sampler
from metahpo.spaces import build_estimator, get_family, get_space
from metahpo.tuning import suggest_config, tune
from tests.conftest import DATA, dataset_folder, require_family

BOOST = ("lgbm", "xgb")
TASKS = ("classification", "regression")
EXTRA = "pip install 'metahpo[boost]'"


def _model(family: str, ds: Dataset, config: dict | None = None, seed: int = 0):
    space = get_space(family, ds.task)
    pipe = build_estimator(family, config or space.default_config(), ds, seed=seed)
    return pipe.named_steps["model"]


def _tree_params(model, ds: Dataset) -> dict:
    """XGBoost's effective training parameters after a fit (its sklearn API leaves them None)."""
    booster = model.fit(ds.X.select_dtypes("number").fillna(0).to_numpy(), _codes(ds)).get_booster()
    cfg = json.loads(booster.save_config())
    params = cfg["learner"]["gradient_booster"]["tree_train_param"]
    return {"rounds": booster.num_boosted_rounds(), **params}


def _codes(ds: Dataset) -> np.ndarray:
    return np.unique(ds.y, return_inverse=True)[1] if ds.task == "classification" else ds.y


# -- spaces and defaults ---------------------------------------------------------------------
@pytest.mark.parametrize("family", BOOST)
@pytest.mark.parametrize("task", TASKS)
def test_spaces_have_the_usual_parameters_and_log_scales(family: str, task: str) -> None:
    space = get_space(family, task)
    assert 6 <= space.dim <= 9
    logs = {p.name for p in space.params if p.log}
    assert {"n_estimators", "learning_rate", "reg_alpha", "reg_lambda"} <= logs
    assert ("min_child_samples" if family == "lgbm" else "min_child_weight") in logs
    assert {"subsample", "colsample_bytree"} <= set(space.names)
    # the design the build uses: the default first, then valid Sobol points
    points = design(family, task, 16)
    assert points[0] == space.default_config()
    for config in points:
        assert space.validate(config) == config


@pytest.mark.parametrize("task", TASKS)
def test_lgbm_default_point_is_lightgbms_default(task: str, tiny_clf, tiny_reg) -> None:
    require_family("lgbm")
    import lightgbm

    ds = tiny_clf if task == "classification" else tiny_reg
    built = _model("lgbm", ds)
    ref = (lightgbm.LGBMClassifier if task == "classification" else lightgbm.LGBMRegressor)()
    names = [*get_space("lgbm", task).names, "subsample_freq"]
    assert {k: built.get_params()[k] for k in names} == {k: ref.get_params()[k] for k in names}
    assert built.n_jobs == 1 and built.verbose == -1 and built.random_state == 0


@pytest.mark.parametrize("task", TASKS)
def test_xgb_default_point_is_xgboosts_default(task: str, tiny_clf, tiny_reg) -> None:
    require_family("xgb")
    import xgboost

    ds = tiny_clf if task == "classification" else tiny_reg
    built = _model("xgb", ds)
    assert built.n_jobs == 1 and built.verbosity == 0 and built.random_state == 0
    ref = (xgboost.XGBClassifier if task == "classification" else xgboost.XGBRegressor)()
    ours, theirs = _tree_params(built, ds), _tree_params(ref, ds)
    assert ours == theirs
    assert ours["rounds"] == 100 and float(ours["eta"]) == pytest.approx(0.3)


def test_penalty_lower_bound_is_zero_and_subsample_turns_bagging_on(tiny_clf) -> None:
    require_family("lgbm", "xgb")
    space = get_space("lgbm", "classification")
    config = space.default_config() | {"subsample": 0.7, "reg_lambda": 2.0}
    m = _model("lgbm", tiny_clf, config)
    assert m.reg_alpha == 0.0 and m.reg_lambda == 2.0
    assert m.subsample == 0.7 and m.subsample_freq == 1
    assert _model("xgb", tiny_clf).reg_alpha == 0.0


# -- fitting and scoring -----------------------------------------------------------------------
@pytest.mark.parametrize("family", BOOST)
def test_fits_score_and_are_deterministic(family: str, tiny_clf, tiny_reg) -> None:
    require_family(family)
    for ds in (tiny_clf, tiny_reg):
        space = get_space(family, ds.task)
        config = space.default_config() | {"subsample": 0.6, "colsample_bytree": 0.5}
        config["n_estimators"] = 30
        a = evaluate(ds, family, config, folds=3, seed=3, extra_metrics=BUILD_METRICS[ds.task])
        b = evaluate(ds, family, config, folds=3, seed=3)
        assert a.ok, a.error
        assert a.fold_values == b.fold_values
        if ds.task == "classification":
            assert 0.4 < a.value <= 1 and 0.5 < a.metrics["roc_auc"] <= 1
            assert np.isfinite(a.metrics["log_loss"])
        else:
            assert np.isfinite(a.value) and np.isfinite(a.metrics["rmse"])


def test_xgb_takes_any_labels_and_a_fold_missing_a_class(tiny_clf) -> None:
    require_family("xgb")
    from metahpo.spaces._xgb import LabelEncodedXGBClassifier

    X = tiny_clf.X.to_numpy(dtype=float)
    y = np.asarray([f"class {v}" for v in tiny_clf.y], dtype=object)
    rare = y == y[0]
    m = LabelEncodedXGBClassifier(n_estimators=5, n_jobs=1).fit(X[~rare], y[~rare])
    assert list(m.classes_) == sorted(set(y[~rare])) and y[0] not in m.classes_
    assert set(m.predict(X)) <= set(m.classes_)
    assert m.predict_proba(X).shape == (len(X), len(m.classes_))
    assert m.set_params(gamma=0.5).get_params()["gamma"] == 0.5


def _without_boost() -> Experience:
    """The bundled experience less its lgbm/xgb tasks: a family the experience does not cover."""
    bundled = load_bundled()
    return replace(bundled, tasks=tuple(t for t in bundled.tasks if t.family not in BOOST))


@pytest.mark.parametrize("family", BOOST)
def test_cli_tune_with_no_experience_for_the_family(
    family: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require_family(family)
    # An experience with no task of the family (the bundle before its build reached it): the
    # meta optimizer falls back to the library default first, then its base sampler.
    others = _without_boost()
    monkeypatch.setattr("metahpo.tuning._sampler.load_bundled", lambda: others)
    for data in ("iris", "1027_ESL"):
        out = tmp_path / f"{data}.json"
        argv = ["tune", str(DATA / data), "--model", family, "--budget", "2", "--folds", "2"]
        argv += ["--storage", f"sqlite:///{tmp_path / 'cli.db'}", "--json", str(out)]
        assert main(argv) == 0, capsys.readouterr().err
        summary = json.loads(out.read_text())
        assert summary["n_trials"] == 2 and summary["model"] == family
        assert summary["meta"]["experience_tasks"] == 0
        study = optuna.load_study(
            study_name=summary["study"], storage=f"sqlite:///{tmp_path / 'cli.db'}"
        )
        task = "classification" if data == "iris" else "regression"
        assert study.trials[0].params == get_space(family, task).default_config()


# -- knowledge-base build ------------------------------------------------------------------
def test_build_extends_a_bundle_with_the_new_families(tmp_path: Path, sqlite_url: str) -> None:
    require_family("lgbm", "xgb")
    datasets = dataset_folder(tmp_path / "datasets", "iris", "1027_ESL")
    store = KnowledgeStore(sqlite_url)
    bundle = Bundle(tmp_path / "bundle")
    common = {"n_configs": 3, "max_rows": 60, "folds": 2, "metafeatures": False}
    first = build(datasets, store, BuildSettings(families=("knn",), **common), export=bundle)
    assert first.done == 2 * 4
    before = {n: bundle.read_shard(n)[1] for n in bundle.shard_names()}
    settings = BuildSettings(families=("knn", "lgbm", "xgb"), **common)
    second = build(datasets, store, settings, export=bundle)
    assert second.done == 2 * 2 * 4 and second.skipped == 2 * 4  # knn comes from the shards
    manifest = bundle.manifest()
    assert manifest["settings"]["families"] == ["knn", "lgbm", "xgb"]
    assert set(manifest["spaces"]) == set(bundle.designs()) == {"knn", "lgbm", "xgb"}
    for name in ("iris", "1027_ESL"):
        meta, values, fit_time = bundle.read_shard(name)
        assert meta.families == ("knn", "lgbm", "xgb")
        assert values.shape[:2] == (3, 4) and fit_time.shape == (3, 4)
        np.testing.assert_array_equal(values[0], before[name][0])
        assert np.isfinite(values[1:, :, 0]).all()
    assert build(datasets, store, settings, export=bundle).done == 0
    exp = load_bundled(bundle.root)
    assert exp.families == ["knn", "lgbm", "xgb"]
    tasks = exp.select(family="xgb", task="regression").tasks
    assert len(tasks) == 1 and tasks[0].n == 4


def test_kb_info_lists_the_families_present(tmp_path: Path, capsys) -> None:
    require_family("lgbm")
    datasets = dataset_folder(tmp_path / "datasets", "iris")
    argv = ["kb", "build", "--datasets", str(datasets), "--models", "lgbm", "--configs", "1"]
    argv += ["--max-rows", "60", "--folds", "2", "--no-metafeatures"]
    argv += ["--storage", f"sqlite:///{tmp_path / 'kb.db'}", "--export", str(tmp_path / "b")]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(["kb", "info", "--bundle", str(tmp_path / "b"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["families"] == {"lgbm": 1}


# -- without the extra ---------------------------------------------------------------------
@pytest.fixture()
def no_boost(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if neither library were installed (an import of either fails)."""
    for module in ("lightgbm", "xgboost", "metahpo.spaces._xgb"):
        monkeypatch.setitem(sys.modules, module, None)


@pytest.mark.usefixtures("no_boost")
@pytest.mark.parametrize("family", BOOST)
def test_missing_extra_is_one_line_naming_it(
    family: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SpaceError, match=r"pip install 'metahpo\[boost\]'"):
        get_family(family).check_available()
    db = f"sqlite:///{tmp_path / 'x.db'}"
    commands = [
        ["tune", str(DATA / "iris"), "--model", family, "--budget", "2", "--storage", db],
        ["kb", "build", "--datasets", str(DATA), "--models", family, "--storage", db],
    ]
    for argv in commands:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and EXTRA in err and "Traceback" not in err, err
    assert not (tmp_path / "x.db").exists() or not optuna.get_all_study_names(db)


@pytest.mark.usefixtures("no_boost")
def test_nothing_else_breaks_without_the_extra(
    tiny_clf, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from metahpo.sklearn import MetaSearchCV

    assert get_space("lgbm", "regression").default_config()["n_estimators"] == 100
    db = f"sqlite:///{tmp_path / 'k.db'}"
    result = tune(tiny_clf, "knn", budget=2, optimizer="random", folds=2, storage=db)
    assert result.n_trials == 2
    assert main(["suggest", str(DATA / "iris"), "--model", "xgb"]) == 0  # from the experience
    assert "xgb for iris (classification" in capsys.readouterr().out
    with pytest.raises(SpaceError, match="metahpo"):
        MetaSearchCV("xgb", n_iter=2).fit(tiny_clf.X, tiny_clf.y)
    datasets = dataset_folder(tmp_path / "datasets", "iris")
    argv = ["kb", "build", "--datasets", str(datasets), "--configs", "1", "--max-rows", "40"]
    argv += ["--folds", "2", "--no-metafeatures", "--storage", f"sqlite:///{tmp_path / 'b.db'}"]
    assert main(argv) == 0  # every family but the two, each named once on stderr
    err = capsys.readouterr().err
    assert err.count("skipping family") == 2 and err.count(EXTRA) == 2


@pytest.mark.parametrize("base", sorted(BASES))
def test_every_base_starts_from_the_default_without_experience(base: str) -> None:
    if base in ("maml", "gpsampler"):
        pytest.importorskip("torch")
    if base == "fsbo":
        pytest.importorskip("gpytorch")
    exp = _without_boost()
    space = get_space("lgbm", "regression")
    vector = np.zeros(len(exp.metafeature_names))
    plan = make_meta_sampler(vector, "lgbm", "regression", experience=exp, base=base, seed=0)
    assert plan.out_of_distribution and not plan.suggestions
    study = optuna.create_study(direction="maximize", sampler=plan.sampler)
    study.optimize(lambda t: -abs(suggest_config(t, space)["learning_rate"] - 0.05), n_trials=3)
    assert study.trials[0].params == space.default_config()
    assert all(space.validate(t.params) == t.params for t in study.trials)


@pytest.mark.parametrize("family", BOOST)
def test_scikit_learn_interfaces(family: str, tiny_clf) -> None:
    require_family(family)
    from sklearn.base import clone

    from metahpo.sklearn import FamilyModel, MetaSearchCV

    y = np.asarray([f"class {v}" for v in tiny_clf.y], dtype=object)
    model = clone(FamilyModel(family, n_estimators=20)).fit(tiny_clf.X, y)
    assert list(model.classes_) == sorted(set(y))
    assert set(model.predict(tiny_clf.X)) <= set(y) and model.score(tiny_clf.X, y) > 0.5
    search = MetaSearchCV(family, n_iter=2, cv=2, experience=_without_boost()).fit(tiny_clf.X, y)
    assert search.meta_["out_of_distribution"] and len(search.cv_results_["params"]) == 2

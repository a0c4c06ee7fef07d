"""The scikit-learn interface: FamilyModel and MetaSearchCV."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.model_selection import cross_val_score

from metahpo.datasets import Dataset
from metahpo.errors import DataError
from metahpo.knowledge import Experience
from metahpo.sklearn import FamilyModel, MetaSearchCV
from metahpo.spaces import get_space


def _frame(ds: Dataset) -> tuple[pd.DataFrame, np.ndarray]:
    return ds.X.copy(), ds.y.copy()


def test_family_model_parameters_are_the_space_hyperparameters() -> None:
    model = FamilyModel("rf", n_estimators=20, max_depth=4)
    params = model.get_params()
    assert params == {
        "family": "rf",
        "task": "classification",
        "random_state": 0,
        "n_estimators": 20,
        "max_depth": 4,
    }
    copy = clone(model).set_params(n_estimators=30, task="regression")
    assert copy.get_params()["n_estimators"] == 30 and model.get_params()["n_estimators"] == 20
    assert is_classifier(model) and not is_regressor(model)
    assert is_regressor(copy) and not is_classifier(copy) and not hasattr(copy, "predict_proba")
    with pytest.raises(TypeError, match="taken by the estimator"):
        FamilyModel("knn", predict=1)


def test_family_model_on_a_dirty_frame_keeps_the_callers_labels() -> None:
    rng = np.random.default_rng(0)
    n = 90
    X = pd.DataFrame(
        {
            "num_as_text": [str(v) if i % 9 else "?" for i, v in enumerate(rng.normal(size=n))],
            "colour": rng.choice(["red", "green", None], size=n),
            "flag": rng.choice([True, False], size=n),
            "constant": 1.0,
            "x": rng.normal(size=n),
        }
    )
    y = np.where(X["x"] > 0, 7, 3)
    model = FamilyModel("linear").fit(X, y)
    assert list(model.classes_) == [3, 7]
    pred = model.predict(X)
    assert set(np.unique(pred)) <= {3, 7} and (pred == y).mean() > 0.8
    assert model.predict_proba(X).shape == (n, 2)
    assert 0.8 < model.score(X, y) <= 1.0
    with pytest.raises(DataError, match="lacks the column"):
        model.predict(X.drop(columns=["x"]))


def test_family_model_regression_with_numpy_arrays(tiny_reg: Dataset) -> None:
    X, y = tiny_reg.X.to_numpy(dtype=float), tiny_reg.y
    model = FamilyModel("knn", task="regression", n_neighbors=3).fit(X, y)
    assert model.task_ == "regression" and model.predict(X[:4]).shape == (4,)
    assert model.score(X, y) > 0.3


def test_meta_search_starts_from_the_meta_learned_warm_starts(tiny_clf: Dataset) -> None:
    X, y = _frame(tiny_clf)
    search = MetaSearchCV("knn", n_iter=7, cv=3, warm_start=3, random_state=1).fit(X, y)
    space = get_space("knn", "classification")
    assert len(search.cv_results_["params"]) == 7
    k = search.meta_["warm_start"]  # 3, or fewer when the meta-learner is unsure
    assert 1 <= k <= 3
    first = search.cv_results_["params"][:k]
    assert first == search.study_.sampler.warm_start
    assert space.default_config() in first  # the library default is always among the first k
    assert set(search.best_params_) == set(space.names)
    scores = search.cv_results_["mean_test_score"]
    assert search.best_score_ == pytest.approx(np.nanmax(scores))
    assert [t.value for t in search.study_.trials] == pytest.approx(list(scores))
    assert search.predict(X.iloc[:5]).shape == (5,)
    assert search.score(X, y) == pytest.approx(
        search.best_estimator_.score(X, y)
    )  # balanced accuracy by default


def test_meta_search_with_other_scoring_refit_and_inside_cross_validation(
    tiny_clf: Dataset,
) -> None:
    X, y = _frame(tiny_clf)
    search = MetaSearchCV(
        "linear",
        n_iter=3,
        cv=2,
        scoring={"acc": "accuracy", "bal": "balanced_accuracy"},
        refit="acc",
    ).fit(X, y)
    assert search.best_score_ == pytest.approx(np.max(search.cv_results_["mean_test_acc"]))
    assert search.scoring == {"acc": "accuracy", "bal": "balanced_accuracy"}
    nested = cross_val_score(MetaSearchCV("knn", n_iter=2, cv=2), X, y, cv=2)
    assert nested.shape == (2,) and np.all((nested >= 0) & (nested <= 1))


def test_meta_search_without_experience_evaluates_the_default_first(tiny_reg: Dataset) -> None:
    X, y = _frame(tiny_reg)
    search = MetaSearchCV(
        "knn", n_iter=3, cv=2, task="regression", experience=Experience((), ())
    ).fit(X, y)
    assert search.cv_results_["params"][0] == get_space("knn", "regression").default_config()
    assert search.meta_["warm_start"] == 1 and search.meta_["out_of_distribution"]
    assert search.scoring is None and search.scorer_ is not None


def test_meta_search_errors_are_clear(tiny_clf: Dataset) -> None:
    X, y = _frame(tiny_clf)
    with pytest.raises(Exception, match="unknown model family"):
        MetaSearchCV("nope", n_iter=2).fit(X, y)
    with pytest.raises(DataError, match="rows but y has"):
        MetaSearchCV("knn", n_iter=2).fit(X, y[:-3])


def test_meta_search_records_its_run_as_experience_for_the_next_one(
    tiny_clf: Dataset, sqlite_url: str
) -> None:
    from metahpo.knowledge import KnowledgeStore, from_store

    X, y = _frame(tiny_clf)
    first = MetaSearchCV(
        "knn", n_iter=4, cv=2, storage=sqlite_url, dataset_name="mine", random_state=0
    ).fit(X, y)
    store = KnowledgeStore(sqlite_url)
    [(name, record)] = store.records()
    assert name == first.study_.study_name and record.source == "sklearn"
    assert record.dataset == "mine" and record.metric == "balanced_accuracy"
    assert len(record.metafeatures) > 30
    stored = store.trials(name)
    assert [t.value for t in stored] == pytest.approx(list(first.cv_results_["mean_test_score"]))
    [task] = from_store(store, tuple(record.metafeatures)).tasks
    assert task.family == "knn" and task.n == 4
    # The next search on the same data finds the recorded run as its nearest task.
    second = MetaSearchCV("knn", n_iter=2, cv=2, storage=sqlite_url).fit(X, y)
    nearest, similarity = second.meta_["neighbors"][0]
    assert nearest == "mine" and similarity == pytest.approx(1.0)
    assert len(store.records()) == 2


def _iris_sorted_by_class() -> tuple[pd.DataFrame, pd.Series]:
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True, as_frame=True)
    order = np.argsort(y.to_numpy(), kind="stable")
    return X.iloc[order].reset_index(drop=True), y.iloc[order].reset_index(drop=True)


def test_meta_search_is_a_classifier_so_cross_validation_around_it_is_stratified() -> None:
    # Issue 13: unstratified outer folds on rows sorted by class scored [0, 0, 0].
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _iris_sorted_by_class()
    search = MetaSearchCV("knn", n_iter=3, cv=3)
    scores = cross_val_score(search, X, y, cv=3)
    assert np.all(scores > 0.8), scores
    assert is_classifier(search) and not is_regressor(search)
    pipe = make_pipeline(StandardScaler(), MetaSearchCV("knn", n_iter=3, cv=3))
    assert is_classifier(pipe)
    assert np.all(cross_val_score(pipe, X, y, cv=3) > 0.8)
    # fit leaves the parameters alone; what it resolves ends in an underscore
    before = search.get_params()
    search.fit(X, y)
    assert search.get_params() == before and search.best_score_ > 0.8
    assert is_classifier(search.best_estimator_)


def test_the_task_is_a_parameter_fixed_before_the_data(tiny_reg: Dataset) -> None:
    X, y = _frame(tiny_reg)
    y = y + np.linspace(0.0, 0.5, len(y))  # continuous, not whole numbers
    regressor = MetaSearchCV("knn", task="regression")
    assert is_regressor(regressor) and not is_classifier(regressor)
    assert not hasattr(regressor, "predict_proba")
    assert is_classifier(clone(regressor).set_params(task="classification"))
    with pytest.raises(ValueError, match=r"Unknown label type: continuous.*task='regression'"):
        MetaSearchCV("knn", n_iter=2, cv=2).fit(X, y)
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        FamilyModel("knn").fit(X, y)
    with pytest.raises(ValueError, match="'task' parameter of MetaSearchCV must be a str among"):
        MetaSearchCV("knn", n_iter=2, task="auto").fit(X, y)
    with pytest.raises(ValueError, match="'task' parameter of FamilyModel must be a str among"):
        FamilyModel("knn", task="auto").fit(X, y)


def test_family_model_classes_are_sorted_as_given_and_match_the_probabilities() -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    y = np.where(X["a"] > 0, 10, 2)  # as text, "10" sorts before "2"
    model = FamilyModel("linear").fit(X, y)
    assert list(model.classes_) == [2, 10]
    proba = model.predict_proba(X)
    assert np.array_equal(model.classes_[proba.argmax(axis=1)], model.predict(X))
    assert list(model.feature_names_in_) == ["a", "b"] and model.n_features_in_ == 2

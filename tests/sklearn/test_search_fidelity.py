"""``MetaSearchCV(fidelity=..., timeout=...)``: low fidelities on Optuna's pruner interface
before scikit-learn's ``evaluate_candidates``, and the time budget.

As in tests/tuning/test_fidelity.py, the lowest rung (``MIN_ROWS``, 2,000 training rows per
fold) is lowered to 100 rows, so a synthetic table of 2,000 rows with 3-fold CV (1,333
training rows per fold) has rungs of 100 and 300 rows: the tests stay fast with the real
scheduler. The candidates are forced by enqueuing them in the search's study.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState
from sklearn.model_selection import cross_val_score

import metahpo.sklearn._search as search_module
import metahpo.tuning._fidelity as fidelity_module
from metahpo.datasets import load_dataset
from metahpo.errors import MetaHPOError
from metahpo.sklearn import FamilyModel, MetaSearchCV
from metahpo.sklearn._fidelity import climb as real_climb
from metahpo.tuning import FIDELITY_ATTR
from tests.conftest import DATA

LOW = 100
GOOD = {"C": 1.0, "class_weight": "balanced"}
SECOND = {"C": 0.5, "class_weight": "balanced"}
BAD = {"C": 1e-4, "class_weight": "none"}  # predicts the majority class: balanced acc. 0.5


def synthetic(n: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A noisy, imbalanced two-class table (about 30 % positives) of ``n`` rows."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    signal = X[:, 0] + 0.5 * X[:, 1] ** 2 + rng.normal(scale=0.8, size=n)
    y = np.where(signal > 1.0, "yes", "no").astype(object)
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(6)]), y


class Enqueued(MetaSearchCV):
    """A search whose first candidates are GOOD, SECOND and BAD, in that order."""

    def _study(self, *args: Any) -> optuna.Study:
        study = super()._study(*args)
        for config in (GOOD, SECOND, BAD):
            study.enqueue_trial(config)
        return study


@pytest.fixture()
def low_rungs(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(fidelity_module, "MIN_ROWS", LOW)
    return LOW


def _results(search: MetaSearchCV) -> tuple[list[dict[str, Any]], list[float]]:
    return search.cv_results_["params"], [float(v) for v in search.cv_results_["mean_test_score"]]


def test_a_weak_candidate_stops_at_a_low_rung_and_only_full_rows_reach_cv_results(
    low_rungs: int,
) -> None:
    X, y = synthetic()
    search = Enqueued("linear", n_iter=3, cv=3, warm_start=0).fit(X, y)
    trials = search.study_.trials
    # the first went straight to full rows; the second climbed both rungs (alone at each)
    assert trials[0].state == TrialState.COMPLETE and list(trials[0].intermediate_values) == [1333]
    assert trials[1].state == TrialState.COMPLETE
    assert sorted(trials[1].intermediate_values) == [low_rungs, 3 * low_rungs, 1333]
    # the weak one stopped at the lowest rung, says so, and never reached cv_results_
    assert trials[2].state == TrialState.PRUNED and trials[2].params == BAD
    assert trials[2].intermediate_values == {low_rungs: 0.5}
    assert trials[2].user_attrs[FIDELITY_ATTR] == {"train_rows": 100, "folds": 3, "of_folds": 3}
    params, scores = _results(search)
    assert len(params) == 3 and BAD not in params and params[:2] == [GOOD, SECOND]
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert [t.params for t in complete] == params
    assert [t.value for t in complete] == pytest.approx(scores)
    assert search.meta_["fidelity"] == "rungs 100, 300 of 1333 training rows per fold"
    assert search.meta_["stopped_early"] == {"100 rows": 1}
    assert search.meta_["stopped"] == "n_iter"
    # best_score_ is a cross-validation of every training row, as scikit-learn computes it
    full = cross_val_score(FamilyModel("linear", **search.best_params_), X, y, cv=3).mean()
    assert search.best_score_ == pytest.approx(full) == pytest.approx(max(scores))
    assert search.best_params_ in params


def test_low_fidelities_score_with_the_searchs_own_metric(low_rungs: int) -> None:
    X, y = synthetic()
    scoring = {"acc": "accuracy", "bal": "balanced_accuracy"}
    search = Enqueued("linear", n_iter=3, cv=3, scoring=scoring, refit="acc").fit(X, y)
    bad = search.study_.trials[2]
    # the majority class is about 70 % of the rows: its accuracy, not balanced accuracy (0.5)
    assert bad.params == BAD and 0.6 < bad.intermediate_values[low_rungs] < 0.8
    second = search.study_.trials[1]
    assert second.params == SECOND and second.value == search.cv_results_["mean_test_acc"][1]


def test_no_rungs_on_small_data_and_fidelity_none_are_the_search_as_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    X, y = synthetic()
    before = MetaSearchCV("knn", n_iter=3, cv=3, random_state=2).fit(X, y)  # 1,333 < 3 * 2000
    assert before.meta_["fidelity"] is None and before.meta_["stopped_early"] == {}
    monkeypatch.setattr(fidelity_module, "MIN_ROWS", LOW)
    none = MetaSearchCV("knn", n_iter=3, cv=3, random_state=2, fidelity="none").fit(X, y)
    assert _results(none) == _results(before) and len(none.study_.trials) == 3
    assert none.meta_["fidelity"] is None
    vehicle = load_dataset(DATA / "vehicle")  # 846 rows: no rungs with the real lowest rung
    monkeypatch.undo()
    runs = [
        MetaSearchCV("knn", n_iter=2, cv=3, random_state=3, fidelity=f).fit(vehicle.X, vehicle.y)
        for f in ("auto", "none")
    ]
    assert _results(runs[0]) == _results(runs[1])


def test_the_timeout_stops_the_search_after_at_least_one_candidate(tiny_clf: Any) -> None:
    X, y = tiny_clf.X, tiny_clf.y
    search = MetaSearchCV("knn", n_iter=None, timeout=1e-6, cv=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 1 and search.meta_["stopped"] == "timeout"
    assert np.isfinite(search.best_score_) and search.predict(X.iloc[:3]).shape == (3,)
    timed = MetaSearchCV("knn", n_iter=2, timeout=600, cv=2).fit(X, y)
    assert len(timed.cv_results_["params"]) == 2 and timed.meta_["stopped"] == "n_iter"


def test_a_climbing_candidate_stops_at_a_rung_once_the_timeout_has_passed(
    low_rungs: int, monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    def climb(trial: optuna.Trial, rungs: Any, deadline: float | None) -> bool:
        # the timeout has passed for the second candidate only
        return real_climb(trial, rungs, 0.0 if trial.number == 1 else deadline)

    monkeypatch.setattr(search_module, "climb", climb)
    X, y = synthetic()
    search = Enqueued("linear", n_iter=2, cv=3, timeout=600, storage=sqlite_url).fit(X, y)
    trials = search.study_.trials
    assert trials[1].state == TrialState.PRUNED and trials[1].intermediate_values == {}
    assert trials[1].user_attrs[FIDELITY_ATTR]["deadline"] is True
    assert search.meta_["stopped_early"] == {"the timeout": 1}
    assert search.cv_results_["params"] == [GOOD, BAD] and search.meta_["stopped"] == "n_iter"
    assert isinstance(search.study_.pruner, optuna.pruners.SuccessiveHalvingPruner)


def test_n_iter_none_needs_a_timeout_and_the_new_parameters_are_checked(tiny_clf: Any) -> None:
    X, y = tiny_clf.X, tiny_clf.y
    with pytest.raises(MetaHPOError, match="'n_iter' parameter of MetaSearchCV may be None"):
        MetaSearchCV("knn", n_iter=None).fit(X, y)
    with pytest.raises(ValueError, match="'timeout' parameter of MetaSearchCV must be"):
        MetaSearchCV("knn", timeout=0).fit(X, y)
    with pytest.raises(TypeError, match="'timeout' parameter of MetaSearchCV must be a float"):
        MetaSearchCV("knn", timeout=True).fit(X, y)
    with pytest.raises(ValueError, match="'fidelity' parameter of MetaSearchCV must be a str"):
        MetaSearchCV("knn", fidelity="low").fit(X, y)

from __future__ import annotations

import math

import numpy as np
import pytest

from metahpo.datasets import Dataset
from metahpo.errors import MetaHPOError
from metahpo.evaluation import BUILD_METRICS, evaluate, get_metric, make_folds
from metahpo.spaces import FAMILY_NAMES, get_space
from tests.conftest import require_family


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_every_family_evaluates_on_both_tasks(
    family: str, tiny_clf: Dataset, tiny_reg: Dataset
) -> None:
    require_family(family)
    for ds in (tiny_clf, tiny_reg):
        config = get_space(family, ds.task).default_config()
        ev = evaluate(ds, family, config, folds=3, extra_metrics=BUILD_METRICS[ds.task])
        assert ev.ok, ev.error
        assert len(ev.fold_values) == 3
        assert ev.value == pytest.approx(np.mean(ev.fold_values))
        assert set(BUILD_METRICS[ds.task]) <= set(ev.metrics)
        assert ev.fit_time > 0
        if ds.task == "classification":
            assert 0 <= ev.value <= 1
            assert 0.5 <= ev.metrics["roc_auc"] <= 1


def test_evaluation_is_deterministic(tiny_clf: Dataset) -> None:
    config = get_space("rf", "classification").default_config()
    a = evaluate(tiny_clf, "rf", config, folds=3, seed=4)
    b = evaluate(tiny_clf, "rf", config, folds=3, seed=4)
    assert a.fold_values == b.fold_values


def test_folds_are_stratified_and_seeded(tiny_clf: Dataset) -> None:
    folds = make_folds(tiny_clf, 3, seed=0)
    assert [list(t) for _, t in folds] == [list(t) for _, t in make_folds(tiny_clf, 3, seed=0)]
    covered = np.sort(np.concatenate([t for _, t in folds]))
    assert np.array_equal(covered, np.arange(tiny_clf.n_rows))
    with pytest.raises(MetaHPOError, match="at least as many rows"):
        make_folds(tiny_clf.subsample(4), 5)


def test_failing_configuration_is_a_failed_evaluation_not_a_crash(tiny_clf: Dataset) -> None:
    # one fold whose training part has a single class makes every classifier raise
    single = np.flatnonzero(tiny_clf.y == tiny_clf.y[0])
    others = np.flatnonzero(tiny_clf.y != tiny_clf.y[0])
    folds = [(single, others)]
    ev = evaluate(
        tiny_clf, "linear", get_space("linear", "classification").default_config(), folds=folds
    )
    assert not ev.ok
    assert ev.error and "ValueError" in ev.error
    assert math.isnan(ev.value)


def test_time_limit_fails_slow_configurations(tiny_clf: Dataset) -> None:
    config = get_space("rf", "classification").default_config() | {"n_estimators": 512}
    ev = evaluate(tiny_clf, "rf", config, folds=3, time_limit=1e-4)
    assert not ev.ok and "time limit" in (ev.error or "")


def test_metrics_directions_and_errors() -> None:
    assert get_metric(None, "classification").name == "balanced_accuracy"
    assert get_metric(None, "regression").name == "r2"
    assert get_metric("rmse", "regression").direction == "minimize"
    with pytest.raises(MetaHPOError, match="is for regression"):
        get_metric("rmse", "classification")
    with pytest.raises(MetaHPOError, match="unknown metric"):
        get_metric("nope", "regression")


def test_log_loss_uses_probabilities_for_svm(tiny_clf: Dataset) -> None:
    config = get_space("svm", "classification").default_config()
    ev = evaluate(tiny_clf, "svm", config, metric="log_loss", folds=3)
    assert ev.ok and ev.value > 0

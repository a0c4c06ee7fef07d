"""Low-fidelity evaluation: nested stratified row subsamples, holdout, early stop after folds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metahpo.datasets import Dataset
from metahpo.errors import MetaHPOError
from metahpo.evaluation import (
    cannot_beat,
    evaluate,
    make_folds,
    make_holdout,
    paired_spread,
    subsample_rows,
)
from metahpo.spaces import get_space


@settings(max_examples=40, deadline=None)
@given(
    n_rows=st.integers(5, 300),
    n_classes=st.integers(1, 6),
    seed=st.integers(0, 1000),
    a=st.integers(1, 300),
    b=st.integers(1, 300),
)
def test_subsamples_are_nested_stratified_and_seeded(
    n_rows: int, n_classes: int, seed: int, a: int, b: int
) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, size=2 * n_rows)
    rows = np.sort(rng.choice(2 * n_rows, size=n_rows, replace=False))
    small, large = sorted((a, b))
    s = subsample_rows(rows, small, seed=seed, y=y)
    t = subsample_rows(rows, large, seed=seed, y=y)
    assert len(s) == min(small, n_rows) and len(t) == min(large, n_rows)
    assert set(s) <= set(t) <= set(rows)  # nested, and only the rows given
    assert np.array_equal(s, subsample_rows(rows, small, seed=seed, y=y))
    present = np.unique(y[rows])
    if small >= len(present):  # every class of the rows is in the subsample
        assert set(np.unique(y[s])) == set(present)


def test_subsample_keeps_class_shares() -> None:
    y = np.array([0] * 900 + [1] * 100)
    s = subsample_rows(np.arange(1000), 200, seed=3, y=y)
    assert abs(int((y[s] == 1).sum()) - 20) <= 1
    plain = subsample_rows(np.arange(1000), 200, seed=3)
    assert len(plain) == 200 and not np.array_equal(plain, s)
    with pytest.raises(MetaHPOError, match="at least one row"):
        subsample_rows(np.arange(10), 0)


def test_holdout_is_one_stratified_seeded_split(tiny_clf: Dataset, tiny_reg: Dataset) -> None:
    [(train, test)] = make_holdout(tiny_clf, 0.25, seed=1)
    assert len(test) == math.ceil(tiny_clf.n_rows * 0.25)
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(tiny_clf.n_rows))
    assert set(np.unique(tiny_clf.y[test])) == set(np.unique(tiny_clf.y))
    [(train2, _)] = make_holdout(tiny_clf, 0.25, seed=1)
    assert np.array_equal(train, train2)
    assert len(make_holdout(tiny_reg, 0.5)[0][1]) == math.ceil(tiny_reg.n_rows / 2)
    with pytest.raises(MetaHPOError, match="test_fraction"):
        make_holdout(tiny_clf, 1.0)


def test_evaluate_on_a_row_subsample_fits_fewer_rows(tiny_clf: Dataset) -> None:
    config = get_space("knn", "classification").default_config()
    folds = make_folds(tiny_clf, 3, seed=0)
    full = evaluate(tiny_clf, "knn", config, folds=folds)
    low = evaluate(tiny_clf, "knn", config, folds=folds, train_rows=20)
    again = evaluate(tiny_clf, "knn", config, folds=folds, train_rows=20)
    assert full.ok and low.ok and low.train_rows == 20 and full.train_rows is None
    assert low.fold_values == again.fold_values  # seeded
    assert low.fold_values != full.fold_values
    # as many rows as the folds hold: exactly the full evaluation
    big = evaluate(tiny_clf, "knn", config, folds=folds, train_rows=tiny_clf.n_rows)
    assert big.fold_values == full.fold_values


def test_on_fold_stops_an_evaluation_which_is_then_not_ok(tiny_clf: Dataset) -> None:
    config = get_space("knn", "classification").default_config()
    seen: list[tuple[int, tuple[float, ...]]] = []

    def stop_after_two(i: int, values: tuple[float, ...]) -> bool:
        seen.append((i, values))
        return i == 1

    ev = evaluate(tiny_clf, "knn", config, folds=4, on_fold=stop_after_two)
    assert ev.stopped and not ev.ok and ev.error is None
    assert [i for i, _ in seen] == [0, 1] and len(ev.fold_values) == 2
    assert ev.value == pytest.approx(np.mean(ev.fold_values))
    never = evaluate(tiny_clf, "knn", config, folds=4, on_fold=lambda i, v: False)
    assert never.ok and not never.stopped and len(never.fold_values) == 4
    # the callback is not asked after the last fold: nothing is left to save
    last = evaluate(tiny_clf, "knn", config, folds=2, on_fold=lambda i, v: True)
    assert last.stopped and len(last.fold_values) == 1


def test_cannot_beat_stops_only_a_clearly_worse_configuration() -> None:
    inc = [0.90, 0.92, 0.88, 0.91, 0.89]
    assert cannot_beat([0.60], inc, spread=0.02)  # 0.30 below with fold noise 0.02
    assert not cannot_beat([0.89], inc, spread=0.02)  # within noise
    assert not cannot_beat([0.60], inc, spread=0.2)  # noisy folds: no verdict yet
    assert not cannot_beat(inc, inc, spread=0.02)  # every fold ran
    assert not cannot_beat([], inc, spread=0.02)
    # minimising (an error): larger is worse
    assert cannot_beat([0.5], [0.1, 0.1, 0.1], maximize=False, spread=0.02)
    assert not cannot_beat([0.5], [0.1, 0.1, 0.1], maximize=True, spread=0.02)
    # more folds run: a smaller gap suffices
    gap = [x - 0.03 for x in inc]
    assert not cannot_beat(gap[:1], inc, spread=0.02)
    assert cannot_beat(gap[:4], inc, spread=0.02)


def test_paired_spread_pools_earlier_configurations() -> None:
    inc = [0.9, 0.8, 0.85]
    same_shift = [[0.8, 0.7, 0.75]]  # differences constant: no noise, floor
    assert paired_spread(same_shift, inc) == pytest.approx(1e-3)
    noisy = [[0.95, 0.7, 0.85], [0.8, 0.85, 0.8]]
    expected = np.sqrt(
        np.median([np.var([0.05, -0.1, 0.0], ddof=1), np.var([-0.1, 0.05, -0.05], ddof=1)])
    )
    assert paired_spread(noisy, inc) == pytest.approx(expected)
    alone = paired_spread([], inc)
    assert alone == pytest.approx(np.std(inc, ddof=1) * np.sqrt(2))

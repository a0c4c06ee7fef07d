"""Cost-aware proposals under a deadline: expected improvement per second, cooled to plain
expected improvement at the deadline."""

from __future__ import annotations

import pickle
import time

import numpy as np
import pytest

from metahpo.datasets import Dataset
from metahpo.optimizers import TimeCost
from metahpo.optimizers._rgpe import RankingWeightedEnsemble
from metahpo.spaces import get_space

SPACE = get_space("svm", "regression")  # C, gamma_scale, epsilon: three numeric parameters


def _by_first(X: np.ndarray) -> np.ndarray:
    """A cost that grows 100-fold along the first coordinate (C, say)."""
    return np.log(100.0) * np.asarray(X)[:, 0]


def test_alpha_falls_from_one_to_zero_over_the_run() -> None:
    now = 1000.0
    cost = TimeCost(_by_first, ends=now + 60.0, span=60.0)
    assert cost.alpha(now) == 1.0
    assert cost.alpha(now + 45.0) == 0.25
    assert cost.alpha(now + 90.0) == 0.0
    assert TimeCost(_by_first, ends=now, span=0.0).alpha(now - 1) == 0.0


def test_per_second_divides_by_the_cost_ratio_while_time_is_left() -> None:
    X = np.array([[0.0, 0.5, 0.5], [1.0, 0.5, 0.5]])
    ei = np.array([1.0, 1.0])
    fresh = TimeCost(_by_first, ends=time.time() + 3600.0, span=3600.0)
    assert np.allclose(fresh.per_second(ei, X), [1.0, 0.01], rtol=1e-3)
    spent = TimeCost(_by_first, ends=time.time() - 1.0, span=3600.0)
    assert spent.per_second(ei, X).tolist() == [1.0, 1.0]  # at the deadline: plain EI
    broken = TimeCost(lambda X: np.full(len(X), np.nan), ends=time.time() + 60, span=60.0)
    assert broken.per_second(ei, X).tolist() == [1.0, 1.0]  # unpriced: plain EI


def _task(optimum: np.ndarray, seed: int, n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.asarray([SPACE.encode(SPACE.from_unit(u)) for u in rng.random((n, SPACE.dim))])
    return X, -((X - optimum) ** 2).sum(axis=1)


def _proposals(cost: TimeCost | None) -> np.ndarray:
    """The 20 best candidates after 6 results of a smooth objective, with no past task:
    expected improvement is broad, so cost can reorder it."""
    optimum = np.array([0.5, 0.4, 0.3])
    model = RankingWeightedEnsemble(SPACE, [], seed=0, cost=cost)
    X, y = _task(optimum, 7, n=6)
    return model.rank(X, y, 20)


def test_with_time_left_the_cheaper_candidates_rank_first() -> None:
    plain = _proposals(None)
    cheap = _proposals(TimeCost(_by_first, ends=time.time() + 3600.0, span=3600.0))
    cooled = _proposals(TimeCost(_by_first, ends=time.time() - 1.0, span=3600.0))
    assert cheap[:10, 0].mean() < plain[:10, 0].mean() - 0.1
    assert np.array_equal(cooled, plain)  # at the deadline, exactly expected improvement


def test_time_cost_prices_a_family_on_a_dataset_and_none_without_timings(
    tiny_clf: Dataset,
) -> None:
    from metahpo.optimizers import time_cost

    cost = time_cost(tiny_clf, "hgb", 60.0)
    assert cost is not None and cost.span == 60.0 and 0.99 < cost.alpha() <= 1.0
    space = get_space("hgb", "classification")
    configs = [{**space.default_config(), "max_iter": n} for n in (20, 500)]
    seconds = cost.log_seconds(np.vstack([space.encode(c) for c in configs]))
    assert seconds[1] > seconds[0]
    assert time_cost(tiny_clf, "knn-missing", 60.0) is None  # no such family: no timings
    again = pickle.loads(pickle.dumps(cost))  # a fitted search holding it can be pickled
    assert np.array_equal(again.log_seconds(np.vstack([space.encode(configs[0])])), seconds[:1])


def test_meta_sampler_for_and_meta_search_cv_take_the_cost_with_a_timeout(
    tiny_clf: Dataset,
) -> None:
    from metahpo.sklearn import MetaSearchCV
    from metahpo.tuning import meta_sampler_for

    timed = meta_sampler_for(tiny_clf, "hgb", timeout=120.0).sampler.base_sampler
    plain = meta_sampler_for(tiny_clf, "hgb").sampler.base_sampler
    assert timed.model.cost is not None and timed.model.cost.span == 120.0  # type: ignore[attr-defined]
    assert plain.model.cost is None  # type: ignore[attr-defined]
    search = MetaSearchCV("hgb", n_iter=2, timeout=300.0, cv=2, random_state=0)
    search.fit(tiny_clf.X, tiny_clf.y)
    cost = search.study_.sampler.base_sampler.model.cost  # type: ignore[attr-defined]
    assert cost.span == 300.0 and cost.full_log_seconds.fits == 2  # its 2-fold CV, priced
    assert pickle.loads(pickle.dumps(search)).best_params_ == search.best_params_


def _seconds(X: np.ndarray) -> np.ndarray:
    """Test prices: each encoded row's first coordinate is its seconds."""
    return np.log(np.asarray(X)[:, 0])


def test_the_low_cost_start_is_the_best_ranked_candidate_that_fits_a_tenth_of_the_run() -> None:
    from metahpo.optimizers._time_cost import FIRST_SHARE, low_cost_first

    cost = TimeCost(_by_first, ends=time.time() + 60.0, span=60.0, full_log_seconds=_seconds)
    assert FIRST_SHARE * cost.span == pytest.approx(6.0)

    def first(*seconds: float) -> int:
        return low_cost_first(np.array([[s, 0.0] for s in seconds]), cost)

    assert first(3.0, 1.0, 0.5) == 0  # the planned first fits: it stays first
    assert first(20.0, 10.0, 5.0, 2.0) == 2  # the best-ranked that fits, not the cheapest
    assert first(20.0, 10.0, 8.0) == 2  # none fits: the cheapest
    assert first(20.0, 30.0) == 0  # none cheaper than the planned first
    unknown = TimeCost(_by_first, ends=time.time() + 60.0, span=60.0)
    assert low_cost_first(np.array([[20.0, 0.0], [1.0, 0.0]]), unknown) == 0
    assert low_cost_first(np.array([[20.0, 0.0], [1.0, 0.0]]), None) == 0
    broken = TimeCost(_by_first, time.time() + 60.0, 60.0, lambda X: np.full(len(X), np.nan))
    assert low_cost_first(np.array([[20.0, 0.0], [1.0, 0.0]]), broken) == 0


def test_a_meta_sampler_under_a_timeout_starts_with_a_configuration_it_can_afford() -> None:
    """Every warm start priced at 100 s of a 60-s run but for one of the meta-learner's other
    suggestions, priced at 1 s: that one goes first, and every planned warm start follows in
    its order (the library default among them)."""
    from metahpo.optimizers import make_meta_sampler
    from metahpo.spaces import same_config
    from metahpo.testing import KNN, knn_experience

    experience = knn_experience(np.linspace(-1.0, 1.0, 12), m1s=0.05 * np.sin(np.arange(12)))
    mf = experience.tasks[3].metafeatures
    plain = make_meta_sampler(mf, "knn", "classification", experience=experience, n_warm_start=3)
    warm = plain.sampler.warm_start
    extra = [KNN.transfer(s.params)[0] for s in plain.suggestions]
    cheap = next(c for c in extra if not any(same_config(c, w) for w in warm))
    target = KNN.encode(cheap)

    def priced(X: np.ndarray) -> np.ndarray:
        hit = np.abs(np.asarray(X) - target[None, :]).max(axis=1) < 1e-9
        return np.where(hit, np.log(1.0), np.log(100.0))

    cost = TimeCost(_by_first, time.time() + 60.0, 60.0, full_log_seconds=priced)
    timed = make_meta_sampler(
        mf, "knn", "classification", experience=experience, n_warm_start=3, cost=cost
    ).sampler.warm_start
    assert same_config(timed[0], cheap)
    assert len(timed) == len(warm) + 1
    assert all(same_config(a, b) for a, b in zip(timed[1:], warm, strict=True))
    assert any(same_config(w, KNN.default_config()) for w in timed)
    fits = TimeCost(_by_first, time.time() + 60.0, 60.0, lambda X: np.zeros(len(X)))
    again = make_meta_sampler(
        mf, "knn", "classification", experience=experience, n_warm_start=3, cost=fits
    ).sampler.warm_start
    assert all(same_config(a, b) for a, b in zip(again, warm, strict=True))

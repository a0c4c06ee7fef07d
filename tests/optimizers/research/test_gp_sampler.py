"""GPEISampler: Optuna's sampler contract, optimisation quality and edge cases."""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.testing.pytest_samplers import (
    BasicSamplerTestCase,
    RelativeSamplerTestCase,
    SingleOnlySamplerTestCase,
)
from optuna.trial import Trial, TrialState

from metahpo.optimizers.research import GPEISampler

optuna.logging.set_verbosity(optuna.logging.WARNING)

OPTIMUM = (1.0, -2.0)


def quadratic(params: dict[str, Any]) -> float:
    return (params["x"] - OPTIMUM[0]) ** 2 + (params["y"] - OPTIMUM[1]) ** 2


def quadratic_objective(trial: Trial) -> float:
    return quadratic({"x": trial.suggest_float("x", -5, 5), "y": trial.suggest_float("y", -5, 5)})


def relative_sample(study: optuna.Study) -> dict[str, Any]:
    """One relative sample for a fresh trial, as Optuna would request it."""
    trial_id = study._storage.create_new_trial(study._study_id)
    trial = study._storage.get_trial(trial_id)
    space = study.sampler.infer_relative_search_space(study, trial)
    return study.sampler.sample_relative(study, trial, space)


# Optuna's own sampler contract suites (optuna.testing.pytest_samplers).
class TestBasicContract(BasicSamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], GPEISampler]:
        return lambda: GPEISampler(seed=0, n_startup_trials=2)


class TestRelativeContract(RelativeSamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], GPEISampler]:
        return lambda: GPEISampler(seed=0, n_startup_trials=1)


class TestSingleObjectiveOnlyContract(SingleOnlySamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], GPEISampler]:
        return lambda: GPEISampler(seed=0)


def test_beats_random_search_on_a_quadratic() -> None:
    gp_best, random_best = [], []
    for seed in range(3):
        gp = optuna.create_study(sampler=GPEISampler(seed=seed))
        gp.optimize(quadratic_objective, n_trials=30)
        rs = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
        rs.optimize(quadratic_objective, n_trials=30)
        gp_best.append(gp.best_value)
        random_best.append(rs.best_value)
    # Random search ends ~1 above the optimum with 30 trials, the GP ~1e-5 above it.
    assert np.mean(gp_best) < 0.01 * np.mean(random_best)
    assert max(gp_best) < 0.01


def test_maximize_direction() -> None:
    study = optuna.create_study(direction="maximize", sampler=GPEISampler(seed=0))
    study.optimize(lambda t: -quadratic_objective(t), n_trials=25)
    assert study.best_value > -0.05
    # The GP trials climb: they are much better than the random startup trials.
    values = [t.value for t in study.trials]
    assert np.median(values[10:]) > np.max(values[:10])


def test_minimize_direction_after_startup_concentrates_near_optimum() -> None:
    study = optuna.create_study(sampler=GPEISampler(seed=1))
    study.optimize(quadratic_objective, n_trials=25)
    last = study.trials[-5:]
    assert all(quadratic(t.params) < 1.0 for t in last)


def test_mixed_categorical_int_and_log_parameters() -> None:
    def objective(trial: Trial) -> float:
        kind = trial.suggest_categorical("kind", ["bad", "good", "worse"])
        n = trial.suggest_int("n", 1, 256, log=True)
        lr = trial.suggest_float("lr", 1e-5, 1.0, log=True)
        k = trial.suggest_int("k", 0, 10, step=2)
        penalty = {"bad": 2.0, "good": 0.0, "worse": 4.0}[kind]
        return penalty + (math.log2(n) - 4) ** 2 / 16 + (math.log10(lr) + 3) ** 2 / 4 + k / 10

    study = optuna.create_study(sampler=GPEISampler(seed=0))
    study.optimize(objective, n_trials=30)
    for trial in study.trials:
        assert trial.params["kind"] in ("bad", "good", "worse")
        assert isinstance(trial.params["n"], int) and 1 <= trial.params["n"] <= 256
        assert isinstance(trial.params["k"], int) and trial.params["k"] in range(0, 11, 2)
        assert isinstance(trial.params["lr"], float) and 1e-5 <= trial.params["lr"] <= 1.0
    gp_trials = study.trials[10:]
    assert sum(t.params["kind"] == "good" for t in gp_trials) >= 0.6 * len(gp_trials)
    assert study.best_params["kind"] == "good"
    assert study.best_value < 0.5


def test_same_seed_same_trials_and_other_seed_other_trials() -> None:
    def run(seed: int) -> list[dict[str, Any]]:
        study = optuna.create_study(sampler=GPEISampler(seed=seed, n_startup_trials=4))
        study.optimize(quadratic_objective, n_trials=8)
        return [t.params for t in study.trials]

    assert run(3) == run(3)
    assert run(3)[4:] != run(4)[4:]


def test_reseed_rng_changes_the_stream() -> None:
    def study_with(sampler: GPEISampler) -> optuna.Study:
        study = optuna.create_study(sampler=sampler)
        for x in (-4.0, -1.0, 2.0, 4.0):
            study.enqueue_trial({"x": x, "y": 0.0})
        study.optimize(quadratic_objective, n_trials=4)
        return study

    reseeded = GPEISampler(seed=0, n_startup_trials=1)
    reseeded.reseed_rng()
    assert relative_sample(study_with(GPEISampler(seed=0, n_startup_trials=1))) == relative_sample(
        study_with(GPEISampler(seed=0, n_startup_trials=1))
    )
    assert relative_sample(study_with(reseeded)) != relative_sample(
        study_with(GPEISampler(seed=0, n_startup_trials=1))
    )


def test_exact_prior_mean_makes_the_first_model_trial_near_optimal() -> None:
    prior_calls: list[int] = []

    def prior(params: list[dict[str, Any]]) -> np.ndarray:
        prior_calls.append(len(params))
        return np.array([quadratic(p) for p in params])

    study = optuna.create_study(sampler=GPEISampler(seed=0, prior_mean=prior))
    study.optimize(quadratic_objective, n_trials=2)
    # Trial 0 has no known search space yet; with a prior, no further startup trials are used.
    assert prior_calls
    assert study.trials[1].value < 0.01
    assert study.trials[1].value < 0.01 * study.trials[0].value


def test_an_exact_prior_mean_stays_trusted_after_many_trials() -> None:
    # Values in [0, 0.5]: exact-prior residuals are constant, and the GP must not turn that
    # into unit-sized uncertainty that drowns the prior.
    def scaled(params: dict[str, Any]) -> float:
        return quadratic(params) / 100

    study = optuna.create_study(
        sampler=GPEISampler(seed=0, prior_mean=lambda ps: np.array([scaled(p) for p in ps]))
    )
    distributions = {"x": FloatDistribution(-5, 5), "y": FloatDistribution(-5, 5)}
    for x, y in np.random.default_rng(0).uniform(-5, 5, size=(20, 2)):
        params = {"x": float(x), "y": float(y)}
        study.add_trial(
            optuna.trial.create_trial(
                params=params, distributions=distributions, value=scaled(params)
            )
        )
    assert quadratic(relative_sample(study)) < 1e-3


def test_a_wrong_prior_mean_is_corrected_by_the_gp() -> None:
    # The prior is shifted by a constant and believes the optimum is elsewhere: the GP
    # residual must pull the search back to the true optimum.
    def wrong_prior(params: list[dict[str, Any]]) -> np.ndarray:
        return np.array([0.2 * ((p["x"] + 3) ** 2 + (p["y"] - 3) ** 2) + 5 for p in params])

    study = optuna.create_study(sampler=GPEISampler(seed=0, prior_mean=wrong_prior))
    study.optimize(quadratic_objective, n_trials=30)
    assert study.best_value < 0.2


def test_prior_mean_with_wrong_shape_raises() -> None:
    study = optuna.create_study(
        sampler=GPEISampler(seed=0, prior_mean=lambda params: np.zeros(len(params) + 1))
    )
    study.optimize(quadratic_objective, n_trials=1)
    with pytest.raises(ValueError, match="prior_mean must return"):
        study.optimize(quadratic_objective, n_trials=1, catch=())


def test_sqlite_storage_and_resuming_with_a_new_sampler(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'gp.db'}"
    study = optuna.create_study(
        study_name="gp", storage=storage, sampler=GPEISampler(seed=0, n_startup_trials=4)
    )
    study.optimize(quadratic_objective, n_trials=6)
    resumed = optuna.load_study(
        study_name="gp", storage=storage, sampler=GPEISampler(seed=1, n_startup_trials=4)
    )
    assert relative_sample(resumed).keys() == {"x", "y"}
    resumed.optimize(quadratic_objective, n_trials=4)
    assert len(resumed.trials) == 11  # 10 evaluated plus the one created by relative_sample
    assert resumed.best_value < min(t.value for t in resumed.trials[:4])


def test_failed_and_pruned_trials_are_ignored() -> None:
    study = optuna.create_study(sampler=GPEISampler(seed=0, n_startup_trials=3))
    for x in (-4.0, 0.0, 3.0):
        study.add_trial(
            optuna.trial.create_trial(
                params={"x": x, "y": 0.0},
                distributions={"x": FloatDistribution(-5, 5), "y": FloatDistribution(-5, 5)},
                value=quadratic({"x": x, "y": 0.0}),
            )
        )
    # Failed and pruned trials have no value: using them would crash the fit.
    for state in (TrialState.FAIL, TrialState.PRUNED):
        trial = study.ask({"x": FloatDistribution(-5, 5), "y": FloatDistribution(-5, 5)})
        study.tell(trial, state=state)
    params = relative_sample(study)
    assert params.keys() == {"x", "y"}

    # With only two completed trials, the startup phase is not over.
    fresh = optuna.create_study(sampler=GPEISampler(seed=0, n_startup_trials=3))
    fresh.optimize(quadratic_objective, n_trials=2)
    fresh.optimize(lambda t: quadratic_objective(t) / 0.0, n_trials=2, catch=(ZeroDivisionError,))
    assert relative_sample(fresh) == {}


def test_duplicates_constant_values_and_a_single_trial() -> None:
    distributions = {"x": FloatDistribution(-5, 5), "n": IntDistribution(1, 4)}
    study = optuna.create_study(sampler=GPEISampler(seed=0, n_startup_trials=1))
    study.add_trial(
        optuna.trial.create_trial(params={"x": 0.5, "n": 2}, distributions=distributions, value=1)
    )
    single = relative_sample(study)
    assert -5 <= single["x"] <= 5 and single["n"] in range(1, 5)
    for _ in range(6):  # duplicated points, all with the same value
        study.add_trial(
            optuna.trial.create_trial(
                params={"x": 0.5, "n": 2}, distributions=distributions, value=1
            )
        )
    duplicated = relative_sample(study)
    assert -5 <= duplicated["x"] <= 5 and duplicated["n"] in range(1, 5)
    assert duplicated != {"x": 0.5, "n": 2}


def test_infinite_values_are_clipped() -> None:
    def objective(trial: Trial) -> float:
        value = quadratic_objective(trial)
        return math.inf if value > 30 else value

    study = optuna.create_study(sampler=GPEISampler(seed=0, n_startup_trials=5))
    study.optimize(objective, n_trials=12)
    assert study.best_value < 5


def test_conditional_parameters_go_to_the_independent_sampler() -> None:
    def objective(trial: Trial) -> float:
        x = trial.suggest_float("x", -5, 5)
        if trial.suggest_categorical("branch", ["a", "b"]) == "a":
            return (x - 1) ** 2 + trial.suggest_float("a", 0, 1)
        return (x - 1) ** 2 + trial.suggest_int("b", 1, 3)

    sampler = GPEISampler(seed=0, n_startup_trials=4)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=12)
    assert study.best_value < 1.5
    trial = study._storage.get_trial(study._storage.create_new_trial(study._study_id))
    space = sampler.infer_relative_search_space(study, trial)
    assert space == {
        "branch": CategoricalDistribution(["a", "b"]),
        "x": FloatDistribution(-5, 5),
    }


def test_multi_objective_study_raises_a_clear_error() -> None:
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=GPEISampler(seed=0))
    with pytest.raises(ValueError, match="single-objective studies only"):
        study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1.0), n_trials=1, catch=())


def test_log_expected_improvement_is_exact_and_stable_far_below_the_best() -> None:
    from scipy.stats import norm

    from metahpo.optimizers.research._gp import _log_h

    u = np.linspace(-8.0, 5.0, 131)
    np.testing.assert_allclose(_log_h(u), np.log(norm.pdf(u) + u * norm.cdf(u)), rtol=1e-9)
    far = -np.logspace(1, 8, 50)
    values = _log_h(far)
    assert np.all(np.isfinite(values)) and np.all(np.diff(values) < 0)


def test_negative_n_startup_trials_raises() -> None:
    with pytest.raises(ValueError, match="n_startup_trials"):
        GPEISampler(n_startup_trials=-1)


def test_works_without_importing_torch() -> None:
    code = (
        "import sys, optuna\n"
        "optuna.logging.set_verbosity(optuna.logging.WARNING)\n"
        "from metahpo.optimizers.research import GPEISampler\n"
        "s = optuna.create_study(sampler=GPEISampler(seed=0, n_startup_trials=2))\n"
        "s.optimize(lambda t: t.suggest_float('x', 0, 1) ** 2, n_trials=4)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr

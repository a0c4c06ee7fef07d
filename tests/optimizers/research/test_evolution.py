"""SeededEvolutionSampler: evolutionary search bred from similar tasks' configurations."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from metahpo.optimizers.research import SeededEvolutionSampler
from metahpo.spaces import Param, SearchSpace

SPACE = SearchSpace(
    "toy",
    "regression",
    (
        Param("x", "float", low=1e-3, high=1e3, default=1.0, log=True),
        Param("y", "float", low=0.0, high=1.0, default=0.5),
        Param("k", "categorical", choices=("a", "b", "c"), default="a"),
    ),
)
OPTIMUM = {"x": 31.6, "y": 0.8, "k": "c"}


def objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", 1e-3, 1e3, log=True)
    y = trial.suggest_float("y", 0.0, 1.0)
    k = trial.suggest_categorical("k", ["a", "b", "c"])
    return -((np.log10(x) - 1.5) ** 2) - (y - 0.8) ** 2 - (0.0 if k == "c" else 0.5)


def objective_at(config: dict[str, object]) -> float:
    return float(objective(optuna.trial.FixedTrial(config)))


def _first(sampler: optuna.samplers.BaseSampler, n: int) -> list[float]:
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=n)
    return [float(t.value) for t in study.trials]  # type: ignore[arg-type]


def test_seeds_from_similar_tasks_start_the_search_near_them() -> None:
    seeds = [OPTIMUM, {"x": 20.0, "y": 0.7, "k": "c"}, {"x": 50.0, "y": 0.9, "k": "c"}]
    runs = [
        _first(SeededEvolutionSampler(SPACE, seeds, population=3, seed=s), 8) for s in range(12)
    ]
    for values in runs:
        # the seeds first, verbatim (the initial population), then their children
        assert values[:3] == pytest.approx([objective_at(c) for c in seeds])
    children = np.mean([v[3:] for v in runs])
    # children of good parents are good (a child never repeats an evaluated configuration,
    # so re-evaluating the optimum does not count as a good child)
    assert children > -0.4
    plain = [_first(SeededEvolutionSampler(SPACE, (), population=3, seed=s), 8) for s in range(12)]
    assert children > np.mean([v[3:] for v in plain]) + 0.5


def test_search_improves_and_stays_in_the_space() -> None:
    sampler = SeededEvolutionSampler(SPACE, seed=0, population=6)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=60)
    assert study.best_value > -0.05
    for t in study.trials:
        assert 1e-3 <= t.params["x"] <= 1e3 and 0 <= t.params["y"] <= 1
        assert t.params["k"] in ("a", "b", "c")
    # later trials are better than the first ones on average (selection works)
    values = [float(t.value) for t in study.trials]  # type: ignore[arg-type]
    assert np.mean(values[-20:]) > np.mean(values[:20])


def test_parameters_outside_the_space_are_sampled_independently() -> None:
    sampler = SeededEvolutionSampler(SPACE, [OPTIMUM, OPTIMUM], seed=0)
    study = optuna.create_study(sampler=sampler)

    def other(trial: optuna.Trial) -> float:
        z = trial.suggest_int("z", 0, 10)
        y = trial.suggest_float("y", 0.0, 2.0)  # another range than the space's: independent
        return float(z) + y

    study.optimize(other, n_trials=8)
    assert all(0 <= t.params["z"] <= 10 and 0 <= t.params["y"] <= 2 for t in study.trials)

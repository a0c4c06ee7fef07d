"""Evolutionary search seeded with similar tasks' best configurations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

from metahpo.spaces import Param, SearchSpace


def _to_unit(p: Param, value: Any) -> float:
    if p.kind == "categorical":
        k = len(p.choices)
        idx = next((i for i, c in enumerate(p.choices) if c == value), 0)
        return (idx + 0.5) / k
    return p.to_unit(value)


def _same(config: Mapping[str, Any], params: Mapping[str, Any]) -> bool:
    for k, v in config.items():
        w = params.get(k)
        if isinstance(v, (int, float)) and isinstance(w, (int, float)):
            if not np.isclose(float(v), float(w), rtol=1e-9, atol=1e-12):
                return False
        elif v != w:
            return False
    return True


class SeededEvolutionSampler(BaseSampler):
    """A steady-state evolutionary search on a :class:`~metahpo.spaces.SearchSpace`.

    The initial population is ``seeds`` (configurations that did well on similar tasks, best
    first): those not in the study yet are evaluated first, until the study holds
    ``population`` completed trials (random configurations complete it when there are fewer
    seeds). Then each new trial is a child of two parents chosen by binary tournament among
    the best ``population`` completed trials: uniform crossover in the space's unit cube, then
    mutation of one coordinate in ``dim`` on average (at least one): Gaussian with a width that
    shrinks as the study grows, a uniformly drawn choice for a categorical parameter. So the
    search starts from where experience says good configurations are instead of from random
    points.

    Parameters the objective asks with another distribution than the space's are sampled by
    the independent (random) sampler.

    Args:
        space: The search space (its parameter names are the study's).
        seeds: Configurations to breed from before the study has its own population.
        population: Parents kept (the best completed trials).
        mutation: Initial standard deviation of the mutation in the unit cube.
        seed: Random seed.
    """

    def __init__(
        self,
        space: SearchSpace,
        seeds: Sequence[Mapping[str, Any]] = (),
        *,
        population: int = 10,
        mutation: float = 0.1,
        seed: int | None = None,
    ) -> None:
        self.space = space
        self.seeds = [space.transfer(dict(s))[0] for s in seeds]
        self.population = max(2, population)
        self.mutation = mutation
        self._rng = np.random.RandomState(seed)
        self._independent = RandomSampler(seed=seed)

    def reseed_rng(self) -> None:
        self._rng.seed()
        self._independent.reseed_rng()

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        if study._is_multi_objective():
            return {}
        return self.space.distributions()

    def _unit(self, config: Mapping[str, Any]) -> np.ndarray:
        return np.array(
            [_to_unit(p, config.get(p.name, p.default)) for p in self.space.params], dtype=float
        )

    def _parents(self, study: Study) -> list[np.ndarray]:
        names = set(self.space.names)
        done = [
            t
            for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if t.value is not None and names <= set(t.params)
        ]
        maximize = study.direction == StudyDirection.MAXIMIZE
        done.sort(key=lambda t: float(t.value), reverse=maximize)  # type: ignore[arg-type]
        pool = [self._unit(t.params) for t in done[: self.population]]
        for s in self.seeds:
            if len(pool) >= self.population:
                break
            pool.append(self._unit(s))
        return pool

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        trials = study.get_trials(deepcopy=False)
        n_done = sum(t.state == TrialState.COMPLETE for t in trials)
        if n_done < self.population:
            # The initial population: the seeds not evaluated yet, in order.
            seen = [t.params for t in trials if t.number != trial.number]
            for config in self.seeds:
                if not any(_same(config, p) for p in seen):
                    return {k: v for k, v in config.items() if k in search_space}
            return {}  # the rest of the initial population is random (independent sampler)
        pool = self._parents(study)

        def pick() -> np.ndarray:
            i, j = self._rng.randint(len(pool), size=2)
            parent: np.ndarray = pool[min(i, j)]  # binary tournament: pool sorted best first
            return parent

        a, b = pick(), pick()
        mask = self._rng.rand(len(a)) < 0.5
        child = np.where(mask, a, b)
        width = self.mutation / np.sqrt(1.0 + n_done / self.population)
        genes = self._rng.rand(len(child)) < 1.0 / len(child)
        if not genes.any():
            genes[self._rng.randint(len(child))] = True
        noise = self._rng.normal(0.0, width, size=len(child)) * genes
        child = np.clip(child + noise, 0.0, 1.0)
        # A categorical gene has no neighbourhood: a mutated one takes any choice.
        for g, p in enumerate(self.space.params):
            if genes[g] and p.kind == "categorical":
                child[g] = self._rng.rand()
        config = self.space.from_unit(child)
        return {k: v for k, v in config.items() if k in search_space}

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self._independent.sample_independent(study, trial, param_name, param_distribution)

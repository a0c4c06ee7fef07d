"""Evolutionary search seeded with similar tasks' best configurations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from optuna.study import Study
from optuna.trial import FrozenTrial

from metahpo.optimizers._space_sampler import SpaceSampler
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


class SeededEvolutionSampler(SpaceSampler):
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

    Parameters the objective asks with another distribution than the space's are sampled at
    random (see :class:`SpaceSampler`).

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
        super().__init__(space, seed)
        self.seeds = [space.transfer(dict(s))[0] for s in seeds]
        self.population = max(2, population)
        self.mutation = mutation

    def _unit(self, config: Mapping[str, Any]) -> np.ndarray:
        return np.array(
            [_to_unit(p, config.get(p.name, p.default)) for p in self.space.params], dtype=float
        )

    def propose(self, study: Study, trial: FrozenTrial) -> dict[str, Any] | None:
        trials = study.get_trials(deepcopy=False)
        done = self.completed(study)
        if len(done) < self.population:
            # The initial population: the seeds not evaluated yet, in order.
            seen = [t.params for t in trials if t.number != trial.number]
            for config in self.seeds:
                if not any(_same(config, p) for p in seen):
                    return config
            return None  # the rest of the initial population is random
        done.sort(key=lambda t: -self.gain(study, t))
        pool = [self._unit(t.params) for t in done[: self.population]]

        def pick() -> np.ndarray:
            i, j = self._rng.randint(len(pool), size=2)
            parent: np.ndarray = pool[min(i, j)]  # binary tournament: pool sorted best first
            return parent

        a, b = pick(), pick()
        mask = self._rng.rand(len(a)) < 0.5
        child = np.where(mask, a, b)
        width = self.mutation / np.sqrt(1.0 + len(done) / self.population)
        genes = self._rng.rand(len(child)) < 1.0 / len(child)
        if not genes.any():
            genes[self._rng.randint(len(child))] = True
        noise = self._rng.normal(0.0, width, size=len(child)) * genes
        child = np.clip(child + noise, 0.0, 1.0)
        # A categorical gene has no neighbourhood: a mutated one takes any choice.
        for g, p in enumerate(self.space.params):
            if genes[g] and p.kind == "categorical":
                child[g] = self._rng.rand()
        return self.space.from_unit(child)

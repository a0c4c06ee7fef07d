"""Evolutionary search seeded with similar tasks' best configurations.

Live standing: not measured live. Replay (``benchmarks/RESULTS.md``, 136 datasets, budget 50,
5 seeds; mean normalised regret over stored configurations): ``meta-evolution`` 0.032 at 10
evaluations, 0.014 at 25, 0.005 at 50, against ``meta-transfer`` 0.025, 0.009, 0.003 and
``meta-tpe`` 0.034, 0.013, 0.006.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from metahpo.optimizers._proposal import Proposal, ProposalSampler
from metahpo.optimizers._unit import categorical_mask, mutate
from metahpo.optimizers._view import StudyView
from metahpo.spaces import SearchSpace


class SeededEvolutionSampler(ProposalSampler):
    """A steady-state evolutionary search on a :class:`~metahpo.spaces.SearchSpace`.

    The initial population is ``seeds`` (configurations that did well on similar tasks, best
    first): those not in the study yet are evaluated first, until the study holds
    ``population`` completed trials (random configurations complete it when there are fewer
    seeds). Then each new trial is a child of two parents chosen by binary tournament among
    the best ``population`` completed trials: uniform crossover in the space's unit cube, then
    mutation of one coordinate in ``dim`` on average (at least one): Gaussian with a width that
    shrinks as the study grows, a uniformly drawn choice for a categorical parameter. So the
    search starts from where experience says good configurations are instead of from random
    points. A child that repeats an evaluated configuration is replaced by a random one.

    Args:
        space: The search space (its parameter names are the study's).
        seeds: Configurations to breed from before the study has its own population.
        population: Parents kept (the best completed trials).
        mutation: Initial standard deviation of the mutation in the unit cube.
        seed: Random seed.
        kwargs: Passed to :class:`~metahpo.optimizers.ProposalSampler` (``then``,
            ``n_proposals``).
    """

    def __init__(
        self,
        space: SearchSpace,
        seeds: Sequence[Mapping[str, Any]] = (),
        *,
        population: int = 10,
        mutation: float = 0.1,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(seed=seed, **kwargs)
        self.space = space
        self.seeds = [space.transfer(dict(s))[0] for s in seeds]
        self.population = max(2, population)
        self.mutation = mutation
        self._categorical = categorical_mask(space)

    def propose(self, view: StudyView) -> Proposal:
        done = view.completed_with(self.space.names)
        if len(done) < self.population:
            # The initial population: the seeds not evaluated yet, in order; then random.
            return self.seeds
        done.sort(key=lambda t: -view.gain(t))
        pool = [self.space.to_unit(t.params) for t in done[: self.population]]

        def pick() -> np.ndarray:
            i, j = self.rng.randint(len(pool), size=2)
            parent: np.ndarray = pool[min(i, j)]  # binary tournament: pool sorted best first
            return parent

        a, b = pick(), pick()
        child = np.where(self.rng.rand(len(a)) < 0.5, a, b)
        width = self.mutation / np.sqrt(1.0 + len(done) / self.population)
        child = mutate(self.rng, child, self._categorical, rate=1.0 / len(child), width=width)
        return self.space.from_unit(child)

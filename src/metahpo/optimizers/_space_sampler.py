"""The base of metahpo's own samplers that propose whole configurations of one search space."""

from __future__ import annotations

import abc
from typing import Any

import numpy as np
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

from metahpo.spaces import SearchSpace


class SpaceSampler(BaseSampler, abc.ABC):
    """A sampler that proposes a whole configuration of ``space`` for each trial.

    Subclasses implement :meth:`propose`. The space's parameters are sampled jointly (Optuna's
    relative sampling); a parameter the objective asks with another distribution, and every
    parameter of a trial for which :meth:`propose` returns ``None``, is drawn by a random
    sampler. Multi-objective studies get random sampling.

    Args:
        space: The search space (its parameter names are the study's).
        seed: Random seed.
    """

    def __init__(self, space: SearchSpace, seed: int | None = None) -> None:
        self.space = space
        self._rng = np.random.RandomState(seed)
        self._independent = RandomSampler(seed=seed)

    @abc.abstractmethod
    def propose(self, study: Study, trial: FrozenTrial) -> dict[str, Any] | None:
        """The configuration for ``trial`` (``None``: sample it at random)."""

    def completed(self, study: Study) -> list[FrozenTrial]:
        """Completed trials that set every parameter of the space, in trial order."""
        names = set(self.space.names)
        done = [
            t
            for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if t.value is not None and names <= set(t.params)
        ]
        return sorted(done, key=lambda t: t.number)

    @staticmethod
    def gain(study: Study, trial: FrozenTrial) -> float:
        """The trial's value, larger is better whatever the study's direction."""
        sign = 1.0 if study.direction == StudyDirection.MAXIMIZE else -1.0
        return sign * float(trial.value)  # type: ignore[arg-type]

    def reseed_rng(self) -> None:
        self._rng.seed()
        self._independent.reseed_rng()

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        if study._is_multi_objective():
            return {}
        return self.space.distributions()

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        config = self.propose(study, trial)
        if config is None:
            return {}
        return {k: v for k, v in config.items() if k in search_space}

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self._independent.sample_independent(study, trial, param_name, param_distribution)

"""The base of metahpo's own samplers that propose whole configurations of one search space."""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

from metahpo.spaces import SearchSpace


def plain(value: Any) -> Any:
    """A parameter value as a plain Python scalar (JSON-serialisable, hashable)."""
    return value.item() if isinstance(value, np.generic) else value


def all_trials(study: Study, states: Sequence[TrialState] | None = None) -> list[FrozenTrial]:
    """Every trial of the study, also when a pruner shows the sampler only some of them.

    Optuna hands samplers a filtered view of the study under some pruners (Hyperband shows
    one bracket's trials); bookkeeping that must see every trial (which configurations were
    evaluated) reads the storage instead.
    """
    return study._storage.get_all_trials(
        study._study_id, deepcopy=False, states=tuple(states) if states is not None else None
    )


def fit_to(value: Any, dist: BaseDistribution) -> Any:
    """``value`` made valid for ``dist`` (numeric values clipped), or ``None`` if impossible."""
    value = plain(value)  # numpy booleans and numbers compare like Python ones
    if isinstance(dist, CategoricalDistribution):
        # Same type first: ``True == 1`` must not pick the choice 1 for a boolean.
        for c in dist.choices:
            if type(c) is type(value) and c == value:
                return c
        for c in dist.choices:
            if c == value and not isinstance(c, bool) and not isinstance(value, bool):
                return c
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(v):
        return None
    low, high = float(dist.low), float(dist.high)  # type: ignore[attr-defined]
    v = min(max(v, low), high)
    if isinstance(dist, optuna.distributions.IntDistribution):
        istep = dist.step
        return int(min(max(round((v - low) / istep) * istep + low, low), high))
    step = getattr(dist, "step", None)
    if step:
        v = round((v - low) / step) * step + low
        v = min(max(v, low), high)
    return v


class SpaceSampler(BaseSampler, abc.ABC):
    """A sampler that proposes a whole configuration of ``space`` for each trial.

    Subclasses implement :meth:`propose`, called once per trial. The objective may ask the
    parameters with other distributions than ``space`` (a narrower range, other choices, no
    log scale), ask only some of them (conditional parameters) or more: each parameter it asks
    gets the proposal's value made valid for the asked distribution (numbers clipped, see
    :func:`fit_to`), and a parameter the proposal has no valid value for, or every parameter of
    a trial for which :meth:`propose` returns ``None``, is drawn by a random sampler. The
    proposal therefore goes through Optuna's per-parameter hook (an empty relative search
    space), which never fails on a distribution mismatch. Multi-objective studies get random
    sampling.

    Args:
        space: The search space (its parameter names are the study's).
        seed: Random seed.
    """

    def __init__(self, space: SearchSpace, seed: int | None = None) -> None:
        self.space = space
        self._rng = np.random.RandomState(seed)
        self._independent = RandomSampler(seed=seed)
        self._proposals: dict[int, dict[str, Any] | None] = {}

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

    def proposal(self, study: Study, trial: FrozenTrial) -> dict[str, Any] | None:
        """The configuration proposed for ``trial`` (computed once per trial, then kept)."""
        if trial._trial_id not in self._proposals:
            self._proposals[trial._trial_id] = (
                None if study._is_multi_objective() else self.propose(study, trial)
            )
        return self._proposals[trial._trial_id]

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return {}

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return {}

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        config = self.proposal(study, trial)
        if config is not None and param_name in config:
            value = fit_to(config[param_name], param_distribution)
            if value is not None:
                return value
        return self._independent.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._proposals.pop(trial._trial_id, None)

"""The proposal contract: a sampler whose subclasses write one method, :meth:`propose`."""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from metahpo.optimizers._view import (
    FIXED_ATTR,
    PROPOSAL_ATTR,
    Claim,
    StudyView,
    claim,
    fitted_or_sampled,
    plain,
    trial_token,
)

#: What :meth:`ProposalSampler.propose` returns: one configuration, several best first, or
#: ``None`` to decline.
Proposal = Mapping[str, Any] | Iterable[Mapping[str, Any]] | None


class ProposalSampler(BaseSampler, abc.ABC):
    """A sampler that proposes a whole configuration per trial, or declines.

    Subclasses implement :meth:`propose` only. It gets a read-only :class:`StudyView` of the
    study (every trial, also under a pruner that filters them; gains in the maximise
    direction; what is evaluated or claimed) and returns a configuration (parameter name ->
    value), an iterable of configurations best first, or ``None``. The base owns the rest:

    * **already evaluated**: candidates that some trial evaluated, claimed or had enqueued
      (compared after fitting them to the distributions the study asked so far, so a
      narrower range that maps two candidates onto one counts it once) are skipped; after a
      single proposal that is not new, :meth:`propose` is asked again (:attr:`retries`
      times), then the trial is declined;
    * **several workers**: from a ranked iterable, a trial skips as many new candidates as
      there are lower-numbered running trials about to claim one, then records its choice on
      the trial (system attribute :attr:`claim_attr`), which other workers see;
    * **phase length**: after ``n_proposals`` recorded proposals in the study it declines;
    * **fitting**: each parameter the objective asks gets the proposal's value made valid for
      the asked distribution (numbers clipped and snapped to the step, choices matched by
      value and type, see :func:`~metahpo.optimizers._view.fit_to`);
    * **fallback**: a parameter the proposal has no valid value for (an unknown name, a
      parameter the proposer does not model, a choice it does not know), and every parameter
      of a declined, enqueued or retried trial, is sampled by ``then``;
    * **multi-objective** studies are handed to ``then`` unless :attr:`multi_objective`;
    * **reseeding** reseeds :attr:`rng` and ``then``; the proposal is cached per trial.

    Optuna calls the hooks per trial in this order: ``before_trial``,
    ``infer_relative_search_space`` (where the proposal is decided), ``sample_relative``,
    ``sample_independent`` per parameter, ``after_trial``. See
    :class:`~metahpo.optimizers.RandomProposer` for a complete example.

    Args:
        then: The sampler of whatever is not proposed (default: ``RandomSampler(seed)``).
        n_proposals: Proposals recorded in the study after which this sampler declines, so
            that ``then`` takes over (``None``: no limit). Counts the phase's own proposals,
            not trial numbers: warm starts, enqueued and failed-early trials do not use it up.
        seed: Seed of :attr:`rng` and of the default ``then``.
    """

    #: Trial system attribute recording the proposal.
    claim_attr: ClassVar[str] = PROPOSAL_ATTR
    #: Whether :meth:`propose` is asked in multi-objective studies.
    multi_objective: ClassVar[bool] = False
    #: Times :meth:`propose` is asked again after a single configuration that repeats an
    #: evaluated one (a random or generative proposer draws anew), before declining.
    retries: ClassVar[int] = 8

    def __init__(
        self,
        *,
        then: BaseSampler | None = None,
        n_proposals: int | None = None,
        seed: int | None = None,
    ) -> None:
        if n_proposals is not None and n_proposals < 0:
            raise ValueError(f"n_proposals must be None or >= 0; got {n_proposals}")
        self.rng = np.random.RandomState(seed)
        self.then: BaseSampler = then if then is not None else RandomSampler(seed=seed)
        self.n_proposals = n_proposals
        self._proposals: dict[tuple[str, int], dict[str, Any] | None] = {}
        self._memo: dict[str, dict[Any, Any]] = {}  # per study: see StudyView.of

    @abc.abstractmethod
    def propose(self, view: StudyView) -> Proposal:
        """The configuration for ``view.trial``, several best first, or ``None``."""

    # -- the decision, once per trial ----------------------------------------------------------
    def proposal(self, study: Study, trial: FrozenTrial) -> dict[str, Any] | None:
        """The configuration decided for ``trial`` (``None``: none, or not decided here)."""
        return self._proposals.get(trial_token(study, trial))

    def _decide(self, study: Study, trial: FrozenTrial) -> dict[str, Any] | None:
        token = trial_token(study, trial)
        if token in self._proposals:
            return self._proposals[token]
        config: dict[str, Any] | None = None
        recorded = trial.system_attrs.get(self.claim_attr)
        if isinstance(recorded, dict):  # a retried trial keeps its proposal
            config = dict(recorded)
        elif not trial.params and FIXED_ATTR not in trial.system_attrs:

            def choose(view: StudyView) -> Claim | None:
                chosen = self._choose(view) if self._active(view) else None
                return None if chosen is None else Claim(chosen, {self.claim_attr: chosen})

            memo = self._memo.setdefault(study.study_name, {})
            won = claim(study, trial, memo, choose, tries=1 + self.retries)
            config = None if won is None else dict(won.config)
        self._proposals[token] = config
        return config

    def _choose(self, view: StudyView) -> dict[str, Any] | None:
        proposal = self.propose(view)
        config = self._pick(view, proposal)
        tries = self.retries if isinstance(proposal, Mapping) else 0
        while config is None and tries > 0:  # a repeat: a generator may draw anew
            tries -= 1
            proposal = self.propose(view)
            config = self._pick(view, proposal) if isinstance(proposal, Mapping) else None
        return config

    def _active(self, view: StudyView) -> bool:
        if view.n_objectives > 1 and not self.multi_objective:
            return False
        return self.n_proposals is None or view.count(self.claim_attr) < self.n_proposals

    @staticmethod
    def _pick(view: StudyView, proposal: Proposal) -> dict[str, Any] | None:
        if proposal is None:
            return None
        if isinstance(proposal, Mapping):
            single = {str(k): plain(v) for k, v in proposal.items()}
            return single if view.is_new(single) else None
        skip = view.ahead()
        for candidate in proposal:
            if view.is_new(candidate):
                if skip == 0:
                    return {str(k): plain(v) for k, v in candidate.items()}
                skip -= 1
        return None

    # -- Optuna's hooks ------------------------------------------------------------------------
    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self.then.before_trial(study, trial)

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        if self._decide(study, trial) is not None:
            return {}  # the proposal goes parameter by parameter: fitted, never refused
        return self.then.infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if self.proposal(study, trial) is not None:
            return {}
        return self.then.sample_relative(study, trial, search_space)

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return fitted_or_sampled(
            self.proposal(study, trial),
            param_name,
            param_distribution,
            lambda: self.then.sample_independent(study, trial, param_name, param_distribution),
        )

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._proposals.pop(trial_token(study, trial), None)
        self.then.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self.rng.seed()
        self.then.reseed_rng()

"""``MetaSampler``: warm-start from meta-learned suggestions, then refine with a base sampler.

Predict, then refine:

1. The first trials evaluate ``warm_start`` configurations chosen by a meta-learner for this
   task (the library default among them whenever the meta-learner is unsure).
2. Later trials come from a base sampler that sees the warm-start results like any other
   trials (see :data:`~metahpo.optimizers.BASES`).
3. A negative-transfer guard: after every warm-start result, if the results so far come in an
   order clearly reversed from the predicted one (an exact one-sided Kendall test: an ordering
   at least this reversed arises by chance in at most ``guard_level`` of the cases) the sampler
   records that in the study (system attribute ``metahpo:guard``), skips any warm starts left
   and switches the surrogate prior off, so that the base sampler proceeds on its own. A test
   rather than a threshold on the correlation: with three results any ordering is reversed or
   not by chance half the time, and a guard that fires on noise discards good warm starts.

It is a plain Optuna sampler: ``optuna.create_study(sampler=MetaSampler(...))`` works with any
objective. Warm-start values are used for the parameters the objective asks for by the same
name (fitted to the asked distribution, see :func:`~metahpo.optimizers._view.fit_to`); other
parameters come from the base sampler. A warm start that, so fitted, coincides with a
configuration already evaluated is skipped.

Under a pruner (``trial.report`` / ``trial.should_prune`` with, say, Optuna's
``SuccessiveHalvingPruner`` or ``HyperbandPruner``) each warm start still runs once: a pruned
one counts as evaluated, so neither this sampler nor a later one on the resumed study proposes
it again. A pruned trial is no result: the guard reads COMPLETE warm starts only (a pruned
one's value is an early step's), and the base sampler sees pruned trials as it sees them in
Optuna (``transfer-gp``: at the last intermediate value capped at the worst completed result,
see :mod:`metahpo.optimizers._transfer_gp`). Hyperband hands samplers a study filtered to one
bracket; what is evaluated is read from every trial (:func:`~metahpo.optimizers._view.all_trials`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

from metahpo.optimizers._guard import disagreement, guard_message
from metahpo.optimizers._prior import SurrogatePrior
from metahpo.optimizers._view import (
    FIXED_ATTR,
    GUARD_ATTR,
    WARM_ATTR,
    WARM_CONFIG_ATTR,
    Claim,
    StudyView,
    all_trials,
    claim,
    fitted_or_sampled,
    plain,
    set_study_attr,
    trial_token,
)

#: How often a trial that lost a race for a warm start claims again (then the base decides).
_CLAIM_TRIES = 4


class MetaSampler(BaseSampler):
    """Evaluate meta-learned warm-start configurations first, then refine with a base sampler.

    Args:
        warm_start: Configurations to evaluate first, in order (parameter name -> value).
        predicted: Predicted normalised score of each warm-start configuration (higher is
            better); used by the guard. ``None`` disables the agreement check.
        base_sampler: The sampler that refines afterwards (default: multivariate TPE).
        prior: A :class:`SurrogatePrior` used by the base sampler (the guard switches it off).
        guard_level: The guard fires when the warm-start results so far are ranked against
            the predictions more strongly than chance would do with this probability
            (one-sided Kendall tau test, exact without ties). With the default 0.05 it needs
            four results in exactly the reverse order, or five with at most one pair in the
            predicted order. ``0`` disables the guard.
        seed: Seed of the default base sampler.

    Hooks are called by Optuna in this order for every trial: ``before_trial`` (where the
    warm start is claimed), ``infer_relative_search_space``, ``sample_relative``,
    ``sample_independent`` (per parameter not sampled relatively), ``after_trial``.
    """

    def __init__(
        self,
        warm_start: Sequence[Mapping[str, Any]] = (),
        *,
        predicted: Sequence[float] | None = None,
        base_sampler: BaseSampler | None = None,
        prior: SurrogatePrior | None = None,
        guard_level: float = 0.05,
        seed: int | None = None,
    ) -> None:
        self.warm_start = [dict(c) for c in warm_start]
        self.predicted = list(predicted) if predicted is not None else None
        if self.predicted is not None and len(self.predicted) != len(self.warm_start):
            raise ValueError("predicted must have one score per warm-start configuration")
        if base_sampler is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                base_sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True)
        self.base_sampler = base_sampler
        self.prior = prior
        if not 0.0 <= guard_level < 1.0:
            raise ValueError(f"guard_level must be in [0, 1); got {guard_level}")
        self.guard_level = guard_level
        self._assigned: dict[tuple[str, int], dict[str, Any]] = {}  # trial -> warm start
        self.guard_message: str | None = None
        self._memo: dict[str, dict[Any, Any]] = {}  # per study: see StudyView.of
        self._exhausted: set[str] = set()  # studies whose warm starts are all taken for good

    # -- warm-start bookkeeping --------------------------------------------------------------
    def _record(self, trial: FrozenTrial) -> dict[str, Any] | None:
        """The warm start recorded on ``trial`` (``None``: not a warm-start trial)."""
        record = trial.system_attrs.get(WARM_CONFIG_ATTR)
        if record is not None:
            return dict(record)
        idx = trial.system_attrs.get(WARM_ATTR)  # studies of earlier versions: an index only
        if idx is not None and 0 <= int(idx) < len(self.warm_start):
            predicted = self.predicted[int(idx)] if self.predicted is not None else None
            return {"params": self.warm_start[int(idx)], "predicted": predicted}
        return None

    def _claim(self, view: StudyView) -> tuple[int | None, bool]:
        """The warm start for a new trial, safe when several workers share the study.

        Warm starts already evaluated or claimed (by any worker, in any earlier run, whatever
        warm-start list that run had, or enqueued by the user) are skipped; so are those
        taken by the trials of other workers that are about to claim (see
        :meth:`StudyView.ahead`): trial numbers are unique, so two workers never take the
        same one. Also whether none is free at all.
        """
        free = [i for i, c in enumerate(self.warm_start) if view.is_new(c)]
        ahead = view.ahead()
        return (free[ahead] if ahead < len(free) else None), not free

    def _guarded(self, study: Study) -> bool:
        return self.guard_message is not None or guard_message(study) is not None

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        if self.prior is not None:
            if self._guarded(study):
                self.prior.enabled = False
            self.prior.observe(study)
        record = self._record(trial)
        token = trial_token(study, trial)
        if record is not None:  # a retried warm-start trial
            self._assigned[token] = record
        elif FIXED_ATTR in trial.system_attrs or trial.params:
            # An enqueued trial, or a retried ordinary one (its parameters are set already):
            # not a warm start, keep the warm starts for later trials.
            pass
        elif (
            self.warm_start and study.study_name not in self._exhausted and not self._guarded(study)
        ):
            self._take(study, trial, token)
        self.base_sampler.before_trial(study, trial)

    def _take(self, study: Study, trial: FrozenTrial, token: Any) -> None:
        """Claims a free warm start for ``trial``, if any, as a proposal sampler claims (see
        :func:`~metahpo.optimizers._view.claim`: a warm start that another worker's trial took
        at the same moment, as another phase's proposal say, is given up for the next)."""

        def choose(view: StudyView) -> Claim | None:
            idx, none_free = self._claim(view)
            if none_free:
                # Evaluated and claimed configurations stay so: no warm start frees up again.
                self._exhausted.add(study.study_name)
            if idx is None:
                return None
            predicted = self.predicted[idx] if self.predicted is not None else None
            record = {
                "params": {k: plain(v) for k, v in self.warm_start[idx].items()},
                "predicted": None if predicted is None else float(predicted),
            }
            # The configuration first: a trial with an index always shows what it took.
            attrs = {WARM_CONFIG_ATTR: record, WARM_ATTR: idx}
            return Claim(self.warm_start[idx], attrs)

        memo = self._memo.setdefault(study.study_name, {})
        won = claim(study, trial, memo, choose, tries=_CLAIM_TRIES)
        if won is not None:
            self._assigned[token] = won.attrs[WARM_CONFIG_ATTR]

    def is_warm(self, study: Study, trial: FrozenTrial) -> bool:
        return trial_token(study, trial) in self._assigned

    # -- the three sampler methods -----------------------------------------------------------
    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        if self.is_warm(study, trial):
            return {}
        return self.base_sampler.infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if self.is_warm(study, trial):
            return {}
        return self.base_sampler.sample_relative(study, trial, search_space)

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        record = self._assigned.get(trial_token(study, trial))
        return fitted_or_sampled(
            record["params"] if record is not None else None,
            param_name,
            param_distribution,
            lambda: self.base_sampler.sample_independent(
                study, trial, param_name, param_distribution
            ),
        )

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._assigned.pop(trial_token(study, trial), None)
        self.base_sampler.after_trial(study, trial, state, values)
        # Only a warm start's result changes the evidence (the other trials' are not paired).
        if state == TrialState.COMPLETE and self._record(trial) and not self._guarded(study):
            self._check_agreement(study, trial, values)

    def reseed_rng(self) -> None:
        self.base_sampler.reseed_rng()

    # -- negative-transfer guard -------------------------------------------------------------
    def _check_agreement(
        self, study: Study, current: FrozenTrial, values: Sequence[float] | None
    ) -> None:
        # Optuna calls ``after_trial`` before it stores the trial's state and value, so the
        # trial that just finished is taken from the arguments, not from the storage.
        if self.guard_level == 0.0 or len(study.directions) > 1:
            return
        results = [
            (self._record(t), t.value)
            for t in all_trials(study, states=(TrialState.COMPLETE,))
            if t.number != current.number
        ]
        if values:
            results.append((self._record(current), float(values[0])))
        pairs = [
            (float(record["predicted"]), float(v))
            for record, v in results
            if record is not None
            and record.get("predicted") is not None
            and v is not None
            and not math.isnan(v)
        ]
        message = disagreement(
            pairs, maximize=study.direction == StudyDirection.MAXIMIZE, level=self.guard_level
        )
        if message is not None:
            self.guard_message = message
            set_study_attr(study, GUARD_ATTR, message)
            if self.prior is not None:
                self.prior.enabled = False

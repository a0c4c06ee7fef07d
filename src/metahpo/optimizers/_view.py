"""What a sampler may read from a study, built once per trial; the one adapter to Optuna.

Every metahpo sampler reads the study through a :class:`StudyView`: the trials (all of them,
also when a pruner shows the sampler only some, see :func:`all_trials`), gains in the maximise
direction, the configurations already evaluated or claimed by a running trial, and how many
workers are about to claim. The trial system attributes metahpo writes are named here only.

Optuna has no public API for two things a sampler needs, so this module is the only one that
touches Optuna's private attributes: writing a system attribute on the trial being sampled
(``study._storage``, ``trial._trial_id``; the ``Trial.set_system_attr`` of older versions is
gone) and reading every trial of a study under a pruner that hands samplers a filtered study
(Hyperband's brackets).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

import numpy as np
from optuna.distributions import BaseDistribution, CategoricalDistribution, IntDistribution
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

#: Trial system attribute: the index of the warm start the trial evaluates (for display).
WARM_ATTR = "metahpo:warm"
#: Trial system attribute: that warm start, ``{"params": ..., "predicted": ...}``, so that a
#: study resumed with another warm-start list (or another worker's sampler) knows which
#: configurations were evaluated and what was predicted for them.
WARM_CONFIG_ATTR = "metahpo:warm_config"
#: Trial system attribute: the configuration a transfer phase proposed for the trial.
TRANSFER_ATTR = "metahpo:transfer"
#: Trial system attribute: the configuration any other proposal sampler proposed.
PROPOSAL_ATTR = "metahpo:proposal"
#: Study system attribute: why the negative-transfer guard fired.
GUARD_ATTR = "metahpo:guard"
#: Every trial attribute by which a metahpo sampler claims a configuration.
CLAIM_ATTRS = (WARM_CONFIG_ATTR, WARM_ATTR, TRANSFER_ATTR, PROPOSAL_ATTR)
#: Seconds after its start in which a running trial without a claim may still claim.
CLAIM_WINDOW = 60.0
#: Set by Optuna on enqueued trials.
FIXED_ATTR = "fixed_params"

Key = tuple[tuple[str, Any], ...]


def plain(value: Any) -> Any:
    """A parameter value as a plain Python scalar (JSON-serialisable, hashable)."""
    return value.item() if isinstance(value, np.generic) else value


def _rounded(v: float) -> float:
    """``v`` to about 12 significant digits (floats that differ by round-off compare equal)."""
    if v == 0.0 or not math.isfinite(v):
        return v
    m, e = math.frexp(v)
    return math.ldexp(round(m, 12), e)


def config_key(config: Mapping[str, Any]) -> Key:
    """A configuration as a hashable key: plain values, floats to about 12 digits."""
    out = []
    for k, v in config.items():
        v = plain(v)
        if type(v) is float:
            v = _rounded(v)
        out.append((str(k), v))
    return tuple(sorted(out))


# -- the adapter: the only private Optuna API of the package --------------------------------
def all_trials(study: Study, states: Sequence[TrialState] | None = None) -> list[FrozenTrial]:
    """Every trial of the study, also when a pruner shows the sampler only some of them."""
    storage = study._storage
    return storage.get_all_trials(
        study._study_id, deepcopy=False, states=tuple(states) if states is not None else None
    )


def set_trial_attr(study: Study, trial: FrozenTrial, key: str, value: Any) -> None:
    """Record ``key = value`` on the running ``trial`` (visible to every worker)."""
    study._storage.set_trial_system_attr(trial._trial_id, key, value)


def set_study_attr(study: Study, key: str, value: Any) -> None:
    """Record ``key = value`` on the study."""
    study._storage.set_study_system_attr(study._study_id, key, value)


def study_attr(study: Study, key: str) -> Any:
    """The study's system attribute ``key`` (``None`` if unset)."""
    return study._storage.get_study_system_attrs(study._study_id).get(key)


def trial_token(study: Study, trial: FrozenTrial) -> tuple[str, int]:
    """A key for per-trial caches (trial numbers are unique within a study)."""
    return (study.study_name, trial.number)


def is_claim_free(t: FrozenTrial) -> bool:
    """Whether ``t`` neither set parameters, nor was enqueued, nor holds a metahpo claim."""
    attrs = t.system_attrs
    claims = (attrs.get(a) is not None for a in CLAIM_ATTRS)  # None: a claim withdrawn
    return not t.params and FIXED_ATTR not in attrs and not any(claims)


class Seen:
    """Keys of evaluated configurations; a key is in it when some evaluated configuration has
    the same values on the key's names (more names are ignored: the objective may ask more)."""

    def __init__(self, keys: Iterable[Key]) -> None:
        self._keys = set(keys)
        self._by_names: dict[frozenset[str], set[Key]] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, tuple):
            return False
        if key in self._keys:
            return True
        names = frozenset(k for k, _ in key)
        if names not in self._by_names:
            self._by_names[names] = {
                tuple(p for p in other if p[0] in names)
                for other in self._keys
                if names <= {k for k, _ in other}
            }
        return key in self._by_names[names]


@dataclass(frozen=True)
class StudyView:
    """A read-only view of a study for one trial, built from one read of its trials.

    Attributes:
        trial: The trial being sampled (``None``: a view of the study alone).
        trials: Every trial of the study (see :func:`all_trials`), in number order.
        maximize: Whether larger values are better (single objective).
        n_objectives: Number of objectives.
        distributions: The latest distribution each parameter name was asked with.
    """

    trial: FrozenTrial | None
    trials: tuple[FrozenTrial, ...]
    maximize: bool
    n_objectives: int
    distributions: Mapping[str, BaseDistribution] = field(default_factory=dict)
    memo: dict[Any, frozenset[Key]] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(
        cls,
        study: Study,
        trial: FrozenTrial | None = None,
        memo: dict[Any, frozenset[Key]] | None = None,
    ) -> StudyView:
        """The view for ``trial``; ``memo``: a dict the caller keeps across trials, where the
        keys of finished trials are kept (they never change)."""
        trials = tuple(sorted(all_trials(study), key=lambda t: t.number))
        dists: dict[str, BaseDistribution] = {}
        for t in trials:
            dists.update(t.distributions)
        directions = study.directions
        return cls(
            trial=trial,
            trials=trials,
            maximize=directions[0] == StudyDirection.MAXIMIZE,
            n_objectives=len(directions),
            distributions=dists,
            memo=memo,
        )

    @property
    def _number(self) -> int:
        """The number of the trial being sampled (after every trial if there is none)."""
        return self.trial.number if self.trial is not None else len(self.trials) + 10**9

    @property
    def completed(self) -> list[FrozenTrial]:
        """Completed single-objective trials with a value, in number order."""
        return [t for t in self.trials if t.state == TrialState.COMPLETE and t.value is not None]

    @property
    def pruned(self) -> list[FrozenTrial]:
        """Pruned trials, in number order: stopped early by a pruner, so their values are
        intermediate ones (Optuna records the last as the trial's value), never results."""
        return [t for t in self.trials if t.state == TrialState.PRUNED]

    def pruned_gain(self, trial: FrozenTrial, worst: float | None) -> float | None:
        """What a pruned ``trial`` says about its configuration, larger is better: its last
        intermediate value, but never more than ``worst`` (the worst completed gain: the pruner
        stopped it because it ranked below others at its step, so it is no evidence of a good
        configuration). ``worst`` alone when it reported nothing finite; ``None`` when neither
        exists (single objective)."""
        steps = trial.intermediate_values
        last = float(steps[max(steps)]) if steps else math.nan
        gain = (1.0 if self.maximize else -1.0) * last
        if not math.isfinite(gain):
            return worst
        return gain if worst is None else min(gain, worst)

    def completed_with(self, names: Iterable[str]) -> list[FrozenTrial]:
        """Completed trials that set every parameter in ``names``."""
        need = set(names)
        return [t for t in self.completed if need <= t.params.keys()]

    def gain(self, trial: FrozenTrial) -> float:
        """The trial's value, larger is better whatever the study's direction."""
        return (1.0 if self.maximize else -1.0) * float(trial.value)  # type: ignore[arg-type]

    def fitted(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """``config`` made valid for the distributions the study asked so far."""
        out = {}
        for k, v in config.items():
            dist = self.distributions.get(k)
            w = fit_to(v, dist) if dist is not None else plain(v)
            out[k] = plain(v) if w is None else w
        return out

    def key(self, config: Mapping[str, Any]) -> Key:
        """The key of ``config`` as the study would evaluate it: fitted to the distributions
        asked so far, on the names the objective asks (once it has asked any). A parameter the
        objective never asks is not evaluated: two configurations that differ only there are
        the same trial (a family's warm start in a study whose objective names fewer, or other,
        parameters)."""
        fitted = self.fitted(config)
        if self.distributions:
            fitted = {k: v for k, v in fitted.items() if k in self.distributions}
        return config_key(fitted)

    @cached_property
    def evaluated(self) -> Seen:
        """Every configuration evaluated, claimed by another running trial or enqueued."""
        keys: set[Key] = set()
        signature = hash(frozenset(self.distributions.items()))
        for t in self.trials:
            if t.number == self._number:
                continue
            if self.memo is not None and t.state.is_finished():
                token = (t.number, t.datetime_start, signature)
                if token not in self.memo:
                    self.memo[token] = frozenset(self.keys_of(t))
                keys.update(self.memo[token])
            else:
                keys.update(self.keys_of(t))
        return Seen(keys)

    def keys_of(self, t: FrozenTrial) -> list[Key]:
        """Keys of what ``t`` evaluated, claimed or had enqueued."""
        keys = [config_key(t.params)] if t.params else []
        for attr in (TRANSFER_ATTR, PROPOSAL_ATTR, FIXED_ATTR):
            claimed = t.system_attrs.get(attr)
            if isinstance(claimed, dict) and claimed:
                keys.append(self.key(claimed))
        record = t.system_attrs.get(WARM_CONFIG_ATTR)
        if isinstance(record, dict) and isinstance(record.get("params"), dict):
            keys.append(self.key(record["params"]))
        return keys

    def is_new(self, config: Mapping[str, Any]) -> bool:
        """Whether no other trial evaluated or claimed ``config`` (on ``config``'s names)."""
        return self.key(config) not in self.evaluated

    def ahead(self) -> int:
        """Trials of other workers numbered below this one that are about to claim.

        A trial that started more than :data:`CLAIM_WINDOW` seconds ago without claiming
        anything is not about to (its worker died, or it never asks parameters).
        """
        now = datetime.now()
        return sum(
            1
            for t in self.trials
            if t.number < self._number
            and t.state == TrialState.RUNNING
            and is_claim_free(t)
            and t.datetime_start is not None
            and (now - t.datetime_start).total_seconds() < CLAIM_WINDOW
        )

    def count(self, attr: str) -> int:
        """Trials that hold the system attribute ``attr`` (a phase's own proposals)."""
        return sum(1 for t in self.trials if attr in t.system_attrs)


@dataclass(frozen=True)
class Claim:
    """What a trial claims: the configuration, and the trial attributes that record it (written
    in this order, withdrawn in reverse)."""

    config: Mapping[str, Any]
    attrs: Mapping[str, Any]


def claim(
    study: Study,
    trial: FrozenTrial,
    memo: dict[Any, Any],
    choose: Callable[[StudyView], Claim | None],
    tries: int,
) -> Claim | None:
    """Claims for ``trial`` what ``choose`` picks from a fresh view, safe among workers.

    Two workers that choose at the same moment cannot see each other's claim. So the claim is
    written, then the study is read again: on any conflict the trial withdraws (its attributes
    set to ``None``, which :func:`is_claim_free` reads as no claim) and chooses again, up to
    ``tries`` times. The one of two racing workers that looks last always sees the other;
    both may yield and choose again. ``None``: nothing chosen, or every try lost a race.
    """
    for _ in range(tries):
        chosen = choose(StudyView.of(study, trial, memo))
        if chosen is None:
            return None
        for key, value in chosen.attrs.items():
            set_trial_attr(study, trial, key, value)
        if StudyView.of(study, trial, memo).is_new(chosen.config):
            return chosen
        for key in reversed(list(chosen.attrs)):  # withdrawn: lost a race
            set_trial_attr(study, trial, key, None)
    return None


def fitted_or_sampled(
    config: Mapping[str, Any] | None,
    name: str,
    distribution: BaseDistribution,
    sample: Callable[[], Any],
) -> Any:
    """``config[name]`` made valid for ``distribution`` (see :func:`fit_to`), or, where the
    configuration has no valid value for it, what ``sample()`` draws (the fallback sampler)."""
    if config is not None and name in config:
        value = fit_to(config[name], distribution)
        if value is not None:
            return value
    return sample()


def fit_to(value: Any, dist: BaseDistribution) -> Any:
    """``value`` made valid for ``dist`` (numbers clipped, snapped to the step), or ``None``."""
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
    step = getattr(dist, "step", None)
    if isinstance(dist, IntDistribution):
        istep = dist.step
        return int(min(max(round((v - low) / istep) * istep + low, low), high))
    if step:
        v = round((v - low) / step) * step + low
        v = min(max(v, low), high)
    return v

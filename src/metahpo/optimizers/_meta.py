"""``MetaSampler``: warm-start from meta-learned suggestions, then refine with a base sampler.

Predict, then refine:

1. The first trials evaluate ``warm_start`` configurations chosen by a meta-learner for this
   task (the library default among them whenever the meta-learner is unsure).
2. Later trials come from a base sampler that sees the warm-start results like any other
   trials: by default ``transfer`` (past tasks' configurations, the tasks re-weighted by how
   well they rank the results so far, then TPE), or TPE, CMA-ES warm-started with similar
   tasks' good trials (``source_trials``), or a Gaussian process whose prior mean is the
   meta-learned performance surrogate, calibrated on the trials observed so far (the GP
   models only what the surrogate gets wrong), among others (:data:`BASES`).
3. A negative-transfer guard: after every warm-start result, if the results so far come in an
   order clearly reversed from the predicted one (an exact one-sided Kendall test: an ordering
   at least this reversed arises by chance in at most ``guard_level`` of the cases) the sampler
   records that in the study (system attribute ``metahpo:guard``), skips any warm starts left
   and switches the surrogate prior off, so that the base sampler proceeds on its own. A test
   rather than a threshold on the correlation: with three results any ordering is reversed or
   not by chance half the time, and a guard that fires on noise discards good warm starts.

It is a plain Optuna sampler: ``optuna.create_study(sampler=MetaSampler(...))`` works with any
objective. Warm-start values are used for the parameters the objective asks for by the same
name (values outside the objective's range are clipped); other parameters come from the base
sampler.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.samplers import BaseSampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from metahpo.optimizers._space_sampler import all_trials, fit_to, plain

#: Trial system attribute: the index of the warm start the trial evaluates (for display).
WARM_ATTR = "metahpo:warm"
#: Trial system attribute: that warm start itself, ``{"params": ..., "predicted": ...}``, so
#: that a study resumed with another warm-start list (or another worker's sampler) knows
#: which configurations were evaluated and what was predicted for them.
WARM_CONFIG_ATTR = "metahpo:warm_config"
GUARD_ATTR = "metahpo:guard"


@dataclass
class SurrogatePrior:
    """A performance surrogate turned into a prior mean in the study's own units.

    The surrogate predicts a normalised score; ``value ≈ a + b · prediction`` is fitted by least
    squares on the study's completed trials (``b ≥ 0`` for a maximised objective, ``b ≤ 0`` for a
    minimised one). Until two trials are complete the prior is flat. ``enabled = False`` turns
    it off (the guard does so when the surrogate is wrong for this task).
    """

    predict: Callable[[list[dict[str, Any]]], np.ndarray]
    maximize: bool = True
    a: float = 0.0
    b: float = 0.0
    enabled: bool = True

    def observe(self, study: Study) -> None:
        if study._is_multi_objective():
            self.a, self.b = 0.0, 0.0
            return
        self.maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
        done = [
            t
            for t in all_trials(study, states=(TrialState.COMPLETE,))
            if t.value is not None and math.isfinite(t.value)  # Optuna accepts +-inf
        ]
        values = np.asarray([t.value for t in done], dtype=float)
        if len(done) < 2 or not self.enabled:
            self.a = float(values.mean()) if len(done) else 0.0
            self.b = 0.0
            return
        pred = self.predict([t.params for t in done])
        var = float(np.var(pred))
        if var < 1e-12:
            self.a, self.b = float(values.mean()), 0.0
            return
        b = float(np.cov(pred, values, bias=True)[0, 1] / var)
        b = max(b, 0.0) if self.maximize else min(b, 0.0)
        self.b = b
        self.a = float(values.mean() - b * pred.mean())

    def __call__(self, params: list[dict[str, Any]]) -> np.ndarray:
        if not self.enabled or self.b == 0.0:
            return np.full(len(params), self.a)
        return self.a + self.b * self.predict(params)


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

    Hooks are called by Optuna in this order for every trial: ``before_trial``,
    ``infer_relative_search_space``, ``sample_relative``, ``sample_independent`` (per parameter
    not sampled relatively), ``after_trial``.
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
        self._assigned: dict[int, dict[str, Any]] = {}  # trial id -> warm-start record
        self.guard_message: str | None = None

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

    def _claim(self, study: Study, trial: FrozenTrial) -> int | None:
        """The warm start for a new trial, safe when several workers share the study.

        Warm starts already evaluated (by any worker, in any earlier run, whatever warm-start
        list that run had) are skipped. Trials of other workers that started before this one
        (a lower number) and have not claimed yet may be about to take the next free warm
        starts, so this trial takes the free warm start after theirs: trial numbers are
        unique, so two workers never take the same one. Only trials since the last finished
        ordinary trial count as such competitors. All of the study's trials count, also when
        a pruner shows the sampler only some of them (Hyperband's brackets).
        """
        trials = all_trials(study)
        used = set()
        for t in trials:
            record = self._record(t)
            if record is not None:
                used.add(_config_key(record["params"]))
            fixed = t.system_attrs.get("fixed_params")
            if fixed:  # the user enqueued this very configuration: not twice
                used.add(_config_key(fixed))
        free = [i for i, c in enumerate(self.warm_start) if _config_key(c) not in used]
        ordinary = [
            t.number
            for t in trials
            if t.state.is_finished() and t.system_attrs.get(WARM_ATTR) is None
        ]
        start = max(ordinary, default=-1) + 1
        ahead = sum(
            1
            for t in trials
            if start <= t.number < trial.number
            and not t.state.is_finished()
            and t.system_attrs.get(WARM_ATTR) is None
            and "fixed_params" not in t.system_attrs
            and not t.params  # parameters set: it has passed the point of claiming
        )
        return free[ahead] if ahead < len(free) else None

    def _guarded(self, study: Study) -> bool:
        return self.guard_message is not None or guard_message(study) is not None

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        if self.prior is not None:
            if self._guarded(study):
                self.prior.enabled = False
            self.prior.observe(study)
        record = self._record(trial)
        if record is not None:  # a retried warm-start trial
            self._assigned[trial._trial_id] = record
        elif "fixed_params" in trial.system_attrs or trial.params:
            # An enqueued trial, or a retried ordinary one (its parameters are set already):
            # not a warm start, keep the warm starts for later trials.
            pass
        elif self.warm_start and not self._guarded(study):
            idx = self._claim(study, trial)
            if idx is not None:
                predicted = self.predicted[idx] if self.predicted is not None else None
                record = {
                    "params": {k: plain(v) for k, v in self.warm_start[idx].items()},
                    "predicted": None if predicted is None else float(predicted),
                }
                study._storage.set_trial_system_attr(trial._trial_id, WARM_ATTR, idx)
                study._storage.set_trial_system_attr(trial._trial_id, WARM_CONFIG_ATTR, record)
                self._assigned[trial._trial_id] = record
        self.base_sampler.before_trial(study, trial)

    def is_warm(self, trial: FrozenTrial) -> bool:
        return trial._trial_id in self._assigned

    # -- the three sampler methods -----------------------------------------------------------
    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        if self.is_warm(trial):
            return {}
        return self.base_sampler.infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if self.is_warm(trial):
            return {}
        return self.base_sampler.sample_relative(study, trial, search_space)

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        record = self._assigned.get(trial._trial_id)
        if record is not None and param_name in record["params"]:
            value = fit_to(record["params"][param_name], param_distribution)
            if value is not None:
                return value
        return self.base_sampler.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._assigned.pop(trial._trial_id, None)
        self.base_sampler.after_trial(study, trial, state, values)
        if state == TrialState.COMPLETE and not self._guarded(study):
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
            if t._trial_id != current._trial_id
        ]
        if values:
            results.append((self._record(current), float(values[0])))
        # Infinite values count (a diverging warm start is strong evidence); NaN does not.
        pairs = [
            (float(record["predicted"]), float(v))
            for record, v in results
            if record is not None
            and record.get("predicted") is not None
            and v is not None
            and not math.isnan(v)
        ]
        if len(pairs) < 3:
            return
        from scipy.stats import kendalltau, rankdata

        pred, obs = np.asarray(pairs).T
        if study.direction == optuna.study.StudyDirection.MINIMIZE:
            obs = -obs
        obs = rankdata(obs)  # infinities become ranks; equal ones tie
        if np.ptp(pred) == 0 or np.ptp(obs) == 0:
            return

        test = kendalltau(pred, obs, alternative="less")
        tau, p = float(test.statistic), float(test.pvalue)
        if p <= self.guard_level:
            self.guard_message = (
                f"meta-learned predictions disagree with the first {len(pairs)} results "
                f"(Kendall tau {tau:.2f}, one-sided p = {p:.3f}); "
                "continuing with the base sampler alone"
            )
            study._storage.set_study_system_attr(study._study_id, GUARD_ATTR, self.guard_message)
            if self.prior is not None:
                self.prior.enabled = False


def guard_message(study: Study) -> str | None:
    """What the negative-transfer guard said in this study, if it fired."""
    attrs = study._storage.get_study_system_attrs(study._study_id)
    msg = attrs.get(GUARD_ATTR)
    return str(msg) if msg is not None else None


#: Confidence below which only half the warm starts are used.
LOW_CONFIDENCE = 0.5
BASES = ("tpe", "gp", "cmaes", "evolution", "transfer", "rl", "maml", "random")
#: The refinement used unless one is chosen: measured best in the replay and live benchmarks.
DEFAULT_BASE = "transfer"


@dataclass(frozen=True)
class MetaPlan:
    """What :func:`make_meta_sampler` decided, for reporting."""

    sampler: MetaSampler
    suggestions: tuple[Any, ...]
    confidence: float
    out_of_distribution: bool
    strategy: str
    base: str


def _source_trials(
    learner: Any,
    metafeatures: np.ndarray,
    space: Any,
    direction: str,
    n_tasks: int = 5,
    top: int = 20,
) -> list[FrozenTrial]:
    """Good trials of the most similar training tasks, as Optuna trials (for WS-CMA-ES).

    Experience is encoded in the built-in space (``learner.space_``); configurations are
    decoded there, then transferred into ``space`` by parameter name. Only the parameters
    CMA-ES samples (numeric, more than one value) are kept: Optuna's CMA-ES ignores source
    trials whose parameters differ from its search space.
    """
    dists = {
        name: d
        for name, d in space.distributions().items()
        if not isinstance(d, CategoricalDistribution) and not d.single()
    }
    if not dists:
        return []
    out = []
    for config, score in _similar_configs(learner, metafeatures, space, n_tasks, top):
        params = {name: config[name] for name in dists}
        value = score if direction == "maximize" else -score
        out.append(optuna.trial.create_trial(params=params, distributions=dists, value=value))
    return out


def _similar_configs(
    learner: Any, metafeatures: np.ndarray, space: Any, n_tasks: int, top: int
) -> list[tuple[dict[str, Any], float]]:
    """The ``top`` best configurations of each of the ``n_tasks`` most similar training tasks
    (nearest task first, best first), transferred into ``space``, with their normalised score.
    """
    from metahpo.metalearners import normalized_scores

    exp, ts, builtin = learner.experience_, learner.task_space_, learner.space_
    order = np.argsort(ts.distances(metafeatures), kind="stable")[:n_tasks]
    out = []
    for i in order:
        task = exp.tasks[i]
        s = normalized_scores(task)
        for j in np.argsort(-s, kind="stable")[:top]:
            out.append((space.transfer(builtin.decode(task.X[j]))[0], float(s[j])))
    return out


def make_meta_sampler(
    metafeatures: np.ndarray,
    family: str,
    task: str,
    *,
    experience: Any = None,
    strategy: str = "portfolio",
    n_warm_start: int = 5,
    base: str = DEFAULT_BASE,
    direction: str = "maximize",
    space: Any = None,
    seed: int | None = 0,
    guard_level: float = 0.05,
    base_model: Any = None,
    learner: Any = None,
) -> MetaPlan:
    """A :class:`MetaSampler` for a new task of ``family`` described by ``metafeatures``.

    Args:
        metafeatures: The new task's meta-feature vector (order of the experience's names).
        family, task: Model family and task type.
        experience: An :class:`~metahpo.knowledge.Experience` (default: the bundled one).
        strategy: Meta-learner choosing the warm starts (``nearest``, ``portfolio``,
            ``surrogate``, ``mapping``).
        n_warm_start: Warm-start trials. The library default is one of them: first when
            the task is out of distribution (farther from every training task than the
            training tasks' 95th percentile spacing) or when the meta-learner ranks it first,
            else second (so a single confident warm start is the meta-learned best alone).
            Below :data:`LOW_CONFIDENCE` only half as many warm starts are used, so that the
            base sampler takes over sooner, and the default is always among them.
            Suggestions that coincide once transferred into ``space`` are evaluated once.
        base: Refinement: ``tpe``, ``gp`` (GP-EI whose prior mean is the performance surrogate),
            ``cmaes`` (CMA-ES warm-started from similar tasks' good trials), ``evolution`` (an
            evolutionary search whose first parents are the warm starts and similar tasks' best
            configurations), ``transfer`` (past tasks' configurations ranked by the tasks'
            agreement with this study's results so far, TST-R style, for the first 25 trials,
            then multivariate TPE; see :class:`~metahpo.optimizers.TransferSampler`), ``rl``
            (a search policy learned by Q-learning on replayed
            searches over the experience: which move, among the meta-learner's next
            recommendation, refining the best, recombining good ones and random exploration,
            pays at each stage; see :class:`~metahpo.optimizers.PolicySampler`), ``maml`` (a
            neural surrogate meta-trained with Reptile, first-order MAML, adapted to the
            study's trials at every step; torch extra) or ``random``.
        direction: The study's direction (needed for CMA-ES source trials and the prior).
        space: The search space the objective uses (default: the built-in one); suggestions
            are transferred into it by parameter name.
        seed: Seed of the base sampler.
        guard_level: Significance level of the negative-transfer guard (see
            :class:`MetaSampler`).
        base_model: For ``rl`` and ``maml``: the policy or meta-trained surrogate, already
            trained on this experience by :func:`meta_train_base`, to reuse across runs
            instead of training one for this call.
        learner: A meta-learner of ``strategy`` already fitted on this experience's tasks of
            ``family`` and ``task`` (as :func:`~metahpo.metalearners.fit_strategy` fits it),
            to reuse across runs instead of fitting one for this call.
    """
    from metahpo.errors import MetaHPOError
    from metahpo.knowledge import load_bundled
    from metahpo.metalearners import PerformanceSurrogate, get_strategy, with_metafeatures
    from metahpo.spaces import get_space

    learner_class = get_strategy(strategy)
    if base not in BASES:
        raise MetaHPOError(f"unknown base sampler {base!r}; choose one of {', '.join(BASES)}")
    if base_model is not None and base not in ("rl", "maml"):
        raise MetaHPOError(f"base {base!r} has no meta-trained model to pass as base_model")
    builtin = get_space(family, task)
    space = space or builtin
    experience = experience if experience is not None else load_bundled()
    own = with_metafeatures(experience.select(family=family, task=task))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if len(own) == 0:
            # No experience for this family: the library default, then the base sampler.
            base_sampler = _base_sampler(base, seed, None, [], space=space)
            sampler = MetaSampler([space.default_config()], base_sampler=base_sampler, seed=seed)
            return MetaPlan(sampler, (), 0.0, True, strategy, base)
        if learner is None:
            learner = learner_class().fit(own)
        elif not isinstance(learner, learner_class) or learner.task_space_ is None:
            raise MetaHPOError(f"learner must be a fitted {learner_class.__name__}")
        mf = np.asarray(metafeatures, dtype=float)
        n = max(n_warm_start, 1)
        # More suggestions than slots: some may coincide once transferred into the user's
        # space (clipped to a narrower range, say), and a repeat would waste a trial.
        suggestions = learner.suggest(mf, k=2 * n)
        assert learner.task_space_ is not None
        dist = learner.task_space_.distances(mf)
        confidence = learner.task_space_.confidence(dist)
        ood = learner.task_space_.out_of_distribution(dist)
        default = space.default_config()
        warm: list[dict[str, Any]] = []
        predicted: list[float] = []
        default_score: float | None = None
        for s in suggestions:
            config = space.transfer(s.params)[0]
            if config == default:
                default_score = s.predicted_score if default_score is None else default_score
            elif config not in warm:
                warm.append(config)
                predicted.append(s.predicted_score)
        top_is_default = bool(suggestions) and space.transfer(suggestions[0].params)[0] == default
        if default_score is None:
            default_score = float(np.nanmedian(predicted)) if predicted else 0.5
        # Out of distribution: the default first. Otherwise the meta-learned best first and the
        # default second (first when the meta-learner itself ranks it first): either way the
        # best of the first two is never worse than the default.
        at = 0 if ood or top_is_default else min(1, len(warm))
        if confidence < LOW_CONFIDENCE:
            n = max(1, n // 2)
            at = min(at, n - 1)  # unsure: the default must stay among the warm starts
        warm.insert(at, default)
        predicted.insert(at, default_score)
        warm, predicted = warm[:n], predicted[:n]
        prior = None
        if base == "gp":
            surrogate = (
                learner
                if isinstance(learner, PerformanceSurrogate)
                else PerformanceSurrogate(seed=seed or 0).fit(own)
            )
            assert isinstance(surrogate, PerformanceSurrogate)

            def predict(params: list[dict[str, Any]]) -> np.ndarray:
                configs = [builtin.transfer(p)[0] for p in params]
                return np.asarray(surrogate.predict_configs(mf, configs), dtype=float)

            prior = SurrogatePrior(predict, maximize=direction == "maximize")
        sources = _source_trials(learner, mf, space, direction) if base == "cmaes" else []
        seeds = (
            [*warm, *(c for c, _ in _similar_configs(learner, mf, space, n_tasks=5, top=4))]
            if base == "evolution"
            else []
        )
        trained = base_model
        if trained is None and base in ("rl", "maml"):
            trained = meta_train_base(own, family, task, base, seed or 0)
        if base == "maml":
            from metahpo.optimizers._maml import MAMLSampler, MetaTrainedSurrogate

            if not isinstance(trained, MetaTrainedSurrogate):
                raise MetaHPOError("base_model for base 'maml' must be a MetaTrainedSurrogate")
            base_sampler = MAMLSampler(space, trained, seed=seed)
        elif base == "transfer":
            base_sampler = _transfer_sampler(learner, mf, space, seed)
        elif base == "rl":
            from metahpo.optimizers._policy import PolicySampler, QPolicy

            if not isinstance(trained, QPolicy):
                raise MetaHPOError("base_model for base 'rl' must be a QPolicy")
            ranked = [*warm, *(space.transfer(x.params)[0] for x in suggestions)]
            base_sampler = PolicySampler(space, trained, ranked, seed=seed)
        else:
            base_sampler = _base_sampler(
                base, seed, prior, sources, startup=len(warm), space=space, seeds=seeds
            )
        sampler = MetaSampler(
            warm,
            predicted=predicted,
            base_sampler=base_sampler,
            prior=prior,
            guard_level=guard_level,
            seed=seed,
        )
    return MetaPlan(sampler, tuple(suggestions), confidence, ood, strategy, base)


def meta_train_base(experience: Any, family: str, task: str, base: str, seed: int = 0) -> Any:
    """The meta-trained part of a base sampler, trained on the experience of one family and
    task type: a :class:`~metahpo.optimizers.QPolicy` for ``rl``, a
    :class:`~metahpo.optimizers.MetaTrainedSurrogate` for ``maml`` (torch extra), ``None`` for
    the other bases. Train once, pass it to :func:`make_meta_sampler` as ``base_model`` for
    every run on that experience.
    """
    from metahpo.metalearners import with_metafeatures
    from metahpo.spaces import get_space

    own = with_metafeatures(experience.select(family=family, task=task))
    builtin = get_space(family, task)
    if base == "rl":
        from metahpo.optimizers._policy import QPolicy

        return QPolicy.fit(own, builtin, seed=seed)
    if base == "maml":
        from metahpo.optimizers._maml import MetaTrainedSurrogate

        return MetaTrainedSurrogate(seed=seed).fit(own, builtin)
    return None


def _transfer_sampler(learner: Any, metafeatures: np.ndarray, space: Any, seed: int | None) -> Any:
    """A :class:`TransferSampler` over the tasks ``learner`` was fitted on."""
    from metahpo.metalearners import normalized_scores
    from metahpo.optimizers._transfer import TransferSampler

    tasks = learner.experience_.tasks
    return TransferSampler(
        space,
        learner.space_,
        [t.X for t in tasks],
        [normalized_scores(t) for t in tasks],
        learner.task_space_.distances(metafeatures),
        seed=seed,
    )


def _builtin_of(space: Any) -> Any:
    """The built-in space of ``space``'s family and task (encodes like the experience)."""
    from metahpo.spaces import get_space

    return get_space(space.family, space.task)


def _base_sampler(
    base: str,
    seed: int | None,
    prior: SurrogatePrior | None,
    sources: list[FrozenTrial],
    startup: int = 10,
    space: Any = None,
    seeds: Sequence[Mapping[str, Any]] = (),
) -> BaseSampler:
    if base in ("tpe", "transfer"):  # transfer without experience: nothing to transfer
        # The warm starts are the start-up trials: TPE models from the first trial after them
        # instead of spending its default ten on random search.
        return optuna.samplers.TPESampler(
            seed=seed, multivariate=True, n_startup_trials=max(startup, 2)
        )
    if base == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if base == "evolution":
        from metahpo.optimizers._evolution import SeededEvolutionSampler

        return SeededEvolutionSampler(space, seeds, seed=seed)
    if base == "maml":  # no experience to meta-train on: an untrained network, adapted
        from metahpo.optimizers._maml import MAMLSampler, MetaTrainedSurrogate

        untrained = MetaTrainedSurrogate(seed=seed or 0).fit(None, _builtin_of(space))
        return MAMLSampler(space, untrained, seed=seed)
    if base == "rl":  # no experience to learn a policy from: explore at random
        from metahpo.optimizers._policy import PolicySampler, QPolicy

        return PolicySampler(space, QPolicy(), seed=seed)
    if base == "cmaes":
        return optuna.samplers.CmaEsSampler(
            seed=seed,
            source_trials=sources or None,
            warn_independent_sampling=False,
            independent_sampler=optuna.samplers.RandomSampler(seed=seed),
        )
    from metahpo.optimizers._gp import GPEISampler

    return GPEISampler(seed=seed, prior_mean=prior)


def _config_key(config: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """A configuration as a hashable key (values as plain Python scalars)."""
    return tuple(sorted((str(k), plain(v)) for k, v in config.items()))

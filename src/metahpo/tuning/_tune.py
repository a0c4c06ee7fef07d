"""Tuning one model family on one dataset, as a resumable Optuna study in a real store."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import optuna
from optuna.storages import BaseStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState

from metahpo.datasets import Dataset
from metahpo.errors import KnowledgeBaseError, MetaHPOError
from metahpo.evaluation import evaluate, get_metric, make_folds
from metahpo.knowledge import (
    DEFAULT_STORAGE,
    Experience,
    KnowledgeStore,
    TaskRecord,
    from_store,
    load_bundled,
    open_storage,
)
from metahpo.knowledge._records import (
    TRIAL_ERROR_ATTR,
    TRIAL_FIT_TIME_ATTR,
    TRIAL_FOLDS_ATTR,
    TRIAL_METRICS_ATTR,
)
from metahpo.optimizers import DEFAULT_BASE, MetaPlan, classic_sampler, make_meta_sampler
from metahpo.optimizers._meta import guard_message
from metahpo.spaces import SearchSpace, build_estimator, get_family

#: Seconds between heartbeats of a running trial; a trial whose heartbeat is older than
#: :data:`GRACE_PERIOD` belongs to a dead process and is failed, then retried with the same
#: parameters by the next run on the study.
HEARTBEAT_INTERVAL = 5
GRACE_PERIOD = 15


class _FailedTrial(Exception):
    """A configuration that could not be evaluated (recorded as a FAIL trial)."""


@dataclass(frozen=True)
class TuneResult:
    """Outcome of :func:`tune`.

    Attributes:
        best_value: Best mean CV score (in the metric's own units).
        best_std: Its standard deviation over folds.
        best_params: The best configuration.
        metric, direction: The objective.
        n_trials: Completed trials in the study (earlier runs included).
        n_new: Trials completed by this call.
        n_failed: Failed trials in the study.
        study, storage: Where the run is stored.
        model, task, dataset: What was tuned.
    """

    best_value: float
    best_std: float
    best_params: dict[str, Any]
    metric: str
    direction: str
    n_trials: int
    n_new: int
    n_failed: int
    study: str
    storage: str
    model: str
    task: str
    dataset: str
    optimizer: str
    trials: list[dict[str, Any]] = field(default_factory=list, repr=False)
    meta: dict[str, Any] | None = None

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "best_value": self.best_value,
            "best_std": self.best_std,
            "best_params": self.best_params,
            "metric": self.metric,
            "direction": self.direction,
            "n_trials": self.n_trials,
            "n_failed": self.n_failed,
            "study": self.study,
            "storage": self.storage,
            "model": self.model,
            "task": self.task,
            "dataset": self.dataset,
            "optimizer": self.optimizer,
            "meta": self.meta,
        }


def default_study_name(
    dataset: Dataset, family: str, metric: str, optimizer: str, seed: int
) -> str:
    """Deterministic name, so that running the same command again resumes the same study."""
    return f"{dataset.name}:{family}:{metric}:{optimizer}:s{seed}"


def _storage_with_heartbeat(url: str | BaseStorage) -> str | BaseStorage:
    if isinstance(url, str) and "://" in url:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return open_storage(
                    url,
                    heartbeat_interval=HEARTBEAT_INTERVAL,
                    grace_period=GRACE_PERIOD,
                    heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1),
                )
        except KnowledgeBaseError:  # an unusable URL: let KnowledgeStore report it in one line
            return url
    return url


def suggest_config(trial: optuna.Trial, space: SearchSpace) -> dict[str, Any]:
    """Ask ``trial`` for every parameter of ``space`` (its Optuna distribution), in order."""
    config: dict[str, Any] = {}
    for p in space.params:
        if p.kind == "categorical":
            config[p.name] = trial.suggest_categorical(p.name, list(p.choices))
        elif p.kind == "int":
            assert p.low is not None and p.high is not None
            config[p.name] = trial.suggest_int(p.name, int(p.low), int(p.high), log=p.log)
        else:
            assert p.low is not None and p.high is not None
            config[p.name] = trial.suggest_float(p.name, p.low, p.high, log=p.log)
    return config


def _plan(
    dataset: Dataset,
    family: str,
    metafeatures: Mapping[str, float],
    store: KnowledgeStore | None,
    experience: Experience | None,
    exclude: str | None = None,
    **kwargs: Any,
) -> tuple[MetaPlan, Experience]:
    """The meta-sampler plan for ``dataset`` and the experience it learned from (default: the
    bundled experience plus every run in ``store``; the study ``exclude`` left out)."""
    if experience is None:
        bundled = load_bundled()
        names = bundled.metafeature_names or tuple(metafeatures)
        experience = bundled + from_store(store, names) if store is not None else bundled
    if exclude is not None:
        experience = replace(
            experience, tasks=tuple(t for t in experience.tasks if t.key != exclude)
        )
    names = experience.metafeature_names or tuple(metafeatures)
    vector = np.asarray([metafeatures.get(k, 0.0) for k in names], dtype=float)
    plan = make_meta_sampler(vector, family, dataset.task, experience=experience, **kwargs)
    return plan, experience


def meta_sampler_for(
    dataset: Dataset,
    family: str,
    *,
    metric: str | None = None,
    storage: str | BaseStorage | None = None,
    experience: Experience | None = None,
    strategy: str = "portfolio",
    n_warm_start: int = 5,
    base: str = DEFAULT_BASE,
    space: SearchSpace | None = None,
    seed: int = 0,
) -> MetaPlan:
    """A :class:`~metahpo.optimizers.MetaSampler` for ``dataset``, ready for any Optuna study.

    Computes the dataset's meta-features, places it among the experience (the bundled one,
    plus every run in ``storage`` if given) and plans the warm starts; the plan's ``sampler``
    goes into ``optuna.create_study(sampler=...)`` with your own objective, whose parameters
    should be named like the family's space (``get_space(family, task)``, or ``space``).

    Args:
        dataset: The new task.
        family: Model family whose experience to use.
        metric: Decides the direction (default balanced accuracy / R², both maximised).
        storage: Also learn from the metahpo runs in this Optuna storage.
        experience: Learn from this experience instead.
        strategy, n_warm_start, base, space, seed: See
            :func:`~metahpo.optimizers.make_meta_sampler`.

    Example:
        >>> plan = meta_sampler_for(load_dataset("iris"), "knn")  # doctest: +SKIP
        >>> sampler = plan.sampler  # doctest: +SKIP
        >>> study = optuna.create_study(direction="maximize", sampler=sampler)  # doctest: +SKIP
    """
    from metahpo.metafeatures import compute_metafeatures

    get_family(family)
    if space is not None and space.task != dataset.task:
        raise MetaHPOError(f"search space is for {space.task}, the dataset is {dataset.task}")
    direction = get_metric(metric, dataset.task).direction
    store = KnowledgeStore(storage) if storage is not None else None
    plan, _ = _plan(
        dataset,
        family,
        compute_metafeatures(dataset, seed=seed),
        store,
        experience,
        strategy=strategy,
        n_warm_start=n_warm_start,
        base=base,
        direction=direction,
        space=space,
        seed=seed,
    )
    return plan


def tune(
    dataset: Dataset,
    family: str,
    *,
    metric: str | None = None,
    budget: int = 30,
    optimizer: str | optuna.samplers.BaseSampler = "meta",
    storage: str | BaseStorage = DEFAULT_STORAGE,
    study_name: str | None = None,
    seed: int = 0,
    timeout: float | None = None,
    folds: int = 5,
    trial_time_limit: float | None = None,
    space: SearchSpace | None = None,
    callbacks: Sequence[Callable[[optuna.Study, FrozenTrial], None]] = (),
    metafeatures: dict[str, float] | None = None,
    strategy: str = "portfolio",
    warm_start: int = 5,
    base: str = DEFAULT_BASE,
    experience: Experience | None = None,
) -> TuneResult:
    """Tune ``family`` on ``dataset`` with cross-validation; resumable.

    The run is an Optuna study in ``storage`` that also carries metahpo's task record, so it
    becomes experience for later runs. Calling again with the same study name resumes: completed
    trials are kept and count towards ``budget``; trials of a process that died are failed after
    :data:`GRACE_PERIOD` seconds and their parameters retried.

    Args:
        dataset: The task.
        family: Model family (``hgb``, ``rf``, ``svm``, ``linear``, ``knn``, ``mlp``).
        metric: Objective (default balanced accuracy / R²).
        budget: Total completed trials wanted in the study, shared by every worker that runs
            it at the same time (start the same call in several processes or machines on one
            storage to tune in parallel).
        optimizer: ``"meta"`` (default: meta-learned warm start, then ``base``), a classic
            optimizer name, or any Optuna sampler.
        storage: Optuna storage URL or object.
        study_name: Default :func:`default_study_name`.
        seed: Seeds folds, models and the sampler.
        timeout: Stop starting new trials after this many seconds.
        folds: Cross-validation folds.
        trial_time_limit: Per-trial limit in seconds (checked between folds).
        space: A custom search space for the family (default: the built-in one).
        callbacks: Optuna callbacks, called after each trial (progress bars use this).
        metafeatures: Meta-features of the dataset to store with the run (computed if ``None``).
        strategy: Meta-learner choosing the warm starts (``optimizer="meta"``).
        warm_start: Number of warm-start trials (``optimizer="meta"``).
        base: Refining sampler after the warm start (default ``transfer``; any name in
            :data:`~metahpo.optimizers.BASES`, see :func:`~metahpo.optimizers.make_meta_sampler`).
        experience: Experience to learn from (default: the bundled experience plus every run
            in ``storage``, so each finished run improves the next one).
    """
    fam = get_family(family)
    space = space or fam.space(dataset.task)
    if space.task != dataset.task:
        raise MetaHPOError(f"search space is for {space.task}, the dataset is {dataset.task}")
    if budget < 1:
        raise MetaHPOError(f"--budget must be at least 1, got {budget}")
    m = get_metric(metric, dataset.task)
    splits = make_folds(dataset, folds, seed)
    opt_name = optimizer if isinstance(optimizer, str) else type(optimizer).__name__
    name = study_name or default_study_name(dataset, family, m.name, opt_name, seed)
    store = KnowledgeStore(_storage_with_heartbeat(storage))
    if metafeatures is None:
        from metahpo.metafeatures import compute_metafeatures

        metafeatures = compute_metafeatures(dataset, seed=seed)
    meta_info: dict[str, Any] | None = None
    sampler: optuna.samplers.BaseSampler
    if optimizer == "meta":
        plan, experience = _plan(
            dataset,
            family,
            metafeatures,
            store,
            experience,
            exclude=name,
            strategy=strategy,
            n_warm_start=warm_start,
            base=base,
            direction=m.direction,
            space=space,
            seed=seed,
        )
        sampler = plan.sampler
        meta_info = {
            "strategy": strategy,
            "base": base,
            "warm_start": len(plan.sampler.warm_start),
            "confidence": round(plan.confidence, 4),
            "out_of_distribution": plan.out_of_distribution,
            "neighbors": [list(n) for n in plan.suggestions[0].neighbors]
            if plan.suggestions
            else [],
            "experience_tasks": len(experience.select(family=family, task=dataset.task)),
        }
    elif isinstance(optimizer, str):
        sampler = classic_sampler(optimizer, space, seed=seed, budget=budget)
    else:
        sampler = optimizer
    record = TaskRecord.describe(
        dataset,
        space,
        metric=m.name,
        direction=m.direction,
        metafeatures=metafeatures,
        source="tune",
        folds=folds,
        seed=seed,
    )
    study = store.create_task(name, record)
    study.sampler = sampler
    if study.direction.name.lower() != m.direction:
        raise MetaHPOError(
            f"study {name!r} optimises in the other direction; choose another --study"
        )

    # A user space may add estimator arguments: check them once, before any trial runs.
    build_estimator(fam, space.default_config(), dataset, seed=seed)

    def objective(trial: optuna.Trial) -> float:
        config = suggest_config(trial, space)
        ev = evaluate(
            dataset,
            fam,
            config,
            metric=m.name,
            folds=splits,
            seed=seed,
            time_limit=trial_time_limit,
        )
        trial.set_user_attr(
            TRIAL_METRICS_ATTR, {k: v if math.isfinite(v) else None for k, v in ev.metrics.items()}
        )
        trial.set_user_attr(TRIAL_FOLDS_ATTR, list(ev.fold_values))
        trial.set_user_attr(TRIAL_FIT_TIME_ATTR, round(ev.fit_time, 4))
        if not ev.ok:
            trial.set_user_attr(TRIAL_ERROR_ATTR, ev.error or "failed")
            raise _FailedTrial(ev.error)
        return ev.value

    def complete() -> int:
        return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))

    before = complete()
    remaining = budget - before
    if remaining > 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        # Several workers may run the same study (same storage and study name, e.g. one
        # PostgreSQL database): each stops once the study as a whole holds ``budget`` completed
        # trials, not after its own share.
        stop_at_budget = optuna.study.MaxTrialsCallback(budget, states=(TrialState.COMPLETE,))
        study.optimize(
            objective,
            n_trials=remaining,
            timeout=timeout,
            catch=(_FailedTrial,),
            callbacks=[*callbacks, stop_at_budget],
            gc_after_trial=False,
        )
    url = storage if isinstance(storage, str) else type(storage).__name__
    if meta_info is not None:
        meta_info["guard"] = guard_message(study)
    return replace(_result(study, url, family, dataset, m.name, opt_name, before), meta=meta_info)


def _result(
    study: optuna.Study,
    storage: str,
    family: str,
    dataset: Dataset,
    metric: str,
    optimizer: str,
    before: int,
) -> TuneResult:
    trials = study.get_trials(deepcopy=False)
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    failed = sum(t.state == TrialState.FAIL for t in trials)
    if not done:
        errors = {t.user_attrs.get(TRIAL_ERROR_ATTR) for t in trials if t.state == TrialState.FAIL}
        detail = "; ".join(sorted(e for e in errors if e))[:300]
        raise MetaHPOError(
            f"no trial completed in study {study.study_name!r}" + (f": {detail}" if detail else "")
        )
    best = study.best_trial
    folds_values = [v for v in best.user_attrs.get(TRIAL_FOLDS_ATTR, []) if v is not None]
    std = float(np.std(folds_values)) if folds_values else 0.0
    return TuneResult(
        best_value=float(best.value),  # type: ignore[arg-type]
        best_std=std,
        best_params=dict(best.params),
        metric=metric,
        direction=study.direction.name.lower(),
        n_trials=len(done),
        n_new=len(done) - before,
        n_failed=failed,
        study=study.study_name,
        storage=storage,
        model=family,
        task=dataset.task,
        dataset=dataset.name,
        optimizer=optimizer,
        trials=[{"number": t.number, "value": t.value, "params": t.params} for t in done],
    )

"""Preparing a tuning run: its settings, storage, sampler, study and objective.

Shared by :func:`~metahpo.tuning.tune` and its worker processes
(:mod:`metahpo.tuning._parallel`), which open the same study and run the same objective.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import optuna
from optuna.storages import BaseStorage
from optuna.trial import TrialState

from metahpo.datasets import Dataset
from metahpo.errors import KnowledgeBaseError, MetaHPOError
from metahpo.evaluation import Evaluation, FoldCallback, Folds, evaluate
from metahpo.knowledge import (
    DEFAULT_LOCK_TIMEOUT,
    RECORD_ATTR,
    TRIAL_ERROR_ATTR,
    TRIAL_FIT_TIME_ATTR,
    TRIAL_FOLDS_ATTR,
    TRIAL_METRICS_ATTR,
    Experience,
    KnowledgeStore,
    StorageLockedError,
    TaskRecord,
    open_storage,
)
from metahpo.optimizers import TimeCost, classic_sampler, time_cost
from metahpo.spaces import SearchSpace, get_family
from metahpo.tuning._checks import check_base_options_argument
from metahpo.tuning._fidelity import HOLDOUT_FRACTION, FidelityPlan, evaluate_staged
from metahpo.tuning._options import HOLDOUT
from metahpo.tuning._run import TrialFailed, skip_duplicate
from metahpo.tuning._sampler import _plan, suggest_config
from metahpo.tuning._settings import SETTINGS_ATTR, RunSettings, check_resume
from metahpo.tuning._workers import retry_stale

#: Seconds between heartbeats of a running trial. A trial of a worker on another host whose
#: heartbeat is older than :data:`GRACE_PERIOD` belongs to a dead process and is failed, then
#: retried with the same parameters; on this host a dead worker's trial is failed at once
#: (:mod:`metahpo.tuning._workers`).
HEARTBEAT_INTERVAL = 5
GRACE_PERIOD = 15
#: Seconds a SQLite connection waits for another process's write lock by default (Python's
#: default is 5; worker processes of one run write the same file); ``$METAHPO_LOCK_TIMEOUT``
#: sets another (:func:`metahpo.knowledge._locks.lock_timeout`).
SQLITE_TIMEOUT = DEFAULT_LOCK_TIMEOUT
#: Trials a classic sampler plans for (grid size, population) when a run has no budget.
PLANNED_TRIALS = 50


@contextmanager
def quiet_optuna() -> Iterator[None]:
    """Optuna's logging at WARNING at least while the block runs (no INFO line per trial: the
    library never prints), restored afterwards; a caller's quieter level is kept."""
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(max(verbosity, optuna.logging.WARNING))
    try:
        yield
    finally:
        optuna.logging.set_verbosity(verbosity)


def storage_with_heartbeat(url: str | BaseStorage) -> str | BaseStorage:
    """The storage of a run: for a database URL, an RDB storage with a heartbeat (and, for
    SQLite, a bounded lock wait: :data:`SQLITE_TIMEOUT` seconds unless configured)."""
    if isinstance(url, str) and "://" in url:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return open_storage(
                    url,
                    heartbeat_interval=HEARTBEAT_INTERVAL,
                    grace_period=GRACE_PERIOD,
                    heartbeat_stale_trial_callback=retry_stale,
                )
        except StorageLockedError:  # waited already: do not wait again below
            raise
        except KnowledgeBaseError:  # an unusable URL: let KnowledgeStore report it in one line
            return url
    return url


@dataclass(frozen=True)
class Prepared:
    """A run planned: what :func:`tune` stores, runs and reports on."""

    settings: RunSettings
    record: TaskRecord
    space: SearchSpace
    sampler: optuna.samplers.BaseSampler
    meta: dict[str, Any] | None
    pruner: optuna.pruners.BasePruner | None = None


def run_settings(
    dataset: Dataset,
    space: SearchSpace,
    metric: str,
    direction: str,
    folds: int,
    seed: int,
    optimizer: str | optuna.samplers.BaseSampler,
    strategy: str,
    base: str,
    base_options: Mapping[str, Any] | None = None,
    fidelity: str = "none",
) -> RunSettings:
    opt_name = optimizer if isinstance(optimizer, str) else type(optimizer).__name__
    options = check_base_options_argument(optimizer, base, base_options, "tune")
    return RunSettings(
        metric=metric,
        direction=direction,
        folds=folds,
        seed=seed,
        space_signature=space.signature,
        n_rows=dataset.n_rows,
        optimizer=opt_name,
        base=base if optimizer == "meta" else None,
        strategy=strategy if optimizer == "meta" else None,
        base_options=RunSettings.options_tuple(options),
        fidelity=fidelity,
    )


def make_sampler(
    settings: RunSettings,
    optimizer: str | optuna.samplers.BaseSampler,
    dataset: Dataset,
    space: SearchSpace,
    store: KnowledgeStore,
    name: str,
    budget: int | None,
    warm_start: int,
    metafeatures: Mapping[str, float],
    experience: Experience | None,
    clock: tuple[float, float] | None = None,
) -> tuple[optuna.samplers.BaseSampler, dict[str, Any] | None, Experience | None]:
    """The run's sampler, what the meta-learner planned (``None``: not ``meta``) and the
    experience it learned from. ``clock`` (a run with a timeout: ``time.time()`` of its
    deadline and the timeout's seconds) makes the meta-learned refinement cost-aware
    (:func:`~metahpo.optimizers.time_cost`)."""
    if not isinstance(optimizer, str):
        return optimizer, None, experience
    if optimizer != "meta":
        planned = budget or PLANNED_TRIALS
        return classic_sampler(optimizer, space, seed=settings.seed, budget=planned), None, None
    assert settings.strategy is not None and settings.base is not None
    plan, experience = _plan(
        dataset,
        space.family,
        metafeatures,
        store,
        experience,
        exclude=name,
        strategy=settings.strategy,
        n_warm_start=warm_start,
        base=settings.base,
        direction=settings.direction,
        space=space,
        seed=settings.seed,
        base_options=dict(settings.base_options),
        cost=None if clock is None else _time_cost(dataset, space.family, clock, settings.folds),
    )
    meta = {
        "strategy": settings.strategy,
        "base": settings.base,
        "warm_start": len(plan.sampler.warm_start),
        "confidence": round(plan.confidence, 4),
        "out_of_distribution": plan.out_of_distribution,
        "neighbors": [list(n) for n in plan.suggestions[0].neighbors] if plan.suggestions else [],
        "experience_tasks": len(experience.select(family=space.family, task=dataset.task)),
    }
    return plan.sampler, meta, experience


def _time_cost(
    dataset: Dataset, family: str, clock: tuple[float, float], folds: int
) -> TimeCost | None:
    """What configurations cost in a run that ends at ``clock[0]`` (``time.time()``) after
    ``clock[1]`` seconds, validated on ``folds`` splits (``1``: the holdout split)."""
    rows = dataset.n_rows
    holdout = folds == HOLDOUT
    fits, train = (
        (1, rows * (1 - HOLDOUT_FRACTION)) if holdout else (folds, rows * (folds - 1) / folds)
    )
    return time_cost(dataset, family, clock[1], clock[0], evaluation=(fits, train))


def stored_settings(study: optuna.Study, wanted: RunSettings) -> RunSettings | None:
    """The study's settings; for a study of an earlier version, what its task record says."""
    raw = study.user_attrs.get(SETTINGS_ATTR)
    if raw is not None:
        return RunSettings.from_json(raw)
    task = study.user_attrs.get(RECORD_ATTR)
    if task is None or not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return None
    old = TaskRecord.from_json(task)
    return replace(wanted, folds=old.folds, seed=old.seed, metric=old.metric, fidelity="none")


def stored_choices(store: KnowledgeStore, name: str) -> tuple[int | None, str | None]:
    """The folds and fidelity study ``name`` was run with (``None``: a new study; a study of
    an earlier version: its task record's folds, no fidelities), which a resume keeps unless
    they are given."""
    try:
        study = optuna.load_study(study_name=name, storage=store.storage)
    except KeyError:
        return None, None
    raw = study.user_attrs.get(SETTINGS_ATTR)
    if raw is not None:
        stored = RunSettings.from_json(raw)
        return stored.folds, stored.fidelity
    task = study.user_attrs.get(RECORD_ATTR)
    if task is None or not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return None, None
    return TaskRecord.from_json(task).folds, "none"


def open_study(
    store: KnowledgeStore, name: str, prepared: Prepared, allow_changes: bool
) -> tuple[optuna.Study, list[str]]:
    """The study of the run, created or resumed; refused when it was run with other settings."""
    settings = prepared.settings
    study = store.create_task(name, prepared.record)
    if study.direction.name.lower() != settings.direction:
        raise MetaHPOError(
            f"study {name!r} optimises in the other direction; choose another --study"
        )
    changed = check_resume(name, stored_settings(study, settings), settings, allow_changes)
    if changed or SETTINGS_ATTR not in study.user_attrs:
        study.set_user_attr(SETTINGS_ATTR, settings.to_json())
    study.sampler = prepared.sampler
    if prepared.pruner is not None:
        study.pruner = prepared.pruner
    return study, changed


def make_objective(
    dataset: Dataset,
    family: str,
    space: SearchSpace,
    settings: RunSettings,
    splits: Folds,
    trial_time_limit: float | None,
    plan: FidelityPlan | None = None,
    deadline: float | None = None,
) -> Callable[[optuna.Trial], float]:
    """The objective of a run: a trial's configuration cross-validated on ``splits``, up the
    low fidelities of ``plan`` (``None``: at full fidelity only), stopped at a rung or fold
    boundary once ``deadline`` (``time.time()`` of the timeout) has passed; see
    :mod:`metahpo.tuning._fidelity`."""
    fam = get_family(family)
    maximize = settings.direction == "maximize"

    def objective(trial: optuna.Trial) -> float:
        config = suggest_config(trial, space)
        skip_duplicate(trial.study, trial)

        def run(rows: int | None, on_fold: FoldCallback | None, limit: float | None) -> Evaluation:
            return evaluate(
                dataset,
                fam,
                config,
                metric=settings.metric,
                folds=splits,
                seed=settings.seed,
                time_limit=limit,
                train_rows=rows,
                on_fold=on_fold,
            )

        ev = evaluate_staged(
            trial, plan, run, maximize=maximize, time_limit=trial_time_limit, deadline=deadline
        )
        trial.set_user_attr(
            TRIAL_METRICS_ATTR, {k: v if math.isfinite(v) else None for k, v in ev.metrics.items()}
        )
        trial.set_user_attr(
            TRIAL_FOLDS_ATTR, [v if math.isfinite(v) else None for v in ev.fold_values]
        )
        trial.set_user_attr(TRIAL_FIT_TIME_ATTR, round(ev.fit_time, 4))
        if not ev.ok:
            reason = ev.error or "failed"
            trial.set_user_attr(TRIAL_ERROR_ATTR, reason)
            raise TrialFailed(trial.number, reason)
        return ev.value

    return objective

"""Tuning one model family on one dataset, as a resumable Optuna study in a real store."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import optuna
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from metahpo.datasets import Dataset
from metahpo.errors import KnowledgeBaseError, MetaHPOError
from metahpo.evaluation import Folds, evaluate, get_metric, limit_threads, make_folds
from metahpo.knowledge import (
    DEFAULT_STORAGE,
    Experience,
    KnowledgeStore,
    TaskRecord,
    open_storage,
)
from metahpo.knowledge._records import (
    RECORD_ATTR,
    TRIAL_ERROR_ATTR,
    TRIAL_FIT_TIME_ATTR,
    TRIAL_FOLDS_ATTR,
    TRIAL_METRICS_ATTR,
)
from metahpo.optimizers import DEFAULT_BASE, classic_sampler
from metahpo.optimizers._meta import guard_message
from metahpo.spaces import SearchSpace, build_estimator, get_family
from metahpo.tuning._checks import check_data, check_folds, check_options
from metahpo.tuning._meta import _plan, suggest_config
from metahpo.tuning._run import RunOutcome, TrialFailed, run_trials, skip_duplicate
from metahpo.tuning._settings import SETTINGS_ATTR, RunSettings, check_resume
from metahpo.tuning._workers import retry_stale

#: Seconds between heartbeats of a running trial. A trial of a worker on another host whose
#: heartbeat is older than :data:`GRACE_PERIOD` belongs to a dead process and is failed, then
#: retried with the same parameters; on this host a dead worker's trial is failed at once
#: (:mod:`metahpo.tuning._workers`).
HEARTBEAT_INTERVAL = 5
GRACE_PERIOD = 15


@dataclass(frozen=True)
class TuneResult:
    """Outcome of :func:`tune`.

    Attributes:
        best_value: Best mean CV score (in the metric's own units).
        best_std: Its standard deviation over folds.
        best_params: The best configuration.
        metric, direction: The objective.
        n_trials: Completed trials in the study (earlier runs included).
        n_new: Trials completed by this call (this process).
        n_failed: Failed trials in the study.
        study, storage: Where the run is stored.
        model, task, dataset: What was tuned.
        settings: The settings that define the run (stored in the study).
        n_new_failed: Trials of this call that failed.
        stopped: Why this call stopped before the budget was met (``None``: it was met).
        changed_settings: Settings changed on resume (``allow_changed_settings``).
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
    settings: RunSettings | None = None
    n_new_failed: int = 0
    stopped: str | None = None
    changed_settings: tuple[str, ...] = ()
    _data: Dataset | None = field(default=None, repr=False, compare=False)

    def best_estimator(self, dataset: Dataset | None = None, *, n_jobs: int | None = None) -> Any:
        """The trials' pipeline with the best configuration, fitted anew on all rows of
        ``dataset`` (default: the one tuned); see :func:`~metahpo.tuning._model.refit`."""
        from metahpo.tuning._model import refit, refit_data

        seed = self.settings.seed if self.settings else 0
        return refit(
            self.model, self.best_params, refit_data(self, dataset), seed=seed, n_jobs=n_jobs
        )

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
            "n_new": self.n_new,
            "n_new_failed": self.n_new_failed,
            "stopped": self.stopped,
            "settings": json.loads(self.settings.to_json()) if self.settings else None,
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
                    heartbeat_stale_trial_callback=retry_stale,
                )
        except KnowledgeBaseError:  # an unusable URL: let KnowledgeStore report it in one line
            return url
    return url


@dataclass(frozen=True)
class _Prepared:
    """A run planned: what :func:`tune` stores, runs and reports on."""

    settings: RunSettings
    record: TaskRecord
    space: SearchSpace
    sampler: optuna.samplers.BaseSampler
    meta: dict[str, Any] | None


def _settings(
    dataset: Dataset,
    space: SearchSpace,
    metric: str,
    direction: str,
    folds: int,
    seed: int,
    optimizer: str | optuna.samplers.BaseSampler,
    strategy: str,
    base: str,
    transfer: int | None = None,
) -> RunSettings:
    opt_name = optimizer if isinstance(optimizer, str) else type(optimizer).__name__
    if transfer is not None and (optimizer != "meta" or base != "transfer"):
        raise MetaHPOError(f"--transfer applies to --base transfer only, not {base or opt_name}")
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
        transfer=transfer,
    )


def _sampler(
    settings: RunSettings,
    optimizer: str | optuna.samplers.BaseSampler,
    dataset: Dataset,
    space: SearchSpace,
    store: KnowledgeStore,
    name: str,
    budget: int,
    warm_start: int,
    metafeatures: Mapping[str, float],
    experience: Experience | None,
) -> tuple[optuna.samplers.BaseSampler, dict[str, Any] | None]:
    if not isinstance(optimizer, str):
        return optimizer, None
    if optimizer != "meta":
        return classic_sampler(optimizer, space, seed=settings.seed, budget=budget), None
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
        n_transfer=settings.transfer,
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
    return plan.sampler, meta


def _stored_settings(study: optuna.Study, wanted: RunSettings) -> RunSettings | None:
    """The study's settings; for a study of an earlier version, what its task record says."""
    raw = study.user_attrs.get(SETTINGS_ATTR)
    if raw is not None:
        return RunSettings.from_json(raw)
    task = study.user_attrs.get(RECORD_ATTR)
    if task is None or not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return None
    old = TaskRecord.from_json(task)
    return replace(wanted, folds=old.folds, seed=old.seed, metric=old.metric)


def _open_study(
    store: KnowledgeStore, name: str, prepared: _Prepared, allow_changes: bool
) -> tuple[optuna.Study, list[str]]:
    """The study of the run, created or resumed; refused when it was run with other settings."""
    settings = prepared.settings
    study = store.create_task(name, prepared.record)
    if study.direction.name.lower() != settings.direction:
        raise MetaHPOError(
            f"study {name!r} optimises in the other direction; choose another --study"
        )
    changed = check_resume(name, _stored_settings(study, settings), settings, allow_changes)
    if changed or SETTINGS_ATTR not in study.user_attrs:
        study.set_user_attr(SETTINGS_ATTR, settings.to_json())
    study.sampler = prepared.sampler
    return study, changed


def _objective(
    dataset: Dataset,
    family: str,
    space: SearchSpace,
    settings: RunSettings,
    splits: Folds,
    trial_time_limit: float | None,
) -> Callable[[optuna.Trial], float]:
    fam = get_family(family)

    def objective(trial: optuna.Trial) -> float:
        config = suggest_config(trial, space)
        skip_duplicate(trial.study, trial)
        ev = evaluate(
            dataset,
            fam,
            config,
            metric=settings.metric,
            folds=splits,
            seed=settings.seed,
            time_limit=trial_time_limit,
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
    n_jobs: int | None = None,
    max_failures: int | None = None,
    allow_changed_settings: bool = False,
    transfer: int | None = None,
) -> TuneResult:
    """Tune ``family`` on ``dataset`` with cross-validation; resumable and shareable.

    The run is an Optuna study in ``storage`` that also carries metahpo's task record, so it
    becomes experience for later runs, and the settings that define it
    (:class:`~metahpo.tuning.RunSettings`). Calling again with the same study name resumes:
    completed trials are kept and count towards ``budget``; a resume with other defining
    settings (folds, metric, space, rows, optimizer, base, strategy, transfer, seed) is an
    error unless ``allow_changed_settings``. Trials of dead workers are failed on every start
    and their parameters retried (:mod:`metahpo.tuning._workers`). Budget semantics, also with
    several workers: :mod:`metahpo.tuning._run`.

    Args:
        dataset: The task.
        family: Model family (``hgb``, ``rf``, ``svm``, ``linear``, ``knn``, ``mlp``; ``lgbm``,
            ``xgb`` with the ``boost`` extra).
        metric: Objective (default balanced accuracy / R²).
        budget: COMPLETE trials wanted in the study, shared by every worker that runs it at
            the same time (start the same call in several processes or machines on one
            storage to tune in parallel); failed trials do not count.
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
        n_jobs: Native threads per trial (BLAS, OpenMP); default one, ``-1`` all cores
            (:func:`~metahpo.evaluation.limit_threads`).
        max_failures: This call stops after so many failed trials (default: twice the budget,
            at least 10); ``TuneResult.stopped`` then says why.
        allow_changed_settings: Continue a study that was run with other defining settings.
        transfer: Proposals of the ``transfer`` base after the warm starts, before TPE takes
            over (default: 25 minus the warm starts used); ``base="transfer"`` only.
    """
    check_options(
        budget=budget,
        folds=folds,
        seed=seed,
        timeout=timeout,
        trial_time_limit=trial_time_limit,
        warm_start=warm_start,
        max_failures=max_failures,
        n_jobs=n_jobs,
        transfer=transfer,
    )
    fam = get_family(family)
    space = space or fam.space(dataset.task)
    if space.task != dataset.task:
        raise MetaHPOError(f"search space is for {space.task}, the dataset is {dataset.task}")
    check_data(dataset)
    m = get_metric(metric, dataset.task)
    splits = make_folds(dataset, folds, seed)
    check_folds(splits, m.name)
    # A user space may add estimator arguments: check them once, before any trial runs.
    build_estimator(fam, space.default_config(), dataset, seed=seed)
    settings = _settings(
        dataset, space, m.name, m.direction, folds, seed, optimizer, strategy, base, transfer
    )
    name = study_name or default_study_name(dataset, family, m.name, settings.optimizer, seed)
    store = KnowledgeStore(_storage_with_heartbeat(storage))
    with limit_threads(n_jobs):
        if metafeatures is None:
            from metahpo.metafeatures import compute_metafeatures

            metafeatures = compute_metafeatures(dataset, seed=seed)
        sampler, meta = _sampler(
            settings, optimizer, dataset, space, store, name, budget, warm_start, metafeatures,
            experience,
        )  # fmt: skip
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
        prepared = _Prepared(settings, record, space, sampler, meta)
        study, changed = _open_study(store, name, prepared, allow_changed_settings)
        outcome = run_trials(
            study,
            _objective(dataset, family, space, settings, splits, trial_time_limit),
            budget=budget,
            timeout=timeout,
            max_failures=max_failures,
            callbacks=callbacks,
            grace_period=GRACE_PERIOD,
        )
    url = storage if isinstance(storage, str) else type(storage).__name__
    if meta is not None:
        meta["guard"] = guard_message(study)
    return _result(study, url, family, dataset, settings, outcome, budget, meta, changed)


def _stop_message(outcome: RunOutcome, budget: int, done: int) -> str | None:
    if outcome.stop == "failures":
        return (
            f"stopped after {outcome.failed} failed trials ({done} of {budget} completed); "
            f"last: {outcome.last_error}; rerun to go on"
        )
    if outcome.stop == "duplicates":
        return (
            f"stopped after {outcome.duplicates} proposals of configurations evaluated already "
            f"({done} of {budget} completed): the search space may be exhausted"
        )
    if outcome.stop == "timeout" and done < budget:
        return f"timeout: {done} of {budget} trials completed; rerun to go on"
    return None


def _result(
    study: optuna.Study,
    storage: str,
    family: str,
    dataset: Dataset,
    settings: RunSettings,
    outcome: RunOutcome,
    budget: int,
    meta: dict[str, Any] | None,
    changed: list[str],
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
        metric=settings.metric,
        direction=study.direction.name.lower(),
        n_trials=len(done),
        n_new=outcome.completed,
        n_failed=failed,
        study=study.study_name,
        storage=storage,
        model=family,
        task=dataset.task,
        dataset=dataset.name,
        optimizer=settings.optimizer,
        trials=[{"number": t.number, "value": t.value, "params": t.params} for t in done],
        meta=meta,
        settings=settings,
        n_new_failed=outcome.failed,
        stopped=_stop_message(outcome, budget, len(done)),
        changed_settings=tuple(changed),
        _data=dataset,
    )

"""Tuning one model family on one dataset, as a resumable Optuna study in a real store.

A :func:`tune` run is an Optuna study in its storage that also carries metahpo's task record, so
it becomes experience for later runs, and the settings that define it
(:class:`~metahpo.tuning.RunSettings`). Calling again with the same study name resumes:
completed trials are kept and count towards ``budget``; a resume with other defining settings
(folds, metric, optimizer, base, strategy, base options, seed) is an error unless
``allow_changed_settings``; another search space or other rows (the data) is always one: a
study holds one task. Trials of dead workers are failed on every start and their parameters
retried (:mod:`metahpo.tuning._workers`). Budget semantics, also with several workers:
:mod:`metahpo.tuning._run`.

Workers: the ``budget`` of COMPLETE trials is shared by every worker that runs the study at the
same time (``n_jobs``, or the same call in several processes or machines on one storage).
``n_jobs`` above one runs each trial in its own worker process on the same study; the workers
share the budget and the failure limit (:mod:`metahpo.tuning._parallel`), and the callbacks run
in this process as the storage shows the workers' trials finished. It needs a storage that
other processes can open (not in memory), and, in a script, a call under
``if __name__ == "__main__":``.

Every argument is checked before any work: a wrong type or value is a one-line
:class:`~metahpo.errors.MetaHPOError` naming it (``tune: 'budget' must be a positive int or
None, got str '3'``). Optuna logs no INFO line per trial while it runs (its verbosity is raised
to WARNING for the call, then restored).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from metahpo.datasets import Dataset
from metahpo.errors import MetaHPOError
from metahpo.evaluation import Folds, Metric, get_metric, limit_threads, make_folds
from metahpo.knowledge import (
    DEFAULT_STORAGE,
    TRIAL_ERROR_ATTR,
    TRIAL_FOLDS_ATTR,
    Experience,
    KnowledgeStore,
    TaskRecord,
)
from metahpo.metalearners import dataset_argument
from metahpo.optimizers import DEFAULT_BASE, guard_message
from metahpo.spaces import SearchSpace, build_estimator, check_space, get_family
from metahpo.tuning._checks import check_data, check_folds, check_tune_arguments, space_argument
from metahpo.tuning._options import check_options
from metahpo.tuning._parallel import WorkerJob, WorkerPool, resolve_workers, shared_storage_url
from metahpo.tuning._prepare import (
    GRACE_PERIOD,
    Prepared,
    make_objective,
    make_sampler,
    open_study,
    quiet_optuna,
    run_settings,
    storage_with_heartbeat,
)
from metahpo.tuning._run import RunOutcome, default_max_failures, run_trials
from metahpo.tuning._settings import RunSettings


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
        stopped: What stopped this call: ``"budget"`` (met), ``"timeout"``, ``"failures"``
            (``max_failures``), ``"duplicates"`` (the space may be exhausted) or ``"workers"``
            (every worker process died).
        stop_message: Why this call ended short of its budget, in one line (``None``: it
            did not).
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
    stopped: str = "budget"
    stop_message: str | None = None
    changed_settings: tuple[str, ...] = ()
    _data: Dataset | None = field(default=None, repr=False, compare=False)

    def best_estimator(self, dataset: Dataset | None = None, *, threads: int | None = None) -> Any:
        """The trials' pipeline with the best configuration, fitted anew on all rows of
        ``dataset`` (default: the one tuned); see :func:`~metahpo.tuning._model.refit`."""
        from metahpo.tuning._model import refit, refit_data

        seed = self.settings.seed if self.settings else 0
        data = refit_data(dataset, self._data, self.task)
        return refit(self.model, self.best_params, data, seed=seed, threads=threads)

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
            "stop_message": self.stop_message,
            "settings": json.loads(self.settings.to_json()) if self.settings else None,
        }


def default_study_name(
    dataset: Dataset, family: str, metric: str, optimizer: str, seed: int
) -> str:
    """Deterministic name, so that running the same command again resumes the same study."""
    return f"{dataset.name}:{family}:{metric}:{optimizer}:s{seed}"


def tune(
    dataset: Dataset | str | os.PathLike[str] | pd.DataFrame, family: str, *,
    metric: str | None = None, budget: int | None = 30,
    optimizer: str | optuna.samplers.BaseSampler = "meta",
    storage: str | BaseStorage | None = DEFAULT_STORAGE, study_name: str | None = None,
    seed: int = 0, timeout: float | None = None, folds: int = 5,
    trial_time_limit: float | None = None,
    space: SearchSpace | Mapping[str, Any] | str | None = None,
    callbacks: Sequence[Callable[[optuna.Study, FrozenTrial], None]] = (),
    metafeatures: dict[str, float] | None = None, strategy: str = "portfolio", warm_start: int = 5,
    base: str = DEFAULT_BASE, experience: Experience | None = None, n_jobs: int | None = None,
    max_failures: int | None = None, allow_changed_settings: bool = False,
    base_options: Mapping[str, Any] | None = None, threads: int | None = None,
    target: str | None = None, task: str | None = None,
) -> TuneResult:  # fmt: skip
    """Tune ``family`` on ``dataset`` with cross-validation; resumable and shareable.

    Resuming, workers (``n_jobs``), argument checks and logging: see :mod:`metahpo.tuning._tune`.

    Args:
        dataset: The task: a :class:`~metahpo.datasets.Dataset`, a pandas DataFrame (with
            ``target``) or a table's path (:func:`~metahpo.datasets.load_dataset`).
        family: Model family (``hgb``, ``rf``, ``svm``, ``linear``, ``knn``, ``mlp``; ``lgbm``,
            ``xgb`` with the ``boost`` extra).
        metric: Objective (default balanced accuracy / R²).
        budget: COMPLETE trials wanted in the study, shared by all its workers; failed trials
            do not count. ``None``: no trial limit, until ``timeout`` (which it then needs).
        optimizer: ``"meta"`` (default: meta-learned warm start, then ``base``), a classic
            optimizer name, or any Optuna sampler.
        storage: Optuna storage URL or object; ``None``: in memory, as in Optuna (nothing is
            kept after the call: the run can neither be resumed nor become experience).
        study_name: Default :func:`default_study_name`.
        seed: Seeds folds, models and the sampler.
        timeout: Stop starting new trials after this many seconds; with a budget, whichever
            comes first stops the run (``TuneResult.stopped`` says which).
        folds: Cross-validation folds.
        trial_time_limit: Per-trial limit in seconds (checked between folds).
        space: A custom search space (default: the built-in one): a
            :class:`~metahpo.spaces.SearchSpace`, its JSON form as a dict (``family`` and
            ``task`` may be left out), JSON text or a ``.json`` file (``SearchSpace.from_json``).
        callbacks: Optuna callbacks, called in this process after each trial (progress bars).
        metafeatures: Meta-features of the dataset to store with the run (computed if ``None``).
        strategy: Meta-learner choosing the warm starts (``optimizer="meta"``).
        warm_start: Number of warm-start trials (``optimizer="meta"``).
        base: Refining sampler after the warm start (default ``transfer-gp``; any name in
            :data:`~metahpo.optimizers.BASES`, see :func:`~metahpo.optimizers.make_meta_sampler`).
        experience: Experience to learn from (default: the bundled experience plus every run
            in ``storage``, so each finished run improves the next one).
        n_jobs: Trials run in parallel, each in its own worker process (default one, in this
            process; ``-1`` one per core); needs a storage other processes can open and, in a
            script, a call under ``if __name__ == "__main__":``.
        max_failures: Stop this call after so many failed trials, all its workers together
            (default: twice the budget, at least 10, or 100 without one; ``TuneResult.stopped``).
        allow_changed_settings: Resume a study run with other settings (not space or data).
        base_options: ``base``'s options by name (``optimizer="meta"``), e.g.
            ``{"n_transfer": 3}`` with ``base="transfer"``.
        threads: Native threads per trial (BLAS, OpenMP); default one, ``-1`` all cores
            divided by the workers (:func:`~metahpo.evaluation.limit_threads`).
        target, task: For a DataFrame or a path: the target column (default ``target``) and
            the task type (default: inferred) for :func:`~metahpo.datasets.load_dataset`.
    """
    callbacks = check_tune_arguments(
        family=family, metric=metric, optimizer=optimizer, storage=storage,
        study_name=study_name, callbacks=callbacks, metafeatures=metafeatures, strategy=strategy,
        base=base, base_options=base_options, experience=experience,
        allow_changed_settings=allow_changed_settings,
    )  # fmt: skip
    check_options(
        budget=budget, folds=folds, seed=seed, timeout=timeout, trial_time_limit=trial_time_limit,
        warm_start=warm_start, max_failures=max_failures, n_jobs=n_jobs, threads=threads,
        caller="tune",
    )  # fmt: skip
    data, space = _data_and_space(dataset, target, task, space, family)
    storage = optuna.storages.InMemoryStorage() if storage is None else storage
    with quiet_optuna():
        return _tune(
            data, family, space, metric, budget, optimizer, storage, study_name, seed, timeout,
            folds, trial_time_limit, callbacks, metafeatures, strategy, warm_start, base,
            experience, n_jobs, max_failures, allow_changed_settings, base_options, threads,
        )  # fmt: skip


def _data_and_space(
    dataset: Any, target: str | None, task: str | None, space: Any, family: str
) -> tuple[Dataset, SearchSpace]:
    """The ``dataset`` argument as a :class:`Dataset` and the search space: ``space`` read for
    the dataset's task, or the family's built-in one."""
    fam = get_family(family)
    data = dataset_argument(dataset, target, task, "tune")
    return data, space_argument(space, family, data.task, "tune") or fam.space(data.task)


def _checked_metric_and_folds(
    dataset: Dataset, family: str, space: SearchSpace, metric: str | None, folds: int, seed: int
) -> tuple[Metric, Folds]:
    """The run's metric and folds, once the space, data, folds and the estimator arguments of
    the space are checked (before any trial runs)."""
    fam = get_family(family)
    check_space(fam, space)
    if space.task != dataset.task:
        raise MetaHPOError(f"search space is for {space.task}, the dataset is {dataset.task}")
    check_data(dataset, folds)
    m = get_metric(metric, dataset.task)
    splits = make_folds(dataset, folds, seed)
    check_folds(splits, m.name)
    # A user space may add estimator arguments: check them once, before any trial runs.
    build_estimator(fam, space.default_config(), dataset, seed=seed)
    return m, splits


def _tune(
    dataset: Dataset,
    family: str,
    space: SearchSpace,
    metric: str | None,
    budget: int | None,
    optimizer: str | optuna.samplers.BaseSampler,
    storage: str | BaseStorage,
    study_name: str | None,
    seed: int,
    timeout: float | None,
    folds: int,
    trial_time_limit: float | None,
    callbacks: Sequence[Callable[[optuna.Study, FrozenTrial], None]],
    metafeatures: dict[str, float] | None,
    strategy: str,
    warm_start: int,
    base: str,
    experience: Experience | None,
    n_jobs: int | None,
    max_failures: int | None,
    allow_changed_settings: bool,
    base_options: Mapping[str, Any] | None,
    threads: int | None,
) -> TuneResult:
    """:func:`tune` once its arguments are checked (and Optuna quiet)."""
    workers = resolve_workers(n_jobs)
    shared_url = shared_storage_url(storage, workers) if workers > 1 else None
    m, splits = _checked_metric_and_folds(dataset, family, space, metric, folds, seed)
    settings = run_settings(
        dataset, space, m.name, m.direction, folds, seed, optimizer, strategy, base, base_options
    )
    name = study_name or default_study_name(dataset, family, m.name, settings.optimizer, seed)
    store = KnowledgeStore(storage_with_heartbeat(storage))
    pool = WorkerPool(workers) if shared_url is not None else contextlib.nullcontext()
    with pool, limit_threads(threads, parallel=workers) as n_threads:
        if metafeatures is None:
            from metahpo.metafeatures import compute_metafeatures

            metafeatures = compute_metafeatures(dataset, seed=seed)
        sampler, meta, experience = make_sampler(
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
        prepared = Prepared(settings, record, space, sampler, meta)
        study, changed = open_study(store, name, prepared, allow_changed_settings)
        limit = default_max_failures(budget) if max_failures is None else max_failures
        if isinstance(pool, WorkerPool) and shared_url is not None:
            job = WorkerJob(
                dataset, family, space, settings, optimizer, shared_url, name, budget,
                None if timeout is None else time.time() + timeout, trial_time_limit, limit,
                n_threads, warm_start, dict(metafeatures), experience,
                optuna.logging.get_verbosity(),
            )  # fmt: skip
            outcome = pool.run(job, study, callbacks)
        else:
            outcome = run_trials(
                study,
                make_objective(dataset, family, space, settings, splits, trial_time_limit),
                budget=budget,
                timeout=timeout,
                max_failures=limit,
                callbacks=callbacks,
                grace_period=GRACE_PERIOD,
            )
    url = storage if isinstance(storage, str) else type(storage).__name__
    if meta is not None:
        meta["guard"] = guard_message(study)
    return _result(study, url, family, dataset, settings, outcome, budget, meta, changed)


def _stop_message(outcome: RunOutcome, budget: int | None, done: int) -> str | None:
    of = f"{done} of {budget}" if budget is not None else f"{done}"
    if outcome.stop == "failures":
        return (
            f"stopped after {outcome.failed} failed trials ({of} completed); "
            f"last: {outcome.last_error}; rerun to go on"
        )
    if outcome.stop == "duplicates":
        return (
            f"stopped after {outcome.duplicates} proposals of configurations evaluated already "
            f"({of} completed): the search space may be exhausted"
        )
    if outcome.stop == "workers":
        return f"every worker process died ({of} trials completed); rerun to go on"
    if outcome.stop == "timeout" and budget is not None and done < budget:
        return f"timeout: {of} trials completed; rerun to go on"
    return None


def _result(
    study: optuna.Study,
    storage: str,
    family: str,
    dataset: Dataset,
    settings: RunSettings,
    outcome: RunOutcome,
    budget: int | None,
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
        stopped=outcome.stop,
        stop_message=_stop_message(outcome, budget, len(done)),
        changed_settings=tuple(changed),
        _data=dataset,
    )

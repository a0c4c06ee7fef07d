"""Tuning one model family on one dataset, as a resumable Optuna study in a real store.

A :func:`tune` run is an Optuna study in its storage that also carries metahpo's task record, so
it becomes experience for later runs, and the settings that define it
(:class:`~metahpo.tuning.RunSettings`). Calling again with the same study name resumes:
completed trials are kept and count towards ``budget``; a resume with other defining settings
(folds, metric, optimizer, base, strategy, base options, seed, fidelity) is an error unless
``allow_changed_settings``; another search space or other rows (the data) is always one: a
study holds one task. Trials of dead workers are failed on every start and their parameters
retried (:mod:`metahpo.tuning._workers`). Budget semantics, also with several workers:
:mod:`metahpo.tuning._run`. A resume that does not name ``folds`` or ``fidelity`` keeps the
study's (a study of an earlier version: its folds, no fidelities).

Fidelities (``fidelity="auto"``, the default for a new study; :mod:`metahpo.tuning._fidelity`):
on data whose folds train on at least 6,000 rows, trials are first evaluated on row subsamples
and pruned by successive halving (Optuna's pruner interface), and at full rows stopped after a
fold that cannot beat the best; only COMPLETE trials are full-fidelity, and only they count
towards the budget and the best score. From 100,000 rows, or from 2,500 cells (rows ×
columns) per second of ``timeout``, a run that names no ``folds`` is validated on a 20 %
holdout split. Smaller data is tuned exactly as with ``fidelity="none"``.

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
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import optuna
import pandas as pd
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial

from metahpo._files import storage_file
from metahpo.datasets import Dataset
from metahpo.errors import MetaHPOError
from metahpo.evaluation import Folds, Metric, get_metric, limit_threads
from metahpo.knowledge import (
    DEFAULT_STORAGE,
    Experience,
    KnowledgeStore,
    TaskRecord,
)
from metahpo.metalearners import dataset_argument
from metahpo.optimizers import DEFAULT_BASE, guard_message
from metahpo.spaces import SearchSpace, build_estimator, check_space, get_family
from metahpo.tuning._checks import check_data, check_folds, check_tune_arguments, space_argument
from metahpo.tuning._fidelity import (
    make_splits,
    plan_fidelity,
    resolve_validation,
    run_pruner,
)
from metahpo.tuning._options import HOLDOUT, check_options
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
    stored_choices,
)
from metahpo.tuning._result import TuneResult, tune_result
from metahpo.tuning._run import default_max_failures, run_trials
from metahpo.tuning._settings import RunSettings


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
    seed: int = 0, timeout: float | None = None, folds: int | None = None,
    trial_time_limit: float | None = None,
    space: SearchSpace | Mapping[str, Any] | str | None = None,
    callbacks: Sequence[Callable[[optuna.Study, FrozenTrial], None]] = (),
    metafeatures: dict[str, float] | None = None, strategy: str = "portfolio", warm_start: int = 5,
    base: str = DEFAULT_BASE, experience: Experience | None = None, n_jobs: int | None = None,
    max_failures: int | None = None, allow_changed_settings: bool = False,
    base_options: Mapping[str, Any] | None = None, threads: int | None = None,
    target: str | None = None, task: str | None = None, fidelity: str | None = None,
    pruner: optuna.pruners.BasePruner | None = None,
) -> TuneResult:  # fmt: skip
    """Tune ``family`` on ``dataset`` with cross-validation; resumable and shareable.

    Resuming, workers (``n_jobs``), argument checks and logging: see :mod:`metahpo.tuning._tune`.

    Args:
        dataset: The task: a :class:`~metahpo.datasets.Dataset`, a pandas DataFrame (with
            ``target``) or a table's path (:func:`~metahpo.datasets.load_dataset`).
        family: Model family (``hgb``, ``rf``, ``svm``, ``linear``, ``knn``, ``mlp``; ``lgbm``,
            ``xgb`` with the ``boost`` extra).
        metric: Objective (default balanced accuracy / R²).
        budget: COMPLETE (full-fidelity) trials wanted in the study, shared by all its workers;
            failed and pruned trials do not count. ``None``: no limit, until ``timeout``.
        optimizer: ``"meta"`` (default: meta-learned warm start, then ``base``), a classic
            optimizer name, or any Optuna sampler.
        storage: Optuna storage URL or object; ``None``: in memory, as in Optuna (nothing is
            kept after the call: the run can neither be resumed nor become experience).
        study_name: Default :func:`default_study_name`.
        seed: Seeds folds, models and the sampler.
        timeout: Seconds for the whole call, counted from its start (reading the data, the
            meta-features and the experience included): no trial starts after it, and a trial
            with low fidelities stops at its next rung or fold boundary once it has passed.
            The call still ends with a model: until a trial completes, trials go on (or
            ``max_failures`` stops them). With a budget, whichever comes first stops the run
            (``TuneResult.stopped`` says which).
        folds: Cross-validation folds; ``None``: a resumed study's, else 5, or one 20 % holdout
            split with ``fidelity="auto"`` from 100,000 rows, or where 5-fold CV does not fit the
            ``timeout`` (more than 2,500 cells, rows × columns, per second of it; FLAML's rule).
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
        fidelity: ``"auto"``: configurations are evaluated on growing row subsamples first
            and stopped early when they rank low, and at full rows after a fold that cannot
            beat the best (:mod:`metahpo.tuning._fidelity`; only where each fold trains on at
            least 6,000 rows: smaller data is tuned exactly as with ``"none"``); ``"none"``:
            every trial at full fidelity. ``None``: a resumed study's, else ``"auto"``.
        pruner: Replaces the successive-halving pruner of ``fidelity="auto"`` (e.g.
            ``optuna.pruners.HyperbandPruner``); its steps are training rows per fold.
    """
    started = time.monotonic()
    call = _checked_call(dict(locals()))
    with quiet_optuna():
        return _tune(call)


@dataclass(frozen=True)
class _Call:
    """:func:`tune`'s arguments, checked (the data read, the space built)."""

    dataset: Dataset
    family: str
    space: SearchSpace
    metric: str | None
    budget: int | None
    optimizer: str | optuna.samplers.BaseSampler
    storage: str | BaseStorage
    study_name: str | None
    seed: int
    timeout: float | None
    folds: int | None
    trial_time_limit: float | None
    callbacks: tuple[Callable[[optuna.Study, FrozenTrial], None], ...]
    metafeatures: dict[str, float] | None
    strategy: str
    warm_start: int
    base: str
    experience: Experience | None
    n_jobs: int | None
    max_failures: int | None
    allow_changed_settings: bool
    base_options: Mapping[str, Any] | None
    threads: int | None
    fidelity: str | None
    pruner: optuna.pruners.BasePruner | None
    started: float

    def time_left(self) -> float | None:
        """Seconds of ``timeout`` left (``None``: no timeout)."""
        if self.timeout is None:
            return None
        return max(self.timeout - (time.monotonic() - self.started), 0.0)


def _checked_call(args: dict[str, Any]) -> _Call:
    """:func:`tune`'s arguments (its ``locals()``) checked before any work."""
    callbacks = check_tune_arguments(
        **{k: args[k] for k in (
            "family", "metric", "optimizer", "storage", "study_name", "callbacks",
            "metafeatures", "strategy", "base", "base_options", "experience",
            "allow_changed_settings", "pruner",
        )}
    )  # fmt: skip
    check_options(
        **{k: args[k] for k in (
            "budget", "folds", "seed", "timeout", "trial_time_limit", "warm_start",
            "max_failures", "n_jobs", "threads", "fidelity",
        )}, caller="tune",
    )  # fmt: skip
    data, space = _data_and_space(
        args["dataset"], args["target"], args["task"], args["space"], args["family"]
    )
    storage = optuna.storages.InMemoryStorage() if args["storage"] is None else args["storage"]
    names = {f.name for f in fields(_Call)}
    given = {k: v for k, v in args.items() if k in names}
    return _Call(**{**given, "dataset": data, "space": space, "storage": storage,
                    "callbacks": callbacks})  # fmt: skip


def _data_and_space(
    dataset: Any, target: str | None, task: str | None, space: Any, family: str
) -> tuple[Dataset, SearchSpace]:
    """The ``dataset`` argument as a :class:`Dataset` and the search space: ``space`` read for
    the dataset's task, or the family's built-in one."""
    fam = get_family(family)
    data = dataset_argument(dataset, target, task, "tune")
    return data, space_argument(space, family, data.task, "tune") or fam.space(data.task)


def _checked_metric(c: _Call) -> Metric:
    """The run's metric, once the space, the data and the estimator arguments of the space are
    checked (before any trial runs)."""
    fam = get_family(c.family)
    check_space(fam, c.space)
    if c.space.task != c.dataset.task:
        raise MetaHPOError(f"search space is for {c.space.task}, the dataset is {c.dataset.task}")
    check_data(c.dataset)
    m = get_metric(c.metric, c.dataset.task)
    # A user space may add estimator arguments: check them once, before any trial runs.
    build_estimator(fam, c.space.default_config(), c.dataset, seed=c.seed)
    return m


def _checked_splits(dataset: Dataset, folds: int, metric: str, seed: int) -> Folds:
    """The run's validation splits, once the classes are checked against the folds."""
    if folds != HOLDOUT:
        check_data(dataset, folds)
    splits = make_splits(dataset, folds, seed)
    check_folds(splits, metric)
    return splits


def _prepare(
    c: _Call, settings: RunSettings, store: KnowledgeStore, name: str, pruner: Any
) -> tuple[Prepared, dict[str, float], Experience | None]:
    """The run planned (meta-features, sampler, task record), its meta-features and the
    experience the sampler learned from."""
    metafeatures = c.metafeatures
    if metafeatures is None:
        from metahpo.metafeatures import compute_metafeatures

        metafeatures = compute_metafeatures(c.dataset, seed=c.seed)
    sampler, meta, experience = make_sampler(
        settings, c.optimizer, c.dataset, c.space, store, name, c.budget, c.warm_start,
        metafeatures, c.experience, _clock(c),
    )  # fmt: skip
    record = TaskRecord.describe(
        c.dataset, c.space, metric=settings.metric, direction=settings.direction,
        metafeatures=metafeatures, source="tune", folds=settings.folds, seed=c.seed,
    )  # fmt: skip
    return Prepared(settings, record, c.space, sampler, meta, pruner), metafeatures, experience


def _tune(c: _Call) -> TuneResult:
    """:func:`tune` once its arguments are checked (and Optuna quiet)."""
    workers = resolve_workers(c.n_jobs)
    shared_url = shared_storage_url(c.storage, workers) if workers > 1 else None
    m = _checked_metric(c)
    opt = c.optimizer if isinstance(c.optimizer, str) else type(c.optimizer).__name__
    name = c.study_name or default_study_name(c.dataset, c.family, m.name, opt, c.seed)
    # bad data is refused before a new store file is made; other stores may hold the study
    store = (
        None if _new_file_store(c.storage) else KnowledgeStore(storage_with_heartbeat(c.storage))
    )
    stored = (None, None) if store is None else stored_choices(store, name)
    folds, fidelity = resolve_validation(
        c.folds, c.fidelity, stored, (c.dataset.n_rows, c.dataset.n_features), c.time_left()
    )
    splits = _checked_splits(c.dataset, folds, m.name, c.seed)
    store = store or KnowledgeStore(storage_with_heartbeat(c.storage))
    settings = run_settings(
        c.dataset, c.space, m.name, m.direction, folds, c.seed, c.optimizer, c.strategy, c.base,
        c.base_options, fidelity,
    )  # fmt: skip
    plan = plan_fidelity(fidelity, splits)
    pruner = run_pruner(c.pruner, plan, fidelity)
    pool = WorkerPool(workers) if shared_url is not None else contextlib.nullcontext()
    with pool, limit_threads(c.threads, parallel=workers) as n_threads:
        prepared, metafeatures, experience = _prepare(c, settings, store, name, pruner)
        study, changed = open_study(store, name, prepared, c.allow_changed_settings)
        limit = default_max_failures(c.budget) if c.max_failures is None else c.max_failures
        if isinstance(pool, WorkerPool) and shared_url is not None:
            job = WorkerJob(
                c.dataset, c.family, c.space, settings, c.optimizer, shared_url, name, c.budget,
                _deadline(c), c.trial_time_limit,
                limit, n_threads, c.warm_start, dict(metafeatures), experience,
                optuna.logging.get_verbosity(), plan, pruner, c.timeout,
            )  # fmt: skip
            outcome = pool.run(job, study, c.callbacks)
        else:
            objective = make_objective(
                c.dataset, c.family, c.space, settings, splits, c.trial_time_limit, plan,
                _deadline(c),
            )  # fmt: skip
            outcome = run_trials(
                study, objective, budget=c.budget, timeout=c.time_left(), max_failures=limit,
                callbacks=c.callbacks, grace_period=GRACE_PERIOD,
            )  # fmt: skip
    url = c.storage if isinstance(c.storage, str) else type(c.storage).__name__
    if prepared.meta is not None:
        prepared.meta["guard"] = guard_message(study)
    return tune_result(
        study, url, c.family, c.dataset, settings, outcome, c.budget, prepared.meta, changed
    )


def _new_file_store(storage: str | BaseStorage) -> bool:
    """Whether ``storage`` is a file store (SQLite, journal) whose file does not exist yet: it
    holds no study, and opening it would make the file."""
    path = storage_file(storage)
    return path is not None and not os.path.exists(path)


def _clock(c: _Call) -> tuple[float, float] | None:
    """``time.time()`` of the call's deadline and its timeout's seconds (``None``: none)."""
    ends = _deadline(c)
    return None if ends is None or c.timeout is None else (ends, float(c.timeout))


def _deadline(c: _Call) -> float | None:
    """``time.time()`` at which the call's timeout ends (``None``: no timeout)."""
    left = c.time_left()
    return None if left is None else time.time() + left

"""Meta-learned samplers for a dataset: the plan behind ``optimizer="meta"``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.storages import BaseStorage

from metahpo._args import check_int, check_positive, check_str
from metahpo.datasets import Dataset
from metahpo.evaluation import get_metric
from metahpo.knowledge import Experience, KnowledgeStore, from_store, load_bundled
from metahpo.metalearners import check_inputs, dataset_argument
from metahpo.optimizers import (
    DEFAULT_BASE,
    MetaPlan,
    check_base_options,
    make_meta_sampler,
    time_cost,
)
from metahpo.spaces import SearchSpace, get_family


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


def _check_sampler_for(
    where: str,
    family: Any,
    strategy: Any,
    seed: Any,
    experience: Any,
    metric: Any,
    base: Any,
    n_warm_start: Any,
) -> None:
    """:func:`meta_sampler_for`'s plain arguments checked, one line naming the first wrong."""
    check_inputs(where, family=family, strategy=strategy, seed=seed, experience=experience)
    check_str(metric, f"{where}: 'metric'", none=True)
    check_str(base, f"{where}: 'base'")
    check_int(n_warm_start, f"{where}: 'n_warm_start'", low=0)
    get_family(family)


def meta_sampler_for(
    dataset: Dataset | str | os.PathLike[str] | pd.DataFrame,
    family: str,
    *,
    metric: str | None = None,
    storage: str | BaseStorage | None = None,
    experience: Experience | None = None,
    strategy: str = "portfolio",
    n_warm_start: int = 5,
    base: str = DEFAULT_BASE,
    space: SearchSpace | Mapping[str, Any] | str | None = None,
    seed: int = 0,
    base_options: Mapping[str, Any] | None = None,
    target: str | None = None,
    task: str | None = None,
    timeout: float | None = None,
) -> MetaPlan:
    """A :class:`~metahpo.optimizers.MetaSampler` for ``dataset``, ready for any Optuna study.

    Computes the dataset's meta-features, places it among the experience (the bundled one,
    plus every run in ``storage`` if given) and plans the warm starts; the plan's ``sampler``
    goes into ``optuna.create_study(sampler=...)`` with your own objective, whose parameters
    should be named like the family's space (``get_space(family, task)``, or ``space``).

    Args:
        dataset: The new task: a :class:`~metahpo.datasets.Dataset`, a pandas DataFrame (with
            ``target``) or the path of a table, as :func:`~metahpo.datasets.load_dataset`
            reads them.
        family: Model family whose experience to use.
        metric: Decides the direction (default balanced accuracy / R², both maximised).
        storage: Also learn from the metahpo runs in this Optuna storage.
        experience: Learn from this experience instead.
        strategy, n_warm_start, base, seed, base_options: See
            :func:`~metahpo.optimizers.make_meta_sampler`.
        space: As for :func:`~metahpo.tuning.tune` (a space, or its JSON form).
        target, task: For a DataFrame or a path, as :func:`~metahpo.datasets.load_dataset`
            takes them.
        timeout: The study's seconds from now (as ``study.optimize(timeout=)``): proposals by
            expected improvement per second (:func:`~metahpo.optimizers.time_cost`).

    Raises:
        MetaHPOError: An argument of the wrong type or value, in one line naming it.

    Example:
        >>> import optuna
        >>> from sklearn.datasets import load_iris
        >>> plan = meta_sampler_for(load_iris(as_frame=True).frame, "knn")
        >>> study = optuna.create_study(direction="maximize", sampler=plan.sampler)
        >>> study.optimize(lambda t: t.suggest_int("n_neighbors", 1, 50) / 50, n_trials=3)
        >>> study.trials[0].params["n_neighbors"] == plan.suggestions[0].params["n_neighbors"]
        True
    """
    from metahpo.metafeatures import compute_metafeatures
    from metahpo.tuning._checks import check_storage, space_argument

    where = "meta_sampler_for"
    _check_sampler_for(where, family, strategy, seed, experience, metric, base, n_warm_start)
    check_positive(timeout, f"{where}: 'timeout'", unit="seconds", none=True)
    check_base_options(base, base_options, where)
    check_storage(storage, where)
    dataset = dataset_argument(dataset, target, task, where)
    space = space_argument(space, family, dataset.task, where)
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
        base_options=base_options,
        cost=None if timeout is None else time_cost(dataset, family, float(timeout)),
    )
    return plan

"""What the bases read from a fitted meta-learner's experience for a new task."""

from __future__ import annotations

from typing import Any

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution
from optuna.trial import FrozenTrial


def metafeature_vector(metafeatures: Any, task_space: Any) -> np.ndarray:
    """The new task's meta-feature vector, a missing (NaN) value at the training median.

    A NaN would make every distance NaN; the median of the training tasks is neutral (it
    neither brings the task nearer to some tasks nor moves it away from all).
    """
    mf = np.asarray(metafeatures, dtype=float)
    if task_space is None or not np.isnan(mf).any():
        return mf
    return np.where(np.isnan(mf), np.asarray(task_space.center, dtype=float), mf)


def similar_configs(
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


def source_trials(
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
    for config, score in similar_configs(learner, metafeatures, space, n_tasks, top):
        params = {name: config[name] for name in dists}
        value = score if direction == "maximize" else -score
        out.append(optuna.trial.create_trial(params=params, distributions=dists, value=value))
    return out

"""The toy problem of the contract: a k-nearest-neighbours space with a known score surface.

The score is a smooth function of the encoded configuration whose optimum moves with one
number, ``m0``, so that a hand-built :class:`~metahpo.knowledge.Experience` of "tasks" with
different ``m0`` (and a meta-feature that shows it) stands in for trained experience; no model
is fitted, no data set is read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.trial import Trial

from metahpo.knowledge import Experience, TaskExperience
from metahpo.spaces import SearchSpace, get_space

#: metahpo's k-nearest-neighbours space for classification (``n_neighbors``, ``weights``, ``p``).
KNN: SearchSpace = get_space("knn", "classification")
#: Every combination of seven ``n_neighbors`` (1 to 64), both ``weights`` and both ``p``.
DESIGN: list[dict[str, Any]] = [
    {"n_neighbors": n, "weights": w, "p": p}
    for n in (1, 2, 4, 8, 16, 32, 64)
    for w in ("uniform", "distance")
    for p in (1, 2)
]


def knn_score(m0: float, params: dict[str, Any]) -> float:
    """The toy score of a :data:`KNN` configuration on the task whose optimum sits at ``m0``."""
    x = KNN.encode(params)
    return float(0.9 - 2.0 * (x[0] - (m0 + 1.0) / 2.0) ** 2 - 0.05 * x[2] - 0.03 * x[3])


def knn_experience(
    m0s: Sequence[float],
    shown: Sequence[float] | None = None,
    m1s: Sequence[float] | None = None,
) -> Experience:
    """Tasks of the knn design whose optimum moves with ``m0``; the first meta-feature shows
    ``m0`` (or ``shown`` instead, to make meta-features uninformative), the second ``m1s``."""
    X = np.vstack([KNN.encode(c) for c in DESIGN])
    seen = list(m0s) if shown is None else list(shown)
    second = [0.0] * len(m0s) if m1s is None else list(m1s)
    tasks = tuple(
        TaskExperience(
            f"t{i}/knn",
            f"t{i}",
            "knn",
            "classification",
            "balanced_accuracy",
            "maximize",
            np.array([seen[i], second[i]]),
            X,
            np.array([knn_score(m0, c) for c in DESIGN]),
        )
        for i, m0 in enumerate(m0s)
    )
    return Experience(tasks, ("m0", "m1"), "test")


def knn_objective(m0: float, space: SearchSpace = KNN) -> Callable[[Trial], float]:
    """An Optuna objective asking ``space``'s parameters, scored by :func:`knn_score`."""

    def objective(trial: Trial) -> float:
        config: dict[str, Any] = {}
        for p in space.params:
            if p.kind == "categorical":
                config[p.name] = trial.suggest_categorical(p.name, list(p.choices))
            else:
                assert p.low is not None and p.high is not None
                config[p.name] = trial.suggest_int(p.name, int(p.low), int(p.high), log=p.log)
        return knn_score(m0, KNN.transfer(config)[0])

    return objective


def knn(trial: Trial) -> float:
    """The contract's objective: :data:`KNN`'s own ranges, optimum at ``m0 = 0.2``."""
    config = {
        "n_neighbors": trial.suggest_int("n_neighbors", 1, 64, log=True),
        "weights": trial.suggest_categorical("weights", ["uniform", "distance"]),
        "p": trial.suggest_categorical("p", [1, 2]),
    }
    return knn_score(0.2, config)


def knn_curve(m0: float = 0.2, steps: int = 4, prune_first: int = 0) -> Callable[[Trial], float]:
    """An objective with a learning curve, for pruners: :data:`KNN`'s own ranges, final value
    :func:`knn_score` at ``m0``, reported at steps ``1..steps`` as ``final - 0.3 exp(-s r)``
    plus a little noise fixed per configuration, where the rate ``r`` grows with
    ``n_neighbors`` (so early steps rank configurations a little differently from the end).
    It stops with :class:`optuna.TrialPruned` when the pruner says so, and the first
    ``prune_first`` trials after their first report whatever the pruner says."""

    def objective(trial: Trial) -> float:
        n = trial.suggest_int("n_neighbors", 1, 64, log=True)
        weights = trial.suggest_categorical("weights", ["uniform", "distance"])
        p = trial.suggest_categorical("p", [1, 2])
        config = {"n_neighbors": n, "weights": weights, "p": p}
        final = knn_score(m0, config)
        rate = 0.15 + 0.6 * float(KNN.encode(config)[0])
        rng = np.random.default_rng(4 * n + 2 * (weights == "distance") + p)  # per configuration
        for step in range(1, steps + 1):
            trial.report(final - 0.3 * np.exp(-step * rate) + 0.005 * rng.standard_normal(), step)
            if trial.number < prune_first or trial.should_prune():
                raise optuna.TrialPruned()
        return final

    return objective


def narrowed(trial: Trial) -> float:
    """A new user's objective: a narrower integer range than :data:`KNN`'s (20..30, not 1..64)."""
    config = {
        "n_neighbors": trial.suggest_int("n_neighbors", 20, 30),
        "weights": trial.suggest_categorical("weights", ["uniform", "distance"]),
        "p": trial.suggest_categorical("p", [1, 2]),
    }
    return knn_score(0.2, config)

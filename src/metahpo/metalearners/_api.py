"""Zero-shot suggestions for a dataset: the library function behind ``metahpo suggest``.

Everything between a loaded dataset and a ranked list of configurations: load the experience,
place the dataset in the experience's meta-feature order, fit the strategy's meta-learner on the
tasks of the right family and task type, and ask it for ``k`` configurations.

Example:
    >>> from metahpo.datasets import load_dataset  # doctest: +SKIP
    >>> from metahpo.metalearners import suggest_for_dataset  # doctest: +SKIP
    >>> best = suggest_for_dataset(load_dataset("iris"), "knn", k=3)[0]  # doctest: +SKIP
    >>> best.params, best.confidence, best.neighbors[0]  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from metahpo.datasets import Dataset
from metahpo.errors import MetaHPOError
from metahpo.knowledge import Experience, load_bundled
from metahpo.metalearners._base import MetaLearner, Suggestion
from metahpo.metalearners._models import ConfigMapping, PerformanceSurrogate
from metahpo.metalearners._simple import GreedyPortfolio, NearestTasks
from metahpo.metalearners._torch import EmbeddedNearest, NeuralMapping
from metahpo.spaces import get_space

#: Meta-learners by strategy name (``--strategy``). ``neural`` and ``nearest-ae`` need the
#: torch extra when they are fitted (importing them does not import torch).
STRATEGIES: dict[str, type[MetaLearner]] = {
    "nearest": NearestTasks,
    "portfolio": GreedyPortfolio,
    "surrogate": PerformanceSurrogate,
    "mapping": ConfigMapping,
    "neural": NeuralMapping,
    "nearest-ae": EmbeddedNearest,
}

#: The strategy used when none is named: no model training, so suggestions take milliseconds.
DEFAULT_STRATEGY = "portfolio"


def get_strategy(name: str) -> type[MetaLearner]:
    """The meta-learner class of a strategy name."""
    try:
        return STRATEGIES[name]
    except KeyError:
        raise MetaHPOError(
            f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}"
        ) from None


def metafeature_array(metafeatures: Mapping[str, float], names: Sequence[str]) -> np.ndarray:
    """A meta-feature dict as a vector in the order ``names`` (missing or non-finite: 0)."""
    out = np.zeros(len(names))
    for i, name in enumerate(names):
        v = metafeatures.get(name)
        out[i] = float(v) if v is not None and np.isfinite(v) else 0.0
    return out


def with_metafeatures(experience: Experience) -> Experience:
    """The tasks whose meta-feature vector is known.

    A bundle whose meta-features have not been computed yet (``kb build --no-metafeatures``)
    or a run stored without them yields an all-zero vector. Such a task cannot be placed in
    the task space (it would look like one arbitrary point, close to nothing real), so it is
    left out. No real dataset has an all-zero vector: ``log_n_rows`` is positive.
    """
    keep = tuple(t for t in experience.tasks if np.any(np.asarray(t.metafeatures) != 0))
    return replace(experience, tasks=keep)


def fit_strategy(
    experience: Experience,
    family: str,
    task: str,
    strategy: str = DEFAULT_STRATEGY,
    **params: Any,
) -> MetaLearner:
    """Fit the meta-learner of ``strategy`` on the experience of one family and task type.

    Args:
        experience: Any experience; only the tasks of ``family`` / ``task`` that have
            meta-features are used.
        family: Model family.
        task: ``"classification"`` or ``"regression"``.
        strategy: A name in :data:`STRATEGIES`.
        **params: Hyperparameters of the meta-learner (e.g. ``n_tasks=5``).

    Raises:
        KnowledgeBaseError: The experience has no usable task for this family and task type.
    """
    cls = get_strategy(strategy)
    own = with_metafeatures(experience.select(family=family, task=task))
    return cls(**params).fit(own)


def suggest_for_dataset(
    dataset: Dataset,
    family: str,
    k: int = 5,
    strategy: str = DEFAULT_STRATEGY,
    experience: Experience | None = None,
    *,
    metafeatures: Mapping[str, float] | None = None,
    seed: int = 0,
) -> list[Suggestion]:
    """Zero-shot configurations of ``family`` for ``dataset``, best first.

    Args:
        dataset: The new task.
        family: Model family (``hgb``, ``rf``, ``svm``, ``linear``, ``knn``, ``mlp``; ``lgbm``,
            ``xgb`` with the ``boost`` extra).
        k: How many distinct configurations.
        strategy: Meta-learner (``portfolio`` by default: fast, no model training).
        experience: What to learn from (default: the bundled experience). Pass
            ``load_bundled() + from_store(store, names)`` to include your own runs.
        metafeatures: The dataset's meta-features, if already computed.
        seed: Seed of the meta-feature computation (subsample, landmarkers).

    Returns:
        Up to ``k`` suggestions. Without any experience for this family and task type, a single
        suggestion: the library default, with confidence 0 and ``source="default"``.
    """
    if k < 1:
        raise MetaHPOError(f"k must be at least 1, got {k}")
    cls = get_strategy(strategy)
    experience = experience if experience is not None else load_bundled()
    own = with_metafeatures(experience.select(family=family, task=dataset.task))
    if len(own) == 0:
        default = get_space(family, dataset.task).default_config()
        return [Suggestion(default, 0.0, 0.0, (), "default")]
    if metafeatures is None:
        from metahpo.metafeatures import compute_metafeatures

        metafeatures = compute_metafeatures(dataset, seed=seed)
    vector = metafeature_array(metafeatures, own.metafeature_names)
    return cls().fit(own).suggest(vector, k=k)

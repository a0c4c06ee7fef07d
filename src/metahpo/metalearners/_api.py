"""Zero-shot suggestions for a dataset: the library function behind ``metahpo suggest``.

Everything between a loaded dataset and a ranked list of configurations: load the experience,
place the dataset in the experience's meta-feature order, fit the strategy's meta-learner on the
tasks of the right family and task type, and ask it for ``k`` configurations.

Example (iris is in the bundled experience, so its nearest stored task is itself):
    >>> from sklearn.datasets import load_iris
    >>> from metahpo.datasets import load_dataset
    >>> from metahpo.metalearners import suggest_for_dataset
    >>> iris = load_dataset(load_iris(as_frame=True).frame, name="iris")
    >>> best = suggest_for_dataset(iris, "knn", k=3)[0]
    >>> sorted(best.params), best.neighbors[0][0]
    (['n_neighbors', 'p', 'weights'], 'iris')
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from metahpo._args import check_int, check_str, got, is_number, registered
from metahpo.datasets import Dataset, load_dataset
from metahpo.errors import DataError, MetaHPOError
from metahpo.knowledge import Experience, load_bundled
from metahpo.metalearners._learner import MetaLearner, Suggestion
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
    if not isinstance(name, str):
        raise MetaHPOError(f"strategy must be a name ({', '.join(STRATEGIES)}), got {got(name)}")
    return registered(STRATEGIES, name, "strategy")


def dataset_argument(data: Any, target: Any, task: Any, caller: str) -> Dataset:
    """``data`` as a :class:`Dataset`: a dataset as it is; a path or a pandas DataFrame read
    by :func:`~metahpo.datasets.load_dataset` with ``target`` (column name) and ``task``.

    Raises:
        DataError: For anything else, or a ``target`` / ``task`` that contradicts a dataset.
    """
    if isinstance(data, Dataset):
        for name, value, own in (("target", target, data.target), ("task", task, data.task)):
            if value is not None and value != own:
                raise DataError(
                    f"{caller}: {name}={value!r} contradicts the Dataset's {name} {own!r} "
                    f"({name} applies to a DataFrame or a file)"
                )
        return data
    if isinstance(data, str | os.PathLike | pd.DataFrame):
        if target is not None and not isinstance(target, str):
            raise DataError(f"{caller}: 'target' must be a column name (str), got {got(target)}")
        source: Any = data  # a DataFrame: load_dataset's in-memory table
        return load_dataset(source, target=target, task=task)
    raise DataError(
        f"{caller}: 'dataset' must be a Dataset, a pandas DataFrame (with target=COLUMN) or "
        f"the path of a table, got {got(data)}"
    )


def check_inputs(
    caller: str,
    *,
    family: Any,
    strategy: Any,
    seed: Any,
    experience: Any = None,
    metafeatures: Any = None,
) -> None:
    """Types of the arguments that the meta-learning entry points share: a one-line
    :class:`MetaHPOError` naming ``caller``'s argument."""
    check_str(family, f"{caller}: 'family'")
    check_str(strategy, f"{caller}: 'strategy'")
    check_int(seed, f"{caller}: 'seed'", low=0, high=2**32 - 1)
    if experience is not None and not isinstance(experience, Experience):
        raise MetaHPOError(
            f"{caller}: 'experience' must be an Experience (load_bundled(), from_store(...)) "
            f"or None, got {got(experience)}"
        )
    if metafeatures is not None and (
        not isinstance(metafeatures, Mapping)
        or not all(isinstance(k, str) and is_number(v) for k, v in metafeatures.items())
    ):
        raise MetaHPOError(
            f"{caller}: 'metafeatures' must be a dict of names to numbers "
            f"(compute_metafeatures(dataset)) or None, got {got(metafeatures)}"
        )


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
    dataset: Dataset | str | os.PathLike[str] | pd.DataFrame,
    family: str,
    k: int = 5,
    strategy: str = DEFAULT_STRATEGY,
    experience: Experience | None = None,
    *,
    metafeatures: Mapping[str, float] | None = None,
    seed: int = 0,
    target: str | None = None,
    task: str | None = None,
) -> list[Suggestion]:
    """Zero-shot configurations of ``family`` for ``dataset``, best first.

    Args:
        dataset: The new task: a :class:`~metahpo.datasets.Dataset`, a pandas DataFrame
            (with ``target``) or the path of a table (as :func:`~metahpo.datasets.load_dataset`
            reads it).
        family: Model family (``hgb``, ``rf``, ``svm``, ``linear``, ``knn``, ``mlp``; ``lgbm``,
            ``xgb`` with the ``boost`` extra).
        k: How many distinct configurations.
        strategy: Meta-learner (``portfolio`` by default: fast, no model training).
        experience: What to learn from (default: the bundled experience). Pass
            ``load_bundled() + from_store(store, names)`` to include your own runs.
        metafeatures: The dataset's meta-features, if already computed.
        seed: Seed of the meta-feature computation (subsample, landmarkers).
        target, task: For a DataFrame or a path: the target column (default ``target``) and
            the task type (default: inferred), as :func:`~metahpo.datasets.load_dataset` takes
            them.

    Returns:
        Up to ``k`` suggestions. Without any experience for this family and task type, a single
        suggestion: the library default, with confidence 0 and ``source="default"``.

    Raises:
        MetaHPOError: An argument of the wrong type or value, in one line naming it
            (:class:`~metahpo.errors.DataError` for the data).
    """
    where = "suggest_for_dataset"
    check_int(k, f"{where}: 'k'", low=1)
    check_inputs(
        where,
        experience=experience,
        metafeatures=metafeatures,
        seed=seed,
        strategy=strategy,
        family=family,
    )
    get_space(family, "classification")  # an unknown family: one line, before the data
    dataset = dataset_argument(dataset, target, task, where)
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

"""Checks of a tuning run's options and data, made before any trial runs.

Each failed check is a :class:`~metahpo.errors.MetaHPOError` whose one-line message names the
CLI option (``--timeout``) or the data column at fault.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from metahpo._args import check_bool, check_str, got
from metahpo._files import check_outputs
from metahpo.datasets import MAX_MAGNITUDE, Dataset, check_magnitudes
from metahpo.errors import DataError, MetaHPOError, SpaceError
from metahpo.evaluation import check_class_folds

if TYPE_CHECKING:  # optuna and the spaces are imported where used: the CLI checks its
    # options with this module before it needs either
    import optuna
    from optuna.trial import FrozenTrial

    from metahpo.spaces import SearchSpace


def check_storage(storage: object, caller: str) -> None:
    """An Optuna storage URL, an Optuna storage, or ``None`` (in memory)."""
    from optuna.storages import BaseStorage

    if storage is not None and not isinstance(storage, str | BaseStorage):
        raise MetaHPOError(
            f"{caller}: 'storage' must be an Optuna storage URL (str, e.g. "
            f"'sqlite:///metahpo.db'), an Optuna storage or None (in memory), got {got(storage)}"
        )


def check_base_options_argument(
    optimizer: object, base: str, base_options: object, caller: str
) -> dict[str, int]:
    """``base_options`` checked against ``base`` (:func:`~metahpo.optimizers.check_base_options`),
    and given only with ``optimizer="meta"``: the options given, by name."""
    if optimizer != "meta":
        if base_options:
            raise MetaHPOError(
                f"{caller}: 'base_options' applies to optimizer='meta' only (its base), "
                f"not optimizer {optimizer if isinstance(optimizer, str) else 'a sampler'}"
            )
        return {}
    from metahpo.optimizers import check_base_options

    return check_base_options(base, cast("Mapping[str, Any] | None", base_options), caller)


def check_tune_arguments(
    *,
    family: object,
    metric: object,
    optimizer: object,
    storage: object,
    study_name: object,
    callbacks: object,
    metafeatures: object,
    strategy: object,
    base: object,
    base_options: object,
    experience: object,
    allow_changed_settings: object,
    pruner: object = None,
) -> tuple[Callable[[optuna.Study, FrozenTrial], None], ...]:
    """The types of :func:`~metahpo.tuning.tune`'s arguments that :func:`check_options` does
    not check; its callbacks as a tuple."""
    import optuna

    from metahpo.metalearners import check_inputs

    check_inputs(
        "tune", family=family, strategy=strategy, seed=0, experience=experience,
        metafeatures=metafeatures,
    )  # fmt: skip
    check_str(metric, "tune: 'metric'", none=True)
    if not isinstance(optimizer, str | optuna.samplers.BaseSampler):
        raise MetaHPOError(
            "tune: 'optimizer' must be 'meta', a classic optimizer's name (random, tpe, ...) "
            f"or an Optuna sampler, got {got(optimizer)}"
        )
    check_storage(storage, "tune")
    check_str(study_name, "tune: 'study_name'", none=True)
    check_str(base, "tune: 'base'")
    check_base_options_argument(optimizer, str(base), base_options, "tune")
    check_bool(allow_changed_settings, "tune: 'allow_changed_settings'")
    if pruner is not None and not isinstance(pruner, optuna.pruners.BasePruner):
        raise MetaHPOError(
            "tune: 'pruner' must be an Optuna pruner (e.g. optuna.pruners.HyperbandPruner()) "
            f"or None (successive halving on the row rungs), got {got(pruner)}"
        )
    if not isinstance(callbacks, Iterable) or isinstance(callbacks, str | bytes):
        raise MetaHPOError(
            f"tune: 'callbacks' must be a list of functions (study, trial), got {got(callbacks)}"
        )
    found = tuple(callbacks)
    for fn in found:
        if not callable(fn):
            raise MetaHPOError(
                f"tune: 'callbacks' must be a list of functions (study, trial); one is {got(fn)}"
            )
    return found


def space_argument(space: object, family: str, task: str, caller: str) -> SearchSpace | None:
    """``space`` as a :class:`SearchSpace` of ``family`` for ``task``: a space as it is; a dict
    in the space's JSON form (:meth:`SearchSpace.to_dict`; ``family`` and ``task`` may be left
    out), JSON text or the path of a JSON file read by :meth:`SearchSpace.from_json`; the
    short form (``{"n_neighbors": [1, 30]}``) is read against the family's built-in space."""
    from metahpo.spaces import SearchSpace, get_space

    if space is None or isinstance(space, SearchSpace):
        found = space
    elif isinstance(space, Mapping | str | os.PathLike):
        text = space
        if isinstance(space, Mapping):
            d = dict(space)
            if "params" in d:
                d.setdefault("family", family)
                d.setdefault("task", task)
            text = _json(d, caller)
        try:
            base = get_space(family, task)
            found = SearchSpace.from_json(text, base=base)  # type: ignore[arg-type]
        except SpaceError as exc:
            raise SpaceError(f"{caller}: 'space': {exc}") from None
        except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise SpaceError(f"{caller}: 'space': invalid search space ({detail})") from None
    else:
        raise SpaceError(
            f"{caller}: 'space' must be a SearchSpace, a dict in its JSON form, JSON text, the "
            f"path of a JSON file or None, got {got(space)}"
        )
    if found is not None and found.family != family:
        raise SpaceError(f"{caller}: 'space' is a {found.family} space, not one of {family}")
    if found is not None and found.task != task:
        raise SpaceError(f"search space is for {found.task}, the dataset is {task}")
    return found


def _json(d: dict[str, object], caller: str) -> str:
    try:
        return json.dumps(d)
    except (TypeError, ValueError) as exc:
        raise SpaceError(f"{caller}: 'space' is not in JSON types ({exc})") from None


def check_output_path(path: str | Path | None, option: str = "--json") -> None:
    """The folder of an output file must exist and be writable (checked before the work, not
    after it); :func:`metahpo._files.check_outputs` also compares it with the inputs.
    """
    check_outputs({option: path})


def check_folds(splits: Sequence[tuple[np.ndarray, np.ndarray]], metric: str) -> None:
    """R² is undefined on a test fold of one row: every trial would fail."""
    smallest = min((len(test) for _, test in splits), default=0)
    if metric == "r2" and smallest < 2:
        raise DataError(
            f"a test fold of {smallest} row: r2 needs at least 2 rows in each fold; "
            "use fewer --folds, more rows, or --metric rmse / mae"
        )


def check_data(dataset: Dataset, folds: int | None = None) -> None:
    """Data that would make every trial fail, or succeed with a meaningless score.

    The same checks of feature values run on the rows ``metahpo predict`` reads
    (:func:`~metahpo.datasets.check_rows`); with ``folds``, classes with fewer rows than
    folds are refused (:func:`~metahpo.evaluation.check_class_folds`).
    """
    check_magnitudes(dataset.X)
    y = np.asarray(dataset.y)
    if dataset.task == "regression":
        top = float(np.nanmax(np.abs(y.astype(float)))) if y.size else 0.0
        if math.isfinite(top) and top > MAX_MAGNITUDE:
            raise DataError(
                f"the target has values up to {top:.3g}; values beyond {MAX_MAGNITUDE:.0e} "
                "overflow in training: rescale it"
            )
        return
    _, counts = np.unique(y, return_counts=True)
    single = int(np.sum(counts == 1))
    if single > dataset.n_rows / 2:
        raise DataError(
            f"the target has {len(counts)} classes for {dataset.n_rows} rows ({single} classes "
            "have a single row): no model can learn them by cross-validation; is it an "
            "identifier, or a numeric target (--task regression)?"
        )
    if folds is not None:
        check_class_folds(dataset, folds)

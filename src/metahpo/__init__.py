"""metahpo: hyperparameter optimisation that learns from earlier tuning runs.

The names below are the public API. All but the errors and the version are imported on first
use, so ``import metahpo`` (and the command line's ``--help``) stays light: no numpy, pandas,
scikit-learn or Optuna until a name that needs them is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from metahpo._version import __version__
from metahpo.errors import DataError, KnowledgeBaseError, MetaHPOError, SpaceError

if TYPE_CHECKING:
    from metahpo.datasets import Dataset, load_dataset
    from metahpo.evaluation import Evaluation, evaluate
    from metahpo.knowledge import Experience, KnowledgeStore, TaskRecord, load_bundled
    from metahpo.metafeatures import compute_metafeatures
    from metahpo.metalearners import suggest_for_dataset
    from metahpo.optimizers import MetaSampler, make_meta_sampler
    from metahpo.sklearn import MetaSearchCV
    from metahpo.spaces import (
        FAMILY_NAMES,
        EstimatorSpec,
        SearchSpace,
        estimator_spec,
        get_space,
    )
    from metahpo.tuning import TuneResult, meta_sampler_for, tune

#: Public names imported on first access, and the module that holds each.
_LAZY = {
    "Dataset": "metahpo.datasets",
    "load_dataset": "metahpo.datasets",
    "Evaluation": "metahpo.evaluation",
    "evaluate": "metahpo.evaluation",
    "Experience": "metahpo.knowledge",
    "KnowledgeStore": "metahpo.knowledge",
    "TaskRecord": "metahpo.knowledge",
    "load_bundled": "metahpo.knowledge",
    "FAMILY_NAMES": "metahpo.spaces",
    "EstimatorSpec": "metahpo.spaces",
    "SearchSpace": "metahpo.spaces",
    "estimator_spec": "metahpo.spaces",
    "get_space": "metahpo.spaces",
    "compute_metafeatures": "metahpo.metafeatures",
    "suggest_for_dataset": "metahpo.metalearners",
    "MetaSampler": "metahpo.optimizers",
    "make_meta_sampler": "metahpo.optimizers",
    "MetaSearchCV": "metahpo.sklearn",
    "TuneResult": "metahpo.tuning",
    "meta_sampler_for": "metahpo.tuning",
    "tune": "metahpo.tuning",
}


#: Subpackages, reachable as attributes (``metahpo.spaces``) as when they were imported eagerly.
_SUBPACKAGES = {
    "datasets",
    "spaces",
    "evaluation",
    "metafeatures",
    "knowledge",
    "metalearners",
    "optimizers",
    "tuning",
    "report",
    "sklearn",
    "cli",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBPACKAGES:
        return importlib.import_module(f"metahpo.{name}")
    raise AttributeError(f"module 'metahpo' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "FAMILY_NAMES",
    "DataError",
    "Dataset",
    "EstimatorSpec",
    "Evaluation",
    "Experience",
    "KnowledgeBaseError",
    "KnowledgeStore",
    "MetaHPOError",
    "MetaSampler",
    "MetaSearchCV",
    "SearchSpace",
    "SpaceError",
    "TaskRecord",
    "TuneResult",
    "__version__",
    "compute_metafeatures",
    "estimator_spec",
    "evaluate",
    "get_space",
    "load_bundled",
    "load_dataset",
    "make_meta_sampler",
    "meta_sampler_for",
    "suggest_for_dataset",
    "tune",
]

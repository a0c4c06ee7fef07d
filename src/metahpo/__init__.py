"""metahpo: hyperparameter optimisation that learns from earlier tuning runs."""

from metahpo._version import __version__
from metahpo.datasets import Dataset, load_dataset
from metahpo.errors import DataError, KnowledgeBaseError, MetaHPOError, SpaceError
from metahpo.evaluation import Evaluation, evaluate
from metahpo.knowledge import KnowledgeStore, TaskRecord
from metahpo.spaces import FAMILY_NAMES, SearchSpace, get_space

__all__ = [
    "FAMILY_NAMES",
    "DataError",
    "Dataset",
    "Evaluation",
    "KnowledgeBaseError",
    "KnowledgeStore",
    "MetaHPOError",
    "SearchSpace",
    "SpaceError",
    "TaskRecord",
    "__version__",
    "evaluate",
    "get_space",
    "load_dataset",
]

"""Meta-learners layer: turn experience into configurations for a new task."""

from metahpo.metalearners._api import (
    DEFAULT_STRATEGY,
    STRATEGIES,
    check_inputs,
    dataset_argument,
    fit_strategy,
    get_strategy,
    metafeature_array,
    suggest_for_dataset,
    with_metafeatures,
)
from metahpo.metalearners._cost import (
    MAX_ROWS_EXPONENT,
    MIN_ROWS_EXPONENT,
    CostModel,
    CostTable,
    DataSize,
    cost_order,
    cost_tables,
)
from metahpo.metalearners._default_first import (
    CANDIDATES,
    EVIDENCE_TASKS,
    LOSS_AVERSION,
    DefaultEvidence,
    default_evidence,
)
from metahpo.metalearners._learner import SAME_TASK, MetaLearner, Suggestion, TaskSpace
from metahpo.metalearners._models import ConfigMapping, PerformanceSurrogate
from metahpo.metalearners._pool import ScoreTable, normalized_scores
from metahpo.metalearners._simple import GreedyPortfolio, NearestTasks
from metahpo.metalearners._torch import (
    EmbeddedNearest,
    NeuralMapping,
    TaskAutoencoder,
    one_thread,
    require_torch,
)

__all__ = [
    "CANDIDATES",
    "DEFAULT_STRATEGY",
    "EVIDENCE_TASKS",
    "LOSS_AVERSION",
    "MAX_ROWS_EXPONENT",
    "MIN_ROWS_EXPONENT",
    "SAME_TASK",
    "STRATEGIES",
    "ConfigMapping",
    "CostModel",
    "CostTable",
    "DataSize",
    "DefaultEvidence",
    "EmbeddedNearest",
    "GreedyPortfolio",
    "MetaLearner",
    "NearestTasks",
    "NeuralMapping",
    "PerformanceSurrogate",
    "ScoreTable",
    "Suggestion",
    "TaskAutoencoder",
    "TaskSpace",
    "check_inputs",
    "cost_order",
    "cost_tables",
    "dataset_argument",
    "default_evidence",
    "fit_strategy",
    "get_strategy",
    "metafeature_array",
    "normalized_scores",
    "one_thread",
    "require_torch",
    "suggest_for_dataset",
    "with_metafeatures",
]

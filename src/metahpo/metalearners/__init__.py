"""Meta-learners layer: turn experience into configurations for a new task."""

from metahpo.metalearners._api import (
    DEFAULT_STRATEGY,
    STRATEGIES,
    fit_strategy,
    get_strategy,
    metafeature_array,
    suggest_for_dataset,
    with_metafeatures,
)
from metahpo.metalearners._base import MetaLearner, Suggestion, TaskSpace, rank_normalized
from metahpo.metalearners._models import ConfigMapping, PerformanceSurrogate
from metahpo.metalearners._pool import ScoreTable, normalized_scores
from metahpo.metalearners._simple import GreedyPortfolio, NearestTasks

__all__ = [
    "DEFAULT_STRATEGY",
    "STRATEGIES",
    "ConfigMapping",
    "GreedyPortfolio",
    "MetaLearner",
    "NearestTasks",
    "PerformanceSurrogate",
    "ScoreTable",
    "Suggestion",
    "TaskSpace",
    "fit_strategy",
    "get_strategy",
    "metafeature_array",
    "normalized_scores",
    "rank_normalized",
    "suggest_for_dataset",
    "with_metafeatures",
]

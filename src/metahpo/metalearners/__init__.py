"""Meta-learners layer: turn experience into configurations for a new task."""

from metahpo.metalearners._base import MetaLearner, Suggestion, TaskSpace, rank_normalized
from metahpo.metalearners._models import ConfigMapping, PerformanceSurrogate
from metahpo.metalearners._pool import ScoreTable, normalized_scores
from metahpo.metalearners._simple import GreedyPortfolio, NearestTasks

#: Meta-learners by strategy name (``--strategy``).
STRATEGIES: dict[str, type[MetaLearner]] = {
    "nearest": NearestTasks,
    "portfolio": GreedyPortfolio,
    "surrogate": PerformanceSurrogate,
    "mapping": ConfigMapping,
}

__all__ = [
    "STRATEGIES",
    "ConfigMapping",
    "GreedyPortfolio",
    "MetaLearner",
    "NearestTasks",
    "PerformanceSurrogate",
    "ScoreTable",
    "Suggestion",
    "TaskSpace",
    "normalized_scores",
    "rank_normalized",
]

"""Meta-learners that read the score table directly: nearest tasks and greedy portfolios."""

from __future__ import annotations

from typing import Any

import numpy as np

from metahpo.knowledge import Experience
from metahpo.metalearners._learner import SAME_TASK, MetaLearner
from metahpo.metalearners._pool import ScoreTable


class _TableLearner(MetaLearner):
    """A meta-learner whose whole fitted state is the experience's :class:`ScoreTable`."""

    def _fit(self, experience: Experience) -> None:
        assert self.space_ is not None
        self.table_ = ScoreTable.build(experience, self.space_)

    def _state(self) -> dict[str, np.ndarray]:
        return self.table_.to_arrays()

    def _restore(self, state: dict[str, np.ndarray], extra: dict[str, Any]) -> None:
        assert self.space_ is not None
        self.table_ = ScoreTable.from_arrays(state, self.space_)

    def _neighbour_weights(self, distances: np.ndarray, n_tasks: int | None) -> np.ndarray:
        """Relative weights of the ``n_tasks`` nearest training tasks (all, equal, if None)."""
        assert self.task_space_ is not None
        if n_tasks is None:
            return np.ones(len(distances))
        order = np.argsort(distances, kind="stable")[:n_tasks]
        weights = np.zeros(len(distances))
        weights[order] = self.task_space_.weights(distances)[order]
        return weights


class NearestTasks(_TableLearner):
    """Best configurations of the most similar training tasks (auto-sklearn 1.0 style).

    Tasks are ordered by distance in the scaled meta-feature space; the suggestions are the
    best configuration of the nearest task, then of the second nearest, and so on (then the
    second-best of each), without duplicates. The predicted score of a configuration is its
    similarity-weighted mean normalised score over the ``n_tasks`` nearest tasks.

    Args:
        n_tasks: How many nearest tasks contribute.
    """

    name = "nearest"

    def __init__(self, n_tasks: int = 10) -> None:
        super().__init__()
        self.n_tasks = n_tasks

    def _suggest(
        self, metafeatures: np.ndarray, distances: np.ndarray, k: int
    ) -> list[tuple[dict[str, Any], float]]:
        S = self.table_.S
        order = np.argsort(distances, kind="stable")[: self.n_tasks]
        predicted = self.table_.weighted_mean(self._neighbour_weights(distances, self.n_tasks))
        chosen: list[int] = []
        depth = 0
        while len(chosen) < k and depth < S.shape[1]:
            for t in order:
                ranked = np.argsort(-np.nan_to_num(S[t], nan=-1.0), kind="stable")
                if depth < len(ranked) and np.isfinite(S[t, ranked[depth]]):
                    c = int(ranked[depth])
                    if c not in chosen:
                        chosen.append(c)
                if len(chosen) == k:
                    break
            depth += 1
        return [(self.table_.config(c), float(np.nan_to_num(predicted[c]))) for c in chosen]


class GreedyPortfolio(_TableLearner):
    """A small set of configurations that together do well on similar tasks.

    Greedy forward selection (auto-sklearn 2.0 / FLAML zero-shot style): each step adds the
    configuration that most increases the weighted mean over training tasks of the best
    normalised score reached by the portfolio so far. Task weights are the similarities of the
    ``n_tasks`` nearest training tasks to the new task (all tasks with ``n_tasks=None``), so the
    portfolio is conditioned on the new task's neighbours.

    A training task with exactly the new task's meta-features is the same dataset, tuned
    before: its results are not a proxy, so the portfolio starts with its best configuration
    (with several such runs, the best on average over them) and greedy selection goes on from
    there. This is what makes a finished run improve the next suggestion for its dataset.

    Args:
        n_tasks: Nearest tasks that weigh in (``None``: every training task, equally).
    """

    name = "portfolio"

    def __init__(self, n_tasks: int | None = 25) -> None:
        super().__init__()
        self.n_tasks = n_tasks

    def _suggest(
        self, metafeatures: np.ndarray, distances: np.ndarray, k: int
    ) -> list[tuple[dict[str, Any], float]]:
        S = np.nan_to_num(self.table_.S, nan=0.0)
        weights = self._neighbour_weights(distances, self.n_tasks)
        weights = weights / max(weights.sum(), 1e-300)
        predicted = self.table_.weighted_mean(weights)
        reached = np.zeros(S.shape[0])
        chosen: list[int] = []
        same = np.flatnonzero(distances <= SAME_TASK)
        if same.size and k > 0:
            own = self.table_.S[same]
            known = np.isfinite(own)
            count = known.sum(axis=0)
            total = np.where(known, own, 0.0).sum(axis=0)
            c = int(np.argmax(np.where(count > 0, total / np.maximum(count, 1), -1.0)))
            chosen.append(c)
            reached = np.maximum(reached, S[:, c])
        for _ in range(min(k, S.shape[1]) - len(chosen)):
            gain = (weights[:, None] * np.maximum(reached[:, None], S)).sum(0)
            gain[chosen] = -np.inf
            c = int(np.argmax(gain))
            chosen.append(c)
            reached = np.maximum(reached, S[:, c])
        return [(self.table_.config(c), float(np.nan_to_num(predicted[c]))) for c in chosen]

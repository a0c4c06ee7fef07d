"""The candidate pool of a held-out task: replaying stored evaluations as if they were new.

In replay mode (tabular benchmarking, as in HPO-B) a held-out (dataset, family) task offers the
configurations it was evaluated on as the only candidates. A method picks them one at a time and
"evaluating" one reads its stored score. :class:`Pool` is what a method sees: the encoded
configurations, the task's meta-features and description, and :meth:`Pool.evaluate`. It never
exposes the score of a configuration that has not been picked, so a method cannot peek.

Failed evaluations (``nan`` scores) stay in the pool: picking one costs an evaluation, exactly
as a crashing configuration costs a trial in real tuning, and :meth:`Pool.evaluate` returns
``None`` for it (an Optuna-driven method tells the trial as ``FAIL``). For the regret such a pick
never improves the best score found.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from metahpo.errors import MetaHPOError
from metahpo.knowledge import TaskExperience
from metahpo.spaces import SearchSpace


class PoolExhaustedError(MetaHPOError):
    """A method asked for more evaluations than its budget, or re-evaluated a configuration."""


class Pool:
    """A held-out task's stored evaluations, offered as candidates to one benchmark run.

    Args:
        task: The held-out task (its scores stay private to the pool).
        budget: Evaluations allowed; capped at the pool size.

    Attributes:
        X: Encoded configurations, shape ``(n, encoded_dim)`` (unit cube of :attr:`space`).
        space: The family's built-in search space.
        metafeatures: The task's meta-feature vector.
        family, task_type, direction, dataset: What the task is.
        budget: Evaluations allowed in this run.
        picks: Pool rows evaluated so far, in order.
        seconds: For each pick, the wall time the method spent choosing it (time since the
            previous evaluation, or since the pool was created for the first one).
    """

    def __init__(self, task: TaskExperience, budget: int) -> None:
        if budget < 1:
            raise MetaHPOError(f"the budget must be a positive integer; got {budget}")
        self.X: np.ndarray = np.array(task.X, dtype=float, copy=True)
        self.X.setflags(write=False)
        self.space: SearchSpace = task.space
        self.metafeatures: np.ndarray = np.array(task.metafeatures, dtype=float, copy=True)
        self.family = task.family
        self.task_type = task.task
        self.direction = task.direction
        self.dataset = task.dataset
        self.budget = min(int(budget), self.n)
        self._y = np.asarray(task.y, dtype=float)
        self._used: np.ndarray = np.zeros(self.n, dtype=bool)
        self.picks: list[int] = []
        self.seconds: list[float] = []
        self._clock = time.perf_counter()

    @property
    def n(self) -> int:
        """Number of candidate configurations."""
        return int(self.X.shape[0])

    @property
    def done(self) -> bool:
        """Whether the budget is spent."""
        return len(self.picks) >= self.budget

    @property
    def used(self) -> np.ndarray:
        """Boolean mask of the rows evaluated so far (a copy)."""
        return np.array(self._used, dtype=bool)

    def unused(self) -> np.ndarray:
        """Indices of the rows not evaluated yet, ascending."""
        return np.flatnonzero(~self._used)

    def snap(self, x: np.ndarray) -> int:
        """The not-yet-evaluated row nearest to the encoded point ``x`` (Euclidean, unit cube).

        Ties go to the lowest row index. Categorical parameters are one-hot, so a point is
        always nearer to a row with the same categories than to one that differs in any.
        """
        free = self.unused()
        if free.size == 0:
            raise PoolExhaustedError("every configuration of the pool has been evaluated")
        d = ((self.X[free] - np.asarray(x, dtype=float)[None, :]) ** 2).sum(axis=1)
        return int(free[int(np.argmin(d))])

    def snap_config(self, config: dict[str, Any]) -> int:
        """:meth:`snap` for a configuration (encoded with the pool's space)."""
        return self.snap(self.space.encode(config))

    def random_unused(self, rng: np.random.Generator) -> int:
        """A uniformly random row not evaluated yet."""
        free = self.unused()
        if free.size == 0:
            raise PoolExhaustedError("every configuration of the pool has been evaluated")
        return int(free[int(rng.integers(free.size))])

    def evaluate(self, index: int) -> float | None:
        """Spend one evaluation on row ``index``: its stored score, or ``None`` if it failed.

        Raises:
            PoolExhaustedError: The budget is spent or the row was already evaluated.
        """
        now = time.perf_counter()
        i = int(index)
        if self.done:
            raise PoolExhaustedError(f"the budget of {self.budget} evaluations is spent")
        if not 0 <= i < self.n:
            raise PoolExhaustedError(f"row {i} is outside the pool of {self.n} configurations")
        if self._used[i]:
            raise PoolExhaustedError(f"row {i} was already evaluated")
        self._used[i] = True
        self.picks.append(i)
        self.seconds.append(now - self._clock)
        value = float(self._y[i])
        self._clock = time.perf_counter()
        return value if np.isfinite(value) else None

    def fill_random(self, rng: np.random.Generator) -> None:
        """Spend the remaining budget on uniformly random unused rows."""
        while not self.done:
            self.evaluate(self.random_unused(rng))

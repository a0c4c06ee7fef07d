"""Cost-aware proposals for a run whose budget is time: expected improvement per second.

Under a timeout, a configuration that costs ten times as much is ten evaluations of others.
With a :class:`TimeCost`, the ``transfer-gp`` base ranks its candidates by expected improvement
divided by the predicted cost raised to a power ``alpha`` (EI per second, Snoek, Larochelle and
Adams, 2012), and ``alpha`` falls from 1 at the start of the run to 0 at its deadline: cheap
configurations first, pure expected improvement at the end (cost cooling, Lee, Eriksson,
Perrone and Poloczek, 2020, "Cost-aware Bayesian optimization", CArBO). Only cost *ratios*
between candidates matter, so the cost model's seconds need no calibration to this machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from metahpo.datasets import Dataset


@dataclass(frozen=True)
class TimeCost:
    """What candidates cost, and how much that counts now.

    Attributes:
        log_seconds: Natural log of the predicted seconds of evaluating each row of an array of
            configurations encoded in the family's built-in space (any additive offset).
        ends: ``time.time()`` of the run's deadline.
        span: Seconds from the start of the run to its deadline.
    """

    log_seconds: Callable[[np.ndarray], np.ndarray]
    ends: float
    span: float

    def alpha(self, now: float | None = None) -> float:
        """The cost exponent: the share of the run's time left, in ``[0, 1]``."""
        left = self.ends - (time.time() if now is None else now)
        return float(min(max(left / self.span, 0.0), 1.0)) if self.span > 0 else 0.0

    def per_second(self, acquisition: np.ndarray, encoded: np.ndarray) -> np.ndarray:
        """``acquisition`` (non-negative, one per row of ``encoded``) divided by each row's
        predicted cost to the power :meth:`alpha`, relative to the cheapest row."""
        a = self.alpha()
        if a <= 0.0 or not len(encoded):
            return acquisition
        log_cost = np.asarray(self.log_seconds(encoded), dtype=float)
        if log_cost.shape != (len(encoded),) or not np.all(np.isfinite(log_cost)):
            return acquisition  # a cost model that cannot price these: plain acquisition
        return np.asarray(acquisition * np.exp(-a * (log_cost - log_cost.min())))


def time_cost(
    dataset: Dataset, family: str, seconds: float, ends: float | None = None
) -> TimeCost | None:
    """What configurations of ``family`` cost on ``dataset``, priced by the bundled
    experience's :class:`~metahpo.metalearners.CostModel`, for a run of ``seconds`` that ends
    at ``ends`` (``time.time()``; default: ``seconds`` from now). ``None``: the family has no
    timings of the dataset's task type."""
    from metahpo.errors import MetaHPOError
    from metahpo.metalearners import CostModel, DataSize

    try:
        model = CostModel.from_bundle(family, task=dataset.task)
    except MetaHPOError:
        return None
    priced = _Priced(model, dataset.task, DataSize.of(dataset))
    return TimeCost(priced, time.time() + seconds if ends is None else ends, float(seconds))


@dataclass(frozen=True)
class _Priced:
    """Log seconds of encoded configurations on one dataset (a plain object, so that a fitted
    search that holds its sampler can still be pickled)."""

    model: Any  # a metahpo.metalearners.CostModel
    task: str
    size: Any  # a metahpo.metalearners.DataSize

    def __call__(self, encoded: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.predict_log_seconds(encoded, self.task, self.size))

"""Cost-aware proposals for a run whose budget is time: expected improvement per second.

Under a timeout, a configuration that costs ten times as much is ten evaluations of others.
With a :class:`TimeCost`, the ``transfer-gp`` base ranks its candidates by expected improvement
divided by the predicted cost raised to a power ``alpha`` (EI per second, Snoek, Larochelle and
Adams, 2012), and ``alpha`` falls from 1 at the start of the run to 0 at its deadline: cheap
configurations first, pure expected improvement at the end (cost cooling, Lee, Eriksson,
Perrone and Poloczek, 2020, "Cost-aware Bayesian optimization", CArBO). Only cost *ratios*
between candidates matter, so the cost model's seconds need no calibration to this machine.

**A low-cost start.** Where the run's evaluation is known (its fits and training rows), the
first full-fidelity trial must fit :data:`FIRST_SHARE` of the run's time: a first warm start
predicted to cost more gives its place to the meta-learner's best-ranked suggestion predicted
to fit, else to the cheapest (:func:`low_cost_first`); the other warm starts follow, raced on
the row rungs. A model then exists early, also on tables where one default fit takes most of
the timeout. This one decision does need the cost model's seconds: they are the experience's
timings, on the machines that built it, extrapolated beyond its 2,000 rows (see
:class:`~metahpo.metalearners.CostModel`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from metahpo.datasets import Dataset

#: Share of a run's time within which its first full-fidelity result should come.
FIRST_SHARE = 0.1


@dataclass(frozen=True)
class TimeCost:
    """What candidates cost, and how much that counts now.

    Attributes:
        log_seconds: Natural log of the predicted seconds of evaluating each row of an array of
            configurations encoded in the family's built-in space (any additive offset).
        ends: ``time.time()`` of the run's deadline.
        span: Seconds from the start of the run to its deadline.
        full_log_seconds: Natural log of the predicted seconds of one full-fidelity evaluation
            in this run (its fits, on its training rows) of each row of an array of encoded
            configurations; ``None`` where the run's evaluation is unknown (no low-cost start).
    """

    log_seconds: Callable[[np.ndarray], np.ndarray]
    ends: float
    span: float
    full_log_seconds: Callable[[np.ndarray], np.ndarray] | None = None

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
    dataset: Dataset,
    family: str,
    seconds: float,
    ends: float | None = None,
    *,
    evaluation: tuple[int, float] | None = None,
) -> TimeCost | None:
    """What configurations of ``family`` cost on ``dataset``, priced by the bundled
    experience's :class:`~metahpo.metalearners.CostModel`, for a run of ``seconds`` that ends
    at ``ends`` (``time.time()``; default: ``seconds`` from now). ``evaluation``: the run's
    full-fidelity evaluation, ``(fits, training rows of each)`` (5-fold CV of ``n`` rows:
    ``(5, 0.8 n)``; a holdout split: ``(1, its training rows)``), which the low-cost start
    needs. ``None``: the family has no timings of the dataset's task type."""
    from metahpo.errors import MetaHPOError
    from metahpo.metalearners import CostModel, DataSize

    try:
        model = CostModel.from_bundle(family, task=dataset.task)
    except MetaHPOError:
        return None
    size = DataSize.of(dataset)
    full = None if evaluation is None else _Full(model, dataset.task, size, *evaluation)
    ends = time.time() + seconds if ends is None else ends
    return TimeCost(_Priced(model, dataset.task, size), ends, float(seconds), full)


@dataclass(frozen=True)
class _Priced:
    """Log seconds of encoded configurations on one dataset (a plain object, so that a fitted
    search that holds its sampler can still be pickled)."""

    model: Any  # a metahpo.metalearners.CostModel
    task: str
    size: Any  # a metahpo.metalearners.DataSize

    def __call__(self, encoded: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.predict_log_seconds(encoded, self.task, self.size))


@dataclass(frozen=True)
class _Full:
    """Log seconds of one full-fidelity evaluation of encoded configurations in a run:
    ``fits`` fits on ``train_rows`` rows each."""

    model: Any  # a metahpo.metalearners.CostModel
    task: str
    size: Any  # a metahpo.metalearners.DataSize
    fits: int
    train_rows: float

    def __call__(self, encoded: np.ndarray) -> np.ndarray:
        s = self.size
        one = self.model.fold_log_seconds(
            encoded, self.task, self.train_rows, s.n_features, s.n_classes
        )
        return np.asarray(one, dtype=float) + float(np.log(max(self.fits, 1)))


def low_cost_first(encoded: np.ndarray, cost: TimeCost | None) -> int:
    """Which of the configurations (encoded rows, in the order they would be evaluated: the
    first warm start, then the other candidates by rank) to evaluate first: ``0`` when it is
    predicted to fit :data:`FIRST_SHARE` of the run's time (or nothing can be priced), else
    the first predicted to fit, else the cheapest."""
    if cost is None or cost.full_log_seconds is None or len(encoded) < 2:
        return 0
    log_s = np.asarray(cost.full_log_seconds(encoded), dtype=float)
    if log_s.shape != (len(encoded),) or not np.all(np.isfinite(log_s)):
        return 0
    fits = np.flatnonzero(np.exp(log_s) <= FIRST_SHARE * cost.span)
    return int(fits[0]) if len(fits) else int(np.argmin(log_s))  # ties: the planned first

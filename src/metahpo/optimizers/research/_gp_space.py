"""Optuna distributions as the unit cube of :class:`GPEISampler`.

Live standing: that of :class:`GPEISampler`, its only user: not measured.

Each numeric distribution maps by :class:`~metahpo.spaces.UnitInterval`, the map of the search
spaces, with its grid option: the range widened by half a step on each side for integers and
stepped floats, so that every grid value owns a cell of equal width (as in Optuna's own GP
sampler). A categorical distribution's coordinate is its choice index (Optuna's internal
representation): the GP one-hot encodes it, and moves switch it to another index.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import FrozenTrial

from metahpo.spaces import UnitInterval

_sobol_lock = threading.Lock()  # scipy's Sobol engine is not thread-safe to construct


def _interval(d: BaseDistribution) -> UnitInterval | None:
    """The map of a numeric distribution (``None`` for a categorical)."""
    if isinstance(d, CategoricalDistribution):
        return None
    assert isinstance(d, (FloatDistribution, IntDistribution))
    return UnitInterval(float(d.low), float(d.high), bool(d.log), float(d.step or 0.0))


class UnitSpace:
    """A dict of Optuna distributions as the unit cube, one coordinate per parameter.

    Attributes:
        continuous_indices: Coordinates of the parameters without a step.
    """

    def __init__(self, distributions: dict[str, BaseDistribution]) -> None:
        self.distributions = distributions
        self._intervals = [_interval(d) for d in distributions.values()]
        self.continuous_indices = np.array(
            [i for i, m in enumerate(self._intervals) if m is not None and m.step == 0.0],
            dtype=int,
        )

    def get_normalized_params(self, trials: list[FrozenTrial]) -> np.ndarray:
        """The trials' parameters, shape ``(len(trials), n_params)``."""
        out = np.empty((len(trials), len(self.distributions)), dtype=float)
        for i, (name, d) in enumerate(self.distributions.items()):
            m = self._intervals[i]
            if m is None:
                out[:, i] = [d.to_internal_repr(t.params[name]) for t in trials]
            else:
                out[:, i] = m.to_unit(np.array([t.params[name] for t in trials], dtype=float))
        return out

    def get_unnormalized_param(self, u: np.ndarray) -> dict[str, Any]:
        """A normalised point as parameter values."""
        out: dict[str, Any] = {}
        for i, (name, d) in enumerate(self.distributions.items()):
            m = self._intervals[i]
            if m is None:
                out[name] = d.to_external_repr(u[i])
                continue
            value = float(np.clip(m.from_unit(u[i]), m.low, m.high))
            out[name] = round(value) if isinstance(d, IntDistribution) else value
        return out

    def round_discrete(self, X: np.ndarray) -> np.ndarray:
        """``X`` (normalised points) with the integer and stepped coordinates snapped to their
        grids, in place."""
        for i, m in enumerate(self._intervals):
            if m is not None and m.step != 0.0:
                X[:, i] = m.snap(X[:, i])
        return X

    def sample_normalized_params(self, n: int, rng: np.random.RandomState) -> np.ndarray:
        """``n`` scrambled Sobol points, discrete coordinates on their grid."""
        from scipy.stats import qmc

        dim = len(self.distributions)
        with _sobol_lock:
            engine = qmc.Sobol(dim, scramble=True, seed=rng.randint(np.iinfo(np.int32).max))
        u: np.ndarray = engine.random(n)
        for i, d in enumerate(self.distributions.values()):
            if isinstance(d, CategoricalDistribution):
                u[:, i] = np.floor(u[:, i] * len(d.choices))
        return self.round_discrete(u)

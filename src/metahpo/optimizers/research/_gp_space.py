"""The unit-cube encoding of Optuna distributions used by :class:`GPEISampler`.

Live standing: that of :class:`GPEISampler`, its only user: not measured.

Numeric parameters map linearly (or logarithmically) to ``[0, 1]``, the range widened by half
a step on each side for integers and stepped floats so that every grid value owns a cell of
equal width; a categorical parameter is its choice index. The same encoding as Optuna's own
GP sampler, written here so that no private Optuna module is imported.
"""

from __future__ import annotations

import math
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

_sobol_lock = threading.Lock()  # scipy's Sobol engine is not thread-safe to construct


def _bounds(d: FloatDistribution | IntDistribution) -> tuple[float, float, float, bool]:
    step = float(d.step or 0.0)
    return float(d.low), float(d.high), step, bool(d.log)


def _cell(low: float, high: float, step: float, log: bool) -> tuple[float, float]:
    lo, hi = low - 0.5 * step, high + 0.5 * step
    return (math.log(lo), math.log(hi)) if log else (lo, hi)


def normalize(values: np.ndarray, low: float, high: float, step: float, log: bool) -> np.ndarray:
    """Values of a numeric parameter in ``[0, 1]``."""
    lo, hi = _cell(low, high, step, log)
    v = np.log(values) if log else values
    if hi == lo:
        return np.full_like(v, 0.5, dtype=float)
    return (v - lo) / (hi - lo)


def unnormalize(u: np.ndarray, low: float, high: float, step: float, log: bool) -> np.ndarray:
    """The inverse of :func:`normalize` (before clipping and rounding)."""
    lo, hi = _cell(low, high, step, log)
    v = u * (hi - lo) + lo
    return np.exp(v) if log else v


def round_normalized(u: np.ndarray, low: float, high: float, step: float, log: bool) -> np.ndarray:
    """Normalised values snapped to the grid of a stepped parameter."""
    if step == 0.0:
        return u
    v = unnormalize(u, low, high, step, log)
    v = np.clip((v - low + 0.5 * step) // step * step + low, low, high)
    return normalize(v, low, high, step, log)


class UnitSpace:
    """A dict of Optuna distributions as the unit cube, one coordinate per parameter.

    Attributes:
        continuous_indices: Coordinates of the parameters without a step.
    """

    def __init__(self, distributions: dict[str, BaseDistribution]) -> None:
        self.distributions = distributions
        self.continuous_indices = np.array(
            [
                i
                for i, d in enumerate(distributions.values())
                if not isinstance(d, CategoricalDistribution) and not getattr(d, "step", None)
            ],
            dtype=int,
        )

    def get_normalized_params(self, trials: list[FrozenTrial]) -> np.ndarray:
        """The trials' parameters, shape ``(len(trials), n_params)``."""
        out = np.empty((len(trials), len(self.distributions)), dtype=float)
        for i, (name, d) in enumerate(self.distributions.items()):
            if isinstance(d, CategoricalDistribution):
                out[:, i] = [d.to_internal_repr(t.params[name]) for t in trials]
            else:
                assert isinstance(d, (FloatDistribution, IntDistribution))
                values = np.array([t.params[name] for t in trials], dtype=float)
                out[:, i] = normalize(values, *_bounds(d))
        return out

    def get_unnormalized_param(self, u: np.ndarray) -> dict[str, Any]:
        """A normalised point as parameter values."""
        out: dict[str, Any] = {}
        for i, (name, d) in enumerate(self.distributions.items()):
            if isinstance(d, CategoricalDistribution):
                out[name] = d.to_external_repr(u[i])
                continue
            assert isinstance(d, (FloatDistribution, IntDistribution))
            value = float(np.clip(unnormalize(u[i], *_bounds(d)), d.low, d.high))
            out[name] = round(value) if isinstance(d, IntDistribution) else value
        return out

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
            elif getattr(d, "step", None):
                assert isinstance(d, (FloatDistribution, IntDistribution))
                u[:, i] = round_normalized(u[:, i], *_bounds(d))
        return u

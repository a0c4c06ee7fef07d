"""Moves in a search space's unit cube (one coordinate per parameter).

The cube itself, the map between configurations and coordinates, is the space's:
:meth:`~metahpo.spaces.SearchSpace.to_unit` and :meth:`~metahpo.spaces.SearchSpace.from_unit`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from metahpo.spaces import SearchSpace


def configs_around(
    rng: np.random.RandomState,
    space: SearchSpace,
    best: Sequence[Mapping[str, Any]],
    n_random: int,
    scales: Sequence[float],
    per: int,
) -> list[dict[str, Any]]:
    """Candidate configurations drawn in the unit cube: ``n_random`` uniform points, then for
    each of the ``best`` configurations ``per`` Gaussian perturbations at each of the
    ``scales`` (clipped)."""
    units = list(rng.rand(n_random, space.dim))
    for config in best:
        u = space.to_unit(config)
        for scale in scales:
            units.extend(np.clip(u + rng.normal(0.0, scale, size=(per, space.dim)), 0.0, 1.0))
    return [space.from_unit(u) for u in units]


def categorical_mask(space: SearchSpace) -> np.ndarray:
    return np.array([p.kind == "categorical" for p in space.params], dtype=bool)


def mutate(
    rng: np.random.RandomState,
    u: np.ndarray,
    categorical: np.ndarray,
    *,
    rate: float,
    width: float,
) -> np.ndarray:
    """A mutation of ``u``: each coordinate with probability ``rate`` (at least one) moves by a
    Gaussian step of ``width``; a mutated categorical takes any choice (no neighbourhood)."""
    d = len(u)
    genes = rng.rand(d) < rate
    if not genes.any():
        genes[rng.randint(d)] = True
    out = np.clip(u + rng.normal(0.0, width, d) * genes, 0.0, 1.0)
    redraw = genes & categorical
    out[redraw] = rng.rand(int(redraw.sum()))
    return out

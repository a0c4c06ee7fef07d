"""Classic optimizers: Optuna's samplers, selected by name and configured for a search space."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import optuna
from optuna.samplers import BaseSampler

from metahpo._args import registered
from metahpo.errors import MetaHPOError
from metahpo.spaces import SearchSpace

SamplerFactory = Callable[[SearchSpace, int, int], BaseSampler]


def _grid(space: SearchSpace, seed: int, budget: int) -> BaseSampler:
    """A full grid of about ``budget`` points, evenly spaced (log-scaled where the parameter is).

    Categoricals contribute all their choices; the remaining budget is spread evenly over the
    numeric parameters (at least 2 levels each). The library default value of every numeric
    parameter is added to its levels, so the default configuration is always on the grid.
    Optuna visits the grid in random order and stops the study when it is exhausted.
    """
    numeric = [p for p in space.params if p.kind != "categorical"]
    n_cat = math.prod(len(p.choices) for p in space.params if p.kind == "categorical")
    per_numeric = max(budget / max(n_cat, 1), 1.0)
    levels = max(2, int(per_numeric ** (1.0 / len(numeric)))) if numeric else 0
    grid: dict[str, list[Any]] = {}
    for p in space.params:
        if p.kind == "categorical":
            grid[p.name] = list(p.choices)
            continue
        values = {p.from_unit(u) for u in np.linspace(0.0, 1.0, levels)}
        values.add(p.default)
        grid[p.name] = sorted(values, key=float)
    return optuna.samplers.GridSampler(grid, seed=seed)


def _tpe(space: SearchSpace, seed: int, budget: int) -> BaseSampler:
    return optuna.samplers.TPESampler(seed=seed, multivariate=True)


def _random(space: SearchSpace, seed: int, budget: int) -> BaseSampler:
    return optuna.samplers.RandomSampler(seed=seed)


def _qmc(space: SearchSpace, seed: int, budget: int) -> BaseSampler:
    return optuna.samplers.QMCSampler(qmc_type="sobol", scramble=True, seed=seed)


def _cmaes(space: SearchSpace, seed: int, budget: int) -> BaseSampler:
    # CMA-ES handles the numeric parameters; categoricals go to the independent sampler.
    return optuna.samplers.CmaEsSampler(
        seed=seed,
        n_startup_trials=1,
        with_margin=any(p.kind == "int" for p in space.params),
        warn_independent_sampling=False,
        independent_sampler=optuna.samplers.RandomSampler(seed=seed),
    )


def _evolution(space: SearchSpace, seed: int, budget: int) -> BaseSampler:
    population = int(min(50, max(8, budget // 5)))
    return optuna.samplers.NSGAIISampler(population_size=population, seed=seed)


def _gp(space: SearchSpace, seed: int, budget: int) -> BaseSampler:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise MetaHPOError(
            "optimizer 'gp' is Optuna's GPSampler, which needs torch: pip install 'metahpo[torch]'"
            " (or use --optimizer gp-ei, a GP with expected improvement that needs no torch)"
        ) from None
    return optuna.samplers.GPSampler(seed=seed, warn_independent_sampling=False)


def _gp_ei(space: SearchSpace, seed: int, budget: int) -> BaseSampler:
    from metahpo.optimizers.research._gp import GPEISampler

    return GPEISampler(seed=seed)


CLASSIC_OPTIMIZERS: dict[str, SamplerFactory] = {
    "random": _random,
    "grid": _grid,
    "tpe": _tpe,
    "gp": _gp,
    "gp-ei": _gp_ei,
    "cmaes": _cmaes,
    "evolution": _evolution,
    "qmc": _qmc,
}


def classic_sampler(
    name: str, space: SearchSpace, *, seed: int = 0, budget: int = 50
) -> BaseSampler:
    """An Optuna sampler for a classic optimizer.

    Args:
        name: One of ``random``, ``grid``, ``tpe``, ``gp`` (Optuna's GPSampler, torch extra),
            ``gp-ei`` (GP + expected improvement without torch), ``cmaes``, ``evolution``
            (Optuna's NSGA-II genetic sampler) or ``qmc`` (scrambled Sobol).
        space: The search space (the grid and population sizes depend on it).
        seed: Random seed.
        budget: Planned number of trials (sizes the grid and the population).
    """
    factory = registered(CLASSIC_OPTIMIZERS, name, "optimizer")
    with warnings.catch_warnings():  # experimental-feature notices are not the user's concern
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return factory(space, seed, budget)

"""The sampler contract and its toy problem, for testing anyone's Optuna sampler.

metahpo runs every one of its samplers through this contract; a sampler of yours can run
through the same checks. Each check builds fresh samplers from a factory ``make(seed)``, runs
small Optuna studies on a toy k-nearest-neighbours problem (no data, no training) and raises
:class:`AssertionError` on a breach: the same seed gives the same configurations; an enqueued
trial runs as given; objectives with a narrower range, wider ranges, other types, conditional
and unknown parameters, failing trials, two threads on one SQLite study, a Hyperband pruner,
reseeding and a resumed study all run; under a successive-halving and a Hyperband pruner, with
every early trial pruned, a study reaches its wanted COMPLETE trials; and a configuration a
metahpo sampler claimed (pruned or not) is never evaluated twice.

With pytest, paste into a test file of yours (pytest collects the inherited ``test_*``
methods; ``make_sampler`` is all you write)::

    from optuna.samplers import BaseSampler
    from metahpo.testing import SamplerContract

    class TestMySampler(SamplerContract):
        def make_sampler(self, seed: int) -> BaseSampler:
            return MySampler(seed=seed)

Without pytest, ``check_sampler(lambda seed: MySampler(seed=seed))`` runs every check, and
:data:`CHECKS` holds them by name (``check(factory, directory)``) to run or parametrise one by
one. The toy problem (:data:`KNN`, :data:`DESIGN`, :func:`knn_score`, :func:`knn_experience`,
:func:`knn_objective`, and :func:`knn_curve`, an objective with a learning curve for pruners)
builds a hand-made experience for meta-learned samplers.

This package is not imported by ``import metahpo`` and does not need pytest.
"""

from metahpo.testing._contract import CHECKS, Check, SamplerFactory, check_sampler
from metahpo.testing._suite import SamplerContract
from metahpo.testing._toy import (
    DESIGN,
    KNN,
    knn_curve,
    knn_experience,
    knn_objective,
    knn_score,
)

__all__ = [
    "CHECKS",
    "DESIGN",
    "KNN",
    "Check",
    "SamplerContract",
    "SamplerFactory",
    "check_sampler",
    "knn_curve",
    "knn_experience",
    "knn_objective",
    "knn_score",
]

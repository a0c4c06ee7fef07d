"""Research samplers: the meta-learned optimizers the mission names, kept apart from the default.

"Research" means: each sampler here is kept because the mission asks for its kind of
meta-learning (gradient-based meta-learning, few-shot BO, reinforcement learning, evolution,
a surrogate-prior GP, ranking-weighted transfer); each was measured (its module docstring
opens with a "Live standing" line copied from the repository's own reports); none is the
default, and none is covered by the default's guarantees (the measured numbers in the README
and ``benchmarks/LIVE.md`` are the default's). Each stays selectable as a base by its
registry name (``--base maml``, ``fsbo``, ``rl``, ``evolution``, ``gp``, ``transfer``) and
passes the same sampler contract as every other base.

* :class:`MAMLSampler`, :class:`MetaTrainedSurrogate`: a neural surrogate meta-trained with
  Reptile (first-order MAML), base ``maml`` (torch extra).
* :class:`DeepKernelSampler`, :class:`DeepKernelGP`: few-shot BO with a meta-trained
  deep-kernel GP, base ``fsbo`` (torch extra).
* :class:`PolicySampler`, :class:`QPolicy`, :data:`ACTIONS`: a search policy learned by
  Q-learning, base ``rl``.
* :class:`SeededEvolutionSampler`: evolution seeded with similar tasks' best configurations,
  base ``evolution``.
* :class:`GPEISampler`: GP with expected improvement whose prior mean can be the
  meta-learned surrogate, base ``gp`` (and ``--optimizer gp-ei`` without a prior).
* :class:`TransferSampler`: ranking-weighted transfer of past tasks' configurations, base
  ``transfer`` (the default until issue 15).
"""

from metahpo.optimizers.research._evolution import SeededEvolutionSampler
from metahpo.optimizers.research._fsbo import DeepKernelGP, DeepKernelSampler
from metahpo.optimizers.research._gp import GPEISampler
from metahpo.optimizers.research._maml import MAMLSampler, MetaTrainedSurrogate
from metahpo.optimizers.research._policy import ACTIONS, PolicySampler, QPolicy
from metahpo.optimizers.research._transfer import TransferSampler

__all__ = [
    "ACTIONS",
    "DeepKernelGP",
    "DeepKernelSampler",
    "GPEISampler",
    "MAMLSampler",
    "MetaTrainedSurrogate",
    "PolicySampler",
    "QPolicy",
    "SeededEvolutionSampler",
    "TransferSampler",
]

"""Optimizers layer: Optuna samplers, classic and meta-learned.

* :class:`ProposalSampler` is the contract of metahpo's own samplers: a subclass writes
  :meth:`~ProposalSampler.propose` (a whole configuration from a read-only :class:`StudyView`,
  or decline); the base fits proposals to the asked distributions, falls back to another
  sampler for the rest, skips what is evaluated and coordinates workers.
  :class:`RandomProposer` is the reference implementation.
* :class:`MetaSampler` runs the warm starts, then a base from the registry (:data:`BASES`);
  :func:`make_meta_sampler` plans both for a new task. A base may declare options
  (:class:`BaseOption`, e.g. the ``transfer`` base's ``n_transfer``), passed as
  ``base_options`` and checked by :func:`check_base_options`.
* :mod:`metahpo.optimizers.research` holds the research samplers of the mission (MAML,
  FSBO, Q-learning policy, seeded evolution, surrogate-prior GP, ranking-weighted transfer):
  measured, selectable as bases, not the default. Their classes are re-exported here too.
"""

from metahpo.optimizers._bases import (
    BASES,
    DEFAULT_BASE,
    REGISTRY,
    Base,
    BaseContext,
    BaseOption,
    check_base_options,
)
from metahpo.optimizers._classic import CLASSIC_OPTIMIZERS, classic_sampler
from metahpo.optimizers._meta_sampler import MetaSampler
from metahpo.optimizers._plan import (
    WARM_ATTR,
    MetaPlan,
    guard_message,
    make_meta_sampler,
    meta_train_base,
)
from metahpo.optimizers._prior import SurrogatePrior
from metahpo.optimizers._proposal import Proposal, ProposalSampler
from metahpo.optimizers._reference import RandomProposer
from metahpo.optimizers._time_cost import TimeCost, time_cost
from metahpo.optimizers._view import CLAIM_ATTRS, StudyView
from metahpo.optimizers.research import (
    ACTIONS,
    DeepKernelGP,
    DeepKernelSampler,
    GPEISampler,
    MAMLSampler,
    MetaTrainedSurrogate,
    PolicySampler,
    QPolicy,
    SeededEvolutionSampler,
    TransferSampler,
)

__all__ = [
    "ACTIONS",
    "BASES",
    "CLAIM_ATTRS",
    "CLASSIC_OPTIMIZERS",
    "DEFAULT_BASE",
    "REGISTRY",
    "WARM_ATTR",
    "Base",
    "BaseContext",
    "BaseOption",
    "DeepKernelGP",
    "DeepKernelSampler",
    "GPEISampler",
    "MAMLSampler",
    "MetaPlan",
    "MetaSampler",
    "MetaTrainedSurrogate",
    "PolicySampler",
    "Proposal",
    "ProposalSampler",
    "QPolicy",
    "RandomProposer",
    "SeededEvolutionSampler",
    "StudyView",
    "SurrogatePrior",
    "TimeCost",
    "TransferSampler",
    "check_base_options",
    "classic_sampler",
    "guard_message",
    "make_meta_sampler",
    "meta_train_base",
    "time_cost",
]

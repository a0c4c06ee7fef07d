"""Optimizers layer: Optuna samplers, classic and meta-learned."""

from metahpo.optimizers._classic import CLASSIC_OPTIMIZERS, classic_sampler
from metahpo.optimizers._evolution import SeededEvolutionSampler
from metahpo.optimizers._gp import GPEISampler
from metahpo.optimizers._maml import MAMLSampler, MetaTrainedSurrogate
from metahpo.optimizers._meta import (
    BASES,
    DEFAULT_BASE,
    MetaPlan,
    MetaSampler,
    SurrogatePrior,
    make_meta_sampler,
    meta_train_base,
)
from metahpo.optimizers._policy import ACTIONS, PolicySampler, QPolicy
from metahpo.optimizers._space_sampler import SpaceSampler
from metahpo.optimizers._transfer import TransferSampler

__all__ = [
    "ACTIONS",
    "BASES",
    "CLASSIC_OPTIMIZERS",
    "DEFAULT_BASE",
    "GPEISampler",
    "MAMLSampler",
    "MetaPlan",
    "MetaSampler",
    "MetaTrainedSurrogate",
    "PolicySampler",
    "QPolicy",
    "SeededEvolutionSampler",
    "SpaceSampler",
    "SurrogatePrior",
    "TransferSampler",
    "classic_sampler",
    "make_meta_sampler",
    "meta_train_base",
]

"""The registry of bases: what refines after the warm starts of :func:`make_meta_sampler`.

One :class:`Base` entry per name: how to build its sampler for a new task (from a
:class:`BaseContext`) and, for the bases with a meta-trained model, how to train that model
from the experience. Adding a base is one module with its sampler plus one entry here.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from optuna.samplers import BaseSampler

from metahpo.errors import MetaHPOError
from metahpo.optimizers._experience import similar_configs, source_trials
from metahpo.optimizers._prior import SurrogatePrior
from metahpo.spaces import SearchSpace

#: Trial number (counting warm starts) up to which the transfer phase of the default ran in
#: earlier versions: its default length is this minus the warm starts (20 after 5).
TRANSFER_HORIZON = 25


@dataclass(frozen=True)
class BaseContext:
    """What a base's builder gets for one new task.

    Attributes:
        space: The study's search space. builtin: The family's built-in space (the
            experience's encoding). seed: Seed. direction: ``maximize`` or ``minimize``.
        warm: The warm starts, in order. ranked: Warm starts then the meta-learner's other
            suggestions, best first. learner: The fitted meta-learner (``None``: no experience
            for this family). experience: The family's experience. metafeatures: The new
            task's vector. model: The meta-trained model (``train``'s result) or ``None``.
        n_transfer: Transfer proposals (``None``: the default).
    """

    space: SearchSpace
    builtin: SearchSpace
    seed: int | None
    direction: str
    warm: tuple[dict[str, Any], ...] = ()
    ranked: tuple[dict[str, Any], ...] = ()
    learner: Any = None
    experience: Any = None
    metafeatures: Any = None
    model: Any = None
    n_transfer: int | None = None


@dataclass(frozen=True)
class Base:
    """One base: its sampler builder, and its meta-trained model if it has one.

    Attributes:
        build: The base sampler and the surrogate prior it uses (if any) for a context.
        train: ``(experience, builtin space, seed) -> model``; ``None``: no model.
        model_type: The type of that model (imported when called: optional extras).
    """

    build: Callable[[BaseContext], tuple[BaseSampler, SurrogatePrior | None]]
    train: Callable[[Any, SearchSpace, int], Any] | None = None
    model_type: Callable[[], type] | None = None


def _tpe(ctx: BaseContext) -> tuple[BaseSampler, None]:
    # The warm starts are the start-up trials: TPE models from the first trial after them
    # instead of spending its default ten on random search.
    startup = len(ctx.warm) if ctx.learner is not None else 10
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(
            seed=ctx.seed, multivariate=True, n_startup_trials=max(startup, 2)
        )
    return sampler, None


def _random(ctx: BaseContext) -> tuple[BaseSampler, None]:
    return optuna.samplers.RandomSampler(seed=ctx.seed), None


def _gpsampler(ctx: BaseContext) -> tuple[BaseSampler, None]:
    # Optuna's GPSampler as shipped (torch extra), with its own start-up trials (the warm starts
    # count among them): the refinement the live ablation measures as ``meta-gpsampler``.
    try:
        import torch  # noqa: F401
    except ImportError:
        raise MetaHPOError(
            "base 'gpsampler' is Optuna's GPSampler, which needs torch: "
            "pip install 'metahpo[torch]' (or use --base gp, which needs no torch)"
        ) from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.GPSampler(seed=ctx.seed, warn_independent_sampling=False)
    return sampler, None


def _gp(ctx: BaseContext) -> tuple[BaseSampler, SurrogatePrior | None]:
    from metahpo.metalearners import PerformanceSurrogate
    from metahpo.optimizers.research._gp import GPEISampler

    if ctx.learner is None:
        return GPEISampler(seed=ctx.seed), None
    learner = ctx.learner
    surrogate: Any = (
        learner
        if isinstance(learner, PerformanceSurrogate)
        else PerformanceSurrogate(seed=ctx.seed or 0).fit(ctx.experience)
    )
    builtin, mf = ctx.builtin, ctx.metafeatures

    def predict(params: list[dict[str, Any]]) -> np.ndarray:
        configs = [builtin.transfer(p)[0] for p in params]
        return np.asarray(surrogate.predict_configs(mf, configs), dtype=float)

    prior = SurrogatePrior(predict, maximize=ctx.direction == "maximize")
    return GPEISampler(seed=ctx.seed, prior_mean=prior), prior


def _cmaes(ctx: BaseContext) -> tuple[BaseSampler, None]:
    sources = (
        source_trials(ctx.learner, ctx.metafeatures, ctx.space, ctx.direction)
        if ctx.learner is not None
        else []
    )

    def make(with_sources: bool) -> BaseSampler:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.CmaEsSampler(
                seed=ctx.seed,
                source_trials=(sources or None) if with_sources else None,
                warn_independent_sampling=False,
                independent_sampler=optuna.samplers.RandomSampler(seed=ctx.seed),
            )

    if not sources:
        return make(False), None
    return _SourcedCmaEs(make(True), make(False)), None


class _SourcedCmaEs(BaseSampler):
    """CMA-ES warm-started from source trials, or without them when the objective asks other
    distributions than the sources have (Optuna's CMA-ES refuses those with an error: other
    names, or ranges that leave the sources' mean outside)."""

    def __init__(self, sourced: BaseSampler, plain: BaseSampler) -> None:
        self.active = sourced
        self.plain = plain

    def infer_relative_search_space(self, study: Any, trial: Any) -> dict[str, Any]:
        return self.active.infer_relative_search_space(study, trial)

    def sample_relative(self, study: Any, trial: Any, search_space: Any) -> dict[str, Any]:
        try:
            return self.active.sample_relative(study, trial, search_space)
        except (ValueError, AssertionError) as error:
            # Other names: Optuna refuses the sources ("source_trials"). The same names under
            # other ranges: the sources' mean may lie outside them (cmaes: "invalid bounds").
            refused = isinstance(error, AssertionError) or "source_trials" in str(error)
            if not refused or self.active is self.plain:
                raise
            self.active = self.plain
            return self.active.sample_relative(study, trial, search_space)

    def sample_independent(self, study: Any, trial: Any, name: str, dist: Any) -> Any:
        return self.active.sample_independent(study, trial, name, dist)

    def before_trial(self, study: Any, trial: Any) -> None:
        self.active.before_trial(study, trial)

    def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
        self.active.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self.active.reseed_rng()
        self.plain.reseed_rng()


def _evolution(ctx: BaseContext) -> tuple[BaseSampler, None]:
    from metahpo.optimizers.research._evolution import SeededEvolutionSampler

    seeds: list[dict[str, Any]] = []
    if ctx.learner is not None:
        similar = similar_configs(ctx.learner, ctx.metafeatures, ctx.space, n_tasks=5, top=4)
        seeds = [*ctx.warm, *(c for c, _ in similar)]
    return SeededEvolutionSampler(ctx.space, seeds, seed=ctx.seed), None


def _transfer(ctx: BaseContext) -> tuple[BaseSampler, None]:
    if ctx.learner is None:  # nothing to transfer
        return _tpe(ctx)
    from metahpo.metalearners import normalized_scores
    from metahpo.optimizers.research._transfer import TransferSampler

    learner = ctx.learner
    tasks = learner.experience_.tasks
    n = ctx.n_transfer if ctx.n_transfer is not None else TRANSFER_HORIZON - len(ctx.warm)
    sampler = TransferSampler(
        ctx.space,
        learner.space_,
        [t.X for t in tasks],
        [normalized_scores(t) for t in tasks],
        learner.task_space_.distances(ctx.metafeatures),
        n_proposals=max(n, 0),
        seed=ctx.seed,
    )
    return sampler, None


def _transfer_gp(ctx: BaseContext) -> tuple[BaseSampler, None]:
    if ctx.learner is None:  # nothing to transfer
        return _tpe(ctx)
    from metahpo.metalearners import normalized_scores
    from metahpo.optimizers._transfer_gp import TransferGPSampler

    tasks = ctx.learner.experience_.tasks
    sampler = TransferGPSampler(
        ctx.space,
        ctx.learner.space_,
        [t.X for t in tasks],
        [normalized_scores(t) for t in tasks],
        ctx.learner.task_space_.distances(ctx.metafeatures),
        seed=ctx.seed,
    )
    return sampler, None


def _train_rl(experience: Any, builtin: SearchSpace, seed: int) -> Any:
    from metahpo.optimizers.research._policy import QPolicy

    return QPolicy.fit(experience, builtin, seed=seed)


def _rl(ctx: BaseContext) -> tuple[BaseSampler, None]:
    from metahpo.optimizers.research._policy import PolicySampler, QPolicy

    # Without experience there is no policy to learn: explore at random.
    policy = ctx.model if ctx.model is not None else QPolicy()
    return PolicySampler(ctx.space, policy, ctx.ranked, seed=ctx.seed), None


def _train_maml(experience: Any, builtin: SearchSpace, seed: int) -> Any:
    from metahpo.optimizers.research._maml import MetaTrainedSurrogate

    return MetaTrainedSurrogate(seed=seed).fit(experience, builtin)


def _maml(ctx: BaseContext) -> tuple[BaseSampler, None]:
    from metahpo.optimizers.research._maml import MAMLSampler, MetaTrainedSurrogate

    model = ctx.model
    if model is None:  # no experience to meta-train on: an untrained network, adapted
        model = MetaTrainedSurrogate(seed=ctx.seed or 0).fit(None, ctx.builtin)
    return MAMLSampler(ctx.space, model, seed=ctx.seed), None


def _train_fsbo(experience: Any, builtin: SearchSpace, seed: int) -> Any:
    from metahpo.optimizers.research._fsbo import DeepKernelGP

    return DeepKernelGP(seed=seed).fit(experience, builtin)


def _fsbo(ctx: BaseContext) -> tuple[BaseSampler, None]:
    from metahpo.optimizers.research._fsbo import DeepKernelGP, DeepKernelSampler

    model = ctx.model
    if model is None:  # no experience to meta-train on: an untrained deep kernel, fine-tuned
        model = DeepKernelGP(seed=ctx.seed or 0).fit(None, ctx.builtin)
    return DeepKernelSampler(ctx.space, model, seed=ctx.seed), None


def _deep_kernel() -> type:
    from metahpo.optimizers.research._fsbo import DeepKernelGP

    return DeepKernelGP


def _qpolicy() -> type:
    from metahpo.optimizers.research._policy import QPolicy

    return QPolicy


def _surrogate() -> type:
    from metahpo.optimizers.research._maml import MetaTrainedSurrogate

    return MetaTrainedSurrogate


#: Every base by name.
REGISTRY: dict[str, Base] = {
    "tpe": Base(_tpe),
    "gp": Base(_gp),
    "cmaes": Base(_cmaes),
    "evolution": Base(_evolution),
    "transfer": Base(_transfer),
    "transfer-gp": Base(_transfer_gp),
    "rl": Base(_rl, train=_train_rl, model_type=_qpolicy),
    "maml": Base(_maml, train=_train_maml, model_type=_surrogate),
    "fsbo": Base(_fsbo, train=_train_fsbo, model_type=_deep_kernel),
    "random": Base(_random),
    "gpsampler": Base(_gpsampler),
}
#: The names of the bases.
BASES = tuple(REGISTRY)
#: The refinement used unless one is chosen: continuous transfer BO (RGPE), whose handover
#: from past tasks to this one follows the evidence (issue 15; measured in benchmarks/LIVE.md).
DEFAULT_BASE = "transfer-gp"


def get_base(name: str) -> Base:
    """The registered base ``name``; a clear error naming the choices otherwise."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise MetaHPOError(
            f"unknown base sampler {name!r}; choose one of {', '.join(REGISTRY)}"
        ) from None


def check_model(name: str, model: Any) -> None:
    """Raise unless ``model`` is a meta-trained model of base ``name``."""
    base = get_base(name)
    if base.train is None or base.model_type is None:
        raise MetaHPOError(f"base {name!r} has no meta-trained model to pass as base_model")
    expected = base.model_type()
    if not isinstance(model, expected):
        raise MetaHPOError(f"base_model for base {name!r} must be a {expected.__name__}")

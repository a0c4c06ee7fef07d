"""The registry of bases: what refines after the warm starts of :func:`make_meta_sampler`.

One :class:`Base` entry per name: how to build its sampler for a new task (from a
:class:`BaseContext`), the options it takes (:class:`BaseOption`, checked by
:func:`check_base_options`: ``make_meta_sampler(base_options=...)``, CLI ``--base-option``)
and, for the bases with a meta-trained model, how to train that model from the experience.
Adding a base is one module with its sampler plus one entry here.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import optuna
from optuna.samplers import BaseSampler

from metahpo._args import check_int, got, registered
from metahpo.errors import MetaHPOError
from metahpo.optimizers._experience import similar_configs, source_trials
from metahpo.optimizers._prior import SurrogatePrior
from metahpo.optimizers._time_cost import TimeCost
from metahpo.spaces import SearchSpace

if TYPE_CHECKING:
    from metahpo.knowledge import Experience
    from metahpo.metalearners import MetaLearner

_M = TypeVar("_M")

#: Trial number (counting warm starts) up to which the transfer phase of the default ran in
#: earlier versions: its default length is this minus the warm starts (20 after 5).
TRANSFER_HORIZON = 25


def _no_options() -> Mapping[str, Any]:
    return MappingProxyType({})


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
        options: The base's options by name (read-only; checked against :attr:`Base.options`,
            an option left out takes its default).
        cost: For a run with a deadline, what candidates cost
            (:class:`~metahpo.optimizers._time_cost.TimeCost`; ``transfer-gp`` proposes by
            expected improvement per second); ``None``: the budget is evaluations.
    """

    space: SearchSpace
    builtin: SearchSpace
    seed: int | None
    direction: str
    warm: tuple[dict[str, Any], ...] = ()
    ranked: tuple[dict[str, Any], ...] = ()
    learner: MetaLearner | None = None
    experience: Experience | None = None
    metafeatures: np.ndarray | None = None
    model: object | None = None
    options: Mapping[str, Any] = field(default_factory=_no_options)
    cost: TimeCost | None = None

    def __post_init__(self) -> None:
        # a copy no caller can change (a MappingProxyType passed in is a view of its dict)
        object.__setattr__(self, "options", MappingProxyType(dict(self.options)))


@dataclass(frozen=True)
class BaseOption:
    """One option of a base: an integer or a flag.

    Attributes:
        name: Its name (``make_meta_sampler(base_options={name: value})``, CLI
            ``--base-option NAME=VALUE``).
        help: What it sets, one line.
        low: Its smallest value (an integer option).
        default: Its value when not given (``None``: the base computes it; ``help`` says how).
        kind: ``"int"`` or ``"bool"`` (CLI values ``true`` / ``false``).
    """

    name: str
    help: str
    low: int = 0
    default: int | bool | None = None
    kind: str = "int"


@dataclass(frozen=True)
class Base:
    """One base: its sampler builder, and its meta-trained model if it has one.

    Attributes:
        build: The base sampler and the surrogate prior it uses (if any) for a context.
        train: ``(experience, builtin space, seed) -> model``; ``None``: no model.
        model_type: The type of that model (imported when called: optional extras).
        options: The options the base takes (:class:`BaseOption`), by which
            :func:`check_base_options` checks a caller's.
    """

    build: Callable[[BaseContext], tuple[BaseSampler, SurrogatePrior | None]]
    train: Callable[[Any, SearchSpace, int], Any] | None = None
    model_type: Callable[[], type] | None = None
    options: tuple[BaseOption, ...] = ()


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
    surrogate: Any = ctx.learner
    if not isinstance(surrogate, PerformanceSurrogate):
        if ctx.experience is None:
            raise MetaHPOError("BaseContext: base 'gp' needs the family's 'experience'")
        surrogate = PerformanceSurrogate(seed=ctx.seed or 0).fit(ctx.experience)
    builtin, mf = ctx.builtin, _metafeatures(ctx)

    def predict(params: list[dict[str, Any]]) -> np.ndarray:
        configs = [builtin.transfer(p)[0] for p in params]
        return np.asarray(surrogate.predict_configs(mf, configs), dtype=float)

    prior = SurrogatePrior(predict, maximize=ctx.direction == "maximize")
    return GPEISampler(seed=ctx.seed, prior_mean=prior), prior


def _cmaes(ctx: BaseContext) -> tuple[BaseSampler, None]:
    sources = (
        source_trials(ctx.learner, _metafeatures(ctx), ctx.space, ctx.direction)
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
        similar = similar_configs(ctx.learner, _metafeatures(ctx), ctx.space, n_tasks=5, top=4)
        seeds = [*ctx.warm, *(c for c, _ in similar)]
    return SeededEvolutionSampler(ctx.space, seeds, seed=ctx.seed), None


def _metafeatures(ctx: BaseContext) -> np.ndarray:
    """The new task's meta-features, which a context with a ``learner`` has."""
    if ctx.metafeatures is None:
        raise MetaHPOError("BaseContext: a 'learner' needs the new task's 'metafeatures'")
    return ctx.metafeatures


def _past_tasks(
    ctx: BaseContext,
) -> tuple[SearchSpace, list[np.ndarray], list[np.ndarray], np.ndarray] | None:
    """What a transfer base learns from (``None``: no experience for this family): the
    experience's built-in space, each past task's encoded configurations and normalised
    scores, and its distance to the new task."""
    if ctx.learner is None:
        return None
    from metahpo.metalearners import normalized_scores

    experience, builtin = ctx.learner.experience_, ctx.learner.space_
    task_space = ctx.learner.task_space_
    if experience is None or builtin is None or task_space is None:
        raise MetaHPOError("BaseContext: 'learner' must be a fitted meta-learner")
    tasks = experience.tasks
    scores = [normalized_scores(t) for t in tasks]
    return builtin, [t.X for t in tasks], scores, task_space.distances(_metafeatures(ctx))


def _transfer(ctx: BaseContext) -> tuple[BaseSampler, None]:
    past = _past_tasks(ctx)
    if past is None:  # nothing to transfer
        return _tpe(ctx)
    from metahpo.optimizers.research._transfer import TransferSampler

    n_transfer = ctx.options.get("n_transfer")
    n = n_transfer if n_transfer is not None else TRANSFER_HORIZON - len(ctx.warm)
    return TransferSampler(ctx.space, *past, n_proposals=max(n, 0), seed=ctx.seed), None


def _transfer_gp(ctx: BaseContext) -> tuple[BaseSampler, None]:
    past = _past_tasks(ctx)
    if past is None:  # nothing to transfer
        return _tpe(ctx)
    from metahpo.optimizers._transfer_gp import TransferGPSampler

    latent = bool(ctx.options.get("latent", LATENT_OPTION.default))
    return TransferGPSampler(ctx.space, *past, seed=ctx.seed, latent=latent, cost=ctx.cost), None


def _model(ctx: BaseContext, kind: type[_M], untrained: Callable[[], _M]) -> _M:
    """The context's meta-trained model, or ``untrained()`` without one."""
    if ctx.model is None:
        return untrained()
    if not isinstance(ctx.model, kind):
        raise MetaHPOError(f"BaseContext: 'model' must be a {kind.__name__}, got {got(ctx.model)}")
    return ctx.model


def _train_rl(experience: Any, builtin: SearchSpace, seed: int) -> Any:
    from metahpo.optimizers.research._policy import QPolicy

    return QPolicy.fit(experience, builtin, seed=seed)


def _rl(ctx: BaseContext) -> tuple[BaseSampler, None]:
    from metahpo.optimizers.research._policy import PolicySampler, QPolicy

    # Without experience there is no policy to learn: explore at random.
    policy = _model(ctx, QPolicy, QPolicy)
    return PolicySampler(ctx.space, policy, ctx.ranked, seed=ctx.seed), None


def _train_maml(experience: Any, builtin: SearchSpace, seed: int) -> Any:
    from metahpo.optimizers.research._maml import MetaTrainedSurrogate

    return MetaTrainedSurrogate(seed=seed).fit(experience, builtin)


def _maml(ctx: BaseContext) -> tuple[BaseSampler, None]:
    from metahpo.optimizers.research._maml import MAMLSampler, MetaTrainedSurrogate

    # No experience to meta-train on: an untrained network, adapted.
    model = _model(
        ctx,
        MetaTrainedSurrogate,
        lambda: MetaTrainedSurrogate(seed=ctx.seed or 0).fit(None, ctx.builtin),
    )
    return MAMLSampler(ctx.space, model, seed=ctx.seed), None


def _train_fsbo(experience: Any, builtin: SearchSpace, seed: int) -> Any:
    from metahpo.optimizers.research._fsbo import DeepKernelGP

    return DeepKernelGP(seed=seed).fit(experience, builtin)


def _fsbo(ctx: BaseContext) -> tuple[BaseSampler, None]:
    from metahpo.optimizers.research._fsbo import DeepKernelGP, DeepKernelSampler

    # No experience to meta-train on: an untrained deep kernel, fine-tuned.
    model = _model(
        ctx, DeepKernelGP, lambda: DeepKernelGP(seed=ctx.seed or 0).fit(None, ctx.builtin)
    )
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


#: The ``transfer-gp`` base's one option: expected improvement on the latent score or not.
LATENT_OPTION = BaseOption(
    "latent",
    "expected improvement on the latent score, observation noise left out (true, the "
    "default), or with it (false)",
    default=True,
    kind="bool",
)
#: The ``transfer`` base's one option: the length of its transfer phase.
N_TRANSFER_OPTION = BaseOption(
    "n_transfer",
    "transfer proposals after the warm starts before TPE takes over (default: "
    f"{TRANSFER_HORIZON} minus the warm starts used)",
)

#: Every base by name.
REGISTRY: dict[str, Base] = {
    "tpe": Base(_tpe),
    "gp": Base(_gp),
    "cmaes": Base(_cmaes),
    "evolution": Base(_evolution),
    "transfer": Base(_transfer, options=(N_TRANSFER_OPTION,)),
    "transfer-gp": Base(_transfer_gp, options=(LATENT_OPTION,)),
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
    return registered(REGISTRY, name, "base sampler")


def check_model(name: str, model: Any) -> None:
    """Raise unless ``model`` is a meta-trained model of base ``name``."""
    base = get_base(name)
    if base.train is None or base.model_type is None:
        raise MetaHPOError(f"base {name!r} has no meta-trained model to pass as base_model")
    expected = base.model_type()
    if not isinstance(model, expected):
        raise MetaHPOError(f"base_model for base {name!r} must be a {expected.__name__}")


def check_base_options(
    name: str, options: Mapping[str, Any] | None, where: str = "make_meta_sampler"
) -> dict[str, int | bool]:
    """``options`` checked against base ``name``'s declared :attr:`Base.options`: the options
    given, by name; a ``None`` value, or the option's declared default, is left out (so a run
    that names the default is the same run as one that does not).

    Raises:
        MetaHPOError: In one line naming ``where``: an unknown base, ``options`` not a mapping,
            an option the base does not take (naming the ones it does), or a value of the
            wrong type or out of range (naming the option).
    """
    base = get_base(name)
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise MetaHPOError(
            f"{where}: 'base_options' must be a dict of option names to values or None, "
            f"got {got(options)}"
        )
    declared = {o.name: o for o in base.options}
    out: dict[str, int | bool] = {}
    for key, value in options.items():
        if key not in declared:
            takes = ", ".join(declared) or "none"
            raise MetaHPOError(
                f"{where}: base {name!r} takes no option {key!r} (its options: {takes})"
            )
        label = f"{where}: base option {key!r}"
        if declared[key].kind == "bool":
            if value is not None and not isinstance(value, bool):
                raise MetaHPOError(f"{label} must be True or False, got {got(value)}")
        else:
            check_int(value, label, low=declared[key].low, none=True)
        if value is not None and value != declared[key].default:
            out[key] = value if isinstance(value, bool) else int(value)
    return out

"""``make_meta_sampler``: a :class:`MetaSampler` planned for a new task from experience.

The sampler itself is in :mod:`metahpo.optimizers._meta_sampler`, the bases in
:mod:`metahpo.optimizers._bases`; the names below stay importable from here.

The bases (``make_meta_sampler(base=...)``, the refinement after the warm starts), by name in
:data:`BASES`:

- ``transfer-gp`` (the default): a ranking-weighted GP ensemble over the most similar past
  tasks and this study, RGPE, proposing by expected improvement over the continuous space;
  see :class:`~metahpo.optimizers._transfer_gp.TransferGPSampler`.
- ``tpe``: multivariate TPE.
- ``gp``: GP-EI whose prior mean is the performance surrogate.
- ``gpsampler``: Optuna's GPSampler as shipped (torch extra).
- ``cmaes``: CMA-ES warm-started from similar tasks' good trials.
- ``evolution``: an evolutionary search whose first parents are the warm starts and similar
  tasks' best configurations.
- ``transfer``: past tasks' configurations ranked by the tasks' agreement with this study's
  results so far, TST-R style, then multivariate TPE; see
  :class:`~metahpo.optimizers.research.TransferSampler`.
- ``rl``: a search policy learned by Q-learning on replayed searches over the experience; see
  :class:`~metahpo.optimizers.research.PolicySampler`.
- ``maml``: a neural surrogate meta-trained with Reptile, adapted to the study's trials at
  every step (torch extra).
- ``fsbo``: a deep-kernel GP meta-trained on the experience, fine-tuned on the study, expected
  improvement; see :class:`~metahpo.optimizers.research.DeepKernelSampler` (torch extra).
- ``random``: random search.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

import numpy as np
import optuna

from metahpo._args import check_int, check_str, got, is_number
from metahpo.errors import MetaHPOError
from metahpo.optimizers._bases import (
    BASES,
    DEFAULT_BASE,
    TRANSFER_HORIZON,
    Base,
    BaseContext,
    check_base_options,
    check_model,
    get_base,
)
from metahpo.optimizers._experience import metafeature_vector
from metahpo.optimizers._guard import guard_message
from metahpo.optimizers._meta_sampler import MetaSampler
from metahpo.optimizers._prior import SurrogatePrior
from metahpo.optimizers._time_cost import TimeCost, low_cost_first
from metahpo.optimizers._view import GUARD_ATTR, WARM_ATTR, WARM_CONFIG_ATTR
from metahpo.spaces import same_config

__all__ = [
    "BASES",
    "DEFAULT_BASE",
    "GUARD_ATTR",
    "LOW_CONFIDENCE",
    "TRANSFER_HORIZON",
    "WARM_ATTR",
    "WARM_CONFIG_ATTR",
    "MetaPlan",
    "MetaSampler",
    "SurrogatePrior",
    "guard_message",
    "make_meta_sampler",
    "meta_train_base",
]

#: Confidence below which only half the warm starts are used.
LOW_CONFIDENCE = 0.5


@dataclass(frozen=True)
class MetaPlan:
    """What :func:`make_meta_sampler` decided, for reporting."""

    sampler: MetaSampler
    suggestions: tuple[Any, ...]
    confidence: float
    out_of_distribution: bool
    strategy: str
    base: str


def make_meta_sampler(
    metafeatures: np.ndarray,
    family: str,
    task: str,
    *,
    experience: Any = None,
    strategy: str = "portfolio",
    n_warm_start: int = 5,
    base: str = DEFAULT_BASE,
    direction: str = "maximize",
    space: Any = None,
    seed: int | None = 0,
    guard_level: float = 0.05,
    base_model: Any = None,
    learner: Any = None,
    base_options: Mapping[str, Any] | None = None,
    cost: TimeCost | None = None,
) -> MetaPlan:
    """A :class:`MetaSampler` for a new task of ``family`` described by ``metafeatures``.

    The search runs in phases, each length counting the phase's own proposals: the warm
    starts (``n_warm_start``), then the base; the ``transfer`` base itself proposes past
    tasks' configurations (its option ``n_transfer``), then refines with multivariate TPE.

    Args:
        metafeatures: The new task's meta-feature vector (order of the experience's names);
            a NaN counts as the training tasks' median.
        family, task: Model family and task type.
        experience: An :class:`~metahpo.knowledge.Experience` (default: the bundled one).
        strategy: Meta-learner choosing the warm starts (``nearest``, ``portfolio``,
            ``surrogate``, ``mapping``).
        n_warm_start: Warm-start trials. The library default is one of them: first when
            the task is out of distribution (farther from every training task than the
            training tasks' 95th percentile spacing) or when the meta-learner ranks it first,
            else second (so a single confident warm start is the meta-learned best alone).
            Below :data:`LOW_CONFIDENCE` only half as many warm starts are used, so that the
            base sampler takes over sooner, and the default is always among them.
            Suggestions that coincide once transferred into ``space`` are evaluated once.
        base: Refinement, a name in :data:`BASES` (``tpe``, ``gp``, ``gpsampler``, ``cmaes``,
            ``evolution``, ``transfer``, ``rl``, ``maml``, ``fsbo``, ``transfer-gp``: the
            default, or ``random``); :mod:`metahpo.optimizers._plan`'s docstring describes each.
        direction: The study's direction (needed for CMA-ES source trials and the prior).
        space: The search space the objective uses (default: the built-in one); suggestions
            are transferred into it by parameter name.
        seed: Seed of the base sampler.
        guard_level: Significance level of the negative-transfer guard (:class:`MetaSampler`).
        base_model: For ``rl``, ``maml`` and ``fsbo``: the policy or meta-trained model, already
            trained on this experience by :func:`meta_train_base`, to reuse across runs
            instead of training one for this call.
        learner: A meta-learner of ``strategy`` already fitted on this experience's tasks of
            ``family`` and ``task`` (as :func:`~metahpo.metalearners.fit_strategy` fits it),
            to reuse across runs instead of fitting one for this call.
        base_options: Options of ``base``, by name, as its registry entry declares them
            (:attr:`Base.options`; ``None``: each option its default), e.g. ``transfer``'s
            ``n_transfer`` (proposals before TPE refines; default 25 minus the warm starts).
        cost: With a deadline, :class:`TimeCost`: EI per second, a low-cost start.

    Raises:
        MetaHPOError: An argument of the wrong type or value (one line naming it), an
            unknown ``base`` or ``strategy``, a ``base_model`` or ``learner`` that does not
            fit them, or an option ``base`` does not take (naming the ones it does).
    """
    metafeatures = _check_arguments(
        metafeatures, family, strategy, n_warm_start, base, direction, space, seed,
        guard_level, experience,
    )  # fmt: skip
    learner_class, entry, builtin, own = _resolve(
        family, task, strategy, base, base_model, experience
    )
    options = MappingProxyType(check_base_options(base, base_options))
    context = BaseContext(space or builtin, builtin, seed, direction, options=options, cost=cost)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if len(own) == 0:  # no experience for this family
            return MetaPlan(_default_then_base(context, entry), (), 0.0, True, strategy, base)
        sampler, suggestions, confidence, ood = _warm_then_base(
            context, entry, own, learner, learner_class, metafeatures, n_warm_start, base_model,
            guard_level,
        )  # fmt: skip
    return MetaPlan(sampler, suggestions, confidence, ood, strategy, base)


def _resolve(
    family: str, task: str, strategy: str, base: str, base_model: Any, experience: Any
) -> tuple[type[Any], Base, Any, Any]:
    """The names resolved: the strategy's meta-learner class, the base's entry (``base_model``
    checked against it), the family's built-in space, and the experience's tasks of
    ``family`` and ``task`` with known meta-features (default: the bundled experience)."""
    from metahpo.knowledge import load_bundled
    from metahpo.metalearners import get_strategy, with_metafeatures
    from metahpo.spaces import get_space

    learner_class = get_strategy(strategy)
    entry = get_base(base)
    if base_model is not None:
        check_model(base, base_model)
    builtin = get_space(family, task)
    experience = experience if experience is not None else load_bundled()
    own = with_metafeatures(experience.select(family=family, task=task))
    return learner_class, entry, builtin, own


def _default_then_base(context: BaseContext, entry: Base) -> MetaSampler:
    """The sampler without experience: the library default, then the base sampler."""
    base_sampler, _ = entry.build(context)
    default = context.space.default_config()
    return MetaSampler([default], base_sampler=base_sampler, seed=context.seed)


def _warm_then_base(
    context: BaseContext,
    entry: Base,
    own: Any,
    learner: Any,
    learner_class: type[Any],
    metafeatures: np.ndarray,
    n_warm_start: int,
    base_model: Any,
    guard_level: float,
) -> tuple[MetaSampler, tuple[Any, ...], float, bool]:
    """The sampler for a family with experience: ``learner``'s warm starts (fitted on ``own``
    unless given), then the base built from ``context`` completed with them; also the
    learner's suggestions, its confidence and whether the task is out of distribution."""
    if learner is None:
        learner = learner_class().fit(own)
    elif not isinstance(learner, learner_class) or learner.task_space_ is None:
        raise MetaHPOError(f"learner must be a fitted {learner_class.__name__}")
    space = context.space
    assert learner.task_space_ is not None
    mf = metafeature_vector(metafeatures, learner.task_space_)
    n = max(n_warm_start, 1)
    # More suggestions than slots: some may coincide once transferred into the user's
    # space (clipped to a narrower range, say), and a repeat would waste a trial.
    suggestions = learner.suggest(mf, k=2 * n)
    dist = learner.task_space_.distances(mf)
    confidence = learner.task_space_.confidence(dist)
    ood = learner.task_space_.out_of_distribution(dist)
    warm, predicted = _warm_starts(suggestions, space, n, ood, confidence)
    warm, predicted = _low_cost_start(warm, predicted, suggestions, context)
    if base_model is None and entry.train is not None:
        base_model = entry.train(own, context.builtin, context.seed or 0)
    ranked = [*warm, *(space.transfer(x.params)[0] for x in suggestions)]
    context = replace(
        context,
        warm=tuple(warm),
        ranked=tuple(ranked),
        learner=learner,
        experience=own,
        metafeatures=mf,
        model=base_model,
    )
    base_sampler, prior = entry.build(context)
    sampler = MetaSampler(
        warm,
        predicted=predicted,
        base_sampler=base_sampler,
        prior=prior,
        guard_level=guard_level,
        seed=context.seed,
    )
    return sampler, tuple(suggestions), confidence, ood


def _check_arguments(
    metafeatures: Any,
    family: Any,
    strategy: Any,
    n_warm_start: Any,
    base: Any,
    direction: Any,
    space: Any,
    seed: Any,
    guard_level: Any,
    experience: Any,
) -> np.ndarray:
    """:func:`make_meta_sampler`'s arguments checked, one line naming the first one wrong;
    the meta-feature vector as floats."""
    from metahpo.metalearners import check_inputs
    from metahpo.spaces import SearchSpace

    where = "make_meta_sampler"
    check_inputs(
        where,
        family=family,
        strategy=strategy,
        seed=0 if seed is None else seed,
        experience=experience,
    )
    check_str(base, f"{where}: 'base'")
    check_int(n_warm_start, f"{where}: 'n_warm_start'", low=0)
    if direction not in ("maximize", "minimize"):
        raise MetaHPOError(
            f"{where}: 'direction' must be 'maximize' or 'minimize', got {got(direction)}"
        )
    if space is not None and not isinstance(space, SearchSpace):
        raise MetaHPOError(f"{where}: 'space' must be a SearchSpace or None, got {got(space)}")
    if not is_number(guard_level) or not 0.0 <= guard_level < 1.0:
        raise MetaHPOError(
            f"{where}: 'guard_level' must be a number in [0, 1), got {got(guard_level)}"
        )
    try:
        vector = np.asarray(metafeatures, dtype=float)
    except (TypeError, ValueError):
        vector = np.empty((0, 0))
    if vector.ndim != 1:
        raise MetaHPOError(
            f"{where}: 'metafeatures' must be a vector of numbers (in the experience's "
            f"meta-feature order), got {got(metafeatures)}"
        )
    return vector


def _warm_starts(
    suggestions: Any, space: Any, n: int, ood: bool, confidence: float
) -> tuple[list[dict[str, Any]], list[float]]:
    """The warm starts and their predicted scores, the library default among them."""
    default = space.default_config()
    warm: list[dict[str, Any]] = []
    predicted: list[float] = []
    default_score: float | None = None
    for s in suggestions:
        config = space.transfer(s.params)[0]
        if same_config(config, default):
            default_score = s.predicted_score if default_score is None else default_score
        elif not any(same_config(config, w) for w in warm):
            warm.append(config)
            predicted.append(s.predicted_score)
    top_is_default = bool(suggestions) and same_config(
        space.transfer(suggestions[0].params)[0], default
    )
    if default_score is None:
        default_score = float(np.nanmedian(predicted)) if predicted else 0.5
    # Out of distribution: the default first. Otherwise the meta-learned best first and the
    # default second (first when the meta-learner itself ranks it first): either way the
    # best of the first two is never worse than the default.
    at = 0 if ood or top_is_default else min(1, len(warm))
    if confidence < LOW_CONFIDENCE:
        n = max(1, n // 2)
        at = min(at, n - 1)  # unsure: the default must stay among the warm starts
    warm.insert(at, default)
    predicted.insert(at, default_score)
    return warm[:n], predicted[:n]


def _low_cost_start(
    warm: list[dict[str, Any]],
    predicted: list[float],
    suggestions: Any,
    context: BaseContext,
) -> tuple[list[dict[str, Any]], list[float]]:
    """The warm starts with the low-cost start of a run under a timeout
    (:func:`~metahpo.optimizers._time_cost.low_cost_first`): where the first is predicted to
    cost more than its share of the run, the best-ranked candidate (a warm start or another of
    the meta-learner's suggestions) predicted to fit goes first, else the cheapest; every warm
    start stays."""
    if context.cost is None or context.cost.full_log_seconds is None or not warm:
        return warm, predicted
    pool, scores = list(warm), list(predicted)
    for s in suggestions:
        config = context.space.transfer(s.params)[0]
        if not any(same_config(config, p) for p in pool):
            pool.append(config)
            scores.append(s.predicted_score)
    builtin = context.builtin
    encoded = np.vstack([builtin.encode(builtin.transfer(c)[0]) for c in pool])
    i = low_cost_first(encoded, context.cost)
    if i == 0:
        return warm, predicted
    rest = [j for j in range(len(warm)) if j != i]
    return [pool[i], *(warm[j] for j in rest)], [scores[i], *(predicted[j] for j in rest)]


def meta_train_base(experience: Any, family: str, task: str, base: str, seed: int = 0) -> Any:
    """The meta-trained part of a base sampler, trained on the experience of one family and
    task type: a :class:`~metahpo.optimizers.research.QPolicy` for ``rl``, a
    :class:`~metahpo.optimizers.research.MetaTrainedSurrogate` for ``maml``, a
    :class:`~metahpo.optimizers.research.DeepKernelGP` for ``fsbo`` (torch extra), ``None`` for
    the other bases. Train once, pass it to :func:`make_meta_sampler` as ``base_model`` for
    every run on that experience.
    """
    from metahpo.metalearners import with_metafeatures
    from metahpo.spaces import get_space

    entry = get_base(base)
    if entry.train is None:
        return None
    own = with_metafeatures(experience.select(family=family, task=task))
    return entry.train(own, get_space(family, task), seed)

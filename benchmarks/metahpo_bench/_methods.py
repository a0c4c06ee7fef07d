"""Benchmark methods: policies that pick pool configurations one at a time.

A method has one abstract method, :meth:`Method.run`, which spends a :class:`Pool`'s budget
through :meth:`Pool.evaluate`; :meth:`Method.prepare` is an optional hook, called once per fold
(family and task type) before any run, for work every run of that fold can share (fitting a
meta-learner). :class:`RandomSearch` is the reference implementation. Adding a method to the
benchmark is one entry in :data:`METHODS`.

Methods that propose continuous points (Optuna samplers, including :class:`MetaSampler`) run on
the family's real search space: each asked configuration is encoded to the unit cube and
*snapped* to the nearest pool configuration not evaluated yet, whose stored score is then told
to Optuna **for the asked trial**. The sampler therefore optimises the well-defined black-box
function "score of the nearest unused pool configuration" and sees only points it proposed
itself. That keeps samplers with internal state consistent: CMA-ES updates its mean and
covariance from the solutions of its own generation (tagged on the trials it asked), NSGA-II
breeds from the parameters of its own trials, and the QMC sampler keeps its sequence. Adding
the snapped point as a separate trial instead would leave CMA-ES without values for its own
solutions and break its generation bookkeeping.

Snapping is not neutral: a method that proposes stored configurations is scored exactly, one
that proposes continuous points gets the nearest unused one. Each method says which it does
(:attr:`Method.proposals`), and the report marks the first kind. Stored configurations are the
bundled design (the library default and a Sobol design, shared by every task of a family), so
the configurations of the training tasks are stored configurations of the held-out task too.
"""

from __future__ import annotations

import abc
import time
import warnings
from typing import Any

import numpy as np
import optuna
from optuna.samplers import BaseSampler
from optuna.study import StudyDirection
from optuna.trial import TrialState

from metahpo.errors import MetaHPOError
from metahpo.knowledge import Experience
from metahpo.metalearners import STRATEGIES, MetaLearner, fit_strategy
from metahpo.optimizers import BASES, classic_sampler, make_meta_sampler, meta_train_base
from metahpo_bench._pool import Pool

#: :attr:`Method.proposals` of a method that proposes only stored configurations (pool rows).
STORED = "stored"
#: ... of a method that proposes stored configurations for the most part, continuous points
#: besides (those are snapped).
PARTLY_STORED = "partly stored"
#: ... of a method that proposes continuous points, each snapped to the nearest unused row.
CONTINUOUS = "continuous"


class TrainingSet:
    """What the methods of one fold may learn from.

    The tasks of one model family and task type on the datasets *not* held out in the fold.
    Fitted meta-learners are cached, so that one fit serves every held-out dataset and seed.
    Each component's fit time is recorded, so that :func:`timed_prepare` can charge a method
    the full cost of the components it uses, whether it fitted them or found them cached.

    Args:
        experience: The training tasks (one family and task type).
        family, task: Their family and task type.
        fold: Index of the fold (for reporting).
    """

    def __init__(self, experience: Experience, family: str, task: str, fold: int = 0) -> None:
        self.experience = experience
        self.family = family
        self.task = task
        self.fold = fold
        self._learners: dict[str, MetaLearner] = {}
        self._base_models: dict[str, Any] = {}
        self._fit_seconds: dict[tuple[str, str], float] = {}
        self._used: set[tuple[str, str]] = set()

    @property
    def datasets(self) -> list[str]:
        return self.experience.datasets

    def learner(self, strategy: str) -> MetaLearner:
        """The meta-learner ``strategy`` fitted on this training set (fitted once, then cached).

        Fitted by :func:`~metahpo.metalearners.fit_strategy`, as ``metahpo suggest`` does.
        """
        key = ("learner", strategy)
        self._used.add(key)
        if strategy not in self._learners:
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._learners[strategy] = fit_strategy(
                    self.experience, self.family, self.task, strategy
                )
            self._fit_seconds[key] = time.perf_counter() - start
        return self._learners[strategy]

    def base_model(self, base: str) -> Any:
        """The meta-trained part of MetaSampler's base ``base`` (the Q-learning policy of
        ``rl``, the Reptile surrogate of ``maml``; ``None`` for the others), trained once on
        this training set by :func:`~metahpo.optimizers.meta_train_base`, then cached: as a
        deployment would train it once on its knowledge base and reuse it for every run."""
        key = ("base", base)
        self._used.add(key)
        if base not in self._base_models:
            start = time.perf_counter()
            self._base_models[base] = meta_train_base(
                self.experience, self.family, self.task, base, seed=0
            )
            self._fit_seconds[key] = time.perf_counter() - start
        return self._base_models[base]


class Method(abc.ABC):
    """A policy that evaluates pool configurations one at a time.

    Call order: :meth:`prepare` once per training set (fold × family × task type), then
    :meth:`run` once per held-out task and seed. Methods must not keep state between runs
    other than what :meth:`prepare` builds from the training set.

    Attributes:
        meta: Whether the method learns from the training set (drawn solid in plots).
        description: One line for the summary.
        proposals: What it proposes, by design: :data:`STORED` (only pool configurations,
            scored exactly), :data:`PARTLY_STORED` or :data:`CONTINUOUS` (points of the real
            space, snapped to the pool).
    """

    meta: bool = False
    description: str = ""
    proposals: str = CONTINUOUS

    def prepare(self, train: TrainingSet) -> None:  # noqa: B027 - optional hook
        """Optional: fit whatever every run on this training set can share (timed apart)."""

    @abc.abstractmethod
    def run(self, train: TrainingSet, pool: Pool, seed: int) -> None:
        """Spend ``pool.budget`` evaluations through ``pool.evaluate``.

        Args:
            train: The fold's training set (never contains the pool's dataset).
            pool: The held-out task's candidates.
            seed: Random seed of this run.
        """


class RandomSearch(Method):
    """Uniformly random pool configurations, without repetition (the reference method)."""

    description = "uniformly random pool configurations"
    proposals = STORED

    def run(self, train: TrainingSet, pool: Pool, seed: int) -> None:
        pool.fill_random(np.random.default_rng(seed))


class DefaultThenRandom(Method):
    """The library default configuration first (snapped to the pool), then random search."""

    description = "library default, then random"
    proposals = STORED  # the library default is the first configuration of the design

    def run(self, train: TrainingSet, pool: Pool, seed: int) -> None:
        pool.evaluate(pool.snap_config(pool.space.default_config()))
        pool.fill_random(np.random.default_rng(seed))


def ask_tell(sampler: BaseSampler, pool: Pool) -> None:
    """Drive an Optuna sampler over the pool: ask, snap to the nearest unused row, tell.

    The value told is the stored score of the snapped row, for the asked trial (see the module
    docstring for why); a failed evaluation is told as ``FAIL``.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direction = (
            StudyDirection.MINIMIZE if pool.direction == "minimize" else StudyDirection.MAXIMIZE
        )
        study = optuna.create_study(sampler=sampler, direction=direction)
        distributions = pool.space.distributions()
        while not pool.done:
            trial = study.ask(distributions)
            value = pool.evaluate(pool.snap_config(trial.params))
            if value is None:
                study.tell(trial, state=TrialState.FAIL)
            else:
                study.tell(trial, value)


class SamplerMethod(Method):
    """A classic Optuna optimizer (:func:`~metahpo.optimizers.classic_sampler`), snapped.

    Args:
        optimizer: Name in :data:`~metahpo.optimizers.CLASSIC_OPTIMIZERS`.
    """

    def __init__(self, optimizer: str) -> None:
        self.optimizer = optimizer
        self.description = f"Optuna sampler '{optimizer}' on the real space, snapped to the pool"

    def run(self, train: TrainingSet, pool: Pool, seed: int) -> None:
        ask_tell(classic_sampler(self.optimizer, pool.space, seed=seed, budget=pool.budget), pool)


#: What each meta-learner suggests. ``nearest``, ``portfolio`` and ``nearest-ae`` pick from the
#: training tasks' evaluated configurations (stored ones); ``mapping`` suggests its mapped point
#: first, ``neural`` the outputs of its heads, then both go on with stored configurations;
#: ``surrogate`` ranks the stored configurations together with 256 extra Sobol points.
ZERO_SHOT_PROPOSALS: dict[str, str] = {
    "nearest": STORED,
    "portfolio": STORED,
    "nearest-ae": STORED,
    "mapping": PARTLY_STORED,
    "neural": PARTLY_STORED,
    "surrogate": PARTLY_STORED,
}


class ZeroShot(Method):
    """A meta-learner's ranked suggestions for the task, then random search.

    The learner (fitted once per training set) suggests ``budget`` configurations from the
    held-out task's meta-features alone. Each is mapped to its nearest pool row; a suggestion
    whose row was already evaluated is skipped (de-duplication), and the budget left over is
    spent at random.

    What the suggestions are depends on the strategy (:data:`ZERO_SHOT_PROPOSALS`); the budget
    left over is spent on pool rows.

    Args:
        strategy: Name in :data:`~metahpo.metalearners.STRATEGIES`.
    """

    meta = True

    def __init__(self, strategy: str) -> None:
        self.strategy = strategy
        self.description = f"zero-shot: the '{strategy}' meta-learner's ranked suggestions"
        self.proposals = ZERO_SHOT_PROPOSALS.get(strategy, PARTLY_STORED)

    def prepare(self, train: TrainingSet) -> None:
        train.learner(self.strategy)

    def run(self, train: TrainingSet, pool: Pool, seed: int) -> None:
        learner = train.learner(self.strategy)
        for suggestion in learner.suggest(pool.metafeatures, k=pool.budget):
            if pool.done:
                break
            x = pool.space.encode(suggestion.params)
            row = int(np.argmin(((pool.X - x[None, :]) ** 2).sum(axis=1)))
            if not pool.used[row]:
                pool.evaluate(row)
        pool.fill_random(np.random.default_rng(seed))


class MetaSamplerMethod(Method):
    """metahpo's :class:`~metahpo.optimizers.MetaSampler` (warm start, then a base sampler).

    Built by :func:`~metahpo.optimizers.make_meta_sampler` for every run and driven like any
    Optuna sampler (:func:`ask_tell`). The warm-start meta-learner and the meta-trained part
    of the ``rl`` and ``maml`` bases are fitted once per training set (:meth:`prepare`, timed
    apart), as a deployment fits them once on its knowledge base and reuses them.

    Args:
        base: Refinement sampler (``tpe``, ``gp``, ``cmaes``, ``random``).
        strategy: Meta-learner choosing the warm starts.
        n_warm_start: Warm-start trials.
    """

    meta = True

    def __init__(self, base: str, strategy: str = "portfolio", n_warm_start: int = 5) -> None:
        self.base = base
        self.strategy = strategy
        self.n_warm_start = n_warm_start
        self.description = (
            f"MetaSampler: {n_warm_start} '{strategy}' warm starts, then '{base}', snapped"
        )
        # The warm starts are stored configurations whatever the base. Beyond them, ``transfer``
        # proposes past tasks' configurations (stored ones) for a number of trials, then TPE's;
        # ``rl`` mixes the meta-learner's next configuration with continuous moves; every other
        # base proposes continuous points.
        self.proposals = PARTLY_STORED if base in ("transfer", "rl") else CONTINUOUS

    def prepare(self, train: TrainingSet) -> None:
        train.learner(self.strategy)
        train.base_model(self.base)

    def run(self, train: TrainingSet, pool: Pool, seed: int) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plan = make_meta_sampler(
                pool.metafeatures,
                pool.family,
                pool.task_type,
                experience=train.experience,
                strategy=self.strategy,
                n_warm_start=self.n_warm_start,
                base=self.base,
                direction=pool.direction,
                seed=seed,
                base_model=train.base_model(self.base),
                learner=train.learner(self.strategy),
            )
        ask_tell(plan.sampler, pool)


#: Every benchmark method by name (``metahpo-bench --methods``). One entry adds a method.
METHODS: dict[str, Method] = {
    "default": DefaultThenRandom(),
    "random": RandomSearch(),
    "tpe": SamplerMethod("tpe"),
    "gp": SamplerMethod("gp"),
    "gp-ei": SamplerMethod("gp-ei"),
    "cmaes": SamplerMethod("cmaes"),
    "qmc": SamplerMethod("qmc"),
    "evolution": SamplerMethod("evolution"),
    **{name: ZeroShot(name) for name in STRATEGIES},
    **{f"meta-{base}": MetaSamplerMethod(base) for base in BASES},
}


def _has_torch() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None


#: Methods run by default, chosen so that a full run (137 datasets × 6 families × 5 seeds,
#: budget 50) stays under 30 minutes on two cores. The zero-shot torch strategies (``neural``,
#: ``nearest-ae``) join when torch is installed (``make bench`` installs it); they are fitted
#: once per training set, as are the MetaSamplers' warm-start meta-learners. Every MetaSampler
#: base runs except two, left out with the classic ``gp`` for their CPU time per run of 50
#: evaluations (one thread): ``gp`` (Optuna's GPSampler, ~50 s), ``meta-gp`` (GP-EI whose
#: acquisition calls the surrogate, ~15 s), ``meta-maml`` (adapts a network at every pick,
#: ~2 s) and ``gp-ei`` (~1.6 s). ``--methods all`` runs everything.
DEFAULT_METHODS: tuple[str, ...] = (
    "default",
    "random",
    "tpe",
    "cmaes",
    "qmc",
    "evolution",
    "nearest",
    "portfolio",
    "mapping",
    "surrogate",
    *(("neural", "nearest-ae") if _has_torch() else ()),
    "meta-tpe",
    "meta-cmaes",
    "meta-evolution",
    "meta-transfer",
    "meta-rl",
    "meta-random",
)


def get_method(name: str) -> Method:
    """The registered method ``name``."""
    try:
        return METHODS[name]
    except KeyError:
        raise MetaHPOError(
            f"unknown benchmark method {name!r}; choose from {', '.join(METHODS)}"
        ) from None


def timed_prepare(method: Method, train: TrainingSet) -> float:
    """Call ``method.prepare(train)`` and return what preparing the method alone costs.

    That is the call's own wall time with every shared component it uses (a meta-learner, a
    meta-trained base) charged at its full fit time, whether this call fitted it or found it
    cached by an earlier method: the order in which methods are prepared does not move cost
    from one method to another.
    """
    train._used.clear()
    fitted_before = set(train._fit_seconds)
    start = time.perf_counter()
    method.prepare(train)
    wall = time.perf_counter() - start
    fitted_now = sum(s for k, s in train._fit_seconds.items() if k not in fitted_before)
    charged = sum(train._fit_seconds.get(k, 0.0) for k in train._used)
    return max(wall - fitted_now, 0.0) + charged

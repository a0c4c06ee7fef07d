"""Live runners: one (dataset, family, method, seed) run with real training, timed.

Every method sees the same objective (:class:`Objective`): the family's built-in space, the
run's seeded CV folds, the same model seed, the same per-evaluation time limit. The runner
records each evaluation's score and training time, and the optimizer's own time before it
(everything between the end of one evaluation and the start of the next), so that overhead and
training are reported separately.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna

from metahpo.datasets import Dataset
from metahpo.evaluation import evaluate, get_metric
from metahpo.knowledge import Experience
from metahpo.spaces import SearchSpace, get_family
from metahpo.tuning import meta_sampler_for, suggest_config
from metahpo_bench._live_cache import LiveRun
from metahpo_bench._live_protocol import LOW_COST_PARAMS, LiveMethod, LiveSettings


class _Failed(Exception):
    """An evaluation that failed (a FAIL trial for Optuna samplers)."""


@dataclass
class Objective:
    """Cross-validated score of one configuration, with the run's log of evaluations."""

    dataset: Dataset
    family: str
    folds: list[tuple[np.ndarray, np.ndarray]]
    seed: int
    settings: LiveSettings
    metric: str = ""
    direction: str = "maximize"
    values: list[float | None] = field(default_factory=list)
    fit_s: list[float] = field(default_factory=list)
    overhead_s: list[float] = field(default_factory=list)
    params: list[dict[str, Any]] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    _mark: float = 0.0

    def __post_init__(self) -> None:
        m = get_metric(None, self.dataset.task)
        self.metric, self.direction = m.name, m.direction

    @property
    def space(self) -> SearchSpace:
        return get_family(self.family).space(self.dataset.task)

    @property
    def done(self) -> bool:
        return len(self.values) >= self.settings.budget

    def start(self) -> None:
        """Setup is over: the optimizer's clock starts."""
        self._mark = time.perf_counter()

    def __call__(self, config: dict[str, Any]) -> float | None:
        """Evaluate ``config``; the score, or ``None`` if the evaluation failed."""
        t0 = time.perf_counter()
        self.overhead_s.append(t0 - self._mark)
        ev = evaluate(
            self.dataset,
            self.family,
            config,
            metric=self.metric,
            folds=self.folds,
            seed=self.seed,
            time_limit=self.settings.trial_time_limit,
        )
        self.fit_s.append(time.perf_counter() - t0)
        self.params.append({k: _plain(v) for k, v in config.items()})
        value = float(ev.value) if ev.ok else None
        if value is None:
            self.errors.append((len(self.values), ev.error or "failed"))
        self.values.append(value)
        self._mark = time.perf_counter()
        return value

    def record(self, method: str, fingerprint: str, setup_s: float) -> LiveRun:
        return LiveRun(
            method=method,
            dataset=self.dataset.name,
            family=self.family,
            seed=self.seed,
            fingerprint=fingerprint,
            task=self.dataset.task,
            metric=self.metric,
            direction=self.direction,
            values=tuple(None if v is None else round(v, 7) for v in self.values),
            fit_s=tuple(round(s, 4) for s in self.fit_s),
            overhead_s=tuple(round(s, 5) for s in self.overhead_s),
            setup_s=round(setup_s, 4),
            params=tuple(self.params),
            errors=tuple(self.errors),
        )


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        return float(f"{v:.6g}")
    return v


def _optuna(objective: Objective, sampler: optuna.samplers.BaseSampler) -> None:
    space = objective.space

    def fn(trial: optuna.Trial) -> float:
        value = objective(suggest_config(trial, space))
        if value is None:
            raise _Failed()
        return value

    direction = (
        optuna.study.StudyDirection.MAXIMIZE
        if objective.direction == "maximize"
        else optuna.study.StudyDirection.MINIMIZE
    )
    study = optuna.create_study(direction=direction, sampler=sampler)
    objective.start()
    study.optimize(fn, n_trials=objective.settings.budget, catch=(_Failed,), gc_after_trial=False)


def _meta_sampler(
    method: LiveMethod, objective: Objective, experience: Experience
) -> optuna.samplers.BaseSampler:
    from metahpo.optimizers import DEFAULT_BASE, MetaSampler

    base = method.base or DEFAULT_BASE
    # only when given: metahpo's meta_sampler_for takes base_options from issue 24 on
    options: dict[str, Any] = (
        {"base_options": dict(method.base_options)} if method.base_options else {}
    )
    plan = meta_sampler_for(
        objective.dataset,
        objective.family,
        metric=objective.metric,
        experience=experience,
        strategy=method.strategy,
        n_warm_start=method.warm_start,
        seed=objective.seed,
        base="random" if base == "optuna-gp" else base,
        **options,
    )
    if base != "optuna-gp":
        return plan.sampler
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        gp = optuna.samplers.GPSampler(seed=objective.seed, warn_independent_sampling=False)
    return MetaSampler(
        plan.sampler.warm_start,
        predicted=plan.sampler.predicted,
        base_sampler=gp,
        seed=objective.seed,
    )


def _flaml(objective: Objective) -> None:
    import flaml.tune
    from flaml.tune.searcher.blendsearch import CFO

    ftune: Any = flaml.tune  # its names are not re-exported for type checkers

    space: dict[str, Any] = {}
    low_cost: dict[str, Any] = {}
    for p in objective.space.params:
        if p.kind == "categorical":
            space[p.name] = ftune.choice(list(p.choices))
            continue
        assert p.low is not None and p.high is not None
        if p.kind == "int":
            lo, hi = int(p.low), int(p.high) + 1  # FLAML's upper bound is exclusive
            space[p.name] = ftune.lograndint(lo, hi) if p.log else ftune.randint(lo, hi)
        else:
            space[p.name] = (
                ftune.loguniform(p.low, p.high) if p.log else ftune.uniform(p.low, p.high)
            )
        if p.name in LOW_COST_PARAMS:
            low_cost[p.name] = int(p.low) if p.kind == "int" else p.low

    def fn(config: dict[str, Any]) -> dict[str, float]:
        value = objective(dict(config))
        if value is None:
            return {"score": -math.inf}
        return {"score": value if objective.direction == "maximize" else -value}

    alg = CFO(
        metric="score",
        mode="max",
        space=space,
        low_cost_partial_config=low_cost or None,
        seed=objective.seed % (2**31),
    )
    objective.start()
    ftune.run(
        fn,
        search_alg=alg,
        metric="score",
        mode="max",
        num_samples=objective.settings.budget,
        verbose=0,
    )


def _skopt(objective: Objective) -> None:
    from skopt import gp_minimize
    from skopt.space import Categorical, Integer, Real

    params = objective.space.params
    dims: list[Any] = []
    for p in params:
        if p.kind == "categorical":
            dims.append(Categorical(list(p.choices), name=p.name))
        elif p.kind == "int":
            assert p.low is not None and p.high is not None
            prior = "log-uniform" if p.log else "uniform"
            dims.append(Integer(int(p.low), int(p.high), prior=prior, name=p.name))
        else:
            assert p.low is not None and p.high is not None
            prior = "log-uniform" if p.log else "uniform"
            dims.append(Real(p.low, p.high, prior=prior, name=p.name))
    worst: list[float] = []

    def fn(x: list[Any]) -> float:
        value = objective({p.name: _plain(v) for p, v in zip(params, x, strict=True)})
        if value is None:  # gp_minimize needs a number: the worst loss seen so far
            return max(worst) if worst else 0.0
        loss = -value if objective.direction == "maximize" else value
        worst.append(loss)
        return loss

    objective.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        budget = objective.settings.budget
        gp_minimize(
            fn,
            dims,
            n_calls=budget,
            n_initial_points=min(10, budget),  # skopt's default, capped by the budget
            random_state=objective.seed,
        )


def run_method(
    method: LiveMethod,
    objective: Objective,
    experience: Experience | None,
) -> float:
    """Run ``method`` on ``objective`` until its budget is spent; returns the setup seconds."""
    t0 = time.perf_counter()
    runner: Callable[[], None]
    if method.kind == "meta":
        if experience is None:
            raise ValueError("meta methods need an experience")
        sampler = _meta_sampler(method, objective, experience)
        runner = lambda: _optuna(objective, sampler)  # noqa: E731
    elif method.kind == "optuna":
        from metahpo.optimizers import classic_sampler

        sampler = classic_sampler(
            method.optimizer, objective.space, seed=objective.seed, budget=objective.settings.budget
        )
        runner = lambda: _optuna(objective, sampler)  # noqa: E731
    elif method.kind == "default":
        from metahpo.optimizers import MetaSampler

        sampler = MetaSampler(
            [objective.space.default_config()],
            base_sampler=optuna.samplers.RandomSampler(seed=objective.seed),
        )
        runner = lambda: _optuna(objective, sampler)  # noqa: E731
    elif method.kind == "flaml":
        runner = lambda: _flaml(objective)  # noqa: E731
    elif method.kind == "skopt":
        runner = lambda: _skopt(objective)  # noqa: E731
    else:
        raise ValueError(f"unknown live method kind {method.kind!r}")
    setup = time.perf_counter() - t0
    runner()
    if len(objective.values) > objective.settings.budget:  # a peer that overshoots: cut
        del objective.values[objective.settings.budget :]
        del objective.fit_s[objective.settings.budget :]
        del objective.overhead_s[objective.settings.budget :]
        del objective.params[objective.settings.budget :]
    return setup

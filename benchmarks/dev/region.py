"""Dev base ``region-gp``: Optuna's GPSampler inside a search region learned from similar tasks.

Issue 26, lever 1 (Perrone et al. 2019, "Learning search spaces for Bayesian optimization"):
the box that holds the best configurations of the ``k`` tasks nearest to the new one (in the
meta-learner's task space), widened by ``margin`` of each numeric range on both sides; Optuna's
GPSampler proposes inside it. Every ``global_every``-th proposal searches the whole space, and
a side of the box is widened (by ``margin`` again) whenever the incumbent lies within 2 % of
it, so that a wrong box cannot trap the search. Only continuous parameters are narrowed
(categorical and integer ones keep their range: see ``_narrow``).

The diagnosis behind it (``results/2026-12-06-boosting-diagnosis.md``): on the boosting
families the box of 10 similar tasks' bests keeps about a fifth of the space at a median regret
of 0.001, while the order inside the good region is noise to every prior, so the study's own
GP should do the ordering. Not of record; measure with ``live_dev.py --variant
region:region-gp`` against ``gp`` and ``meta-gpsampler``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, FloatDistribution
from optuna.samplers import BaseSampler
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

from metahpo.optimizers import BaseContext, BaseOption
from metahpo.spaces import SearchSpace

#: The incumbent this close to a side of the box (unit coordinates) widens that side.
EDGE = 0.02


def learned_box(ctx: BaseContext, k: int, margin: float) -> dict[str, tuple[float, float]]:
    """Per numeric parameter of the built-in space, the unit-cube interval holding the best
    configurations of the ``k`` tasks nearest to the new one, widened by ``margin``."""
    learner, mf = ctx.learner, ctx.metafeatures
    if learner is None or mf is None or learner.task_space_ is None:
        return {}
    experience = learner.experience_  # the tasks its task space was fitted on, in that order
    if experience is None:
        return {}
    order = np.argsort(learner.task_space_.distances(mf), kind="stable")[:k]
    builtin = ctx.builtin
    units = []
    for i in order:
        task = experience.tasks[int(i)]
        y = np.where(np.isfinite(task.y), task.y, -np.inf)
        best = int(np.argmax(y if task.direction == "maximize" else -y))
        units.append(builtin.to_unit(builtin.decode(task.X[best])))
    lo, hi = np.min(units, axis=0), np.max(units, axis=0)
    return {
        p.name: (max(0.0, float(a) - margin), min(1.0, float(b) + margin))
        for p, a, b in zip(builtin.params, lo, hi, strict=True)
        if p.kind != "categorical"
    }


class RegionGPSampler(BaseSampler):
    """Optuna's GPSampler proposing inside ``box`` (see the module docstring); ``space`` is the
    space whose unit cube the box is in (the family's built-in one), matched by name."""

    def __init__(
        self,
        space: SearchSpace,
        box: dict[str, tuple[float, float]],
        *,
        seed: int | None = None,
        global_every: int = 5,
        margin: float = 0.1,
    ) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self._gp = optuna.samplers.GPSampler(seed=seed, warn_independent_sampling=False)
        self.space = space
        self.box = dict(box)
        self.global_every = global_every
        self.margin = margin
        self.n_global = 0

    def reseed_rng(self) -> None:
        self._gp.reseed_rng()

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return self._gp.infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if self.global_every > 0 and len(done) % self.global_every == self.global_every - 1:
            self.n_global += 1
            return self._gp.sample_relative(study, trial, search_space)
        if done:
            self._widen(study, done)
        narrowed = {n: self._narrow(n, d) for n, d in search_space.items()}
        return self._gp.sample_relative(study, trial, narrowed)

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self._gp.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._gp.before_trial(study, trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: list[float] | None,
    ) -> None:
        self._gp.after_trial(study, trial, state, values)

    def _widen(self, study: Study, done: list[FrozenTrial]) -> None:
        """Each side of the box the incumbent lies within :data:`EDGE` of moves out by
        ``margin``."""
        sign = 1.0 if study.direction == StudyDirection.MAXIMIZE else -1.0
        best = max(done, key=lambda t: sign * float(t.value if t.value is not None else -math.inf))
        for name, (lo, hi) in list(self.box.items()):
            if name not in best.params or name not in self.space.names:
                continue
            u = self.space[name].to_unit(best.params[name])
            if lo > 0.0 and u - lo < EDGE:
                lo = max(0.0, lo - self.margin)
            if hi < 1.0 and hi - u < EDGE:
                hi = min(1.0, hi + self.margin)
            self.box[name] = (lo, hi)

    def _narrow(self, name: str, dist: BaseDistribution) -> BaseDistribution:
        """``dist`` cut to the box (itself where the box has no side for it)."""
        if name not in self.box or name not in self.space.names:
            return dist
        # Continuous parameters only: Optuna's GPSampler starts its discrete line search from
        # the best trial's values, which must lie on the (narrowed) grid of an integer
        # parameter (an assertion in optuna/_gp/optim_mixed.py fails otherwise, seen on magic).
        if not isinstance(dist, FloatDistribution) or dist.step is not None:
            return dist
        p = self.space[name]
        lo, hi = self.box[name]
        a, b = float(p.from_unit(lo)), float(p.from_unit(hi))
        low, high = max(float(dist.low), min(a, b)), min(float(dist.high), max(a, b))
        if not low < high:
            return dist
        return FloatDistribution(low, high, log=dist.log)


def region_gp(ctx: BaseContext) -> tuple[BaseSampler, None]:
    """The ``region-gp`` dev base: options ``k`` (nearest tasks, default 10), ``global_every``
    (default 5; 0: never) and ``margin_pct`` (default 10)."""
    k = int(ctx.options.get("k", 10))
    margin = int(ctx.options.get("margin_pct", 10)) / 100.0
    box = learned_box(ctx, k, margin)
    every = int(ctx.options.get("global_every", 5))
    sampler = RegionGPSampler(ctx.builtin, box, seed=ctx.seed, global_every=every, margin=margin)
    return sampler, None


OPTIONS = (
    BaseOption("k", "nearest tasks whose best configurations span the box", low=1, default=10),
    BaseOption("global_every", "every n-th proposal over the whole space (0: never)", default=5),
    BaseOption("margin_pct", "box margin, % of each numeric range", default=10),
)

"""Ranking-weighted transfer: past tasks re-weighted by how well they rank this task's results.

A zero-shot meta-learner weighs past tasks by meta-feature similarity alone, once. This sampler
keeps weighing them while the study runs, in the spirit of the two-stage transfer surrogate
with ranking-based task similarity (TST-R, Wistuba, Schilling and Schmidt-Thieme, 2016):

* every past task ``t`` predicts a configuration's normalised score by its nearest evaluated
  configuration (the bundled tasks share one design, so for design points this is exact);
* after the study's completed trials, ``t`` gets the weight
  ``exp(-d_t / median(d)) · exp(beta · sqrt(P) · tau_t)``, where ``d_t`` is its meta-feature
  distance to the new task, ``tau_t`` the agreement of its predictions with the observed
  ranking over the ``P`` pairs of trials (Kendall's tau, ties counting zero); only the
  ``k`` heaviest tasks are kept. The ``sqrt(P)`` makes the evidence of the results grow with
  their number, so that similarity in meta-features decides first and the results decide
  later: a task whose meta-features look alike but whose optimum lies elsewhere loses its say;
* the next trial is the not yet evaluated candidate (the past tasks' evaluated
  configurations, transferred into the study's space) with the best weighted mean score.

Until trial number ``until`` (or until the candidates run out) trials come from this model;
afterwards a refining sampler (multivariate TPE by default) continues from every trial so far,
because the candidates only cover configurations some past task has evaluated.

Each proposal is recorded on its trial (system attribute ``metahpo:transfer``), so a candidate
is proposed once even when the objective asks only some parameters (conditional spaces), fails
before asking them all, asks a narrower range, or when several workers share the study.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from metahpo.optimizers._meta import WARM_ATTR
from metahpo.optimizers._space_sampler import SpaceSampler, all_trials, plain
from metahpo.spaces import SearchSpace

#: Trial system attribute holding the candidate proposed for the trial (its values in the
#: order of the space's parameter names).
TRANSFER_ATTR = "metahpo:transfer"


class TransferSampler(SpaceSampler):
    """Propose past tasks' configurations, weighting the tasks by agreement with the results.

    Args:
        space: The study's search space (parameter names as the objective asks them).
        builtin: The built-in space of the family, in whose encoding ``X`` is given.
        X: Per past task, its evaluated configurations encoded in ``builtin`` (``(n_t, dim)``).
        scores: Per past task, normalised scores of those configurations (1 = its best,
            0 = its worst or failed).
        distances: Per past task, its meta-feature distance to the new task.
        k: Past tasks that count for each proposal (the heaviest ``k``).
        beta: Strength of the ranking evidence against meta-feature similarity.
        until: Trials numbered below this come from the transfer model, later ones from
            ``then``.
        then: The refining sampler (default: multivariate TPE, seeded with ``seed``).
        seed: Random seed.
    """

    def __init__(
        self,
        space: SearchSpace,
        builtin: SearchSpace,
        X: Sequence[np.ndarray],
        scores: Sequence[np.ndarray],
        distances: np.ndarray,
        *,
        k: int = 20,
        beta: float = 1.0,
        until: int = 25,
        then: BaseSampler | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(space, seed)
        if not len(X) == len(scores) == len(distances):
            raise ValueError("X, scores and distances need one entry per past task")
        if k < 1 or until < 0 or beta < 0:
            raise ValueError("k must be >= 1, until >= 0 and beta >= 0")
        self.builtin = builtin
        self.k = k
        self.beta = beta
        self.until = until
        if then is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                then = optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=2)
        self.then = then
        self._tasks = [
            (np.asarray(x, dtype=float), np.nan_to_num(np.asarray(s, dtype=float), nan=0.0))
            for x, s in zip(X, scores, strict=True)
        ]
        d = np.asarray(distances, dtype=float)
        scale = float(np.median(d)) if len(d) and np.median(d) > 0 else 1.0
        self._log_prior = -d / scale
        # Candidates: every configuration a past task evaluated, transferred into the study's
        # space; configurations that coincide there are proposed once.
        # Bundled tasks share one design, so their configurations are decoded once.
        self._candidates: list[dict[str, Any]] = []
        seen: set[tuple[Any, ...]] = set()
        rows: list[np.ndarray] = []
        stacked = [x for x, _ in self._tasks if len(x)]
        distinct = np.unique(np.vstack(stacked), axis=0) if stacked else np.zeros((0, 0))
        for row in distinct:
            config = space.transfer(builtin.decode(row))[0]
            key = tuple(config[n] for n in space.names)
            if key not in seen:
                seen.add(key)
                self._candidates.append(config)
                rows.append(self._encode(config))
        self._cand_rows = np.asarray(rows, dtype=float).reshape(len(rows), builtin.encoded_dim)
        self._cand_scores = self._predict(self._cand_rows)  # (tasks, candidates)

    # -- the model ---------------------------------------------------------------------------
    def _encode(self, params: dict[str, Any]) -> np.ndarray:
        """``params`` (names of the study's space) in the built-in encoding of the experience."""
        return self.builtin.encode(self.builtin.transfer(params)[0])

    def _predict(self, rows: np.ndarray) -> np.ndarray:
        """Each past task's score for each encoded row: that of its nearest configuration."""
        out = np.zeros((len(self._tasks), len(rows)))
        if len(rows) == 0:
            return out
        nearest: dict[bytes, np.ndarray] = {}  # tasks sharing a design share the lookup
        for i, (x, s) in enumerate(self._tasks):
            if len(x) == 0:
                continue
            key = x.tobytes()
            if key not in nearest:
                d2 = ((rows[:, None, :] - x[None, :, :]) ** 2).sum(axis=2)
                nearest[key] = np.argmin(d2, axis=1)
            out[i] = s[nearest[key]]
        return out

    def _key(self, config: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(plain(config.get(n)) for n in self.space.names)

    def evidence(
        self, study: Study, trials: Sequence[FrozenTrial] | None = None
    ) -> list[FrozenTrial]:
        """Completed trials with a value that set at least one parameter of the space.

        A parameter a trial did not set (a conditional one) counts at the family's default.
        ``trials``: the study's trials, if already read.
        """
        names = set(self.space.names)
        done = [
            t
            for t in (all_trials(study) if trials is None else trials)
            if t.state == TrialState.COMPLETE
            and t.value is not None
            and not np.isnan(t.value)
            and names & set(t.params)
        ]
        return sorted(done, key=lambda t: t.number)

    def weights(self, study: Study, trials: Sequence[FrozenTrial] | None = None) -> np.ndarray:
        """The past tasks' weights given the study's completed trials (the heaviest ``k``)."""
        done = self.evidence(study, trials)
        log_w = self._log_prior.copy()
        if len(done) >= 2:
            gains = np.asarray([self.gain(study, t) for t in done])
            pred = self._predict(np.asarray([self._encode(t.params) for t in done]))
            i, j = np.triu_indices(len(done), 1)
            # Infinite values are allowed by Optuna: two equal infinities are a tie.
            with np.errstate(invalid="ignore"):
                observed = np.nan_to_num(np.sign(gains[i] - gains[j]), nan=0.0)
            tau = (np.sign(pred[:, i] - pred[:, j]) * observed[None, :]).mean(axis=1)
            log_w = log_w + self.beta * np.sqrt(len(i)) * tau
        keep = np.argsort(-log_w, kind="stable")[: self.k]
        w = np.zeros_like(log_w)
        w[keep] = np.exp(log_w[keep] - log_w[keep].max())
        return w

    def ranked(
        self, study: Study, trials: Sequence[FrozenTrial] | None = None
    ) -> list[tuple[dict[str, Any], float]]:
        """Candidates not tried yet with their weighted mean score, best first.

        Tried: proposed for any trial (whatever its state, other workers' included), or equal
        to the parameters of any trial. ``trials``: the study's trials, if already read.
        """
        if not self._candidates or not self._tasks:
            return []
        trials = all_trials(study) if trials is None else trials
        w = self.weights(study, trials)
        score = w @ self._cand_scores / w.sum()
        tried: set[tuple[Any, ...]] = set()
        for t in trials:
            claimed = t.system_attrs.get(TRANSFER_ATTR)
            if claimed is not None:
                tried.add(tuple(claimed))
            if t.params:
                tried.add(self._key(t.params))
        order = np.argsort(-score, kind="stable")
        return [
            (self._candidates[c], float(score[c]))
            for c in order
            if self._key(self._candidates[c]) not in tried
        ]

    def propose(self, study: Study, trial: FrozenTrial) -> dict[str, Any] | None:
        """The best untried candidate, after those that earlier trials still being set up
        (other workers' trials, numbered lower, without parameters or a proposal yet) are
        about to take: two workers asking at once get different candidates."""
        trials = all_trials(study)
        ranked = self.ranked(study, trials)
        ahead = sum(
            1
            for t in trials
            if t.state == TrialState.RUNNING
            and t.number < trial.number
            and not t.params
            and TRANSFER_ATTR not in t.system_attrs
            and "fixed_params" not in t.system_attrs
            and WARM_ATTR not in t.system_attrs  # a MetaSampler warm start
        )
        return ranked[ahead][0] if ahead < len(ranked) else None

    # -- Optuna hooks: the transfer phase, then the refining sampler --------------------------
    def proposal(self, study: Study, trial: FrozenTrial) -> dict[str, Any] | None:
        # Decided in infer_relative_search_space, the first hook of every trial; a trial that
        # never went through it here (a MetaSampler warm start) has none.
        return self._proposals.get(trial._trial_id)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self.then.before_trial(study, trial)

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        if trial._trial_id not in self._proposals:
            use = (
                trial.number < self.until
                and not study._is_multi_objective()
                and "fixed_params" not in trial.system_attrs  # an enqueued trial
            )
            config = self.propose(study, trial) if use else None
            if config is not None:
                study._storage.set_trial_system_attr(
                    trial._trial_id, TRANSFER_ATTR, list(self._key(config))
                )
            self._proposals[trial._trial_id] = config
        if self._proposals[trial._trial_id] is not None:
            return {}  # the proposal goes parameter by parameter (SpaceSampler)
        return self.then.infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if self.proposal(study, trial) is not None:
            return {}
        return self.then.sample_relative(study, trial, search_space)

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        if self.proposal(study, trial) is not None:
            return super().sample_independent(study, trial, param_name, param_distribution)
        return self.then.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._proposals.pop(trial._trial_id, None)
        self.then.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        super().reseed_rng()
        self.then.reseed_rng()

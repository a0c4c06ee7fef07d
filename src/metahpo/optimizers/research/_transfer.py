"""Ranking-weighted transfer: past tasks re-weighted by how well they rank this task's results.

Live standing: the default until issue 15. In the live ablation of ``benchmarks/LIVE.md``
(8 datasets, budget 30, one seed; mean normalised regret) ``meta-transfer`` reached 0.023 at
10 evaluations and 0.015 at 30, the default (``meta``) 0.024 and 0.015. Replay
(``benchmarks/RESULTS.md``, budget 50): ``meta-transfer`` 0.025 at 10, 0.009 at 25, 0.003 at
50, the lowest of the replay's methods there.

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

For ``n_proposals`` proposals (or until the candidates run out) trials come from this model;
afterwards a refining sampler (multivariate TPE by default) continues from every trial so far,
because the candidates only cover configurations some past task has evaluated.

Each proposal is recorded on its trial (system attribute ``metahpo:transfer``), so a candidate
is proposed once even when the objective asks only some parameters (conditional spaces), fails
before asking them all, asks a narrower range, or when several workers share the study (see
:class:`~metahpo.optimizers.ProposalSampler`). Candidates hold only the parameters the
experience knows: a parameter the study's space adds is sampled by the refining sampler.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState

from metahpo.optimizers._proposal import Proposal, ProposalSampler
from metahpo.optimizers._view import TRANSFER_ATTR, StudyView, plain
from metahpo.spaces import SearchSpace

#: Transfer proposals before the refining sampler takes over (by default 25 trials minus the
#: 5 warm starts of :func:`~metahpo.optimizers.make_meta_sampler`).
N_TRANSFER = 20


class TransferSampler(ProposalSampler):
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
        n_proposals: Transfer proposals (recorded in the study, any worker's) after which
            ``then`` takes over; ``None``: until the candidates run out.
        then: The refining sampler (default: multivariate TPE, seeded with ``seed``).
        seed: Random seed.
    """

    claim_attr = TRANSFER_ATTR

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
        n_proposals: int | None = N_TRANSFER,
        then: BaseSampler | None = None,
        seed: int | None = None,
    ) -> None:
        if not len(X) == len(scores) == len(distances):
            raise ValueError("X, scores and distances need one entry per past task")
        if k < 1 or beta < 0:
            raise ValueError("k must be >= 1 and beta >= 0")
        if then is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                then = optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=2)
        super().__init__(then=then, n_proposals=n_proposals, seed=seed)
        self.space = space
        self.builtin = builtin
        self.k = k
        self.beta = beta
        self._tasks = [
            (np.asarray(x, dtype=float), np.nan_to_num(np.asarray(s, dtype=float), nan=0.0))
            for x, s in zip(X, scores, strict=True)
        ]
        d = np.asarray(distances, dtype=float)
        scale = float(np.median(d)) if len(d) and np.median(d) > 0 else 1.0
        self._log_prior = -d / scale
        # Candidates: every configuration a past task evaluated, transferred into the study's
        # space (only the parameters the experience knows); configurations that coincide
        # there are proposed once. Bundled tasks share one design: decoded once.
        known = [n for n in space.names if n in set(builtin.names)]
        self._candidates: list[dict[str, Any]] = []
        seen: set[tuple[Any, ...]] = set()
        rows: list[np.ndarray] = []
        stacked = [x for x, _ in self._tasks if len(x)]
        distinct = np.unique(np.vstack(stacked), axis=0) if stacked else np.zeros((0, 0))
        for row in distinct:
            full = space.transfer(builtin.decode(row))[0]
            config = {n: plain(full[n]) for n in known}
            key = tuple(config[n] for n in known)
            if key not in seen:
                seen.add(key)
                self._candidates.append(config)
                rows.append(builtin.encode(config))
        self._cand_rows = np.asarray(rows, dtype=float).reshape(len(rows), builtin.encoded_dim)
        self._cand_scores = self._predict(self._cand_rows)  # (tasks, candidates)

    # -- the model ---------------------------------------------------------------------------
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

    def evidence(self, trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
        """Completed trials with a value that set at least one parameter of the space.

        A parameter a trial did not set (a conditional one) counts at the family's default.
        """
        names = set(self.space.names)
        done = [
            t
            for t in trials
            if t.state == TrialState.COMPLETE
            and t.value is not None
            and not np.isnan(t.value)
            and names & set(t.params)
        ]
        return sorted(done, key=lambda t: t.number)

    def weights(self, view: StudyView) -> np.ndarray:
        """The past tasks' weights given the study's completed trials (the heaviest ``k``)."""
        done = self.evidence(view.trials)
        log_w = self._log_prior.copy()
        if len(done) >= 2:
            gains = np.asarray([view.gain(t) for t in done])
            pred = self._predict(np.asarray([self.builtin.encode(t.params) for t in done]))
            i, j = np.triu_indices(len(done), 1)
            # Infinite values are allowed by Optuna: two equal infinities are a tie.
            with np.errstate(invalid="ignore"):
                observed = np.nan_to_num(np.sign(gains[i] - gains[j]), nan=0.0)
            tau = (np.sign(pred[:, i] - pred[:, j]) * observed[None, :]).mean(axis=1)
            log_w = log_w + self.beta * np.sqrt(len(i)) * tau
        keep = np.argsort(-log_w, kind="stable")[: self.k]
        w: np.ndarray = np.zeros_like(log_w)
        w[keep] = np.exp(log_w[keep] - log_w[keep].max())
        return w

    def ranked(self, view: StudyView) -> Iterator[tuple[dict[str, Any], float]]:
        """Candidates with their weighted mean score, best first (evaluated ones included)."""
        if not self._candidates or not self._tasks:
            return
        w = self.weights(view)
        score = w @ self._cand_scores / w.sum()
        for c in np.argsort(-score, kind="stable"):
            yield self._candidates[c], float(score[c])

    def propose(self, view: StudyView) -> Proposal:
        """The candidates best first: the base takes the best one no trial has evaluated or
        claimed, after those that other workers' earlier trials are about to take."""
        if not self._candidates or not self._tasks:
            return None
        return (config for config, _ in self.ranked(view))

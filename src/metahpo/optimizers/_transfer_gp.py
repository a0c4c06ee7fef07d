"""Continuous transfer Bayesian optimisation: the ``transfer-gp`` base.

Past tasks' knowledge inside the refinement itself, over the continuous search space: a
:class:`~metahpo.optimizers._rgpe.RankingWeightedEnsemble` of Gaussian processes (one per
similar past task, one on this study's results) proposes each trial by expected improvement.
The warm starts enter as ordinary results; how much the past tasks count follows how well they
rank this study's results, so the handover from the prior to the data has no trial number in
it, and the refinement is not restricted to configurations some past task evaluated.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from optuna.samplers import BaseSampler

from metahpo.optimizers._proposal import Proposal, ProposalSampler
from metahpo.optimizers._rgpe import RankingWeightedEnsemble
from metahpo.optimizers._view import StudyView, plain
from metahpo.spaces import SearchSpace


class TransferGPSampler(ProposalSampler):
    """Propose by expected improvement under a ranking-weighted GP ensemble (RGPE).

    Args:
        space: The study's search space (parameter names as the objective asks them).
        builtin: The family's built-in space, in whose encoding ``X`` is given.
        X: Per past task, its evaluated configurations encoded in ``builtin``.
        scores: Per past task, the scores of those configurations (larger is better).
        distances: Per past task, its meta-feature distance to the new task.
        k: The most similar past tasks that get a model.
        n_ranked: Candidates proposed best first (several workers take the next ones).
        latent: See :class:`~metahpo.optimizers._rgpe.RankingWeightedEnsemble`.
        then: Sampler of the parameters the experience does not know (default: random).
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
        k: int = 10,
        n_ranked: int = 4,
        latent: bool = True,
        then: BaseSampler | None = None,
        seed: int | None = None,
    ) -> None:
        if not len(X) == len(scores) == len(distances):
            raise ValueError("X, scores and distances need one entry per past task")
        super().__init__(then=then, n_proposals=None, seed=seed)
        self.space = space
        self.builtin = builtin
        self.n_ranked = n_ranked
        d = np.asarray(distances, dtype=float)
        order = np.argsort(d, kind="stable")[:k]
        scale = float(np.median(d[order])) if len(order) and np.median(d[order]) > 0 else 1.0
        tasks = [
            (
                np.asarray(X[i], dtype=float),
                np.asarray(scores[i], dtype=float),
                np.exp(-d[i] / scale),
            )
            for i in order
        ]
        self.model = RankingWeightedEnsemble(builtin, tasks, latent=latent, seed=seed)
        self._known = [n for n in space.names if n in set(builtin.names)]

    def propose(self, view: StudyView) -> Proposal:
        if not self._known:
            return None
        done = [t for t in view.completed_with(self._known) if np.isfinite(view.gain(t))]
        X = np.asarray([self.builtin.encode(t.params) for t in done], dtype=float)
        y = np.asarray([view.gain(t) for t in done], dtype=float)
        X = X.reshape(len(y), self.builtin.encoded_dim)
        ranked = self.model.rank(X, y, self.n_ranked)
        out = []
        for row in ranked:
            full = self.space.transfer(self.builtin.decode(row))[0]
            out.append({n: plain(full[n]) for n in self._known})
        return out

    def reseed_rng(self) -> None:
        super().reseed_rng()
        self.model.rng = np.random.default_rng(self.rng.randint(2**31))

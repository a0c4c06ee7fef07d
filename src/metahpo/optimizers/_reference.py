"""The reference proposer: the whole :class:`ProposalSampler` contract in a few lines."""

from __future__ import annotations

from typing import Any

from metahpo.optimizers._proposal import ProposalSampler
from metahpo.optimizers._view import StudyView
from metahpo.spaces import SearchSpace


class RandomProposer(ProposalSampler):
    """Proposes uniformly random configurations of ``space`` (its unit cube).

    It is the smallest complete proposal sampler, and the template for new ones: write
    :meth:`propose`, read the study only through ``view``, draw randomness from ``self.rng``.
    Everything else (the parameters the objective asks with other ranges or names, several
    workers, repeats, reseeding, multi-objective studies) the base handles.

    Example:
        >>> import optuna
        >>> from metahpo.spaces import get_space
        >>> sampler = RandomProposer(get_space("knn", "classification"), seed=0)
        >>> study = optuna.create_study(sampler=sampler)
        >>> study.optimize(lambda t: t.suggest_int("n_neighbors", 1, 50), n_trials=3)

    Args:
        space: The search space (its parameter names are the study's).
        best_first: Propose, instead of one draw, this many draws ranked by distance to the
            best trial so far (shows the ranked form of a proposal).
        kwargs: Passed to :class:`ProposalSampler` (``then``, ``n_proposals``, ``seed``).
    """

    def __init__(self, space: SearchSpace, *, best_first: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.space = space
        self.best_first = best_first

    def propose(self, view: StudyView) -> Any:
        if self.best_first < 1:
            return self.space.from_unit(self.rng.rand(self.space.dim))
        draws = self.rng.rand(self.best_first, self.space.dim)
        done = view.completed_with(self.space.names)
        if done:
            best = max(done, key=view.gain)
            at = self.space.to_unit(best.params)
            draws = draws[((draws - at) ** 2).sum(axis=1).argsort()]
        return [self.space.from_unit(u) for u in draws]

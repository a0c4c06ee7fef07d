"""A search policy learned by Q-learning on the experience: which move to make next.

Live standing: not measured live. Replay (``benchmarks/RESULTS.md``, 136 datasets, budget 50,
5 seeds; mean normalised regret over stored configurations): ``meta-rl`` 0.032 at 10
evaluations, 0.015 at 25, 0.007 at 50, against ``meta-transfer`` 0.025, 0.009, 0.003 and
``meta-tpe`` 0.034, 0.013, 0.006.

Hyperparameter search mixes a few kinds of moves: take the next configuration the
meta-learner recommends, refine the best configuration found so far, recombine good ones, or
explore at random. Which pays off depends on how far the search is and whether it is still
improving; :class:`QPolicy` learns that by tabular Q-learning on replayed searches over the
stored tasks (each move "evaluates" the nearest not-yet-used stored configuration), and
:class:`PolicySampler` follows the learned policy in a real Optuna study.

States: the search stage (fewer than 10 evaluations, fewer than 25, more), whether the last
evaluation improved the best, and evaluations since the last improvement (0, 1–3, more): 18
states. Reward: the gain in the best normalised score of the task.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from metahpo.optimizers._proposal import Proposal, ProposalSampler
from metahpo.optimizers._unit import categorical_mask, mutate
from metahpo.optimizers._view import StudyView
from metahpo.spaces import SearchSpace

#: The moves, in Q-table column order.
ACTIONS = ("meta", "local", "crossover", "random")
N_STATES = 18
FORMAT = "metahpo-q-policy"
VERSION = 1


def state(n_done: int, improved_last: bool, stall: int) -> int:
    """The state index of a search after ``n_done`` evaluations."""
    stage = 0 if n_done < 10 else (1 if n_done < 25 else 2)
    s = 0 if stall == 0 else (1 if stall <= 3 else 2)
    return (stage * 2 + int(improved_last)) * 3 + s


class _Moves:
    """The moves on a space's unit cube (one coordinate per parameter)."""

    def __init__(self, space: SearchSpace, rng: np.random.RandomState) -> None:
        self.space = space
        self.rng = rng
        self.categorical = categorical_mask(space)

    def unit(self, config: Mapping[str, Any]) -> np.ndarray:
        return self.space.to_unit(config)

    def _mutate(self, u: np.ndarray, width: float) -> np.ndarray:
        return mutate(self.rng, u, self.categorical, rate=1.5 / len(u), width=width)

    def local(self, best: np.ndarray) -> np.ndarray:
        return self._mutate(best, 0.05)

    def crossover(self, top: Sequence[np.ndarray]) -> np.ndarray:
        a, b = (top[i] for i in self.rng.choice(len(top), size=2, replace=len(top) < 2))
        child = np.where(self.rng.rand(len(a)) < 0.5, a, b)
        return self._mutate(child, 0.02)

    def random(self) -> np.ndarray:
        return self.rng.rand(len(self.space.params))


class QPolicy:
    """A Q-table over (search state, move), learned on replayed searches.

    Args:
        q: Array of shape ``(18, 4)`` (see :data:`ACTIONS`).
    """

    def __init__(self, q: np.ndarray | None = None) -> None:
        self.q = np.zeros((N_STATES, len(ACTIONS))) if q is None else np.asarray(q, dtype=float)

    def act(self, s: int) -> int:
        return int(np.argmax(self.q[s]))

    def describe(self) -> dict[str, str]:
        """The greedy move of every visited state (for reports and tests)."""
        return {str(s): ACTIONS[self.act(s)] for s in range(N_STATES) if self.q[s].any()}

    @classmethod
    def fit(
        cls,
        experience: Any,
        space: SearchSpace,
        *,
        episodes: int = 3,
        horizon: int = 40,
        neighbors: int = 5,
        alpha: float = 0.1,
        gamma: float = 0.9,
        epsilon: float = 0.3,
        seed: int = 0,
    ) -> QPolicy:
        """Learn from the tasks of one family and task type (an ``Experience``).

        For each training task, the ``meta`` move proposes that task's configurations in the
        order predicted from its ``neighbors`` nearest *other* tasks (their normalised score at
        the closest configuration), as a meta-learner would for a new task.
        """
        from metahpo.metalearners import TaskSpace, normalized_scores

        tasks = [t for t in experience.tasks if t.n >= 2]
        if len(tasks) < 2:
            return cls()
        rng = np.random.RandomState(seed)
        moves = _Moves(space, rng)
        pools = [space.units_of_encoded(t.X) for t in tasks]
        scores = [normalized_scores(t) for t in tasks]
        ts = TaskSpace.fit(np.vstack([t.metafeatures for t in tasks]))
        orders = []
        for i, t in enumerate(tasks):
            d = ts.distances(t.metafeatures)
            d[i] = np.inf
            near = np.argsort(d, kind="stable")[:neighbors]
            pred = np.zeros(len(pools[i]))
            for j in near:
                nearest = ((pools[i][:, None, :] - pools[j][None, :, :]) ** 2).sum(-1).argmin(1)
                pred += scores[j][nearest]
            orders.append(np.argsort(-pred, kind="stable"))
        policy = cls()
        for episode in range(episodes):
            eps = epsilon * (1.0 - episode / max(episodes, 1))
            for i in rng.permutation(len(tasks)):
                policy._episode(pools[i], scores[i], orders[i], moves, horizon, eps, alpha, gamma)
        return policy

    def _episode(
        self,
        pool: np.ndarray,
        score: np.ndarray,
        order: np.ndarray,
        moves: _Moves,
        horizon: int,
        eps: float,
        alpha: float,
        gamma: float,
    ) -> None:
        used: list[int] = []
        taken = np.zeros(len(pool), dtype=bool)
        best, improved, stall = 0.0, False, 0
        for n in range(min(horizon, len(pool))):
            s = state(n, improved, stall)
            a = moves.rng.randint(len(ACTIONS)) if moves.rng.rand() < eps else self.act(s)
            free = np.flatnonzero(~taken)
            if ACTIONS[a] == "meta":
                pick = int(order[np.flatnonzero(~taken[order])[0]])
            elif not used:
                pick = int(moves.rng.choice(free))
            else:
                ranked = sorted(used, key=lambda r: -score[r])
                if ACTIONS[a] == "local":
                    target = moves.local(pool[ranked[0]])
                elif ACTIONS[a] == "crossover":
                    target = moves.crossover([pool[r] for r in ranked[:5]])
                else:
                    target = moves.random()
                pick = int(free[((pool[free] - target) ** 2).sum(1).argmin()])
            used.append(pick)
            taken[pick] = True
            reward = max(0.0, float(score[pick]) - best)
            improved = reward > 0
            best = max(best, float(score[pick]))
            stall = 0 if improved else stall + 1
            s2 = state(n + 1, improved, stall)
            self.q[s, a] += alpha * (reward + gamma * self.q[s2].max() - self.q[s, a])

    def to_json(self) -> str:
        return json.dumps(
            {"format": FORMAT, "version": VERSION, "actions": list(ACTIONS), "q": self.q.tolist()}
        )

    @classmethod
    def from_json(cls, text: str) -> QPolicy:
        data = json.loads(text)
        if data.get("format") != FORMAT or int(data.get("version", 0)) > VERSION:
            raise ValueError("not a metahpo Q-policy of a version this metahpo reads")
        return cls(np.asarray(data["q"], dtype=float))


class PolicySampler(ProposalSampler):
    """Follows a :class:`QPolicy` in an Optuna study over ``space``.

    Args:
        space: The search space (the study's parameter names).
        policy: The learned policy.
        ranked: Recommended configurations, best first (the ``meta`` move takes the next one
            not evaluated yet; when none is left it explores at random).
        seed: Random seed.
        kwargs: Passed to :class:`~metahpo.optimizers.ProposalSampler` (``then``,
            ``n_proposals``).
    """

    def __init__(
        self,
        space: SearchSpace,
        policy: QPolicy,
        ranked: Sequence[Mapping[str, Any]] = (),
        *,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(seed=seed, **kwargs)
        self.space = space
        self.policy = policy
        self.ranked = [space.transfer(dict(c))[0] for c in ranked]
        self._moves = _Moves(space, self.rng)
        self.last_move: str | None = None

    def propose(self, view: StudyView) -> Proposal:
        done = view.completed_with(self.space.names)
        best, improved, stall = -np.inf, False, 0
        for t in done:
            v = view.gain(t)
            improved = v > best
            best = max(best, v)
            stall = 0 if improved else stall + 1
        move = ACTIONS[self.policy.act(state(len(done), improved, stall))]
        target: np.ndarray | None = None
        if move == "meta":
            for config in self.ranked:
                u = self._moves.unit(config)
                if view.is_new(self.space.from_unit(u)):
                    target = u
                    break
        elif done:
            ranked = sorted(done, key=lambda t: -view.gain(t))
            if move == "local":
                target = self._moves.local(self._moves.unit(ranked[0].params))
            elif move == "crossover":
                target = self._moves.crossover([self._moves.unit(t.params) for t in ranked[:5]])
        if target is None:
            move, target = "random", self._moves.random()
        self.last_move = move
        return self.space.from_unit(target)

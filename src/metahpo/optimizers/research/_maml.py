"""A meta-trained performance surrogate (first-order MAML, Reptile) and a sampler that adapts it.

Live standing: in the live ablation of ``benchmarks/LIVE.md`` (8 datasets, budget 30, one seed;
mean normalised regret) ``meta-maml`` reached 0.026 at 10 evaluations and 0.012 at 30, the
default (``meta``) 0.024 and 0.015, Optuna's GPSampler after the same warm starts
(``meta-gpsampler``) 0.030 and 0.012; not in the replay benchmark (``benchmarks/RESULTS.md``).

:class:`MetaTrainedSurrogate` learns an *initialisation* of a small neural network
``configuration -> normalised score`` such that a few gradient steps on a handful of a task's
evaluations fit that task well: Reptile (Nichol et al., 2018), the first-order form of MAML
(Finn et al., 2017), over the tasks of the experience. :class:`MAMLSampler` adapts it to the
evaluations of the running study at every trial and proposes the best-predicted of a fresh set
of random and local candidates. Needs the torch extra.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from metahpo.metalearners import one_thread, require_torch
from metahpo.optimizers._proposal import Proposal, ProposalSampler
from metahpo.optimizers._unit import configs_around
from metahpo.optimizers._view import StudyView
from metahpo.optimizers.research._reptile import meta_train
from metahpo.spaces import SearchSpace


def _scale(values: np.ndarray) -> np.ndarray:
    """Scores to ``[0, 1]``: 1 the best, 0 the 10th percentile or worse (as the experience)."""
    v = np.asarray(values, dtype=float)
    hi, lo = float(v.max()), float(np.percentile(v, 10))
    if hi <= lo:
        return np.ones_like(v)
    return np.asarray(np.clip((v - lo) / (hi - lo), 0.0, 1.0), dtype=float)


class MetaTrainedSurrogate:
    """An MLP surrogate meta-trained with Reptile so that it adapts to a task in a few steps.

    Args:
        hidden: Width of the two hidden layers.
        meta_iterations: Reptile outer steps (one task each).
        inner_steps, inner_lr: Adam steps and learning rate of the adaptation to one task.
        meta_lr: Reptile step towards the adapted weights.
        batch: Evaluations per inner step.
        seed: Random seed.
    """

    def __init__(
        self,
        hidden: int = 32,
        *,
        meta_iterations: int = 400,
        inner_steps: int = 8,
        inner_lr: float = 0.01,
        meta_lr: float = 0.5,
        batch: int = 16,
        seed: int = 0,
    ) -> None:
        self.hidden = hidden
        self.meta_iterations = meta_iterations
        self.inner_steps = inner_steps
        self.inner_lr = inner_lr
        self.meta_lr = meta_lr
        self.batch = batch
        self.seed = seed
        self.net_: Any = None

    def _net(self, torch: Any, d: int) -> Any:
        return torch.nn.Sequential(
            torch.nn.Linear(d, self.hidden),
            torch.nn.Tanh(),
            torch.nn.Linear(self.hidden, self.hidden),
            torch.nn.Tanh(),
            torch.nn.Linear(self.hidden, 1),
        )

    def _steps(self, torch: Any, net: Any, X: Any, y: Any, steps: int, rng: Any) -> None:
        opt = torch.optim.Adam(net.parameters(), lr=self.inner_lr)
        for _ in range(steps):
            idx = rng.choice(len(y), size=min(self.batch, len(y)), replace=False)
            opt.zero_grad()
            loss = ((net(X[idx]).squeeze(-1) - y[idx]) ** 2).mean()
            loss.backward()
            opt.step()

    @one_thread
    def fit(self, experience: Any | None, space: SearchSpace) -> MetaTrainedSurrogate:
        """Meta-train on the tasks of one family and task type (encoded in ``space``).

        ``experience`` is an :class:`~metahpo.knowledge.Experience` (or anything with
        ``tasks``); ``None`` leaves the network at its random initialisation.
        """
        from metahpo.metalearners import normalized_scores

        torch = require_torch()
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        tasks = [
            (
                torch.tensor(t.X, dtype=torch.float32),
                torch.tensor(normalized_scores(t), dtype=torch.float32),
            )
            for t in (experience.tasks if experience is not None else ())
            if t.n >= 2
        ]
        self.space_ = space
        self.net_ = self._net(torch, space.encoded_dim)
        if not tasks:
            return self
        net = self.net_

        def steps(X: Any, y: Any) -> None:
            self._steps(torch, net, X, y, self.inner_steps, rng)

        meta_train(torch, net, tasks, self.meta_iterations, rng, steps, meta_lr=self.meta_lr)
        return self

    @one_thread
    def adapt(self, X: np.ndarray, y: np.ndarray, steps: int = 30) -> Any:
        """A copy of the meta-trained network fitted to one task's ``(X, y)``; returns a
        function from encoded configurations to predicted normalised scores."""
        import copy

        torch = require_torch()
        net = copy.deepcopy(self.net_)
        Xt = torch.tensor(np.asarray(X), dtype=torch.float32)
        yt = torch.tensor(np.asarray(y), dtype=torch.float32)
        self._steps(torch, net, Xt, yt, steps, np.random.default_rng(self.seed))

        @one_thread
        def predict(candidates: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                out = net(torch.tensor(np.asarray(candidates), dtype=torch.float32))
            return np.asarray(out.squeeze(-1).numpy(), dtype=float)

        return predict

    @one_thread
    def predict(self, candidates: np.ndarray) -> np.ndarray:
        """Predictions of the meta-trained initialisation itself (no adaptation)."""
        torch = require_torch()
        with torch.no_grad():
            out = self.net_(torch.tensor(np.asarray(candidates), dtype=torch.float32))
        return np.asarray(out.squeeze(-1).numpy(), dtype=float)


class MAMLSampler(ProposalSampler):
    """Proposes the configuration that the adapted meta-trained surrogate rates best.

    At every trial the surrogate is adapted to the study's completed trials (scores scaled to
    ``[0, 1]`` as in the experience), then ``n_candidates`` random configurations and as many
    perturbations of the best ones are scored and the best is returned. With fewer than two
    completed trials, the meta-trained initialisation alone ranks the candidates.

    Args:
        space: The study's search space.
        surrogate: A fitted :class:`MetaTrainedSurrogate` (its ``space_`` encodes candidates).
        n_candidates: Random candidates per trial.
        seed: Random seed.
        kwargs: Passed to :class:`~metahpo.optimizers.ProposalSampler` (``then``,
            ``n_proposals``).
    """

    def __init__(
        self,
        space: SearchSpace,
        surrogate: MetaTrainedSurrogate,
        *,
        n_candidates: int = 256,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(seed=seed, **kwargs)
        self.space = space
        self.surrogate = surrogate
        self.n_candidates = n_candidates

    def propose(self, view: StudyView) -> Proposal:
        if self.surrogate.net_ is None:
            return None
        done = view.completed_with(self.space.names)
        best = [t.params for t in sorted(done, key=lambda t: -view.gain(t))[:4]]
        n = self.n_candidates
        configs = configs_around(self.rng, self.space, best, n, (0.05,), n // 4)
        builtin: SearchSpace = self.surrogate.space_
        X = np.vstack([builtin.encode(c) for c in configs])
        if len(done) >= 2:
            Xd = np.vstack([builtin.encode(t.params) for t in done])
            yd = _scale(np.array([view.gain(t) for t in done]))
            scores = self.surrogate.adapt(Xd, yd)(X)
        else:
            scores = self.surrogate.predict(X)
        # Best first: a repeat of an evaluated configuration gives way to the next best.
        return [configs[i] for i in np.argsort(-np.asarray(scores), kind="stable")]

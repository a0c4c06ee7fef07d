"""Neural meta-learners (the ``metahpo[torch]`` extra).

* :class:`NeuralMapping`: a PyTorch network from meta-features to ``heads`` configurations at
  once, trained with a winner-takes-all loss so that the heads specialise into a small,
  diverse portfolio of good configurations for the task at hand.
* :class:`TaskAutoencoder`: a small autoencoder over scaled meta-features whose latent code can
  replace the raw meta-features when measuring task similarity (:class:`EmbeddedNearest`).

Both learners save like every meta-learner (:meth:`~metahpo.metalearners.MetaLearner.save`): the
network weights are plain float arrays in ``arrays.npz`` next to ``meta.json``, read back
without pickle (for :class:`EmbeddedNearest`, the autoencoder's encoder: the decoder only
serves its training).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from metahpo.errors import MetaHPOError
from metahpo.knowledge import Experience
from metahpo.metalearners._learner import MetaLearner, TaskSpace
from metahpo.metalearners._pool import ScoreTable, normalized_scores
from metahpo.metalearners._simple import NearestTasks

_F = TypeVar("_F", bound=Callable[..., Any])


def require_torch() -> Any:
    """The ``torch`` module; without PyTorch, an error that names the extra to install."""
    try:
        import torch
    except ImportError:
        raise MetaHPOError(
            "this meta-learner needs PyTorch: pip install 'metahpo[torch]'"
        ) from None
    return torch


_THREADS_LOCK = threading.Lock()
_THREADS_DEPTH = 0
_THREADS_BEFORE = 0


def one_thread(fn: _F) -> _F:
    """Run ``fn`` with torch limited to one intra-op thread, then restore the setting.

    Meta-level networks are tiny (tens of tasks, a few hundred weights): on two busy cores a
    second thread made the autoencoder's fit 5x slower (7.6 s against 1.4 s). The setting is
    process-wide, so nested and concurrent calls share it: the first one in saves the user's
    setting and the last one out restores it.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        global _THREADS_DEPTH, _THREADS_BEFORE
        torch = require_torch()
        with _THREADS_LOCK:
            if _THREADS_DEPTH == 0:
                _THREADS_BEFORE = torch.get_num_threads()
                torch.set_num_threads(1)
            _THREADS_DEPTH += 1
        try:
            return fn(*args, **kwargs)
        finally:
            with _THREADS_LOCK:
                _THREADS_DEPTH -= 1
                if _THREADS_DEPTH == 0:
                    torch.set_num_threads(_THREADS_BEFORE)

    return wrapper  # type: ignore[return-value]


def _mlp(torch: Any, d_in: int, d_out: int, hidden: int, depth: int = 2) -> Any:
    layers: list[Any] = []
    d = d_in
    for _ in range(depth):
        layers += [torch.nn.Linear(d, hidden), torch.nn.GELU()]
        d = hidden
    layers.append(torch.nn.Linear(d, d_out))
    return torch.nn.Sequential(*layers)


class NeuralMapping(MetaLearner):
    """Meta-features -> ``heads`` configurations, a PyTorch network.

    Each training task contributes a soft target: its configurations weighted by
    ``softmax(normalised score / temperature)``. Each head outputs a point of the unit cube;
    the loss of a task is the weighted squared distance of its *closest* head to the target
    configurations (winner takes all) plus a small share of every head's loss, so no head dies.
    Suggestions are the heads' outputs, decoded, ordered by the neighbour-weighted score of the
    nearest known configuration (which is also their predicted score); beyond the distinct
    heads, the known configurations follow in the order of that score.

    Args:
        heads: Configurations produced per task.
        hidden: Width of the two hidden layers.
        epochs: Full-batch Adam steps.
        temperature: Softmax temperature over normalised scores.
        seed: Torch seed (training is deterministic on the CPU).
    """

    name = "neural"

    def __init__(
        self,
        heads: int = 5,
        hidden: int = 64,
        epochs: int = 600,
        temperature: float = 0.05,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.heads = heads
        self.hidden = hidden
        self.epochs = epochs
        self.temperature = temperature
        self.seed = seed

    @one_thread
    def _fit(self, experience: Experience) -> None:
        torch = require_torch()
        assert self.space_ is not None and self.task_space_ is not None
        torch.manual_seed(self.seed)
        d = self.space_.encoded_dim
        self.net_ = _mlp(torch, self.task_space_.train.shape[1], self.heads * d, self.hidden)
        inputs = torch.tensor(self.task_space_.train, dtype=torch.float32)
        # Tasks padded to the longest one; padding rows get zero weight.
        n_max = max(t.n for t in experience.tasks)
        X = np.zeros((len(experience.tasks), n_max, d))
        W = np.zeros((len(experience.tasks), n_max))
        for i, t in enumerate(experience.tasks):
            s = normalized_scores(t)
            w = np.exp((s - s.max()) / self.temperature)
            X[i, : t.n] = t.X
            W[i, : t.n] = w / w.sum()
        targets = torch.tensor(X, dtype=torch.float32)
        weights = torch.tensor(W, dtype=torch.float32)
        opt = torch.optim.Adam(self.net_.parameters(), lr=3e-3, weight_decay=1e-4)
        for _ in range(self.epochs):
            opt.zero_grad()
            out = torch.sigmoid(self.net_(inputs)).view(len(X), self.heads, d)
            sq = ((out[:, :, None, :] - targets[:, None, :, :]) ** 2).sum(-1)  # (T, H, N)
            per_head = (sq * weights[:, None, :]).sum(-1)  # (T, H)
            loss = (per_head.min(dim=1).values + 0.05 * per_head.mean(dim=1)).mean()
            loss.backward()
            opt.step()
        self.table_ = ScoreTable.build(experience, self.space_)

    @one_thread
    def _heads(self, metafeatures: np.ndarray) -> np.ndarray:
        torch = require_torch()
        assert self.space_ is not None and self.task_space_ is not None
        x = torch.tensor(self.task_space_.transform(metafeatures), dtype=torch.float32)
        with torch.no_grad():
            out = torch.sigmoid(self.net_(x)).view(self.heads, self.space_.encoded_dim)
        return np.asarray(out.numpy(), dtype=float)

    def _suggest(
        self, metafeatures: np.ndarray, distances: np.ndarray, k: int
    ) -> list[tuple[dict[str, Any], float]]:
        assert self.space_ is not None and self.task_space_ is not None
        heads = self._heads(metafeatures)
        predicted = np.nan_to_num(
            self.table_.weighted_mean(self.task_space_.weights(distances)), nan=-np.inf
        )
        scored = []
        for h in heads:
            c = int(np.argmin(((self.table_.X - h) ** 2).sum(1)))
            scored.append((self.space_.decode(h), float(predicted[c])))
        scored.sort(key=lambda pair: -pair[1])
        # Heads that decode to the same configuration count once; past ``heads`` (or when
        # heads coincide), the known configurations follow by predicted score.
        ranked = np.argsort(-predicted, kind="stable")
        scored += [(self.table_.config(int(c)), float(predicted[c])) for c in ranked]
        out, seen = [], set()
        for config, score in scored:
            key = repr(sorted(config.items()))
            if key not in seen:
                seen.add(key)
                out.append((config, score if np.isfinite(score) else 0.0))
            if len(out) == k:
                break
        return out

    def _state(self) -> dict[str, np.ndarray]:
        return _weights_to_arrays(self.net_, "net")

    def _restore(self, state: dict[str, np.ndarray], extra: dict[str, Any]) -> None:
        torch = require_torch()
        assert self.space_ is not None and self.task_space_ is not None
        assert self.experience_ is not None
        d = self.space_.encoded_dim
        self.net_ = _mlp(torch, self.task_space_.train.shape[1], self.heads * d, self.hidden)
        _load_arrays(torch, self.net_, state, "net")
        self.table_ = ScoreTable.build(self.experience_, self.space_)


def _weights_to_arrays(module: Any, prefix: str) -> dict[str, np.ndarray]:
    """A network's weights as plain float arrays (saved in ``arrays.npz``, no pickle)."""
    return {
        f"{prefix}__{k}": v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()
    }


def _load_arrays(torch: Any, module: Any, state: dict[str, np.ndarray], prefix: str) -> None:
    head = f"{prefix}__"
    weights = {k[len(head) :]: torch.from_numpy(v) for k, v in state.items() if k.startswith(head)}
    module.load_state_dict(weights)


class TaskAutoencoder:
    """An autoencoder over scaled meta-features: ``d -> latent -> d``.

    Args:
        latent: Size of the code.
        epochs: Full-batch Adam steps.
        seed: Torch seed.
    """

    def __init__(self, latent: int = 8, epochs: int = 1500, seed: int = 0) -> None:
        self.latent = latent
        self.epochs = epochs
        self.seed = seed

    @one_thread
    def fit(self, scaled: np.ndarray) -> TaskAutoencoder:
        torch = require_torch()
        torch.manual_seed(self.seed)
        d = scaled.shape[1]
        self.encoder_ = _mlp(torch, d, self.latent, 32, depth=1)
        self.decoder_ = _mlp(torch, self.latent, d, 32, depth=1)
        x = torch.tensor(scaled, dtype=torch.float32)
        params = list(self.encoder_.parameters()) + list(self.decoder_.parameters())
        opt = torch.optim.Adam(params, lr=3e-3, weight_decay=1e-4)
        for _ in range(self.epochs):
            opt.zero_grad()
            loss = ((self.decoder_(self.encoder_(x)) - x) ** 2).mean()
            loss.backward()
            opt.step()
        self.reconstruction_error_ = float(loss.detach())
        return self

    @one_thread
    def transform(self, scaled: np.ndarray) -> np.ndarray:
        torch = require_torch()
        with torch.no_grad():
            z = self.encoder_(torch.tensor(np.atleast_2d(scaled), dtype=torch.float32))
        return np.asarray(z.numpy(), dtype=float)


class EmbeddedNearest(NearestTasks):
    """:class:`NearestTasks` whose neighbours are ranked in a :class:`TaskAutoencoder`'s latent
    space instead of the scaled meta-feature space.

    Only the choice and weighting of neighbours change. Confidence, the out-of-distribution
    guard and the explanation (nearest past tasks) stay in the scaled meta-feature space, as
    for every other strategy, so that the guard of :class:`~metahpo.optimizers.MetaSampler`
    means the same thing whichever strategy is used.

    Args:
        n_tasks: How many nearest tasks contribute.
        latent: Size of the autoencoder's code.
        seed: Torch seed.
    """

    name = "nearest-ae"

    def __init__(self, n_tasks: int = 10, latent: int = 8, seed: int = 0) -> None:
        super().__init__(n_tasks)
        self.latent = latent
        self.seed = seed

    def _fit(self, experience: Experience) -> None:
        super()._fit(experience)
        assert self.task_space_ is not None
        self.autoencoder_ = TaskAutoencoder(self.latent, seed=self.seed).fit(self.task_space_.train)
        self.latent_space_ = TaskSpace.fit(self.autoencoder_.transform(self.task_space_.train))

    def _latent_distances(self, metafeatures: np.ndarray) -> np.ndarray:
        assert self.task_space_ is not None
        code = self.autoencoder_.transform(self.task_space_.transform(metafeatures))
        return self.latent_space_.distances(code[0])

    def _neighbour_weights(self, distances: np.ndarray, n_tasks: int | None) -> np.ndarray:
        # ``distances`` are latent ones here (see _suggest): weigh them on the latent scale.
        order = np.argsort(distances, kind="stable")[: n_tasks or len(distances)]
        weights = np.zeros(len(distances))
        weights[order] = self.latent_space_.weights(distances)[order]
        return weights

    def _suggest(
        self, metafeatures: np.ndarray, distances: np.ndarray, k: int
    ) -> list[tuple[dict[str, Any], float]]:
        return super()._suggest(metafeatures, self._latent_distances(metafeatures), k)

    def _state(self) -> dict[str, np.ndarray]:
        state = super()._state()
        state.update(_weights_to_arrays(self.autoencoder_.encoder_, "encoder"))
        state.update({f"latent__{k}": v for k, v in self.latent_space_.to_arrays().items()})
        return state

    def _restore(self, state: dict[str, np.ndarray], extra: dict[str, Any]) -> None:
        super()._restore(state, extra)
        torch = require_torch()
        assert self.task_space_ is not None
        self.autoencoder_ = TaskAutoencoder(self.latent, seed=self.seed)
        self.autoencoder_.encoder_ = _mlp(
            torch, self.task_space_.train.shape[1], self.latent, 32, 1
        )
        _load_arrays(torch, self.autoencoder_.encoder_, state, "encoder")
        self.latent_space_ = TaskSpace.from_arrays(
            {k[len("latent__") :]: v for k, v in state.items() if k.startswith("latent__")}
        )

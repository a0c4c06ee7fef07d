"""Neural meta-learners (the ``metahpo[torch]`` extra).

* :class:`NeuralMapping`: a PyTorch network from meta-features to ``heads`` configurations at
  once, trained with a winner-takes-all loss so that the heads specialise into a small,
  diverse portfolio of good configurations for the task at hand.
* :class:`TaskAutoencoder`: a small autoencoder over scaled meta-features whose latent code can
  replace the raw meta-features when measuring task similarity (:class:`EmbeddedNearest`).

Weights are saved with ``safetensors`` (no pickle); see :meth:`NeuralMapping.save`.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from metahpo.errors import MetaHPOError
from metahpo.knowledge import Experience
from metahpo.metalearners._base import MetaLearner, TaskSpace
from metahpo.metalearners._pool import ScoreTable, normalized_scores
from metahpo.metalearners._simple import NearestTasks

ARTIFACT_VERSION = 1


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise MetaHPOError(
            "this meta-learner needs PyTorch: pip install 'metahpo[torch]'"
        ) from None
    return torch


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
    nearest known configuration (which is also their predicted score).

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

    def _fit(self, experience: Experience) -> None:
        torch = _torch()
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

    def _heads(self, metafeatures: np.ndarray) -> np.ndarray:
        torch = _torch()
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
        predicted = self.table_.weighted_mean(self.task_space_.weights(distances))
        scored = []
        for h in heads:
            c = int(np.argmin(((self.table_.X - h) ** 2).sum(1)))
            scored.append((self.space_.decode(h), float(np.nan_to_num(predicted[c]))))
        scored.sort(key=lambda pair: -pair[1])
        out, seen = [], set()
        for config, score in scored:
            key = repr(sorted(config.items()))
            if key not in seen:
                seen.add(key)
                out.append((config, score))
        return out[:k]

    def save(self, folder: str | Path) -> Path:
        """``meta.json`` (settings, scaler) + ``weights.safetensors`` (network)."""
        from safetensors.torch import save_file

        assert self.space_ is not None and self.task_space_ is not None
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        save_file(
            {k: v.contiguous() for k, v in self.net_.state_dict().items()},
            str(path / "weights.safetensors"),
        )
        meta = {
            "artifact": "metahpo.NeuralMapping",
            "version": ARTIFACT_VERSION,
            "family": self.space_.family,
            "task": self.space_.task,
            "space_signature": self.space_.signature,
            "settings": {"heads": self.heads, "hidden": self.hidden, "seed": self.seed},
            "center": self.task_space_.center.tolist(),
            "scale": self.task_space_.scale.tolist(),
        }
        (path / "meta.json").write_text(json.dumps(meta))
        return path

    def load_weights(self, folder: str | Path) -> None:
        """Replace the fitted network by saved weights (same settings and space required)."""
        from safetensors.torch import load_file

        meta = json.loads((Path(folder) / "meta.json").read_text())
        assert self.space_ is not None
        if meta.get("space_signature") != self.space_.signature:
            raise MetaHPOError("saved weights belong to another search space")
        self.net_.load_state_dict(load_file(str(Path(folder) / "weights.safetensors")))


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

    def fit(self, scaled: np.ndarray) -> TaskAutoencoder:
        torch = _torch()
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

    def transform(self, scaled: np.ndarray) -> np.ndarray:
        torch = _torch()
        with torch.no_grad():
            z = self.encoder_(torch.tensor(np.atleast_2d(scaled), dtype=torch.float32))
        return np.asarray(z.numpy(), dtype=float)


class EmbeddedNearest(NearestTasks):
    """:class:`NearestTasks` measuring similarity in a :class:`TaskAutoencoder`'s latent space."""

    name = "nearest-ae"

    def __init__(self, n_tasks: int = 10, latent: int = 8, seed: int = 0) -> None:
        super().__init__(n_tasks)
        self.latent = latent
        self.seed = seed

    def fit(self, experience: Experience) -> EmbeddedNearest:
        self.raw_experience_ = experience
        raw = TaskSpace.fit(experience.metafeature_matrix())
        self.raw_space_ = raw
        self.autoencoder_ = TaskAutoencoder(self.latent, seed=self.seed).fit(raw.train)
        codes = self.autoencoder_.transform(raw.train)
        tasks = tuple(replace(t, metafeatures=codes[i]) for i, t in enumerate(experience.tasks))
        names = tuple(f"z{i}" for i in range(self.latent))
        super().fit(Experience(tasks, names, experience.version))
        return self

    def update(self, task: Any) -> EmbeddedNearest:
        tasks = (*(t for t in self.raw_experience_.tasks if t.key != task.key), task)
        return self.fit(replace(self.raw_experience_, tasks=tasks))

    def _embed(self, metafeatures: np.ndarray) -> np.ndarray:
        codes = self.autoencoder_.transform(self.raw_space_.transform(metafeatures))
        return np.asarray(codes[0], dtype=float)

    def suggest(self, metafeatures: np.ndarray, k: int = 5) -> list[Any]:
        return super().suggest(self._embed(np.asarray(metafeatures, dtype=float)), k)

"""The meta-learner contract and what every implementation shares.

A meta-learner is fitted on the experience of one model family and task type, then, for a new
task described only by its meta-features, returns ranked configurations with a predicted score
and a confidence. Call order: ``fit`` once, then any number of ``suggest``; ``update`` adds one
finished run (default: refit on the old experience plus the new task).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from metahpo.errors import KnowledgeBaseError
from metahpo.knowledge import Experience, TaskExperience
from metahpo.spaces import SearchSpace, get_space

#: Meta-features are clipped to this many robust standard deviations after scaling.
CLIP = 5.0


@dataclass(frozen=True)
class Suggestion:
    """One suggested configuration.

    Attributes:
        params: The configuration, valid in the family's built-in space.
        predicted_score: Predicted normalised score in ``[0, 1]`` (1 = as good as the best
            configuration known for similar tasks, 0 = as bad as the worst).
        confidence: ``[0, 1]``; low when the new task is far from every training task.
        neighbors: ``(dataset, similarity)`` of the most similar training tasks: the *why*.
        source: Which meta-learner proposed it (``"default"`` for the library default).
    """

    params: dict[str, Any]
    predicted_score: float
    confidence: float
    neighbors: tuple[tuple[str, float], ...] = ()
    source: str = ""

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "params": self.params,
            "predicted_score": round(float(self.predicted_score), 6),
            "confidence": round(float(self.confidence), 6),
            "neighbors": [{"dataset": d, "similarity": round(s, 6)} for d, s in self.neighbors],
            "source": self.source,
        }


@dataclass(frozen=True)
class TaskSpace:
    """Robust scaling of meta-features and distances between tasks.

    Each meta-feature is centred on the training median and divided by its inter-quartile range
    (or standard deviation when that is zero), then clipped to ``[-CLIP, CLIP]``; distances are
    Euclidean divided by the square root of the dimension. ``typical`` is the median distance
    from a training task to its nearest other training task, the unit in which similarity and
    confidence are expressed.
    """

    center: np.ndarray
    scale: np.ndarray
    train: np.ndarray
    typical: float
    far: float

    @classmethod
    def fit(cls, metafeatures: np.ndarray) -> TaskSpace:
        if metafeatures.shape[0] == 0:
            raise KnowledgeBaseError("no training tasks: the experience is empty for this family")
        center = np.median(metafeatures, axis=0)
        q75, q25 = np.percentile(metafeatures, [75, 25], axis=0)
        scale = q75 - q25
        std = metafeatures.std(axis=0)
        scale = np.where(scale > 1e-12, scale, np.where(std > 1e-12, std, 1.0))
        train = np.clip((metafeatures - center) / scale, -CLIP, CLIP)
        n = train.shape[0]
        if n >= 2:
            d = _pairwise(train, train)
            np.fill_diagonal(d, np.inf)
            nearest = d.min(axis=1)
            typical = float(np.median(nearest))
            far = float(np.percentile(nearest, 95))
        else:
            typical, far = 1.0, 2.0
        typical = max(typical, 1e-6)
        return cls(center, scale, train, typical, max(far, typical * 1.5))

    def transform(self, metafeatures: np.ndarray) -> np.ndarray:
        return np.clip((np.atleast_2d(metafeatures) - self.center) / self.scale, -CLIP, CLIP)

    def distances(self, metafeatures: np.ndarray) -> np.ndarray:
        """Distance from one task to every training task, shape ``(n_train,)``."""
        return _pairwise(self.transform(metafeatures), self.train)[0]

    def similarity(self, distances: np.ndarray) -> np.ndarray:
        """``exp(-d / typical)``: 1 for an identical task, ~0.37 at the typical spacing."""
        return np.exp(-np.asarray(distances) / self.typical)

    def confidence(self, distances: np.ndarray) -> float:
        """1 while the nearest task is within the typical spacing, falling to ~0 beyond ``far``."""
        d = float(np.min(distances))
        if d <= self.typical:
            return 1.0
        return float(np.exp(-3.0 * (d - self.typical) / (self.far - self.typical)))

    def out_of_distribution(self, distances: np.ndarray) -> bool:
        return float(np.min(distances)) > self.far


def _pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(sq, 0.0) / a.shape[1])


def rank_normalized(task: TaskExperience) -> np.ndarray:
    """Per-task percentile rank of each configuration (1 = best, 0 = worst, failed = 0)."""
    g = task.gain()
    ok = np.isfinite(g)
    out = np.zeros(len(g))
    if ok.sum() <= 1:
        out[ok] = 1.0
        return out
    from scipy.stats import rankdata

    out[ok] = (rankdata(g[ok]) - 1) / (ok.sum() - 1)
    return out


class MetaLearner(abc.ABC):
    """Fit on one family's experience; suggest ranked configurations for a new task.

    Subclasses implement :meth:`_fit` and :meth:`_suggest`; this base keeps the experience,
    the task space and the bookkeeping common to all (neighbours, confidence, the default).
    """

    name: str = "base"

    def __init__(self) -> None:
        self.experience_: Experience | None = None
        self.task_space_: TaskSpace | None = None
        self.space_: SearchSpace | None = None

    # -- contract ----------------------------------------------------------------------------
    def fit(self, experience: Experience) -> MetaLearner:
        """Fit on experience of exactly one family and task type."""
        families = {(t.family, t.task) for t in experience.tasks}
        if len(families) != 1:
            raise KnowledgeBaseError(
                f"{type(self).__name__}.fit needs the experience of one family and task type, "
                f"got {sorted(families) or 'none'}; use experience.select(family, task)"
            )
        family, task = families.pop()
        self.experience_ = experience
        self.space_ = get_space(family, task)
        self.task_space_ = TaskSpace.fit(experience.metafeature_matrix())
        self._fit(experience)
        return self

    def suggest(self, metafeatures: np.ndarray, k: int = 5) -> list[Suggestion]:
        """Up to ``k`` distinct configurations for a new task, best first."""
        if self.experience_ is None or self.task_space_ is None:
            raise KnowledgeBaseError(f"{type(self).__name__} is not fitted")
        mf = np.asarray(metafeatures, dtype=float)
        d = self.task_space_.distances(mf)
        neighbors = self.neighbors(d)
        conf = self.task_space_.confidence(d)
        out = []
        for params, score in self._suggest(mf, d, k):
            out.append(Suggestion(params, float(score), conf, neighbors, self.name))
        return out[:k]

    def update(self, task: TaskExperience) -> MetaLearner:
        """Add a finished run to the experience and refresh (default: refit)."""
        if self.experience_ is None:
            raise KnowledgeBaseError(f"{type(self).__name__} is not fitted")
        merged = replace(
            self.experience_,
            tasks=tuple(t for t in self.experience_.tasks if t.key != task.key) + (task,),
        )
        return self.fit(merged)

    def neighbors(self, distances: np.ndarray, n: int = 5) -> tuple[tuple[str, float], ...]:
        assert self.experience_ is not None and self.task_space_ is not None
        sim = self.task_space_.similarity(distances)
        order = np.argsort(distances, kind="stable")
        seen: list[tuple[str, float]] = []
        for i in order:
            name = self.experience_.tasks[i].dataset
            if all(name != s for s, _ in seen):
                seen.append((name, float(sim[i])))
            if len(seen) == n:
                break
        return tuple(seen)

    @abc.abstractmethod
    def _fit(self, experience: Experience) -> None:
        """Learn from the experience (``self.space_`` and ``self.task_space_`` are set)."""

    @abc.abstractmethod
    def _suggest(
        self, metafeatures: np.ndarray, distances: np.ndarray, k: int
    ) -> list[tuple[dict[str, Any], float]]:
        """``(configuration, predicted normalised score)`` pairs, best first, distinct."""


@dataclass
class CandidatePool:
    """Distinct configurations known from the experience, encoded, for ranking."""

    X: np.ndarray
    configs: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_experience(cls, experience: Experience, space: SearchSpace) -> CandidatePool:
        if not experience.tasks:
            return cls(np.zeros((0, space.encoded_dim)))
        X = np.vstack([t.X for t in experience.tasks])
        X = np.unique(np.round(X, 9), axis=0)
        return cls(X, [space.decode(x) for x in X])

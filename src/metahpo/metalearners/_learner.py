"""The meta-learner contract and what every implementation shares.

A meta-learner is fitted on the experience of one model family and task type, then, for a new
task described only by its meta-features, returns ranked configurations with a predicted score
and a confidence. Call order: ``fit`` once, then any number of ``suggest``; ``update`` adds one
finished run (default: refit on the old experience plus the new task).
"""

from __future__ import annotations

import abc
import inspect
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from metahpo._args import got, is_number
from metahpo.errors import KnowledgeBaseError, MetaHPOError
from metahpo.knowledge import Experience, TaskExperience
from metahpo.metalearners._default_first import (
    CANDIDATES,
    LOSS_AVERSION,
    default_evidence,
    default_score,
)
from metahpo.metalearners._persist import (
    FORMAT,
    FORMAT_VERSION,
    experience_from_arrays,
    experience_to_arrays,
    read_folder,
    to_jsonable,
    write_folder,
)
from metahpo.spaces import SearchSpace, get_space

_L = TypeVar("_L", bound="MetaLearner")

#: Saved meta-learner classes by class name (filled by ``MetaLearner.__init_subclass__``).
_CLASSES: dict[str, type[MetaLearner]] = {}

#: Meta-features are clipped to this many robust standard deviations after scaling.
CLIP = 5.0

#: Scaled distance at or below which a training task has the new task's meta-features: the
#: same dataset (meta-features are deterministic given the data and the seed).
SAME_TASK = 1e-9


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
        # Spacing is measured between distinct tasks: the same dataset run twice (bundled and
        # tuned, or tuned with two optimizers) must not make the typical spacing zero.
        distinct = np.unique(np.round(train, 9), axis=0)
        if distinct.shape[0] >= 2:
            d = _pairwise(distinct, distinct)
            np.fill_diagonal(d, np.inf)
            nearest = d.min(axis=1)
            typical = float(np.median(nearest))
            far = float(np.percentile(nearest, 95))
        else:
            typical, far = 1.0, 2.0
        typical = max(typical, 1e-6)
        return cls(center, scale, train, typical, max(far, typical * 1.5))

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            "center": self.center,
            "scale": self.scale,
            "train": self.train,
            "typical": np.asarray(self.typical),
            "far": np.asarray(self.far),
        }

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray]) -> TaskSpace:
        return cls(a["center"], a["scale"], a["train"], float(a["typical"]), float(a["far"]))

    def transform(self, metafeatures: np.ndarray) -> np.ndarray:
        scaled = (np.atleast_2d(metafeatures) - self.center) / self.scale
        return np.asarray(np.clip(scaled, -CLIP, CLIP), dtype=float)

    def distances(self, metafeatures: np.ndarray) -> np.ndarray:
        """Distance from one task to every training task, shape ``(n_train,)``."""
        return np.asarray(_pairwise(self.transform(metafeatures), self.train)[0], dtype=float)

    def similarity(self, distances: np.ndarray) -> np.ndarray:
        """``1 / (1 + d / typical)``: 1 for an identical task, 0.5 at the typical spacing."""
        return 1.0 / (1.0 + np.asarray(distances, dtype=float) / self.typical)

    def weights(self, distances: np.ndarray) -> np.ndarray:
        """Relative task weights ``exp(-(d - d_min) / typical)``: 1 for the nearest task.

        Unlike :meth:`similarity` these never all underflow to zero, however far the new task.
        """
        d = np.asarray(distances, dtype=float)
        return np.asarray(np.exp(-(d - d.min()) / self.typical), dtype=float)

    def confidence(self, distances: np.ndarray) -> float:
        """1 while the nearest task is within the typical spacing, falling to ~0 beyond ``far``."""
        d = float(np.min(distances))
        if d <= self.typical:
            return 1.0
        return float(np.exp(-3.0 * (d - self.typical) / (self.far - self.typical)))

    def out_of_distribution(self, distances: np.ndarray) -> bool:
        return float(np.min(distances)) > self.far


def _pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # Computed from differences, not from |a|² + |b|² - 2ab: identical tasks are at exactly 0.
    from scipy.spatial.distance import cdist

    return np.asarray(np.sqrt(cdist(a, b, "sqeuclidean") / a.shape[1]), dtype=float)


class MetaLearner(abc.ABC):
    """Fit on one family's experience; suggest ranked configurations for a new task.

    Subclasses implement :meth:`_fit` and :meth:`_suggest`; this base keeps the experience,
    the task space and the bookkeeping common to all (neighbours, confidence, the default).
    """

    name: str = "base"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _CLASSES[cls.__name__] = cls

    def __init__(self) -> None:
        self.experience_: Experience | None = None
        self.task_space_: TaskSpace | None = None
        self.space_: SearchSpace | None = None

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments (scikit-learn convention: stored under the same names)."""
        sig = inspect.signature(type(self).__init__)
        return {n: getattr(self, n) for n in sig.parameters if n != "self"}

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

    def suggest(
        self, metafeatures: np.ndarray, k: int = 5, *, loss_aversion: float | None = LOSS_AVERSION
    ) -> list[Suggestion]:
        """Up to ``k`` distinct configurations for a new task, best first.

        Args:
            metafeatures: The new task's vector (the experience's meta-feature order).
            k: How many.
            loss_aversion: The first-suggestion rule: among the top :data:`CANDIDATES`
                suggestions, the best bet against the library default goes first, judged
                by :func:`default_evidence` on the similar tasks, where a loss counts
                ``1 + loss_aversion`` times a gain; the default first where no suggestion
                is a bet (default :data:`LOSS_AVERSION`). ``None``: the rule off, the
                meta-learner's own order.
        """
        if self.experience_ is None or self.task_space_ is None:
            raise KnowledgeBaseError(f"{type(self).__name__} is not fitted")
        if loss_aversion is not None and not (is_number(loss_aversion) and loss_aversion >= 0):
            raise MetaHPOError(
                f"{type(self).__name__}.suggest: 'loss_aversion' must be a number >= 0 or None "
                f"(the rule off), got {got(loss_aversion)}"
            )
        mf = np.asarray(metafeatures, dtype=float)
        d = self.task_space_.distances(mf)
        neighbors = self.neighbors(d)
        conf = self.task_space_.confidence(d)
        out = []
        for params, score in self._suggest(mf, d, max(k, CANDIDATES)):
            out.append(Suggestion(params, float(score), conf, neighbors, self.name))
        if loss_aversion is None:
            return out[:k]
        return self._default_first(out, d, conf, neighbors, loss_aversion)[:k]

    def _default_first(
        self,
        out: list[Suggestion],
        d: np.ndarray,
        conf: float,
        neighbors: tuple[tuple[str, float], ...],
        aversion: float,
    ) -> list[Suggestion]:
        """The best bet against the library default first, or the default where no candidate
        is one (see :mod:`metahpo.metalearners._default_first`)."""
        assert self.experience_ is not None and self.task_space_ is not None
        assert self.space_ is not None
        if not out:
            return out
        space = self.space_
        default = space.default_config()
        x_default = space.encode(default)
        encoded = [space.encode(space.transfer(s.params)[0]) for s in out]
        if np.abs(encoded[0] - x_default).max() < 1e-7:
            return out
        tasks = self.experience_.tasks
        weights = self.task_space_.weights(d)
        evidence = {
            i: default_evidence(
                tasks, d, weights, encoded[i], x_default, same_task=SAME_TASK, aversion=aversion
            )
            for i in range(min(CANDIDATES, len(out)))
            if np.abs(encoded[i] - x_default).max() >= 1e-7
        }
        if not evidence[0].paired:
            return out  # no paired evidence for the top suggestion: the learner's order stands
        bets = [i for i, ev in evidence.items() if ev.is_bet]
        if bets:
            best = max(bets, key=lambda i: (evidence[i].score, -i))
            if best == 0:
                return out
            chosen = replace(out[best], source=f"{self.name}, best bet against the default")
            return [chosen, *(s for i, s in enumerate(out) if i != best)]
        first = Suggestion(
            default,
            default_score(tasks, d, weights, x_default),
            conf,
            neighbors,
            f"{self.name}, default first (weak evidence for the top suggestion)",
        )
        rest = [s for s, x in zip(out, encoded, strict=True) if np.abs(x - x_default).max() >= 1e-7]
        return [first, *rest]

    def update(self, task: TaskExperience) -> MetaLearner:
        """Add a finished run to the experience and refresh (default: refit)."""
        if self.experience_ is None:
            raise KnowledgeBaseError(f"{type(self).__name__} is not fitted")
        kept = tuple(t for t in self.experience_.tasks if t.key != task.key)
        return self.fit(replace(self.experience_, tasks=(*kept, task)))

    # -- artifacts ---------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Save the fitted learner to the folder ``path`` (``meta.json`` + ``arrays.npz``).

        Only JSON and numeric arrays are written, never pickle. The folder holds the training
        experience, the task space and the learner's fitted state, so that :meth:`load` gives
        a learner whose suggestions are identical to this one's.
        """
        if self.experience_ is None or self.task_space_ is None or self.space_ is None:
            raise KnowledgeBaseError(f"{type(self).__name__} is not fitted; nothing to save")
        from metahpo._version import __version__

        described, exp_arrays = experience_to_arrays(self.experience_)
        state = self._state()
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "metahpo_version": __version__,
            "class": type(self).__name__,
            "strategy": self.name,
            "hyperparameters": {k: to_jsonable(v) for k, v in self.get_params().items()},
            "family": self.space_.family,
            "task": self.space_.task,
            "space_signature": self.space_.signature,
            "metafeature_names": list(self.experience_.metafeature_names),
            "experience_version": self.experience_.version,
            "tasks": described,
            "extra": self._extra_meta(),
        }
        arrays = {f"experience__{k}": v for k, v in exp_arrays.items()}
        arrays.update({f"task_space__{k}": v for k, v in self.task_space_.to_arrays().items()})
        arrays.update({f"state__{k}": v for k, v in state.items()})
        return write_folder(path, meta, arrays)

    @classmethod
    def load(cls: type[_L], path: str | Path) -> _L:
        """A learner saved by :meth:`save` (``MetaLearner.load`` returns the saved class).

        Raises:
            KnowledgeBaseError: Not a saved learner, a newer format, a learner of another
                class than the one ``load`` was called on, or a search space that changed
                since the learner was saved (refit it then).
        """
        meta, arrays = read_folder(path)
        klass = _CLASSES.get(str(meta.get("class")))
        if klass is None or not issubclass(klass, cls):
            found = meta.get("class")
            raise KnowledgeBaseError(f"{path}: holds a {found!r}, not a {cls.__name__}")
        space = get_space(meta["family"], meta["task"])
        if space.signature != meta["space_signature"]:
            raise KnowledgeBaseError(
                f"{path}: saved for search space {meta['space_signature']}, the installed one "
                f"is {space.signature}; fit the meta-learner again"
            )
        learner = klass(**meta["hyperparameters"])

        def part(prefix: str) -> dict[str, np.ndarray]:
            return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}

        learner.experience_ = experience_from_arrays(
            meta["tasks"],
            part("experience__"),
            tuple(meta["metafeature_names"]),
            str(meta.get("experience_version", "")),
        )
        learner.space_ = space
        learner.task_space_ = TaskSpace.from_arrays(part("task_space__"))
        learner._restore(part("state__"), meta.get("extra") or {})
        return learner

    def _state(self) -> dict[str, np.ndarray]:
        """Fitted arrays that :meth:`_restore` needs (default: none, refit on load)."""
        return {}

    def _extra_meta(self) -> dict[str, Any]:
        """JSON-able facts saved next to the state (e.g. library versions)."""
        return {}

    def _restore(self, state: dict[str, np.ndarray], extra: dict[str, Any]) -> None:
        """Rebuild the fitted state on load (default: refit on the saved experience)."""
        assert self.experience_ is not None
        self._fit(self.experience_)

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

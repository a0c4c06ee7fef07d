"""A score table over the distinct configurations of the experience.

Bundled tasks share one design, so most configurations were evaluated on every training task:
the table ``S[task, config]`` (normalised score, ``nan`` where a configuration was not evaluated
on a task) is what nearest-task, portfolio and mapping meta-learners work on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from metahpo.knowledge import Experience, TaskExperience
from metahpo.spaces import SearchSpace


def normalized_scores(task: TaskExperience) -> np.ndarray:
    """Scores scaled to ``[0, 1]`` within the task: 1 is the best, 0 the 10th percentile or worse.

    Measuring from a low percentile instead of the minimum keeps one diverging configuration
    (an R² of -10⁶, say) from squashing every other difference to nothing. Failed = 0.
    """
    g = task.gain()
    ok = np.isfinite(g)
    out = np.zeros(len(g))
    if not ok.any():
        return out
    hi = g[ok].max()
    lo = float(np.percentile(g[ok], 10))
    if hi <= lo:
        out[ok] = 1.0
        return out
    out[ok] = np.clip((g[ok] - lo) / (hi - lo), 0.0, 1.0)
    return out


def _key(row: np.ndarray) -> bytes:
    return np.round(row, 7).tobytes()


@dataclass(frozen=True)
class ScoreTable:
    """``S[t, c]``: normalised score of pool configuration ``c`` on training task ``t``."""

    X: np.ndarray
    S: np.ndarray
    space: SearchSpace

    @classmethod
    def build(cls, experience: Experience, space: SearchSpace) -> ScoreTable:
        index: dict[bytes, int] = {}
        rows: list[np.ndarray] = []
        for t in experience.tasks:
            for x in t.X:
                k = _key(x)
                if k not in index:
                    index[k] = len(rows)
                    rows.append(x)
        X = np.vstack(rows) if rows else np.zeros((0, space.encoded_dim))
        S = np.full((len(experience.tasks), len(rows)), np.nan)
        for i, t in enumerate(experience.tasks):
            cols = np.fromiter((index[_key(x)] for x in t.X), dtype=int, count=len(t.X))
            S[i, cols] = normalized_scores(t)
        return cls(X, S, space)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"table_X": self.X, "table_S": self.S}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], space: SearchSpace) -> ScoreTable:
        return cls(arrays["table_X"], arrays["table_S"], space)

    def config(self, c: int) -> dict[str, Any]:
        return self.space.decode(self.X[c])

    def weighted_mean(self, weights: np.ndarray) -> np.ndarray:
        """Per configuration, the weighted mean score over the tasks that evaluated it."""
        known = np.isfinite(self.S)
        w = weights[:, None] * known
        total = w.sum(0)
        filled = np.where(known, self.S, 0.0)
        return np.where(total > 0, (w * filled).sum(0) / np.maximum(total, 1e-300), np.nan)

"""Model-based meta-learners: a performance surrogate and a learned meta-features -> config map."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.neural_network import MLPRegressor

from metahpo.knowledge import Experience
from metahpo.metalearners._base import MetaLearner
from metahpo.metalearners._pool import ScoreTable, normalized_scores
from metahpo.spaces import sobol_design


class PerformanceSurrogate(MetaLearner):
    """``(meta-features, configuration) -> expected normalised score``, zero-shot.

    A histogram gradient-boosting regressor on the scaled meta-features of the task next to the
    unit-cube encoding of the configuration, trained on every (task, configuration) of the
    experience with the per-task normalised score as target. It ranks any configuration for a
    new task; ``suggest`` ranks the experience's configurations plus ``n_random`` Sobol points.

    Args:
        n_random: Extra Sobol candidates scored by ``suggest``.
        max_iter: Boosting iterations.
        seed: Random state of the model and the candidates.
    """

    name = "surrogate"

    def __init__(self, n_random: int = 256, max_iter: int = 300, seed: int = 0) -> None:
        super().__init__()
        self.n_random = n_random
        self.max_iter = max_iter
        self.seed = seed

    def _fit(self, experience: Experience) -> None:
        assert self.space_ is not None and self.task_space_ is not None
        feats, target = [], []
        for i, t in enumerate(experience.tasks):
            mf = np.repeat(self.task_space_.train[i][None, :], t.n, axis=0)
            feats.append(np.hstack([mf, t.X]))
            target.append(normalized_scores(t))
        self.model_ = HistGradientBoostingRegressor(
            max_iter=self.max_iter,
            learning_rate=0.05,
            max_leaf_nodes=31,
            min_samples_leaf=20,
            l2_regularization=1.0,
            random_state=self.seed,
        ).fit(np.vstack(feats), np.concatenate(target))
        table = ScoreTable.build(experience, self.space_)
        extra = [self.space_.encode(c) for c in sobol_design(self.space_, self.n_random, self.seed + 1)]
        self.candidates_ = np.vstack([table.X, *extra]) if extra else table.X

    def predict(self, metafeatures: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Predicted normalised score of each encoded configuration (rows of ``X``)."""
        assert self.task_space_ is not None
        mf = self.task_space_.transform(np.asarray(metafeatures, dtype=float))
        rows = np.hstack([np.repeat(mf, len(X), axis=0), np.atleast_2d(X)])
        return np.asarray(self.model_.predict(rows), dtype=float)

    def predict_configs(self, metafeatures: np.ndarray, configs: list[dict[str, Any]]) -> np.ndarray:
        assert self.space_ is not None
        if not configs:
            return np.zeros(0)
        return self.predict(metafeatures, np.vstack([self.space_.encode(c) for c in configs]))

    def _suggest(
        self, metafeatures: np.ndarray, distances: np.ndarray, k: int
    ) -> list[tuple[dict[str, Any], float]]:
        assert self.space_ is not None
        scores = self.predict(metafeatures, self.candidates_)
        out: list[tuple[dict[str, Any], float]] = []
        seen: set[str] = set()
        for c in np.argsort(-scores, kind="stable"):
            config = self.space_.decode(self.candidates_[c])
            key = repr(sorted(config.items()))
            if key not in seen:
                seen.add(key)
                out.append((config, float(scores[c])))
            if len(out) == k:
                break
        return out


class ConfigMapping(MetaLearner):
    """A learned mapping from meta-features to a good configuration (scikit-learn MLP).

    The network regresses each training task's scaled meta-features onto the mean unit-cube
    encoding of that task's ``top`` best configurations (one-hot blocks of categoricals become
    choice frequencies and are decoded by arg-max). The first suggestion is the decoded
    prediction; further ones are the experience configurations nearest to it. Predicted scores
    are the neighbour-weighted normalised scores of the nearest known configuration.

    Args:
        top: Best configurations per task averaged into the regression target.
        hidden: Hidden layer sizes.
        seed: Random state.
    """

    name = "mapping"

    def __init__(self, top: int = 3, hidden: tuple[int, ...] = (64, 64), seed: int = 0) -> None:
        super().__init__()
        self.top = top
        self.hidden = hidden
        self.seed = seed

    def _targets(self, experience: Experience) -> np.ndarray:
        rows = []
        for t in experience.tasks:
            s = normalized_scores(t)
            best = np.argsort(-s, kind="stable")[: self.top]
            rows.append(t.X[best].mean(axis=0))
        return np.vstack(rows)

    def _fit(self, experience: Experience) -> None:
        assert self.space_ is not None and self.task_space_ is not None
        self.model_ = MLPRegressor(
            hidden_layer_sizes=self.hidden,
            alpha=1e-3,
            max_iter=2000,
            learning_rate_init=1e-3,
            random_state=self.seed,
        ).fit(self.task_space_.train, self._targets(experience))
        self.table_ = ScoreTable.build(experience, self.space_)

    def _suggest(
        self, metafeatures: np.ndarray, distances: np.ndarray, k: int
    ) -> list[tuple[dict[str, Any], float]]:
        assert self.space_ is not None and self.task_space_ is not None
        pred = np.clip(self.model_.predict(self.task_space_.transform(metafeatures))[0], 0.0, 1.0)
        weights = self.task_space_.similarity(distances)
        predicted = self.table_.weighted_mean(weights)
        near = np.argsort(((self.table_.X - pred) ** 2).sum(1), kind="stable")
        first = self.space_.decode(pred)
        out = [(first, float(np.nan_to_num(predicted[near[0]])))]
        seen = {repr(sorted(first.items()))}
        for c in near:
            config = self.table_.config(int(c))
            key = repr(sorted(config.items()))
            if key not in seen:
                seen.add(key)
                out.append((config, float(np.nan_to_num(predicted[c]))))
            if len(out) == k:
                break
        return out

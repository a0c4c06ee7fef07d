"""Model-based meta-learners: a performance surrogate and a learned meta-features -> config map."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.neural_network import MLPRegressor

from metahpo.knowledge import Experience
from metahpo.metalearners._base import MetaLearner
from metahpo.metalearners._pool import ScoreTable, normalized_scores
from metahpo.spaces import sobol_design

#: Training rows whose predictions are saved with a surrogate, to check the refit on load.
PROBE_ROWS = 512


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

    def _features(self, experience: Experience) -> np.ndarray:
        """Training rows: each task's scaled meta-features next to each configuration."""
        assert self.task_space_ is not None
        rows = [
            np.hstack([np.repeat(self.task_space_.train[i][None, :], t.n, axis=0), t.X])
            for i, t in enumerate(experience.tasks)
        ]
        return np.vstack(rows)

    def _train(self, feats: np.ndarray, target: np.ndarray) -> None:
        self.model_ = HistGradientBoostingRegressor(
            max_iter=self.max_iter,
            learning_rate=0.05,
            max_leaf_nodes=31,
            min_samples_leaf=20,
            l2_regularization=1.0,
            random_state=self.seed,
        ).fit(feats, target)

    def _fit(self, experience: Experience) -> None:
        assert self.space_ is not None
        feats = self._features(experience)
        self.target_ = np.concatenate([normalized_scores(t) for t in experience.tasks])
        self._train(feats, self.target_)
        self.probe_ = np.asarray(self.model_.predict(feats[:PROBE_ROWS]), dtype=float)
        table = ScoreTable.build(experience, self.space_)
        extra = [
            self.space_.encode(c) for c in sobol_design(self.space_, self.n_random, self.seed + 1)
        ]
        self.candidates_ = np.vstack([table.X, *extra]) if extra else table.X

    # The boosted trees are not exported: they live in private scikit-learn structures. The
    # artifact keeps the training target and the candidates; loading refits the model on the
    # saved experience with the same seed (deterministic for one scikit-learn version) and
    # checks the refit against predictions saved with it.
    def _state(self) -> dict[str, np.ndarray]:
        return {"target": self.target_, "candidates": self.candidates_, "probe": self.probe_}

    def _extra_meta(self) -> dict[str, Any]:
        import sklearn

        return {"refit_on_load": True, "sklearn_version": sklearn.__version__}

    def _restore(self, state: dict[str, np.ndarray], extra: dict[str, Any]) -> None:
        assert self.experience_ is not None
        feats = self._features(self.experience_)
        self.target_ = state["target"]
        self._train(feats, self.target_)
        self.candidates_ = state["candidates"]
        self.probe_ = np.asarray(self.model_.predict(feats[: len(state["probe"])]), dtype=float)
        gap = float(np.max(np.abs(self.probe_ - state["probe"]), initial=0.0))
        if gap > 1e-9:
            import sklearn

            warnings.warn(
                f"the refitted surrogate differs from the saved one (max prediction gap "
                f"{gap:.2g}); saved with scikit-learn {extra.get('sklearn_version')}, "
                f"running {sklearn.__version__}",
                RuntimeWarning,
                stacklevel=3,
            )

    def predict(self, metafeatures: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Predicted normalised score of each encoded configuration (rows of ``X``)."""
        assert self.task_space_ is not None
        mf = self.task_space_.transform(np.asarray(metafeatures, dtype=float))
        rows = np.hstack([np.repeat(mf, len(X), axis=0), np.atleast_2d(X)])
        return np.asarray(self.model_.predict(rows), dtype=float)

    def predict_configs(
        self, metafeatures: np.ndarray, configs: list[dict[str, Any]]
    ) -> np.ndarray:
        """Predicted normalised score of each configuration (given in the built-in space)."""
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

    def __init__(
        self, top: int = 3, hidden: tuple[int, ...] | list[int] = (64, 64), seed: int = 0
    ) -> None:
        super().__init__()
        self.top = top
        self.hidden = tuple(hidden)
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
        model = MLPRegressor(
            hidden_layer_sizes=self.hidden,
            alpha=1e-3,
            max_iter=2000,
            learning_rate_init=1e-3,
            random_state=self.seed,
        ).fit(self.task_space_.train, self._targets(experience))
        # Only the weights are kept: the forward pass below is the whole model, so a saved
        # mapping is plain arrays and predicts exactly what the fitted one did.
        self.coefs_ = [np.asarray(w, dtype=float) for w in model.coefs_]
        self.intercepts_ = [np.asarray(b, dtype=float) for b in model.intercepts_]
        self.table_ = ScoreTable.build(experience, self.space_)

    def predict_encoded(self, metafeatures: np.ndarray) -> np.ndarray:
        """The mapped configuration, encoded in the unit cube (shape ``(encoded_dim,)``)."""
        assert self.task_space_ is not None
        h = self.task_space_.transform(np.asarray(metafeatures, dtype=float))
        last = len(self.coefs_) - 1
        for i, (w, b) in enumerate(zip(self.coefs_, self.intercepts_, strict=True)):
            h = h @ w + b
            if i < last:
                h = np.maximum(h, 0.0)  # ReLU hidden layers, identity output (MLPRegressor)
        return np.clip(h[0], 0.0, 1.0)

    def _state(self) -> dict[str, np.ndarray]:
        state = self.table_.to_arrays()
        for i, (w, b) in enumerate(zip(self.coefs_, self.intercepts_, strict=True)):
            state[f"coef_{i}"] = w
            state[f"intercept_{i}"] = b
        return state

    def _restore(self, state: dict[str, np.ndarray], extra: dict[str, Any]) -> None:
        assert self.space_ is not None
        n = sum(k.startswith("coef_") for k in state)
        self.coefs_ = [state[f"coef_{i}"] for i in range(n)]
        self.intercepts_ = [state[f"intercept_{i}"] for i in range(n)]
        self.table_ = ScoreTable.from_arrays(state, self.space_)

    def _suggest(
        self, metafeatures: np.ndarray, distances: np.ndarray, k: int
    ) -> list[tuple[dict[str, Any], float]]:
        assert self.space_ is not None and self.task_space_ is not None
        pred = self.predict_encoded(metafeatures)
        weights = self.task_space_.weights(distances)
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

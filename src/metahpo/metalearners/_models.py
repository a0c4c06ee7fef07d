"""Model-based meta-learners: a performance surrogate and a learned meta-features -> config map."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.neural_network import MLPRegressor
from threadpoolctl import threadpool_limits

from metahpo.knowledge import Experience
from metahpo.metalearners._learner import MetaLearner
from metahpo.metalearners._pool import ScoreTable, normalized_scores
from metahpo.spaces import sobol_design

#: Training rows whose predictions are saved with a surrogate, to check the refit on load.
PROBE_ROWS = 512

# Meta-level data is small (tasks x configurations): native thread pools cost more than they
# bring, and on a busy machine OpenMP threads made one surrogate fit 15x slower (wall time).
# Every fit and prediction below runs on one thread.


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
        model = HistGradientBoostingRegressor(
            max_iter=self.max_iter,
            learning_rate=0.05,
            max_leaf_nodes=31,
            min_samples_leaf=20,
            l2_regularization=1.0,
            random_state=self.seed,
        )
        with threadpool_limits(limits=1):
            self.model_ = model.fit(feats, target)

    def _predict_rows(self, rows: np.ndarray) -> np.ndarray:
        with threadpool_limits(limits=1):
            return np.asarray(self.model_.predict(rows), dtype=float)

    def _fit(self, experience: Experience) -> None:
        assert self.space_ is not None
        feats = self._features(experience)
        self.target_ = np.concatenate([normalized_scores(t) for t in experience.tasks])
        self._train(feats, self.target_)
        self.probe_ = self._predict_rows(feats[:PROBE_ROWS])
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
        self.probe_ = self._predict_rows(feats[: len(state["probe"])])
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
        return self._predict_rows(rows)

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

    With few training tasks a network this size fits them perfectly and generalises poorly
    (left-one-dataset-out on the bundle it did worse than the mean target). So the prediction
    is shrunk towards the mean target of the training tasks, ``mean + shrink * (net - mean)``,
    with ``shrink`` in ``[0, 1]`` estimated by K-fold cross-validation over the training
    tasks (the least-squares factor on out-of-fold predictions): ~1 where the map from
    meta-features to configurations generalises, ~0 where it does not.

    Args:
        top: Best configurations per task averaged into the regression target.
        hidden: Hidden layer sizes.
        seed: Random state.
        folds: Cross-validation folds for the shrinkage factor.
    """

    name = "mapping"

    def __init__(
        self,
        top: int = 3,
        hidden: tuple[int, ...] | list[int] = (64, 64),
        seed: int = 0,
        folds: int = 5,
    ) -> None:
        super().__init__()
        self.top = top
        self.hidden = tuple(hidden)
        self.seed = seed
        self.folds = folds

    def _targets(self, experience: Experience) -> np.ndarray:
        rows = []
        for t in experience.tasks:
            s = normalized_scores(t)
            best = np.argsort(-s, kind="stable")[: self.top]
            rows.append(t.X[best].mean(axis=0))
        return np.vstack(rows)

    def _net(self, inputs: np.ndarray, targets: np.ndarray) -> tuple[list[Any], list[Any]]:
        model = MLPRegressor(
            hidden_layer_sizes=self.hidden,
            alpha=1e-3,
            max_iter=2000,
            learning_rate_init=1e-3,
            random_state=self.seed,
        )
        with threadpool_limits(limits=1):
            model.fit(inputs, targets)
        # Only the weights are kept: :func:`_forward` is the whole model, so a saved mapping is
        # plain arrays and predicts exactly what the fitted one did.
        coefs = [np.asarray(w, dtype=float) for w in model.coefs_]
        intercepts = [np.asarray(b, dtype=float) for b in model.intercepts_]
        return coefs, intercepts

    def _shrinkage(self, inputs: np.ndarray, targets: np.ndarray) -> float:
        """Least-squares factor on out-of-fold predictions, clipped to ``[0, 1]``."""
        n = len(inputs)
        if n < 2:
            return 0.0
        order = np.random.default_rng(self.seed).permutation(n)
        num = den = 0.0
        for fold in np.array_split(order, min(self.folds, n)):
            rest = np.setdiff1d(order, fold)
            mean = targets[rest].mean(axis=0)
            coefs, intercepts = self._net(inputs[rest], targets[rest])
            r = _forward(coefs, intercepts, inputs[fold]) - mean
            num += float((r * (targets[fold] - mean)).sum())
            den += float((r * r).sum())
        return float(np.clip(num / den, 0.0, 1.0)) if den > 0 else 0.0

    def _fit(self, experience: Experience) -> None:
        assert self.space_ is not None and self.task_space_ is not None
        inputs, targets = self.task_space_.train, self._targets(experience)
        self.coefs_, self.intercepts_ = self._net(inputs, targets)
        self.mean_ = targets.mean(axis=0)
        self.shrink_ = self._shrinkage(inputs, targets)
        self.table_ = ScoreTable.build(experience, self.space_)

    def predict_encoded(self, metafeatures: np.ndarray) -> np.ndarray:
        """The mapped configuration, encoded in the unit cube (shape ``(encoded_dim,)``)."""
        assert self.task_space_ is not None
        x = self.task_space_.transform(np.asarray(metafeatures, dtype=float))
        net = _forward(self.coefs_, self.intercepts_, x)[0]
        return np.asarray(np.clip(self.mean_ + self.shrink_ * (net - self.mean_), 0, 1))

    def _state(self) -> dict[str, np.ndarray]:
        state = self.table_.to_arrays()
        for i, (w, b) in enumerate(zip(self.coefs_, self.intercepts_, strict=True)):
            state[f"coef_{i}"] = w
            state[f"intercept_{i}"] = b
        state["mean"] = self.mean_
        state["shrink"] = np.asarray(self.shrink_)
        return state

    def _restore(self, state: dict[str, np.ndarray], extra: dict[str, Any]) -> None:
        assert self.space_ is not None
        n = sum(k.startswith("coef_") for k in state)
        self.coefs_ = [state[f"coef_{i}"] for i in range(n)]
        self.intercepts_ = [state[f"intercept_{i}"] for i in range(n)]
        self.mean_ = state["mean"]
        self.shrink_ = float(state["shrink"])
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


def _forward(coefs: list[Any], intercepts: list[Any], x: np.ndarray) -> np.ndarray:
    """``MLPRegressor``'s forward pass: ReLU hidden layers, identity output."""
    h = np.atleast_2d(x)
    last = len(coefs) - 1
    for i, (w, b) in enumerate(zip(coefs, intercepts, strict=True)):
        h = h @ w + b
        if i < last:
            h = np.maximum(h, 0.0)
    return np.asarray(h, dtype=float)

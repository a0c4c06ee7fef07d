"""Landmarkers: cross-validated scores of cheap models.

Scores are balanced accuracy for classification (the project's default metric, informative under
class imbalance) and R² floored at -1 for regression, computed once on the pooled out-of-fold
predictions of a shuffled, seeded K-fold (stratified unless the largest class has fewer rows
than there are folds).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.metrics import balanced_accuracy_score, r2_score
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from metahpo.metafeatures._prepare import Prepared

LANDMARKER_NAMES: tuple[str, ...] = (
    "lm_1nn",
    "lm_stump",
    "lm_nb_or_ridge",
    "lm_tree3",
    "lm_elite_1nn",
)

#: Folds of the landmarkers' cross-validation.
LANDMARK_FOLDS = 3
#: Categorical columns are one-hot encoded with at most this many columns each (rare levels pooled).
MAX_ONEHOT_LEVELS = 10
#: Worst reported R² (a landmarker worse than predicting the mean by more is equally useless).
R2_FLOOR = -1.0


def design_matrix(prep: Prepared) -> np.ndarray:
    """Median-imputed, standardised numeric columns next to one-hot categorical columns.

    The transforms are fitted once on all (subsampled) rows: they are unsupervised, so the
    only information shared across folds is each column's location and scale.
    """
    blocks: list[np.ndarray] = []
    numeric = prep.numeric
    if numeric.shape[1]:
        present = ~np.isnan(numeric).all(axis=0)
        if present.any():
            filled = SimpleImputer(strategy="median").fit_transform(numeric[:, present])
            blocks.append(StandardScaler().fit_transform(filled))
    if prep.categorical.shape[1]:
        encoder = OneHotEncoder(max_categories=MAX_ONEHOT_LEVELS, sparse_output=False)
        blocks.append(encoder.fit_transform(prep.categorical).astype(np.float64))
    if not blocks:
        return np.zeros((prep.n_rows, 1))
    return np.concatenate(blocks, axis=1)


def _folds(prep: Prepared, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    n = prep.n_rows
    k = min(LANDMARK_FOLDS, n)
    splitter: KFold | StratifiedKFold
    if prep.task == "classification" and k <= int(np.bincount(prep.y).max()):
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    else:
        splitter = KFold(n_splits=k, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # "The least populated class has only 1 member": expected on tiny or imbalanced data.
        warnings.simplefilter("ignore", UserWarning)
        return list(splitter.split(np.zeros((n, 1)), prep.y))


def _models(task: str, seed: int) -> dict[str, Any]:
    if task == "classification":
        return {
            "lm_1nn": KNeighborsClassifier(n_neighbors=1),
            "lm_stump": DecisionTreeClassifier(max_depth=1, random_state=seed),
            "lm_nb_or_ridge": GaussianNB(),
            "lm_tree3": DecisionTreeClassifier(max_depth=3, random_state=seed),
        }
    return {
        "lm_1nn": KNeighborsRegressor(n_neighbors=1),
        "lm_stump": DecisionTreeRegressor(max_depth=1, random_state=seed),
        "lm_nb_or_ridge": Ridge(alpha=1.0),
        "lm_tree3": DecisionTreeRegressor(max_depth=3, random_state=seed),
    }


def _score(task: str, y: np.ndarray, pred: np.ndarray) -> float:
    if task == "classification":
        return float(balanced_accuracy_score(y, pred))
    if np.ptp(y) == 0:
        return 0.0
    return max(R2_FLOOR, float(r2_score(y, pred)))


def landmarker_features(prep: Prepared, seed: int = 0) -> dict[str, float]:
    """Out-of-fold scores of five cheap models.

    The models are 1-NN, a depth-1 tree (stump), naive Bayes (Ridge for regression), a depth-3
    tree and an elite 1-NN. Classification uses classifiers and balanced accuracy; regression
    uses the matching regressors (``lm_nb_or_ridge`` is Ridge with ``alpha=1``) and R² floored
    at :data:`R2_FLOOR`. The elite 1-NN uses only the columns that the fold's depth-3 tree
    splits on (all columns if it makes no split), selected inside each fold. Fewer than two
    rows, or a regression target without variation (neither occurs in a loaded dataset),
    score 0.
    """
    if prep.n_rows < 2:
        return dict.fromkeys(LANDMARKER_NAMES, 0.0)
    X = design_matrix(prep)
    y = prep.y
    models = _models(prep.task, seed)
    oof = {name: np.empty(len(y), dtype=y.dtype) for name in LANDMARKER_NAMES}
    # Degenerate folds (a single row or class, a constant column) make models warn, e.g.
    # naive Bayes on zero variance; the predictions stay valid labels / finite values.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for train, test in _folds(prep, seed):
            fitted = {name: clone(m).fit(X[train], y[train]) for name, m in models.items()}
            for name, model in fitted.items():
                oof[name][test] = model.predict(X[test])
            used = fitted["lm_tree3"].feature_importances_ > 0
            cols = used if used.any() else np.ones(X.shape[1], dtype=bool)
            elite = clone(models["lm_1nn"]).fit(X[train][:, cols], y[train])
            oof["lm_elite_1nn"][test] = elite.predict(X[test][:, cols])
    return {name: _score(prep.task, y, oof[name]) for name in LANDMARKER_NAMES}

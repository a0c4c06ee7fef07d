"""Built-in model families: their search spaces and how a configuration becomes an estimator.

Every estimator is a scikit-learn ``Pipeline`` whose first step is the preprocessing
(imputation, one-hot encoding and, for scale-sensitive models, standardisation), so that nothing
is learnt from a validation fold. Scale-sensitive regressors also standardise the target, which
makes parameters such as SVR's ``epsilon`` or ElasticNet's ``alpha`` comparable across datasets.

Two parameters are expressed relative to the data so that one value means the same on every
dataset (which is what lets experience transfer):

* ``rf.max_features_exp``: a split considers ``n_features ** max_features_exp`` features
  (0.5 is scikit-learn's ``"sqrt"`` default for classification, 1.0 its regression default).
* ``svm.gamma_scale``: the RBF ``gamma`` is ``gamma_scale / n_features`` on standardised
  features, i.e. a multiple of scikit-learn's ``gamma="scale"`` default (1.0).

``lgbm`` and ``xgb`` (LightGBM, XGBoost) live in :mod:`._boost`: they need the optional extra
``metahpo[boost]`` to build estimators, never to read their spaces.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import ElasticNet, LogisticRegression
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC, SVR

from metahpo._args import registered
from metahpo.datasets import Dataset
from metahpo.errors import SpaceError
from metahpo.spaces._boost import LGBM, XGB
from metahpo.spaces._family import (
    CHOICES,
    FRACTION,
    NON_NEGATIVE,
    Bound,
    BuildContext,
    ModelFamily,
    _c,
    _f,
    _family,
    _i,
    check_config,
)
from metahpo.spaces._space import Param, SearchSpace

#: At most this many one-hot columns per categorical feature (rarer values share one column).
MAX_CATEGORIES = 16


# -- hgb ---------------------------------------------------------------------------------------
_HGB = (
    _f("learning_rate", 0.01, 1.0, 0.1),
    _i("max_iter", 16, 512, 100),
    _i("max_leaf_nodes", 4, 256, 31),
    _i("min_samples_leaf", 1, 128, 20),
    _f("l2_regularization", 1e-6, 10.0, 1e-6, doc="lower bound stands for the library's 0"),
    _f("max_features", 0.1, 1.0, 1.0, log=False),
)


_HGB_BOUNDS = (("l2_regularization", NON_NEGATIVE), ("max_features", FRACTION))


def _hgb(cfg: Mapping[str, Any], ctx: BuildContext) -> BaseEstimator:
    cls = (
        HistGradientBoostingClassifier
        if ctx.task == "classification"
        else HistGradientBoostingRegressor
    )
    return cls(
        learning_rate=cfg["learning_rate"],
        max_iter=int(cfg["max_iter"]),
        max_leaf_nodes=int(cfg["max_leaf_nodes"]),
        min_samples_leaf=int(cfg["min_samples_leaf"]),
        l2_regularization=0.0 if cfg["l2_regularization"] <= 1e-6 else cfg["l2_regularization"],
        max_features=cfg["max_features"],
        random_state=ctx.seed,
    )


# -- rf ----------------------------------------------------------------------------------------
def _rf_params(default_exp: float) -> tuple[Param, ...]:
    return (
        _i("n_estimators", 16, 512, 100),
        _f(
            "max_features_exp",
            0.0,
            1.0,
            default_exp,
            log=False,
            doc="a split considers n_features ** max_features_exp features",
        ),
        _i("min_samples_leaf", 1, 64, 1),
        _i("min_samples_split", 2, 64, 2),
        _c("bootstrap", (True, False), True),
    )


_RF_BOUNDS = (("max_features_exp", Bound(0.0, 1.0)), ("bootstrap", CHOICES))


def _rf(cfg: Mapping[str, Any], ctx: BuildContext) -> BaseEstimator:
    cls = RandomForestClassifier if ctx.task == "classification" else RandomForestRegressor
    p = max(ctx.n_features, 1)
    n_split = max(1, round(p ** float(cfg["max_features_exp"])))
    return cls(
        n_estimators=int(cfg["n_estimators"]),
        max_features=min(1.0, n_split / p),
        min_samples_leaf=int(cfg["min_samples_leaf"]),
        min_samples_split=int(cfg["min_samples_split"]),
        bootstrap=bool(cfg["bootstrap"]),
        random_state=ctx.seed,
        n_jobs=1,
    )


# -- svm ---------------------------------------------------------------------------------------
_SVM_COMMON = (
    _f("C", 1e-3, 1e3, 1.0),
    _f("gamma_scale", 1e-3, 1e3, 1.0, doc="RBF gamma as a multiple of gamma='scale'"),
)


_SVM_BOUNDS = (("class_weight", CHOICES), ("epsilon", NON_NEGATIVE))


def _svm(cfg: Mapping[str, Any], ctx: BuildContext) -> BaseEstimator:
    gamma = float(cfg["gamma_scale"]) / max(ctx.n_features, 1)
    if ctx.task == "classification":
        return SVC(
            C=cfg["C"],
            gamma=gamma,
            class_weight=None if cfg["class_weight"] == "none" else "balanced",
            random_state=ctx.seed,
            cache_size=500,
            # only when needed: scikit-learn 1.9 deprecates the argument (a FutureWarning)
            **({"probability": True} if ctx.needs_proba else {}),
        )
    return SVR(C=cfg["C"], gamma=gamma, epsilon=cfg["epsilon"], cache_size=500)


# -- linear ------------------------------------------------------------------------------------
_LINEAR_BOUNDS = (("class_weight", CHOICES), ("alpha", NON_NEGATIVE), ("l1_ratio", Bound(0.0, 1.0)))


def _linear(cfg: Mapping[str, Any], ctx: BuildContext) -> BaseEstimator:
    if ctx.task == "classification":
        return LogisticRegression(
            C=cfg["C"],
            class_weight=None if cfg["class_weight"] == "none" else "balanced",
            max_iter=1000,
        )
    return ElasticNet(
        alpha=cfg["alpha"], l1_ratio=cfg["l1_ratio"], max_iter=5000, random_state=ctx.seed
    )


# -- knn ---------------------------------------------------------------------------------------
_KNN = (
    _i("n_neighbors", 1, 64, 5),
    _c("weights", ("uniform", "distance"), "uniform"),
    _c("p", (1, 2), 2),
)


_KNN_BOUNDS = (("p", Bound(1.0)),)


def _knn(cfg: Mapping[str, Any], ctx: BuildContext) -> BaseEstimator:
    cls = KNeighborsClassifier if ctx.task == "classification" else KNeighborsRegressor
    # Capped at half the rows: no training fold of a K-fold split (K >= 2) is smaller.
    k = max(1, min(int(cfg["n_neighbors"]), ctx.n_rows // 2))
    return cls(n_neighbors=k, weights=cfg["weights"], p=int(cfg["p"]))


# -- mlp ---------------------------------------------------------------------------------------
_MLP = (
    _i("width", 16, 256, 100, doc="units per hidden layer"),
    _i("depth", 1, 3, 1, log=False, doc="number of hidden layers"),
    _f("alpha", 1e-6, 1.0, 1e-4),
    _f("learning_rate_init", 1e-4, 1e-1, 1e-3),
    _i("max_iter", 20, 400, 200),
    _c("activation", ("relu", "tanh"), "relu"),
)


#: Deeper networks than this are no configuration but a typo (the layers' tuple is built).
MAX_DEPTH = 100
_MLP_BOUNDS = (("depth", Bound(1.0, MAX_DEPTH)), ("alpha", NON_NEGATIVE))


def _mlp(cfg: Mapping[str, Any], ctx: BuildContext) -> BaseEstimator:
    cls = MLPClassifier if ctx.task == "classification" else MLPRegressor
    return cls(
        hidden_layer_sizes=(int(cfg["width"]),) * int(cfg["depth"]),
        alpha=cfg["alpha"],
        learning_rate_init=cfg["learning_rate_init"],
        max_iter=int(cfg["max_iter"]),
        activation=cfg["activation"],
        random_state=ctx.seed,
    )


FAMILIES: dict[str, ModelFamily] = {
    "hgb": _family(
        "hgb", "histogram gradient boosting", _HGB, _hgb, scaled=False, bounds=_HGB_BOUNDS
    ),
    "rf": _family(
        "rf",
        "random forest",
        _rf_params(0.5),
        _rf,
        scaled=False,
        bounds=_RF_BOUNDS,
        regression=_rf_params(1.0),
    ),
    "svm": _family(
        "svm",
        "RBF support vector machine",
        (*_SVM_COMMON, _c("class_weight", ("none", "balanced"), "none")),
        _svm,
        scaled=True,
        bounds=_SVM_BOUNDS,
        regression=(*_SVM_COMMON, _f("epsilon", 1e-3, 1.0, 0.1)),
    ),
    "linear": _family(
        "linear",
        "logistic regression / elastic net",
        (_f("C", 1e-4, 1e4, 1.0), _c("class_weight", ("none", "balanced"), "none")),
        _linear,
        scaled=True,
        bounds=_LINEAR_BOUNDS,
        regression=(_f("alpha", 1e-5, 10.0, 1.0), _f("l1_ratio", 0.01, 1.0, 0.5, log=False)),
    ),
    "knn": _family("knn", "k nearest neighbours", _KNN, _knn, scaled=True, bounds=_KNN_BOUNDS),
    "mlp": _family("mlp", "multi-layer perceptron", _MLP, _mlp, scaled=True, bounds=_MLP_BOUNDS),
    "lgbm": LGBM,
    "xgb": XGB,
}

FAMILY_NAMES: tuple[str, ...] = tuple(FAMILIES)


def get_family(name: str) -> ModelFamily:
    return registered(FAMILIES, name, "model family", SpaceError)


def get_space(family: str, task: str) -> SearchSpace:
    """The built-in search space of ``family`` for ``task``."""
    return get_family(family).space(task)


def _preprocessor(ds: Dataset, scale: bool) -> ColumnTransformer:
    num_steps: list[tuple[str, Any]] = [
        ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True))
    ]
    if scale:
        num_steps.append(("scale", StandardScaler()))
    transformers: list[tuple[str, Any, list[str]]] = []
    if ds.numeric_columns:
        transformers.append(("num", Pipeline(num_steps), ds.numeric_columns))
    if ds.categorical_columns:
        transformers.append(
            (
                "cat",
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist",
                    max_categories=MAX_CATEGORIES,
                    sparse_output=False,
                ),
                ds.categorical_columns,
            )
        )
    return ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)


def encoded_width(ds: Dataset) -> int:
    """Number of model inputs after preprocessing (one-hot columns counted, indicators not)."""
    cats = sum(min(int(ds.X[c].nunique()), MAX_CATEGORIES) for c in ds.categorical_columns)
    return len(ds.numeric_columns) + cats


def build_estimator(
    family: str | ModelFamily,
    config: Mapping[str, Any],
    dataset: Dataset,
    *,
    seed: int = 0,
    needs_proba: bool = False,
) -> BaseEstimator:
    """The full, unfitted pipeline (preprocessing + model) for one configuration.

    Args:
        family: A family name or :class:`ModelFamily`.
        config: A configuration: parameters of the family's space (missing ones take their
            default; values outside the built-in range are used as given) and, from a user
            space, any other argument of the model (for example ``leaf_size`` for ``knn``;
            those the model checks when fitted).
        dataset: Only its schema is used (column types, width, size), never its values' labels.
        seed: Random state of the model.
        needs_proba: Make classifiers able to ``predict_proba`` (SVC gets ``probability=True``).

    Raises:
        SpaceError: The family needs a library that is not installed (``lgbm``, ``xgb``: the
            ``boost`` extra), ``config`` names an argument the model does not have, or gives
            a parameter of the family's space a value the model cannot take (text for a
            number, ``None``, NaN, a value outside the model's domain, see
            :meth:`ModelFamily.bound`): one line naming the parameter and what it takes.
    """
    fam = get_family(family) if isinstance(family, str) else family
    fam.check_available()
    space = fam.space(dataset.task)
    check_config(fam, space, config)
    # Parameters of the built-in space take the given value or their default; any other
    # parameter (a user space may add one) is set on the model itself by name.
    cfg = {p.name: config.get(p.name, p.default) for p in space.params}
    extras = {k: v for k, v in config.items() if k not in cfg}
    ctx = BuildContext(
        task=dataset.task,
        n_features=encoded_width(dataset),
        n_rows=dataset.n_rows,
        seed=seed,
        needs_proba=needs_proba,
    )
    model = fam.factory(cfg, ctx)
    if extras:
        valid = model.get_params(deep=False)
        unknown = sorted(set(extras) - set(valid))
        if unknown:
            raise SpaceError(
                f"parameter(s) {', '.join(unknown)} are neither in the {fam.name} space nor "
                f"arguments of {type(model).__name__}"
            )
        model.set_params(**extras)
    pipe = Pipeline([("prep", _preprocessor(dataset, fam.scale_features)), ("model", model)])
    if dataset.task == "regression" and fam.scale_target:
        return TransformedTargetRegressor(regressor=pipe, transformer=StandardScaler())
    return pipe


def sobol_design(space: SearchSpace, n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` configurations from a scrambled Sobol sequence over the unit cube of ``space``."""
    from scipy.stats import qmc

    if n <= 0:
        return []
    sampler = qmc.Sobol(d=space.dim, scramble=True, seed=np.random.default_rng(seed))
    m = int(np.ceil(np.log2(n)))
    points = sampler.random_base2(m)[:n]
    return [space.from_unit(u) for u in points]

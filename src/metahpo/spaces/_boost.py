"""The LightGBM (``lgbm``) and XGBoost (``xgb``) families: the optional extra ``metahpo[boost]``.

The spaces are plain data and always available (``get_space("lgbm", task)`` needs neither
library); the libraries are imported only when an estimator is built, and a missing one is a
one-line :class:`~metahpo.errors.SpaceError` naming ``pip install 'metahpo[boost]'``.

Both use the libraries' scikit-learn APIs with one thread per fit (``n_jobs=1``, within
metahpo's thread policy, :func:`metahpo.evaluation.limit_threads`), no log output and the
trial's seed as ``random_state``. Each space's default point is the library's default
configuration; the ranges are the usual ones of the field (log scales for counts, rates and
penalties). Two conventions, as for ``hgb``:

* a penalty at the lower bound 1e-6 stands for the library's 0 (``reg_alpha``; LightGBM's
  ``reg_lambda``), so the log scale can reach the default;
* LightGBM's ``subsample`` turns bagging on (``subsample_freq=1``) below 1, which is what the
  parameter means in XGBoost (LightGBM ignores it unless ``subsample_freq > 0``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sklearn.base import BaseEstimator

from metahpo.spaces._family import (
    FRACTION,
    NON_NEGATIVE,
    ZERO,
    BuildContext,
    _f,
    _family,
    _i,
    _zero,
)

#: What both families need installed: ``(module, package, extra)``.
_LGBM_NEEDS = (("lightgbm", "LightGBM", "boost"),)
_XGB_NEEDS = (("xgboost", "XGBoost", "boost"),)

_PENALTY_DOC = "lower bound stands for the library's 0"
_SUBSAMPLE_DOC = "fraction of rows per tree (bagging every iteration below 1)"

# -- lgbm --------------------------------------------------------------------------------------
_LGBM = (
    _i("n_estimators", 16, 1024, 100),
    _f("learning_rate", 0.01, 1.0, 0.1),
    _i("num_leaves", 4, 256, 31),
    _i("min_child_samples", 1, 128, 20),
    _f("subsample", 0.5, 1.0, 1.0, log=False, doc=_SUBSAMPLE_DOC),
    _f("colsample_bytree", 0.1, 1.0, 1.0, log=False),
    _f("reg_alpha", ZERO, 10.0, ZERO, doc=_PENALTY_DOC),
    _f("reg_lambda", ZERO, 10.0, ZERO, doc=_PENALTY_DOC),
)


def _lgbm(cfg: Mapping[str, Any], ctx: BuildContext) -> BaseEstimator:
    import lightgbm

    cls = lightgbm.LGBMClassifier if ctx.task == "classification" else lightgbm.LGBMRegressor
    subsample = float(cfg["subsample"])
    model: BaseEstimator = cls(
        n_estimators=int(cfg["n_estimators"]),
        learning_rate=float(cfg["learning_rate"]),
        num_leaves=int(cfg["num_leaves"]),
        min_child_samples=int(cfg["min_child_samples"]),
        subsample=subsample,
        subsample_freq=1 if subsample < 1.0 else 0,
        colsample_bytree=float(cfg["colsample_bytree"]),
        reg_alpha=_zero(cfg["reg_alpha"]),
        reg_lambda=_zero(cfg["reg_lambda"]),
        random_state=ctx.seed,
        n_jobs=1,
        verbose=-1,
    )
    return model


# -- xgb ---------------------------------------------------------------------------------------
_XGB = (
    _i("n_estimators", 16, 1024, 100),
    _f("learning_rate", 0.01, 1.0, 0.3),
    _i("max_depth", 1, 12, 6, log=False),
    _f("min_child_weight", 0.01, 128.0, 1.0),
    _f("subsample", 0.5, 1.0, 1.0, log=False, doc=_SUBSAMPLE_DOC),
    _f("colsample_bytree", 0.1, 1.0, 1.0, log=False),
    _f("reg_alpha", ZERO, 10.0, ZERO, doc=_PENALTY_DOC),
    _f("reg_lambda", 1e-3, 100.0, 1.0),
)


def _xgb(cfg: Mapping[str, Any], ctx: BuildContext) -> BaseEstimator:
    if ctx.task == "classification":
        from metahpo.spaces._xgb import LabelEncodedXGBClassifier as cls
    else:
        from xgboost import XGBRegressor as cls
    model: BaseEstimator = cls(
        n_estimators=int(cfg["n_estimators"]),
        learning_rate=float(cfg["learning_rate"]),
        max_depth=int(cfg["max_depth"]),
        min_child_weight=float(cfg["min_child_weight"]),
        subsample=float(cfg["subsample"]),
        colsample_bytree=float(cfg["colsample_bytree"]),
        reg_alpha=_zero(cfg["reg_alpha"]),
        reg_lambda=float(cfg["reg_lambda"]),
        tree_method="hist",
        random_state=ctx.seed,
        n_jobs=1,
        verbosity=0,
    )
    return model


LGBM = _family(
    "lgbm",
    "LightGBM gradient boosting (extra: boost)",
    _LGBM,
    _lgbm,
    scaled=False,
    requires=_LGBM_NEEDS,
    bounds=(
        ("min_child_samples", NON_NEGATIVE),
        ("subsample", FRACTION),
        ("colsample_bytree", FRACTION),
        ("reg_alpha", NON_NEGATIVE),
        ("reg_lambda", NON_NEGATIVE),
    ),
)

XGB = _family(
    "xgb",
    "XGBoost gradient boosting (extra: boost)",
    _XGB,
    _xgb,
    scaled=False,
    requires=_XGB_NEEDS,
    bounds=(
        ("max_depth", NON_NEGATIVE),
        ("min_child_weight", NON_NEGATIVE),
        ("subsample", FRACTION),
        ("colsample_bytree", FRACTION),
        ("reg_alpha", NON_NEGATIVE),
        ("reg_lambda", NON_NEGATIVE),
    ),
)

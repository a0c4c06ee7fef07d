"""Statistical meta-features of the numeric columns.

Categorical columns are left out here (their information is in the information-theoretic and
landmarking families). Without numeric columns every feature takes its documented neutral value.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats
from sklearn.feature_selection import r_regression

from metahpo.metafeatures._prepare import Prepared

STATISTICAL_NAMES: tuple[str, ...] = (
    "skewness_mean",
    "skewness_abs_max",
    "kurtosis_mean",
    "kurtosis_max",
    "correlation_abs_mean",
    "correlation_abs_max",
    "pca_fraction_95",
    "pca_first_share",
    "outlier_share",
    "cv_log_mean",
    "share_zero_cells",
    "feature_target_r2_mean",
    "feature_target_r2_max",
)

#: Tukey's fences: a value further than this many IQRs outside the quartiles is an outlier.
OUTLIER_IQR = 1.5
#: A column's mean is floored at this (relative to its largest absolute value) in the CV.
CV_MEAN_FLOOR = 1e-6


def _moments(numeric: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Skewness and excess kurtosis per column (``scipy.stats``, biased); 0 when undefined."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        skew = stats.skew(numeric, axis=0, nan_policy="omit")
        kurt = stats.kurtosis(numeric, axis=0, nan_policy="omit")
    # Constant (or single-value) columns have no shape: count them as symmetric, normal-tailed.
    return (
        np.nan_to_num(np.asarray(skew, dtype=float), nan=0.0, posinf=0.0, neginf=0.0),
        np.nan_to_num(np.asarray(kurt, dtype=float), nan=0.0, posinf=0.0, neginf=0.0),
    )


def _imputed_varying(numeric: np.ndarray) -> np.ndarray:
    """Missing values replaced by the column mean; columns without variation dropped."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        means = np.nanmean(numeric, axis=0)
    filled = np.where(np.isnan(numeric), np.nan_to_num(means), numeric)
    return filled[:, filled.std(axis=0) > 0] if filled.shape[0] else filled


def _correlation_and_pca(filled: np.ndarray) -> dict[str, float]:
    d = filled.shape[1]
    if d < 2:
        # One (or no) varying column: nothing is correlated and one component holds everything.
        return {
            "correlation_abs_mean": 0.0,
            "correlation_abs_max": 0.0,
            "pca_fraction_95": 1.0,
            "pca_first_share": 1.0,
        }
    corr = np.nan_to_num(np.corrcoef(filled, rowvar=False))
    off = np.abs(corr[np.triu_indices(d, k=1)])
    # PCA of the standardised columns: the eigenvalues of their correlation matrix.
    eigen = np.clip(np.linalg.eigvalsh(corr)[::-1], 0.0, None)
    ratio = eigen / eigen.sum() if eigen.sum() > 0 else np.full(d, 1.0 / d)
    needed = int(np.searchsorted(np.cumsum(ratio), 0.95 - 1e-12) + 1)
    return {
        "correlation_abs_mean": float(off.mean()),
        "correlation_abs_max": float(off.max()),
        "pca_fraction_95": min(needed, d) / d,
        "pca_first_share": float(ratio[0]),
    }


def _outlier_share(numeric: np.ndarray) -> float:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        q1, q3 = np.nanpercentile(numeric, [25, 75], axis=0)
    iqr = q3 - q1
    outside = (numeric < q1 - OUTLIER_IQR * iqr) | (numeric > q3 + OUTLIER_IQR * iqr)
    present = (~np.isnan(numeric)).sum(axis=0)
    shares = outside.sum(axis=0)[present > 0] / present[present > 0]
    return float(shares.mean()) if shares.size else 0.0


def _cv_log_mean(numeric: np.ndarray) -> float:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.abs(np.nanmean(numeric, axis=0))
        sd = np.nanstd(numeric, axis=0)
    ok = np.isfinite(mean) & np.isfinite(sd)
    if not ok.any():
        return 0.0
    # Columns are scaled to max |x| = 1, so the floor is relative to each column's magnitude.
    cv = sd[ok] / np.maximum(mean[ok], CV_MEAN_FLOOR)
    return float(np.mean(np.log1p(cv)))


def _target_r2(filled: np.ndarray, prep: Prepared) -> np.ndarray:
    """Share of each column's variance explained by the target.

    Classification: the correlation ratio eta² (between-class over total sum of squares).
    Regression: the squared Pearson correlation with the target.
    """
    if filled.shape[1] == 0:
        return np.zeros(0)
    if prep.task == "regression":
        if np.std(prep.y) == 0:
            return np.zeros(filled.shape[1])
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            r = r_regression(filled, prep.y)
        r2: np.ndarray = np.clip(np.nan_to_num(r) ** 2, 0.0, 1.0)
        return r2
    onehot = np.eye(int(prep.y.max()) + 1)[prep.y]
    counts = onehot.sum(axis=0)
    class_means = (onehot.T @ filled) / np.maximum(counts, 1)[:, None]
    centred = class_means - filled.mean(axis=0)
    between = counts @ (centred**2)
    total = ((filled - filled.mean(axis=0)) ** 2).sum(axis=0)
    eta2: np.ndarray = np.clip(between / total, 0.0, 1.0)
    return eta2


def statistical_features(prep: Prepared) -> dict[str, float]:
    """Shape, correlation, PCA, outliers and feature-target association of numeric columns.

    Conventions (all documented values are finite): skewness and excess kurtosis are those of
    ``scipy.stats`` (biased, Fisher) on the present values, and 0 for a column without variation;
    correlations and PCA use mean-imputed columns with variation, with correlations 0 and both
    PCA features 1.0 when fewer than two such columns exist; ``outlier_share`` is the mean share
    of values outside Tukey's fences; ``cv_log_mean`` is the mean of ``ln(1 + sd / |mean|)`` with
    ``|mean|`` floored at :data:`CV_MEAN_FLOOR` times the column's largest absolute value;
    ``feature_target_r2_*`` is eta² for classification and r² for regression. Every feature is 0
    (PCA features 1.0) for a table without numeric columns.
    """
    numeric = prep.numeric
    if numeric.shape[1] == 0 or prep.n_rows == 0:
        out = dict.fromkeys(STATISTICAL_NAMES, 0.0)
        out.update(pca_fraction_95=1.0, pca_first_share=1.0)
        return out
    skew, kurt = _moments(numeric)
    filled = _imputed_varying(numeric)
    r2 = _target_r2(filled, prep)
    present = ~np.isnan(numeric)
    return {
        "skewness_mean": float(skew.mean()),
        "skewness_abs_max": float(np.abs(skew).max()),
        "kurtosis_mean": float(kurt.mean()),
        "kurtosis_max": float(kurt.max()),
        **_correlation_and_pca(filled),
        "outlier_share": _outlier_share(numeric),
        "cv_log_mean": _cv_log_mean(numeric),
        "share_zero_cells": float(prep.numeric_zero.sum() / max(int(present.sum()), 1)),
        "feature_target_r2_mean": float(r2.mean()) if r2.size else 0.0,
        "feature_target_r2_max": float(r2.max()) if r2.size else 0.0,
    }

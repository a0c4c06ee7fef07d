"""Simple meta-features: size, shape, feature types, missing values and class balance.

They are computed on every row (no subsampling): they only count.
"""

from __future__ import annotations

import numpy as np

from metahpo.metafeatures._prepare import Prepared, n_target_bins

SIMPLE_NAMES: tuple[str, ...] = (
    "log_n_rows",
    "log_n_features",
    "log_rows_per_feature",
    "n_classes",
    "share_categorical",
    "share_binary_features",
    "share_missing_cells",
    "share_rows_with_missing",
    "share_features_with_missing",
    "log_mean_categories",
    "minority_class_share",
    "majority_class_share",
)


def target_counts(prep: Prepared) -> np.ndarray:
    """Rows per class, or per equal-width bin of a regression target (empty bins dropped).

    Equal-width bins (``n_target_bins`` of them) describe the shape of a regression target the
    way class counts describe class balance: a skewed or heavy-tailed target puts most rows in
    one bin, just as a dominant class does.
    """
    if prep.task == "classification":
        counts = np.bincount(prep.y)
    else:
        counts, _ = np.histogram(prep.y, bins=n_target_bins(prep.n_rows))
    return counts[counts > 0]


def simple_features(prep: Prepared) -> dict[str, float]:
    """Size, feature types, missing values and target balance.

    Conventions: ``n_classes`` is 0 for regression; for regression the class-share features use
    the equal-width target bins of :func:`target_counts`; ``log_mean_categories`` (``ln`` of
    1 + the mean number of categories of the categorical features) is 0 without categorical
    features. Logarithms are natural.
    """
    n = max(prep.n_rows, 1)
    p = prep.n_features
    p_cat = prep.categorical.shape[1]
    num_missing = np.isnan(prep.numeric)
    cat_missing = prep.categorical_missing
    missing_cells = int(num_missing.sum() + cat_missing.sum())
    rows_with_missing = num_missing.any(axis=1) | cat_missing.any(axis=1)
    features_with_missing = int(num_missing.any(axis=0).sum() + cat_missing.any(axis=0).sum())
    distinct = prep.n_distinct
    cat_levels = distinct[prep.numeric.shape[1] :]
    counts = target_counts(prep)
    share = counts / counts.sum() if counts.size else np.ones(1)
    return {
        "log_n_rows": float(np.log(n)),
        "log_n_features": float(np.log(max(p, 1))),
        "log_rows_per_feature": float(np.log(n / max(p, 1))),
        "n_classes": float(counts.size if prep.task == "classification" else 0),
        "share_categorical": p_cat / p if p else 0.0,
        "share_binary_features": float(np.mean(distinct == 2)) if p else 0.0,
        "share_missing_cells": missing_cells / (n * p) if p else 0.0,
        "share_rows_with_missing": float(rows_with_missing.mean()) if prep.n_rows else 0.0,
        "share_features_with_missing": features_with_missing / p if p else 0.0,
        "log_mean_categories": float(np.log1p(cat_levels.mean())) if p_cat else 0.0,
        "minority_class_share": float(share.min()),
        "majority_class_share": float(share.max()),
    }

"""The public entry points: a fixed, ordered set of meta-features for one dataset."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
from threadpoolctl import threadpool_limits

from metahpo.datasets import Dataset
from metahpo.metafeatures._information import INFORMATION_NAMES, information_features
from metahpo.metafeatures._landmarkers import LANDMARKER_NAMES, landmarker_features
from metahpo.metafeatures._prepare import prepare
from metahpo.metafeatures._simple import SIMPLE_NAMES, simple_features
from metahpo.metafeatures._statistical import STATISTICAL_NAMES, statistical_features

#: Rows used by every family except the simple one (stratified subsample for classification).
MAX_ROWS = 2000

#: Family name -> the names of its meta-features, in output order.
METAFEATURE_FAMILIES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "simple": SIMPLE_NAMES,
        "statistical": STATISTICAL_NAMES,
        "information": INFORMATION_NAMES,
        "landmarking": LANDMARKER_NAMES,
    }
)

#: Every meta-feature name, in the order of :func:`compute_metafeatures` and
#: :func:`metafeature_vector`.
METAFEATURE_NAMES: tuple[str, ...] = tuple(
    name for names in METAFEATURE_FAMILIES.values() for name in names
)


def compute_metafeatures(dataset: Dataset, seed: int = 0) -> dict[str, float]:
    """Describe a dataset by :data:`METAFEATURE_NAMES`, always all of them, in that order.

    Families (see each module for the exact definitions and conventions):

    * **simple** (every row): log sizes, number of classes, feature types, missing values and
      class balance.
    * **statistical** (numeric columns): mean / max skewness and kurtosis, absolute
      correlations, PCA explained variance, outliers, coefficient of variation, zeros, and how
      much of each feature's variance the target explains.
    * **information** (discretised features, bits): class entropy, attribute entropy, mutual
      information with the target, equivalent number of attributes, noise-to-signal ratio.
    * **landmarking**: 3-fold scores of 1-NN, a decision stump, naive Bayes (Ridge for
      regression), a depth-3 tree and an elite 1-NN.

    Regression is fully supported: class-based features use a discretised target (equal-width
    bins for the target's distribution, equal-frequency bins for mutual information),
    ``n_classes`` is 0, and landmarkers are regressors scored by R². Categorical columns enter
    information-theoretic features as ordinal codes and landmarkers as one-hot columns, and are
    left out of the numeric statistics.

    Speed: all families but the simple one work on a subsample of at most :data:`MAX_ROWS`
    rows (``dataset.subsample(MAX_ROWS, seed)``, stratified for classification), which keeps
    a 10,000 x 100 table well under a second. Native thread pools (BLAS, OpenMP) are limited to
    one thread while computing.

    Every value is a finite float on any table the loader accepts (one feature, only
    categorical features, ten rows, extreme imbalance, values near the float64 limit): where a
    feature is undefined it takes the neutral value its family documents. As a last guard, a
    value that still is not finite is reported as 0.0.

    Args:
        dataset: A loaded dataset.
        seed: Seeds the row subsample, the landmarkers' folds and their trees. The same seed
            gives the same values.

    Returns:
        ``{name: value}`` in the order of :data:`METAFEATURE_NAMES`.
    """
    # One thread: on small matrices threads cost more than they bring, and builds that run
    # several processes side by side must not oversubscribe the cores.
    with threadpool_limits(limits=1):
        full = prepare(dataset)
        small = dataset.n_rows <= MAX_ROWS
        sample = full if small else prepare(dataset.subsample(MAX_ROWS, seed))
        values: dict[str, float] = {
            **simple_features(full),
            **statistical_features(sample),
            **information_features(sample, counts_prep=full),
            **landmarker_features(sample, seed=seed),
        }
    if tuple(values) != METAFEATURE_NAMES:
        raise RuntimeError(f"meta-feature families returned {tuple(values)}")
    return {name: float(v) if np.isfinite(v) else 0.0 for name, v in values.items()}


def metafeature_vector(dataset: Dataset, seed: int = 0) -> np.ndarray:
    """:func:`compute_metafeatures` as a float64 array ordered like :data:`METAFEATURE_NAMES`."""
    values = compute_metafeatures(dataset, seed=seed)
    return np.array([values[name] for name in METAFEATURE_NAMES], dtype=np.float64)

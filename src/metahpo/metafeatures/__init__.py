"""Meta-features layer: describe a dataset by a fixed vector of cheap, comparable numbers.

Example:
    >>> import numpy as np
    >>> import pandas as pd
    >>> from metahpo.datasets import Dataset
    >>> from metahpo.metafeatures import METAFEATURE_NAMES, compute_metafeatures
    >>> X = pd.DataFrame({"a": np.arange(20.0), "b": np.tile([0.0, 1.0], 10)})
    >>> toy = Dataset("toy", X, np.array(["no", "yes"] * 10, dtype=object), "classification")
    >>> values = compute_metafeatures(toy, seed=0)
    >>> tuple(values) == METAFEATURE_NAMES
    True
    >>> values["n_classes"], values["share_binary_features"]
    (2.0, 0.5)
"""

from metahpo.metafeatures._compute import (
    MAX_ROWS,
    METAFEATURE_FAMILIES,
    METAFEATURE_NAMES,
    compute_metafeatures,
    metafeature_vector,
)

__all__ = [
    "MAX_ROWS",
    "METAFEATURE_FAMILIES",
    "METAFEATURE_NAMES",
    "compute_metafeatures",
    "metafeature_vector",
]

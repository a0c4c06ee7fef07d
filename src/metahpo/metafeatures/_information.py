"""Information-theoretic meta-features (in bits), on discretised features.

Numeric columns are cut into ``floor(cbrt(n))`` equal-frequency bins (as pymfe does), missing
values forming a bin of their own; categorical columns use their ordinal codes. All entropies and
mutual informations are then plug-in estimates from counts, so they are consistent with each
other (``0 <= MI(x, y) <= min(H(x), H(y))``).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import entropy

from metahpo.metafeatures._prepare import Prepared, equal_frequency_codes, n_bins, n_target_bins
from metahpo.metafeatures._simple import target_counts

INFORMATION_NAMES: tuple[str, ...] = (
    "class_entropy",
    "class_entropy_norm",
    "attr_entropy_mean",
    "mutual_info_mean",
    "mutual_info_max",
    "log_equivalent_attributes",
    "log_noise_signal_ratio",
)

#: Mean mutual information (bits) is floored at this in ratios, so they stay finite.
MI_FLOOR = 1e-6


def discretised(prep: Prepared) -> np.ndarray:
    """All features as non-negative integer codes, shape ``(n_rows, n_features)``."""
    numeric = equal_frequency_codes(prep.numeric, n_bins(prep.n_rows))
    return np.concatenate([numeric, prep.categorical], axis=1)


def _entropy_bits(codes: np.ndarray) -> float:
    return float(entropy(np.bincount(codes), base=2))


def entropies_and_mi(
    codes: np.ndarray, y_codes: np.ndarray
) -> tuple[np.ndarray, float, np.ndarray]:
    """Per-feature entropy H(x), target entropy H(y) and mutual information MI(x, y), in bits.

    MI is computed as ``H(x) + H(y) - H(x, y)`` from counts (the same value as
    ``sklearn.metrics.mutual_info_score``, several times faster on many columns).
    """
    h_y = _entropy_bits(y_codes)
    k_y = int(y_codes.max()) + 1 if y_codes.size else 1
    h_x = np.empty(codes.shape[1])
    mi = np.empty(codes.shape[1])
    for j in range(codes.shape[1]):
        col = codes[:, j]
        h_x[j] = _entropy_bits(col)
        h_xy = _entropy_bits(col * k_y + y_codes)
        mi[j] = h_x[j] + h_y - h_xy
    return h_x, h_y, np.clip(mi, 0.0, None)


def information_features(prep: Prepared, counts_prep: Prepared | None = None) -> dict[str, float]:
    """Class entropy, attribute entropy and feature-target mutual information.

    Args:
        prep: The (subsampled) data for attribute entropy and mutual information.
        counts_prep: The data whose target distribution gives ``class_entropy`` (default
            ``prep``); the full table, so class entropy is not blurred by subsampling.

    For regression the target is discretised twice, with documented purposes:
    ``class_entropy`` and ``class_entropy_norm`` use the equal-width bins of
    :func:`~metahpo.metafeatures._simple.target_counts` (they describe the target's shape, like
    class balance does), while mutual information, ``log_equivalent_attributes`` and
    ``log_noise_signal_ratio`` use equal-frequency target bins (the natural choice for measuring
    dependence). ``class_entropy_norm`` divides by ``log2`` of the number of classes (bins), and
    is 0 when there is a single one.

    ``log_equivalent_attributes`` is ``ln(H(y) / mean MI)`` (Michie et al.'s number of
    attributes needed to explain the target) and ``log_noise_signal_ratio`` is
    ``ln(1 + (mean H(x) - mean MI) / mean MI)``, with mean MI floored at :data:`MI_FLOOR`.
    Logarithms keep these unbounded ratios on a usable scale.
    """
    full = counts_prep if counts_prep is not None else prep
    counts = target_counts(full)
    n_classes = int(counts.size) if prep.task == "classification" else n_target_bins(full.n_rows)
    class_entropy = float(entropy(counts, base=2)) if counts.size else 0.0
    codes = discretised(prep)
    if codes.shape[1] == 0 or prep.n_rows == 0:
        h_x, h_y, mi = np.zeros(1), 0.0, np.zeros(1)
    else:
        h_x, h_y, mi = entropies_and_mi(codes, prep.y_codes)
    mi_mean = max(float(mi.mean()), MI_FLOOR)
    return {
        "class_entropy": class_entropy,
        "class_entropy_norm": class_entropy / np.log2(n_classes) if n_classes > 1 else 0.0,
        "attr_entropy_mean": float(h_x.mean()),
        "mutual_info_mean": float(mi.mean()),
        "mutual_info_max": float(mi.max()),
        "log_equivalent_attributes": float(np.log(max(h_y, MI_FLOOR) / mi_mean)),
        "log_noise_signal_ratio": float(np.log1p(max(float(h_x.mean()) - mi_mean, 0.0) / mi_mean)),
    }

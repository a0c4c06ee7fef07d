"""The negative-transfer guard: an exact one-sided Kendall test of predictions against results."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from optuna.study import Study

from metahpo.optimizers._view import GUARD_ATTR, study_attr


def disagreement(
    pairs: Sequence[tuple[float, float]], *, maximize: bool, level: float
) -> str | None:
    """Why ``(predicted, observed)`` pairs contradict the predictions, or ``None``.

    It fires when the observed results are ranked against the predictions more strongly than
    chance would do with probability ``level`` (one-sided Kendall tau test, exact without
    ties). Infinite values count (a diverging warm start is strong evidence); NaN does not;
    fewer than three pairs never fire.
    """
    kept = [(float(p), float(v)) for p, v in pairs if not math.isnan(v)]
    if level == 0.0 or len(kept) < 3:
        return None
    from scipy.stats import kendalltau, rankdata

    pred, obs = np.asarray(kept).T
    if not maximize:
        obs = -obs
    obs = rankdata(obs)  # infinities become ranks; equal ones tie
    if np.ptp(pred) == 0 or np.ptp(obs) == 0:
        return None
    test = kendalltau(pred, obs, alternative="less")
    tau, p = float(test.statistic), float(test.pvalue)
    if p > level:
        return None
    return (
        f"meta-learned predictions disagree with the first {len(kept)} results "
        f"(Kendall tau {tau:.2f}, one-sided p = {p:.3f}); "
        "continuing with the base sampler alone"
    )


def guard_message(study: Study) -> str | None:
    """What the negative-transfer guard said in this study, if it fired."""
    msg = study_attr(study, GUARD_ATTR)
    return str(msg) if msg is not None else None

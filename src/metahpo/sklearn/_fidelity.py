"""Low fidelities of :class:`~metahpo.sklearn.MetaSearchCV` (``fidelity="auto"``).

The rungs are ``metahpo tune``'s (:func:`metahpo.tuning.plan_fidelity` on the search's own CV
splits, materialised once with ``check_cv``): on data with enough training rows per fold, a
candidate is first scored with each fold's training rows subsampled to the rung's size
(:func:`~metahpo.evaluation.subsample_rows`: seeded by ``random_state`` and the fold,
stratified for a classifier, nested), on the fold's whole test rows, with scikit-learn's
``cross_validate`` and the search's own ``scoring`` (``None``: the estimator's ``score``) and
fit parameters, so a user's ``scoring`` and ``cv`` mean at a low fidelity what they mean at
full rows. After each rung the candidate's Optuna trial reports its mean score
(``trial.report(score, step=rows)``) and asks Optuna's ``SuccessiveHalvingPruner``
(``min_resource`` = the lowest rung, ``reduction_factor`` = η); a pruned candidate is told
PRUNED (user attribute :data:`~metahpo.tuning.FIDELITY_ATTR`) and never reaches scikit-learn's
``evaluate_candidates``, so ``cv_results_`` holds full-fidelity candidates only.

As in ``tune``: the first candidate of a search (no complete one yet) goes straight to full
rows; after the search's timeout a climbing candidate stops at its next rung boundary once the
search holds a complete one. A candidate whose low-fidelity score is not a number (a fit that
failed on the subsample) goes on to full rows, where scikit-learn records or raises its failure
as ``error_score`` says. ``tune``'s fold early stop is not used: ``evaluate_candidates``
cross-validates a candidate on every fold.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.trial import TrialState
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import check_cv, cross_validate

from metahpo.evaluation import Folds, subsample_rows
from metahpo.tuning import FIDELITY_ATTR, FidelityPlan, plan_fidelity


@dataclass(frozen=True)
class Rungs:
    """The low fidelities of one ``fit``: the plan and what scoring a candidate there needs.

    Attributes:
        plan: The rungs (training rows per fold) and the full rows.
        splits: The search's CV splits (``check_cv(cv, y, classifier=...)``), materialised.
        X, y: The data as given to ``fit`` (``y`` checked).
        strata: Integer class codes of ``y`` for a classifier (``None``: a regressor).
        estimator: The search's estimator, unfitted.
        options: ``cross_validate``'s ``scoring``, ``n_jobs``, ``pre_dispatch`` and ``params``
            (the search's fit parameters other than ``groups``).
        refit: The search's ``refit`` (names the optimised metric of several).
        seed: ``random_state``: seeds the subsamples.
    """

    plan: FidelityPlan
    splits: Folds
    X: Any
    y: np.ndarray
    strata: np.ndarray | None
    estimator: BaseEstimator
    options: Mapping[str, Any] = field(default_factory=dict)
    refit: Any = True
    seed: int = 0

    def pruner(self) -> optuna.pruners.BasePruner:
        """Successive halving on the rungs, as ``tune``'s default pruner."""
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=self.plan.rungs[0], reduction_factor=self.plan.eta
        )

    def score(self, params: Mapping[str, Any], rows: int) -> float:
        """The candidate's mean CV score with ``rows`` training rows per fold (``nan``: a fit
        or a score failed)."""
        cv = [
            (subsample_rows(train, rows, seed=self.seed + fold, y=self.strata), test)
            for fold, (train, test) in enumerate(self.splits)
        ]
        estimator = clone(self.estimator).set_params(**params)
        try:
            result = cross_validate(
                estimator, self.X, self.y, cv=cv, error_score="raise", **self.options
            )
        except Exception:  # full rows record the failure as the search's error_score says
            return float("nan")
        key = f"test_{self.refit}" if isinstance(self.refit, str) else "test_score"
        if key not in result:  # several metrics without a named refit: the first one
            key = next(k for k in result if k.startswith("test_"))
        return float(np.mean(result[key]))


def plan_rungs(
    search: Any, X: Any, y: np.ndarray, params: Mapping[str, Any], classifier: bool
) -> Rungs | None:
    """The low fidelities of ``search.fit(X, y, **params)`` (``None``: every candidate at full
    rows: ``fidelity="none"``, or too few training rows per fold for the rungs)."""
    if search.fidelity == "none":
        return None
    groups = params.get("groups")
    checked = check_cv(search.cv, y, classifier=classifier)
    splits = [(np.asarray(tr), np.asarray(te)) for tr, te in checked.split(X, y, groups)]
    plan = plan_fidelity(search.fidelity, splits)
    if plan is None:
        return None
    fit_params = {k: v for k, v in params.items() if k != "groups"}
    options: dict[str, Any] = {
        "scoring": search.scoring,
        "n_jobs": search.n_jobs,
        "pre_dispatch": search.pre_dispatch,
    }
    if fit_params:
        options["params"] = fit_params
    strata = pd.factorize(pd.Series(y))[0] if classifier else None
    return Rungs(
        plan, splits, X, y, strata, search.estimator, options, search.refit, search.random_state
    )


def climb(trial: optuna.Trial, rungs: Rungs, deadline: float | None) -> bool:
    """Score ``trial``'s candidate up the rungs; whether it goes on to full rows (else it has
    been told PRUNED). ``deadline``: ``time.monotonic()`` of the search's timeout."""
    study = trial.study
    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return True  # the first model of a search goes straight to full rows
    k = rungs.plan.folds
    for rows in rungs.plan.rungs:
        if deadline is not None and time.monotonic() > deadline:
            return _prune(trial, {"train_rows": rows, "folds": 0, "of_folds": k, "deadline": True})
        score = rungs.score(trial.params, rows)
        if not np.isfinite(score):
            return True
        trial.report(score, step=rows)
        if trial.should_prune():
            return _prune(trial, {"train_rows": rows, "folds": k, "of_folds": k})
    if deadline is not None and time.monotonic() > deadline:
        full = rungs.plan.full_rows
        return _prune(trial, {"train_rows": full, "folds": 0, "of_folds": k, "deadline": True})
    return True


def _prune(trial: optuna.Trial, where: dict[str, Any]) -> bool:
    trial.set_user_attr(FIDELITY_ATTR, where)
    trial.study.tell(trial, state=TrialState.PRUNED)
    return False


def stopped_early(study: optuna.Study) -> dict[str, int]:
    """How many candidates stopped at each rung (``"2000 rows"``) or at the timeout."""
    found: dict[tuple[int, str], int] = {}
    for t in study.get_trials(deepcopy=False, states=(TrialState.PRUNED,)):
        where = t.user_attrs.get(FIDELITY_ATTR)
        if not isinstance(where, dict):
            continue
        rows = int(where.get("train_rows", 0))
        key = (1 << 62, "the timeout") if where.get("deadline") else (rows, f"{rows} rows")
        found[key] = found.get(key, 0) + 1
    return {label: n for (_, label), n in sorted(found.items())}

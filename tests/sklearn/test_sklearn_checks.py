"""scikit-learn's estimator contract (``parametrize_with_checks``) for the sklearn interface.

Each estimator runs in its classification and its regression form (the task is a parameter
that fixes the scikit-learn type; there is no ``"auto"`` form). No check is declared as an
expected failure: every one of scikit-learn's checks passes.

Budgets are small: the 206 checks take about 35 s of CPU (76 s of wall time on two cores
shared with a benchmark), 85% of it in ``MetaSearchCV``. ``knn`` fits fast, and two candidates
on two folds still run the whole search: meta-features, one warm start from the bundled
experience, one candidate from the refining sampler, refit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sklearn.utils.estimator_checks import parametrize_with_checks

from metahpo.sklearn import FamilyModel, MetaSearchCV

ESTIMATORS = [
    FamilyModel("knn"),
    FamilyModel("knn", task="regression"),
    MetaSearchCV("knn", n_iter=2, cv=2, warm_start=1),
    MetaSearchCV("knn", n_iter=2, cv=2, warm_start=1, task="regression"),
]


@parametrize_with_checks(ESTIMATORS)  # type: ignore[untyped-decorator]
def test_scikit_learn_estimator_checks(estimator: Any, check: Callable[[Any], None]) -> None:
    check(estimator)

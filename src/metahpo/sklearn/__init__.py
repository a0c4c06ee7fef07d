"""scikit-learn interface: :class:`MetaSearchCV` and the :class:`FamilyModel` it searches.

Both pass scikit-learn's estimator checks (``parametrize_with_checks``). Their scikit-learn type
is fixed by the ``task`` parameter before any data is seen, as a classifier's or a regressor's
is: ``"classification"`` (the default) makes a classifier, so cross-validation around it is
stratified, ``"regression"`` a regressor. Tables may hold missing values and text columns
(metahpo cleans and encodes them); sparse, complex, one-dimensional or empty input, a missing or
multi-column ``y`` and a continuous ``y`` for a classifier are rejected with scikit-learn's
messages.

Example:
    >>> from metahpo.sklearn import MetaSearchCV  # doctest: +SKIP
    >>> search = MetaSearchCV("hgb", n_iter=20).fit(X, y)  # doctest: +SKIP
    >>> search.best_params_, search.best_score_  # doctest: +SKIP
    >>> MetaSearchCV("hgb", task="regression").fit(X, y_continuous)  # doctest: +SKIP
"""

from metahpo.sklearn._model import FamilyModel
from metahpo.sklearn._search import MetaSearchCV

__all__ = ["FamilyModel", "MetaSearchCV"]

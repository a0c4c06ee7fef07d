"""scikit-learn interface: :class:`MetaSearchCV` and the :class:`FamilyModel` it searches.

Both pass scikit-learn's estimator checks (``parametrize_with_checks``). Their scikit-learn type
is fixed by the ``task`` parameter before any data is seen, as a classifier's or a regressor's
is: ``"classification"`` (the default) makes a classifier, so cross-validation around it is
stratified, ``"regression"`` a regressor. Tables may hold missing values and text columns
(metahpo cleans and encodes them); sparse, complex, one-dimensional or empty input, a missing or
multi-column ``y`` and a continuous ``y`` for a classifier are rejected with scikit-learn's
messages.

Example:
    >>> from sklearn.datasets import load_diabetes, load_iris
    >>> from metahpo.sklearn import MetaSearchCV
    >>> X, y = load_iris(return_X_y=True)
    >>> search = MetaSearchCV("knn", n_iter=3).fit(X, y)
    >>> sorted(search.best_params_), float(search.best_score_) > 0.9
    (['n_neighbors', 'p', 'weights'], True)
    >>> X, y_continuous = load_diabetes(return_X_y=True)
    >>> regression = MetaSearchCV("knn", task="regression", n_iter=3).fit(X, y_continuous)
    >>> len(regression.cv_results_["params"]), regression.meta_["strategy"]
    (3, 'portfolio')
"""

from metahpo.sklearn._model import FamilyModel
from metahpo.sklearn._search import MetaSearchCV

__all__ = ["FamilyModel", "MetaSearchCV"]

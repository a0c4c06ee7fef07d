"""scikit-learn interface: :class:`MetaSearchCV` and the :class:`FamilyModel` it searches.

Example:
    >>> from metahpo.sklearn import MetaSearchCV  # doctest: +SKIP
    >>> search = MetaSearchCV("hgb", n_iter=20).fit(X, y)  # doctest: +SKIP
    >>> search.best_params_, search.best_score_  # doctest: +SKIP
"""

from metahpo.sklearn._model import FamilyModel
from metahpo.sklearn._search import MetaSearchCV

__all__ = ["FamilyModel", "MetaSearchCV"]

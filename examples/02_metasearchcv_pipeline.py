"""MetaSearchCV inside a scikit-learn Pipeline, evaluated with cross_val_score.

MetaSearchCV is an ordinary scikit-learn estimator (a drop-in for RandomizedSearchCV whose
first candidates are meta-learned), so it can be a pipeline step and be cross-validated as a
whole: the outer folds measure the tuned model honestly, each outer fit running its own search
on its training part only. Data: scikit-learn's diabetes regression data (442 rows).

Run: python examples/02_metasearchcv_pipeline.py   (under a minute on 2 cores)
"""

from __future__ import annotations

from sklearn.datasets import load_diabetes
from sklearn.feature_selection import SelectKBest, f_regression
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR

from metahpo import MetaSearchCV

X, y = load_diabetes(return_X_y=True, as_frame=True)
outer = KFold(n_splits=5, shuffle=True, random_state=0)

# A feature-selection step, then an RBF support-vector regressor tuned by metahpo (10
# candidates, 3 inner folds; scaling is part of every candidate). task="regression" makes the
# search a regressor before it sees data.
tuned = Pipeline(
    [
        ("select", SelectKBest(f_regression, k=6)),
        ("search", MetaSearchCV("svm", task="regression", n_iter=10, cv=3, random_state=0)),
    ]
)
baseline = make_pipeline(SelectKBest(f_regression, k=6), StandardScaler(), SVR())

for name, model in [("SVR with defaults", baseline), ("SVR tuned by MetaSearchCV", tuned)]:
    scores = cross_val_score(model, X, y, cv=outer, scoring="r2")
    print(f"{name:<26} R2 {scores.mean():.3f} ± {scores.std():.3f} (5 outer folds)")

# Fitted on all rows, the search tells what it chose and which past tasks it learned from.
tuned.fit(X, y)
search = tuned.named_steps["search"]
chosen = {k: v if isinstance(v, str) else float(f"{v:.3g}") for k, v in search.best_params_.items()}
print("chosen:", chosen)
print(f"inner CV R2 of the chosen configuration: {search.best_score_:.3f}")
nearest = ", ".join(f"{d} ({s:.2f})" for d, s in search.meta_["neighbors"][:3])
print("nearest past tasks:", nearest)

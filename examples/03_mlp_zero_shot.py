"""Choose an MLP's hidden units and learning rate from meta-features, without any search.

metahpo describes the dataset by meta-features (size, class balance, feature statistics,
landmarkers...), finds the most similar past tasks in its bundled experience and suggests the
MLP configurations that did well there (zero-shot: nothing is trained on this dataset to
choose them). Where the evidence for its own configurations is weak, metahpo puts the library
default first (here scikit-learn's default MLPClassifier): the script says so and then compares
the first meta-learned suggestion with the default MLPClassifier on the same cross-validation
folds; otherwise it compares the first suggestion.
Data: scikit-learn's Wisconsin breast-cancer data (not in metahpo's bundled experience).

Run: python examples/03_mlp_zero_shot.py   (under a minute on 2 cores)
"""

from __future__ import annotations

import warnings

from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import RepeatedStratifiedKFold, cross_val_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import metahpo
from metahpo.datasets import from_frame

warnings.filterwarnings("ignore", category=ConvergenceWarning)  # short max_iter is a choice
X, y = load_breast_cancer(return_X_y=True, as_frame=True)
data = from_frame(X, y, "classification", name="breast_cancer")

# Zero-shot: three suggestions for the "mlp" family, best first. Each carries a predicted
# normalised score (1 = as good as the best known configuration on similar tasks), a
# confidence (low when the dataset is far from every past task) and the tasks behind it.
suggestions = metahpo.suggest_for_dataset(data, "mlp", k=3)
default_config = metahpo.get_space("mlp", data.task).default_config()
for s in suggestions:
    p = s.params
    print(
        f"width {p['width']:>3} x depth {p['depth']}  learning_rate_init "
        f"{p['learning_rate_init']:.2g}  alpha {p['alpha']:.2g}  max_iter {p['max_iter']:>3}  "
        f"{p['activation']:<4}  predicted {s.predicted_score:.2f}"
        + ("  (the library default)" if p == default_config else "")
    )
tasks = ", ".join(d for d, _ in suggestions[0].neighbors[:3])
print(f"confidence {suggestions[0].confidence:.2f}; learned from {tasks}")

# The library default goes first when the similar tasks give no clear evidence that a
# meta-learned configuration beats it. Comparing the default with itself would show nothing,
# so the comparison below takes the first suggestion that is not the default.
best = next(s for s in suggestions if s.params != default_config)
if suggestions[0].params == default_config:
    print(
        "The first suggestion is the library default (weak evidence for the others); "
        f"compared below: suggestion {suggestions.index(best) + 1}, the first meta-learned one."
    )

# metahpo's mlp parameters map onto scikit-learn's MLPClassifier like this (the same mapping
# metahpo uses when it evaluates a configuration; features are standardised first).
p = best.params
suggested = MLPClassifier(
    hidden_layer_sizes=(p["width"],) * p["depth"],
    learning_rate_init=p["learning_rate_init"],
    alpha=p["alpha"],
    max_iter=p["max_iter"],
    activation=p["activation"],
    random_state=0,
)
default = MLPClassifier(random_state=0)  # 100 hidden units, learning rate 0.001

cv = RepeatedStratifiedKFold(n_splits=5, n_repeats=2, random_state=0)
scores = {}
for name, mlp in [("default MLP", default), ("zero-shot MLP", suggested)]:
    pipeline = make_pipeline(StandardScaler(), mlp)
    scores[name] = cross_val_score(pipeline, X, y, cv=cv, scoring="balanced_accuracy")
    print(f"{name:<14} balanced accuracy {scores[name].mean():.4f} ± {scores[name].std():.4f}")

# Both ran on the same 10 folds, so compare them fold by fold. On a small, easy dataset the
# gap is often within noise: a suggestion is a sound start, not a guarantee (example 01
# searches from it).
diff = scores["zero-shot MLP"] - scores["default MLP"]
stderr = diff.std(ddof=1) / len(diff) ** 0.5
if not diff.any():
    verdict = "the same on every fold"
elif abs(diff.mean()) <= 2 * stderr:
    verdict = "within noise"
else:
    verdict = "beyond noise: " + ("better" if diff.mean() > 0 else "worse") + " than the default"
print(f"zero-shot minus default: {diff.mean():+.4f} (standard error {stderr:.4f}; {verdict})")

"""Warm-start from your own earlier Optuna study, then tune a related dataset with it.

You ran an ordinary Optuna study last week (no metahpo involved) and kept it in a storage.
`import_study` (the command line: `metahpo kb import`) attaches metahpo's task record to it,
meta-features included, so that it becomes experience: a later run on a similar dataset starts
from what worked there. Here the earlier study tuned a gradient-boosting classifier on the ten
"mean" features of the Wisconsin breast-cancer data; the new task uses the ten "worst"
features of the same cells instead: related, not identical.

Run: python examples/04_warm_start_from_your_study.py   (about a minute on 2 cores)
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import optuna
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score

import metahpo
from metahpo.datasets import from_frame
from metahpo.knowledge import KnowledgeStore, import_study

optuna.logging.set_verbosity(optuna.logging.WARNING)
X, y = load_breast_cancer(return_X_y=True, as_frame=True)
old_X = X[[c for c in X.columns if c.startswith("mean ")]]
new_X = X[[c for c in X.columns if c.startswith("worst ")]]
cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)


def objective_for(features):  # your objective, parameters named as in metahpo's "hgb" space
    def objective(trial: optuna.Trial) -> float:
        model = HistGradientBoostingClassifier(
            learning_rate=trial.suggest_float("learning_rate", 0.01, 1.0, log=True),
            max_iter=trial.suggest_int("max_iter", 16, 256, log=True),
            max_leaf_nodes=trial.suggest_int("max_leaf_nodes", 4, 128, log=True),
            min_samples_leaf=trial.suggest_int("min_samples_leaf", 1, 64, log=True),
            max_features=trial.suggest_float("max_features", 0.1, 1.0),
            random_state=0,
        )
        scores = cross_val_score(model, features, y, cv=cv, scoring="balanced_accuracy")
        return float(scores.mean())

    return objective


def same(config: dict, reference: dict) -> bool:
    """``config`` equals ``reference`` on the reference's parameters (floats to rounding)."""
    return all(np.isclose(config[k], v, rtol=1e-6, atol=1e-5) for k, v in reference.items())


def origin(config: dict, earlier: optuna.Study) -> str:
    """Where a warm start comes from: the library default, your study, or the bundle."""
    if same(config, metahpo.get_space("hgb", "classification").default_config()):
        return "library default"
    ranked = sorted(earlier.trials, key=lambda t: -t.value)
    for rank, trial in enumerate(ranked, start=1):
        if same(config, trial.params):
            return "your study's best" if rank == 1 else f"your study's no. {rank}"
    return "bundled experience"


with tempfile.TemporaryDirectory() as tmp:
    url = f"sqlite:///{Path(tmp) / 'my-studies.db'}"  # your own storage in real use

    # 1. The earlier study: plain Optuna, TPE, on the "mean" features.
    earlier = optuna.create_study(
        study_name="hgb-mean-features",
        storage=url,
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=1),
    )
    earlier.optimize(objective_for(old_X), n_trials=15)
    print(f"earlier study: best {earlier.best_value:.4f} in {len(earlier.trials)} trials")

    # 2. Make it experience. Same as:
    #    metahpo kb import --storage URL --study hgb-mean-features DATA --model hgb \
    #        --metric balanced_accuracy
    old_data = from_frame(old_X, y, "classification", name="breast_cancer_mean")
    report = import_study(
        KnowledgeStore(url),
        "hgb-mean-features",
        old_data,
        family="hgb",
        metric="balanced_accuracy",
    )
    print(
        f"imported {report.n_trials} trials as {report.family} experience; parameters "
        f"matched: {', '.join(report.matched)}; left at metahpo's default: "
        f"{', '.join(report.missing) or 'none'}"
    )

    # 3. The new task, with the bundled experience plus your store, and for comparison with
    #    the bundled experience alone. strategy="nearest" starts from the best configurations
    #    of the most similar past tasks (the default, "portfolio", mixes several tasks'
    #    configurations and would put your study's best third here).
    new_data = from_frame(new_X, y, "classification", name="breast_cancer_worst")
    runs = {}
    for label, storage in [("bundled + your study", url), ("bundled only", None)]:
        plan = metahpo.meta_sampler_for(
            new_data, "hgb", storage=storage, strategy="nearest", n_warm_start=3
        )
        near = ", ".join(f"{d} ({s:.2f})" for d, s in plan.suggestions[0].neighbors[:2])
        print(f"{label:<21} nearest tasks: {near}")
        starts = ", ".join(origin(c, earlier) for c in plan.sampler.warm_start)
        print(f"{'':<21} warm starts: {starts}")
        study = optuna.create_study(direction="maximize", sampler=plan.sampler)
        study.optimize(objective_for(new_X), n_trials=6)
        runs[label] = [t.value for t in study.trials]

print("\nnew task, balanced accuracy (3-fold CV) of each trial, warm starts first")
best = {}
for label, values in runs.items():
    best[label] = [max(values[: i + 1]) for i in range(len(values))]
    print(
        f"{label:<21} "
        + " ".join(f"{v:.4f}" for v in values)
        + f"   best after 1 / 3 / 6: {best[label][0]:.4f} / {best[label][2]:.4f} / "
        + f"{best[label][-1]:.4f}"
    )
gains = [best["bundled + your study"][i] - best["bundled only"][i] for i in (0, 2, -1)]
print(
    "with minus without your study, best after 1 / 3 / 6: " + " / ".join(f"{g:+.4f}" for g in gains)
)
# One seed on 569 rows: gaps of a few thousandths are within the folds' noise. What the
# import changes for sure is where the search starts: your study's best configuration first.

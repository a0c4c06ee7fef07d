"""The continual loop: every finished run becomes experience for the next one.

Three related datasets arrive one after another (checkerboard-like class patterns of different
sizes and noise: a shape the bundled experience knows little about, since the best k-nearest-
neighbours settings for it, few neighbours and distance weighting, are unusual). Each is tuned
with `metahpo.tune` into the same storage, so the runs of datasets 1 and 2 are experience when
dataset 3 starts. For comparison dataset 3 is also tuned in an empty storage, where metahpo
has only its bundled experience. Whatever the numbers say is printed, favourable or not.

Run: python examples/05_continual_loop.py   (under a minute on 2 cores)
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import optuna
import pandas as pd

import metahpo
from metahpo.datasets import from_frame


def checkerboard(n: int, cells: int, noise: float, seed: int) -> metahpo.Dataset:
    """Points in a square, labelled by the colour of their cell; a share of labels flipped."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.0, cells, size=(n, 2))
    y = (np.floor(X[:, 0]) + np.floor(X[:, 1])) % 2
    flip = rng.random(n) < noise
    y[flip] = 1 - y[flip]
    frame = pd.DataFrame(X, columns=["u", "v"])
    return from_frame(
        frame, np.where(y == 1, "black", "white"), "classification", name=f"board{seed}"
    )


optuna.logging.set_verbosity(optuna.logging.WARNING)
datasets = [
    checkerboard(n=300, cells=4, noise=0.02, seed=1),
    checkerboard(n=400, cells=5, noise=0.05, seed=2),
    checkerboard(n=350, cells=4, noise=0.03, seed=3),
]
settings = dict(budget=10, folds=3, warm_start=3, seed=0)  # small, to keep the example quick


def trials(result: metahpo.TuneResult) -> list[optuna.trial.FrozenTrial]:
    """The study's completed trials in order (the run is a plain Optuna study)."""
    study = optuna.load_study(study_name=result.study, storage=result.storage)
    return [t for t in study.trials if t.value is not None]


DEFAULT = metahpo.get_space("knn", "classification").default_config()


def short(params: dict) -> str:
    marker = " (default)" if params == DEFAULT else ""
    return f"k={params['n_neighbors']} {params['weights']} p={params['p']}{marker}"


with tempfile.TemporaryDirectory() as tmp:
    store = f"sqlite:///{Path(tmp) / 'experience.db'}"  # e.g. sqlite:///metahpo.db in real use
    for data in datasets:
        result = metahpo.tune(data, "knn", storage=store, **settings)
        print(
            f"{data.name}: best balanced accuracy {result.best_value:.4f} with {result.best_params}"
        )
    with_experience = trials(result)

    # Dataset 3 again, in an empty storage: only the bundled experience to learn from.
    fresh = metahpo.tune(
        datasets[2], "knn", storage=f"sqlite:///{Path(tmp) / 'empty.db'}", **settings
    )
    without_experience = trials(fresh)

runs = {"with runs 1-2": with_experience, "bundled only": without_experience}
print(f"\n{datasets[2].name}: the first three trials (configuration, balanced accuracy, 3-fold CV)")
for label, run in runs.items():
    print(f"{label:<13} " + " | ".join(f"{short(t.params)} {t.value:.4f}" for t in run[:3]))

print(f"\n{datasets[2].name}, best so far")
print("after trial      1       3      10")
best = {label: np.maximum.accumulate([t.value for t in run]) for label, run in runs.items()}
for label, values in best.items():
    print(f"{label:<13} {values[0]:7.4f} {values[2]:7.4f} {values[-1]:7.4f}")
gains = [best["with runs 1-2"][i] - best["bundled only"][i] for i in (0, 2, -1)]
print(
    "with minus without runs 1-2 after trial 1 / 3 / 10: " + " / ".join(f"{g:+.4f}" for g in gains)
)

# How soon each run reached the best score either found: the measure of a warm start.
top = max(values[-1] for values in best.values())
for label, values in best.items():
    reached = [i + 1 for i, v in enumerate(values) if v >= top]
    when = f"at trial {reached[0]}" if reached else f"not in {len(values)} trials"
    print(f"{label} reached the best score of both runs ({top:.4f}) {when}")

"""The top-level Python API: every public name resolves, and the shortest path to a
meta-learned Optuna sampler works in a plain study with a user objective."""

from __future__ import annotations

import subprocess
import sys

import optuna
import pytest

import metahpo
from metahpo.datasets import Dataset
from metahpo.evaluation import evaluate, make_folds


def test_every_public_name_resolves() -> None:
    for name in metahpo.__all__:
        assert getattr(metahpo, name) is not None, name
        assert name in vars(metahpo), name  # lazy names are bound once resolved
    assert metahpo.tune is __import__("metahpo.tuning").tuning.tune
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = metahpo.nope  # type: ignore[attr-defined]


def test_importing_metahpo_does_not_import_the_interfaces() -> None:
    code = (
        "import sys, metahpo\n"
        "loaded = [m for m in ('metahpo.tuning', 'metahpo.sklearn', 'metahpo.optimizers', "
        "'torch') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_meta_sampler_for_a_dataset_in_a_plain_study(tiny_clf: Dataset, sqlite_url: str) -> None:
    plan = metahpo.meta_sampler_for(tiny_clf, "knn", storage=sqlite_url)
    assert isinstance(plan.sampler, metahpo.MetaSampler)
    space = metahpo.get_space("knn", tiny_clf.task)
    folds = make_folds(tiny_clf, 2, 0)

    def objective(trial: optuna.Trial) -> float:  # the user's own objective
        config = {
            "n_neighbors": trial.suggest_int("n_neighbors", 1, 50, log=True),
            "weights": trial.suggest_categorical("weights", ["uniform", "distance"]),
            "p": trial.suggest_categorical("p", [1, 2]),
        }
        return float(evaluate(tiny_clf, "knn", space.transfer(config)[0], folds=folds).value)

    study = optuna.create_study(direction="maximize", sampler=plan.sampler, storage=sqlite_url)
    study.optimize(objective, n_trials=len(plan.sampler.warm_start) + 2)
    first = [t.params for t in study.trials[: len(plan.sampler.warm_start)]]
    # the warm starts first, clipped to the objective's own range (1..50; built-in 1..64)
    expected = [space.transfer(c)[0] for c in plan.sampler.warm_start]
    assert first == [{**c, "n_neighbors": min(c["n_neighbors"], 50)} for c in expected]
    assert space.default_config() in first

"""The Reptile (first-order MAML) meta-trained surrogate and its sampler (torch extra)."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from scipy.stats import spearmanr

from metahpo.knowledge import Experience
from metahpo.optimizers import make_meta_sampler
from metahpo.optimizers.research import MAMLSampler, MetaTrainedSurrogate
from metahpo.testing import DESIGN, KNN, knn_experience, knn_objective, knn_score

pytestmark = pytest.mark.torch
pytest.importorskip("torch")
optuna.logging.set_verbosity(optuna.logging.WARNING)

X = np.vstack([KNN.encode(c) for c in DESIGN])


def _fit_quality(surrogate: MetaTrainedSurrogate, m0: float, seed: int) -> float:
    """Spearman correlation with the truth after adapting on 6 evaluations of a new task."""
    truth = np.array([knn_score(m0, c) for c in DESIGN])
    idx = np.random.default_rng(seed).choice(len(DESIGN), size=6, replace=False)
    y = (truth[idx] - truth.min()) / (truth.max() - truth.min())
    pred = surrogate.adapt(X[idx], y, steps=10)(X)
    return float(spearmanr(pred, truth).statistic)


def test_meta_training_makes_few_shot_adaptation_better() -> None:
    train = knn_experience(np.linspace(-1.0, 1.0, 10))
    meta = MetaTrainedSurrogate(seed=0).fit(train, KNN)
    untrained = MetaTrainedSurrogate(seed=0, meta_iterations=0).fit(train, KNN)
    held_out = [-0.55, 0.05, 0.65]
    trained_q = np.mean([_fit_quality(meta, m0, s) for m0 in held_out for s in range(3)])
    untrained_q = np.mean([_fit_quality(untrained, m0, s) for m0 in held_out for s in range(3)])
    assert trained_q > untrained_q
    assert trained_q > 0.5
    # with nothing to adapt to, the sampler ranks candidates by the initialisation itself
    assert np.allclose(meta.predict(X), meta.adapt(X[:0], np.zeros(0), steps=0)(X))


def test_maml_sampler_in_a_plain_study() -> None:
    surrogate = MetaTrainedSurrogate(seed=0).fit(knn_experience(np.linspace(-1, 1, 10)), KNN)
    study = optuna.create_study(direction="maximize", sampler=MAMLSampler(KNN, surrogate, seed=0))
    study.optimize(knn_objective(0.3), n_trials=12)
    best_design = max(knn_score(0.3, c) for c in DESIGN)
    assert study.best_value > best_design - 0.05


def test_maml_base_of_the_meta_sampler_without_experience() -> None:
    plan = make_meta_sampler(
        np.array([0.3, 0.0]),
        "knn",
        "classification",
        experience=Experience((), ()),
        base="maml",
        seed=0,
    )
    study = optuna.create_study(direction="maximize", sampler=plan.sampler)
    study.optimize(knn_objective(0.3), n_trials=4)
    assert study.trials[0].params == KNN.default_config()
    assert isinstance(plan.sampler.base_sampler, MAMLSampler)

"""The meta-trained deep-kernel GP (FSBO) and its sampler (torch extra, GPyTorch)."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from scipy.stats import spearmanr

from metahpo.errors import MetaHPOError
from metahpo.knowledge import Experience
from metahpo.optimizers import make_meta_sampler
from metahpo.optimizers.research import DeepKernelGP, DeepKernelSampler
from metahpo.testing import DESIGN, KNN, knn_experience, knn_objective, knn_score

pytestmark = pytest.mark.torch
pytest.importorskip("gpytorch")
optuna.logging.set_verbosity(optuna.logging.WARNING)

X = np.vstack([KNN.encode(c) for c in DESIGN])
TRAIN = knn_experience(np.linspace(-1.0, 1.0, 10))


def _fit_quality(model: DeepKernelGP, m0: float, seed: int) -> float:
    """Spearman correlation with the truth after fine-tuning on 5 evaluations of a new task."""
    truth = np.array([knn_score(m0, c) for c in DESIGN])
    idx = np.random.default_rng(seed).choice(len(DESIGN), size=5, replace=False)
    mean, sd, best = model.adapt(X[idx], truth[idx])(X)
    assert np.all(sd > 0) and np.isfinite(best)
    return float(spearmanr(mean, truth).statistic)


def test_meta_training_makes_few_shot_ranking_better() -> None:
    meta = DeepKernelGP(seed=0, meta_iterations=300).fit(TRAIN, KNN)
    untrained = DeepKernelGP(seed=0).fit(None, KNN)
    assert meta.n_tasks_ == 10 and untrained.n_tasks_ == 0
    held_out = [-0.55, 0.05, 0.65]
    trained_q = np.mean([_fit_quality(meta, m0, s) for m0 in held_out for s in range(3)])
    untrained_q = np.mean([_fit_quality(untrained, m0, s) for m0 in held_out for s in range(3)])
    assert trained_q > untrained_q + 0.1
    assert trained_q > 0.6


def test_reptile_meta_training_also_learns() -> None:
    reptile = DeepKernelGP(seed=0, meta_iterations=300, inner_steps=3).fit(TRAIN, KNN)
    assert np.mean([_fit_quality(reptile, m0, 0) for m0 in (-0.55, 0.05, 0.65)]) > 0.6


def test_proposes_new_points_and_improves_on_the_best_warm_start() -> None:
    """On a smooth objective the fine-tuned GP refines between the stored configurations."""
    model = DeepKernelGP(seed=0, meta_iterations=300).fit(TRAIN, KNN)
    m0 = 0.3
    warm = DESIGN[:4]
    sampler = DeepKernelSampler(KNN, model, seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    for config in warm:
        study.enqueue_trial(config)
    study.optimize(knn_objective(m0), n_trials=16)
    later = [t.params for t in study.trials[4:]]
    # the continuous space, not the stored points (a few may coincide: n_neighbors is an int)
    assert sum(p not in DESIGN for p in later) >= len(later) // 2
    assert study.best_value > max(knn_score(m0, c) for c in warm)
    assert study.best_value > max(knn_score(m0, c) for c in DESIGN) - 0.05


def test_fsbo_base_meta_trains_on_the_experience_and_needs_a_matching_model() -> None:
    plan = make_meta_sampler(
        np.array([0.3, 0.0]), "knn", "classification", experience=TRAIN, base="fsbo", seed=0
    )
    base = plan.sampler.base_sampler
    assert isinstance(base, DeepKernelSampler) and base.surrogate.n_tasks_ == 10
    with pytest.raises(MetaHPOError, match="DeepKernelGP"):
        make_meta_sampler(
            np.array([0.3, 0.0]),
            "knn",
            "classification",
            experience=TRAIN,
            base="fsbo",
            base_model=object(),
        )


def test_fsbo_base_without_experience_starts_from_the_default() -> None:
    plan = make_meta_sampler(
        np.array([0.3, 0.0]),
        "knn",
        "classification",
        experience=Experience((), ()),
        base="fsbo",
        seed=0,
    )
    study = optuna.create_study(direction="maximize", sampler=plan.sampler)
    study.optimize(knn_objective(0.3), n_trials=5)
    assert study.trials[0].params == KNN.default_config()
    assert isinstance(plan.sampler.base_sampler, DeepKernelSampler)
    assert len({tuple(sorted(t.params.items())) for t in study.trials}) == 5

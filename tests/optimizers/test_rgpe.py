"""The ranking-weighted GP ensemble behind the ``transfer-gp`` base."""

from __future__ import annotations

import numpy as np

from metahpo.optimizers._rgpe import RankingWeightedEnsemble, ranking_losses
from metahpo.spaces import get_space

SPACE = get_space("svm", "regression")  # C, gamma_scale, epsilon: three numeric parameters


def _objective(x: np.ndarray, optimum: np.ndarray) -> np.ndarray:
    return -((np.atleast_2d(x) - optimum) ** 2).sum(axis=1)


def _task(optimum: np.ndarray, seed: int, n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.asarray([SPACE.encode(SPACE.from_unit(u)) for u in rng.random((n, SPACE.dim))])
    return X, _objective(X, optimum)


def test_ranking_losses_count_misordered_pairs() -> None:
    y = np.array([0.0, 1.0, 2.0])
    samples = np.array([[0.0, 2.0], [1.0, 1.0], [2.0, 0.0]])  # column 0 right, column 1 reversed
    assert ranking_losses(samples, y).tolist() == [0, 3]


def test_weights_move_from_similarity_to_the_evidence() -> None:
    good = np.array([0.7, 0.3, 0.5])
    bad = np.array([0.1, 0.9, 0.2])
    # The misleading task looks the most similar by meta-features.
    model = RankingWeightedEnsemble(SPACE, [(*_task(bad, 1), 0.9), (*_task(good, 2), 0.1)], seed=0)
    assert model.weights(np.zeros((0, 3)), np.zeros(0)).tolist() == [0.9, 0.1, 0.0]
    X, _ = _task(good, 3, n=8)
    w = model.weights(X, _objective(X, good))
    assert w.sum() == 1.0 or abs(w.sum() - 1.0) < 1e-9
    assert w[1] > w[0] and w[0] < 0.2  # the evidence overrules the meta-features


def test_proposals_are_continuous_and_improve_on_the_warm_start() -> None:
    optimum = np.array([0.62, 0.41, 0.33])
    past = [(*_task(optimum + 0.05, s), 1.0) for s in range(3)]  # near, not at, the optimum
    model = RankingWeightedEnsemble(SPACE, past, seed=0)
    stored = np.vstack([x for x, _, _ in past])
    X = [model.propose(np.zeros((0, 3)), np.zeros(0))]  # zero-shot: the ensemble's best guess
    for _ in range(14):
        Xa = np.asarray(X)
        X.append(model.propose(Xa, _objective(Xa, optimum)))
    Xa = np.asarray(X)
    y = _objective(Xa, optimum)
    assert len({tuple(np.round(x, 9)) for x in Xa}) == len(Xa)  # never the same point twice
    new = [x for x in Xa if np.abs(stored - x).sum(axis=1).min() > 1e-6]
    assert len(new) >= 10  # beyond the stored configurations
    assert y.max() > y[0] and -y.max() < 0.005  # refines past the first proposal to the optimum


def test_transfer_gp_base_refines_beyond_stored_configurations_and_warm_starts() -> None:
    import optuna

    from metahpo.knowledge import load_bundled
    from metahpo.optimizers import make_meta_sampler
    from metahpo.tuning import suggest_config

    exp = load_bundled()
    task = next(t for t in exp.tasks if t.family == "svm" and t.task == "classification")
    space = get_space("svm", "classification")
    stored = {tuple(np.round(x, 6)) for t in exp.tasks if t.family == "svm" for x in t.X}
    optimum = np.array([0.83, 0.27])  # C and gamma_scale in the unit cube, off the design

    def objective(trial: optuna.Trial) -> float:
        x = space.encode(suggest_config(trial, space))
        return float(-((x[:2] - optimum) ** 2).sum() - 0.05 * x[2])

    plan = make_meta_sampler(
        task.metafeatures, "svm", "classification", experience=exp, base="transfer-gp", seed=0
    )
    study = optuna.create_study(direction="maximize", sampler=plan.sampler)
    study.optimize(objective, n_trials=25)
    n_warm = len(plan.sampler.warm_start)
    values = [t.value for t in study.trials]
    later = [space.encode(t.params) for t in study.trials[n_warm:]]
    off_design = [x for x in later if tuple(np.round(x, 6)) not in stored]
    assert len(off_design) >= len(later) // 2  # continuous proposals, not stored points
    assert max(values[n_warm:]) > max(values[:n_warm])  # improves on the best warm start


def test_expected_improvement_uses_the_latent_deviation_not_the_noise() -> None:
    # A noisy study: the GP fits a noise term, which must not count as room for improvement
    # at the points already evaluated (else EI keeps re-measuring near-copies of the best).
    rng = np.random.default_rng(0)
    optimum = np.array([0.5, 0.5, 0.5])
    X, y = _task(optimum, 4, n=60)
    y = y + 0.1 * rng.standard_normal(len(y))
    latent = RankingWeightedEnsemble(SPACE, [], seed=0)
    noisy = RankingWeightedEnsemble(SPACE, [], latent=False, seed=0)
    from metahpo.optimizers._rgpe import _noise, fit_gp, standardize

    gp = fit_gp(X, standardize(y))
    assert _noise(gp) > 1e-4  # the fit did find noise
    w = np.ones(1)
    _, sd_latent = latent.predict(X, w, gp)
    _, sd_noisy = noisy.predict(X, w, gp)
    assert np.all(sd_latent < sd_noisy)
    assert np.median(sd_latent) < np.sqrt(_noise(gp))  # below the noise at evaluated points

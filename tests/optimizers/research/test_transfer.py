"""TransferSampler: past tasks re-weighted by how well they rank the study's results."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from metahpo.optimizers import StudyView
from metahpo.optimizers.research import TransferSampler
from metahpo.optimizers.research._transfer import TRANSFER_ATTR
from metahpo.testing import DESIGN, KNN, knn_objective, knn_score

M0S = np.linspace(-1.0, 1.0, 11)
X = np.vstack([KNN.encode(c) for c in DESIGN])


def past_tasks() -> tuple[list[np.ndarray], list[np.ndarray]]:
    scores = []
    for m0 in M0S:
        s = np.array([knn_score(m0, c) for c in DESIGN])
        scores.append((s - s.min()) / (s.max() - s.min()))
    return [X] * len(M0S), scores


def sampler(distances: np.ndarray, **kwargs: object) -> TransferSampler:
    xs, scores = past_tasks()
    return TransferSampler(KNN, KNN, xs, scores, distances, k=3, seed=0, **kwargs)  # type: ignore[arg-type]


def test_results_overrule_misleading_metafeatures() -> None:
    # the new task's optimum sits where m0 = 0.8, but its meta-features look like m0 = -0.8
    true_m0, looks_like = 0.8, -0.8
    s = sampler(np.abs(M0S - looks_like))
    study = optuna.create_study(direction="maximize", sampler=s)
    study.optimize(knn_objective(true_m0), n_trials=1)
    # before any result, similarity in meta-features decides: the wrong region first
    assert study.trials[0].params["n_neighbors"] <= 2
    study.optimize(knn_objective(true_m0), n_trials=9)
    # within ten trials the weight has moved from the look-alikes (m0 near -0.8) to tasks
    # that rank the results as they came: all on the right side of the range
    assert set(M0S[np.argsort(-s.weights(StudyView.of(study)))[:3]]) <= set(M0S[M0S >= 0.2])
    best_design = max(knn_score(true_m0, c) for c in DESIGN)
    assert study.best_value == pytest.approx(best_design)


def test_similar_metafeatures_find_the_optimum_at_once() -> None:
    s = sampler(np.abs(M0S - 0.2))
    study = optuna.create_study(direction="maximize", sampler=s)
    study.optimize(knn_objective(0.2), n_trials=1)
    scores = sorted(knn_score(0.2, c) for c in DESIGN)
    assert study.best_value >= scores[-3]  # among the three best of the 28 at once


def test_each_candidate_once_then_the_refining_sampler() -> None:
    then = optuna.samplers.RandomSampler(seed=1)
    s = sampler(np.abs(M0S), n_proposals=40, then=then)
    study = optuna.create_study(direction="minimize", sampler=s)
    study.optimize(knn_objective(0.0), n_trials=len(DESIGN) + 4)
    keys = [tuple(t.params[n] for n in KNN.names) for t in study.trials]
    design_keys = {tuple(c[n] for n in KNN.names) for c in DESIGN}
    # the design first, each configuration once (even minimising, when it ranks them worst)
    assert len(set(keys[: len(DESIGN)])) == len(DESIGN)
    assert set(keys[: len(DESIGN)]) == design_keys
    # candidates exhausted: the refining sampler continues (random here, off the design)
    assert any(k not in design_keys for k in keys[len(DESIGN) :])


def test_n_proposals_counts_its_own_proposals_then_hands_over() -> None:
    s = sampler(np.abs(M0S), n_proposals=3, then=optuna.samplers.RandomSampler(seed=2))
    study = optuna.create_study(direction="maximize", sampler=s)
    # enqueued trials are not transfer proposals: they do not shorten the phase
    study.enqueue_trial({"n_neighbors": 33, "weights": "uniform", "p": 1})
    study.enqueue_trial({"n_neighbors": 34, "weights": "uniform", "p": 1})
    study.optimize(knn_objective(0.0), n_trials=14)
    design_keys = {tuple(c[n] for n in KNN.names) for c in DESIGN}
    keys = [tuple(t.params[n] for n in KNN.names) for t in study.trials]
    proposed = [TRANSFER_ATTR in t.system_attrs for t in study.trials]
    assert proposed == [False, False, True, True, True] + [False] * 9
    assert all(k in design_keys for k in keys[2:5])
    assert sum(k not in design_keys for k in keys[5:]) >= 5


def test_rejects_inconsistent_inputs() -> None:
    xs, scores = past_tasks()
    with pytest.raises(ValueError, match="one entry per past task"):
        TransferSampler(KNN, KNN, xs, scores[:-1], np.zeros(len(xs)))
    with pytest.raises(ValueError, match="k must be"):
        TransferSampler(KNN, KNN, xs, scores, np.zeros(len(xs)), k=0)


def test_without_experience_the_default_then_tpe() -> None:
    from metahpo.knowledge import Experience
    from metahpo.optimizers import DEFAULT_BASE, make_meta_sampler

    assert DEFAULT_BASE == "transfer-gp"
    plan = make_meta_sampler(np.ones(2), "knn", "classification", experience=Experience((), ()))
    assert plan.sampler.warm_start == [KNN.default_config()]
    assert isinstance(plan.sampler.base_sampler, optuna.samplers.TPESampler)


# -- objectives that differ from the space, several workers, odd values --------------------
def test_conditional_parameters_never_repeat_a_proposal() -> None:
    # "p" is asked only with distance weighting: trial parameters never equal a candidate,
    # yet each trial gets a candidate of its own (recorded on the trial)
    def objective(trial: optuna.Trial) -> float:
        config = {
            "n_neighbors": trial.suggest_int("n_neighbors", 1, 64, log=True),
            "weights": trial.suggest_categorical("weights", ["uniform", "distance"]),
        }
        if config["weights"] == "distance":
            config["p"] = trial.suggest_categorical("p", [1, 2])
        return knn_score(0.2, KNN.transfer(config)[0])

    study = optuna.create_study(direction="maximize", sampler=sampler(np.abs(M0S - 0.2)))
    study.optimize(objective, n_trials=10)
    claimed = [t.system_attrs[TRANSFER_ATTR] for t in study.trials]
    assert len({tuple(sorted(c.items())) for c in claimed}) == 10
    for t, c in zip(study.trials, claimed, strict=True):
        assert all(t.params[n] == c[n] for n in t.params)


def test_trials_that_fail_early_do_not_repeat_their_candidate() -> None:
    def objective(trial: optuna.Trial) -> float:
        trial.suggest_int("n_neighbors", 1, 64, log=True)
        raise RuntimeError("fails before asking the other parameters")

    study = optuna.create_study(direction="maximize", sampler=sampler(np.abs(M0S)))
    study.optimize(objective, n_trials=6, catch=(RuntimeError,))
    claimed = [tuple(sorted(t.system_attrs[TRANSFER_ATTR].items())) for t in study.trials]
    assert len(set(claimed)) == 6


def test_other_distributions_are_fitted_not_refused() -> None:
    # a plain objective: no log scale, a narrower range, other choices than the space
    def objective(trial: optuna.Trial) -> float:
        config = {
            "n_neighbors": trial.suggest_int("n_neighbors", 1, 10),
            "weights": trial.suggest_categorical("weights", ["uniform", "distance"]),
            "p": trial.suggest_categorical("p", [1, 2, 3]),
        }
        return knn_score(0.2, KNN.transfer(config)[0])

    study = optuna.create_study(direction="maximize", sampler=sampler(np.abs(M0S - 0.8)))
    study.optimize(objective, n_trials=8)
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    for t in study.trials:
        proposed = t.system_attrs[TRANSFER_ATTR]
        assert t.params["n_neighbors"] == min(proposed["n_neighbors"], 10)  # clipped
        assert t.params["weights"] == proposed["weights"]


def test_two_workers_sharing_a_study_get_different_candidates() -> None:
    import threading
    import time

    def objective(trial: optuna.Trial) -> float:
        n = trial.suggest_int("n_neighbors", 1, 64, log=True)
        time.sleep(0.02)  # the other worker asks meanwhile
        config = {
            "n_neighbors": n,
            "weights": trial.suggest_categorical("weights", ["uniform", "distance"]),
            "p": trial.suggest_categorical("p", [1, 2]),
        }
        return knn_score(0.2, config)

    storage = optuna.storages.InMemoryStorage()
    optuna.create_study(study_name="shared", storage=storage, direction="maximize")

    def worker() -> None:
        optuna.load_study(
            study_name="shared", storage=storage, sampler=sampler(np.abs(M0S))
        ).optimize(objective, n_trials=8)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    trials = optuna.load_study(study_name="shared", storage=storage).trials
    keys = [tuple(t.params[n] for n in KNN.names) for t in trials]
    assert len(trials) == 16 and len(set(keys)) == 16


def test_infinite_values_are_ties_not_poison() -> None:
    values = iter([float("inf"), float("inf"), 0.5, 0.2])
    study = optuna.create_study(direction="maximize", sampler=sampler(np.abs(M0S - 0.2)))
    study.optimize(lambda trial: (knn_objective(0.0)(trial), next(values))[1], n_trials=4)
    s = study.sampler
    assert isinstance(s, TransferSampler)
    w = s.weights(StudyView.of(study))
    assert np.all(np.isfinite(w)) and w.max() == pytest.approx(1.0)
    assert all(np.isfinite(score) for _, score in s.ranked(StudyView.of(study)))


def test_no_candidates_means_the_refining_sampler_at_once() -> None:
    s = TransferSampler(KNN, KNN, [], [], np.zeros(0), then=optuna.samplers.RandomSampler(seed=0))
    study = optuna.create_study(direction="maximize", sampler=s)
    study.optimize(knn_objective(0.0), n_trials=3)
    assert len(study.trials) == 3
    assert all(TRANSFER_ATTR not in t.system_attrs for t in study.trials)

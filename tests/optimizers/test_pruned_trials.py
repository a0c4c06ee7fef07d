"""PRUNED trials in a plain Optuna study with a MetaSampler: warm starts, bases and imports.

A pruned trial is stopped early by a pruner: Optuna records its last intermediate value as its
value, but it is no result. The MetaSampler runs each warm start once (a pruned one is not
proposed again, also by a resumed sampler), the guard ignores pruned warm starts, the default
``transfer-gp`` base takes a pruned trial's last value capped at the worst completed result and
never proposes it again (while few trials are complete: the values of the highest step with
enough of them), and ``kb import`` imports COMPLETE trials only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from metahpo.datasets import load_dataset
from metahpo.errors import KnowledgeBaseError
from metahpo.knowledge import KnowledgeStore, from_store, import_study
from metahpo.optimizers import MetaSampler, StudyView, make_meta_sampler
from metahpo.optimizers._transfer_gp import TransferGPSampler
from metahpo.optimizers._view import PROPOSAL_ATTR, WARM_CONFIG_ATTR
from metahpo.testing import DESIGN, KNN, knn_curve, knn_experience, knn_score

optuna.logging.set_verbosity(optuna.logging.WARNING)
DATA = Path(__file__).resolve().parents[1] / "data"
TINY = knn_experience(np.linspace(-1.0, 1.0, 6))
WARM = [
    {"n_neighbors": 16, "weights": "uniform", "p": 2},
    {"n_neighbors": 5, "weights": "distance", "p": 1},
    {"n_neighbors": 40, "weights": "uniform", "p": 1},
]
DISTS = {
    "n_neighbors": IntDistribution(1, 64, log=True),
    "weights": CategoricalDistribution(["uniform", "distance"]),
    "p": CategoricalDistribution([1, 2]),
}


def _halving() -> optuna.pruners.BasePruner:
    return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)


def _configs(study: optuna.Study) -> list[tuple[Any, ...]]:
    return [tuple(sorted(t.params.items())) for t in study.trials]


def test_each_warm_start_runs_once_and_a_pruned_one_is_not_proposed_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    first = MetaSampler(WARM, predicted=[0.9, 0.8, 0.7], seed=0)
    study = optuna.create_study(storage=url, study_name="s", direction="maximize")
    study.sampler, study.pruner = first, _halving()
    study.optimize(knn_curve(steps=4, prune_first=2), n_trials=3)
    states = [t.state for t in study.trials]
    assert states[:2] == [TrialState.PRUNED] * 2
    assert [t.params for t in study.trials] == WARM
    # A new sampler on the resumed study (the same warm starts plus one) skips all three.
    extra = {"n_neighbors": 8, "weights": "distance", "p": 2}
    resumed = optuna.load_study(
        study_name="s",
        storage=url,
        sampler=MetaSampler([*WARM, extra], seed=1),
        pruner=_halving(),
    )
    resumed.optimize(knn_curve(steps=4), n_trials=8)
    assert resumed.trials[3].params == extra
    warm = [t.params for t in resumed.trials if WARM_CONFIG_ATTR in t.system_attrs]
    assert warm == [*WARM, extra]
    later = [t.params for t in resumed.trials[3:]]
    assert not [c for c in WARM if c in later], later
    # The pruned warm starts gave the guard no evidence: their values are early steps.
    assert first.guard_message is None


def test_pruned_trials_are_no_completed_results() -> None:
    study = optuna.create_study(direction="maximize")
    study.add_trial(create_trial(params=WARM[0], distributions=DISTS, value=0.5))
    pruned = create_trial(
        params=WARM[1],
        distributions=DISTS,
        state=TrialState.PRUNED,
        value=0.9,  # as Optuna records it: the last intermediate value
        intermediate_values={1: 0.2, 3: 0.9},
    )
    study.add_trial(pruned)
    assert study.trials[1].value == 0.9  # Optuna records the last intermediate value
    view = StudyView.of(study)
    assert [t.number for t in view.completed] == [0]
    assert [t.number for t in view.pruned] == [1]
    # Capped at the worst completed result; its own last value when that is lower.
    assert view.pruned_gain(view.pruned[0], worst=0.5) == 0.5
    assert view.pruned_gain(view.pruned[0], worst=None) == 0.9
    assert view.pruned_gain(view.pruned[0], worst=1.0) == 0.9
    assert not view.is_new(WARM[1])  # evaluated, though pruned


def test_a_pruned_trial_in_a_minimised_study_counts_as_its_negated_last_value() -> None:
    study = optuna.create_study(direction="minimize")
    study.add_trial(
        create_trial(
            params=WARM[0],
            distributions=DISTS,
            state=TrialState.PRUNED,
            intermediate_values={2: 3.0},
        )
    )
    study.add_trial(
        create_trial(params=WARM[1], distributions=DISTS, state=TrialState.PRUNED)
    )  # pruned before it reported anything
    view = StudyView.of(study)
    assert view.pruned_gain(view.pruned[0], worst=None) == -3.0
    assert view.pruned_gain(view.pruned[0], worst=-5.0) == -5.0
    assert view.pruned_gain(view.pruned[1], worst=None) is None
    assert view.pruned_gain(view.pruned[1], worst=-5.0) == -5.0


def _transfer_gp(seed: int = 0) -> TransferGPSampler:
    X = np.vstack([KNN.encode(c) for c in DESIGN])
    scores = [np.array([knn_score(m0, c) for c in DESIGN]) for m0 in (-0.5, 0.0, 0.5)]
    return TransferGPSampler(KNN, KNN, [X] * 3, scores, np.array([1.0, 0.5, 0.2]), seed=seed)


def test_transfer_gp_feeds_pruned_trials_capped_and_excludes_them() -> None:
    study = optuna.create_study(direction="maximize")
    for config, value in [(WARM[0], 0.6), (WARM[1], 0.4)]:
        study.add_trial(create_trial(params=config, distributions=DISTS, value=value))
    for config, last in [(WARM[2], 0.3), ({"n_neighbors": 2, "weights": "uniform", "p": 1}, 0.55)]:
        study.add_trial(
            create_trial(
                params=config,
                distributions=DISTS,
                state=TrialState.PRUNED,
                intermediate_values={1: last},
            )
        )
    X, y, exclude = _transfer_gp()._results(StudyView.of(study))
    assert y.tolist() == [0.6, 0.4, 0.3, 0.4]  # the second pruned one capped at the worst, 0.4
    assert X.shape == (4, KNN.encoded_dim)
    assert exclude is not None and exclude.shape == (2, KNN.encoded_dim)
    np.testing.assert_allclose(exclude[0], KNN.encode(WARM[2]))


def test_transfer_gp_without_pruned_trials_is_unchanged() -> None:
    study = optuna.create_study(direction="maximize")
    study.add_trial(create_trial(params=WARM[0], distributions=DISTS, value=0.6))
    X, y, exclude = _transfer_gp()._results(StudyView.of(study))
    assert exclude is None and y.tolist() == [0.6] and X.shape == (1, KNN.encoded_dim)


def _pruned_at(study: optuna.Study, k: int, steps: dict[int, float]) -> None:
    study.add_trial(
        create_trial(
            params={"n_neighbors": k, "weights": "uniform", "p": 1},
            distributions=DISTS,
            state=TrialState.PRUNED,
            intermediate_values=steps,
        )
    )


def test_transfer_gp_models_the_highest_step_with_enough_results_while_few_are_complete() -> None:
    """Scores at a low fidelity are not comparable with full ones: while fewer than the encoded
    dimension + 1 trials are complete, the model is that of the highest step where that many
    trials reported (BOHB's rule), uncapped, and every trial is excluded from the proposals."""
    need = KNN.encoded_dim + 1
    study = optuna.create_study(direction="maximize")
    study.add_trial(create_trial(params=WARM[0], distributions=DISTS, value=0.9))
    for i in range(need):  # step 1: enough results; step 3: one fewer
        _pruned_at(study, 2 + i, {1: 0.1 * i} if i == 0 else {1: 0.1 * i, 3: 0.2 * i})
    X, y, exclude = _transfer_gp()._results(StudyView.of(study))
    np.testing.assert_allclose(y, [0.1 * i for i in range(need)])  # step 1, uncapped
    assert X.shape == (need, KNN.encoded_dim)
    assert exclude is not None and exclude.shape == (need + 1, KNN.encoded_dim)
    np.testing.assert_allclose(exclude[0], KNN.encode(WARM[0]))
    _pruned_at(study, 40, {1: 0.05, 3: 0.7})  # now step 3 has enough: it wins
    X, y, _ = _transfer_gp()._results(StudyView.of(study))
    np.testing.assert_allclose(y, [*(0.2 * i for i in range(1, need)), 0.7])
    for k in (50, 60, 64, 30, 20, 12):  # enough complete results: full ones, pruned capped
        study.add_trial(
            create_trial(
                params={"n_neighbors": k, "weights": "distance", "p": 2},
                distributions=DISTS,
                value=0.5,
            )
        )
    X, y, _ = _transfer_gp()._results(StudyView.of(study))
    assert len(y) == 7 + need + 1 and float(y.max()) == 0.9 and float(y.min()) == 0.0


@pytest.mark.parametrize("pruner", ["halving", "hyperband"])
def test_the_default_base_proposes_every_trial_under_a_pruner_and_repeats_none(
    pruner: str,
) -> None:
    """Before, pruned trials were invisible to transfer-gp: it kept ranking the pruned
    configurations first, declined, and most trials fell back to random search (22 of 27 under
    successive halving in this set-up), some of them repeating a configuration."""
    plan = make_meta_sampler(
        np.array([0.3, 0.0]), "knn", "classification", experience=TINY, n_warm_start=3, seed=0
    )
    chosen = (
        _halving()
        if pruner == "halving"
        else optuna.pruners.HyperbandPruner(min_resource=1, max_resource=9, reduction_factor=3)
    )
    study = optuna.create_study(direction="maximize", sampler=plan.sampler, pruner=chosen)
    study.optimize(knn_curve(m0=0.6, steps=9), n_trials=16)
    states = [t.state for t in study.trials]
    assert TrialState.PRUNED in states and TrialState.COMPLETE in states
    proposed = [t.number for t in study.trials[3:] if PROPOSAL_ATTR in t.system_attrs]
    assert proposed == list(range(3, 16))
    assert len(set(_configs(study))) == 16


def test_every_early_trial_pruned_then_the_study_goes_on() -> None:
    plan = make_meta_sampler(
        np.array([0.3, 0.0]), "knn", "classification", experience=TINY, n_warm_start=3, seed=0
    )
    study = optuna.create_study(direction="maximize", sampler=plan.sampler, pruner=_halving())
    study.optimize(knn_curve(steps=4, prune_first=8), n_trials=12)
    states = [t.state for t in study.trials]
    assert states[:8] == [TrialState.PRUNED] * 8
    assert TrialState.COMPLETE in states[8:]
    assert len(set(_configs(study))) == 12


# -- kb import: COMPLETE trials only ---------------------------------------------------------
def _iris() -> Any:
    return load_dataset(DATA / "iris")


def test_import_takes_complete_trials_only(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    study = optuna.create_study(study_name="mine", storage=url, direction="maximize")
    dists = {"n_neighbors": IntDistribution(1, 64, log=True)}
    for k, value in [(3, 0.9), (9, 0.8), (30, 0.7)]:
        study.add_trial(create_trial(params={"n_neighbors": k}, distributions=dists, value=value))
    for k in (1, 2, 64):  # pruned at an early step with a high intermediate value
        study.add_trial(
            create_trial(
                params={"n_neighbors": k},
                distributions=dists,
                state=TrialState.PRUNED,
                value=0.99,
                intermediate_values={1: 0.99},
            )
        )
    store = KnowledgeStore(url)
    report = import_study(store, "mine", _iris(), family="knn", metafeatures={"m0": 0.0})
    assert report.n_trials == 3
    (task,) = from_store(store, ("m0",)).tasks
    assert sorted(task.y.tolist()) == [0.7, 0.8, 0.9]


def test_a_study_with_pruned_trials_only_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    study = optuna.create_study(study_name="mine", storage=url, direction="maximize")
    study.add_trial(
        create_trial(
            params={"n_neighbors": 3},
            distributions={"n_neighbors": IntDistribution(1, 64)},
            state=TrialState.PRUNED,
            intermediate_values={1: 0.5},
        )
    )
    with pytest.raises(KnowledgeBaseError, match="'mine' has no completed trial"):
        import_study(KnowledgeStore(url), "mine", _iris(), family="knn", metafeatures={})

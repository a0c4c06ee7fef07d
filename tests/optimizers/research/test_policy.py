"""The Q-learning search policy: learned on replayed searches, followed in Optuna studies."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from metahpo.knowledge import Experience
from metahpo.optimizers import make_meta_sampler
from metahpo.optimizers.research import ACTIONS, PolicySampler, QPolicy
from metahpo.optimizers.research._policy import N_STATES, state
from metahpo.spaces import get_space
from metahpo.testing import DESIGN, KNN, knn_experience, knn_objective

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _experience(informative: bool) -> Experience:
    """Tasks whose optimum moves with a meta-feature (informative) or not (shuffled)."""
    m0s = np.linspace(-1.0, 1.0, 14)
    shown = None if informative else np.random.default_rng(0).uniform(-1, 1, len(m0s))
    return knn_experience(m0s, shown)


def test_states_cover_stage_improvement_and_stall() -> None:
    seen = {state(n, imp, stall) for n in (0, 12, 30) for imp in (0, 1) for stall in (0, 2, 9)}
    assert seen == set(range(N_STATES))


def test_the_policy_learns_to_follow_informative_recommendations() -> None:
    policy = QPolicy.fit(_experience(informative=True), KNN, seed=0)
    start = state(0, False, 0)
    assert ACTIONS[policy.act(start)] == "meta"
    assert policy.q[start, ACTIONS.index("meta")] > policy.q[start, ACTIONS.index("random")]
    again = QPolicy.from_json(policy.to_json())
    assert np.array_equal(again.q, policy.q) and again.describe() == policy.describe()


def test_recommendations_are_worth_less_when_meta_features_say_nothing() -> None:
    meta = ACTIONS.index("meta")
    start = state(0, False, 0)
    good = QPolicy.fit(_experience(informative=True), KNN, seed=0).q[start, meta]
    blind = QPolicy.fit(_experience(informative=False), KNN, seed=0).q[start, meta]
    assert good > blind


def test_policy_sampler_in_a_plain_study_takes_recommendations_in_order() -> None:
    policy = QPolicy(np.tile(np.eye(len(ACTIONS))[ACTIONS.index("meta")], (N_STATES, 1)))
    ranked = [DESIGN[5], DESIGN[9], DESIGN[2]]
    sampler = PolicySampler(KNN, policy, ranked, seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(knn_objective(0.2), n_trials=6)
    assert [t.params for t in study.trials[:3]] == [KNN.transfer(c)[0] for c in ranked]
    # recommendations exhausted: the meta move falls back to exploring
    assert sampler.last_move == "random"
    assert all(t.params["n_neighbors"] >= 1 for t in study.trials)


def test_local_moves_stay_near_the_best() -> None:
    policy = QPolicy(np.tile(np.eye(len(ACTIONS))[ACTIONS.index("local")], (N_STATES, 1)))
    sampler = PolicySampler(KNN, policy, seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.enqueue_trial({"n_neighbors": 16, "weights": "distance", "p": 2})
    study.optimize(knn_objective(0.2), n_trials=8)
    moved = [t.params["n_neighbors"] for t in study.trials[1:]]
    assert sampler.last_move == "local"
    assert max(abs(np.log(n) - np.log(16)) for n in moved) < 2.0


@pytest.mark.parametrize("informative", [True, False])
def test_meta_sampler_with_the_rl_base(informative: bool) -> None:
    exp = _experience(informative)
    plan = make_meta_sampler(
        np.array([0.3, 0.0]),
        "knn",
        "classification",
        experience=exp,
        base="rl",
        n_warm_start=3,
        seed=0,
    )
    assert isinstance(plan.sampler.base_sampler, PolicySampler)
    study = optuna.create_study(direction="maximize", sampler=plan.sampler)
    study.optimize(knn_objective(0.3), n_trials=12)
    assert [t.params for t in study.trials[:3]] == plan.sampler.warm_start
    assert len({str(sorted(t.params.items())) for t in study.trials}) >= 8
    assert get_space("knn", "classification").names == KNN.names


def test_a_policy_trained_once_serves_every_run() -> None:
    """`meta_train_base` + `base_model=`: the bench (and a deployment) trains the policy once
    per experience and reuses it; the plan then carries that very policy, and the same result
    as a plan that trained its own with the same seed."""
    from metahpo.optimizers import meta_train_base

    exp = _experience(True)
    policy = meta_train_base(exp, "knn", "classification", "rl", seed=0)
    assert isinstance(policy, QPolicy)
    assert meta_train_base(exp, "knn", "classification", "tpe") is None
    kwargs = {"experience": exp, "base": "rl", "n_warm_start": 3, "seed": 0}
    shared = make_meta_sampler(
        np.array([0.3, 0.0]), "knn", "classification", **kwargs, base_model=policy
    )
    own = make_meta_sampler(np.array([0.3, 0.0]), "knn", "classification", **kwargs)
    assert isinstance(shared.sampler.base_sampler, PolicySampler)
    assert shared.sampler.base_sampler.policy is policy
    assert np.array_equal(own.sampler.base_sampler.policy.q, policy.q)

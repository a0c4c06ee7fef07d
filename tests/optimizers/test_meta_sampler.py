"""MetaSampler: Optuna's sampler contract, warm starts, the guard, make_meta_sampler and bases."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.testing.pytest_samplers import (
    BasicSamplerTestCase,
    MultiObjectiveSamplerTestCase,
    RelativeSamplerTestCase,
)
from optuna.trial import Trial, TrialState

from metahpo.knowledge import Experience
from metahpo.optimizers import BASES, MetaSampler, SurrogatePrior, make_meta_sampler
from metahpo.optimizers._plan import (
    GUARD_ATTR,
    LOW_CONFIDENCE,
    WARM_ATTR,
    WARM_CONFIG_ATTR,
    _warm_starts,
    guard_message,
)
from metahpo.spaces import Param, SearchSpace, get_space, same_config
from metahpo.testing import KNN, knn_experience, knn_objective

optuna.logging.set_verbosity(optuna.logging.WARNING)

#: Warm starts for the contract suites: out-of-range, wrongly typed and unknown values.
CONTRACT_WARM = [
    {"x": 100.0, "y": -100, "z": 0.3},
    {"x": "not a number", "y": 3, "category": "y"},
    {"y": 0.5, "unused": 1},
]


class TestBasicContract(BasicSamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], MetaSampler]:
        return lambda: MetaSampler(CONTRACT_WARM, predicted=[0.9, 0.5, 0.1], seed=0)


class TestRelativeContract(RelativeSamplerTestCase):
    # Relative sampling is the base sampler's: one that samples relatively after one trial.
    @pytest.fixture
    def sampler(self) -> Callable[[], MetaSampler]:
        def make() -> MetaSampler:
            base = optuna.samplers.TPESampler(seed=0, multivariate=True, n_startup_trials=1)
            return MetaSampler(CONTRACT_WARM, base_sampler=base)

        return make


class TestMultiObjectiveContract(MultiObjectiveSamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], MetaSampler]:
        return lambda: MetaSampler(CONTRACT_WARM, predicted=[0.9, 0.5, 0.1], seed=0)


def test_multi_objective_study_runs_with_the_guard_armed() -> None:
    sampler = MetaSampler([{"x": 0.1}, {"x": 0.5}, {"x": 0.9}, {"x": 0.3}], predicted=[1, 2, 3, 4])
    study = optuna.create_study(directions=["minimize", "maximize"], sampler=sampler)
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)), n_trials=6)
    assert [t.params["x"] for t in study.trials[:4]] == [0.1, 0.5, 0.9, 0.3]
    assert guard_message(study) is None  # the agreement check is single-objective only


# -- a plain Optuna study with a user objective ---------------------------------------------
def user_objective(trial: Trial) -> float:
    lr = trial.suggest_float("lr", 1e-3, 1.0, log=True)
    depth = trial.suggest_int("depth", 1, 8)
    kind = trial.suggest_categorical("kind", ["a", "b"])
    return -((np.log10(lr) + 1.5) ** 2) - 0.1 * (depth - 4) ** 2 + (0.5 if kind == "b" else 0.0)


WARM = [
    {"lr": 0.03, "depth": 4, "kind": "b"},
    {"lr": 5.0, "depth": 0, "kind": "zzz"},  # out of range: clipped; unknown choice: base
    {"lr": 0.1, "depth": 6.6, "kind": "a", "other": 3},  # a float for an int: rounded
]


def warm_index(t: optuna.trial.FrozenTrial) -> int | None:
    idx = t.system_attrs.get(WARM_ATTR)
    return None if idx is None else int(idx)


def test_plain_optuna_study_with_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'user.db'}"
    study = optuna.create_study(
        study_name="user", storage=url, direction="maximize", sampler=MetaSampler(WARM, seed=1)
    )
    study.optimize(user_objective, n_trials=8)
    trials = study.get_trials()
    assert [warm_index(t) for t in trials] == [0, 1, 2, None, None, None, None, None]
    assert trials[0].params == WARM[0]
    assert trials[1].params["lr"] == 1.0 and trials[1].params["depth"] == 1
    assert trials[1].params["kind"] in ("a", "b")
    assert trials[2].params == {"lr": 0.1, "depth": 7, "kind": "a"}
    assert isinstance(trials[2].params["depth"], int)
    assert study.best_trial.number == 0


def test_resume_with_a_new_sampler_never_repeats_warm_starts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'resume.db'}"
    study = optuna.create_study(
        study_name="s", storage=url, direction="maximize", sampler=MetaSampler(WARM, seed=0)
    )
    study.optimize(user_objective, n_trials=2)
    again = optuna.load_study(study_name="s", storage=url, sampler=MetaSampler(WARM, seed=0))
    again.optimize(user_objective, n_trials=4)
    indices = [warm_index(t) for t in again.get_trials()]
    assert indices == [0, 1, 2, None, None, None]
    assert again.trials[2].params == {"lr": 0.1, "depth": 7, "kind": "a"}


def test_failed_and_retried_warm_starts_keep_their_slot(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'retry.db'}"
    study = optuna.create_study(storage=url, direction="maximize", sampler=MetaSampler(WARM))

    def failing_once(trial: Trial) -> float:
        value = user_objective(trial)
        if trial.number == 0:
            raise RuntimeError("crash")
        return value

    study.optimize(failing_once, n_trials=1, catch=(RuntimeError,))
    # what Optuna's heartbeat does for a trial of a dead process: enqueue a retry
    RetryHeartbeatStaleTrialCallback()(study, study.trials[0])
    study.optimize(user_objective, n_trials=3)
    trials = study.get_trials()
    assert [t.state for t in trials] == [TrialState.FAIL] + [TrialState.COMPLETE] * 3
    assert [warm_index(t) for t in trials] == [0, 0, 1, 2]
    assert trials[1].params == trials[0].params == WARM[0]


def test_enqueued_trials_do_not_use_up_warm_starts() -> None:
    study = optuna.create_study(direction="maximize", sampler=MetaSampler(WARM))
    study.enqueue_trial({"lr": 0.5, "depth": 2, "kind": "a"})
    study.optimize(user_objective, n_trials=4)
    assert [warm_index(t) for t in study.trials] == [None, 0, 1, 2]
    assert study.trials[0].params == {"lr": 0.5, "depth": 2, "kind": "a"}


def test_a_warm_start_the_user_enqueued_runs_once() -> None:
    study = optuna.create_study(direction="maximize", sampler=MetaSampler(WARM))
    study.enqueue_trial(WARM[0])
    study.optimize(user_objective, n_trials=3)
    assert study.trials[0].params == WARM[0]
    assert [warm_index(t) for t in study.trials] == [None, 1, 2]


def test_resume_with_another_warm_start_list_matches_by_configuration() -> None:
    # a later run with fewer (or reordered) warm starts: the evaluated ones are recognised by
    # their configuration, not by a position in a list that has changed
    study = optuna.create_study(
        direction="maximize", sampler=MetaSampler(WARM, predicted=[0.9, 0.5, 0.1], seed=0)
    )
    study.optimize(user_objective, n_trials=2)
    study.sampler = MetaSampler([WARM[1], WARM[2]], predicted=[0.5, 0.1], seed=0)
    study.optimize(user_objective, n_trials=2)
    evaluated = [t.system_attrs[WARM_CONFIG_ATTR]["params"] for t in study.trials[:3]]
    assert evaluated == WARM
    assert WARM_CONFIG_ATTR not in study.trials[3].system_attrs


def test_a_retried_ordinary_trial_does_not_take_a_warm_start() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))

    def fails(trial: Trial) -> float:
        trial.suggest_float("x", 0, 1)
        raise RuntimeError("crash")

    study.optimize(fails, n_trials=1, catch=(RuntimeError,))
    RetryHeartbeatStaleTrialCallback()(study, study.trials[0])  # retried with its parameters
    study.sampler = MetaSampler([{"x": 0.1}, {"x": 0.2}], seed=0)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    trials = study.trials
    assert trials[1].params == trials[0].params and warm_index(trials[1]) is None
    assert [t.params["x"] for t in trials[2:]] == [0.1, 0.2]


def test_hyperband_brackets_do_not_hide_evaluated_warm_starts() -> None:
    # Hyperband shows the sampler one bracket's trials: warm starts must still run once
    warm = [{"x": v} for v in (0.1, 0.2, 0.3, 0.4)]
    pruner = optuna.pruners.HyperbandPruner(min_resource=1, max_resource=9)
    study = optuna.create_study(sampler=MetaSampler(warm, seed=0), pruner=pruner)

    def objective(trial: Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        for step in range(9):
            trial.report(x + 0.01 * step, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return x

    study.optimize(objective, n_trials=8)
    assert [warm_index(t) for t in study.trials] == [0, 1, 2, 3, None, None, None, None]


def test_surrogate_prior_ignores_infinite_values_and_follows_the_study() -> None:
    prior = SurrogatePrior(lambda params: np.array([p["x"] for p in params]), maximize=True)
    study = optuna.create_study(direction="minimize")
    # minimised: a higher predicted (normalised) score means a lower value, slope -10
    for x, v in [(0.1, float("inf")), (0.2, 8.0), (0.5, 5.0), (0.9, 1.0)]:
        study.add_trial(
            optuna.trial.create_trial(
                params={"x": x},
                distributions={"x": optuna.distributions.FloatDistribution(0, 1)},
                value=v,
            )
        )
    prior.observe(study)
    assert not prior.maximize  # taken from the study, not the argument
    assert np.isfinite(prior.a) and np.isfinite(prior.b)
    assert prior.b == pytest.approx(-10.0)
    assert np.all(np.isfinite(prior([{"x": 0.3}])))


# -- the negative-transfer guard ------------------------------------------------------------
FOUR = [{"lr": v, "depth": 4, "kind": "a"} for v in (0.002, 0.005, 0.01, 0.03)]
FIVE = [*FOUR, {"lr": 0.06, "depth": 4, "kind": "a"}]


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
def test_guard_fires_when_warm_starts_contradict_the_predictions(direction: str) -> None:
    calls: list[int] = []

    def predict(params: list[dict[str, Any]]) -> np.ndarray:
        calls.append(len(params))
        return np.array([p["lr"] for p in params])

    prior = SurrogatePrior(predict, maximize=direction == "maximize")
    # predicted ranking: 0.002 best ... 0.06 worst; the objective says the opposite
    sampler = MetaSampler(FIVE, predicted=[0.9, 0.7, 0.5, 0.3, 0.1], prior=prior, seed=0)
    study = optuna.create_study(direction=direction, sampler=sampler)
    sign = 1.0 if direction == "maximize" else -1.0
    study.optimize(lambda t: sign * user_objective(t), n_trials=7)
    message = study._storage.get_study_system_attrs(study._study_id).get(GUARD_ATTR)
    assert message is not None and "disagree" in message and guard_message(study) == message
    assert "first 4 results" in message and "p = 0.042" in message  # 1 ordering in 4! = 24
    # three reversed results are no evidence (one ordering in 3! = 6 by chance); four are, and
    # the fifth warm start is skipped
    assert [warm_index(t) for t in study.trials] == [0, 1, 2, 3, None, None, None]
    assert prior.enabled is False
    # a new sampler on the same study (a resume) respects the guard
    resumed = MetaSampler(FIVE, predicted=[0.9, 0.7, 0.5, 0.3, 0.1], seed=0)
    study.sampler = resumed
    study.optimize(lambda t: sign * user_objective(t), n_trials=1)
    assert warm_index(study.trials[-1]) is None


def test_guard_stays_quiet_when_predictions_agree() -> None:
    sampler = MetaSampler(FOUR, predicted=[0.3, 0.5, 0.7, 0.9], seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(user_objective, n_trials=6)
    assert guard_message(study) is None
    assert [warm_index(t) for t in study.trials] == [0, 1, 2, 3, None, None]


def test_guard_tolerates_an_ordering_that_chance_explains() -> None:
    # five results, two pairs out of the predicted order: 14 of 120 orderings are at least
    # this reversed, p = 0.117; and ``guard_level=0`` switches the guard off altogether
    predicted = [0.9, 0.7, 0.5, 0.3, 0.1]
    observed = {0.002: 0.2, 0.005: 0.1, 0.01: 0.3, 0.03: 0.5, 0.06: 0.4}

    def objective(trial: Trial) -> float:
        return observed.get(trial.suggest_float("lr", 1e-3, 0.1, log=True), 0.0)

    for level, fires in ((0.05, False), (0.2, True), (0.0, False)):
        sampler = MetaSampler(FIVE, predicted=predicted, guard_level=level, seed=0)
        study = optuna.create_study(direction="maximize", sampler=sampler)
        study.optimize(objective, n_trials=5)
        assert (guard_message(study) is not None) is fires, level
    with pytest.raises(ValueError, match="guard_level"):
        MetaSampler(FIVE, predicted=predicted, guard_level=1.0)


# -- make_meta_sampler on a hand-built experience -------------------------------------------
@pytest.fixture(scope="module")
def experience() -> Experience:
    return knn_experience(np.linspace(-1.0, 1.0, 12), m1s=0.05 * np.sin(np.arange(12)))


def test_default_first_when_out_of_distribution(experience: Experience) -> None:
    plan = make_meta_sampler(
        np.array([40.0, 9.0]), "knn", "classification", experience=experience, n_warm_start=6
    )
    assert plan.confidence < LOW_CONFIDENCE and plan.out_of_distribution
    warm = plan.sampler.warm_start
    assert warm[0] == KNN.default_config()
    assert len(warm) == 3  # halved when unsure
    assert len({str(sorted(c.items())) for c in warm}) == len(warm)


def test_unsure_but_in_distribution_keeps_the_meta_learned_best_first(
    experience: Experience,
) -> None:
    # Beyond the last training task, farther than the typical spacing but not out of
    # distribution: fewer warm starts, the meta-learned best still first, the default second.
    for m0 in np.linspace(1.05, 1.6, 56):
        plan = make_meta_sampler(
            np.array([m0, 0.0]), "knn", "classification", experience=experience, n_warm_start=6
        )
        if plan.confidence < LOW_CONFIDENCE and not plan.out_of_distribution:
            break
    else:
        pytest.fail("no probe point between the typical spacing and out of distribution")
    warm = plan.sampler.warm_start
    assert len(warm) == 3
    assert warm[0] != KNN.default_config() and warm[1] == KNN.default_config()
    # with so few warm starts that halving leaves one, that one is the default
    few = make_meta_sampler(
        np.array([m0, 0.0]), "knn", "classification", experience=experience, n_warm_start=3
    )
    assert few.sampler.warm_start == [KNN.default_config()]


def test_tpe_models_right_after_the_warm_starts(experience: Experience) -> None:
    mf = experience.tasks[3].metafeatures
    plan = make_meta_sampler(
        mf, "knn", "classification", experience=experience, n_warm_start=4, base="tpe"
    )
    base = plan.sampler.base_sampler
    assert isinstance(base, optuna.samplers.TPESampler)
    assert base._n_startup_trials == len(plan.sampler.warm_start) == 4


@pytest.mark.parametrize("strategy", ["nearest", "portfolio", "surrogate", "mapping"])
@pytest.mark.parametrize("k", [2, 5])
def test_default_always_among_the_first_k(experience: Experience, strategy: str, k: int) -> None:
    mf = experience.tasks[9].metafeatures
    plan = make_meta_sampler(
        mf, "knn", "classification", experience=experience, strategy=strategy, n_warm_start=k
    )
    assert plan.confidence == 1.0
    warm = plan.sampler.warm_start
    assert len(warm) == k and KNN.default_config() in warm
    # confident: the meta-learned best goes first, the default right after it
    assert warm[0] == plan.suggestions[0].params != KNN.default_config()
    assert warm[1] == KNN.default_config()
    assert plan.sampler.predicted is not None and len(plan.sampler.predicted) == k


@pytest.mark.parametrize("base", BASES)
def test_every_base_runs_after_the_warm_start(experience: Experience, base: str) -> None:
    if base == "gpsampler":
        pytest.importorskip("torch")
    m0 = 0.4
    plan = make_meta_sampler(
        np.array([m0, 0.0]),
        "knn",
        "classification",
        experience=experience,
        n_warm_start=3,
        base=base,
        seed=0,
    )
    study = optuna.create_study(direction="maximize", sampler=plan.sampler)
    study.optimize(knn_objective(m0), n_trials=9)
    trials = study.trials
    assert [warm_index(t) for t in trials[:3]] == [0, 1, 2]
    assert all(warm_index(t) is None for t in trials[3:])
    assert [t.params for t in trials[:3]] == plan.sampler.warm_start
    # the registry built the base it names (an unknown or misrouted name used to become GP)
    expected = {
        "tpe": "TPESampler",
        "gp": "GPEISampler",
        "cmaes": "_SourcedCmaEs",
        "evolution": "SeededEvolutionSampler",
        "transfer": "TransferSampler",
        "transfer-gp": "TransferGPSampler",
        "rl": "PolicySampler",
        "maml": "MAMLSampler",
        "fsbo": "DeepKernelSampler",
        "random": "RandomSampler",
        "gpsampler": "GPSampler",
    }
    assert type(plan.sampler.base_sampler).__name__ == expected[base]
    # and it proposed the trials after the warm starts: none repeats a warm start
    later = [t.params for t in trials[3:]]
    assert all(p not in plan.sampler.warm_start for p in later)


def test_the_gpsampler_base_needs_torch_and_says_so(
    experience: Experience, monkeypatch: pytest.MonkeyPatch
) -> None:
    from metahpo.errors import MetaHPOError

    monkeypatch.setitem(sys.modules, "torch", None)  # as if torch were not installed
    with pytest.raises(MetaHPOError, match=r"base 'gpsampler'.*metahpo\[torch\]"):
        make_meta_sampler(
            np.array([0.4, 0.0]), "knn", "classification", experience=experience, base="gpsampler"
        )


def test_a_fitted_learner_is_reused_as_is(experience: Experience) -> None:
    from metahpo.errors import MetaHPOError
    from metahpo.metalearners import fit_strategy

    mf = experience.tasks[3].metafeatures
    fitted = fit_strategy(experience, "knn", "classification", "nearest")
    kwargs: dict[str, Any] = {"experience": experience, "strategy": "nearest", "seed": 0}
    fresh = make_meta_sampler(mf, "knn", "classification", **kwargs)
    reused = make_meta_sampler(mf, "knn", "classification", learner=fitted, **kwargs)
    assert reused.sampler.warm_start == fresh.sampler.warm_start
    assert reused.sampler.predicted == fresh.sampler.predicted
    other = fit_strategy(experience, "knn", "classification", "portfolio")
    with pytest.raises(MetaHPOError, match="fitted NearestTasks"):
        make_meta_sampler(mf, "knn", "classification", learner=other, **kwargs)


# -- space transfer: the user's space differs from the one the experience was built with ---
CUSTOM = SearchSpace(
    "knn",
    "classification",
    (
        Param("n_neighbors", "int", low=3, high=12, log=True, default=5),  # range narrowed
        Param("weights", "categorical", choices=("uniform", "distance"), default="distance"),
        Param("leaf_size", "int", low=10, high=60, default=30),  # added; "p" removed
    ),
)


@pytest.mark.parametrize("base", ["tpe", "cmaes"])
def test_warm_starts_transfer_to_a_changed_space(experience: Experience, base: str) -> None:
    mf = experience.tasks[11].metafeatures  # m0 = 1: the best n_neighbors (64) is out of range
    m0 = float(mf[0])
    plan = make_meta_sampler(
        mf,
        "knn",
        "classification",
        experience=experience,
        n_warm_start=4,
        space=CUSTOM,
        strategy="nearest",
        base=base,
    )
    study = optuna.create_study(direction="maximize", sampler=plan.sampler)
    study.optimize(knn_objective(m0, CUSTOM), n_trials=6)
    warm = [t for t in study.trials if warm_index(t) is not None]
    assert len(warm) == 4
    assert plan.suggestions[0].params["n_neighbors"] > 12
    assert warm[0].params["n_neighbors"] == 12  # clipped to the new range
    for t in warm:
        assert set(t.params) == {"n_neighbors", "weights", "leaf_size"}
        assert 3 <= t.params["n_neighbors"] <= 12
        assert t.params["leaf_size"] == 30  # missing from the experience: the default
    assert warm[1].params == CUSTOM.default_config()  # the user's default, not the built-in


# -- the same through ``tune`` ---------------------------------------------------------------
def _knn_space(*params: Param) -> SearchSpace:
    return SearchSpace("knn", "classification", params)


NARROW = _knn_space(
    Param("n_neighbors", "int", low=20, high=40, log=True, default=25),  # range changed
    Param("weights", "categorical", choices=("uniform", "distance"), default="uniform"),
    Param("p", "categorical", choices=(1, 2), default=2),
)


def test_tune_with_a_changed_range_clips_the_warm_starts(tiny_clf: Any, sqlite_url: str) -> None:
    from metahpo.knowledge import load_bundled
    from metahpo.metafeatures import compute_metafeatures
    from metahpo.metalearners import metafeature_array
    from metahpo.tuning import tune

    bundled = load_bundled()
    mf = compute_metafeatures(tiny_clf, seed=0)
    plan = make_meta_sampler(
        metafeature_array(mf, bundled.metafeature_names),
        "knn",
        "classification",
        experience=bundled,
        n_warm_start=6,
        space=NARROW,
    )
    result = tune(
        tiny_clf,
        "knn",
        budget=5,
        storage=sqlite_url,
        folds=2,
        space=NARROW,
        metafeatures=mf,
        warm_start=6,
        experience=bundled,
    )
    study = optuna.load_study(study_name=result.study, storage=sqlite_url)
    warm = [t for t in study.trials if warm_index(t) is not None]
    # the budget (5) caps the warm starts the plan offers (up to 6), in their order
    assert [t.params for t in warm] == plan.sampler.warm_start[:5]
    assert len(warm) >= 2  # the default and at least one meta-learned configuration
    assert all(20 <= t.params["n_neighbors"] <= 40 for t in study.trials)
    # every warm start is the default or a suggestion transferred (clipped) into the new range
    transferred = [NARROW.transfer(s.params)[0] for s in plan.suggestions]
    assert all(c in [*transferred, NARROW.default_config()] for c in plan.sampler.warm_start)
    clipped = [
        NARROW.transfer(s.params)[0] for s in plan.suggestions if s.params["n_neighbors"] < 20
    ]
    if any(c in plan.sampler.warm_start[:5] for c in clipped):
        assert any(t.params["n_neighbors"] == 20 for t in warm)


def test_tune_with_a_parameter_added_and_one_removed(tiny_clf: Any, sqlite_url: str) -> None:
    from metahpo.tuning import tune

    result = tune(
        tiny_clf,
        "knn",
        budget=3,
        storage=sqlite_url,
        folds=2,
        space=CUSTOM,
        metafeatures={},
        warm_start=2,
    )
    study = optuna.load_study(study_name=result.study, storage=sqlite_url)
    for t in study.trials:
        assert set(t.params) == {"n_neighbors", "weights", "leaf_size"}
        assert 3 <= t.params["n_neighbors"] <= 12
    assert study.trials[0].params["leaf_size"] == 30


def test_a_default_with_rounding_noise_is_the_default_once() -> None:
    """A stored default whose floats went through a log scale (0.1 -> 0.10000000000000002)
    is the library default: one warm start, first when the meta-learner ranks it first."""
    from types import SimpleNamespace

    space = get_space("lgbm", "classification")
    default = space.default_config()
    noisy = {k: v * (1 + 2e-16) if isinstance(v, float) else v for k, v in default.items()}
    assert noisy != default and same_config(noisy, default)
    other = {**default, "n_estimators": 400, "learning_rate": 0.03}
    suggestions = [
        SimpleNamespace(params=noisy, predicted_score=0.9),
        SimpleNamespace(params=other, predicted_score=0.8),
    ]
    warm, predicted = _warm_starts(suggestions, space, 2, False, 0.1)
    assert warm == [default] and predicted == [0.9]  # unsure: halved to one, the default
    warm, _ = _warm_starts(suggestions, space, 4, False, 1.0)
    assert warm == [default, other]

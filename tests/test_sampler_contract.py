"""The contract every registered base and every proposal sampler passes.

Parametrised over the registry (:data:`metahpo.optimizers.BASES`, each through
:func:`~metahpo.optimizers.make_meta_sampler` on a tiny experience) and over every
:class:`~metahpo.optimizers.ProposalSampler` subclass, in the manner of Optuna's
``optuna/testing/pytest_samplers.py``: seeds, enqueued trials, objectives whose parameters
differ from metahpo's space, failures, several workers on one SQLite study, a pruner,
reseeding and a resumed study.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.samplers import BaseSampler
from optuna.trial import Trial, TrialState

from metahpo.errors import MetaHPOError
from metahpo.knowledge import Experience
from metahpo.optimizers import (
    BASES,
    DEFAULT_BASE,
    REGISTRY,
    DeepKernelGP,
    DeepKernelSampler,
    MAMLSampler,
    MetaTrainedSurrogate,
    PolicySampler,
    ProposalSampler,
    QPolicy,
    RandomProposer,
    SeededEvolutionSampler,
    TransferSampler,
    make_meta_sampler,
)
from metahpo.optimizers._view import CLAIM_ATTRS
from metahpo.spaces import Param, SearchSpace

from .test_meta_sampler import DESIGN, KNN, knn_experience, knn_score

optuna.logging.set_verbosity(optuna.logging.WARNING)
Factory = Callable[[int], BaseSampler]

TINY: Experience = knn_experience(np.linspace(-1.0, 1.0, 6))
X = np.vstack([KNN.encode(c) for c in DESIGN])


def _plan(base: str, space: SearchSpace = KNN) -> Factory:
    def make(seed: int) -> BaseSampler:
        model = {"maml": _surrogate, "fsbo": _deep_kernel}.get(base, lambda: None)()  # small
        return make_meta_sampler(
            np.array([0.3, 0.0]),
            "knn",
            "classification",
            experience=TINY,
            n_warm_start=3,
            base=base,
            space=space,
            seed=seed,
            base_model=model,
        ).sampler

    return make


def _transfer(seed: int) -> BaseSampler:
    scores = [np.array([knn_score(m0, c) for c in DESIGN]) for m0 in (-0.5, 0.0, 0.5)]
    return TransferSampler(KNN, KNN, [X] * 3, scores, np.array([1.0, 0.5, 0.2]), seed=seed)


def _transfer_gp(seed: int) -> BaseSampler:
    from metahpo.optimizers._transfer_gp import TransferGPSampler

    scores = [np.array([knn_score(m0, c) for c in DESIGN]) for m0 in (-0.5, 0.0, 0.5)]
    return TransferGPSampler(KNN, KNN, [X] * 3, scores, np.array([1.0, 0.5, 0.2]), seed=seed)


_SURROGATE: list[MetaTrainedSurrogate] = []


def _surrogate() -> MetaTrainedSurrogate:
    if not _SURROGATE:
        _SURROGATE.append(MetaTrainedSurrogate(hidden=8, meta_iterations=5).fit(TINY, KNN))
    return _SURROGATE[0]


def _maml(seed: int) -> BaseSampler:
    return MAMLSampler(KNN, _surrogate(), n_candidates=32, seed=seed)


_DEEP_KERNEL: list[DeepKernelGP] = []


def _deep_kernel() -> DeepKernelGP:
    if not _DEEP_KERNEL:
        model = DeepKernelGP(hidden=8, meta_iterations=5, fine_tune_steps=5)
        _DEEP_KERNEL.append(model.fit(TINY, KNN))
    return _DEEP_KERNEL[0]


def _fsbo(seed: int) -> BaseSampler:
    return DeepKernelSampler(KNN, _deep_kernel(), n_candidates=32, seed=seed)


PROPOSERS: dict[str, Factory] = {
    "RandomProposer": lambda seed: RandomProposer(KNN, seed=seed),
    "RandomProposer-ranked": lambda seed: RandomProposer(KNN, best_first=4, seed=seed),
    "TransferSampler": _transfer,
    "TransferGPSampler": _transfer_gp,
    "SeededEvolutionSampler": lambda seed: SeededEvolutionSampler(
        KNN, DESIGN[:3], population=4, seed=seed
    ),
    "PolicySampler": lambda seed: PolicySampler(KNN, QPolicy(), DESIGN[:3], seed=seed),
    "MAMLSampler": _maml,
    "DeepKernelSampler": _fsbo,
}
SAMPLERS: dict[str, Factory] = {**{f"base-{b}": _plan(b) for b in BASES}, **PROPOSERS}


@pytest.fixture(params=sorted(SAMPLERS))
def factory(request: pytest.FixtureRequest) -> Factory:
    if request.param.endswith("maml") or request.param == "MAMLSampler":
        pytest.importorskip("torch")
    if request.param.endswith("fsbo") or request.param == "DeepKernelSampler":
        pytest.importorskip("gpytorch")
    return SAMPLERS[request.param]


def test_every_registered_base_and_proposal_sampler_is_covered() -> None:
    assert set(BASES) == set(REGISTRY)
    proposers = {c.__name__ for c in _subclasses(ProposalSampler)}
    assert proposers <= {name.split("-")[0] for name in PROPOSERS}


def _subclasses(cls: type) -> set[type]:
    out = set()
    for sub in cls.__subclasses__():
        if sub.__module__.startswith("metahpo."):
            out.add(sub)
        out |= _subclasses(sub)
    return out


def test_an_unknown_base_is_a_clear_error() -> None:
    with pytest.raises(MetaHPOError, match=r"unknown base sampler 'tpee'.*transfer"):
        make_meta_sampler(np.zeros(2), "knn", "classification", experience=TINY, base="tpee")


# -- objectives ------------------------------------------------------------------------------
def knn(trial: Trial) -> float:
    config = {
        "n_neighbors": trial.suggest_int("n_neighbors", 1, 64, log=True),
        "weights": trial.suggest_categorical("weights", ["uniform", "distance"]),
        "p": trial.suggest_categorical("p", [1, 2]),
    }
    return knn_score(0.2, config)


def narrowed(trial: Trial) -> float:
    # the new user's objective: a narrower integer range than metahpo's (1..64)
    config = {
        "n_neighbors": trial.suggest_int("n_neighbors", 20, 30),
        "weights": trial.suggest_categorical("weights", ["uniform", "distance"]),
        "p": trial.suggest_categorical("p", [1, 2]),
    }
    return knn_score(0.2, config)


def _keys(trials: list[optuna.trial.FrozenTrial]) -> list[tuple[Any, ...]]:
    return [tuple(sorted(t.params.items())) for t in trials]


def _run(sampler: BaseSampler, objective: Callable[[Trial], float], n: int) -> optuna.Study:
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=n, catch=(RuntimeError,))
    return study


# -- the contract ----------------------------------------------------------------------------
def test_same_seed_same_configurations(factory: Factory) -> None:
    first = _keys(_run(factory(3), knn, 8).trials)
    assert _keys(_run(factory(3), knn, 8).trials) == first


def test_enqueued_trial_runs_as_given_and_not_again(factory: Factory) -> None:
    study = optuna.create_study(direction="maximize", sampler=factory(0))
    mine = {"n_neighbors": 16, "weights": "distance", "p": 1}  # a design point
    study.enqueue_trial(mine)
    study.optimize(knn, n_trials=10)
    assert study.trials[0].params == mine
    claimed = [t for t in study.trials[1:] if any(a in t.system_attrs for a in CLAIM_ATTRS)]
    assert all(t.params != mine for t in claimed)


def test_narrowed_integer_range_gives_distinct_configurations(factory: Factory) -> None:
    study = _run(factory(0), narrowed, 20)
    assert all(20 <= t.params["n_neighbors"] <= 30 for t in study.trials)
    assert len(set(_keys(study.trials))) >= 16  # 80 % of 20


def test_wider_range_other_types_conditional_and_unknown_parameters(factory: Factory) -> None:
    def objective(trial: Trial) -> float:
        n = trial.suggest_float("n_neighbors", 0.5, 200.0)  # wider, and a float
        weights = trial.suggest_categorical("weights", ["uniform", "distance", "gaussian"])
        if weights == "distance":  # conditional
            trial.suggest_categorical("p", [1, 2])
        extra = trial.suggest_float("unknown", 0.0, 1.0)  # a name metahpo does not know
        return -abs(np.log(n) - 2.0) - extra

    study = _run(factory(0), objective, 12)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 12
    # the unknown parameter is sampled, not frozen: it varies from the very first trials
    assert len({round(t.params["unknown"], 9) for t in study.trials[:6]}) == 6


def test_failing_objective_is_survived_and_not_retried_as_new(factory: Factory) -> None:
    def objective(trial: Trial) -> float:
        value = knn(trial)
        if trial.params["weights"] == "uniform" and trial.number % 2:
            raise RuntimeError("this configuration fails")
        return value

    study = _run(factory(0), objective, 12)
    states = [t.state for t in study.trials]
    assert len(states) == 12 and TrialState.FAIL in states and TrialState.COMPLETE in states
    claimed = [_keys([t])[0] for t in study.trials if set(CLAIM_ATTRS) & set(t.system_attrs)]
    assert len(claimed) == len(set(claimed))  # a failed proposal is not proposed again


def test_two_threads_on_one_sqlite_study_never_evaluate_a_configuration_twice(
    factory: Factory, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    optuna.create_study(study_name="s", storage=url, direction="maximize")

    def worker(seed: int) -> None:
        study = optuna.load_study(study_name="s", storage=_storage(url), sampler=factory(seed))
        study.optimize(knn, n_trials=6)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    trials = optuna.load_study(study_name="s", storage=url).trials
    assert len(trials) == 12
    claimed = [_keys([t])[0] for t in trials if set(CLAIM_ATTRS) & set(t.system_attrs)]
    assert len(claimed) == len(set(claimed))


def test_hyperband_pruner_does_not_hide_evaluated_configurations(factory: Factory) -> None:
    def objective(trial: Trial) -> float:
        value = knn(trial)
        for step in range(4):
            trial.report(value - 0.1 * (3 - step), step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return value

    pruner = optuna.pruners.HyperbandPruner(min_resource=1, max_resource=4, reduction_factor=2)
    study = optuna.create_study(direction="maximize", sampler=factory(0), pruner=pruner)
    study.optimize(objective, n_trials=12)
    claimed = [_keys([t])[0] for t in study.trials if set(CLAIM_ATTRS) & set(t.system_attrs)]
    assert len(claimed) == len(set(claimed))


def test_reseed_keeps_proposing_valid_new_configurations(factory: Factory) -> None:
    sampler = factory(0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(knn, n_trials=4)
    sampler.reseed_rng()
    study.optimize(knn, n_trials=6)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 10
    claimed = [_keys([t])[0] for t in study.trials if set(CLAIM_ATTRS) & set(t.system_attrs)]
    assert len(claimed) == len(set(claimed))


def test_resume_after_a_killed_worker(factory: Factory, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'resume.db'}"
    study = optuna.create_study(study_name="r", storage=url, direction="maximize")
    study.sampler = factory(0)
    study.optimize(knn, n_trials=2)
    killed = study.ask()  # a worker dies mid-trial: its trial stays RUNNING, claimed
    knn(killed)
    resumed = optuna.load_study(study_name="r", storage=url, sampler=factory(0))
    resumed.optimize(knn, n_trials=6)
    trials = resumed.trials
    assert [t.state for t in trials].count(TrialState.COMPLETE) == 8
    claimed = [_keys([t])[0] for t in trials if set(CLAIM_ATTRS) & set(t.system_attrs)]
    assert len(claimed) == len(set(claimed))  # the dead trial's claim is not repeated


# -- a parameter that a custom space adds ------------------------------------------------------
CUSTOM = SearchSpace(
    "knn",
    "classification",
    (
        *KNN.params,
        Param("algorithm", "categorical", choices=("auto", "kd_tree", "brute"), default="auto"),
    ),
)


@pytest.mark.parametrize("base", [b for b in BASES if b != "maml"])
def test_a_parameter_the_custom_space_adds_is_varied_from_the_start(base: str) -> None:
    if base == "fsbo":
        pytest.importorskip("gpytorch")

    def objective(trial: Trial) -> float:
        value = knn(trial)
        trial.suggest_categorical("algorithm", ["auto", "kd_tree", "brute"])
        return value

    study = _run(_plan(base, CUSTOM)(0), objective, 12)
    assert len({t.params["algorithm"] for t in study.trials}) >= 2


# -- two processes on one SQLite study ---------------------------------------------------------
def _storage(url: str) -> optuna.storages.RDBStorage:
    # a patient SQLite connection: the CI machine may be busy, and a lock wait is not the point
    return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})


def _process_worker(url: str, name: str, seed: int) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name="p", storage=_storage(url), sampler=SAMPLERS[name](seed))
    study.optimize(knn, n_trials=6)


@pytest.mark.parametrize("name", [f"base-{DEFAULT_BASE}", "RandomProposer-ranked"])
def test_two_processes_on_one_sqlite_study_never_evaluate_a_configuration_twice(
    name: str, tmp_path: Path
) -> None:
    import multiprocessing

    url = f"sqlite:///{tmp_path / 'processes.db'}"
    optuna.create_study(study_name="p", storage=url, direction="maximize")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_process_worker, args=(url, name, s)) for s in (0, 1)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0]
    trials = optuna.load_study(study_name="p", storage=url).trials
    assert len(trials) == 12, [(t.number, t.state) for t in trials]
    claimed = [_keys([t])[0] for t in trials if set(CLAIM_ATTRS) & set(t.system_attrs)]
    detail = [(t.number, t.params, t.system_attrs) for t in trials]
    assert len(claimed) >= 6 and len(claimed) == len(set(claimed)), detail

"""The sampler contract: plain checks that take a sampler factory, and a pytest base class.

Each check builds fresh samplers with ``factory(seed)``, runs small studies on the toy problem
(:mod:`metahpo.testing._toy`) and raises :class:`AssertionError` on a breach. The claim checks
(a configuration is never evaluated twice) read the trial attributes by which metahpo's samplers
claim a configuration; a sampler that claims nothing passes them trivially.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, Trial, TrialState

from metahpo.optimizers import CLAIM_ATTRS
from metahpo.testing._toy import knn, knn_curve, narrowed

#: Builds a fresh sampler from a seed; the same seed must give the same configurations.
SamplerFactory = Callable[[int], BaseSampler]
#: One check of the contract: ``check(factory, directory)``; ``directory`` is an empty folder
#: for the SQLite files of the checks that need storage.
Check = Callable[[SamplerFactory, Path], None]

Key = tuple[tuple[str, Any], ...]


def keys(trials: list[FrozenTrial]) -> list[Key]:
    """Each trial's configuration as a hashable, sorted tuple."""
    return [tuple(sorted(t.params.items())) for t in trials]


def claimed(trials: list[FrozenTrial]) -> list[Key]:
    """The configurations of the trials a metahpo sampler claimed (by a ``metahpo:*`` attribute)."""
    return [keys([t])[0] for t in trials if set(CLAIM_ATTRS) & set(t.system_attrs)]


def patient_storage(url: str) -> optuna.storages.RDBStorage:
    """A SQLite storage that waits up to a minute for a lock (a busy machine is not the point)."""
    return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})


def _run(sampler: BaseSampler, objective: Callable[[Trial], float], n: int) -> optuna.Study:
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=n, catch=(RuntimeError,))
    return study


def _no_repeats(trials: list[FrozenTrial]) -> None:
    found = claimed(trials)
    assert len(found) == len(set(found)), f"a claimed configuration was evaluated twice: {found}"


# -- the checks ---------------------------------------------------------------------------------
def check_same_seed_same_configurations(factory: SamplerFactory, directory: Path) -> None:
    """Two samplers built with the same seed propose the same configurations."""
    first = keys(_run(factory(3), knn, 8).trials)
    second = keys(_run(factory(3), knn, 8).trials)
    assert second == first, f"seed 3 gave {first}, then {second}"


def check_enqueued_trial_runs_as_given_and_not_again(
    factory: SamplerFactory, directory: Path
) -> None:
    """An enqueued configuration runs first, as given, and is not proposed again."""
    study = optuna.create_study(direction="maximize", sampler=factory(0))
    mine = {"n_neighbors": 16, "weights": "distance", "p": 1}
    study.enqueue_trial(mine)
    study.optimize(knn, n_trials=10)
    assert study.trials[0].params == mine, study.trials[0].params
    again = [t.number for t in study.trials[1:] if claimed([t]) and t.params == mine]
    assert not again, f"the enqueued configuration was proposed again in trials {again}"


def check_narrowed_integer_range_gives_distinct_configurations(
    factory: SamplerFactory, directory: Path
) -> None:
    """An objective with a narrower integer range gets values inside it, mostly distinct."""
    study = _run(factory(0), narrowed, 20)
    values = [t.params["n_neighbors"] for t in study.trials]
    assert all(20 <= v <= 30 for v in values), f"n_neighbors outside 20..30: {values}"
    distinct = len(set(keys(study.trials)))
    assert distinct >= 16, f"only {distinct} distinct configurations in 20 trials"


def check_wider_range_other_types_conditional_and_unknown_parameters(
    factory: SamplerFactory, directory: Path
) -> None:
    """Wider ranges, other types, conditional and unknown parameters all run; unknown ones vary."""

    def objective(trial: Trial) -> float:
        n = trial.suggest_float("n_neighbors", 0.5, 200.0)  # wider, and a float
        weights = trial.suggest_categorical("weights", ["uniform", "distance", "gaussian"])
        if weights == "distance":  # conditional
            trial.suggest_categorical("p", [1, 2])
        extra = trial.suggest_float("unknown", 0.0, 1.0)  # a name metahpo does not know
        return float(-abs(np.log(n) - 2.0) - extra)

    study = _run(factory(0), objective, 12)
    states = [t.state for t in study.trials]
    assert states == [TrialState.COMPLETE] * 12, states
    unknown = {round(t.params["unknown"], 9) for t in study.trials[:6]}
    assert len(unknown) == 6, f"the unknown parameter is frozen: {sorted(unknown)}"


def check_failing_objective_is_survived_and_not_retried_as_new(
    factory: SamplerFactory, directory: Path
) -> None:
    """Failing trials do not stop the study, and a failed proposal is not proposed again."""

    def objective(trial: Trial) -> float:
        value = knn(trial)
        if trial.params["weights"] == "uniform" and trial.number % 2:
            raise RuntimeError("this configuration fails")
        return value

    study = _run(factory(0), objective, 12)
    states = [t.state for t in study.trials]
    assert len(states) == 12, states
    assert TrialState.FAIL in states and TrialState.COMPLETE in states, states
    _no_repeats(study.trials)


def check_two_threads_on_one_sqlite_study_never_evaluate_a_configuration_twice(
    factory: SamplerFactory, directory: Path
) -> None:
    """Two threads, each with its own sampler, on one SQLite study never repeat a claim."""
    url = f"sqlite:///{directory / 'shared.db'}"
    optuna.create_study(study_name="s", storage=url, direction="maximize")

    def worker(seed: int) -> None:
        study = optuna.load_study(
            study_name="s", storage=patient_storage(url), sampler=factory(seed)
        )
        study.optimize(knn, n_trials=6)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    trials = optuna.load_study(study_name="s", storage=url).trials
    assert len(trials) == 12, [(t.number, t.state) for t in trials]
    _no_repeats(trials)


def check_hyperband_pruner_does_not_hide_evaluated_configurations(
    factory: SamplerFactory, directory: Path
) -> None:
    """Under Hyperband (which shows a sampler only its bracket) no claim is repeated."""

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
    _no_repeats(study.trials)


#: COMPLETE trials the pruner checks run to, and the most trials they may take for them.
PRUNED_WANTED, PRUNED_CAP = 5, 40


def _complete_under_pruner(factory: SamplerFactory, pruner: optuna.pruners.BasePruner) -> None:
    """A study of :func:`~metahpo.testing.knn_curve` (3 steps; the first 3 trials, the warm
    starts of a metahpo sampler, pruned after their first step whatever the pruner says) runs
    under ``pruner`` until :data:`PRUNED_WANTED` trials are COMPLETE: it gets there within
    :data:`PRUNED_CAP` trials, nothing fails, and no claimed configuration runs twice (a pruned
    one included)."""
    study = optuna.create_study(direction="maximize", sampler=factory(0), pruner=pruner)
    stop = optuna.study.MaxTrialsCallback(PRUNED_WANTED, states=(TrialState.COMPLETE,))
    name = type(pruner).__name__
    try:
        study.optimize(knn_curve(steps=3, prune_first=3), n_trials=PRUNED_CAP, callbacks=[stop])
    except Exception as error:  # the sampler cannot take pruned trials: a breach, not a crash
        done = [t.state.name for t in study.trials]
        raise AssertionError(
            f"the study under {name} stopped with {error!r} after {done}"
        ) from error
    states = [t.state for t in study.trials]
    summary = {s.name: states.count(s) for s in set(states)}
    assert states.count(TrialState.COMPLETE) == PRUNED_WANTED, (
        f"{PRUNED_WANTED} COMPLETE trials wanted under {name}, got {summary} "
        f"in {len(states)} trials"
    )
    assert TrialState.FAIL not in states, summary
    assert states[:3] == [TrialState.PRUNED] * 3, summary
    _no_repeats(study.trials)


def check_successive_halving_pruner_reaches_the_wanted_complete_trials(
    factory: SamplerFactory, directory: Path
) -> None:
    """Under successive halving, with every early trial pruned, the study reaches its COMPLETE
    trials and never reruns a claimed (or pruned) configuration."""
    pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=2, reduction_factor=2)
    _complete_under_pruner(factory, pruner)


def check_hyperband_pruner_reaches_the_wanted_complete_trials(
    factory: SamplerFactory, directory: Path
) -> None:
    """The same under Hyperband, which shows a sampler only its bracket's trials."""
    pruner = optuna.pruners.HyperbandPruner(min_resource=1, max_resource=3, reduction_factor=2)
    _complete_under_pruner(factory, pruner)


def check_reseed_keeps_proposing_valid_new_configurations(
    factory: SamplerFactory, directory: Path
) -> None:
    """After ``reseed_rng`` (as Optuna does for each worker) the study runs on without repeats."""
    sampler = factory(0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(knn, n_trials=4)
    sampler.reseed_rng()
    study.optimize(knn, n_trials=6)
    states = [t.state for t in study.trials]
    assert states == [TrialState.COMPLETE] * 10, states
    _no_repeats(study.trials)


def check_resume_after_a_killed_worker(factory: SamplerFactory, directory: Path) -> None:
    """A study resumed with a new sampler after a worker died mid-trial does not repeat it."""
    url = f"sqlite:///{directory / 'resume.db'}"
    study = optuna.create_study(study_name="r", storage=url, direction="maximize")
    study.sampler = factory(0)
    study.optimize(knn, n_trials=2)
    killed = study.ask()  # a worker dies mid-trial: its trial stays RUNNING, claimed
    knn(killed)
    resumed = optuna.load_study(study_name="r", storage=url, sampler=factory(0))
    resumed.optimize(knn, n_trials=6)
    states = [t.state for t in resumed.trials]
    assert states.count(TrialState.COMPLETE) == 8, states
    _no_repeats(resumed.trials)


#: Every check of the contract, by name (the name of its ``test_*`` method in
#: :class:`SamplerContract`, without ``test_``).
CHECKS: Mapping[str, Check] = {
    "same_seed_same_configurations": check_same_seed_same_configurations,
    "enqueued_trial_runs_as_given_and_not_again": check_enqueued_trial_runs_as_given_and_not_again,
    "narrowed_integer_range_gives_distinct_configurations": (
        check_narrowed_integer_range_gives_distinct_configurations
    ),
    "wider_range_other_types_conditional_and_unknown_parameters": (
        check_wider_range_other_types_conditional_and_unknown_parameters
    ),
    "failing_objective_is_survived_and_not_retried_as_new": (
        check_failing_objective_is_survived_and_not_retried_as_new
    ),
    "two_threads_on_one_sqlite_study_never_evaluate_a_configuration_twice": (
        check_two_threads_on_one_sqlite_study_never_evaluate_a_configuration_twice
    ),
    "hyperband_pruner_does_not_hide_evaluated_configurations": (
        check_hyperband_pruner_does_not_hide_evaluated_configurations
    ),
    "successive_halving_pruner_reaches_the_wanted_complete_trials": (
        check_successive_halving_pruner_reaches_the_wanted_complete_trials
    ),
    "hyperband_pruner_reaches_the_wanted_complete_trials": (
        check_hyperband_pruner_reaches_the_wanted_complete_trials
    ),
    "reseed_keeps_proposing_valid_new_configurations": (
        check_reseed_keeps_proposing_valid_new_configurations
    ),
    "resume_after_a_killed_worker": check_resume_after_a_killed_worker,
}


def check_sampler(factory: SamplerFactory, directory: Path | None = None) -> None:
    """Run every check of :data:`CHECKS` on ``factory``; the first breach raises.

    ``directory`` holds the checks' SQLite files (default: a temporary folder, removed after).
    """
    if directory is None:
        with tempfile.TemporaryDirectory() as tmp:
            check_sampler(factory, Path(tmp))
        return
    for name, check in CHECKS.items():
        folder = directory / name
        folder.mkdir(parents=True, exist_ok=True)
        check(factory, folder)

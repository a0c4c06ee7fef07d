"""Multi-fidelity tuning (``tune(fidelity="auto")``): row rungs pruned by successive halving, the
fold early stop, the first trial at full fidelity, holdout validation on large tables, resume
and the checks of the new arguments.

The lowest rung (``MIN_ROWS``, 2,000 training rows per fold) is lowered to 100 rows here, so
that a synthetic table of 2,000 rows has rungs of 100 and 300 rows per fold: the tests stay
fast with the real scheduler.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState

import metahpo.tuning._fidelity as fidelity_module
from metahpo.datasets import load_dataset
from metahpo.errors import MetaHPOError
from metahpo.evaluation import evaluate, make_folds
from metahpo.knowledge import TRIAL_FOLDS_ATTR
from metahpo.tuning import FIDELITY_ATTR, RunSettings, plan_fidelity, tune
from metahpo.tuning._fidelity import resolve_validation, stopped_early
from tests.conftest import BAD, DATA, GOOD, synthetic

NO_MF: dict[str, float] = {}
#: The lowest rung in these tests (training rows per fold).
LOW = 100


@pytest.fixture()
def low_rungs(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(fidelity_module, "MIN_ROWS", LOW)
    return LOW


def _study(url: str, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=url)


def _enqueued(url: str, name: str, *configs: dict[str, Any]) -> None:
    """A study whose first trials evaluate ``configs`` in order."""
    study = optuna.create_study(storage=url, study_name=name, direction="maximize")
    for config in configs:
        study.enqueue_trial(config)


def _stopped(trials: list[FrozenTrial]) -> list[FrozenTrial]:
    return [t for t in trials if t.state == TrialState.PRUNED and FIDELITY_ATTR in t.user_attrs]


def test_rungs_grow_by_eta_from_the_lowest_and_small_data_has_none() -> None:
    def splits(train: int) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(np.arange(train), np.arange(10)), (np.arange(train + 1), np.arange(10))]

    plan = plan_fidelity("auto", splits(54_000))
    assert plan is not None and plan.rungs == (2000, 6000, 18000) and plan.full_rows == 54_000
    assert plan.fold_stop and plan.folds == 2
    assert plan_fidelity("auto", splits(8000)).rungs == (2000,)  # type: ignore[union-attr]
    assert plan_fidelity("auto", splits(6000)).rungs == (2000,)  # type: ignore[union-attr]
    assert plan_fidelity("auto", splits(5999)) is None  # fewer than eta * r0: no rungs
    assert plan_fidelity("none", splits(54_000)) is None
    one = plan_fidelity("auto", [(np.arange(80_000), np.arange(20_000))])
    assert one is not None and not one.fold_stop  # a holdout split: no fold to stop after


def test_validation_is_kept_on_resume_and_holdout_only_for_large_new_auto_runs() -> None:
    assert resolve_validation(None, None, (None, None), (1000, 5)) == (5, "auto")
    assert resolve_validation(None, None, (None, None), (100_000, 5)) == (1, "auto")
    assert resolve_validation(None, "none", (None, None), (100_000, 5)) == (5, "none")
    assert resolve_validation(3, None, (None, None), (100_000, 5)) == (3, "auto")
    assert resolve_validation(None, None, (5, "none"), (100_000, 5)) == (5, "none")  # a resume
    assert resolve_validation(None, "auto", (3, "none"), (10, 5)) == (3, "auto")  # refused later


def test_a_table_too_large_for_cv_in_the_timeout_is_held_out() -> None:
    """FLAML's rule: k-fold CV while rows x columns <= 2,500 per second of the timeout."""
    assert resolve_validation(None, None, (None, None), (15_000, 10), 60.0) == (5, "auto")
    assert resolve_validation(None, None, (None, None), (15_000, 10), 59.0) == (1, "auto")
    assert resolve_validation(None, None, (None, None), (75_000, 30), 600.0) == (1, "auto")
    assert resolve_validation(None, None, (None, None), (75_000, 30), None) == (5, "auto")
    # named folds, fidelity="none" and a resumed study's folds win over the timeout
    assert resolve_validation(5, None, (None, None), (75_000, 30), 60.0) == (5, "auto")
    assert resolve_validation(None, "none", (None, None), (75_000, 30), 60.0) == (5, "none")
    assert resolve_validation(None, None, (5, "auto"), (75_000, 30), 60.0) == (5, "auto")
    old = json.loads(RunSettings("r2", "maximize", 5, 0, "sig", 10, "tpe").to_json())
    del old["fidelity"]
    assert RunSettings.from_json(json.dumps(old)).fidelity == "none"  # an earlier version's


def test_small_data_is_tuned_exactly_as_without_fidelities() -> None:
    data = load_dataset(DATA / "vehicle")  # 846 rows: far too few for two rungs
    runs = {}
    for fidelity in ("auto", "none"):
        result = tune(
            data, "knn", budget=4, optimizer="random", storage=None, folds=3,
            metafeatures=NO_MF, fidelity=fidelity, seed=3,
        )  # fmt: skip
        assert result.n_pruned == 0 and result.settings is not None
        assert result.settings.fidelity == fidelity
        runs[fidelity] = [(t["params"], t["value"]) for t in result.trials]
    assert runs["auto"] == runs["none"] and len(runs["none"]) == 4


def test_a_low_rung_stops_a_weak_configuration_and_the_best_is_full_fidelity(
    low_rungs: int, sqlite_url: str
) -> None:
    data = synthetic()
    second = {"C": 0.5, "class_weight": "balanced"}
    _enqueued(sqlite_url, "s", GOOD, second, BAD)
    result = tune(
        data, "linear", budget=3, optimizer="random", storage=sqlite_url, study_name="s",
        folds=3, metafeatures=NO_MF,
    )  # fmt: skip
    trials = _study(sqlite_url, "s").get_trials()
    full = min(len(train) for train, _ in make_folds(data, 3, 0))
    # the first trial went straight to full fidelity: its one report is at all rows
    assert trials[0].state == TrialState.COMPLETE and trials[0].intermediate_values == {
        full: trials[0].value
    }
    # the second climbed the rungs (alone at each, so promoted) to full fidelity
    assert trials[1].state == TrialState.COMPLETE
    assert sorted(trials[1].intermediate_values) == [low_rungs, 3 * low_rungs, full]
    # the weak one was stopped at the lowest rung, and says so
    assert trials[2].state == TrialState.PRUNED and trials[2].params == BAD
    assert trials[2].user_attrs[FIDELITY_ATTR] == {
        "train_rows": low_rungs,
        "folds": 3,
        "of_folds": 3,
    }
    assert result.n_pruned >= 1 and result.pruned_at[f"{low_rungs} rows"] >= 1
    assert result.n_trials == 3 == sum(t.state == TrialState.COMPLETE for t in trials)
    # the best is a COMPLETE trial's score, measured on every row of every fold
    best = max((t for t in trials if t.state == TrialState.COMPLETE), key=lambda t: t.value or 0)
    assert result.best_value == best.value
    again = evaluate(data, "linear", result.best_params, folds=make_folds(data, 3, 0))
    assert again.value == pytest.approx(result.best_value, abs=1e-12)


def test_the_fold_early_stop_prunes_at_full_rows_with_a_users_pruner(
    low_rungs: int, sqlite_url: str
) -> None:
    _enqueued(sqlite_url, "s", GOOD, BAD)
    result = tune(
        synthetic(), "linear", budget=2, optimizer="random", storage=sqlite_url,
        study_name="s", folds=5, metafeatures=NO_MF, pruner=optuna.pruners.NopPruner(),
    )  # fmt: skip
    trials = _study(sqlite_url, "s").get_trials()
    assert trials[1].params == BAD and trials[1].state == TrialState.PRUNED
    where = trials[1].user_attrs[FIDELITY_ATTR]
    assert where["of_folds"] == 5 and 1 <= where["folds"] < 5  # stopped after its first folds
    assert where["train_rows"] == min(len(tr) for tr, _ in make_folds(synthetic(), 5, 0))
    assert sorted(trials[1].intermediate_values) == [low_rungs, 3 * low_rungs]  # not pruned there
    assert f"{where['folds']} of 5 folds" in result.pruned_at
    assert result.n_trials == 2


def test_no_configuration_is_evaluated_twice_at_one_fidelity(
    low_rungs: int, sqlite_url: str
) -> None:
    second = {"C": 0.5, "class_weight": "balanced"}
    _enqueued(sqlite_url, "s", GOOD, BAD, BAD, GOOD, second)
    tune(
        synthetic(), "linear", budget=2, optimizer="random", storage=sqlite_url,
        study_name="s", folds=3, metafeatures=NO_MF,
    )  # fmt: skip
    trials = _study(sqlite_url, "s").get_trials()
    assert len(trials) == 5
    # alone at each rung, BAD is promoted to full rows, where the fold early stop ends it
    assert trials[1].user_attrs[FIDELITY_ATTR]["folds"] < 3
    assert sorted(trials[1].intermediate_values) == [low_rungs, 3 * low_rungs]
    # proposed again, neither a stopped nor a complete configuration is evaluated again
    for t in trials[2:4]:
        assert t.user_attrs.get("metahpo:duplicate") and not t.intermediate_values
    assert trials[4].state == TrialState.COMPLETE and trials[4].params == second


def test_two_workers_share_the_budget_under_the_scheduler(low_rungs: int, sqlite_url: str) -> None:
    budget = 4
    result = tune(
        synthetic(), "linear", budget=budget, optimizer="random", storage=sqlite_url,
        study_name="team", folds=3, metafeatures=NO_MF, n_jobs=2,
    )  # fmt: skip
    trials = _study(sqlite_url, "team").get_trials()
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == budget == result.n_trials
    # the workers ran the plan: a trial started once a model existed climbed the rungs (which
    # ones are stopped there depends on the workers' timing)
    assert any(low_rungs in t.intermediate_values for t in trials)
    assert result.n_pruned == len(_stopped(trials))
    seen = [
        (json.dumps(t.params, sort_keys=True), step)
        for t in trials
        for step in t.intermediate_values
    ]
    assert len(seen) == len(set(seen)), "a configuration was evaluated twice at one fidelity"


def test_resume_keeps_the_fidelity_setting(low_rungs: int, sqlite_url: str) -> None:
    data = synthetic()
    kw: dict[str, Any] = dict(
        optimizer="random", storage=sqlite_url, study_name="s", folds=3, metafeatures=NO_MF
    )
    first = tune(data, "linear", budget=2, fidelity="none", **kw)
    again = tune(data, "linear", budget=4, **kw)  # fidelity not named: the study's
    assert first.settings is not None and again.settings is not None
    assert again.settings.fidelity == "none" and again.n_pruned == 0
    trials = _study(sqlite_url, "s").get_trials()
    assert all(not t.intermediate_values for t in trials)
    with pytest.raises(MetaHPOError, match=r"other settings \(fidelity none -> auto\)"):
        tune(data, "linear", budget=5, fidelity="auto", **kw)
    changed = tune(data, "linear", budget=5, fidelity="auto", allow_changed_settings=True, **kw)
    assert changed.changed_settings == ("fidelity none -> auto",)


def test_large_tables_are_validated_on_a_holdout_unless_folds_are_named(
    monkeypatch: pytest.MonkeyPatch, low_rungs: int
) -> None:
    monkeypatch.setattr(fidelity_module, "HOLDOUT_ROWS", 1500)
    data = synthetic()
    result = tune(data, "linear", budget=2, optimizer="random", storage=None, metafeatures=NO_MF)
    assert result.settings is not None and result.settings.folds == 1
    assert result.settings.validation() == "20 % holdout"
    named = tune(
        data, "linear", budget=1, optimizer="random", storage=None, metafeatures=NO_MF, folds=3
    )
    plain = tune(
        data, "linear", budget=1, optimizer="random", storage=None, metafeatures=NO_MF,
        fidelity="none",
    )  # fmt: skip
    assert named.settings is not None and named.settings.folds == 3
    assert plain.settings is not None and plain.settings.folds == 5


def test_a_timeout_too_short_for_cv_of_the_table_gives_a_holdout(low_rungs: int) -> None:
    data = synthetic()  # 2,000 rows x 6 columns: 12,000 cells, CV from a 4.8-s timeout
    kw: dict[str, Any] = dict(optimizer="random", storage=None, metafeatures=NO_MF)
    short = tune(data, "linear", budget=2, timeout=4.7, **kw)
    assert short.settings is not None and short.settings.folds == 1 and short.n_trials >= 1
    long = tune(data, "linear", budget=2, timeout=600.0, **kw)
    assert long.settings is not None and long.settings.folds == 5


def test_a_holdout_run_stores_one_fold_score_per_trial(
    monkeypatch: pytest.MonkeyPatch, low_rungs: int, sqlite_url: str
) -> None:
    monkeypatch.setattr(fidelity_module, "HOLDOUT_ROWS", 1500)
    tune(
        synthetic(), "knn", budget=2, optimizer="random", storage=sqlite_url, study_name="h",
        metafeatures=NO_MF,
    )  # fmt: skip
    trials = _study(sqlite_url, "h").get_trials(states=(TrialState.COMPLETE,))
    assert trials and all(len(t.user_attrs[TRIAL_FOLDS_ATTR]) == 1 for t in trials)


def test_hyperband_replaces_the_default_pruner(low_rungs: int) -> None:
    result = tune(
        synthetic(), "knn", budget=3, optimizer="tpe", storage=None, folds=3, metafeatures=NO_MF,
        pruner=optuna.pruners.HyperbandPruner(min_resource=LOW, reduction_factor=3),
    )  # fmt: skip
    assert result.n_trials == 3 and 0.5 < result.best_value <= 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fidelity": "fast"}, r"^tune: 'fidelity' must be 'auto' .*got str 'fast'$"),
        ({"fidelity": 3}, r"^tune: 'fidelity' must be .*got int 3$"),
        ({"pruner": "hyperband"}, r"^tune: 'pruner' must be an Optuna pruner .*got str"),
        (
            {"pruner": optuna.pruners.NopPruner(), "fidelity": "none"},
            r"^tune: 'pruner' needs fidelity='auto'",
        ),
        ({"folds": 1}, r"^tune: 'folds' must be at least 2, got 1$"),
    ],
)
def test_bad_fidelity_arguments_are_one_line_errors(kwargs: dict[str, Any], message: str) -> None:
    data = synthetic(200)
    with pytest.raises(MetaHPOError, match=message) as info:
        tune(data, "linear", budget=1, storage=None, metafeatures=NO_MF, **kwargs)
    assert "\n" not in str(info.value)


def test_stopped_early_counts_each_fidelity_in_order() -> None:
    def pruned(attr: dict[str, int]) -> FrozenTrial:
        return optuna.trial.create_trial(state=TrialState.PRUNED, user_attrs={FIDELITY_ATTR: attr})

    trials = [
        pruned({"train_rows": 300, "folds": 5, "of_folds": 5}),
        pruned({"train_rows": 1600, "folds": 2, "of_folds": 5}),
        pruned({"train_rows": 100, "folds": 5, "of_folds": 5}),
        pruned({"train_rows": 100, "folds": 5, "of_folds": 5}),
        optuna.trial.create_trial(state=TrialState.PRUNED),  # a duplicate: not counted
    ]
    assert stopped_early(trials) == {"100 rows": 2, "300 rows": 1, "2 of 5 folds": 1}


def test_a_retried_trial_climbs_the_rungs_anew() -> None:
    from metahpo.tuning._workers import retry_stale

    study = optuna.create_study(direction="maximize")
    dist = {"C": optuna.distributions.FloatDistribution(1e-4, 1e4, log=True)}
    dead = optuna.trial.create_trial(
        state=TrialState.FAIL, params={"C": 1.0}, distributions=dist,
        system_attrs={"completed_rung_0": 0.8, "other": 1},
    )  # fmt: skip
    retry_stale(study, dead)
    (waiting,) = study.get_trials(states=(TrialState.WAITING,))
    assert waiting.params == {"C": 1.0} and "completed_rung_0" not in waiting.system_attrs
    assert waiting.system_attrs["other"] == 1


def _staged_study(with_model: bool) -> tuple[optuna.Study, optuna.Trial]:
    study = optuna.create_study(direction="maximize")
    if with_model:
        dist = {"C": optuna.distributions.FloatDistribution(1e-4, 1e4, log=True)}
        study.add_trial(optuna.trial.create_trial(value=0.8, params={"C": 1.0}, distributions=dist))
    return study, study.ask()


def test_past_the_timeout_a_trial_stops_at_its_next_boundary_once_a_model_exists() -> None:
    import time

    from metahpo.evaluation import Evaluation
    from metahpo.tuning._fidelity import FidelityPlan, evaluate_staged

    plan = FidelityPlan(rungs=(100, 300), full_rows=900, folds=3)
    calls: list[tuple[int | None, bool]] = []

    def run(rows: int | None, on_fold: Any, limit: float | None) -> Evaluation:
        calls.append((rows, on_fold is not None))
        values: list[float] = []
        for i in range(3):
            values.append(0.9)
            if on_fold is not None and i < 2 and on_fold(i, tuple(values)):
                return Evaluation({}, "m", 0.9, fold_values=tuple(values), stopped=True)
        return Evaluation({}, "m", 0.9, fold_values=tuple(values))

    past = time.time() - 1.0
    # a model exists and the deadline has passed: stopped before any work, labelled so
    _, trial = _staged_study(with_model=True)
    with pytest.raises(optuna.TrialPruned, match="the timeout"):
        evaluate_staged(trial, plan, run, maximize=True, time_limit=None, deadline=past)
    assert calls == [] and trial.study.get_trials()[-1].user_attrs[FIDELITY_ATTR]["deadline"]
    # no model yet: the trial runs to full fidelity whatever the clock says
    _, trial = _staged_study(with_model=False)
    ev = evaluate_staged(trial, plan, run, maximize=True, time_limit=None, deadline=past)
    assert ev.ok and calls == [(None, False)]
    # the deadline passes during the full evaluation: stopped after the fold it is in
    calls.clear()
    _, trial = _staged_study(with_model=True)
    soon = time.time() + 60.0
    staged_late = {"late": False}

    def run_then_late(rows: int | None, on_fold: Any, limit: float | None) -> Evaluation:
        if rows is None:
            staged_late["late"] = True
        return run(rows, on_fold, limit)

    # the deadline is read when asked: a clock that jumps past it mid-evaluation
    with pytest.MonkeyPatch.context() as mp:
        real = time.time
        mp.setattr(
            fidelity_module.time, "time", lambda: real() + (120.0 if staged_late["late"] else 0.0)
        )
        with pytest.raises(optuna.TrialPruned, match="the timeout"):
            evaluate_staged(
                trial, plan, run_then_late, maximize=True, time_limit=None, deadline=soon
            )
    assert calls == [(100, False), (300, False), (None, True)]
    # without a deadline nothing changes
    calls.clear()
    _, trial = _staged_study(with_model=True)
    ev = evaluate_staged(trial, plan, run, maximize=True, time_limit=None, deadline=None)
    assert ev.ok and [rows for rows, _ in calls] == [100, 300, None]


def test_a_trial_whose_next_fidelity_cannot_end_before_the_deadline_stops_after_its_rung() -> None:
    import time

    from metahpo.evaluation import Evaluation
    from metahpo.tuning._fidelity import FidelityPlan, evaluate_staged

    plan = FidelityPlan(rungs=(100, 300), full_rows=900, folds=3)
    calls: list[int | None] = []

    def run(rows: int | None, on_fold: Any, limit: float | None) -> Evaluation:
        calls.append(rows)  # 10 s at 100 rows: 30 s at 300 rows, 90 s at full fidelity
        return Evaluation({}, "m", 0.9, fit_time=0.1 * (rows or 900), fold_values=(0.9,) * 3)

    # 20 s left: the 300-row rung (priced 30 s) would end after the deadline
    _, trial = _staged_study(with_model=True)
    with pytest.raises(optuna.TrialPruned, match="the timeout"):
        evaluate_staged(
            trial, plan, run, maximize=True, time_limit=None, deadline=time.time() + 20.0
        )
    attr = trial.study.get_trials()[-1].user_attrs[FIDELITY_ATTR]
    assert calls == [100] and attr["deadline"] and attr["train_rows"] == 100
    # 60 s left: the 300-row rung fits, full fidelity (90 s) does not
    calls.clear()
    _, trial = _staged_study(with_model=True)
    with pytest.raises(optuna.TrialPruned, match="the timeout"):
        evaluate_staged(
            trial, plan, run, maximize=True, time_limit=None, deadline=time.time() + 60.0
        )
    assert calls == [100, 300]
    # enough time, or no model yet: nothing stops it
    for with_model, left in ((True, 1000.0), (False, 20.0)):
        calls.clear()
        _, trial = _staged_study(with_model=with_model)
        ev = evaluate_staged(
            trial, plan, run, maximize=True, time_limit=None, deadline=time.time() + left
        )
        assert ev.ok and calls == ([100, 300, None] if with_model else [None])

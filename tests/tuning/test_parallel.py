"""Parallel trials on one machine and time budgets (issue 14, items 4 and 5).

``tune(n_jobs=2)`` / ``metahpo tune --n-jobs 2`` start two worker processes (``spawn``) on one
SQLite study; each test that starts them takes a few seconds for the workers' imports.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState

from metahpo.cli import main
from metahpo.datasets import Dataset
from metahpo.errors import MetaHPOError
from metahpo.spaces import Param, SearchSpace, get_space
from metahpo.tuning import tune
from metahpo.tuning._workers import LEASE_ATTR
from tests.conftest import DATA

NO_MF: dict[str, float] = {}


def _pid(trial: FrozenTrial) -> int:
    return int(str(trial.user_attrs[LEASE_ATTR]).split(":")[1])


def _trials(url: str, name: str) -> list[FrozenTrial]:
    return optuna.load_study(study_name=name, storage=url).get_trials()


def _exact(trials: list[FrozenTrial], budget: int) -> list[FrozenTrial]:
    """Exactly ``budget`` COMPLETE trials, nothing left RUNNING or WAITING; the COMPLETE ones."""
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(done) == budget, [(t.number, t.state.name) for t in trials]
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    configs = [json.dumps(t.params, sort_keys=True) for t in done]
    assert len(set(configs)) == len(configs), "a configuration completed twice"
    return done


def test_two_jobs_share_one_study_and_end_with_exactly_the_budget(
    tiny_clf: Dataset, sqlite_url: str
) -> None:
    seen: list[tuple[int, str]] = []
    result = tune(
        tiny_clf, "knn", budget=6, optimizer="random", storage=sqlite_url, study_name="p",
        folds=2, metafeatures=NO_MF, n_jobs=2,
        callbacks=[lambda _, t: seen.append((t.number, t.state.name))],
    )  # fmt: skip
    done = _exact(_trials(sqlite_url, "p"), 6)
    workers = {_pid(t) for t in done}
    # the calling process runs no trial; that both workers run trials is checked below, where
    # it does not depend on how fast each process starts
    assert os.getpid() not in workers and 1 <= len(workers) <= 2
    assert result.n_trials == result.n_new == 6 and result.stopped == "budget"
    # the caller's callbacks saw every finished trial of its workers once (progress bar)
    assert sorted(n for n, s in seen if s == "COMPLETE") == sorted(t.number for t in done)
    assert len(seen) == len({n for n, _ in seen})


def test_a_killed_worker_does_not_make_the_budget_overshoot(
    tiny_clf: Dataset, sqlite_url: str
) -> None:
    """The worker running a trial is killed (SIGKILL) after the first trial finishes: the other
    fails its trial, retries the configuration, and the study ends with exactly the budget.

    Random forests of 384-512 trees (about a second per trial): with a model that trains in
    milliseconds, on a quiet machine both workers could finish the whole budget before the
    first callback, leaving no trial to kill."""
    base = get_space("rf", "classification")
    slow = Param("n_estimators", "int", low=384, high=512, default=400)
    space = SearchSpace("rf", "classification", (slow, *base.params[1:]))
    killed: list[int] = []

    def kill_one(study: optuna.Study, _: FrozenTrial) -> None:
        children = {p.pid for p in multiprocessing.active_children()}
        deadline = time.monotonic() + 30
        while not killed and time.monotonic() < deadline:
            for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
                if t.params and LEASE_ATTR in t.user_attrs and _pid(t) in children:
                    os.kill(_pid(t), signal.SIGKILL)  # while it trains
                    killed.append(t.number)
                    return
            time.sleep(0.01)

    result = tune(
        tiny_clf, "rf", budget=6, optimizer="random", storage=sqlite_url, study_name="k",
        folds=2, space=space, metafeatures=NO_MF, n_jobs=2, callbacks=[kill_one],
    )  # fmt: skip
    assert killed, "the test needs a worker killed in a trial"
    trials = _trials(sqlite_url, "k")
    done = _exact(trials, 6)
    victim = trials[killed[0]]
    retried = [t for t in trials if t.system_attrs.get("failed_trial") == victim.number]
    if victim.state == TrialState.FAIL:  # killed in the trial: its configuration retried once
        assert [t.state for t in retried] == [TrialState.COMPLETE]
        assert victim.params.items() <= retried[0].params.items()  # killed mid-suggest: a part
    else:  # on a loaded machine the trial may finish as the signal is sent
        assert victim.state == TrialState.COMPLETE and not retried
    # both workers ran trials of the one study: the killed one, and the one that finished it
    assert {_pid(t) for t in done if t.number > victim.number} - {_pid(victim)}
    assert result.n_trials == 6 and result.stopped == "budget"


def test_workers_share_the_failure_limit(tiny_clf: Dataset, sqlite_url: str) -> None:
    """Every configuration fails (``leaf_size`` below 1): two workers stop together at the
    call's limit, not at twice it."""
    base = get_space("knn", "classification")
    space = SearchSpace(
        "knn",
        "classification",
        (*base.params, Param("leaf_size", "int", low=-30, high=0, default=0)),
    )
    with pytest.raises(MetaHPOError, match="no trial completed"):
        tune(
            tiny_clf, "knn", budget=4, optimizer="random", storage=sqlite_url, study_name="f",
            folds=2, space=space, metafeatures=NO_MF, max_failures=3, n_jobs=2,
        )  # fmt: skip
    failed = [t for t in _trials(sqlite_url, "f") if t.state == TrialState.FAIL]
    assert 3 <= len(failed) <= 4  # each worker checks the shared count before its next trial


def test_cli_n_jobs_two_and_threads(
    tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.json"
    args = ["tune", str(DATA / "vehicle"), "--model", "linear", "--folds", "2", "--budget", "6"]
    args += ["--optimizer", "random", "--storage", sqlite_url, "--study", "c", "--n-jobs", "2"]
    assert main([*args, "--threads", "1", "--json", str(out)]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "stopped by budget" in " ".join(captured.out.split())
    summary = json.loads(out.read_text())
    assert summary["n_trials"] == summary["n_new"] == 6 and summary["stopped"] == "budget"
    _exact(_trials(sqlite_url, "c"), 6)


@pytest.mark.parametrize(
    "storage", ["sqlite:///:memory:", "sqlite://", optuna.storages.InMemoryStorage()]
)
def test_a_storage_in_memory_cannot_be_shared(tiny_clf: Dataset, storage: object) -> None:
    with pytest.raises(MetaHPOError, match="--n-jobs 2 needs a storage"):
        tune(tiny_clf, "knn", budget=2, storage=storage, n_jobs=2, metafeatures=NO_MF)  # type: ignore[arg-type]


@pytest.mark.parametrize(("option", "value"), [("--n-jobs", "0"), ("--threads", "0")])
def test_zero_jobs_or_threads_is_refused(
    option: str, value: str, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["tune", str(DATA / "vehicle"), "--model", "linear", "--storage", sqlite_url]
    assert main([*args, option, value]) == 2
    assert capsys.readouterr().err.startswith(f"metahpo: error: {option} must not be 0")


# -- item 5: time budgets --------------------------------------------------------------------


def test_timeout_without_budget_runs_until_the_timeout(tiny_clf: Dataset, sqlite_url: str) -> None:
    start = time.monotonic()
    result = tune(
        tiny_clf, "knn", budget=None, timeout=2.0, optimizer="random", storage=sqlite_url,
        folds=2, metafeatures=NO_MF,
    )  # fmt: skip
    assert time.monotonic() - start >= 2.0, "no trial limit: it ran until the timeout"
    assert result.stopped == "timeout" and result.stop_message is None
    assert result.n_trials == result.n_new >= 1


def test_a_timeout_spent_before_any_trial_still_ends_with_a_model(tiny_clf: Dataset) -> None:
    # the timeout counts from the call's start: reading the data and the meta-features take
    # longer than 1 ms, yet the call goes on until one trial completes, then stops
    start = time.monotonic()
    result = tune(
        tiny_clf, "knn", budget=None, timeout=0.001, optimizer="random", storage=None, folds=2,
    )  # fmt: skip
    assert result.n_trials == result.n_new == 1 and result.stopped == "timeout"
    assert result.best_params and time.monotonic() - start < 60


def test_the_timeout_stops_a_run_only_once_it_holds_a_model() -> None:
    from metahpo.tuning._run import _stop_reason

    counts = {"failed": 0, "duplicate": 0}
    long_ago = time.monotonic() - 100.0
    assert _stop_reason(0, None, long_ago, 1.0, counts, 10, None) is None
    assert _stop_reason(1, None, long_ago, 1.0, counts, 10, None) == "timeout"
    assert _stop_reason(0, None, long_ago, 1.0, {"failed": 10, "duplicate": 0}, 10, None) == (
        "failures"
    )


def test_budget_without_timeout_needs_one_of_them(tiny_clf: Dataset) -> None:
    with pytest.raises(MetaHPOError, match=r"tune: budget=None needs a 'timeout'"):
        tune(tiny_clf, "knn", budget=None, storage="sqlite:///:memory:", metafeatures=NO_MF)


@pytest.mark.parametrize(
    ("extra", "stopped"),
    [
        (["--timeout", "1.5"], "timeout"),  # no --budget: no trial limit
        (["--timeout", "600", "--budget", "2"], "budget"),  # the budget first
        (["--timeout", "1.5", "--budget", "10000"], "timeout"),  # the timeout first
    ],
)
def test_cli_says_whether_the_budget_or_the_timeout_stopped_the_run(
    extra: list[str],
    stopped: str,
    tmp_path: Path,
    sqlite_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out.json"
    args = ["tune", str(DATA / "vehicle"), "--model", "linear", "--folds", "2"]
    args += ["--optimizer", "random", "--storage", sqlite_url, "--json", str(out)]
    assert main([*args, *extra]) == 0
    captured = capsys.readouterr()
    summary = json.loads(out.read_text())
    assert summary["stopped"] == stopped
    assert f"stopped by {stopped}" in " ".join(captured.out.split())
    if stopped == "budget":
        assert summary["n_trials"] == 2 and summary["stop_message"] is None
    elif "--budget" in extra:
        assert summary["stop_message"].startswith("timeout: ")
        assert f"warning: {summary['stop_message']}" in " ".join(captured.err.split())
    else:
        assert summary["stop_message"] is None and "warning" not in captured.err

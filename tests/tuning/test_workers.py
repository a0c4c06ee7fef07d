"""Budget semantics, failed trials and workers sharing a study (issue 13, findings 2, 3, 6).

The default tests are small; the kill -9 and four-worker checks are ``slow``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from metahpo.cli import main
from metahpo.datasets import Dataset
from metahpo.errors import MetaHPOError
from metahpo.spaces import Param, SearchSpace, get_space
from metahpo.tuning import tune
from metahpo.tuning._workers import LEASE_ATTR, current_lease, fail_dead_trials, is_dead
from tests.conftest import DATA

NO_MF: dict[str, float] = {}


def _knn_space(low: int, high: int) -> SearchSpace:
    """k-NN with an extra ``leaf_size`` in [low, high]: values below 1 fail in ``fit``."""
    base = get_space("knn", "classification")
    leaf = Param("leaf_size", "int", low=low, high=high, default=high)
    return SearchSpace("knn", "classification", (*base.params, leaf))


def _states(url: str, name: str) -> dict[str, int]:
    trials = optuna.load_study(study_name=name, storage=url).get_trials()
    out: dict[str, int] = {}
    for t in trials:
        out[t.state.name] = out.get(t.state.name, 0) + 1
    return out


# -- finding 2: the budget counts completed trials ------------------------------------------


def test_budget_counts_completed_trials_when_some_fail(tiny_clf: Dataset, sqlite_url: str) -> None:
    """About half the configurations fail (``leaf_size`` below 1): the study still ends with
    exactly the budget of COMPLETE trials."""
    result = tune(
        tiny_clf,
        "knn",
        budget=6,
        optimizer="random",
        storage=sqlite_url,
        study_name="s",
        folds=2,
        space=_knn_space(-30, 30),
        metafeatures=NO_MF,
        seed=3,
    )
    states = _states(sqlite_url, "s")
    assert states.get("FAIL", 0) >= 1, "the test needs failing trials"
    assert result.n_trials == states["COMPLETE"] == 6 and result.n_new == 6
    assert result.n_new_failed == states["FAIL"] and result.stopped == "budget"
    failed = optuna.load_study(study_name="s", storage=sqlite_url).get_trials(
        states=(TrialState.FAIL,)
    )
    assert all("leaf_size" in t.user_attrs["metahpo:error"] for t in failed)


def test_failures_stop_at_the_limit_with_a_clear_message(
    tiny_clf: Dataset, sqlite_url: str
) -> None:
    with pytest.raises(MetaHPOError, match=r"no trial completed.*leaf_size"):
        tune(
            tiny_clf,
            "knn",
            budget=4,
            optimizer="random",
            storage=sqlite_url,
            study_name="all-fail",
            folds=2,
            space=_knn_space(-30, 0),
            metafeatures=NO_MF,
            max_failures=3,
        )
    assert _states(sqlite_url, "all-fail") == {"FAIL": 3}


def test_cli_prints_one_line_per_failed_trial_and_the_report_shows_why(
    tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    space = tmp_path / "space.json"
    space.write_text(json.dumps(_knn_space(-40, 10).to_dict()))
    args = ["tune", str(DATA / "vehicle"), "--model", "knn", "--folds", "2", "--seed", "0"]
    args += ["--optimizer", "random", "--storage", sqlite_url, "--study", "f", "--space"]
    code = main([*args, str(space), "--budget", "5", "--max-failures", "4"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    failed = [line for line in err.splitlines() if line.startswith("trial ")]
    assert code == 0 and 1 <= len(failed) <= 4
    assert all(" failed: " in line and "leaf_size" in line for line in failed)
    states = _states(sqlite_url, "f")
    assert states.get("FAIL") == len(failed)
    if states["COMPLETE"] < 5:  # the failure limit ended the run: said in one line
        assert "stopped after 4 failed trials" in err
    from metahpo.report import write_report

    page = write_report(sqlite_url, tmp_path / "r.html").read_text()
    assert "Failed trials" in page and "leaf_size" in page


# -- finding 3: workers claim the budget in the storage -------------------------------------


def _workers(url: str, n: int, budget: int, tmp: Path, extra: tuple[str, ...] = ()) -> list[int]:
    """``n`` `metahpo tune` processes at once on study "team"; their "new" counts."""
    cmd = [sys.executable, "-m", "metahpo", "tune", str(DATA / "vehicle"), "--model", "linear"]
    cmd += ["--folds", "2", "--budget", str(budget), "--storage", url, "--study", "team"]
    cmd += ["--optimizer", "random", *extra]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    procs = [
        subprocess.Popen(
            [*cmd, "--json", str(tmp / f"w{i}.json")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        for i in range(n)
    ]
    for p in procs:
        _, err = p.communicate(timeout=900)
        assert p.returncode == 0, err
        assert "Traceback" not in err
    return [json.loads((tmp / f"w{i}.json").read_text())["n_new"] for i in range(n)]


def _check_exact(url: str, budget: int) -> None:
    trials = optuna.load_study(study_name="team", storage=url).get_trials()
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(done) == budget
    assert not [t.number for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    configs = [json.dumps(t.params, sort_keys=True) for t in done]
    assert len(configs) == len(set(configs)), "a configuration completed twice"
    assert len({t.number for t in trials}) == len(trials)


def test_three_workers_finish_with_exactly_the_budget(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'team.db'}"
    new = _workers(url, 3, 9, tmp_path)
    _check_exact(url, 9)
    assert sum(new) == 9, new  # each worker counts its own trials


# -- finding 6: trials of dead workers ------------------------------------------------------


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_dead_workers_trial_is_failed_at_once_and_a_live_ones_is_kept(
    tiny_clf: Dataset, sqlite_url: str
) -> None:
    """A rerun that ends within the heartbeat grace period left the killed trial RUNNING."""
    common = dict(
        optimizer="random", storage=sqlite_url, study_name="s", folds=2, metafeatures=NO_MF
    )
    tune(tiny_clf, "linear", budget=2, **common)
    study = optuna.load_study(study_name="s", storage=sqlite_url)
    dead = study.ask()
    c = next(p for p in get_space("linear", "classification").params if p.name == "C")
    assert c.low is not None and c.high is not None
    dead.suggest_float("C", c.low, c.high, log=c.log)
    dead.set_user_attr(LEASE_ATTR, f"{socket.gethostname()}:{_dead_pid()}:1")
    live = study.ask()
    live.set_user_attr(LEASE_ATTR, current_lease())  # this very process: alive
    start = time.monotonic()
    result = tune(tiny_clf, "linear", budget=4, timeout=4, **common)
    assert time.monotonic() - start < 15, "the dead trial must not wait for the grace period"
    trials = {t.number: t for t in study.get_trials()}
    assert trials[dead.number].state == TrialState.FAIL
    assert trials[live.number].state == TrialState.RUNNING  # a live worker's trial is kept
    # the dead trial's configuration was retried once, and the live trial holds the last slot
    retried = [t for t in trials.values() if t.system_attrs.get("failed_trial") == dead.number]
    assert len(retried) == 1 and retried[0].state == TrialState.COMPLETE
    assert result.n_trials == 3 and result.stopped == "timeout" and result.stop_message
    study.tell(live, 0.5)


def test_is_dead_without_a_lease_uses_the_start_time() -> None:
    import datetime

    study = optuna.create_study()
    trial = study.ask()
    frozen = study.get_trials()[trial.number]
    assert not is_dead(frozen, grace_period=15)
    old = optuna.trial.FrozenTrial(
        number=frozen.number,
        state=TrialState.RUNNING,
        value=None,
        datetime_start=datetime.datetime.now() - datetime.timedelta(seconds=60),
        datetime_complete=None,
        params={},
        distributions={},
        user_attrs={},
        system_attrs={},
        intermediate_values={},
        trial_id=0,
    )
    assert is_dead(old, grace_period=15)
    assert fail_dead_trials(study, grace_period=15) == []


# -- slow: kill -9 at random moments, four workers on SQLite and PostgreSQL -----------------


def _tune_cmd(url: str, budget: int) -> list[str]:
    cmd = [sys.executable, "-m", "metahpo", "tune", str(DATA / "vehicle"), "--model", "linear"]
    return [*cmd, "--folds", "2", "--budget", str(budget), "--storage", url, "--study", "team"]


@pytest.mark.slow
@pytest.mark.parametrize("kills", [int(os.environ.get("METAHPO_KILLS", "5"))])
def test_kill_9_at_random_moments_then_exactly_the_budget(tmp_path: Path, kills: int) -> None:
    """A run killed with SIGKILL at ``kills`` random moments (while it reads the data, plans
    the warm starts or evaluates trials), then rerun to the end: exactly the budget COMPLETE,
    no configuration twice, nothing RUNNING or WAITING."""
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    budget = 24
    env = dict(os.environ, OMP_NUM_THREADS="1")
    rng = random.Random(13)
    for _ in range(kills):
        proc = subprocess.Popen(
            _tune_cmd(url, budget), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
        )
        time.sleep(rng.uniform(1.0, 12.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    done = subprocess.run(
        _tune_cmd(url, budget), capture_output=True, text=True, env=env, timeout=900
    )
    assert done.returncode == 0, done.stderr
    _check_exact(url, budget)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_four_workers_on_one_study(backend: str, tmp_path: Path, request) -> None:
    if backend == "postgresql":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'team.db'}"
    budget = int(os.environ.get("METAHPO_WORKERS_BUDGET", "24"))
    new = _workers(url, 4, budget, tmp_path, ("--optimizer", "meta", "--warm-start", "3"))
    _check_exact(url, budget)
    assert sum(new) == budget, new

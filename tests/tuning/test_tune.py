from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from metahpo.cli import main
from metahpo.datasets import Dataset
from metahpo.optimizers import CLASSIC_OPTIMIZERS
from metahpo.spaces import FAMILY_NAMES
from metahpo.tuning import tune
from tests.conftest import DATA, require_family, tune_in_parallel

NO_MF: dict[str, float] = {}


def _has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.parametrize("optimizer", sorted(CLASSIC_OPTIMIZERS))
def test_every_optimizer_tunes(optimizer: str, tiny_clf: Dataset, sqlite_url: str) -> None:
    if optimizer == "gp" and not _has_torch():
        pytest.skip("Optuna's GPSampler needs torch")
    result = tune(
        tiny_clf,
        "knn",
        budget=5,
        optimizer=optimizer,
        storage=sqlite_url,
        folds=2,
        metafeatures=NO_MF,
    )
    assert result.n_trials == 5 or (optimizer == "grid" and result.n_trials >= 4)
    assert 0 < result.best_value <= 1
    assert result.optimizer == optimizer


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_every_family_tunes_on_both_tasks(
    family: str, tiny_clf: Dataset, tiny_reg: Dataset, sqlite_url: str
) -> None:
    require_family(family)
    for ds in (tiny_clf, tiny_reg):
        result = tune(
            ds,
            family,
            budget=2,
            optimizer="random",
            storage=sqlite_url,
            folds=2,
            metafeatures=NO_MF,
        )
        assert result.n_trials == 2 and result.task == ds.task


def test_rerun_resumes_without_repeating(tiny_clf: Dataset, sqlite_url: str) -> None:
    first = tune(
        tiny_clf,
        "linear",
        budget=3,
        storage=sqlite_url,
        study_name="s",
        folds=2,
        metafeatures=NO_MF,
    )
    second = tune(
        tiny_clf,
        "linear",
        budget=6,
        storage=sqlite_url,
        study_name="s",
        folds=2,
        metafeatures=NO_MF,
    )
    assert first.n_trials == 3 and second.n_trials == 6 and second.n_new == 3
    third = tune(
        tiny_clf,
        "linear",
        budget=6,
        storage=sqlite_url,
        study_name="s",
        folds=2,
        metafeatures=NO_MF,
    )
    assert third.n_new == 0
    assert third.trials[:3] == first.trials


def test_cli_tune_writes_json_and_the_run_is_experience(
    data_dir: Path, tmp_path: Path, sqlite_url: str, capsys
) -> None:
    out = tmp_path / "best.json"
    code = main(
        [
            "tune",
            str(data_dir / "1027_ESL"),
            "--model",
            "knn",
            "--budget",
            "4",
            "--storage",
            sqlite_url,
            "--folds",
            "3",
            "--json",
            str(out),
        ]
    )
    assert code == 0
    summary = json.loads(out.read_text())
    for key in (
        "best_value",
        "best_params",
        "metric",
        "n_trials",
        "study",
        "storage",
        "model",
        "task",
    ):
        assert key in summary
    assert (
        summary["n_trials"] == 4 and summary["metric"] == "r2" and summary["task"] == "regression"
    )
    printed = capsys.readouterr().out
    assert "r2:" in printed and "±" in printed
    from metahpo.knowledge import KnowledgeStore

    records = KnowledgeStore(sqlite_url).records()
    assert len(records) == 1
    name, record = records[0]
    assert name == summary["study"] and record.source == "tune" and record.family == "knn"
    assert record.metafeatures  # the run is stored with its task description


BAD_CASES = {
    "missing": (None, "no such file"),
    "empty": ("", "empty"),
    "one_row": ("a,target\n1,0\n", "at least 2"),
    "one_class": ("a,target\n1,x\n2,x\n3,x\n", "single class"),
    "target_nan": ("a,target\n1,\n2,\n3,\n", "all missing"),
    "unknown_column": ("a,b\n1,2\n3,4\n", "not found"),
    "text_regression": ("a,target\n1,1.5\n2,abc\n3,2.5\n4,3.5\n", "must be numeric"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_cli_bad_input_is_one_line_and_store_survives(
    case: str, tmp_path: Path, tiny_clf: Dataset, sqlite_url: str, capsys
) -> None:
    tune(
        tiny_clf,
        "knn",
        budget=2,
        storage=sqlite_url,
        study_name="keep",
        folds=2,
        metafeatures=NO_MF,
    )
    content, message = BAD_CASES[case]
    path = tmp_path / f"{case}.csv"
    if content is not None:
        path.write_text(content)
    args = ["tune", str(path), "--model", "knn", "--storage", sqlite_url]
    if case == "text_regression":
        args += ["--task", "regression"]
    if case == "unknown_column":
        args += ["--target", "nope"]
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("metahpo: error:") and message in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    study = optuna.load_study(study_name="keep", storage=sqlite_url)
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 2
    assert [s.study_name for s in optuna.get_all_study_summaries(sqlite_url)] == ["keep"]


def test_cli_rejects_bad_options(data_dir: Path, sqlite_url: str, capsys) -> None:
    assert (
        main(
            [
                "tune",
                str(data_dir / "vehicle"),
                "--model",
                "knn",
                "--optimizer",
                "nope",
                "--storage",
                sqlite_url,
            ]
        )
        == 2
    )
    assert "unknown optimizer" in capsys.readouterr().err
    assert (
        main(
            [
                "tune",
                str(data_dir / "vehicle"),
                "--model",
                "knn",
                "--metric",
                "rmse",
                "--storage",
                sqlite_url,
            ]
        )
        == 2
    )
    assert "is for regression" in capsys.readouterr().err


def _complete(url: str, name: str) -> list[tuple[int, float, dict]]:
    try:
        study = optuna.load_study(study_name=name, storage=url)
    except KeyError:
        return []
    return [(t.number, t.value, t.params) for t in study.get_trials(states=(TrialState.COMPLETE,))]


def test_kill_9_then_rerun_continues_the_study(data_dir: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    cmd = [
        sys.executable,
        "-m",
        "metahpo",
        "tune",
        str(data_dir / "vehicle"),
        "--model",
        "knn",
        "--budget",
        "60",
        "--folds",
        "2",
        "--storage",
        url,
        "--study",
        "k",
        "--optimizer",
        "random",
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.time() + 120
    while time.time() < deadline and len(_complete(url, "k")) < 5:
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = _complete(url, "k")
    assert 5 <= len(before) < 60, "the run must be killed mid-way"
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    after = _complete(url, "k")
    assert len(after) == 60
    assert set(map(repr, before)) <= set(map(repr, after)), "completed trials were lost"
    numbers = [n for n, _, _ in after]
    assert len(numbers) == len(set(numbers))


def test_custom_space_argument_that_the_model_lacks_is_a_clear_error(
    tiny_clf: Dataset, sqlite_url: str
) -> None:
    from metahpo.errors import SpaceError
    from metahpo.spaces import Param, SearchSpace, get_space

    base = get_space("knn", "classification")
    bad = SearchSpace(
        "knn",
        "classification",
        (*base.params, Param("no_such_arg", "int", low=1, high=3, default=1)),
    )
    with pytest.raises(SpaceError, match="no_such_arg"):
        tune(
            tiny_clf,
            "knn",
            budget=1,
            storage=sqlite_url,
            space=bad,
            optimizer="random",
            folds=2,
            metafeatures=NO_MF,
        )


def test_parallel_workers_share_one_study_and_its_budget(data_dir: Path, tmp_path: Path) -> None:
    """Several `metahpo tune` processes on one SQLite storage and study: one budget, no
    repeats, each warm start once (the checks live in ``tune_in_parallel``)."""
    done = tune_in_parallel(data_dir / "vehicle", f"sqlite:///{tmp_path / 'shared.db'}", 16)
    assert len({t.number for t in done}) == len(done) >= 16


def test_resume_with_other_defining_settings_is_an_error_naming_the_difference(
    tiny_clf: Dataset, sqlite_url: str, capsys
) -> None:
    """Issue 13, finding 4: a rerun with other folds / base / strategy mixed runs silently."""
    from metahpo.errors import MetaHPOError
    from metahpo.tuning import RunSettings
    from metahpo.tuning._settings import SETTINGS_ATTR

    common = dict(storage=sqlite_url, study_name="s", metafeatures=NO_MF, warm_start=2)
    first = tune(tiny_clf, "knn", budget=3, folds=2, base="tpe", **common)
    assert first.settings is not None and first.settings.folds == 2
    stored = optuna.load_study(study_name="s", storage=sqlite_url).user_attrs[SETTINGS_ATTR]
    assert RunSettings.from_json(stored) == first.settings
    with pytest.raises(MetaHPOError, match=r"folds 2 -> 3.*new --study"):
        tune(tiny_clf, "knn", budget=5, folds=3, base="tpe", **common)
    with pytest.raises(MetaHPOError, match=r"base tpe -> random"):  # --base alone: "0 new"
        tune(tiny_clf, "knn", budget=3, folds=2, base="random", **common)
    with pytest.raises(MetaHPOError, match=r"strategy portfolio -> nearest"):
        tune(tiny_clf, "knn", budget=5, folds=2, base="tpe", strategy="nearest", **common)
    study = optuna.load_study(study_name="s", storage=sqlite_url)
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 3  # nothing was added
    # the budget is not a defining setting; an explicit flag continues with changed settings
    more = tune(tiny_clf, "knn", budget=4, folds=2, base="tpe", **common)
    assert more.n_trials == 4 and more.n_new == 1 and not more.changed_settings
    moved = tune(
        tiny_clf, "knn", budget=5, folds=3, base="tpe", allow_changed_settings=True, **common
    )
    assert moved.changed_settings == ("folds 2 -> 3",) and moved.settings.folds == 3
    # the CLI: one line, exit 2
    cli = ["tune", str(DATA / "1027_ESL"), "--model", "linear"]
    cli += ["--storage", sqlite_url, "--study", "c", "--budget", "2", "--optimizer", "random"]
    assert main([*cli, "--folds", "2"]) == 0
    capsys.readouterr()
    assert main([*cli, "--folds", "3", "--budget", "3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "other settings (folds 2 -> 3)" in err[0], err
    assert main([*cli, "--folds", "3", "--budget", "3", "--allow-changed-settings"]) == 0
    done = capsys.readouterr()  # the folds the best score was measured with: its trial's
    if "2-fold CV" in done.out:  # the best is still a trial of the first run (the new one is
        assert "measured with 2-fold CV" in done.err, done.err  # random: a reseeded sampler)
    else:
        assert "3-fold CV" in done.out, done.out


def test_a_configuration_equal_but_for_rounding_noise_is_a_duplicate() -> None:
    from metahpo.tuning._run import skip_duplicate

    study = optuna.create_study()
    study.enqueue_trial({"x": 0.1})
    study.optimize(lambda t: t.suggest_float("x", 0.01, 1.0, log=True), n_trials=1)
    study.enqueue_trial({"x": 0.1 * (1 + 2e-16)})
    trial = study.ask()
    trial.suggest_float("x", 0.01, 1.0, log=True)
    with pytest.raises(optuna.TrialPruned, match="evaluated already"):
        skip_duplicate(study, trial)


def test_a_timeout_makes_the_meta_learned_refinement_cost_aware(
    tiny_clf: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a timeout the transfer-gp base gets the bundle's cost model (expected improvement
    per second); without one it does not."""
    from metahpo.optimizers import TimeCost
    from metahpo.spaces import get_space
    from metahpo.tuning import _prepare

    made: list[TimeCost | None] = []
    real = _prepare.time_cost

    def spy(*args: Any, **kwargs: Any) -> TimeCost | None:
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(_prepare, "time_cost", spy)
    tune(tiny_clf, "hgb", budget=2, storage=None, timeout=600.0)
    assert len(made) == 1 and made[0] is not None and made[0].span == 600.0
    space = get_space("hgb", "classification")
    small, large = ({**space.default_config(), "max_iter": n} for n in (20, 500))
    seconds = made[0].log_seconds(np.vstack([space.encode(small), space.encode(large)]))
    assert np.all(np.isfinite(seconds)) and seconds[1] > seconds[0]
    # the run's own evaluation is priced too (the low-cost start): 5-fold CV of every row
    assert made[0].full_log_seconds is not None
    full = made[0].full_log_seconds(np.vstack([space.encode(small), space.encode(large)]))
    assert np.all(np.isfinite(full)) and full[1] > full[0]
    tune(tiny_clf, "hgb", budget=2, storage=None)
    assert len(made) == 1  # no timeout: no cost

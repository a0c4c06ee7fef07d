"""Bad inputs to the CLI: one line on stderr, exit 2, nothing written (issue 13, finding 7)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from metahpo.cli import main
from tests.conftest import DATA, one_line_error

TUNE = ["tune", str(DATA / "1027_ESL"), "--model", "linear", "--budget", "2", "--folds", "2"]


OPTION_CASES = {
    "space_bound_not_a_number": (
        [
            "--space",
            '{"family": "linear", "task": "regression", "params": '
            '[{"name": "alpha", "kind": "float", "low": "abc", "high": 1}]}',
        ],
        "--space",
    ),
    "negative_seed": (["--seed", "-1"], "--seed"),
    "json_into_missing_folder": (["--json", "/nonexistent/folder/out.json"], "--json"),
    "trial_timeout_zero": (["--trial-timeout", "0"], "--trial-timeout"),
    "negative_warm_start": (["--warm-start", "-2"], "--warm-start"),
    "negative_timeout": (["--timeout", "-5"], "--timeout"),
    "nan_timeout": (["--timeout", "nan"], "--timeout"),
    "budget_not_a_number": (["--budget", "x"], "--budget"),
    "n_jobs_zero": (["--n-jobs", "0"], "--n-jobs"),
    "threads_zero": (["--threads", "0"], "--threads"),
    "n_jobs_in_memory": (["--n-jobs", "2", "--storage", "sqlite:///:memory:"], "--n-jobs"),
    "max_failures_zero": (["--max-failures", "0"], "--max-failures"),
    "negative_transfer": (["--base", "transfer", "--transfer", "-1"], "--transfer must be"),
    "negative_base_option": (
        ["--base", "transfer", "--base-option", "n_transfer=-1"],
        "--base-option n_transfer must be 0 or more, got -1",
    ),
    "base_option_without_a_value": (["--base-option", "n_transfer"], "give NAME=VALUE"),
    "base_option_not_an_int": (
        ["--base", "transfer", "--base-option", "n_transfer=x"],
        "must be an integer",
    ),
    "one_fold": (["--folds", "1"], "--folds"),
}


@pytest.mark.parametrize("case", sorted(OPTION_CASES))
def test_bad_tune_options_are_one_line_before_any_work(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra, option = OPTION_CASES[case]
    db = tmp_path / "store.db"
    args = [*TUNE, "--storage", f"sqlite:///{db}", *extra]
    if case == "one_fold":
        args = [a for a in args if a != "2" or args[args.index(a) - 1] != "--folds"]
    assert main(args) == 2
    one_line_error(capsys, option)
    assert not db.exists(), "nothing may be written for a rejected run"


def _write(tmp_path: Path, name: str, frame: dict[str, object]) -> Path:
    import pandas as pd

    path = tmp_path / name
    pd.DataFrame(frame).to_csv(path, index=False)
    return path


def test_huge_features_are_one_clear_error(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=60)
    path = _write(tmp_path, "huge.csv", {"a": x * 1e305, "b": x, "target": x + rng.normal(size=60)})
    db = tmp_path / "s.db"
    assert main(["tune", str(path), "--model", "linear", "--storage", f"sqlite:///{db}"]) == 2
    one_line_error(capsys, "'a'", "rescale")
    assert not db.exists()


def test_a_target_with_one_row_per_class_is_refused(tmp_path: Path, capsys) -> None:
    """It used to 'succeed' with a score of 0.0, stored as experience."""
    n = 400
    rng = np.random.default_rng(0)
    path = _write(
        tmp_path,
        "ids.csv",
        {"a": rng.normal(size=n), "target": [f"id{i}" for i in range(n)]},
    )
    db = tmp_path / "s.db"
    args = ["tune", str(path), "--model", "knn", "--storage", f"sqlite:///{db}"]
    assert main([*args, "--budget", "1", "--folds", "2"]) == 2
    one_line_error(capsys, "400 classes for 400 rows")
    assert not db.exists()


def test_kb_commands_on_missing_or_empty_paths(tmp_path: Path, capsys) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for folder in (empty, tmp_path / "missing"):
        assert main(["kb", "info", "--bundle", str(folder)]) == 2
        one_line_error(capsys, "--bundle")
    db = tmp_path / "nope.db"
    url = f"sqlite:///{db}"
    assert main(["kb", "info", "--storage", url]) == 2
    one_line_error(capsys, "does not exist")
    args = ["kb", "import", str(DATA / "1027_ESL"), "--storage", url, "--study", "s"]
    assert main(args) == 2
    one_line_error(capsys, "does not exist")
    assert main(["suggest", str(DATA / "1027_ESL"), "--model", "linear", "--storage", url]) == 2
    one_line_error(capsys, "does not exist")
    assert not db.exists()


def test_usage_errors_are_one_line(capsys) -> None:
    assert main(["tune"]) == 2
    one_line_error(capsys, "required")
    assert main(["nope"]) == 2
    one_line_error(capsys, "invalid choice")


def test_json_summary_lands_and_names_the_settings(tmp_path: Path, capsys) -> None:
    out = tmp_path / "s.json"
    db = tmp_path / "s.db"
    args = [*TUNE, "--storage", f"sqlite:///{db}", "--optimizer", "random", "--json", str(out)]
    assert main(args) == 0
    summary = json.loads(out.read_text())
    assert summary["settings"]["folds"] == 2 and summary["n_new"] == 2


def test_r2_on_test_folds_of_one_row_is_refused(tmp_path: Path, capsys) -> None:
    """Found by the fuzz suite: every trial failed with 'r2 is not finite on some fold'."""
    path = _write(tmp_path, "two.csv", {"a": [1.0, 2.0, 3.0], "target": [0.5, 1.5, 0.2]})
    args = ["tune", str(path), "--model", "linear", "--folds", "2", "--task", "regression"]
    assert main([*args, "--storage", f"sqlite:///{tmp_path / 's.db'}"]) == 2
    one_line_error(capsys, "r2 needs at least 2 rows")

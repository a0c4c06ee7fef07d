"""``metahpo tune --fidelity {auto,none}``: the summary line and the progress lines say how many
trials were stopped early and at which fidelity; a bad value is a one-line usage error.

The lowest rung is lowered to 100 training rows per fold (as in tests/tuning/test_fidelity.py)
so that a synthetic table of 2,000 rows has low fidelities."""

from __future__ import annotations

import json
import re
from pathlib import Path

import optuna
import pytest

import metahpo.tuning._fidelity as fidelity_module
from metahpo.cli import main
from tests.conftest import BAD, DATA, GOOD, one_line_error, synthetic


@pytest.fixture()
def table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(fidelity_module, "MIN_ROWS", 100)
    data = synthetic()
    path = tmp_path / "synth.csv"
    data.X.assign(target=data.y).to_csv(path, index=False)
    return path


def _tune(data: Path, db: Path, *extra: str) -> list[str]:
    return [
        "tune", str(data), "--model", "linear", "--optimizer", "random", "--folds", "3",
        "--storage", f"sqlite:///{db}", "--study", "s", *extra,
    ]  # fmt: skip


def test_auto_says_how_many_trials_stopped_early_and_where(
    table: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, out = tmp_path / "s.db", tmp_path / "s.json"
    study = optuna.create_study(storage=f"sqlite:///{db}", study_name="s", direction="maximize")
    for config in (GOOD, BAD, {"C": 0.5, "class_weight": "balanced"}):
        study.enqueue_trial(config)
    argv = _tune(table, db, "--budget", "2", "--fidelity", "auto", "--json", str(out))
    assert main(argv) == 0
    captured = capsys.readouterr()
    # BAD climbs the rungs alone, then the fold early stop ends it at full rows
    text = " ".join(captured.out.split())  # rich wraps the summary line
    summary = re.search(r"trials 2 \(2 new, 0 failed; (.*?)\) \|", text)
    assert summary is not None, text
    assert re.fullmatch(r"1 stopped early: 1 at [12] of 3 folds", summary.group(1))
    last = captured.err.strip().splitlines()[-1]
    assert re.fullmatch(r"tune linear: 2/2 completed, trial 2: .* s, 1 stopped early", last)
    written = json.loads(out.read_text())
    assert written["n_pruned"] == 1 and sum(written["pruned_at"].values()) == 1
    assert written["settings"]["fidelity"] == "auto"


def test_none_prints_the_summary_as_before(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "s.json"
    argv = _tune(DATA / "iris", tmp_path / "s.db", "--budget", "2", "--json", str(out))
    assert main(argv) == 0
    line = " ".join(capsys.readouterr().out.split())
    assert "(3-fold CV) | trials 2 (2 new, 0 failed) |" in line and "stopped early" not in line
    written = json.loads(out.read_text())
    # iris is far too small for low fidelities: the default (auto) changes nothing
    assert written["n_pruned"] == 0 and written["settings"]["fidelity"] == "auto"


def test_a_resumed_study_keeps_its_fidelity_and_a_change_is_named(
    table: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.db"
    assert main(_tune(table, db, "--budget", "1", "--fidelity", "none")) == 0
    assert main(_tune(table, db, "--budget", "2")) == 0
    assert "stopped early" not in capsys.readouterr().out
    assert main(_tune(table, db, "--budget", "3", "--fidelity", "auto")) == 2
    one_line_error(capsys, "fidelity none -> auto", "--allow-changed-settings")


def test_a_bad_fidelity_is_a_one_line_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_tune(DATA / "iris", tmp_path / "s.db", "--fidelity", "fast")) == 2
    one_line_error(capsys, "--fidelity", "invalid choice")

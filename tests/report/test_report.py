"""The HTML report of tuning runs."""

from __future__ import annotations

import re
from pathlib import Path

import optuna
import pytest

from metahpo.cli import main
from metahpo.datasets import Dataset
from metahpo.errors import MetaHPOError
from metahpo.report import write_report
from metahpo.tuning import tune


def _images(page: str) -> int:
    return len(
        re.findall(r'<img alt="figure" src="data:image/png;base64,[A-Za-z0-9+/=]{200,}"', page)
    )


def test_report_of_a_metahpo_run_and_a_plain_optuna_study(
    tiny_clf: Dataset, sqlite_url: str, tmp_path: Path
) -> None:
    result = tune(tiny_clf, "knn", budget=7, storage=sqlite_url, folds=2, warm_start=3)
    plain = optuna.create_study(study_name="plain", storage=sqlite_url, direction="minimize")
    plain.optimize(
        lambda t: (
            (t.suggest_float("x", 1e-3, 10, log=True) - 1) ** 2
            + (0.5 if t.suggest_categorical("c", ["a", "b"]) == "b" else 0.0)
        ),
        n_trials=8,
    )
    path = write_report(sqlite_url, tmp_path / "r" / "report.html")
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>")
    assert "2 of 2 studies" in page
    assert result.study in page and "vehicle" in page and "knn" in page
    assert "meta-learned warm-start trials" in page
    assert "a plain Optuna study" in page
    # history, importances and slices for each of the two studies
    assert _images(page) == 6
    assert f"{result.best_value:.4g}" in page and f"{plain.best_value:.4g}" in page


def test_one_study_and_studies_without_completed_trials(sqlite_url: str, tmp_path: Path) -> None:
    def fail(trial: optuna.Trial) -> float:
        trial.suggest_float("x", 0, 1)
        raise ValueError("broken objective")

    broken = optuna.create_study(study_name="broken", storage=sqlite_url)
    broken.optimize(fail, n_trials=2, catch=(ValueError,))
    ok = optuna.create_study(study_name="ok", storage=sqlite_url, direction="maximize")
    ok.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    page = write_report(sqlite_url, tmp_path / "a.html", ["broken"]).read_text()
    assert (
        "1 of 2 studies" in page
        and "No completed trial yet" in page
        and "0 complete, 2 failed" in page
    )
    assert _images(page) == 0
    page = write_report(sqlite_url, tmp_path / "b.html", ["ok"]).read_text()
    assert _images(page) == 2  # too few trials for importances: history and slices only


def test_report_errors_and_cli(sqlite_url: str, tmp_path: Path, capsys) -> None:
    # Issue 13, finding 7: a store that does not exist is an error, and no file is made for it
    with pytest.raises(MetaHPOError, match="does not exist"):
        write_report(sqlite_url, tmp_path / "x.html")
    assert main(["report", "--storage", sqlite_url, "--out", str(tmp_path / "y.html")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not (tmp_path / "store.db").exists() and not (tmp_path / "y.html").exists()
    optuna.create_study(study_name="empty", storage=sqlite_url)
    optuna.delete_study(study_name="empty", storage=sqlite_url)
    with pytest.raises(MetaHPOError, match="no study"):
        write_report(sqlite_url, tmp_path / "x.html")
    optuna.create_study(study_name="s", storage=sqlite_url).optimize(
        lambda t: t.suggest_float("x", 0, 1), n_trials=2
    )
    with pytest.raises(MetaHPOError, match="no study named nope; the storage has: s"):
        write_report(sqlite_url, tmp_path / "x.html", ["nope"])
    out = tmp_path / "cli.html"
    assert main(["report", "--storage", sqlite_url, "--out", str(out)]) == 0
    assert out.exists()
    assert main(["report", "--storage", sqlite_url, "--study", "nope"]) == 2

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import optuna
import pytest

from metahpo.cli import main
from metahpo.datasets import Dataset
from metahpo.errors import KnowledgeBaseError
from metahpo.knowledge import KnowledgeStore, TaskRecord, from_store, import_study, load_bundled
from metahpo.knowledge._records import RECORD_ATTR, SCHEMA_VERSION
from metahpo.spaces import get_space


def _plain_optuna_study(url: object, name: str = "user-study") -> optuna.Study:
    """A study made with Optuna's own API, as a user would, with one unknown parameter."""
    study = optuna.create_study(storage=url, study_name=name, direction="maximize")  # type: ignore[arg-type]

    def objective(trial: optuna.Trial) -> float:
        c = trial.suggest_float("C", 1e-3, 1e3, log=True)
        trial.suggest_float("gamma_scale", 1e-3, 1e3, log=True)
        trial.suggest_categorical("kernel_cache", [100, 200])  # not in metahpo's space
        return -abs(np.log10(c))

    study.optimize(objective, n_trials=12)
    return study


def test_import_round_trips_a_plain_optuna_study(tiny_clf: Dataset, sqlite_url: str) -> None:
    study = _plain_optuna_study(sqlite_url)
    store = KnowledgeStore(sqlite_url)
    report = import_study(store, "user-study", tiny_clf, metafeatures={"a": 1.0})
    assert report.family == "svm"
    assert report.matched == ("C", "gamma_scale")
    assert report.unmatched == ("kernel_cache",)
    assert report.missing == ("class_weight",)
    experience = from_store(store, ("a",))
    assert len(experience) == 1
    task = experience.tasks[0]
    assert task.source == "import" and task.family == "svm" and task.metafeatures[0] == 1.0
    trials = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert np.allclose(task.y, [t.value for t in trials])
    space = get_space("svm", "classification")
    configs = task.configs()
    for t, c in zip(trials, configs, strict=True):
        assert c["C"] == pytest.approx(t.params["C"])
        assert c["class_weight"] == space["class_weight"].default


def test_import_errors(tiny_clf: Dataset, sqlite_url: str) -> None:
    store = KnowledgeStore(sqlite_url)
    with pytest.raises(KnowledgeBaseError, match="no study"):
        import_study(store, "missing", tiny_clf)
    study = optuna.create_study(storage=sqlite_url, study_name="odd")
    study.optimize(lambda t: t.suggest_float("zzz", 0, 1), n_trials=2)
    with pytest.raises(KnowledgeBaseError, match="matches"):
        import_study(store, "odd", tiny_clf, metafeatures={})


def test_cli_import_reports_unmatched(data_dir: Path, sqlite_url: str, capsys) -> None:
    _plain_optuna_study(sqlite_url)
    code = main(
        [
            "kb",
            "import",
            "--storage",
            sqlite_url,
            "--study",
            "user-study",
            str(data_dir / "vehicle"),
        ]
    )
    assert code == 0
    captured = capsys.readouterr()
    assert "12 completed trials as svm" in captured.out
    assert "kernel_cache" in captured.err


def test_columnar_snapshot_equals_object_api(tiny_clf: Dataset, tmp_path: Path) -> None:
    """The SQL fast path and Optuna's object API (journal storage) read the same experience."""
    sql = f"sqlite:///{tmp_path / 'a.db'}"
    journal = str(tmp_path / "b.log")
    stores = {url: KnowledgeStore(url) for url in (sql, journal)}
    for store in stores.values():
        _plain_optuna_study(store.storage)
        import_study(store, "user-study", tiny_clf, metafeatures={"a": 2.0})
    a = from_store(stores[sql], ("a",)).tasks[0]
    b = from_store(stores[journal], ("a",)).tasks[0]
    assert a.n == b.n == 12
    # the two studies sampled differently (no seed), so compare each with its own trials
    for url, task in ((sql, a), (journal, b)):
        study = optuna.load_study(study_name="user-study", storage=stores[url].storage)
        trials = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
        space = get_space("svm", "classification")
        expected = np.vstack([space.encode(space.transfer(t.params)[0]) for t in trials])
        assert np.allclose(task.X, expected)


def test_newer_schema_is_refused_with_an_upgrade_hint() -> None:
    record = json.loads(
        TaskRecord(
            "d", "f", "knn", "classification", "balanced_accuracy", "maximize", {}, "sig", 1, 1
        ).to_json()
    )
    record["schema"] = SCHEMA_VERSION + 1
    with pytest.raises(KnowledgeBaseError, match="pip install -U metahpo"):
        TaskRecord.from_json(json.dumps(record))


def test_store_refuses_to_mix_datasets_in_one_study(
    tiny_clf: Dataset, tiny_reg: Dataset, sqlite_url: str
) -> None:
    from metahpo.tuning import tune

    tune(
        tiny_clf,
        "knn",
        budget=1,
        storage=sqlite_url,
        study_name="x",
        folds=2,
        optimizer="random",
        metafeatures={},
    )
    with pytest.raises(KnowledgeBaseError, match="another --study"):
        tune(
            tiny_reg,
            "knn",
            budget=1,
            storage=sqlite_url,
            study_name="x",
            folds=2,
            optimizer="random",
            metafeatures={},
        )
    assert RECORD_ATTR in optuna.load_study(study_name="x", storage=sqlite_url).user_attrs


def test_kb_info_json_keys(capsys) -> None:
    assert main(["kb", "info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    for key in ("datasets", "tasks", "families", "evaluations", "configs_per_task_median"):
        assert key in info
    bundled = load_bundled()
    assert info["datasets"] == len(bundled.datasets)

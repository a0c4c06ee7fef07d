"""A team's PostgreSQL store: the same behaviour as SQLite, with several processes at once.

Each test gets a fresh database on a throw-away server started from the machine's PostgreSQL
binaries (see ``postgres_server`` in conftest); without them, or without psycopg, they skip.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import optuna
import pytest

from metahpo.cli import main
from metahpo.datasets import Dataset
from metahpo.knowledge import KnowledgeStore, from_store, import_study, study_name
from metahpo.knowledge._records import TRIAL_INDEX_ATTR
from metahpo.spaces import get_space
from tests.conftest import dataset_folder, tune_in_parallel

ENV = dict(os.environ, OMP_NUM_THREADS="1")


def test_columnar_snapshot_reads_postgres_like_the_object_api(
    tiny_clf: Dataset, postgres_url: str, tmp_path: Path
) -> None:
    """The SQL fast path (written against Optuna's tables) also holds on PostgreSQL."""
    store = KnowledgeStore(postgres_url)
    study = optuna.create_study(storage=store.storage, study_name="user", direction="maximize")
    study.optimize(
        lambda t: (
            -abs(np.log10(t.suggest_float("C", 1e-3, 1e3, log=True)))
            + 0.1 * (t.suggest_categorical("class_weight", [None, "balanced"]) is None)
        ),
        n_trials=10,
    )
    report = import_study(store, "user", tiny_clf, metafeatures={"a": 3.0})
    task = from_store(store, ("a",)).tasks[0]
    trials = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    space = get_space(report.family, "classification")
    expected = np.vstack([space.encode(space.transfer(t.params)[0]) for t in trials])
    assert task.n == 10 and task.metafeatures[0] == 3.0
    assert np.allclose(task.X, expected)
    assert np.allclose(task.y, [t.value for t in trials])


def test_parallel_tune_workers_share_one_postgres_study(data_dir: Path, postgres_url: str) -> None:
    """Three `metahpo tune` processes, one PostgreSQL study: one budget, warm starts once each."""
    done = tune_in_parallel(data_dir / "vehicle", postgres_url, 15)
    # the run is experience: its record and every completed trial are read back
    experience = from_store(KnowledgeStore(postgres_url), ("n_rows",))
    assert [t.n for t in experience.tasks] == [len(done)]


def test_kb_build_with_two_workers_on_postgres(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    datasets = dataset_folder(tmp_path / "datasets", "vehicle", "1027_ESL")
    argv = ["kb", "build", "--datasets", str(datasets), "--models", "knn", "linear"]
    argv += ["--configs", "6", "--max-rows", "80", "--folds", "2", "--workers", "2"]
    argv += ["--storage", postgres_url, "--export", str(tmp_path / "bundle")]
    assert main(argv) == 0
    store = KnowledgeStore(postgres_url)
    for d in ("vehicle", "1027_ESL"):
        for f in ("knn", "linear"):
            counts = Counter(
                int(t.user_attrs[TRIAL_INDEX_ATTR]) for t in store.trials(study_name(d, f))
            )
            assert sorted(counts) == list(range(7)) and set(counts.values()) == {1}
    capsys.readouterr()
    assert main(["kb", "info", "--json"]) == 0  # the bundled experience alone
    bundled = json.loads(capsys.readouterr().out)
    assert main(["kb", "info", "--storage", postgres_url, "--json"]) == 0  # plus the store's
    info = json.loads(capsys.readouterr().out)
    assert info["tasks"] - bundled["tasks"] == 4
    assert info["evaluations"] - bundled["evaluations"] == 28
    # a rerun finds everything done and evaluates nothing
    again = subprocess.run(
        [sys.executable, "-m", "metahpo", *argv], capture_output=True, text=True, env=ENV
    )
    assert again.returncode == 0, again.stderr
    assert sum(len(store.trials(study_name("vehicle", f))) for f in ("knn", "linear")) == 14


def test_many_processes_opening_a_new_database_at_once(postgres_url: str) -> None:
    """Workers started together on an empty database all create Optuna's schema at once;
    PostgreSQL then rejects all but one `CREATE TYPE`. Every worker must still open it."""
    code = "import sys; from metahpo.knowledge import open_storage; open_storage(sys.argv[1])"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, postgres_url], stderr=subprocess.PIPE)
        for _ in range(6)
    ]
    errors = [p.communicate(timeout=120)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, "\n".join(errors)

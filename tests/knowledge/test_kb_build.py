from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from metahpo.knowledge import BuildSettings, Bundle, KnowledgeStore, build, study_name
from metahpo.knowledge._records import TRIAL_INDEX_ATTR
from tests.conftest import dataset_folder

SETTINGS = BuildSettings(families=("knn", "linear"), n_configs=4, max_rows=80, folds=2, chunk=2)


@pytest.fixture()
def datasets(tmp_path: Path) -> Path:
    return dataset_folder(tmp_path / "datasets", "vehicle", "1027_ESL")


def _indices(store: KnowledgeStore, dataset: str, family: str) -> list[int]:
    return sorted(
        int(t.user_attrs[TRIAL_INDEX_ATTR]) for t in store.trials(study_name(dataset, family))
    )


def test_build_evaluates_each_design_point_once_and_exports(
    datasets: Path, sqlite_url: str, tmp_path: Path
) -> None:
    store = KnowledgeStore(sqlite_url)
    bundle = Bundle(tmp_path / "bundle")
    report = build(datasets, store, SETTINGS, export=bundle)
    assert report.done == 2 * 2 * 5 and report.datasets == 2
    for ds in ("vehicle", "1027_ESL"):
        for fam in SETTINGS.families:
            assert _indices(store, ds, fam) == [0, 1, 2, 3, 4]
    records = dict(store.records())
    rec = records[study_name("vehicle", "knn")]
    assert rec.source == "build" and rec.n_rows == 80 and rec.metafeatures
    assert sorted(bundle.shard_names()) == ["1027_ESL", "vehicle"]
    _, values, fit_time = bundle.read_shard("vehicle")
    assert values.shape == (2, 5, 4) and fit_time.shape == (2, 5)
    assert np.isfinite(values[:, :, 0]).all()
    again = build(datasets, store, SETTINGS, export=bundle)
    assert again.done == 0


def test_resume_from_store_without_bundle(datasets: Path, sqlite_url: str) -> None:
    store = KnowledgeStore(sqlite_url)
    build(datasets, store, SETTINGS, only=["vehicle"])
    second = build(datasets, store, SETTINGS)
    assert second.done == 10 and second.skipped == 10


def test_kill_9_mid_build_then_rerun_gives_exactly_one_evaluation_each(
    datasets: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    cmd = [
        sys.executable,
        "-m",
        "metahpo",
        "kb",
        "build",
        "--datasets",
        str(datasets),
        "--models",
        "knn",
        "linear",
        "--configs",
        "24",
        "--max-rows",
        "80",
        "--folds",
        "2",
        "--storage",
        url,
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    store = KnowledgeStore(url)
    deadline = time.time() + 120

    def count() -> int:
        try:
            return sum(
                len(_indices(store, d, f))
                for d in ("vehicle", "1027_ESL")
                for f in ("knn", "linear")
                if study_name(d, f) in store.study_names()
            )
        except Exception:
            return 0

    while time.time() < deadline and count() < 12:
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = count()
    assert 12 <= partial < 100, "the build must be killed mid-way"
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    for d in ("vehicle", "1027_ESL"):
        for f in ("knn", "linear"):
            counts = Counter(_indices(store, d, f))
            assert sorted(counts) == list(range(25))
            assert set(counts.values()) == {1}


def _values(store: KnowledgeStore, dataset: str, family: str) -> dict[int, float | None]:
    return {
        int(t.user_attrs[TRIAL_INDEX_ATTR]): t.value
        for t in store.trials(study_name(dataset, family))
    }


def test_build_on_a_dask_cluster_matches_the_local_build(datasets: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    local = KnowledgeStore(f"sqlite:///{tmp_path / 'local.db'}")
    build(datasets, local, SETTINGS)
    remote = KnowledgeStore(f"sqlite:///{tmp_path / 'dask.db'}")
    with distributed.Client(
        distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False),
    ) as client:
        report = build(datasets, remote, SETTINGS, workers=2, executor=client.get_executor())
    assert report.done == 2 * 2 * 5
    for ds in ("vehicle", "1027_ESL"):
        for fam in SETTINGS.families:
            assert _values(remote, ds, fam) == pytest.approx(_values(local, ds, fam))


def test_cli_kb_build_on_a_local_dask_cluster(datasets: Path, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    from metahpo.cli import main

    url = f"sqlite:///{tmp_path / 'kb.db'}"
    argv = ["kb", "build", "--datasets", str(datasets), "--models", "knn", "--configs", "3"]
    argv += ["--max-rows", "60", "--folds", "2", "--no-metafeatures", "--storage", url]
    assert main([*argv, "--dask", "local", "--workers", "2"]) == 0
    store = KnowledgeStore(url)
    assert _indices(store, "vehicle", "knn") == [0, 1, 2, 3]
    assert main([*argv, "--dask", "tcp://127.0.0.1:1"]) == 2  # nobody listens there

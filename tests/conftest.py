"""Shared fixtures: tiny real datasets shipped in tests/data and throw-away stores."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

# One thread per process keeps the suite fast and deterministic on small machines.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from metahpo.datasets import Dataset, load_dataset

ROOT = Path(__file__).resolve().parents[1]  # the repository
DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def tiny_clf() -> Dataset:
    """120 rows of the real 'vehicle' dataset (4 classes, 18 features)."""
    return load_dataset(DATA / "vehicle").subsample(120, seed=1)


@pytest.fixture(scope="session")
def tiny_reg() -> Dataset:
    """100 rows of the real '1027_ESL' dataset (regression, 4 features)."""
    return load_dataset(DATA / "1027_ESL").subsample(100, seed=1)


@pytest.fixture()
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


def require_family(*families: str) -> None:
    """Skip the test where a family's optional library is missing (lgbm, xgb: the boost
    extra, which ``make test`` installs)."""
    from metahpo.errors import SpaceError
    from metahpo.spaces import get_family

    for family in families:
        try:
            get_family(family).check_available()
        except SpaceError as exc:
            pytest.skip(str(exc))


def one_line_error(capsys: pytest.CaptureFixture[str], *needles: str) -> str:
    """What a command wrote on stderr: one line, no traceback, holding every needle."""
    err = capsys.readouterr().err.strip()
    assert err.startswith("metahpo") and "Traceback" not in err, err
    assert len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err
    return err


def dataset_folder(root: Path, *names: str) -> Path:
    """A folder in the shared datasets layout holding copies of the named test datasets."""
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copytree(DATA / name, root / name)
    return root


def shared_datasets() -> Path:
    """The shared meta-training collection (only slow tests use it)."""
    if not SHARED.exists():
        pytest.skip("../shared/datasets is not available")
    return SHARED


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throw-away PostgreSQL server on loopback, for the whole session; its URL.

    Started from the machine's PostgreSQL binaries (``initdb``, ``pg_ctl``); skipped where they or
    the ``psycopg`` driver are missing. PostgreSQL refuses to run as root, so as root the server
    runs as the ``postgres`` user.
    """
    import subprocess
    import tempfile

    pytest.importorskip("psycopg")
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    as_user: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="metahpo-pg-"))
    if os.geteuid() == 0:
        import pwd

        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server")
        os.chown(root, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()

    def run(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True, timeout=120)

    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    try:
        run(initdb, "-D", str(data), "-U", "metahpo", "--auth=trust", "-E", "UTF8", "--no-sync")
        run(pg_ctl, "-D", str(data), "-w", "-l", str(root / "server.log"), "-o", options, "start")
    except (OSError, subprocess.SubprocessError) as exc:  # the machine cannot run a server
        detail = getattr(exc, "stderr", b"") or b""
        subprocess.run(
            [*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=120,
        )  # in case it started after all
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"cannot start a PostgreSQL server here: {exc} {detail.decode()[-300:]}")
    try:
        yield f"postgresql://metahpo@127.0.0.1:{port}"
    finally:
        try:
            subprocess.run(
                [*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
                timeout=120,
            )
        finally:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture()
def postgres_url(postgres_server: str) -> str:
    """A fresh, empty database on the session's PostgreSQL server."""
    import uuid

    import sqlalchemy

    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = sqlalchemy.create_engine(f"{postgres_server}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return f"{postgres_server}/{name}"


def tune_in_parallel(data: Path, url: str, budget: int, workers: int = 3) -> list[Any]:
    """Run ``workers`` `metahpo tune` processes at once on the study "team" of ``url`` and check
    what they must share: one budget (trials already running when it is met may finish), no
    trial number twice, each meta-learned warm start handed out once. Returns the completed
    trials."""
    import subprocess
    import sys

    import optuna

    cmd = [sys.executable, "-m", "metahpo", "tune", str(data), "--model", "knn", "--folds", "2"]
    cmd += ["--budget", str(budget), "--storage", url, "--study", "team"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)
        for _ in range(workers)
    ]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    trials = optuna.load_study(study_name="team", storage=url).trials
    done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert budget <= len(done) <= budget + workers - 1
    assert len({t.number for t in trials}) == len(trials)
    handed = [t.system_attrs["metahpo:warm"] for t in trials if "metahpo:warm" in t.system_attrs]
    assert handed and len(handed) == len(set(handed))
    return done


# -- multi-fidelity tests (tuning, command line) -----------------------------------------
#: Two linear configurations on :func:`synthetic`: a good one, and one that predicts the
#: majority class.
GOOD = {"C": 1.0, "class_weight": "balanced"}
BAD = {"C": 1e-4, "class_weight": "none"}  # predicts the majority class: balanced acc. 0.5


def synthetic(n: int = 2000, seed: int = 0) -> Dataset:
    """A noisy, imbalanced two-class table (about 30 % positives) of ``n`` rows."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    signal = X[:, 0] + 0.5 * X[:, 1] ** 2 + rng.normal(scale=0.8, size=n)
    y = np.where(signal > 1.0, "yes", "no").astype(object)
    return Dataset(
        "synth", pd.DataFrame(X, columns=[f"x{i}" for i in range(6)]), y, "classification"
    )

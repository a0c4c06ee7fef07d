"""A user's files are never lost: outputs never touch inputs, writes are atomic, ``kb import``
leaves metahpo's own records alone, a locked storage is a bounded wait with a message, and bad
numbers are one-line errors (issue 23)."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import warnings
from pathlib import Path

import optuna
import pytest

from metahpo._files import atomic_write, check_outputs
from metahpo.cli import main
from metahpo.datasets import Dataset
from metahpo.errors import KnowledgeBaseError, MetaHPOError, MetaHPOWarning
from metahpo.knowledge import KnowledgeStore, TaskRecord, import_study, open_storage
from metahpo.knowledge._locks import LOCK_TIMEOUT_ENV, StorageLockedError, lock_failure
from metahpo.knowledge._records import RECORD_ATTR
from metahpo.spaces import get_space
from tests.conftest import one_line_error

DATA = Path(__file__).parent / "data"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _sqlite_db(path: Path) -> Path:
    """A SQLite file with content (as a user's experience store would have)."""
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE kept (a)")
        con.execute("INSERT INTO kept VALUES (42)")
    return path


@pytest.fixture()
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder as a user's: a data file, a PMLB-style folder, a store and a 'model'."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(DATA / "iris" / "iris.tsv.gz", tmp_path / "data.tsv.gz")
    shutil.copytree(DATA / "iris", tmp_path / "iris")
    _sqlite_db(tmp_path / "metahpo.db")
    (tmp_path / "m.skops").write_bytes(b"PK not really a model, but the user's file")
    return tmp_path


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): _digest(p) for p in sorted(root.rglob("*")) if p.is_file()}


# -- outputs never touch inputs ----------------------------------------------------------------
REFUSED = [
    # the findings of issue 23, as typed
    (["tune", "data.tsv.gz", "--model", "knn", "--json", "metahpo.db"], "--json", "storage"),
    (["tune", "data.tsv.gz", "--model", "knn", "--save-model", "data.tsv.gz"], "--save", "data"),
    (["predict", "m.skops", "data.tsv.gz", "--out", "m.skops"], "--out", "model"),
    # the same files by other names
    (["tune", "data.tsv.gz", "--model", "knn", "--json", "./metahpo.db"], "--json", "storage"),
    (["tune", "./data.tsv.gz", "--model", "knn", "--save-model", "data.tsv.gz"], "--save", "data"),
    (["tune", "iris", "--model", "knn", "--json", "metahpo.db-journal"], "--json", "storage"),
    (["tune", "iris", "--model", "knn", "--json", "iris/iris.tsv.gz"], "--json", "data folder"),
    (["tune", "iris", "--model", "knn", "--json", "iris/new.json"], "--json", "data folder"),
    (["tune", "iris", "--model", "knn", "--json", "iris/../iris/metadata.yaml"], "--json", "data"),
    (["tune", "iris", "--model", "knn", "--json", "a.json", "--save-model", "./a.json"], "same"),
    (["predict", "m.skops", "data.tsv.gz", "--out", "./data.tsv.gz"], "--out", "data"),
    (["predict", "m.skops", "iris", "--out", "iris/iris.tsv.gz"], "--out", "data folder"),
    (["report", "--out", "metahpo.db"], "--out", "storage"),
    (["kb", "build", "--datasets", ".", "--storage", "sqlite:///metahpo.db", "--export", "iris"],),
    (["kb", "build", "--datasets", ".", "--storage", "sqlite:///x.db", "--export", "x.db"],),
    # writability, before any work
    (["tune", "iris", "--model", "knn", "--json", "missing/s.json"], "--json", "does not exist"),
    (["tune", "iris", "--model", "knn", "--save-model", "iris"], "--save-model", "folder"),
    (["predict", "m.skops", "iris", "--out", "."], "--out", "folder"),
    (["report", "--out", "no/such/r.html"], "--out", "does not exist"),
    (["kb", "build", "--datasets", ".", "--export", "m.skops"], "--export", "is a file"),
]


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: " ".join(c[0]))
def test_an_output_never_overwrites_an_input(
    work: Path, case: tuple[list[str], ...], capsys: pytest.CaptureFixture[str]
) -> None:
    args, *needles = case
    before = _snapshot(work)
    assert main(list(args)) == 2
    one_line_error(capsys, *needles)
    assert _snapshot(work) == before, "a refused command changed or added a file"


def test_outputs_are_compared_by_the_file_they_name(work: Path) -> None:
    """Symlinks, absolute paths, hard links and the storage URL's own spelling."""
    (work / "link.skops").symlink_to(work / "m.skops")
    os.link(work / "data.tsv.gz", work / "hard.tsv.gz")
    absolute = f"sqlite:///{work / 'metahpo.db'}"
    cases = [
        ({"--out": "link.skops"}, {"the model": "m.skops"}, None, "the model"),
        ({"--out": "hard.tsv.gz"}, {"the data": str(work / "data.tsv.gz")}, None, "the data"),
        ({"--json": "metahpo.db"}, {}, absolute, "the storage"),
        ({"--json": str(work / "metahpo.db")}, {}, "sqlite:///metahpo.db", "the storage"),
        ({"--json": "store.log"}, {}, "store.log", "the storage"),
        ({"--json": "metahpo.db-wal"}, {}, "sqlite:///metahpo.db?timeout=5", "the storage"),
    ]
    for outputs, inputs, storage, needle in cases:
        with pytest.raises(MetaHPOError, match=needle):
            check_outputs(outputs, inputs=inputs, storage=storage)
    # what is fine stays fine: new files beside the inputs, memory and server storages
    check_outputs(
        {"--json": "s.json", "--save-model": "s.skops"},
        inputs={"the data": "data.tsv.gz", "the --space file": '{"n_neighbors": [1, 30]}'},
        storage="sqlite:///metahpo.db",
    )
    check_outputs({"--json": "metahpo.db"}, storage="sqlite:///:memory:")
    check_outputs({"--json": "metahpo.db"}, storage="postgresql://u@host/metahpo.db")


def test_the_python_report_refuses_its_own_storage(work: Path) -> None:
    from metahpo.report import write_report

    before = _digest(work / "metahpo.db")
    with pytest.raises(MetaHPOError, match=r"out metahpo\.db is the storage"):
        write_report("sqlite:///metahpo.db", "metahpo.db")
    assert _digest(work / "metahpo.db") == before


# -- atomic writes -----------------------------------------------------------------------------
def test_atomic_write_replaces_whole_files_and_leaves_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    atomic_write(target, "first")
    os.chmod(target, 0o640)
    atomic_write(target, b"second")
    assert target.read_text() == "second"
    assert (target.stat().st_mode & 0o777) == 0o640, "the replaced file's permissions are kept"

    def broken(fh: object) -> None:
        raise RuntimeError("disk full, say")

    with pytest.raises(RuntimeError):
        atomic_write(target, broken)
    assert target.read_text() == "second", "a failed write leaves the old file whole"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"], "no temporary file left"
    link = tmp_path / "link.json"
    link.symlink_to(target)
    atomic_write(link, "third")
    assert link.is_symlink() and target.read_text() == "third"
    fresh = tmp_path / "new.csv"
    atomic_write(fresh, "a,b\n")
    umask = os.umask(0o022)
    os.umask(umask)
    assert (fresh.stat().st_mode & 0o777) == 0o666 & ~umask


def test_every_user_file_goes_through_the_one_atomic_writer() -> None:
    """No direct write of a user's file left in the commands, the report, models or bundles."""
    src = Path(__file__).resolve().parents[1] / "src" / "metahpo"
    writers = [
        src / "cli" / "_tune.py",
        src / "cli" / "_predict.py",
        src / "report" / "_html.py",
        src / "tuning" / "_model.py",
        src / "knowledge" / "_bundle.py",
        src / "metalearners" / "_persist.py",
    ]
    for path in writers:
        text = path.read_text()
        assert "atomic_write" in text, path
        for direct in (".write_text(", ".write_bytes(", "to_csv(args.out", "os.replace("):
            assert direct not in text, (path, direct)


def test_predict_writes_its_csv_atomically(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["tune", "iris", "--model", "linear", "--budget", "1", "--save-model", "m2.skops"])
        == 0
    )
    (work / "p.csv").write_text("old predictions\n")
    capsys.readouterr()
    assert main(["predict", "m2.skops", "data.tsv.gz", "--out", "p.csv"]) == 0
    lines = (work / "p.csv").read_text().splitlines()
    assert lines[0] == "target" and len(lines) == 151
    assert not [p for p in work.iterdir() if p.name.endswith(".tmp")]


# -- kb import leaves metahpo's own records alone -----------------------------------------------
def _metahpo_study(url: str, dataset: Dataset, source: str) -> TaskRecord:
    """A study as metahpo's tune or build leaves it: a task record and completed trials."""
    record = TaskRecord.describe(
        dataset,
        get_space("knn", dataset.task),
        metric="balanced_accuracy",
        direction="maximize",
        metafeatures={"a": 1.0},
        source=source,
        folds=3,
    )
    study = KnowledgeStore(url).create_task("s", record)
    study.optimize(lambda t: t.suggest_int("n_neighbors", 1, 30) / 30, n_trials=3)
    return record


@pytest.mark.parametrize("source", ["tune", "build", "sklearn"])
def test_kb_import_never_rewrites_a_record_metahpo_wrote(
    source: str, tiny_clf: Dataset, tiny_reg: Dataset, sqlite_url: str
) -> None:
    record = _metahpo_study(sqlite_url, tiny_clf, source)
    store = KnowledgeStore(sqlite_url)
    for other in (tiny_reg, tiny_clf):  # other data, and the same data (folds 3, its metric)
        with pytest.raises(KnowledgeBaseError, match=f"metahpo {source} run"):
            import_study(store, "s", other, metafeatures={"a": 2.0})
    kept = optuna.load_study(study_name="s", storage=sqlite_url).user_attrs[RECORD_ATTR]
    assert TaskRecord.from_json(kept) == record


def test_cli_kb_import_of_a_tuned_study_is_one_line(
    tiny_clf: Dataset, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    record = _metahpo_study(sqlite_url, tiny_clf, "tune")
    args = ["kb", "import", str(DATA / "1027_ESL"), "--storage", sqlite_url, "--study", "s"]
    assert main(args) == 2
    one_line_error(capsys, "study 's' is a metahpo tune run", "left as it is")
    kept = optuna.load_study(study_name="s", storage=sqlite_url).user_attrs[RECORD_ATTR]
    assert TaskRecord.from_json(kept) == record


def test_an_imported_study_can_be_imported_again(tiny_clf: Dataset, sqlite_url: str) -> None:
    study = optuna.create_study(storage=sqlite_url, study_name="mine", direction="maximize")
    study.optimize(lambda t: t.suggest_int("n_neighbors", 1, 30) / 30, n_trials=3)
    store = KnowledgeStore(sqlite_url)
    import_study(store, "mine", tiny_clf, metafeatures={"a": 1.0}, metric="accuracy")
    import_study(store, "mine", tiny_clf, metafeatures={"a": 1.0}, metric="f1_macro")
    raw = optuna.load_study(study_name="mine", storage=sqlite_url).user_attrs[RECORD_ATTR]
    assert TaskRecord.from_json(raw).metric == "f1_macro"


# -- a locked storage: a message within seconds, a bounded wait, one line -----------------------
HOLD = (
    "import sqlite3, sys, time\n"
    "con = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
    "con.execute('BEGIN EXCLUSIVE')\n"
    "print('held', flush=True)\n"
    "time.sleep(60)\n"
)


@pytest.fixture()
def locked_db(tmp_path: Path) -> object:
    """A SQLite file that another process holds with ``BEGIN EXCLUSIVE``."""
    db = _sqlite_db(tmp_path / "locked.db")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(db)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield db
    finally:
        holder.kill()
        holder.wait()


def test_a_locked_storage_is_a_bounded_wait_with_a_note(
    locked_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "3")
    start = time.monotonic()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(StorageLockedError, match=r"locked by another process \(waited 3 s\)"):
            open_storage(f"sqlite:///{locked_db}")
    took = time.monotonic() - start
    assert 2.5 < took < 8, took
    notes = [str(w.message) for w in caught if issubclass(w.category, MetaHPOWarning)]
    assert notes == [f"waiting up to 3 s for the lock on {locked_db} (another process holds it)"]


def test_cli_on_a_locked_storage_says_so_and_stops(
    locked_db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "4")
    url = f"sqlite:///{locked_db}"
    start = time.monotonic()
    assert (
        main(["tune", str(DATA / "iris"), "--model", "knn", "--budget", "1", "--storage", url]) == 2
    )
    took = time.monotonic() - start
    assert took < 12, took
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("metahpo:")]
    assert lines[0].startswith("metahpo: waiting up to 4 s for the lock on"), err
    assert lines[-1].startswith("metahpo: error: storage") and "waited 4 s" in lines[-1], err


def test_a_lock_taken_during_a_run_is_named_in_one_line() -> None:
    """Optuna reports a storage locked mid-run with its own errors: found in the chain."""
    try:
        try:
            raise sqlite3.OperationalError("database is locked")
        except sqlite3.OperationalError as exc:
            raise RuntimeError("An exception is raised during the commit.") from exc
    except RuntimeError as outer:
        found = lock_failure(outer)
    assert isinstance(found, StorageLockedError)
    assert "finished trials are kept" in str(found)
    assert lock_failure(ValueError("other")) is None


@pytest.mark.parametrize("value", ["soon", "-1", "nan"])
def test_a_bad_lock_timeout_is_one_line(
    value: str, work: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, value)
    assert main(["report", "--storage", "sqlite:///metahpo.db", "--out", "r.html"]) == 2
    one_line_error(capsys, LOCK_TIMEOUT_ENV)


# -- numbers out of range: one line, nothing done -----------------------------------------------
NUMBERS = [
    (["features", "iris", "--seed", "-1"], "--seed must be in [0, 4294967295], got -1"),
    (["features", "iris", "--seed", "4294967296"], "--seed must be in [0, 4294967295]"),
    (["kb", "build", "--datasets", ".", "--seed", "-1"], "--seed must be in"),
    (["kb", "build", "--datasets", ".", "--configs", "-1"], "--configs must be at least 1"),
    (["kb", "build", "--datasets", ".", "--configs", "0"], "--configs must be at least 1"),
    (["kb", "build", "--datasets", ".", "--folds", "1"], "--folds must be at least 2"),
    (["kb", "build", "--datasets", ".", "--max-rows", "2"], "--max-rows must be at least"),
    (["kb", "build", "--datasets", ".", "--workers", "0"], "--workers must be at least 1"),
    (["suggest", "iris", "--model", "knn", "-k", "0"], "-k must be at least 1"),
    (["suggest", "iris", "--model", "knn", "--seed", "-1"], "--seed must be in"),
]


@pytest.mark.parametrize("case", NUMBERS, ids=lambda c: " ".join(c[0]))
def test_numbers_out_of_range_are_one_line(
    work: Path, case: tuple[list[str], str], capsys: pytest.CaptureFixture[str]
) -> None:
    args, needle = case
    before = _snapshot(work)
    assert main(args) == 2
    one_line_error(capsys, needle)
    assert _snapshot(work) == before


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "sqlite://"])
def test_an_in_memory_sqlite_url_is_optunas_in_memory_storage(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's :memory: is one database per connection: Optuna's heartbeat thread found no
    tables there and printed tracebacks (found by the fuzz suite)."""
    assert isinstance(open_storage(url), optuna.storages.InMemoryStorage)
    monkeypatch.chdir(tmp_path)
    cmd = [sys.executable, "-m", "metahpo", "tune", str(DATA / "iris"), "--model", "linear"]
    cmd += ["--budget", "3", "--folds", "2", "--optimizer", "random", "--storage", url]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr and "trials 3 (3 new, 0 failed)" in run.stdout
    assert not list(tmp_path.iterdir())  # nothing written to disk

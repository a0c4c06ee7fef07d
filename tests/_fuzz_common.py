"""Shared pieces of the fuzz suite (tests/test_fuzz*.py): sizes, settings, CLI invariants.

Sizes: each default fuzz test tries ``FUZZ_EXAMPLES`` cases (``METAHPO_FUZZ_DEFAULT``, 30; the
objectives five times as many); each slow one (``pytest -m slow -k fuzz``) tries
``SLOW_EXAMPLES`` (``METAHPO_FUZZ_EXAMPLES``, default 1,250), the objectives twice as many:
8 x 1,250 = 10,000 cases in all.
The run of record runs the slow tests in seeded chunks (benchmarks/fuzz_record.sh), which
counts the cases that hypothesis reports as run.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
import os
import shutil
import signal
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase

from metahpo.cli import main
from metahpo.datasets import load_dataset

#: Examples per test in the default run.
FUZZ_EXAMPLES = int(os.environ.get("METAHPO_FUZZ_DEFAULT", "30"))
#: Examples per test in the slow run.
SLOW_EXAMPLES = int(os.environ.get("METAHPO_FUZZ_EXAMPLES", "1250"))

COMMON: dict[str, Any] = dict(
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large, HealthCheck.filter_too_much],
)  # fmt: skip
#: For the tests whose cases take a second: no shrinking (hypothesis may spend five minutes
#: on it); a failure still shows the generated case that broke the invariant.
NO_SHRINK: dict[str, Any] = dict(
    COMMON, phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target]
)
counter = itertools.count()

DATA = Path(__file__).parent / "data"
#: The feature columns of iris (tests/data/iris): the table of the input fuzz tests.
FEATURES = ["sepal-length", "sepal-width", "petal-length", "petal-width"]
SPACE = (
    '{"family": "linear", "task": "classification", "params": [{"name": "C", "kind": "float", '
    '"low": 0.01, "high": 10, "log": true, "default": 1.0}]}'
)


def make_assets(root: Path) -> Path:
    """In ``root``: 60 rows of iris as data.csv, a store holding one tuning run (store.db), its
    model (m.skops), a --space file (space.json) and a datasets folder for kb build (ds)."""
    data = load_dataset(DATA / "iris").subsample(60, seed=1)
    frame = data.X.copy()
    frame["target"] = data.y
    frame.to_csv(root / "data.csv", index=False)
    (root / "space.json").write_text(SPACE)
    shutil.copytree(DATA / "iris", root / "ds" / "iris")
    code = main(["tune", str(root / "data.csv"), "--model", "linear", "--budget", "1",
                 "--folds", "2", "--optimizer", "random", "--storage",
                 f"sqlite:///{root / 'store.db'}", "--study", "first",
                 "--save-model", str(root / "m.skops")])  # fmt: skip
    assert code == 0
    return root


def invariant(code: int, err: str, out_json: Path | None) -> None:
    """Exit 0 with a finite result in ``out_json`` (if written), or exit 2 with one error line."""
    assert "Traceback" not in err, err
    if code == 0:
        if out_json is not None and out_json.exists():
            value = json.loads(out_json.read_text())["best_value"]
            assert math.isfinite(value), value
        return
    assert code == 2, (code, err)
    lines = [line for line in err.strip().splitlines() if line.strip()]
    errors = [line for line in lines if "error:" in line]
    assert len(errors) == 1 and lines[-1] == errors[0], err


def run_cli(capsys: Any, args: list[str], out_json: Path | None = None) -> tuple[int, str, str]:
    """``metahpo ARGS`` in this process; an exception escaping ``main`` fails the test.

    Exit 2: the last line is metahpo's one-line error; only failed trials of a run that had
    started may come before it. Returns (status, stdout, stderr).
    """
    capsys.readouterr()
    code = main(args)
    captured = capsys.readouterr()
    # progress bars and per-trial lines may precede a result; an error is alone on its line
    err = captured.err if code == 0 else "\n".join(
        line for line in captured.err.splitlines() if "error:" in line or "Traceback" in line
    )  # fmt: skip
    if code == 2:
        lines = [x for x in captured.err.splitlines() if x.strip()]
        assert lines[-1].startswith("metahpo"), captured.err
        assert all(x.startswith("trial ") and " failed: " in x for x in lines[:-1]), captured.err
    invariant(code, err, out_json)
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, why: str) -> None:
    """Refused up front: exit 2 and stderr is exactly one line ``metahpo: error: ...``."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, f"{why}: expected exit 2, got {code}; stderr: {err!r}"
    assert len(lines) == 1 and lines[0].startswith("metahpo: error:"), f"{why}: {err!r}"


def has_note(*texts: str) -> bool:
    """An explicit remark to the user: a line saying note or warning."""
    return any(
        "note" in line.lower() or "warning" in line.lower()
        for text in texts
        for line in text.splitlines()
    )


def file_hashes(paths: Iterable[Path]) -> dict[str, str]:
    """sha256 of every file at or below ``paths`` (directories walked), by resolved path."""
    found: dict[str, str] = {}
    for path in paths:
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            found[str(file.resolve())] = hashlib.sha256(file.read_bytes()).hexdigest()
    return found


def assert_unchanged(before: dict[str, str], what: str) -> None:
    """Every input file still exists, byte-identical ("0 changed input files")."""
    for name, digest in before.items():
        path = Path(name)
        assert path.is_file(), f"{what}: changed input file {name}: gone"
        now = hashlib.sha256(path.read_bytes()).hexdigest()
        assert now == digest, f"{what}: changed input file {name}"


class Hang(BaseException):
    """A call ran past its time limit (a BaseException: ``except Exception`` cannot hide it)."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`Hang` in the block after ``seconds`` (SIGALRM; main thread, POSIX)."""

    def _alarm(signum: int, frame: Any) -> None:
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def working_dir(path: Path) -> Iterator[None]:
    """Run the block in ``path`` (relative output paths, a default storage land there)."""
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)

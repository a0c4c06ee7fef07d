"""Fuzzing the CLI and the trial loop with hypothesis (issue 13).

Invariant: ``metahpo`` exits 0 with a finite result, or exits 2 with one line on stderr; it never
shows a traceback (an exception escaping ``main`` fails the test), and the store still opens
with every trial of earlier examples intact.

The default run tries a few hundred generated cases (``FUZZ_EXAMPLES``); the slow run
(``pytest -m slow -k fuzz``) tries ``METAHPO_FUZZ_EXAMPLES`` (default 1,250) per test. Paths,
Python API arguments, lying CSV files and predict tables: tests/test_fuzz_paths.py and
tests/test_fuzz_inputs.py; sizes and shared checks: tests/_fuzz_common.py.
"""

from __future__ import annotations

import gzip
import itertools
import json
import math
import time
from pathlib import Path
from typing import Any

import optuna
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from metahpo.tuning._run import TrialFailed, default_max_failures, run_trials  # noqa: E402

from ._fuzz_common import COMMON as _COMMON  # noqa: E402
from ._fuzz_common import FUZZ_EXAMPLES, SLOW_EXAMPLES, run_cli  # noqa: E402
from ._fuzz_common import counter as _counter  # noqa: E402

# -- generated tables ----------------------------------------------------------------------

MISSING = ["", "NA", "?", "nan", "None", "null", "-"]
_number = st.one_of(
    st.integers(-1000, 1000),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0, 1, -1, 1e305, -1e305, 1e-320, 2**63, 0.5]),
)
_text = st.one_of(
    st.sampled_from(["a", "b", "c", "yes", "no", "é", "日本", "x y", '"q"', "a,b", "1.5"]),
    st.text(max_size=6),
)


@st.composite
def tables(draw: Any) -> tuple[list[str], list[list[str]]]:
    n_cols = draw(st.integers(1, 4))
    n_rows = draw(st.integers(0, 30))
    header = [draw(st.sampled_from(["a", "b", "c", "d", "x y", "é", "", "a"])) + str(i)
              for i in range(n_cols)]  # fmt: skip
    header.append(draw(st.sampled_from(["target", "target", "y", "target"])))
    kinds = [draw(st.sampled_from(["num", "int", "text", "bool", "mixed", "const"]))
             for _ in header]  # fmt: skip
    target = draw(st.sampled_from(["binary", "multi", "numeric", "const", "unique", "missing"]))
    rows = []
    for r in range(n_rows):
        row = []
        for kind in kinds[:-1]:
            if draw(st.integers(0, 9)) == 0:
                row.append(draw(st.sampled_from(MISSING)))
            elif kind == "num":
                row.append(repr(draw(_number)))
            elif kind == "int":
                row.append(str(draw(st.integers(-5, 5))))
            elif kind == "bool":
                row.append(draw(st.sampled_from(["true", "false", "True", "0", "1"])))
            elif kind == "const":
                row.append("7")
            elif kind == "text":
                row.append(draw(_text))
            else:
                row.append(draw(st.one_of(_text, _number.map(repr))))
        row.append(
            {
                "binary": str(r % 2),
                "multi": "abc"[r % 3],
                "numeric": repr(float(r) * 1.5),
                "const": "1",
                "unique": f"id{r}",
                "missing": draw(st.sampled_from(MISSING)),
            }[target]
            if draw(st.integers(0, 19))
            else draw(st.sampled_from(MISSING))
        )
        rows.append(row)
    return header, rows


def _write_table(path: Path, fmt: str, header: list[str], rows: list[list[str]], enc: str) -> Path:
    import csv
    import io

    sep = "\t" if fmt == "tsv" else ","
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=sep)
    writer.writerow(header)
    writer.writerows(rows)
    text = buf.getvalue()
    if fmt == "parquet":
        import pandas as pd

        pytest.importorskip("pyarrow")
        target = path.with_suffix(".parquet")
        frame = pd.DataFrame(rows, columns=header) if rows else pd.DataFrame(columns=header)
        try:
            frame.to_parquet(target)
        except Exception:  # duplicate column names and the like: not a table pandas writes
            target.write_bytes(b"PAR1 not really parquet")
        return target
    suffix = ".tsv" if fmt == "tsv" else ".csv"
    data = text.encode(enc, errors="replace")
    if fmt == "gz":
        target = path.with_suffix(".csv.gz")
        target.write_bytes(gzip.compress(data))
        return target
    target = path.with_suffix(suffix)
    target.write_bytes(data)
    return target


class _Store:
    """One SQLite store per test: after every example, every earlier trial is still there."""

    def __init__(self, root: Path) -> None:
        self.url = f"sqlite:///{root / 'fuzz.db'}"
        self.seen: dict[str, int] = {}

    def check(self) -> None:
        path = Path(self.url[len("sqlite:///") :])
        if not path.exists():
            return
        now = {
            s.study_name: sum(t.state.name == "COMPLETE" for t in s.get_trials(deepcopy=False))
            for s in (
                optuna.load_study(study_name=n, storage=self.url)
                for n in optuna.get_all_study_names(self.url)
            )
        }
        for name, n in self.seen.items():
            assert now.get(name, -1) >= n, f"study {name} lost trials"
        self.seen = now


def _tune_args(store: _Store, data: Path, model: str) -> list[str]:
    study = f"fz{next(_counter)}"
    return ["tune", str(data), "--model", model, "--budget", "1", "--folds", "2", "--optimizer",
            "random", "--storage", store.url, "--study", study]  # fmt: skip


def _tables_case(tmp_path: Path, capsys: Any, store: _Store, case: Any) -> None:
    (header, rows), fmt, enc, model, task = case
    data = _write_table(tmp_path / f"t{next(_counter)}", fmt, header, rows, enc)
    args = _tune_args(store, data, model)
    if task:
        args += ["--task", task]
    out = tmp_path / "out.json"
    out.unlink(missing_ok=True)
    run_cli(capsys, [*args, "--json", str(out)], out)
    store.check()


_table_cases = st.tuples(
    tables(),
    st.sampled_from(["csv", "tsv", "gz", "parquet"]),
    st.sampled_from(["utf-8", "latin-1", "utf-16"]),
    st.sampled_from(["linear", "knn"]),
    st.sampled_from([None, None, "classification", "regression"]),
)


@settings(max_examples=FUZZ_EXAMPLES, **_COMMON)
@given(case=_table_cases)
def test_fuzz_tables(tmp_path: Path, capsys: Any, case: Any) -> None:
    _tables_case(tmp_path, capsys, _STORES.setdefault(str(tmp_path), _Store(tmp_path)), case)


# -- generated --space JSON and option values ------------------------------------------------

_json_value = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 100), st.floats(-1e3, 1e309), st.text(max_size=4),
    st.lists(st.one_of(st.integers(0, 5), st.text(max_size=3)), max_size=3),
)  # fmt: skip


@st.composite
def spaces(draw: Any) -> str:
    param = st.fixed_dictionaries(
        {"name": st.sampled_from(["C", "alpha", "n_neighbors", "p", "weights", "nope", ""])},
        optional={
            "kind": st.sampled_from(["float", "int", "categorical", "bogus"]) | _json_value,
            "low": _json_value,
            "high": _json_value,
            "log": _json_value,
            "choices": _json_value,
            "default": _json_value,
        },
    )
    space: dict[str, Any] = {}
    if draw(st.integers(0, 9)):
        space["family"] = draw(st.sampled_from(["linear", "knn", "svm", "x"]) | _json_value)
    if draw(st.integers(0, 9)):
        space["task"] = draw(st.sampled_from(["regression", "classification"]) | _json_value)
    if draw(st.integers(0, 9)):
        space["params"] = draw(st.lists(param, max_size=3) | _json_value)
    text = json.dumps(space)
    return text if draw(st.integers(0, 19)) else text[: draw(st.integers(0, len(text)))]


_option_value = st.one_of(
    st.integers(-3, 5).map(str), st.sampled_from(["0", "-1", "1e9", "nan", "inf", "x", "", "2.5"])
)
_options = st.lists(
    st.tuples(
        st.sampled_from(["--budget", "--folds", "--seed", "--timeout", "--trial-timeout",
                         "--warm-start", "--n-jobs", "--threads", "--max-failures", "--metric",
                         "--strategy",
                         "--base", "--optimizer"]),
        _option_value,
    ),
    max_size=3,
)  # fmt: skip


@settings(max_examples=FUZZ_EXAMPLES, **_COMMON)
@given(space=spaces(), options=_options, model=st.sampled_from(["linear", "knn"]))
def test_fuzz_spaces_and_options(
    tmp_path: Path, capsys: Any, space: str, options: list[tuple[str, str]], model: str
) -> None:
    store = _STORES.setdefault(str(tmp_path), _Store(tmp_path))
    data = Path(__file__).parent / "data" / "1027_ESL"
    args = _tune_args(store, data, model)
    args += ["--space", space] if space else []
    for option, value in options:
        if option == "--budget":  # keep the runs small
            value = value if value in ("0", "-1", "x", "", "nan", "2.5") else "1"
        if option == "--n-jobs":  # bad values only: worker processes take seconds to start
            value = value if value in ("0", "x", "", "nan", "2.5", "1e9") else "1"
        if option == "--folds" and value in ("5", "4", "1e9"):
            value = "3"
        if option == "--optimizer" and value not in ("x", ""):
            continue
        args += [option, value]
    out = tmp_path / "out.json"
    out.unlink(missing_ok=True)
    run_cli(capsys, [*args, "--json", str(out)], out)
    store.check()


_STORES: dict[str, _Store] = {}

# -- objectives that fail, return NaN or hang ------------------------------------------------

_behaviour = st.sampled_from(["ok", "ok", "fail", "nan", "inf", "slow"])


@settings(max_examples=FUZZ_EXAMPLES * 5, **_COMMON)
@given(
    behaviours=st.lists(_behaviour, min_size=1, max_size=12),
    budget=st.integers(1, 6),
    max_failures=st.none() | st.integers(1, 4),
    timeout=st.none() | st.sampled_from([0.05, 0.5]),
)
def test_fuzz_objectives(
    behaviours: list[str], budget: int, max_failures: int | None, timeout: float | None
) -> None:
    """The trial loop never lets an objective's failure escape, never leaves a RUNNING trial,
    and ends with exactly the budget unless it says why it stopped."""
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(0))
    calls = itertools.count()

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        what = behaviours[next(calls) % len(behaviours)]
        if what == "fail":
            raise TrialFailed(trial.number, "broken on purpose")
        if what == "slow":
            time.sleep(0.02)
        return {"nan": math.nan, "inf": math.inf}.get(what, x)

    outcome = run_trials(
        study, objective, budget=budget, timeout=timeout, max_failures=max_failures
    )
    trials = study.get_trials()
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert not [t for t in trials if t.state.name in ("RUNNING", "WAITING")]
    assert outcome.completed == len(complete) <= budget
    if outcome.stop == "budget":
        assert len(complete) == budget
    else:
        assert outcome.stop in ("failures", "timeout", "duplicates")
    if outcome.stop == "failures":
        limit = default_max_failures(budget) if max_failures is None else max_failures
        assert outcome.failed == limit and outcome.last_error


# -- the slow run: over 10,000 cases ----------------------------------------------------------


@pytest.mark.slow
@settings(max_examples=SLOW_EXAMPLES, **_COMMON)
@given(case=_table_cases)
def test_fuzz_tables_slow(tmp_path: Path, capsys: Any, case: Any) -> None:
    _tables_case(tmp_path, capsys, _STORES.setdefault(str(tmp_path), _Store(tmp_path)), case)


@pytest.mark.slow
@settings(max_examples=SLOW_EXAMPLES, **_COMMON)
@given(space=spaces(), options=_options, model=st.sampled_from(["linear", "knn"]))
def test_fuzz_spaces_and_options_slow(
    tmp_path: Path, capsys: Any, space: str, options: list[tuple[str, str]], model: str
) -> None:
    test_fuzz_spaces_and_options.hypothesis.inner_test(  # type: ignore[attr-defined]
        tmp_path, capsys, space, options, model
    )


@pytest.mark.slow
@settings(max_examples=SLOW_EXAMPLES * 2, **_COMMON)
@given(
    behaviours=st.lists(_behaviour, min_size=1, max_size=12),
    budget=st.integers(1, 6),
    max_failures=st.none() | st.integers(1, 4),
    timeout=st.none() | st.sampled_from([0.05, 0.5]),
)
def test_fuzz_objectives_slow(
    behaviours: list[str], budget: int, max_failures: int | None, timeout: float | None
) -> None:
    test_fuzz_objectives.hypothesis.inner_test(behaviours, budget, max_failures, timeout)  # type: ignore[attr-defined]

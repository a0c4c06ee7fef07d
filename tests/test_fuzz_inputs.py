"""Fuzzing the Python API's arguments and CSV files that lie (issue 23).

The API: ``metahpo.tune``, ``load_dataset``, ``suggest_for_dataset``, ``estimator_spec`` and
``MetaSearchCV(...).fit`` with pandas DataFrames, paths and generated wrong values (strings for
numbers, None, floats for ints, bools, objects, dicts, negative numbers, NaN) in one or two
arguments. Invariant: a correct result or a ``metahpo.MetaHPOError`` (``MetaSearchCV``, a
scikit-learn search: a ``ValueError``, which ``MetaHPOError``'s data errors are), never another
exception and never a hang (60 s); ``MetaSearchCV`` never succeeds on NaN labels.

Files that lie: a header that repeats the target or another column (an error), a semicolon
table with decimal commas (numbers read as numbers: the same score as the plain file, or an
error), a class with fewer rows than folds, rows without a label, inf or 1e308 among the
features (an error or an explicit note). Never a silent success with a meaningless score.
"""

from __future__ import annotations

import inspect
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import metahpo  # noqa: E402
from metahpo.cli import main  # noqa: E402
from metahpo.spaces import build_estimator, get_space  # noqa: E402

from ._fuzz_common import (  # noqa: E402
    DATA,
    FEATURES,
    FUZZ_EXAMPLES,
    NO_SHRINK,
    SLOW_EXAMPLES,
    assert_one_line_error,
    counter,
    has_note,
    invariant,
    make_assets,
    time_limit,
    working_dir,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)
#: A traceback in a background thread (Optuna's heartbeat, a worker) is a traceback too.
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_assets(tmp_path_factory.mktemp("fuzz_inputs"))


# -- the Python API -------------------------------------------------------------------------

NAN = float("nan")
#: Wrong values for any argument (huge integers only where they cannot start a long run).
BAD = [None, "3", "abc", "", 1.5, True, False, -1, 0, NAN, math.inf, {}, {"a": 1}, [], [1, 2],
       b"x", -1e308]  # fmt: skip


class _Obj:
    def __repr__(self) -> str:
        return "<object>"


def _frame(assets: Path) -> pd.DataFrame:
    return pd.read_csv(assets / "data.csv")


def _datasets(assets: Path) -> dict[str, Any]:
    """Dataset arguments, good and bad, by name (values made fresh for each example)."""
    frame = _frame(assets)
    nan_target = frame.copy()
    nan_target.loc[::7, "target"] = NAN
    repeated = pd.concat([frame, frame[["target"]]], axis=1)
    inf = frame.copy()
    inf.iloc[2, 0] = math.inf
    return {
        "dataset": metahpo.load_dataset(assets / "data.csv"),
        "frame": frame,
        "path": str(assets / "data.csv"),
        "pathlib": assets / "data.csv",
        "folder": str(DATA / "iris"),
        "missing_file": str(assets / "nope.csv"),
        "frame_nan_target": nan_target,
        "frame_repeated_target": repeated,
        "frame_no_target": frame.drop(columns=["target"]),
        "frame_inf": inf,
        "frame_empty": frame.iloc[:0],
        "array": frame.to_numpy(),
        "dict": frame.to_dict(),
    }


def _arguments(assets: Path, api: str) -> dict[str, tuple[list[Any], list[Any]]]:
    """For each argument of ``api``: (good values, extra bad values)."""
    data = ["dataset", "dataset", "frame", "path", "pathlib"]
    bad_data = ["missing_file", "frame_no_target", "frame_repeated_target", "frame_empty",
                "array", "dict", "frame_nan_target", "frame_inf"]  # fmt: skip
    family = (["linear", "knn"], ["nope", "LINEAR", 3, _Obj()])
    if api == "tune":
        return {
            "dataset": (data, bad_data),
            "family": family,
            "budget": ([1], ["1"]),
            "folds": ([2], [1, 2.0, "2", 10**6, 2**64]),
            "seed": ([0], [2**64, "0", 1.5]),
            "optimizer": (["random", "random", "meta"], [_Obj(), "nope", 3]),
            "storage": (["memory"], ["sqlite:///nonexistent/dir/x.db", "nope://x", _Obj()]),
            "study_name": ([None], [3, _Obj()]),
            "timeout": ([None], ["1", -1]),
            "trial_time_limit": ([None], ["1"]),
            "space": ([None], [{"n_neighbors": [1, 30]}, {"C": [0.1, 10]}, "x", "svm_space"]),
            "metric": ([None], ["nope", "r2", 3]),
            "metafeatures": ([None], [{"a": "b"}, {"n_rows": NAN}, "x"]),
            "strategy": (["portfolio"], ["nope", 3]),
            "warm_start": ([1], ["2"]),
            "base": (["transfer-gp"], ["nope", 3]),
            "n_jobs": ([None, 1], ["2", -5, _Obj()]),
            "max_failures": ([None], ["2", 2**64]),
            "allow_changed_settings": ([False], ["yes"]),
            "base_options": ([None], ["3", {"n_transfer": 3}]),
            "threads": ([None, 1], ["1", -2]),
            "experience": ([None], ["x", _Obj()]),
        }
    if api == "load_dataset":
        return {
            "path": (["path", "pathlib", "frame", "folder"], bad_data),
            "target": ([None, "target"], ["nope", 3, ""]),
            "task": ([None, "classification"], ["clf", 3, "CLASSIFICATION"]),
            "name": ([None, "x"], [3, _Obj()]),
        }
    if api == "suggest_for_dataset":
        return {
            "dataset": (data, bad_data),
            "family": family,
            "k": ([1, 3], ["3", 2.5, 2**64]),
            "strategy": (["portfolio"], ["nope", 3]),
            "experience": ([None], ["x", _Obj()]),
            "metafeatures": ([None], [{"a": "b"}, {"n_rows": NAN}, "x"]),
            "seed": ([0], [2**64, "0", 1.5]),
        }
    if api == "estimator_spec":
        return {
            "family": (["knn", "linear"], ["nope", 3]),
            "config": (["default", "default"], ["bad_value", "unknown_key", "x", [1]]),
            "dataset": (["dataset"], ["frame", "path", 3]),
            "seed": ([0], [2**64, "0", 1.5]),
            "needs_proba": ([False, True], ["yes"]),
        }
    return {  # MetaSearchCV
        "family": family,
        "n_iter": ([1], ["2", 1.5]),
        "cv": ([2], [1, "2", 2.5]),
        "warm_start": ([1], ["1", 1.5]),
        "random_state": ([0], [2**64, "0"]),
        "task": (["classification"], ["clf", 3]),
        "X": (["frame_X", "array_X"], ["x", "short_X"]),
        "y": (["labels"], ["nan_labels", "short_y", "two_columns", "text_nan"]),
    }


APIS = ["tune", "tune", "load_dataset", "suggest_for_dataset", "estimator_spec", "MetaSearchCV"]
_api_cases = st.fixed_dictionaries(
    {
        "api": st.sampled_from(APIS),
        "picks": st.lists(st.integers(0, 99), min_size=30, max_size=30),
        "n_bad": st.sampled_from([0, 1, 1, 1, 2]),
        "which": st.lists(st.integers(0, 99), min_size=2, max_size=2),
    }
)


def _resolve(assets: Path, api: str, name: str, value: Any, family: Any) -> Any:
    """Named placeholders to objects made for this example."""
    if not isinstance(value, str):
        return value
    sets = _datasets(assets)
    if name in ("dataset", "path") and value in sets:
        return sets[value]
    if name == "storage" and value == "memory":
        return optuna.storages.InMemoryStorage()
    if name == "space" and value == "svm_space":
        return get_space("svm", "classification")
    if name == "config":
        fam = family if family in ("knn", "linear") else "knn"
        config = get_space(fam, "classification").default_config()
        if value == "bad_value":
            key = sorted(config)[0]
            return {**config, key: "abc"}
        if value == "unknown_key":
            return {**config, "nope": 1}
        return config if value == "default" else value
    frame = _frame(assets)
    X, y = frame.drop(columns=["target"]), frame["target"]
    table = {
        "frame_X": X,
        "array_X": X.to_numpy(),
        "short_X": X.iloc[:10],
        "labels": y,
        "nan_labels": y.astype(float).where(np.arange(len(y)) % 5 != 0, NAN),
        "short_y": y.iloc[:10],
        "two_columns": frame[["target", "target"]],
        "text_nan": y.astype(str).where(np.arange(len(y)) % 5 != 0, None),
    }
    return table.get(value, value) if name in ("X", "y") else value


def _draw_arguments(
    assets: Path, case: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """(arguments, the placeholders they were made from, the names of the wrong ones)."""
    spec = _arguments(assets, case["api"])
    names = sorted(spec)
    bad = {names[i % len(names)] for i in case["which"][: case["n_bad"]]}
    chosen: dict[str, Any] = {}
    for i, name in enumerate(names):
        good, extra = spec[name]
        pool = [*extra, *BAD] if name in bad else good
        chosen[name] = pool[case["picks"][i % len(case["picks"])] % len(pool)]
    family = chosen.get("family")
    args = {n: _resolve(assets, case["api"], n, v, family) for n, v in chosen.items()}
    return args, chosen, sorted(bad)


def _check_data(data: Any, source: Any) -> None:
    """A dataset made of a lying frame: the repeated target is an error, the rest a note."""
    assert source != "frame_repeated_target", "a repeated target column was accepted"
    if source in ("frame_nan_target", "frame_inf") and isinstance(data, metahpo.Dataset):
        assert data.notes, f"{source}: loaded without a note"


def _call(api: str, args: dict[str, Any], chosen: dict[str, Any]) -> Any:
    if api == "tune":
        dataset, family = args.pop("dataset"), args.pop("family")
        if (
            isinstance(dataset, pd.DataFrame)
            and "target" in inspect.signature(metahpo.tune).parameters
        ):
            args["target"] = "target"
        result = metahpo.tune(dataset, family, **args)
        _check_data(None, chosen["dataset"])
        assert math.isfinite(result.best_value), result.best_value
        return result
    if api == "load_dataset":
        data = metahpo.load_dataset(args.pop("path"), **args)
        assert data.n_rows >= 2 and data.target not in data.X.columns
        _check_data(data, chosen["path"])
        return data
    if api == "suggest_for_dataset":
        dataset, family = args.pop("dataset"), args.pop("family")
        found = metahpo.suggest_for_dataset(dataset, family, **args)
        k = args["k"]
        assert 1 <= len(found) <= (k if isinstance(k, int) else len(found)), (k, found)
        _check_data(None, chosen["dataset"])
        return found
    if api == "estimator_spec":
        family, config, dataset = args.pop("family"), args.pop("config"), args.pop("dataset")
        spec = metahpo.estimator_spec(family, config, dataset, **args)
        # a configuration accepted is one that fits: not a model that fails later
        if isinstance(dataset, metahpo.Dataset):
            model = build_estimator(family, config, dataset, seed=args["seed"])
            model.fit(dataset.X, dataset.y)
        return spec
    X, y = args.pop("X"), args.pop("y")
    search = metahpo.MetaSearchCV(**args).fit(X, y)
    labels = pd.DataFrame(y).to_numpy(dtype=object)
    assert not pd.isna(labels).any(), "fit succeeded on NaN labels"
    assert math.isfinite(search.best_score_), search.best_score_
    return search


def _api_case(assets: Path, tmp_path: Path, case: dict[str, Any]) -> None:
    args, chosen, bad = _draw_arguments(assets, case)
    wrong = {name: chosen[name] for name in bad}
    what = f"{case['api']} with wrong {wrong or 'nothing'}"
    allowed = (metahpo.MetaHPOError, ValueError) if case["api"] == "MetaSearchCV" else (
        metahpo.MetaHPOError
    )  # fmt: skip
    try:
        with time_limit(60), working_dir(tmp_path):  # a default storage lands there
            _call(case["api"], dict(args), chosen)
    except allowed:
        return
    except Exception as exc:
        raise AssertionError(f"{what}: {type(exc).__name__}: {exc}; all: {chosen}") from exc


@settings(max_examples=FUZZ_EXAMPLES, **NO_SHRINK)
@given(case=_api_cases)
def test_fuzz_api_arguments(assets: Path, tmp_path: Path, case: dict[str, Any]) -> None:
    _api_case(assets, tmp_path, case)


# -- CSV files that lie ---------------------------------------------------------------------

LIES = ["control", "dup_target", "dup_column", "decimal_comma", "semicolon", "tiny_class",
        "unlabeled", "inf", "huge"]  # fmt: skip
_lie_cases = st.fixed_dictionaries(
    {
        "lie": st.sampled_from(LIES),
        "folds": st.integers(2, 5),
        "target_first": st.booleans(),
        "rows": st.lists(st.integers(0, 59), min_size=1, max_size=20, unique=True),
        "column": st.integers(0, 3),
        "copy_of": st.sampled_from(["target", *FEATURES]),
        "missing": st.sampled_from(["", "NA", "?"]),
        "infinity": st.sampled_from(["inf", "-inf", "Infinity", "1e400"]),
    }
)
#: Scores of the plain table by fold count (the decimal-comma copies must score the same).
_PLAIN: dict[int, float] = {}


def _lying_table(assets: Path, case: dict[str, Any]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The table with its lie, and how to write it (pandas ``to_csv`` arguments)."""
    frame = pd.read_csv(assets / "data.csv")
    lie, rows, col = case["lie"], case["rows"], FEATURES[case["column"]]
    write: dict[str, Any] = {"index": False}
    if lie in ("dup_target", "dup_column"):
        name = "target" if lie == "dup_target" else col
        copy = frame[case["copy_of"]].rename(name)
        frame = pd.concat([frame, copy], axis=1)
    elif lie == "decimal_comma":
        write.update(sep=";", decimal=",")
    elif lie == "semicolon":
        write.update(sep=";")
    elif lie == "tiny_class":
        cls = frame["target"].iloc[rows[0]]
        keep = case["folds"] - 1 - rows[0] % (case["folds"] - 1)  # 1 .. folds-1 rows
        mask = frame["target"] == cls
        frame = frame.drop(index=frame.index[mask][keep:])
    elif lie == "unlabeled":
        frame["target"] = frame["target"].astype(object)
        frame.loc[rows, "target"] = case["missing"]
    elif lie in ("inf", "huge"):
        frame[col] = frame[col].astype(object)
        frame.loc[rows[:3], col] = case["infinity"] if lie == "inf" else "1e308"
    if case["target_first"]:
        frame = frame[["target", *[c for c in frame.columns if c != "target"]]]
    return frame, write


def _tune_file(capsys: Any, path: Path, folds: int) -> tuple[int, str, float | None]:
    out = path.with_suffix(".json")
    store = f"sqlite:///{path.with_suffix('.db')}"
    args = ["tune", str(path), "--model", "linear", "--budget", "1", "--folds", str(folds),
            "--optimizer", "random", "--storage", store, "--json", str(out)]  # fmt: skip
    capsys.readouterr()
    code = main(args)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err, captured.err
    if code != 0:
        assert_one_line_error(code, captured.err, f"tune {path.name}")
        return code, captured.out + captured.err, None
    invariant(code, captured.err, out)
    return code, captured.out + captured.err, float(pd.read_json(out, typ="series")["best_value"])


def _plain_score(assets: Path, tmp_path: Path, capsys: Any, folds: int) -> float:
    if folds not in _PLAIN:
        path = tmp_path / f"plain{folds}.csv"
        shutil.copy(assets / "data.csv", path)
        code, _, score = _tune_file(capsys, path, folds)
        assert code == 0 and score is not None and score >= 0.8, (folds, score)
        _PLAIN[folds] = score
    return _PLAIN[folds]


def _check_loaded(frame: pd.DataFrame, path: Path, lie: str) -> None:
    """What ``load_dataset`` makes of the lying file."""
    try:
        data = metahpo.load_dataset(path)
    except metahpo.MetaHPOError:
        return
    assert lie not in ("dup_target", "dup_column"), f"{lie}: loaded {list(data.X.columns)}"
    if lie in ("decimal_comma", "semicolon"):
        for col in FEATURES:
            assert pd.api.types.is_numeric_dtype(data.X[col]), f"{lie}: {col} read as text"
            assert np.allclose(data.X[col].to_numpy(float), frame[col].to_numpy(float))
    if lie in ("unlabeled", "inf"):
        assert data.notes, f"{lie}: no note"


def _lie_case(assets: Path, tmp_path: Path, capsys: Any, case: dict[str, Any]) -> None:
    frame, write = _lying_table(assets, case)
    path = tmp_path / f"lie{next(counter)}.csv"
    frame.to_csv(path, **write)
    lie, folds = case["lie"], case["folds"]
    _check_loaded(frame, path, lie)
    code, said, score = _tune_file(capsys, path, folds)
    what = f"{lie} ({folds} folds): {said.strip()[-300:]}"
    if lie in ("dup_target", "dup_column"):
        assert code == 2, f"a repeated column name must be an error; {what}"
    elif lie in ("decimal_comma", "semicolon", "control") and code == 0:
        assert score == pytest.approx(_plain_score(assets, tmp_path, capsys, folds)), what
    elif lie in ("tiny_class", "unlabeled", "inf", "huge") and code == 0:
        assert has_note(said), f"success without a note; {what}"
    if lie == "control":
        assert code == 0, what


@settings(max_examples=FUZZ_EXAMPLES, **NO_SHRINK)
@given(case=_lie_cases)
def test_fuzz_lying_files(assets: Path, tmp_path: Path, capsys: Any, case: dict[str, Any]) -> None:
    _lie_case(assets, tmp_path, capsys, case)


# -- the slow run -----------------------------------------------------------------------------


@pytest.mark.slow
@settings(max_examples=SLOW_EXAMPLES, **NO_SHRINK)
@given(case=_api_cases)
def test_fuzz_api_arguments_slow(assets: Path, tmp_path: Path, case: dict[str, Any]) -> None:
    _api_case(assets, tmp_path, case)


@pytest.mark.slow
@settings(max_examples=SLOW_EXAMPLES, **NO_SHRINK)
@given(case=_lie_cases)
def test_fuzz_lying_files_slow(
    assets: Path, tmp_path: Path, capsys: Any, case: dict[str, Any]
) -> None:
    _lie_case(assets, tmp_path, capsys, case)

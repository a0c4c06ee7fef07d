"""Fuzzing output paths and ``predict`` tables (issue 23): a user's files are never touched.

Output paths: ``tune --json / --save-model``, ``predict --out``, ``report --out`` and
``kb build --export`` point at generated places: a fresh file, the storage file, the data file,
the model file, the ``--space`` file, each other, a directory, a path below a file or in a
missing folder; spelled absolute, relative, ``./x``, ``sub/../x`` or through a symbolic link; and
a ``--storage`` that is the data or the model file (refused), or ``sqlite:///:memory:``.
Invariant: an output that is an input of the command, a directory, unwritable, or another
output of the same command is refused up front (exit 2, stderr exactly one line
``metahpo: error: ...``); whatever happens, every input file is byte-identical afterwards
(sha256 before and after; the store only changes when a run succeeded) and there is no
traceback, also none from a background thread.

``predict`` tables: a model's columns missing, extra or repeated, values of 1e308, inf, text in
numeric columns. Invariant: exit 2 with one line, or one prediction per row among the model's
classes; a value that ``tune`` refuses as overflowing is refused; the model file never changes.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from metahpo.cli import main  # noqa: E402

from ._fuzz_common import (  # noqa: E402
    FEATURES,
    FUZZ_EXAMPLES,
    NO_SHRINK,
    SLOW_EXAMPLES,
    assert_one_line_error,
    assert_unchanged,
    counter,
    file_hashes,
    invariant,
    make_assets,
    working_dir,
)


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_assets(tmp_path_factory.mktemp("fuzz_assets"))


#: A traceback in a background thread (Optuna's heartbeat, a worker) is a traceback too.
pytestmark = [
    pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning"),
    pytest.mark.skipif(os.name != "posix", reason="symbolic links, POSIX paths"),
]

# -- output paths ---------------------------------------------------------------------------

#: Where an output points (kinds), and how its path is spelled.
TARGETS = ["fresh"] * 5 + ["storage", "data", "model", "space", "dir", "datasets",
                          "dataset_file", "under_file", "missing_dir"]  # fmt: skip
SPELLINGS = ["absolute", "relative", "dot", "updown", "symlink"]
FILES = {"storage": "store.db", "data": "data.csv", "model": "m.skops", "space": "space.json",
         "dir": "sub", "datasets": "ds", "dataset_file": "ds/iris/iris.tsv.gz",
         "under_file": "data.csv/out.x", "missing_dir": "nope/out.x"}  # fmt: skip

_path_cases = st.fixed_dictionaries(
    {
        "command": st.sampled_from(["tune", "tune", "predict", "report", "kb"]),
        "targets": st.lists(st.sampled_from(TARGETS), min_size=2, max_size=2),
        "spellings": st.lists(st.sampled_from(SPELLINGS), min_size=3, max_size=3),
        "same": st.integers(0, 5),  # 0: tune's two outputs are one path
        "storage_at": st.sampled_from(["store.db"] * 8 + ["data.csv", "m.skops", ":memory:"]),
        "space": st.booleans(),
        "proba": st.booleans(),
    }
)


def _spell(root: Path, rel: str, spelling: str) -> str:
    """``rel`` (below ``root``, the working directory) spelled one of several ways."""
    if spelling == "absolute":
        return str(root / rel)
    if spelling == "dot":
        return f"./{rel}"
    if spelling == "updown":
        return f"sub/../{rel}"
    if spelling == "symlink" and (root / rel).exists():
        link = root / f"link{next(counter)}"
        link.symlink_to(root / rel)
        return link.name
    return rel


def _target(kind: str, fresh: str) -> str:
    return fresh if kind == "fresh" else FILES[kind]


def _command(root: Path, case: dict[str, Any]) -> tuple[list[str], list[str], dict[str, str]]:
    """The arguments, the inputs (relative paths) and the outputs (option: relative path)."""
    kinds, spell = case["targets"], case["spellings"]
    store = case["storage_at"]
    url = (
        "sqlite:///:memory:"
        if store == ":memory:"
        else f"sqlite:///{_spell(root, store, spell[2])}"
    )
    if case["command"] == "tune":
        outs = {
            "--json": _target(kinds[0], "out.json"),
            "--save-model": _target(kinds[1], "new.skops"),
        }
        if case["same"] == 0:
            outs["--save-model"] = outs["--json"]
        study = f"p{next(counter)}"
        args = ["tune", "data.csv", "--model", "linear", "--budget", "1", "--folds", "2",
                "--optimizer", "random", "--storage", url, "--study", study]  # fmt: skip
        inputs = ["data.csv", store] + (["space.json"] if case["space"] else [])
        args += ["--space", "space.json"] if case["space"] else []
    elif case["command"] == "predict":
        outs = {"--out": _target(kinds[0], "pred.csv")}
        args = ["predict", "m.skops", "data.csv"] + (["--proba"] if case["proba"] else [])
        inputs = ["m.skops", "data.csv"]
    elif case["command"] == "report":
        outs = {"--out": _target(kinds[0], "report.html")}
        args, inputs = ["report", "--storage", url], [store]
    else:
        outs = {"--export": _target(kinds[0], "export")}
        args = ["kb", "build", "--datasets", "ds", "--models", "linear", "--configs", "1",
                "--folds", "2", "--no-metafeatures", "--storage", url]  # fmt: skip
        inputs = ["ds", store]
    for i, (option, rel) in enumerate(outs.items()):
        args += [option, _spell(root, rel, spell[i])]
    return args, inputs, outs


def _must_refuse(root: Path, case: dict[str, Any], inputs: list[str], outs: dict[str, str]) -> str:
    """Why this command must be refused up front ('' if it need not be)."""
    if case["storage_at"] in ("data.csv", "m.skops") and case["command"] != "predict":
        return f"--storage is the file {case['storage_at']}"
    if len(set(outs.values())) < len(outs):
        return "two outputs are one file"
    input_files = {p.resolve() for rel in inputs for p in [root / rel, *(root / rel).rglob("*")]}
    for option, rel in outs.items():
        path = root / rel
        if option == "--export":
            if path.is_file() or rel in (FILES["under_file"],):
                return f"--export {rel} is a file"
            continue
        if path.resolve() in input_files:
            return f"{option} {rel} is an input"
        if path.is_dir() or rel in (FILES["under_file"], FILES["missing_dir"]):
            return f"{option} {rel} is not writable"
    return ""


def _check_written(root: Path, command: str, outs: dict[str, str]) -> None:
    for option, rel in outs.items():
        path = root / rel
        assert path.exists(), f"exit 0 but {option} {rel} was not written"
        if command == "predict":
            assert len(pd.read_csv(path, compression=None)) == 60, "one prediction per row"


def _paths_case(assets: Path, tmp_path: Path, capsys: Any, case: dict[str, Any]) -> None:
    root = tmp_path / f"c{next(counter)}"
    shutil.copytree(assets, root)
    (root / "sub").mkdir()
    args, inputs, outs = _command(root, case)
    refuse = _must_refuse(root, case, inputs, outs)
    before = file_hashes(root / rel for rel in inputs)
    capsys.readouterr()
    with working_dir(root):
        code = main(args)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err, captured.err
    what = " ".join(args)
    if refuse:
        assert_one_line_error(code, captured.err, f"{what}: {refuse}")
    elif code != 0:
        invariant(code, captured.err, None)
        assert_one_line_error(code, captured.err, what)
    store = str((root / case["storage_at"]).resolve())
    changed_ok = code == 0 and case["command"] in ("tune", "kb")
    assert_unchanged({k: v for k, v in before.items() if not (changed_ok and k == store)}, what)
    if code == 0:
        _check_written(root, case["command"], outs)
        if case["command"] == "tune":
            invariant(code, captured.err, root / outs["--json"])


@settings(max_examples=FUZZ_EXAMPLES, **NO_SHRINK)
@given(case=_path_cases)
def test_fuzz_output_paths(assets: Path, tmp_path: Path, capsys: Any, case: dict[str, Any]) -> None:
    _paths_case(assets, tmp_path, capsys, case)


# -- predict with generated tables ----------------------------------------------------------

BAD_CELLS = ["1e308", "-1e308", "inf", "-inf", "1e400", "abc", "", "NA", "1,5", " 3.0 ", "0x10",
             "nan", "True", "日本"]  # fmt: skip
TEXT_CELLS = {"abc", "1,5", "0x10", "True", "日本"}
HUGE = {"1e308", "-1e308"}

_predict_cases = st.fixed_dictionaries(
    {
        "rows": st.lists(st.integers(0, 59), min_size=1, max_size=12),
        "drop": st.lists(st.sampled_from(FEATURES), unique=True, max_size=4),
        "extra": st.lists(st.sampled_from(["target", "extra", "x y", "é", *FEATURES]), max_size=2),
        "cells": st.lists(
            st.tuples(st.integers(0, 11), st.integers(0, 5), st.sampled_from(BAD_CELLS)),
            max_size=6,
        ),
        "sep": st.sampled_from([",", "\t", ";"]),
    }
)


def _predict_table(assets: Path, case: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    frame = pd.read_csv(assets / "data.csv", dtype=str)
    header = [c for c in frame.columns if c not in case["drop"]] + list(case["extra"])
    rows = []
    for i in case["rows"]:
        source = frame.iloc[i]
        rows.append([str(source[c]) if c in frame.columns else "1" for c in header])
    for r, c, value in case["cells"]:
        if r < len(rows) and c < len(header):
            rows[r][c] = value
    return header, rows


def _must_refuse_table(header: list[str], rows: list[list[str]]) -> str:
    repeated = {name for name in header if header.count(name) > 1}
    if repeated & set(FEATURES):
        return f"a repeated feature column {sorted(repeated)}"
    for j, name in enumerate(header):
        column = [row[j] for row in rows]
        if name in FEATURES and HUGE & set(column) and not TEXT_CELLS & set(column):
            return f"values of 1e308 in {name!r}, which tune refuses as overflowing"
    return ""


def _predict_case(assets: Path, tmp_path: Path, capsys: Any, case: dict[str, Any]) -> None:
    root = tmp_path / f"p{next(counter)}"
    root.mkdir()
    header, rows = _predict_table(assets, case)
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=case["sep"])
    writer.writerows([header, *rows])
    table = root / ("table.tsv" if case["sep"] == "\t" else "table.csv")
    table.write_text(buf.getvalue())
    model = root / "m.skops"
    shutil.copy(assets / "m.skops", model)
    before = file_hashes([table, model])
    out = root / "pred.csv"
    capsys.readouterr()
    code = main(["predict", str(model), str(table), "--out", str(out)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err, captured.err
    refuse = _must_refuse_table(header, rows) if case["sep"] != ";" else ""
    what = f"predict on {header} {rows}"
    if refuse or code != 0:
        assert_one_line_error(code, captured.err, f"{what}: {refuse or 'an error'}")
    else:
        predicted = pd.read_csv(out, dtype=str, keep_default_na=False)
        assert len(predicted) == len(rows), what
        classes = set(pd.read_csv(assets / "data.csv", dtype=str)["target"])
        assert set(predicted.iloc[:, 0]) <= classes, what
    assert_unchanged(before, what)


@settings(max_examples=FUZZ_EXAMPLES, **NO_SHRINK)
@given(case=_predict_cases)
def test_fuzz_predict_tables(
    assets: Path, tmp_path: Path, capsys: Any, case: dict[str, Any]
) -> None:
    _predict_case(assets, tmp_path, capsys, case)


# -- the slow run -----------------------------------------------------------------------------


@pytest.mark.slow
@settings(max_examples=SLOW_EXAMPLES, **NO_SHRINK)
@given(case=_path_cases)
def test_fuzz_output_paths_slow(
    assets: Path, tmp_path: Path, capsys: Any, case: dict[str, Any]
) -> None:
    _paths_case(assets, tmp_path, capsys, case)


@pytest.mark.slow
@settings(max_examples=SLOW_EXAMPLES, **NO_SHRINK)
@given(case=_predict_cases)
def test_fuzz_predict_tables_slow(
    assets: Path, tmp_path: Path, capsys: Any, case: dict[str, Any]
) -> None:
    _predict_case(assets, tmp_path, capsys, case)

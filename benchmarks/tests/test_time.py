"""TIME benchmark (test score after T seconds of one core): protocol, curves, statistics, cache."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import metahpo_bench._time_runner as runner
import numpy as np
import pytest
from metahpo_bench._main import main
from metahpo_bench._time import grid, run_time
from metahpo_bench._time_cache import Checkpoint, TimeCache, TimeRun
from metahpo_bench._time_child import load_training_split
from metahpo_bench._time_curve import (
    Incumbent,
    flaml_incumbents,
    incumbent_at,
    read_run_log,
)
from metahpo_bench._time_protocol import (
    PENDING_METHODS,
    RECORD_METHODS,
    TIME_METHODS,
    TimeMethod,
    TimeSettings,
    quick_datasets,
    rows_of,
    split_rows,
    split_seed,
    time_datasets,
)
from metahpo_bench._time_report import render_time_md, time_summary
from metahpo_bench._time_stats import cell_regrets, group_stats, normalised_regret
from metahpo_bench._time_targets import render_targets, time_targets

import metahpo
from metahpo.datasets import load_dataset
from metahpo.errors import MetaHPOError
from metahpo.spaces import get_family
from tests.conftest import DATA, dataset_folder

#: The shared datasets with 10,000 rows or more (their index entries), as of 2026-12-06.
SHARED_BIG = {
    "nursery": (12958, "classification"),
    "1199_BNG_echoMonths": (17496, "regression"),
    "magic": (19020, "classification"),
    "letter": (20000, "classification"),
    "537_houses": (20640, "regression"),
    "krkopt": (28056, "classification"),
    "1193_BNG_lowbwt": (31104, "regression"),
    "215_2dplanes": (40768, "regression"),
    "adult": (48842, "classification"),
    "shuttle": (58000, "classification"),
    "connect_4": (67557, "classification"),
    "kddcup": (494020, "classification"),
    "small": (9999, "classification"),
}


def _index() -> dict[str, dict[str, Any]]:
    return {k: {"n": n, "p": 5, "task": t} for k, (n, t) in SHARED_BIG.items()}


def _folder(tmp_path: Path, *names: str) -> Path:
    root = dataset_folder(tmp_path / "datasets", *names)
    index = {n: {"n": load_dataset(DATA / n).n_rows, "p": 4, "task": "x"} for n in names}
    (root / "index.json").write_text(json.dumps(index), encoding="utf-8")
    return root


# -- protocol ------------------------------------------------------------------------------------
def test_the_split_never_leaks_a_test_row_to_a_method() -> None:
    ds = load_dataset(DATA / "vehicle")
    ds = ds.__class__(**{**ds.__dict__, "X": ds.X.assign(row_id=np.arange(ds.n_rows))})
    train, test = split_rows(ds, 7)
    assert not set(train) & set(test) and len(train) + len(test) == ds.n_rows
    assert abs(len(test) - 0.25 * ds.n_rows) <= 1
    again = split_rows(ds, 7)
    assert np.array_equal(train, again[0]) and not np.array_equal(train, split_rows(ds, 8)[0])
    shares = [np.mean(ds.y[idx] == c) for idx in (train, test) for c in ds.classes[:1]]
    assert abs(shares[0] - shares[1]) < 0.02  # stratified
    seen = rows_of(ds, train)
    assert set(seen.X["row_id"]) == set(train) and not set(seen.X["row_id"]) & set(test)


def test_the_tuning_process_loads_only_the_training_split(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "1027_ESL")
    full = load_dataset(folder / "1027_ESL")
    seed = split_seed(0, "1027_ESL")
    train, test = split_rows(full, seed)
    spec = {"folder": str(folder), "dataset": "1027_ESL", "split_seed": seed}
    seen = load_training_split(spec)
    assert seen.n_rows == len(train) and seen.name == "1027_ESL"
    assert np.allclose(np.sort(seen.y), np.sort(full.y[train]))
    assert seen.n_rows + len(test) == full.n_rows


def test_datasets_of_record_and_the_quick_subset() -> None:
    index = _index()
    names = time_datasets(index)
    assert "small" not in names and names[0] == "nursery" and names[-1] == "kddcup"
    quick = quick_datasets(index)
    assert quick == ("nursery", "1199_BNG_echoMonths", "magic", "537_houses")
    assert {index[n]["task"] for n in quick} == {"classification", "regression"}


def test_registry_runs_today_and_enables_the_slots_when_tune_takes_their_options() -> None:
    assert {"metahpo", "gp", "tpe", "flaml"} <= set(TIME_METHODS)
    accepted = inspect.signature(metahpo.tune).parameters
    assert ("metahpo-nofid" in TIME_METHODS) == ("fidelity" in accepted)
    assert ("tpe-hb" in TIME_METHODS) == ("pruner" in accepted)
    assert set(PENDING_METHODS).isdisjoint(TIME_METHODS)
    # the grid of record: metahpo and the peers; plain TPE only on request
    assert TimeSettings().methods == RECORD_METHODS and set(RECORD_METHODS) <= set(TIME_METHODS)
    assert RECORD_METHODS[0] == "metahpo" and "tpe" not in RECORD_METHODS
    assert not TimeMethod("x", "", "tune", (("no_such_argument", 1),)).supported()
    assert TimeMethod("x", "", "tune", (("optimizer", "tpe"),)).supported()
    with pytest.raises(MetaHPOError, match="unknown time method"):
        TimeSettings(methods=("metahpo", "nope")).validate()
    units = grid(["a"], TimeSettings(methods=("metahpo", "flaml"), families=("lgbm", "hgb")))
    assert ("a", "hgb", "flaml", 60.0, 0) not in units and ("a", "lgbm", "flaml", 60.0, 0) in units
    assert [u[3] for u in units] == sorted(u[3] for u in units)  # the short budget first


# -- curves --------------------------------------------------------------------------------------
def test_checkpoint_reading_takes_the_last_incumbent_found_by_then(tmp_path: Path) -> None:
    log = tmp_path / "inc.jsonl"
    lines = [
        {"start": 0.0},
        {"t": 1.0, "value": 0.5, "config": {"a": 1}},
        {"t": 4.0, "value": 0.7, "config": {"a": 2}},
    ]
    log.write_text("\n".join(json.dumps(d) for d in lines) + '\n{"t": 9.0, "val', encoding="utf-8")
    run = read_run_log(log)  # the torn last line (killed at the deadline) is skipped
    assert run.started and run.ended is None and len(run.incumbents) == 2
    assert incumbent_at(run.incumbents, 0.5) is None
    first = incumbent_at(run.incumbents, 1.0)
    assert first is not None and first.config == {"a": 1}
    assert incumbent_at(run.incumbents, 3.99) == first
    last = incumbent_at(run.incumbents, 10.0)
    assert last is not None and last.value == 0.7


def test_flaml_incumbents_are_full_fidelity_running_bests_timed_from_the_run_start(
    tmp_path: Path,
) -> None:
    records = [
        (0, 0.5, 0.40, 1000, {"n_estimators": 4}),  # a subsample: not full fidelity
        (1, 1.0, 0.30, 4000, {"n_estimators": 5, "FLAML_sample_size": 4000}),
        (2, 2.0, 0.35, 4000, {"n_estimators": 6}),  # worse: not an incumbent
        (3, 3.0, 0.20, 4000, {"n_estimators": 7}),
    ]
    lines = [
        json.dumps(
            {"record_id": i, "wall_clock_time": t, "validation_loss": loss, "sample_size": size}
            | {"config": c, "learner": "lgbm"}
        )
        for i, t, loss, size, c in records
    ]
    path = tmp_path / "flaml.log"
    path.write_text("\n".join([*lines, '{"curr_best_record_id": 3}']), encoding="utf-8")
    found = flaml_incumbents(path, 1.5, 4000)
    assert [(i.t, i.value, i.record_id) for i in found] == [(2.5, -0.3, 1), (4.5, -0.2, 3)]
    assert found[0].config == {"learner": "lgbm", "n_estimators": 5}
    assert len(flaml_incumbents(path, 0.0, None)) == 3  # no subsampling: every record counts


# -- statistics ----------------------------------------------------------------------------------
def test_normalised_regret_between_the_worst_and_best_final_scores() -> None:
    finals = np.array([0.8, 0.6, 0.7])
    curve = np.array([0.5, 0.6, 0.7, 0.8])
    assert np.allclose(normalised_regret(finals, curve), [1.0, 1.0, 0.5, 0.0])
    assert np.allclose(normalised_regret(finals, np.array([0.9])), [0.0])  # clipped
    assert np.allclose(normalised_regret(np.array([0.5, 0.5]), np.array([0.4, 0.5])), [1, 0])


def _run(method: str, tests: list[float | None], dataset: str = "d", **kw: Any) -> TimeRun:
    fractions = (0.1, 0.25, 0.5, 1.0)
    cps = tuple(
        Checkpoint(f, None if s is None else f * 10, s)
        for f, s in zip(fractions, tests, strict=True)
    )
    firsts = [c.t for c in cps if c.t is not None]
    defaults: dict[str, Any] = {
        "method": method,
        "dataset": dataset,
        "family": "lgbm",
        "budget_s": 10.0,
        "seed": 0,
        "fingerprint": "f",
        "task": "classification",
        "metric": "balanced_accuracy",
        "direction": "maximize",
        "n_train": 75,
        "n_test": 25,
        "incumbents": tuple((t, 0.5) for t in firsts),
        "checkpoints": cps,
        "no_model": 0.25,
        "wall_s": 12.0,
        "refit_s": 1.0,
    }
    return TimeRun(**(defaults | kw))


def test_group_statistics_count_missing_models_wins_and_the_time_to_flaml() -> None:
    runs = [
        _run("metahpo", [0.7, 0.8, 0.9, 0.9]),
        _run("tpe", [None, 0.5, 0.6, 0.7]),
        _run("flaml", [0.6, 0.7, 0.8, 0.8]),
        _run("metahpo", [None, None, 0.5, 0.6], dataset="e"),
        _run("tpe", [0.5, 0.6, 0.7, 0.8], dataset="e"),
    ]
    by_cell = {("d", "lgbm", 10.0, 0): {r.method: r for r in runs[:3]}}
    by_cell[("e", "lgbm", 10.0, 0)] = {r.method: r for r in runs[3:]}
    regrets = cell_regrets(by_cell[("d", "lgbm", 10.0, 0)])
    assert np.allclose(regrets["tpe"], [1.0, 1.0, 1.0, 1.0])  # "no model" at 10 %: 0.25
    stats = group_stats(by_cell, ["metahpo", "tpe", "flaml"], "metahpo")
    m, t = stats["methods"]["metahpo"], stats["methods"]["tpe"]
    assert m["no_model"] == [1, 1, 0, 0] and t["no_model"] == [1, 0, 0, 0]
    assert stats["wtl"]["tpe"] == [1, 0, 1] and stats["wtl"]["flaml"] == [1, 0, 0]
    assert m["reach_flaml"] == {"cells": 1, "reached": 1, "median_pct": 25.0}
    assert t["reach_flaml"]["reached"] == 0 and "reach_flaml" not in stats["methods"]["flaml"]
    assert m["first_pct_median"] == pytest.approx(30.0)  # 10 % and 50 % of T
    late = _run("gp", [None] * 4, incumbents=((11.0, 0.9),))  # found after T = 10 s
    alone = group_stats({("d", "lgbm", 10.0, 0): {"gp": late, "tpe": runs[1]}}, ["gp"], "tpe")
    assert alone["methods"]["gp"]["first_pct_median"] is None
    assert alone["methods"]["gp"]["without_result"] == 1
    assert stats["worst"][0]["dataset"] == "e"


def test_targets_are_measured_from_the_runs_met_or_not() -> None:
    def at(budget: float, method: str, tests: list[float | None], d: str, **kw: Any) -> TimeRun:
        return _run(method, tests, dataset=d, budget_s=budget, **kw)

    late = ((30.0, 0.5),)  # the first result at 50 % of T on a table of 100,000 rows
    runs = [
        at(60, "metahpo", [0.7, 0.8, 0.9, 0.9], "d"),  # better than both peers
        at(60, "tpe-hb", [None, 0.5, 0.6, 0.7], "d"),
        at(60, "flaml", [0.6, 0.7, 0.8, 0.8], "d"),
        at(60, "metahpo", [None, None, 0.5, 0.6], "e", n_train=99_975, incumbents=late),
        at(60, "tpe-hb", [0.5, 0.6, 0.7, 0.8], "e"),
        at(60, "metahpo", [0.5] * 4, "g"),  # better than the peer; `tpe` is no peer of record
        at(60, "tpe-hb", [0.4] * 4, "g"),
        at(60, "tpe", [0.9] * 4, "g"),
        at(60, "metahpo", [0.5] * 4, "h"),  # a tie is not better
        at(60, "tpe-hb", [0.5] * 4, "h"),
        at(60, "metahpo", [None] * 4, "k"),  # no model
        at(60, "tpe-hb", [0.5] * 4, "k"),
        at(300, "metahpo", [0.8, 0.9, 0.9, 0.95], "d"),
        at(300, "flaml", [0.6, 0.7, 0.85, 0.9], "d"),
        at(300, "flaml", [0.9, 0.9, 0.9, 0.99], "e"),
    ]
    failed = [("z", "lgbm", "metahpo", 60.0, 0), ("z", "lgbm", "gp", 60.0, 0)]
    t = time_targets(runs, "metahpo", failed)
    short, long = t["budgets"]["60"], t["budgets"]["300"]
    assert short["ratio"]["flaml"] == {
        "cells": 1, "headline": 0.0, "peer": 0.5, "ratio": 0.0, "met": True
    }  # fmt: skip
    # metahpo (0 + 1 + 0.8 + 0 + 1) / 5, TPE + Hyperband (1 + 0 + 1 + 0 + 0) / 5
    assert short["ratio"]["tpe-hb"]["ratio"] == 1.4 and not short["ratio"]["tpe-hb"]["met"]
    assert long["ratio"]["tpe-hb"] == {"cells": 0, "met": None}
    assert short["better_than_all"] == {"cells": 5, "better": 2, "met": False}
    assert long["better_than_all"] == {"cells": 1, "better": 1, "met": True}
    assert short["large_first"] == {"runs": 1, "within": 0, "late": ["e/lgbm"], "met": False}
    assert long["large_first"]["met"] is None
    assert short["no_model"]["which"] == ["k/lgbm", "z/lgbm"] and not short["no_model"]["met"]
    # FLAML's 300-s score: metahpo's 60-s run reaches d's at 50 % (30 s), never e's
    assert t["reach"] == {
        "cells": 2, "within": 1, "median_s": None, "met": False,
        "cells_long": 1, "reached_long": 1, "median_long_s": 75.0,
    }  # fmt: skip
    assert time_targets(runs[:12], "metahpo")["budgets"]["300"] is None
    md = "\n".join(render_targets(t, "metahpo"))
    assert (
        "| mean regret ≤ 0.5 × FLAML's (its lgbm cells) | 0.000 vs 0.500 (0.00×, 1 cells): met"
        in md
    )
    assert "0.560 vs 0.400 (1.40×, 5 cells): **missed** | not measured |" in md
    assert "(dataset × family) | 2/5: **missed** | 1/1: met |" in md
    assert "| 0/1: **missed** (late: e/lgbm) | no such table |" in md
    assert "| 2 of 6: **missed** (k/lgbm, z/lgbm) | 0 of 1: met |" in md
    assert "later than 60 s, **missed**; reached within 60 s in 1 of 2 cells" in md
    assert "reach it in 1 of 1 cells (median 75 s)" in md
    quick = "\n".join(render_targets(time_targets(runs[:12], "metahpo"), "metahpo"))
    assert "FLAML's 300-s test score (target ≤ 60 s): not measured" in quick


def test_merging_caches_adds_current_runs_only_and_is_idempotent(tmp_path: Path) -> None:
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "time_merge.py"
    spec = importlib.util.spec_from_file_location("time_merge", path)
    assert spec is not None and spec.loader is not None
    time_merge = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(time_merge)
    here, there = TimeCache(tmp_path / "here"), TimeCache(tmp_path / "there")
    here.put(_run("metahpo", [0.1, 0.2, 0.3, 0.4], fingerprint="old"))  # stale here
    here.put(_run("metahpo", [0.5, 0.5, 0.5, 0.5], dataset="e"))  # current here
    there.put(_run("metahpo", [0.7, 0.8, 0.9, 0.9]))  # current: replaces the stale one
    there.put(_run("metahpo", [0.1, 0.1, 0.1, 0.1], dataset="e"))  # never over a current
    there.put(_run("metahpo", [0.6, 0.6, 0.6, 0.6], dataset="g", fingerprint="old"))
    current = lambda run: "f"  # noqa: E731
    args = (tmp_path / "here", [tmp_path / "there"], current)
    assert time_merge.merge(*args) == {"metahpo": 1}
    assert time_merge.merge(*args) == {}
    merged = {r.dataset: r for r in TimeCache(tmp_path / "here").runs(["metahpo"])}
    assert sorted(merged) == ["d", "e"]
    assert merged["d"].scores()[-1] == 0.9 and merged["e"].scores()[-1] == 0.5


def test_report_from_cached_runs(tmp_path: Path) -> None:
    from metahpo_bench._time import TimeResult

    runs = (_run("metahpo", [0.7, 0.8, 0.9, 0.9]), _run("tpe", [None, 0.5, 0.6, 0.7]))
    settings = TimeSettings(budgets=(10.0,), methods=("metahpo", "tpe"), families=("lgbm",))
    result = TimeResult(settings, ("d",), runs, (), "v1", {"d": ("d2",)}, 1.0, 0)
    summary = time_summary(result, "metahpo-bench --time")
    assert summary["cpu"]["tuning_core_h"] == pytest.approx(24 / 3600, abs=1e-3)
    md = render_time_md(summary)
    assert "## T = 10 s" in md and "| `tpe` |" in md and "CPU cost: 2 runs" in md
    assert "1 / 0 of 1" in md  # tpe: no model at 10 %, a model at 100 %
    # the README's TIME table is copied from the summary by the headline script
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    readme = tmp_path / "README.md"
    readme.write_text(
        "<!-- live-headline:start -->\n<!-- live-headline:end -->\n"
        "a\n<!-- time-headline:start -->\nSTALE\n<!-- time-headline:end -->\nz\n"
    )
    script = Path(__file__).resolve().parents[1] / "readme_headline.py"
    live = Path(__file__).resolve().parents[1] / "live" / "summary.json"
    cmd = [sys.executable, str(script), "--summary", str(live), "--replay", str(tmp_path / "x")]
    cmd += ["--time", str(tmp_path / "summary.json"), "--readme", str(readme)]
    subprocess.run(cmd, check=True, capture_output=True)
    text = readme.read_text()
    assert "STALE" not in text and text.endswith("z\n")
    assert "**T = 10 s of one core**: 1 of the grid's 1 cells" in text
    assert "| **metahpo** | 1.000 / 0.500 / 0.000 / 0.000 | 0.000 | – | 0 | 10 % |" in text
    assert "| Optuna TPE | 1.000 / 1.000 / 1.000 / 1.000 | 1.000 | 1:0:0 | 0 | 25 % |" in text
    assert "| lgbm (1 cells) | 0.000 | 1.000 |" in text
    assert "Issue 25's targets for metahpo:" in text and "| no `metahpo` run ends" in text


# -- cache and refit -----------------------------------------------------------------------------
def test_cache_round_trip_fingerprints_and_resume(tmp_path: Path, monkeypatch: Any) -> None:
    folder = _folder(tmp_path, "vehicle")
    calls: list[tuple[Any, ...]] = []

    def fake(unit: Any, folder: str, bundle: Any, folds: int, fingerprint: str) -> TimeRun:
        calls.append(unit)
        if unit[2] == "gp":
            raise RuntimeError("boom")
        tests = [0.5, 0.6, 0.7, 0.8]
        return _run(unit[2], tests, dataset=unit[0], budget_s=unit[3], fingerprint=fingerprint)

    monkeypatch.setattr(runner, "run_unit", fake)
    settings = TimeSettings(budgets=(3.0,), methods=("metahpo", "tpe", "gp"), families=("lgbm",))
    cache = tmp_path / "runs"
    first = run_time(folder, settings, cache=cache, names=["vehicle"])
    assert len(calls) == 3 and len(first.runs) == 2 and first.errors[0][0][2] == "gp"
    assert (cache / "metahpo.jsonl.gz").exists()
    stored = next(TimeCache(cache).runs(["tpe"]))
    assert stored == first.runs[1]
    again = run_time(folder, settings, cache=cache, names=["vehicle"])
    assert len(calls) == 4 and again.n_new == 0 and again.runs == first.runs  # only gp again
    other = TimeSettings(budgets=(4.0,), methods=("metahpo",), families=("lgbm",))
    assert not run_time(folder, other, cache=cache, names=["vehicle"], train=False).runs


def test_refit_scores_an_incumbent_on_the_test_split_only() -> None:
    ds = load_dataset(DATA / "vehicle")
    split = split_rows(ds, 3)
    config = get_family("hgb").space(ds.task).default_config()
    unit = ("vehicle", "hgb", "metahpo", 10.0, 0)
    score, error = runner.refit_score(Incumbent(1.0, 0.5, config), unit, ds, split, "")
    assert error is None and score is not None and 0.5 < score <= 1.0
    baseline = runner.no_model_score(ds, *split)
    assert baseline == pytest.approx(1 / len(ds.classes))  # balanced accuracy of one class
    bad, why = runner.refit_score(Incumbent(1.0, 0.5, {"max_iter": -3}), unit, ds, split, "")
    assert bad is None and why


def test_command_line_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--time", "--out", "x"]) == 2
    assert "--time needs --datasets" in capsys.readouterr().err
    assert main(["--time", "--live", "--datasets", str(DATA)]) == 2
    assert "give one of them" in capsys.readouterr().err


@pytest.mark.slow
def test_end_to_end_tiny_run_on_a_test_dataset(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "vehicle")
    # knn: cheap trials, so that even a loaded machine finds incumbents within 3 s
    settings = TimeSettings(budgets=(3.0,), methods=("metahpo", "tpe"), families=("knn",))
    result = run_time(folder, settings, cache=tmp_path / "runs", names=["vehicle"])
    assert not result.errors and [r.method for r in result.runs] == ["metahpo", "tpe"]
    tpe = next(r for r in result.runs if r.method == "tpe")
    assert tpe.incumbents and all(t <= 3.0 + 2.0 for t, _ in tpe.incumbents)
    assert tpe.checkpoints[-1].test is not None and tpe.n_test == 212

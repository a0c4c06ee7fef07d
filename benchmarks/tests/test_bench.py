"""The replay benchmark: regret arithmetic, ranks, snapping, folds, resuming and outputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from metahpo_bench import (
    METHODS,
    BenchResult,
    BenchSettings,
    DefaultThenRandom,
    Method,
    Pool,
    PoolExhaustedError,
    RandomSearch,
    RunRecord,
    TrainingSet,
    ZeroShot,
    bootstrap_mean,
    evals_to_reach,
    grouped_folds,
    informative,
    plan,
    ranks,
    regret_curve,
    run_replay,
    summarize,
    win_tie_loss,
    write_report,
)
from metahpo_bench._methods import CONTINUOUS, PARTLY_STORED, STORED
from metahpo_bench._replay import RUNS_FILE
from metahpo_bench._report_md import markdown

from metahpo.errors import MetaHPOError
from metahpo.knowledge import Experience, TaskExperience, design
from metahpo.spaces import get_space
from tests.conftest import ROOT

MF_NAMES = ("optimum", "optimum_squared", "constant")


def _task(
    dataset: str,
    y: list[float] | np.ndarray,
    *,
    family: str = "linear",
    task: str = "regression",
    X: np.ndarray | None = None,
    direction: str = "maximize",
    mf: tuple[float, ...] = (0.5, 0.0, 0.0),
) -> TaskExperience:
    yy = np.asarray(y, dtype=float)
    if X is None:
        X = np.linspace(0.0, 1.0, len(yy))[:, None].repeat(get_space(family, task).encoded_dim, 1)
    return TaskExperience(
        key=f"{dataset}/{family}",
        dataset=dataset,
        family=family,
        task=task,
        metric="r2",
        direction=direction,
        metafeatures=np.asarray(mf, dtype=float),
        X=X,
        y=yy,
        design_index=np.arange(len(yy)),
    )


def _synthetic(n_datasets: int = 6, families: tuple[str, ...] = ("linear", "svm")) -> Experience:
    """Tasks on the real build design whose optimum moves with the first meta-feature."""
    rng = np.random.default_rng(0)
    tasks = []
    for d in range(n_datasets):
        opt = (d + 0.5) / n_datasets
        mf = (opt, opt**2, 1.0)
        for fam in families:
            space = get_space(fam, "regression")
            X = np.vstack([space.encode(c) for c in design(fam, "regression", 24, seed=0)])
            y = 1.0 - ((X - opt) ** 2).sum(axis=1) + 0.01 * rng.normal(size=len(X))
            y[3] = np.nan  # one failed evaluation per task
            tasks.append(_task(f"ds{d}", y, family=fam, X=X, mf=mf))
    return Experience(tuple(tasks), MF_NAMES, "test/1")


# -- regret arithmetic ----------------------------------------------------------------------
def test_regret_curve_on_a_hand_built_pool() -> None:
    gain = np.array([0.5, 0.9, np.nan, 0.1, 0.7])
    # best 0.9, worst 0.1: picking the worst, a failure, 0.5, then the best; the budget of 5
    # outlasts the picks, so the last value is carried.
    curve = regret_curve(gain, [3, 2, 0, 1], budget=5)
    np.testing.assert_allclose(curve, [1.0, 1.0, 0.5, 0.0, 0.0])
    np.testing.assert_allclose(regret_curve(gain, [2], budget=2), [1.0, 1.0])  # failure only
    np.testing.assert_allclose(regret_curve(gain, [4, 0], budget=2), [0.25, 0.25])


def test_regret_follows_the_direction_of_the_task() -> None:
    # Minimised scores: 0.1 is the best, 0.9 the worst.
    task = _task("d", [0.5, 0.1, np.nan, 0.9, 0.3], direction="minimize")
    curve = regret_curve(task.gain(), [3, 4, 1], budget=3)
    np.testing.assert_allclose(curve, [1.0, (0.3 - 0.1) / (0.9 - 0.1), 0.0])


def test_ties_and_constant_pools() -> None:
    gain = np.array([0.2, 0.8, 0.8, 0.2])
    np.testing.assert_allclose(regret_curve(gain, [2, 1], budget=2), [0.0, 0.0])
    np.testing.assert_allclose(regret_curve(gain, [0, 3], budget=2), [1.0, 1.0])
    constant = np.array([0.4, 0.4, np.nan])
    assert not informative(constant) and not informative(np.array([np.nan, np.nan]))
    assert informative(gain)
    np.testing.assert_allclose(regret_curve(constant, [2, 0], budget=2), [0.0, 0.0])


def test_ranks_average_ties_per_run_and_step() -> None:
    regret = np.array(
        [
            [[0.5, 0.1], [0.0, 0.0]],  # method A, two runs, two steps
            [[0.5, 0.2], [0.3, 0.0]],  # method B
            [[0.9, 0.0], [0.3, 0.2]],  # method C
        ]
    )
    r = ranks(regret)
    np.testing.assert_allclose(r[:, 0, 0], [1.5, 1.5, 3.0])
    np.testing.assert_allclose(r[:, 0, 1], [2.0, 3.0, 1.0])
    np.testing.assert_allclose(r[:, 1, 0], [1.0, 2.5, 2.5])
    np.testing.assert_allclose(r[:, 1, 1], [1.5, 1.5, 3.0])


def test_bootstrap_evals_to_reach_and_win_tie_loss() -> None:
    mean, low, high = bootstrap_mean(np.array([[0.2], [0.2], [0.2]]))
    assert mean[0] == low[0] == high[0] == pytest.approx(0.2)
    mean, low, high = bootstrap_mean(np.array([[0.0], [1.0], [0.5], [0.1]]), n_boot=2000)
    assert mean[0] == pytest.approx(0.4) and low[0] < mean[0] < high[0]
    assert low[0] >= 0.0 and high[0] <= 1.0
    assert evals_to_reach(np.array([0.9, 0.5, 0.2, 0.2]), 0.2) == 3
    assert evals_to_reach(np.array([0.9, 0.5]), 0.1) is None
    assert win_tie_loss(np.array([0.1, 0.2, 0.3, 0.0]), np.array([0.2, 0.2, 0.1, 0.0])) == (1, 2, 1)


# -- the pool -------------------------------------------------------------------------------
def test_snapping_picks_the_nearest_unused_row_and_never_a_used_one() -> None:
    X = np.array([[0.0, 0.0], [0.1, 0.0], [0.5, 0.5], [1.0, 1.0]])
    pool = Pool(_task("d", [1.0, 2.0, 3.0, 4.0], X=X), budget=4)
    target = np.array([0.02, 0.0])
    assert pool.snap(target) == 0
    assert pool.evaluate(0) == 1.0
    assert pool.snap(target) == 1  # row 0 is used: the next nearest
    pool.evaluate(1)
    assert pool.snap(target) == 2
    with pytest.raises(PoolExhaustedError):
        pool.evaluate(0)  # no re-evaluation
    rng = np.random.default_rng(0)
    for _ in range(20):
        assert pool.random_unused(rng) in (2, 3)
    pool.fill_random(rng)
    assert sorted(pool.picks) == [0, 1, 2, 3] and pool.done
    with pytest.raises(PoolExhaustedError):
        pool.snap(target)


def test_pool_reports_failures_and_caps_the_budget() -> None:
    pool = Pool(_task("d", [0.3, np.nan]), budget=10)
    assert pool.budget == 2
    assert pool.evaluate(1) is None
    assert pool.evaluate(0) == pytest.approx(0.3)
    with pytest.raises(PoolExhaustedError):
        pool.evaluate(0)
    assert len(pool.seconds) == 2 and min(pool.seconds) >= 0.0


@pytest.mark.parametrize("name", ["default", "random", "tpe", "cmaes", "qmc", "evolution"])
def test_every_pick_is_a_distinct_pool_row(name: str) -> None:
    exp = _synthetic(4, ("svm",))
    train = TrainingSet(exp.select(exclude=["ds0"]), "svm", "regression")
    pool = Pool(exp.select(datasets=["ds0"]).tasks[0], budget=20)
    METHODS[name].run(train, pool, seed=3)
    assert pool.done and len(set(pool.picks)) == 20


def test_default_method_evaluates_the_library_default_first() -> None:
    exp = _synthetic(3, ("svm",))
    task = exp.tasks[0]
    pool = Pool(task, budget=3)
    METHODS["default"].run(TrainingSet(exp, "svm", "regression"), pool, seed=0)
    # Row 0 of the build design is the library default.
    assert pool.picks[0] == 0
    default = get_space("svm", "regression").default_config()
    assert task.configs()[0] == pytest.approx(default)


def test_prepare_time_charges_shared_fits_to_every_method_that_uses_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two methods share the 'portfolio' learner: whichever is prepared second finds it cached,
    # yet both must be charged its fit, and the order must not move cost between them.
    import time

    import metahpo_bench._methods as methods_module

    real_fit = methods_module.fit_strategy

    def slow_fit(*args: object, **kwargs: object) -> object:
        time.sleep(0.2)
        return real_fit(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(methods_module, "fit_strategy", slow_fit)
    exp = _synthetic(4, ("svm",))
    for order in (["portfolio", "meta-random"], ["meta-random", "portfolio"]):
        train = TrainingSet(exp, "svm", "regression")
        cost = {name: methods_module.timed_prepare(METHODS[name], train) for name in order}
        assert cost["portfolio"] >= 0.2 and cost["meta-random"] >= 0.2
        assert methods_module.timed_prepare(METHODS["random"], train) < 0.1


# -- folds and leakage ----------------------------------------------------------------------
def test_grouped_folds_partition_the_datasets() -> None:
    names = [f"d{i}" for i in range(13)]
    folds = grouped_folds(reversed(names), 5, seed=1)
    assert len(folds) == 5
    flat = [d for f in folds for d in f]
    assert sorted(flat) == sorted(names) and len(set(flat)) == len(flat)
    assert max(map(len, folds)) - min(map(len, folds)) <= 1
    assert grouped_folds(names, 5, seed=1) == folds  # order of input does not matter
    assert len(grouped_folds(["a", "b"], 5)) == 2


def test_no_held_out_dataset_reaches_its_training_set(monkeypatch: pytest.MonkeyPatch) -> None:
    exp = _synthetic(7)
    folds, groups, _ = plan(exp, BenchSettings(budget=3, seeds=1, folds=3, methods=("random",)))
    for g in groups:
        held = {d for _, d, _ in g.todo}
        assert held <= set(folds[g.fold]) and not held & set(g.train_datasets)
        assert set(g.train_datasets) | set(folds[g.fold]) == set(exp.datasets)

    seen: list[tuple[str, list[str], list[str]]] = []

    class Spy(Method):
        def prepare(self, train: TrainingSet) -> None:
            seen.append(("prepare", train.datasets, []))

        def run(self, train: TrainingSet, pool: Pool, seed: int) -> None:
            learner = train.learner("nearest")
            assert learner.experience_ is not None
            seen.append((pool.dataset, train.datasets, learner.experience_.datasets))
            pool.fill_random(np.random.default_rng(seed))

    monkeypatch.setitem(METHODS, "spy", Spy())
    result = run_replay(exp, BenchSettings(budget=3, seeds=2, folds=3, methods=("spy",)))
    runs = [s for s in seen if s[0] != "prepare"]
    assert len(runs) == 7 * 2 * 2 == len(result.runs)
    for held, train_names, fitted_on in runs:
        assert held not in train_names and held not in fitted_on
        assert train_names == fitted_on
    # The scaler of the fitted meta-learner saw only training meta-features.
    assert len([s for s in seen if s[0] == "prepare"]) == 3 * 2


def test_tasks_without_metafeatures_are_left_out_of_both_sides() -> None:
    exp = _synthetic(5, ("linear",))
    blank = _task("blank", np.linspace(0, 1, 25), X=exp.tasks[0].X, mf=(0.0, 0.0, 0.0))
    flat = _task("flat", np.full(25, 0.7), X=exp.tasks[0].X)
    exp = Experience((*exp.tasks, blank, flat), MF_NAMES, "test/1")
    settings = BenchSettings(budget=3, seeds=1, folds=2, methods=("random",))
    folds, groups, skipped = plan(exp, settings)
    assert dict(skipped).keys() == {"blank/linear", "flat/linear"}
    assert "blank" not in {d for f in folds for d in f}
    assert all("blank" not in g.train_datasets for g in groups)
    # A constant pool is useless as a test task but still experience to learn from.
    assert any("flat" in g.train_datasets for g in groups)
    result = run_replay(exp, settings)
    assert {r.dataset for r in result.runs} == {f"ds{i}" for i in range(5)}


# -- running, resuming and reporting --------------------------------------------------------
FAST = ("default", "random", "tpe", "nearest", "portfolio", "meta-tpe")


def test_resuming_skips_finished_runs_and_redoes_lost_ones(tmp_path: Path) -> None:
    exp = _synthetic(4, ("linear",))
    settings = BenchSettings(budget=4, seeds=2, folds=2, methods=("default", "random"))
    first = run_replay(exp, settings, out=tmp_path)
    assert first.n_new == len(first.runs) == 4 * 2 * 2
    again = run_replay(exp, settings, out=tmp_path)
    assert again.n_new == 0
    assert {r.key: r.regret for r in again.runs} == {r.key: r.regret for r in first.runs}
    # Lose two runs (one cut in the middle of its line): exactly those are redone.
    path = tmp_path / RUNS_FILE
    lines = path.read_text().splitlines()
    runs = [ln for ln in lines if json.loads(ln)["kind"] == "run"]
    kept = [ln for ln in lines if ln not in runs[:2]]
    path.write_text("\n".join([*kept, runs[1][:40]]) + "\n")
    third = run_replay(exp, settings, out=tmp_path)
    assert third.n_new == 2
    assert {r.key: r.regret for r in third.runs} == {r.key: r.regret for r in first.runs}
    # More seeds reuse the cache; other budgets refuse it.
    more = run_replay(exp, BenchSettings(**{**settings.__dict__, "seeds": 3}), out=tmp_path)
    assert more.n_new == 4 * 2
    with pytest.raises(MetaHPOError, match="budget"):
        run_replay(exp, BenchSettings(**{**settings.__dict__, "budget": 5}), out=tmp_path)


def test_parallel_and_inline_runs_agree() -> None:
    exp = _synthetic(4, ("linear", "svm"))
    settings = BenchSettings(budget=5, seeds=1, folds=2, methods=("random", "tpe", "portfolio"))
    inline = run_replay(exp, settings, workers=1)
    parallel = run_replay(exp, settings, workers=2)
    assert {r.key: r.picks for r in inline.runs} == {r.key: r.picks for r in parallel.runs}


@pytest.mark.parametrize("where", ["run", "prepare"])
def test_a_crashing_method_is_reported_not_fatal(
    monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    class Broken(Method):
        def prepare(self, train: TrainingSet) -> None:
            if where == "prepare":  # e.g. a torch meta-learner without torch installed
                raise ValueError("boom")

        def run(self, train: TrainingSet, pool: Pool, seed: int) -> None:
            raise ValueError("boom")

    monkeypatch.setitem(METHODS, "broken", Broken())
    exp = _synthetic(3, ("linear",))
    result = run_replay(
        exp, BenchSettings(budget=3, seeds=1, folds=3, methods=("random", "broken"))
    )
    assert len(result.errors) == 3 and "ValueError: boom" in result.errors[0].message
    assert len(result.runs) == 3  # random's runs all went through
    summary = summarize(result, n_boot=50)
    assert summary["methods"] == ["random"] and summary["excluded"]["broken"]["failed_runs"] == 3


def test_end_to_end_replay_writes_every_output(tmp_path: Path) -> None:
    exp = _synthetic(6)
    settings = BenchSettings(budget=8, seeds=2, folds=3, methods=FAST)
    calls: list[tuple[int, int]] = []
    result = run_replay(exp, settings, out=tmp_path, progress=lambda d, t, _: calls.append((d, t)))
    n_runs = 6 * 2 * 2
    assert len(result.runs) == n_runs * len(FAST) and not result.errors
    assert calls[-1] == (n_runs * len(FAST), n_runs * len(FAST))
    for r in result.runs:
        assert len(r.regret) == 8 and len(set(r.picks)) == 8
        assert all(a >= b for a, b in zip(r.regret, r.regret[1:], strict=False))
    written = write_report(result, tmp_path, command="metahpo-bench --budget 8", n_boot=100)
    assert {"json", "markdown", "regret_plot", "rank_plot", "family_plot"} <= set(written)
    for path in written.values():
        assert path.exists() and path.stat().st_size > 0
    payload = json.loads((tmp_path / "results.json").read_text())
    assert {"command", "settings", "folds", "summary", "runs", "errors", "skipped"} <= set(payload)
    assert len(payload["runs"]) == len(result.runs)
    assert {"method", "dataset", "family", "task", "seed", "fold", "regret"} <= set(
        payload["runs"][0]
    )
    summary = payload["summary"]
    assert set(summary["splits"]) == {"all", "family:linear", "family:svm", "task:regression"}
    assert summary["cutpoints"] == [1, 3, 5, 8]
    tpe = summary["splits"]["all"]["methods"]["tpe"]
    assert tpe["evals_to_baseline_final"] <= 8
    assert tpe["win_tie_loss"]["8"] == [0, n_runs, 0]
    for m in FAST:
        e = summary["splits"]["all"]["methods"][m]
        assert len(e["mean"]) == 8 and e["ci_low"][0] <= e["mean"][0] <= e["ci_high"][0]
        assert 1.0 <= e["rank"][0] <= len(FAST)
        assert summary["latency"][m]["per_pick_ms"] >= 0.0
    ranks_at_1 = [summary["splits"]["all"]["methods"][m]["rank"][0] for m in FAST]
    assert sum(ranks_at_1) == pytest.approx(len(FAST) * (len(FAST) + 1) / 2)
    md = (tmp_path / "summary.md").read_text()
    for heading in ("Normalised regret", "Mean rank", "Against `tpe`", "Latency", "By family"):
        assert heading in md
    assert "metahpo-bench --budget 8" in md


def test_meta_learners_beat_random_at_the_first_evaluation_on_learnable_tasks() -> None:
    # The optimum moves with a meta-feature, so a meta-learner trained on the other datasets
    # knows where to look; random search does not. (A check that the replay does not blind the
    # meta-learners, e.g. by passing the wrong meta-features.)
    exp = _synthetic(8, ("linear",))
    settings = BenchSettings(budget=3, seeds=3, folds=4, methods=("random", "nearest"))
    summary = summarize(run_replay(exp, settings), n_boot=50)
    at1 = {m: summary["splits"]["all"]["methods"][m]["mean"][0] for m in ("random", "nearest")}
    assert at1["nearest"] < at1["random"]


def test_unknown_methods_and_families_are_refused() -> None:
    exp = _synthetic(3, ("linear",))
    with pytest.raises(MetaHPOError, match="unknown benchmark method"):
        run_replay(exp, BenchSettings(methods=("nope",)))
    with pytest.raises(MetaHPOError, match="no experience for families"):
        run_replay(exp, BenchSettings(families=("hgb",), methods=("random",)))
    with pytest.raises(MetaHPOError, match="empty"):
        run_replay(Experience((), ()), BenchSettings(methods=("random",)))


def test_cli_bench_on_the_bundled_experience(tmp_path: Path) -> None:
    from metahpo_bench._main import main

    from metahpo.knowledge import load_bundled

    if len(load_bundled().select(family="linear").datasets) < 2:
        pytest.skip("the bundled experience has fewer than two datasets")
    out = tmp_path / "bench"
    md = tmp_path / "RESULTS.md"
    argv = ["--budget", "3", "--seeds", "1", "--folds", "2", "--families", "linear"]
    argv += ["--methods", "default", "random", "portfolio", "--workers", "1", "--out", str(out)]
    compact = tmp_path / "replay" / "summary.json"
    assert main([*argv, "--results-md", str(md), "--summary", str(compact)]) == 0
    assert (out / "results.json").exists() and (out / "summary.md").exists()
    assert md.read_text() == (out / "summary.md").read_text()
    assert "metahpo-bench --budget 3 --seeds 1 --folds 2" in md.read_text()
    # the compact summary: the report's numbers at the cut points, and which methods learn
    full = json.loads((out / "results.json").read_text())["summary"]
    small = json.loads(compact.read_text())
    assert small["format"] == "metahpo-replay-summary/1" and small["cutpoints"] == [1, 3]
    assert {m: e["meta"] for m, e in small["methods"].items()} == {
        "default": False,
        "random": False,
        "portfolio": True,
    }
    for m, e in small["methods"].items():
        curve = full["splits"]["all"]["methods"][m]["mean"]
        assert e["mean"] == [round(curve[t - 1], 6) for t in small["cutpoints"]]
    assert set(small["families"]) == {"linear"}
    # the README's replay table is copied from it by the headline script
    readme = tmp_path / "README.md"
    live = Path(__file__).resolve().parents[1] / "live" / "summary.json"
    readme.write_text(
        "<!-- live-headline:start -->\n<!-- live-headline:end -->\n"
        "a\n<!-- replay-headline:start -->\nSTALE\n<!-- replay-headline:end -->\nz\n"
    )
    script = Path(__file__).resolve().parents[1] / "readme_headline.py"
    cmd = [sys.executable, str(script), "--summary", str(live), "--replay", str(compact)]
    subprocess.run([*cmd, "--readme", str(readme)], check=True, capture_output=True)
    text = readme.read_text()
    best = small["methods"]["portfolio"]["mean"][0]
    assert "STALE" not in text and text.endswith("z\n")
    assert f"| 1 evaluation | `portfolio` {best:.3f} |" in text
    assert main([*argv, "--methods", "nope"]) == 2


def test_cli_bench_never_writes_into_its_inputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from metahpo_bench._main import main

    from tests.conftest import dataset_folder, one_line_error

    monkeypatch.chdir(tmp_path)
    dataset_folder(tmp_path, "iris")
    before = {p.name: p.read_bytes() for p in (tmp_path / "iris").iterdir()}
    assert main(["--datasets", "iris", "--results-md", "iris/RESULTS.md"]) == 2
    assert one_line_error(capsys, "metahpo-bench: error:", "--results", "inside")
    assert {p.name: p.read_bytes() for p in (tmp_path / "iris").iterdir()} == before


# -- slow: the real bundled experience ------------------------------------------------------
@pytest.mark.slow
def test_reduced_benchmark_on_the_bundled_experience(tmp_path: Path) -> None:
    from metahpo_bench import DEFAULT_METHODS

    from metahpo.knowledge import load_bundled
    from metahpo.metalearners import with_metafeatures

    exp = with_metafeatures(load_bundled())
    if len(exp.datasets) < 5:
        pytest.skip("the bundled experience has fewer than five datasets with meta-features")
    settings = BenchSettings(budget=20, seeds=2, folds=5, methods=DEFAULT_METHODS)
    result = run_replay(load_bundled(), settings, out=tmp_path, workers=2)
    written = write_report(result, tmp_path, command="slow test")
    summary = json.loads(written["json"].read_text())["summary"]
    everything = summary["splits"]["all"]
    assert everything["n_datasets"] == len(exp.datasets)
    for m in summary["methods"]:
        curve = everything["methods"][m]["mean"]
        assert curve[-1] < curve[0]
    # Random search over 20 of ~129 configurations: the regret is small but not zero.
    assert 0.0 < everything["methods"]["random"]["mean"][-1] < 0.2
    assert summary["excluded"] == {}


# -- what the replay can measure --------------------------------------------------------------
def _rendered(methods: tuple[str, ...], mode: str = "replay") -> str:
    """The Markdown of a small synthetic result (hand-made runs, no method is run)."""
    rng = np.random.default_rng(0)
    runs = []
    for m in methods:
        for d in ("a", "b", "c"):
            for seed in range(2):
                regret = np.minimum.accumulate(rng.random(5))
                runs.append(
                    RunRecord(
                        m, d, "linear", "regression", seed, 0, tuple(range(5)),
                        tuple(float(r) for r in regret), (0.001,) * 5,
                    )
                )  # fmt: skip
    result = BenchResult(
        settings=BenchSettings(budget=5, seeds=2, folds=2, methods=methods),
        runs=tuple(runs),
        fits=(),
        errors=(),
        folds=(("a", "b"), ("c",)),
        mode=mode,
    )
    return markdown(result, summarize(result, n_boot=20), command="metahpo-bench")


@pytest.mark.parametrize("mode", ["replay", "external"])
def test_report_says_what_the_replay_cannot_measure_and_marks_stored_proposals(
    mode: str,
) -> None:
    methods = ("tpe", "random", "portfolio", "nearest", "mapping", "meta-transfer", "meta-tpe")
    md = _rendered(methods, mode)
    intro = md.split("## Protocol")[0]
    for phrase in (
        "only among the configurations stored for each held-out task",
        "zero-shot and warm-start quality",
        "cannot see whether a method keeps improving beyond those points",
        "snapped to the nearest stored configuration",
        "live benchmark (`benchmarks/LIVE.md`)",
        "measure of record",
    ):
        assert phrase in intro, phrase
    marked = {"random": "†", "portfolio": "†", "nearest": "†", "mapping": "‡"}
    marked["meta-transfer"] = "‡"
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    for m in methods:
        label = f"{m} {marked[m]}" if m in marked else m
        # regret, median, rank, against tpe, latency, one family, one task type
        assert sum(row.startswith(f"| {label} |") for row in rows) == 7, m
    listed = md.split("Proposals (what the marks in the tables mean):")[1].split("## ")[0]
    bullets = {line[:3]: line for line in listed.splitlines() if line.startswith("- ")}
    assert "`portfolio`" in bullets["- †"] and "`tpe`" not in bullets["- †"]
    assert "`meta-transfer`" in bullets["- ‡"] and "`meta-tpe`" not in bullets["- ‡"]
    assert "`tpe`" in bullets["- u"] and "`meta-tpe`" in bullets["- u"]
    assert "Wall clock" not in md and "first eval (ms)" not in md  # no live-mode remnants


def test_methods_marked_stored_propose_only_stored_configurations() -> None:
    # The replay scores a stored configuration exactly and snaps anything else: a method
    # marked STORED must never need the snap. The bundled tasks share one design, so the
    # training tasks' configurations are stored configurations of the held-out task.
    exp = _synthetic(6, families=("linear",))
    held = exp.tasks[0]
    train = TrainingSet(exp.select(datasets=exp.datasets[1:]), "linear", "regression")
    space = get_space("linear", "regression")
    stored = [m for m in METHODS.values() if m.proposals == STORED]
    assert {type(m) for m in stored} == {RandomSearch, DefaultThenRandom, ZeroShot}

    def distance(config: dict[str, object]) -> float:
        return float(np.min(np.abs(held.X - space.encode(config)).max(axis=1)))

    assert distance(space.default_config()) < 1e-9
    for method in stored:
        if isinstance(method, ZeroShot):
            if method.strategy in ("neural", "nearest-ae"):
                pytest.importorskip("torch")
            for s in train.learner(method.strategy).suggest(held.metafeatures, k=10):
                assert distance(s.params) < 1e-9, (method.strategy, s.params)
    assert METHODS["tpe"].proposals == CONTINUOUS
    assert METHODS["meta-transfer"].proposals == PARTLY_STORED


def test_every_bench_module_stays_under_500_lines() -> None:
    package = ROOT / "benchmarks" / "metahpo_bench"
    sizes = {p.name: len(p.read_text().splitlines()) for p in sorted(package.glob("*.py"))}
    assert sizes and all(n <= 500 for n in sizes.values()), sizes


def test_the_lab_readme_synopsis_names_only_options_that_exist() -> None:
    """benchmarks/README.md's synopsis of ``metahpo-bench`` is not run, but every option it
    names is in the command's ``--help``; ``python -m metahpo_bench`` is the same command."""
    import re

    from metahpo_bench._main import parser

    readme = ROOT / "benchmarks" / "README.md"
    block = readme.read_text().split("```\nmetahpo-bench ", 1)[1].split("```", 1)[0]
    options = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)\b", block))
    shown = parser().format_help()
    assert len(options) >= 20
    assert not [o for o in options if not re.search(rf"(?<![\w-]){o}\b", shown)]
    assert shown.startswith("usage: metahpo-bench ")

"""Live benchmark (real training, cached runs, statistics) and the external replay."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import metahpo_bench._live as live
import numpy as np
import pytest
from metahpo_bench import (
    LIVE_METHODS,
    BenchSettings,
    LiveRun,
    LiveSettings,
    RunCache,
    group_key,
    run_external,
    run_live,
    select_holdout,
    write_live_report,
    write_report,
)
from metahpo_bench._live_stats import curves, summarize

from metahpo.errors import MetaHPOError
from metahpo.knowledge import BuildSettings, Bundle, KnowledgeStore, build, load_bundled
from metahpo.spaces import get_space
from tests.conftest import ROOT, dataset_folder


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    return dataset_folder(tmp_path / "datasets", "iris", "1027_ESL")


@pytest.fixture(scope="module")
def training_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small experience (two datasets) to train the meta-learners of the tests on."""
    base = tmp_path_factory.mktemp("train")
    root = dataset_folder(base / "datasets", "vehicle", "iris")
    bundle = Bundle(base / "bundle")
    settings = BuildSettings(families=("knn",), n_configs=6, max_rows=60, folds=2, chunk=4)
    build(root, KnowledgeStore(f"sqlite:///{base / 'kb.db'}"), settings, export=bundle)
    return bundle.root


# -- protocol ------------------------------------------------------------------------------------
def test_group_key_matches_generator_families_and_keeps_others_apart() -> None:
    same = [
        ("586_fri_c3_1000_25", "653_fri_c0_250_25", "564_fried"),
        ("led7", "led24"),
        ("monk1", "monk3"),
        ("197_cpu_act", "562_cpu_small"),
        ("1193_BNG_lowbwt", "lowbwt"),
        ("GAMETES_Epistasis_2_Way_20atts_0.1H_EDM_1_1", "GAMETES_Heterogeneity_20atts_1600"),
        ("satimage", "294_satellite_image"),
        ("analcatdata_apnea1", "557_analcatdata_apnea2"),
        ("ann_thyroid", "new_thyroid", "hypothyroid"),
    ]
    for names in same:
        assert len({group_key(n) for n in names}) == 1, names
    apart = ["iris", "vehicle", "analcatdata_boxing1", "analcatdata_happiness", "sonar", "magic"]
    assert len({group_key(n) for n in apart}) == len(apart)


def _index(n_cls: int, n_reg: int) -> dict[str, dict[str, object]]:
    idx: dict[str, dict[str, object]] = {}
    for i in range(n_cls):
        idx[f"c{i}x"] = {"task": "classification", "n": 100 + 10 * i, "p": 5}
    for i in range(n_reg):
        idx[f"r{i}x"] = {"task": "regression", "n": 100 + 10 * i, "p": 5}
    idx["widex"] = {"task": "classification", "n": 50, "p": 5000}
    return idx


def test_holdout_draw_is_seeded_stratified_and_one_per_family() -> None:
    idx = _index(30, 15)
    drawn = select_holdout(idx, 12, seed=1)
    assert drawn == select_holdout(idx, 12, seed=1) and drawn != select_holdout(idx, 12, seed=2)
    assert len(drawn) == 12 and "widex" not in drawn  # too many features: not a candidate
    cls = [d for d in drawn if d.startswith("c")]
    assert len(cls) == 8  # 30 of 45 candidates are classification: 8 of 12
    # Size tertiles of the classification candidates (sorted by rows): 10 each, 3/3/2 drawn.
    tertile = [int(d[1:-1]) // 10 for d in cls]
    assert sorted(np.bincount(tertile, minlength=3).tolist()) == [2, 3, 3]
    fam = {
        "a_1": {"task": "regression", "n": 10, "p": 2},
        "a_2": {"task": "regression", "n": 11, "p": 2},
        "b": {"task": "regression", "n": 12, "p": 2},
    }
    assert sorted(select_holdout(fam, 2, seed=0)) != ["a_1", "a_2"]
    with pytest.raises(MetaHPOError, match="cannot draw"):
        select_holdout(idx, 100)


# -- statistics ----------------------------------------------------------------------------------
def _run(
    method: str,
    values: list[float | None],
    *,
    dataset: str = "d",
    family: str = "knn",
    seed: int = 0,
    fit: float = 1.0,
    over: float = 0.1,
) -> LiveRun:
    n = len(values)
    return LiveRun(
        method,
        dataset,
        family,
        seed,
        "fp",
        "classification",
        "balanced_accuracy",
        "maximize",
        tuple(values),
        (fit,) * n,
        (over,) * n,
        0.5,
    )


def test_regret_is_normalised_by_every_method_and_failures_never_help() -> None:
    runs = [
        _run("a", [0.5, None, 0.9]),  # best any method found: 0.9
        _run("b", [None, 0.1, 0.7]),  # worst: 0.1
        _run("b", [0.2], dataset="incomplete"),  # no run of "a": not a complete cell
        _run("a", [0.3, 0.3, 0.3], dataset="flat"),
        _run("b", [0.3, 0.3, 0.3], dataset="flat"),  # every score equal: skipped
    ]
    cells, regret, skipped = curves(runs, ["a", "b"], 3)
    assert cells == [("d", "knn", "classification", 0)] and skipped == [("flat", "knn")]
    np.testing.assert_allclose(regret[0, 0], [0.5, 0.5, 0.0])  # (0.9-0.5)/0.8, then 0.9
    np.testing.assert_allclose(regret[1, 0], [1.0, 1.0, 0.25])  # failed first: regret 1
    s = summarize(runs, ["a", "b"], 3, baselines=("b",))
    a = s["methods"]["a"]
    assert s["cutpoints"] == [1, 3] and s["n_cells"] == 1
    assert a["mean"] == [0.5, 0.0] and a["rank"] == [1.0, 1.0]
    assert a["ratio"]["b"] == [0.5, 0.0]
    assert a["reach"]["b"] == {"median": 3.0, "mean_reached": 3.0, "fraction": 1.0}  # 0 <= 0.25
    assert s["methods"]["b"]["reach"]["b"]["median"] == 3.0  # its own final regret: at 3
    assert a["wtl"]["b"] == {"3": [1, 0, 0]}
    assert a["failed_evals"] == 1 and s["methods"]["b"]["failed_evals"] == 1
    assert a["overhead_s"]["median"] == pytest.approx(0.1)
    # Wall time to regret <= 0.05: setup 0.5 + 3 × (1.0 + 0.1) for "a"; "b" never gets there.
    assert a["wall_to"]["0.05"] == {"median_s": pytest.approx(3.8), "fraction": 1.0}
    assert s["methods"]["b"]["wall_to"]["0.05"] == {"median_s": None, "fraction": 0.0}


def test_ties_and_means_over_datasets_not_cells() -> None:
    runs = []
    for seed in range(3):  # dataset x: 3 cells where a and b tie at 0
        runs += [
            _run("a", [0.0, 1.0], dataset="x", seed=seed),
            _run("b", [0.0, 1.0], dataset="x", seed=seed),
        ]
    runs += [_run("a", [1.0, 0.0], dataset="y"), _run("b", [0.0, 0.5], dataset="y")]
    s = summarize(runs, ["a", "b"], 2, baselines=())
    assert s["methods"]["a"]["wtl"]["b"] == {"2": [1, 3, 0]}  # y: 0 against 0.5
    # Dataset means, not cell means: a @1 is 1.0 on x (3 cells) and 0.0 on y → 0.5, not 0.75.
    assert s["methods"]["a"]["mean"] == [0.5, 0.0]
    assert s["methods"]["b"]["mean"] == [1.0, 0.25]


def _grouped_runs() -> list[LiveRun]:
    """Runs whose regret after 2 evaluations is set by hand (``random`` anchors every
    (dataset, family) at best 1 and worst 0, so regret = 1 − the best value found); the
    first evaluation scores half the second, so regret @1 = (1 + regret @2) / 2."""
    final = {  # (dataset, family): {method: (regret @2 seed 0, seed 1)}
        ("a", "knn"): {"meta": (0.2, 0.4), "gp": (0.1, 0.1), "tpe": (0.5, 0.5)},
        ("b", "knn"): {"meta": (0.0, 0.0), "gp": (0.0, 0.0), "tpe": (0.2, 0.2)},
        ("c", "knn"): {"meta": (0.6, 0.8), "gp": (0.9, 0.5), "tpe": (0.0, 0.0)},
        ("d", "knn"): {"meta": (0.1, 0.1), "gp": (0.3, 0.1004), "tpe": (0.3, 0.3)},
        ("a", "svm"): {"meta": (0.0, 0.0), "gp": (0.2, 0.2), "tpe": (0.1, 0.1)},
        ("r", "svm"): {"meta": (0.9, 0.9), "gp": (0.1, 0.1), "tpe": (0.5, 0.5)},
    }
    runs = []
    for (dataset, family), by_method in final.items():
        for seed in (0, 1):
            for m, regret in [("random", (0.0, 0.0)), *by_method.items()]:
                v = 1.0 - regret[seed]  # random: 0 then 1
                first = 0.0 if m == "random" else v / 2
                runs.append(_run(m, [first, v], dataset=dataset, family=family, seed=seed))
    # dataset r is a regression task
    return [replace(r, task="regression") if r.dataset == "r" else r for r in runs]


def test_groups_give_median_tail_worst_dataset_ratio_and_wins_per_family_and_task() -> None:
    s = summarize(_grouped_runs(), ["meta", "random", "tpe", "gp"], 2)
    g = s["groups"]
    assert g["cutpoints"] == [1, 2] and g["headline"] == "meta"
    assert list(g["family"]) == ["knn", "svm"]  # families absent from the runs: absent here
    assert list(g["task"]) == ["classification", "regression"]
    knn = g["family"]["knn"]
    meta = knn["methods"]["meta"]
    # meta @2 per dataset (mean over seeds): a 0.3, b 0.0, c 0.7, d 0.1
    assert meta["mean"][1] == pytest.approx(0.275)
    assert meta["median"][1] == pytest.approx(0.2)  # (0.1 + 0.3) / 2
    assert meta["median"][0] == pytest.approx(0.6)  # (1 + 0.2) / 2
    assert meta["p90"][1] == pytest.approx(0.58)  # 0.3 + 0.7 × (0.7 − 0.3)
    assert meta["worst"][1] == {"dataset": "c", "regret": pytest.approx(0.7)}
    assert knn["methods"]["tpe"]["worst"][1] == {"dataset": "a", "regret": pytest.approx(0.5)}
    assert knn["n_datasets"] == 4 and knn["n_cells"] == 8
    # gp @2: a 0.1, b 0, c 0.7, d 0.2002; a difference of 0.0004 (d, seed 1) is a tie
    assert knn["ratio"]["gp"][1] == pytest.approx(0.275 / 0.25005, abs=1e-3)
    assert knn["wtl"] == {"gp": [2, 3, 3], "tpe": [6, 0, 2]}
    assert [x["dataset"] for x in knn["tail"]] == ["c", "a", "d"]
    assert knn["tail"][2]["regret"] == {
        "meta": pytest.approx(0.1),
        "gp": pytest.approx(0.2002),
        "tpe": pytest.approx(0.3),
    }
    svm = g["family"]["svm"]
    assert svm["wtl"]["gp"] == [2, 0, 2] and [x["dataset"] for x in svm["tail"]] == ["r", "a"]
    # a task type averages a dataset's families: a = (0.2 + 0.4 + 0 + 0) / 4 = 0.15
    cls = g["task"]["classification"]["methods"]["meta"]
    assert cls["median"][1] == pytest.approx(0.125) and cls["worst"][1]["dataset"] == "c"
    assert g["task"]["classification"]["wtl"]["gp"] == [4, 3, 3]
    assert g["task"]["regression"]["methods"]["meta"]["worst"][1] == {
        "dataset": "r",
        "regret": pytest.approx(0.9),
    }
    # the overall tables are unchanged by the groups: knn's mean is the by_family mean
    assert s["methods"]["meta"]["by_family"]["knn"][1] == pytest.approx(0.275, abs=1e-4)
    assert s["methods"]["meta"]["wtl"]["gp"]["2"] == [4, 3, 5]


def test_live_md_lists_the_groups_after_the_family_table() -> None:
    from metahpo_bench._live_md_family import render_groups

    s = summarize(_grouped_runs(), ["meta", "random", "tpe", "gp"], 2)
    md = "\n".join(render_groups(s))
    knn = md.split("### knn", 1)[1].split("###", 1)[0]
    row = next(line for line in knn.splitlines() if line.startswith("| `meta` |"))
    assert row.strip("| ").split(" | ")[3:5] == ["0.275 / 0.200 / 0.580", "0.700 c"]
    assert "### svm" in md and "### regression" in md and "### hgb" not in md
    ratios = md.split("## `meta` against `gp` and `tpe`", 1)[1]
    assert "| knn | 4 | " in ratios and "| 2:3:3 | 6:0:2 |" in ratios
    tail = md.split("## Worst datasets for `meta` (regret @2", 1)[1].splitlines()
    assert [r for r in tail if r.startswith("| knn |")] == [
        "| knn | c | 0.700 | 0.700 | 0.000 |",
        "| knn | a | 0.300 | 0.100 | 0.500 |",
        "| knn | d | 0.100 | 0.200 | 0.300 |",
    ]
    assert render_groups({k: v for k, v in s.items() if k != "groups"}) == []


def test_the_committed_live_md_is_rendered_from_the_committed_summaries() -> None:
    # LIVE.md is never edited by hand: what render_markdown makes of summary.json and
    # ablation.json, byte for byte (so sections are only ever added by code)
    from metahpo_bench._live_md import render_markdown

    live = ROOT / "benchmarks" / "live"
    summary = json.loads((live / "summary.json").read_text(encoding="utf-8"))
    ablation = json.loads((live / "ablation.json").read_text(encoding="utf-8"))
    md = (ROOT / "benchmarks" / "LIVE.md").read_text(encoding="utf-8")
    assert render_markdown(summary, ablation) == md
    order = [
        "## By family and task type (mean regret",
        "## By family and task type: mean, median and worst datasets",
        "## `meta` against `gp` and `tpe` by family and task type",
        "## Worst datasets for `meta`",
        "## Optimizer overhead and time",
    ]
    assert [md.index(h) for h in order] == sorted(md.index(h) for h in order)


# -- runs and the cache --------------------------------------------------------------------------
SMALL = LiveSettings(
    budget=3,
    seeds=1,
    methods=("default", "random", "meta"),
    families=("knn",),
    max_rows=60,
    workers=1,
)


def test_live_runs_every_method_with_equal_budgets_and_reads_cached_runs_back(
    folder: Path, tmp_path: Path, training_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    calls: list[tuple[int, int]] = []
    result = run_live(
        folder,
        SMALL,
        cache=cache,
        holdout=["iris", "1027_ESL"],
        bundle=training_bundle,
        progress=lambda d, t, _: calls.append((d, t)),
    )
    assert not result.errors and result.n_new == 6 and calls[-1] == (6, 6)
    for r in result.runs:
        assert len(r.values) == len(r.fit_s) == len(r.overhead_s) == len(r.params) == 3
        assert all(s > 0 for s in r.fit_s) and all(s >= 0 for s in r.overhead_s)
    default = next(r for r in result.runs if r.method == "default" and r.dataset == "iris")
    assert default.params[0] == get_space("knn", "classification").default_config()
    # Same seed: every method sees the same folds, so equal configurations score equally.
    scores: dict[tuple[str, str], set[float]] = {}
    for r in result.runs:
        for p, v in zip(r.params, r.values, strict=True):
            scores.setdefault((r.dataset, json.dumps(p, sort_keys=True)), set()).add(v)
    assert all(len(v) == 1 for v in scores.values())
    with gzip.open(cache / "meta.json.gz", "rt") as fh:
        assert json.load(fh)["format"] == 1

    def boom(*a: object, **k: object) -> None:
        raise AssertionError("a cached run was trained again")

    monkeypatch.setattr(live, "_run_unit", boom)
    again = run_live(
        folder, SMALL, cache=cache, holdout=["iris", "1027_ESL"], bundle=training_bundle
    )
    assert again.n_new == 0 and again.runs == result.runs
    monkeypatch.undo()
    # A changed method setting makes that method's runs stale, and only those.
    changed = dict(LIVE_METHODS)
    changed["random"] = LIVE_METHODS["random"].__class__(
        **{**LIVE_METHODS["random"].__dict__, "revision": 2}
    )
    monkeypatch.setattr(live, "LIVE_METHODS", changed)
    third = run_live(
        folder, SMALL, cache=cache, holdout=["iris", "1027_ESL"], bundle=training_bundle
    )
    assert third.n_new == 2
    assert {r.method for r in third.runs if r not in result.runs} == {"random"}
    # So does a changed protocol (here the per-evaluation time limit), for every method.
    other = LiveSettings(**{**SMALL.__dict__, "trial_time_limit": 30.0})
    assert (
        run_live(
            folder,
            other,
            cache=cache,
            holdout=["iris"],
            bundle=training_bundle,
        ).n_new
        == 3
    )


def test_meta_methods_never_learn_from_the_held_out_generator_family(
    tmp_path: Path, training_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import metahpo_bench._live_runners as runners

    seen: list[set[str]] = []
    real = runners.run_method

    def spy(method, objective, experience):  # type: ignore[no-untyped-def]
        seen.append({t.dataset for t in experience.tasks})
        return real(method, objective, experience)

    monkeypatch.setattr(runners, "run_method", spy)
    root = dataset_folder(tmp_path / "d", "iris")
    (root / "iris").rename(root / "vehicle2")  # same generator family as the bundle's vehicle
    (root / "vehicle2" / "iris.tsv.gz").rename(root / "vehicle2" / "vehicle2.tsv.gz")
    settings = LiveSettings(
        budget=2, seeds=1, methods=("meta",), families=("knn",), max_rows=60, workers=1
    )
    r = run_live(root, settings, cache=tmp_path / "c", holdout=["vehicle2"], bundle=training_bundle)
    assert not r.errors, r.errors
    assert seen == [{"iris"}] and r.excluded == {"vehicle": ("vehicle",)}


@pytest.mark.torch
def test_every_peer_runs_on_the_same_objective(folder: Path, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("flaml")
    pytest.importorskip("skopt")
    settings = LiveSettings(
        budget=4,
        seeds=1,
        methods=("gp", "cmaes", "flaml", "skopt", "tpe"),
        families=("svm",),
        max_rows=60,
        workers=1,
    )
    r = run_live(folder, settings, cache=tmp_path / "c", holdout=["iris"])
    assert not r.errors, r.errors
    assert {x.method for x in r.runs} == set(settings.methods)
    space = get_space("svm", "classification")
    for x in r.runs:
        assert len(x.values) == 4
        for p in x.params:  # every proposal inside the space, whatever the peer
            assert set(p) == set(space.names)
            assert 1e-3 <= p["C"] <= 1e3 and p["class_weight"] in ("none", "balanced")


def test_the_committed_cache_matches_every_method_of_the_reports() -> None:
    # make bench-live re-summarises LIVE.md from benchmarks/live/runs without training only if
    # every method of the reports still has the fingerprint its cached runs were made with
    from metahpo_bench._live_protocol import run_fingerprint

    live = ROOT / "benchmarks" / "live"
    for report in ("summary.json", "ablation.json"):
        summary = json.loads((live / report).read_text())
        for m in summary["methods"]:
            with gzip.open(live / "runs" / f"{m}.json.gz", "rt") as fh:
                cached = {r["fingerprint"] for r in json.load(fh)["runs"]}
            expected = run_fingerprint(
                LIVE_METHODS[m], LiveSettings(), summary["experience_version"]
            )
            assert cached == {expected}, (report, m)


def test_a_dev_variant_is_a_method_with_base_options(monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace
    from types import SimpleNamespace

    import metahpo_bench._live_runners as runners
    from metahpo_bench._live_protocol import parse_variant, run_fingerprint, variant_method

    from metahpo.optimizers import REGISTRY, Base

    assert parse_variant("noisy:transfer-gp:latent=false,k=5,kind=x") == (
        "noisy",
        "transfer-gp",
        {"latent": False, "k": 5, "kind": "x"},
    )
    for bad in ("noisy", "noisy:transfer-gp:latent"):
        with pytest.raises(MetaHPOError, match="--variant"):
            parse_variant(bad)
    with pytest.raises(MetaHPOError, match="unknown base 'nope'"):
        variant_method("x", "nope")
    plain, noisy = (
        variant_method("same", "transfer-gp"),
        variant_method("noisy", "transfer-gp", {"latent": False}),
    )
    assert (plain.name, noisy.base_options) == ("meta-same", (("latent", False),))
    settings = LiveSettings()
    # no options: the default method's fingerprint (under its name); options: another one
    default = replace(LIVE_METHODS["meta"], name="meta-same")
    assert run_fingerprint(plain, settings, "v") == run_fingerprint(default, settings, "v")
    assert run_fingerprint(noisy, settings, "v") != run_fingerprint(plain, settings, "v")
    # a new base is a public registry entry, not a patched module
    monkeypatch.setitem(REGISTRY, "dev-base", Base(REGISTRY["random"].build))
    assert variant_method("mine", "dev-base").base == "dev-base"
    # the options reach metahpo as base_options, and only when given
    calls: list[dict[str, object]] = []

    def spy(*args: object, **kwargs: object) -> SimpleNamespace:
        calls.append(kwargs)
        return SimpleNamespace(sampler="sampler")

    monkeypatch.setattr(runners, "meta_sampler_for", spy)
    objective = SimpleNamespace(dataset=None, family="knn", metric=None, seed=0)
    for method in (plain, noisy):
        assert runners._meta_sampler(method, objective, None) == "sampler"  # type: ignore[arg-type]
    assert "base_options" not in calls[0] and calls[1]["base_options"] == {"latent": False}


def test_live_settings_are_checked(folder: Path, tmp_path: Path) -> None:
    with pytest.raises(MetaHPOError, match="unknown live method"):
        run_live(folder, LiveSettings(methods=("nope",)), cache=tmp_path, holdout=["iris"])
    with pytest.raises(MetaHPOError, match="budget"):
        run_live(folder, LiveSettings(budget=0), cache=tmp_path, holdout=["iris"])
    with pytest.raises(MetaHPOError, match="not found"):
        run_live(folder, SMALL, cache=tmp_path, holdout=["nope"])
    with pytest.raises(MetaHPOError, match=r"index\.json"):
        run_live(folder, SMALL, cache=tmp_path)
    assert "grid" not in LIVE_METHODS and {"meta", "gp", "flaml", "skopt"} <= set(LIVE_METHODS)


def test_report_and_readme_headline_come_from_the_summary(
    folder: Path, tmp_path: Path, training_bundle: Path
) -> None:
    settings = LiveSettings(
        budget=3,
        seeds=1,
        methods=("meta", "random", "tpe"),
        families=("knn",),
        max_rows=60,
        workers=1,
    )
    r = run_live(
        folder, settings, cache=tmp_path / "c", holdout=["iris", "1027_ESL"], bundle=training_bundle
    )
    summary = write_live_report(r, tmp_path / "summary.json", tmp_path / "LIVE.md", "CMD")
    md = (tmp_path / "LIVE.md").read_text()
    assert "    CMD" in md and "Win / tie / loss of `meta`" in md and "÷tpe @1" in md
    assert list(summary["groups"]["family"]) == ["knn"] and "### knn (family; 2 datasets" in md
    assert "## Worst datasets for `meta` (regret @3" in md and "| knn | 1027_ESL |" in md
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    assert "## Ablation" not in md
    # the ablation section comes from another run's summary file, when there is one
    write_live_report(
        r, tmp_path / "s2.json", tmp_path / "L2.md", "CMD", ablation=tmp_path / "summary.json"
    )
    section = (tmp_path / "L2.md").read_text().split("## Ablation", 1)[1]
    row = next(line for line in section.splitlines() if line.startswith("| `meta` |"))
    assert f"{summary['methods']['meta']['mean'][0]:.3f}" in row
    assert "CMD" in section and "revision" not in section  # same revision: no warning
    stale = {k: v for k, v in summary.items() if k != "meta_revision"}  # made before the field
    (tmp_path / "old.json").write_text(json.dumps(stale))
    write_live_report(r, tmp_path / "s4.json", tmp_path / "L4.md", ablation=tmp_path / "old.json")
    section = (tmp_path / "L4.md").read_text().split("## Ablation", 1)[1]
    revision = summary["meta_revision"]
    expect = f"an earlier revision of metahpo's proposals, the table above's of revision {revision}"
    assert expect in " ".join(section.split())
    write_live_report(r, tmp_path / "s3.json", tmp_path / "L3.md", ablation=tmp_path / "none")
    assert "## Ablation" not in (tmp_path / "L3.md").read_text()
    readme = tmp_path / "README.md"
    readme.write_text(
        "intro\n<!-- live-headline:start -->\nSTALE-TEXT\n<!-- live-headline:end -->\nend\n"
    )
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "readme_headline.py"),
            "--summary",
            str(tmp_path / "summary.json"),
            "--readme",
            str(readme),
        ],
        check=True,
    )
    text = readme.read_text()
    assert "STALE-TEXT" not in text and text.startswith("intro") and text.endswith("end\n")
    m = summary["methods"]["meta"]
    assert f"{m['mean'][0]:.3f}" in text and "TPE" in text


def test_external_replay_builds_pools_then_holds_out_only_the_new_datasets(
    tmp_path: Path, training_bundle: Path
) -> None:
    new = dataset_folder(tmp_path / "new", "iris")  # also in the training bundle: dropped
    settings = BenchSettings(budget=3, seeds=2, methods=("random", "nearest", "portfolio"))
    result = run_external(new, settings, out=tmp_path / "ext", bundle=training_bundle)
    assert result.mode == "external" and not result.errors
    assert result.folds == (("iris",),)
    assert {r.dataset for r in result.runs} == {"iris"}
    assert len(result.runs) == 3 * 2
    pools = load_bundled(tmp_path / "ext" / "pools")
    assert pools.datasets == ["iris"] and len(pools.tasks[0].y) == 7  # same design: 6 + default
    assert np.isfinite(pools.tasks[0].metafeatures).all()
    again = run_external(new, settings, out=tmp_path / "ext", bundle=training_bundle)
    assert again.n_new == 0 and again.runs == result.runs
    pool_file = tmp_path / "ext" / "pools" / "shards" / "iris.npz"
    built = pool_file.stat().st_mtime_ns
    fresh = run_external(new, settings, out=tmp_path / "ext", bundle=training_bundle, fresh=True)
    assert fresh.n_new == len(result.runs)  # replayed again, on the pools already built
    assert pool_file.stat().st_mtime_ns == built
    md = write_report(result, tmp_path / "ext", n_boot=20)["markdown"].read_text()
    assert "# metahpo external benchmark" in md and "iris" in md


def test_cli_live_benchmark(folder: Path, tmp_path: Path, training_bundle: Path) -> None:
    from metahpo_bench._main import main

    out = tmp_path / "cli"
    argv = ["--live", "--datasets", str(folder), "--holdout", "iris", "--budget", "2"]
    argv += ["--methods", "default", "tpe", "--families", "knn", "--max-rows", "60"]
    argv += ["--seeds", "1", "--workers", "1", "--bundle", str(training_bundle), "--out", str(out)]
    assert main(argv) == 0
    assert "metahpo-bench --live" in (out / "LIVE.md").read_text()
    assert (out / "runs" / "tpe.json.gz").exists() and (out / "summary.json").exists()
    assert main(["--live", "--out", str(out)]) == 2


def test_a_second_writer_on_one_cache_fails_at_once(folder: Path, tmp_path: Path) -> None:
    cache = RunCache(tmp_path / "cache")
    settings = LiveSettings(
        budget=2, seeds=1, methods=("random",), families=("knn",), max_rows=60, workers=1
    )
    busy = pytest.raises(MetaHPOError, match="another live benchmark is writing")
    with cache.writing(), busy:  # another writer holds the lock (flock is per open file)
        run_live(folder, settings, cache=tmp_path / "cache", holdout=["iris"])
    # Reading the cache needs no lock, and once it is free a run trains.
    assert run_live(folder, settings, cache=tmp_path / "cache", holdout=["iris"]).n_new == 1
    with cache.writing():
        report = run_live(folder, settings, cache=tmp_path / "cache", holdout=["iris"], train=False)
    assert len(report.runs) == 1

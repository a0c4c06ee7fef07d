"""Live benchmark (real training) and the external replay (pools built for new datasets)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import optuna
import pytest

from metahpo.bench import (
    LIVE_METHODS,
    BenchSettings,
    LiveSettings,
    run_external,
    run_live,
    write_report,
)
from metahpo.errors import MetaHPOError
from metahpo.knowledge import BuildSettings, Bundle, KnowledgeStore, build, load_bundled
from metahpo.spaces import get_space

from .conftest import dataset_folder


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


SMALL = LiveSettings(
    budget=3, methods=("default", "random", "meta-tpe"), families=("knn",), max_rows=60
)


def test_live_runs_every_method_with_equal_budgets_and_resumes(
    folder: Path, tmp_path: Path, training_bundle: Path
) -> None:
    out = tmp_path / "live"
    exp = load_bundled(training_bundle)
    calls: list[tuple[int, int]] = []
    result = run_live(
        folder, SMALL, out=out, experience=exp, progress=lambda d, t, _: calls.append((d, t))
    )
    assert result.mode == "live" and not result.errors
    assert calls[-1] == (6, 6) and result.n_new == 6
    assert {(r.method, r.dataset) for r in result.runs} == {
        (m, d) for m in SMALL.methods for d in ("iris", "1027_ESL")
    }
    for r in result.runs:
        assert len(r.regret) == 3 and len(r.picks) == 3 and len(r.seconds) == 3
        assert all(a >= b for a, b in zip(r.regret, r.regret[1:], strict=False))
        assert 0.0 <= min(r.regret) <= max(r.regret) <= 1.0
        assert all(s > 0 for s in r.seconds)
    # Normalised by the best any method found: some run reaches 0 on every dataset.
    for d in ("iris", "1027_ESL"):
        assert min(r.regret[-1] for r in result.runs if r.dataset == d) == 0.0
    # The default method's first evaluation is the library default.
    storage = f"sqlite:///{(out / 'live.db').resolve()}"
    first = optuna.load_study(study_name="live:iris:knn:default:s0", storage=storage).trials[0]
    assert first.params == get_space("knn", "classification").default_config()
    again = run_live(folder, SMALL, out=out, experience=exp)
    assert again.n_new == 0
    assert [r.regret for r in again.runs] == [r.regret for r in result.runs]
    assert run_live(folder, SMALL, out=out, experience=exp, fresh=True).n_new == 6
    written = write_report(result, out, command="metahpo bench --live", n_boot=50)
    md = written["markdown"].read_text()
    assert md.startswith("# metahpo live benchmark") and "Wall clock" in md
    assert "over every evaluation that any method made" in md
    assert json.loads(written["json"].read_text())["mode"] == "live"


def test_live_meta_methods_never_learn_from_the_benchmarked_dataset(
    folder: Path, tmp_path: Path, training_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import metahpo.bench._live as live

    seen: list[set[str]] = []
    real = live.tune

    def spy(ds, family, **kw):  # type: ignore[no-untyped-def]
        if kw.get("experience") is not None:
            seen.append({t.dataset for t in kw["experience"].tasks} | {f"@{ds.name}"})
        return real(ds, family, **kw)

    monkeypatch.setattr(live, "tune", spy)
    settings = LiveSettings(budget=2, methods=("meta-tpe",), families=("knn",), max_rows=60)
    run_live(
        folder / "iris", settings, out=tmp_path / "o", experience=load_bundled(training_bundle)
    )
    assert seen == [{"vehicle", "@iris"}]


def test_live_settings_are_checked(folder: Path, tmp_path: Path) -> None:
    with pytest.raises(MetaHPOError, match="unknown live method"):
        run_live(folder, LiveSettings(methods=("nope",)), out=tmp_path)
    with pytest.raises(MetaHPOError, match="budget"):
        run_live(folder, LiveSettings(budget=0), out=tmp_path)
    with pytest.raises(MetaHPOError, match="no datasets"):
        (tmp_path / "empty").mkdir()
        run_live(tmp_path / "empty", SMALL, out=tmp_path / "x")
    assert "grid" not in LIVE_METHODS and {"default", "tpe", "meta-tpe"} <= set(LIVE_METHODS)


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
    from metahpo.cli import main

    out = tmp_path / "cli"
    argv = ["bench", "--live", "--datasets", str(folder / "iris"), "--budget", "2"]
    argv += ["--methods", "default", "tpe", "--families", "knn", "--max-rows", "60"]
    argv += ["--bundle", str(training_bundle), "--out", str(out)]
    assert main(argv) == 0
    assert "metahpo bench --budget 2" in (out / "summary.md").read_text()
    assert main(["bench", "--live", "--out", str(out)]) == 2

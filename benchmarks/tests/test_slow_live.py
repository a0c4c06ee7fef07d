"""Slow: a reduced live benchmark end to end on the shared datasets (``make test-slow``).

The held-out draw of record, every third dataset of it (the ``--quick`` subset), two families,
budget 6, one seed, every default method including the FLAML and scikit-optimize peers, two
worker processes; then the same command again, which must train nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from metahpo_bench import LIVE_DEFAULT_METHODS, holdout_datasets
from metahpo_bench._main import main

from tests.conftest import shared_datasets

pytestmark = pytest.mark.slow


def test_reduced_live_benchmark_end_to_end(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("flaml")
    pytest.importorskip("skopt")
    root = shared_datasets()
    holdout = holdout_datasets(root)
    assert len(holdout) == 24
    argv = ["--live", "--quick", "--datasets", str(root), "--budget", "6"]
    argv += ["--families", "svm", "hgb", "--max-rows", "300", "--workers", "2"]
    argv += ["--out", str(tmp_path / "out")]
    assert main(argv) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["holdout"] == list(holdout[::3])
    assert summary["runs_total"] == summary["runs_expected"] == 8 * 2 * len(LIVE_DEFAULT_METHODS)
    assert not summary["errors"]
    assert set(summary["methods"]) == set(LIVE_DEFAULT_METHODS)
    for e in summary["methods"].values():
        assert 0.0 <= e["mean"][-1] <= e["mean"][0] <= 1.0
        assert e["overhead_s"]["median"] >= 0 and e["fit_s_per_eval"] > 0
    md = (tmp_path / "out" / "LIVE.md").read_text()
    assert "metahpo-bench --live" in md and "## Against Optuna's GPSampler and TPE" in md
    mtime = (tmp_path / "out" / "runs" / "meta.json.gz").stat().st_mtime_ns
    assert main(argv) == 0  # everything cached: nothing trained, nothing rewritten
    assert (tmp_path / "out" / "runs" / "meta.json.gz").stat().st_mtime_ns == mtime

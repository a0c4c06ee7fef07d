"""Slow: `metahpo tune` on real shared datasets with every family and every optimizer.

Run with ``make test-slow`` (needs ../shared/datasets). Datasets: 537_houses (20,640 rows,
regression), yeast (10 classes) and 1028_SWD (regression, ordinal target).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metahpo.cli import main
from metahpo.optimizers import CLASSIC_OPTIMIZERS
from metahpo.spaces import FAMILY_NAMES
from tests.conftest import require_family, shared_datasets

pytestmark = pytest.mark.slow

DATASETS = ("537_houses", "yeast", "1028_SWD")


def _tune(tmp_path: Path, dataset: str, family: str, optimizer: str, budget: int) -> dict:
    out = tmp_path / f"{dataset}-{family}-{optimizer}.json"
    args = [
        "tune",
        str(shared_datasets() / dataset),
        "--model",
        family,
        "--optimizer",
        optimizer,
        "--budget",
        str(budget),
        "--folds",
        "3",
        "--storage",
        f"sqlite:///{tmp_path / 'slow.db'}",
        "--json",
        str(out),
    ]
    assert main(args) == 0
    return json.loads(out.read_text())


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_every_family_on_real_data(tmp_path: Path, dataset: str, family: str) -> None:
    require_family(family)
    summary = _tune(tmp_path, dataset, family, "tpe", 3)
    assert summary["n_trials"] == 3


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("optimizer", sorted(CLASSIC_OPTIMIZERS))
def test_every_optimizer_on_real_data(tmp_path: Path, dataset: str, optimizer: str) -> None:
    if optimizer == "gp":
        pytest.importorskip("torch")
    summary = _tune(tmp_path, dataset, "hgb", optimizer, 12)
    assert summary["n_trials"] >= 12 or optimizer == "grid"


@pytest.mark.parametrize("optimizer", ["meta", *sorted(CLASSIC_OPTIMIZERS)])
@pytest.mark.parametrize("family", ["lgbm", "xgb"])
def test_boosting_families_with_every_optimizer(
    tmp_path: Path, family: str, optimizer: str
) -> None:
    require_family(family)
    if optimizer == "gp":
        pytest.importorskip("torch")
    summary = _tune(tmp_path, "yeast", family, optimizer, 6)
    assert summary["n_trials"] >= 6 or optimizer == "grid"
    assert summary["best_value"] > 0.2  # balanced accuracy on 10 classes: chance is 0.1

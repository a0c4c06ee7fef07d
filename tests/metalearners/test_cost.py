"""The meta-learned cost model: seconds from configuration and data size."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from metahpo.datasets import Dataset
from metahpo.errors import DataError, KnowledgeBaseError
from metahpo.knowledge import DEFAULT_BUNDLE, Bundle
from metahpo.knowledge._bundle import ShardMeta
from metahpo.metalearners import (
    MIN_ROWS_EXPONENT,
    CostModel,
    CostTable,
    DataSize,
    cost_order,
    cost_tables,
)
from metahpo.spaces import get_space


def synthetic_table(seed: int = 0, task: str = "classification") -> CostTable:
    """hgb timings where seconds grow with max_iter (linearly) and with rows (as n ** 0.8)."""
    rng = np.random.default_rng(seed)
    space = get_space("hgb", task)
    at = space.names.index("max_iter")
    X, rows, feats, secs, names = [], [], [], [], []
    for d in range(30):
        n, p = int(rng.integers(60, 2000)), int(rng.integers(3, 40))
        U = rng.random((24, space.encoded_dim))
        X.append(U)
        base = 0.01 * (n / 100) ** 0.8 * (p / 10) ** 0.3
        secs.append(base * np.exp(3 * U[:, at]) * np.exp(rng.normal(0, 0.05, 24)))
        rows += [n] * 24
        feats += [p] * 24
        names += [f"d{d}"] * 24
    return CostTable(
        family="hgb",
        task=task,
        folds=3,
        datasets=tuple(names),
        X=np.vstack(X),
        n_rows=np.asarray(rows, float),
        n_features=np.asarray(feats, float),
        n_classes=np.full(len(rows), 2.0 if task == "classification" else 0.0),
        seconds=np.concatenate(secs),
        index=np.tile(np.arange(24), 30),
    )


@pytest.fixture(scope="module")
def synthetic() -> CostModel:
    return CostModel.fit(synthetic_table())


def _slice_bundle(root: Path, families: tuple[str, ...], n: int = 12) -> Path:
    """A bundle with the first ``n`` shards of the shipped one, holding only ``families``."""
    src = Bundle(DEFAULT_BUNDLE)
    root.mkdir()
    (root / "shards").mkdir()
    for name in ("manifest.json", "designs.json", "metafeatures.json"):
        (root / name).write_bytes((DEFAULT_BUNDLE / name).read_bytes())
    out = Bundle(root)
    for name in src.shard_names()[:n]:
        meta, values, fit_time = src.read_shard(name)
        keep = [meta.families.index(f) for f in families]
        out.write_shard(
            ShardMeta(**(meta.__dict__ | {"families": families})),
            values[keep],
            fit_time[keep],
        )
    return root


def test_synthetic_cost_is_learned_in_config_and_rows(synthetic: CostModel) -> None:
    space = get_space("hgb", "classification")
    configs = [space.default_config() | {"max_iter": m} for m in (20, 50, 100, 200, 400, 800)]
    cost = synthetic.predict_log_seconds(configs, "classification", DataSize(1000, 10, 2))
    assert spearmanr(cost, np.arange(6))[0] > 0.9
    small, large = (
        synthetic.predict_seconds(configs[:1], "classification", DataSize(n, 10, 2))[0]
        for n in (150, 1500)
    )
    assert 2.0 < large / small < 20.0  # about 10 ** 0.8 = 6.3
    local, beyond = synthetic.rows_exponent("classification")
    assert 0.4 < local < 1.3
    assert beyond >= MIN_ROWS_EXPONENT


def test_predictions_never_decrease_with_rows() -> None:
    model = CostModel.from_bundle("hgb")
    space = get_space("hgb", "classification")
    rng = np.random.default_rng(0)
    configs = [space.from_unit(u) for u in rng.random((8, space.dim))]
    rows = np.unique(np.geomspace(20, 500_000, 40).astype(int))
    curves = np.column_stack(
        [model.predict_log_seconds(configs, "classification", DataSize(n, 20, 3)) for n in rows]
    )
    assert np.all(np.diff(curves, axis=1) >= -1e-12)
    # beyond the timed rows the cost grows at least linearly in the rows
    top = model.max_rows("classification") * 3 // 2
    a, b = (
        model.predict_seconds(configs, "classification", DataSize(r, 20, 3))
        for r in (top * 2, top * 20)
    )
    assert np.all(b / a >= 10**MIN_ROWS_EXPONENT * 0.999)


def test_fit_is_deterministic_with_a_seed() -> None:
    table = synthetic_table(seed=3)
    a = CostModel.fit(table, seed=7).predict_log_seconds(
        table.X[:20], "classification", DataSize(500, 8, 2)
    )
    b = CostModel.fit(table, seed=7).predict_log_seconds(
        table.X[:20], "classification", DataSize(500, 8, 2)
    )
    assert np.array_equal(a, b)


def test_fits_on_a_bundle_slice_and_refuses_a_family_without_timings(tmp_path: Path) -> None:
    root = _slice_bundle(tmp_path / "kb", ("linear", "knn"))
    tables = cost_tables("linear", root)
    assert set(tables) <= {"classification", "regression"}
    assert len({d for t in tables.values() for d in t.datasets}) == 12
    model = CostModel.from_bundle("linear", root)
    assert model.family == "linear" and model.tasks == tuple(sorted(tables))
    with pytest.raises(
        KnowledgeBaseError, match=r"family 'hgb' \(families with timings: knn, linear\)"
    ):
        CostModel.from_bundle("hgb", root)
    with pytest.raises(KnowledgeBaseError, match="no experience bundle"):
        CostModel.from_bundle("hgb", tmp_path / "missing")


def test_refuses_a_task_type_without_timings(synthetic: CostModel) -> None:
    with pytest.raises(KnowledgeBaseError, match="has no timed regression evaluations"):
        synthetic.predict_seconds([{}], "regression", DataSize(100, 4))
    with pytest.raises(KnowledgeBaseError, match="several families"):
        CostModel.fit([synthetic_table(), _renamed(synthetic_table(), "rf")])
    with pytest.raises(KnowledgeBaseError, match="no timed evaluations to fit on"):
        CostModel.fit([])


def _renamed(t: CostTable, family: str) -> CostTable:
    return CostTable(family, *list(t.__dict__.values())[1:])


def test_k_fold_cost_is_k_folds_of_the_training_rows(synthetic: CostModel) -> None:
    X = synthetic_table().X[:5]
    size = DataSize(1200, 10, 2)
    five = synthetic.predict_log_seconds(X, "classification", size, folds=5)
    one = synthetic.fold_log_seconds(X, "classification", 960, 10, 2)
    np.testing.assert_allclose(five, one + np.log(5))
    with pytest.raises(DataError, match="folds must be >= 2"):
        synthetic.predict_log_seconds(X, "classification", size, folds=1)
    with pytest.raises(DataError, match="array of width 6"):
        synthetic.predict_log_seconds(np.zeros((2, 3)), "classification", size)


def test_scale_seconds_follows_the_rows(synthetic: CostModel) -> None:
    size = DataSize(5000, 10, 2)
    up = synthetic.scale_seconds(2.0, "classification", 300, 3000, size)
    assert up > 2.0
    back = synthetic.scale_seconds(up, "classification", 3000, 300, size)
    assert back == pytest.approx(2.0)
    with pytest.raises(DataError, match="from_rows and to_rows"):
        synthetic.scale_seconds(1.0, "classification", 0, 10, size)


def test_cost_order_puts_the_cheapest_first(synthetic: CostModel) -> None:
    space = get_space("hgb", "classification")
    configs = [space.default_config() | {"max_iter": m} for m in (800, 20, 200, 50)]
    order = cost_order(configs, synthetic, "classification", DataSize(800, 12, 2))
    assert order == [1, 3, 2, 0]
    assert cost_order([], synthetic, "classification", DataSize(800, 12, 2)) == []


def test_bundled_costs_rank_rf_by_trees() -> None:
    model = CostModel.from_bundle("rf")
    space = get_space("rf", "regression")
    configs = [space.default_config() | {"n_estimators": n} for n in (400, 25, 100)]
    assert cost_order(configs, model, "regression", DataSize(1000, 10)) == [1, 2, 0]
    desc = model.describe()
    assert json.loads(json.dumps(desc)) == desc
    assert desc["tasks"]["regression"]["max_train_rows"] == 1333  # the build's 2,000-row cap


def test_data_size(tiny_clf: Dataset, tiny_reg: Dataset) -> None:
    assert DataSize.of(tiny_clf) == DataSize(120, 18, 4)
    assert DataSize.of(tiny_reg) == DataSize(100, 4, 0)
    with pytest.raises(DataError, match="n_rows must be >= 2"):
        DataSize(1, 3)

from __future__ import annotations

import json

import numpy as np
import pytest

from metahpo.errors import SpaceError
from metahpo.optimizers._classic import _grid
from metahpo.spaces import (
    FAMILIES,
    FAMILY_NAMES,
    Param,
    SearchSpace,
    UnitInterval,
    get_space,
    sobol_design,
)

TASKS = ("classification", "regression")


@pytest.mark.parametrize("family", FAMILY_NAMES)
@pytest.mark.parametrize("task", TASKS)
def test_builtin_spaces_are_well_formed(family: str, task: str) -> None:
    space = get_space(family, task)
    assert 2 <= space.dim <= 8
    default = space.default_config()
    assert space.validate(default) == default
    for p in space.params:
        if p.kind != "categorical" and p.log:
            assert p.low is not None and p.low > 0
    again = SearchSpace.from_json(space.to_json())
    assert again == space
    assert again.signature == space.signature
    assert json.loads(space.to_json())["family"] == family


def test_library_defaults_are_the_estimators_defaults() -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.neighbors import KNeighborsClassifier

    hgb = get_space("hgb", "classification").default_config()
    ref = HistGradientBoostingClassifier()
    for name in ("learning_rate", "max_iter", "max_leaf_nodes", "min_samples_leaf", "max_features"):
        assert hgb[name] == getattr(ref, name)
    knn = get_space("knn", "classification").default_config()
    assert knn["n_neighbors"] == KNeighborsClassifier().n_neighbors
    # sqrt / all features for random forests, as in scikit-learn
    assert get_space("rf", "classification").default_config()["max_features_exp"] == 0.5
    assert get_space("rf", "regression").default_config()["max_features_exp"] == 1.0


def test_signature_changes_with_the_space() -> None:
    space = get_space("svm", "classification")
    changed = SearchSpace(
        space.family,
        space.task,
        (Param("C", "float", low=1e-2, high=1e2, log=True, default=1.0), *space.params[1:]),
    )
    assert changed.signature != space.signature
    assert space.signature == get_space("svm", "classification").signature


def test_encode_decode_roundtrip() -> None:
    space = get_space("mlp", "classification")
    for config in sobol_design(space, 16, seed=3):
        vec = space.encode(config)
        assert vec.shape == (space.encoded_dim,)
        assert np.all((vec >= 0) & (vec <= 1))
        back = space.decode(vec)
        for p in space.params:
            if p.kind == "float":
                assert back[p.name] == pytest.approx(config[p.name], rel=1e-9)
            else:
                assert back[p.name] == config[p.name]


#: One parameter of every kind the unit cube maps.
EVERY_KIND = SearchSpace(
    "toy",
    "classification",
    (
        Param("lin", "float", low=-2.0, high=3.0, default=0.0),
        Param("lg", "float", low=1e-4, high=10.0, log=True, default=1.0),
        Param("n", "int", low=1, high=9, default=4),
        Param("ln", "int", low=2, high=512, log=True, default=16),
        Param("c", "categorical", choices=("a", "b", "c"), default="b"),
        Param("flag", "categorical", choices=(False, True), default=False),
    ),
)


def test_unit_cube_round_trip_for_every_kind() -> None:
    space = EVERY_KIND
    for config in sobol_design(space, 64, seed=5):
        u = space.to_unit(config)
        assert u.shape == (space.dim,) and np.all((u >= 0) & (u <= 1))
        back = space.from_unit(u)
        for p in space.params:
            if p.kind == "float":
                assert back[p.name] == pytest.approx(config[p.name], rel=1e-12)
            else:
                assert back[p.name] == config[p.name] and type(back[p.name]) is type(config[p.name])
    # the ends of every numeric range are the ends of the interval, log or not
    lows = {p.name: p.low for p in space.params if p.kind != "categorical"}
    highs = {p.name: p.high for p in space.params if p.kind != "categorical"}
    assert np.all(space.to_unit({**space.default_config(), **lows})[:4] == 0.0)
    assert np.all(space.to_unit({**space.default_config(), **highs})[:4] == 1.0)
    # log scale: the geometric middle is the middle; an integer rounds to the nearest value
    assert space["lg"].to_unit(10**-1.5) == pytest.approx(0.5)
    assert space["n"].from_unit(0.49) == 5 and space["n"].from_unit(0.43) == 4
    # values outside the range are clipped, coordinates outside [0, 1] too
    assert space["lin"].to_unit(99.0) == 1.0 and space["lin"].from_unit(-3.0) == -2.0


def test_unit_cube_categorical_is_the_middle_of_its_cell() -> None:
    p = EVERY_KIND["c"]
    assert [p.to_unit(c) for c in p.choices] == [1 / 6, 0.5, 5 / 6]
    # every coordinate of a cell decodes to its choice, the cell ends included
    assert [p.from_unit(u) for u in (0.0, 0.33, 1 / 3, 0.66, 2 / 3, 1.0)] == list("aabbcc")
    assert p.to_unit("not a choice") == 1 / 6  # the first cell
    # encoded rows (one-hot) map to the same cube points
    configs = sobol_design(EVERY_KIND, 16, seed=2)
    X = np.vstack([EVERY_KIND.encode(c) for c in configs])
    units = np.vstack([EVERY_KIND.to_unit(c) for c in configs])
    assert np.array_equal(EVERY_KIND.units_of_encoded(X), units)


def test_unit_interval_grid_option_widens_by_half_a_step() -> None:
    plain = UnitInterval(1.0, 9.0)
    grid = UnitInterval(1.0, 9.0, step=1.0)
    assert plain.to_unit(1.0) == 0.0 and plain.to_unit(9.0) == 1.0
    # nine values, nine cells of equal width: value i sits in the middle of cell i
    values = np.arange(1.0, 10.0)
    assert np.allclose(grid.to_unit(values), (np.arange(9) + 0.5) / 9)
    assert np.allclose(grid.from_unit(grid.to_unit(values)), values)
    u = np.array([0.0, 0.05, 0.12, 0.5, 0.99, 1.0])
    assert np.allclose(grid.from_unit(grid.snap(u)), [1, 1, 2, 5, 9, 9])
    assert np.array_equal(plain.snap(u), u)  # no step: nothing to snap to
    log_grid = UnitInterval(2.0, 64.0, log=True, step=2.0)
    assert log_grid.ends == pytest.approx((np.log(1.0), np.log(65.0)))
    assert float(log_grid.from_unit(log_grid.to_unit(np.array([8.0])))[0]) == pytest.approx(8.0)
    # a float and an array give the same coordinate
    lg = UnitInterval(1e-4, 10.0, log=True)
    assert lg.to_unit(0.3) == pytest.approx(float(lg.to_unit(np.array([0.3]))[0]), rel=1e-15)
    assert UnitInterval(3.0, 3.0, step=1.0).to_unit(3.0) == 0.5  # one grid value, one cell
    for empty in ((1.0, 1.0, False, 0.0), (0.0, 1.0, True, 0.0), (1.0, 4.0, True, 2.0)):
        with pytest.raises(SpaceError, match="needs low < high"):
            UnitInterval(*empty)
    with pytest.raises(SpaceError, match=r"'c'.*no interval"):
        EVERY_KIND["c"].interval  # noqa: B018


def test_sobol_design_is_deterministic_and_in_range() -> None:
    space = get_space("hgb", "regression")
    a, b = sobol_design(space, 128, seed=0), sobol_design(space, 128, seed=0)
    assert a == b and len(a) == 128
    assert sobol_design(space, 128, seed=1) != a
    for c in a:
        space.validate(c)


def test_transfer_matches_by_name_clips_and_fills_defaults() -> None:
    space = get_space("svm", "classification")
    config, changes = space.transfer({"C": 1e9, "old_param": 3, "class_weight": "weird"})
    assert config["C"] == 1e3
    assert config["gamma_scale"] == 1.0  # missing -> default
    assert config["class_weight"] == "none"  # unknown choice -> default
    assert any("old_param" in c for c in changes)
    space.validate(config)


def test_user_space_from_json_and_errors(tmp_path) -> None:
    text = json.dumps(
        {
            "family": "knn",
            "task": "classification",
            "params": [
                {
                    "name": "n_neighbors",
                    "kind": "int",
                    "low": 1,
                    "high": 30,
                    "log": True,
                    "default": 5,
                },
                {
                    "name": "weights",
                    "kind": "categorical",
                    "choices": ["uniform", "distance"],
                    "default": "uniform",
                },
                {"name": "p", "kind": "categorical", "choices": [1, 2], "default": 2},
            ],
        }
    )
    path = tmp_path / "space.json"
    path.write_text(text)
    space = SearchSpace.from_json(str(path))
    assert space["n_neighbors"].high == 30
    with pytest.raises(SpaceError, match="not valid JSON"):
        SearchSpace.from_json("{oops")
    with pytest.raises(SpaceError, match="outside"):
        Param("x", "float", low=1, high=2, default=5)
    with pytest.raises(SpaceError, match="log scale"):
        Param("x", "float", low=0, high=2, log=True, default=1)
    with pytest.raises(SpaceError, match="unknown"):
        space.validate({"n_neighbors": 3, "weights": "uniform", "p": 2, "zzz": 1})


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_grid_contains_the_default(family: str) -> None:
    space = get_space(family, "classification")
    grid = _grid(space, 0, 30)._search_space  # type: ignore[attr-defined]
    for p in space.params:
        assert p.default in grid[p.name]


def test_every_family_has_both_tasks() -> None:
    for fam in FAMILIES.values():
        assert fam.space("classification").task == "classification"
        assert fam.space("regression").task == "regression"


def test_same_config_compares_numbers_to_rounding_noise_and_the_rest_exactly() -> None:
    from metahpo.spaces import same_config

    a = {"learning_rate": 0.1, "n_estimators": 100, "boosting": "gbdt"}
    assert same_config(a, {**a, "learning_rate": 0.10000000000000002})
    assert same_config(a, {**a, "n_estimators": np.int64(100)})
    assert not same_config(a, {**a, "learning_rate": 0.1001})
    assert not same_config(a, {**a, "boosting": "dart"})
    assert not same_config(a, {k: v for k, v in a.items() if k != "boosting"})
    assert same_config({"x": 0.0}, {"x": 0.0}) and not same_config({"x": 0.0}, {"x": 1e-12})

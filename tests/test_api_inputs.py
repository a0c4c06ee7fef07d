"""The Python API takes what Python users have, and refuses the rest in one line.

Issue 23, part 3: ``tune`` and ``suggest_for_dataset`` accept a pandas DataFrame (with
``target=``) or a path as well as a :class:`Dataset`; every argument of the wrong type or value
of ``tune``, ``suggest_for_dataset``, ``meta_sampler_for``, ``make_meta_sampler``,
``MetaSearchCV`` and ``estimator_spec`` is a :class:`MetaHPOError` whose one-line message
names the argument and what it got; Optuna prints no INFO line per trial; a
:class:`MetaSampler` in a plain study whose objective names other parameters, or the family's
under other ranges, never evaluates a configuration twice.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest

from metahpo import (
    FAMILY_NAMES,
    DataError,
    MetaHPOError,
    SpaceError,
    estimator_spec,
    get_space,
    load_bundled,
    make_meta_sampler,
    meta_sampler_for,
    suggest_for_dataset,
    tune,
)
from metahpo.datasets import Dataset
from metahpo.sklearn import MetaSearchCV
from metahpo.spaces import Param, SearchSpace, check_space, get_family
from tests.conftest import require_family

DATA = Path(__file__).parent / "data"
NO_MF: dict[str, float] = {}
#: A quick run: nothing of it is kept (in memory), no meta-features computed.
QUICK: dict[str, Any] = dict(
    budget=2, storage=None, metafeatures=NO_MF, folds=2, optimizer="random"
)


def _one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(exc.value)
    assert "\n" not in text and text, text
    return text


# -- finding 1: DataFrames and paths (the DataFrame tests need helper h2's load_dataset) -----


def test_tune_takes_a_dataframe_with_a_target_name(tiny_clf: Dataset) -> None:
    frame = tiny_clf.X.assign(label=tiny_clf.y)
    result = tune(frame, "knn", target="label", **QUICK)
    assert result.n_trials == 2 and result.task == "classification"


def test_suggest_for_dataset_takes_a_dataframe(tiny_reg: Dataset) -> None:
    frame = tiny_reg.X.assign(y=tiny_reg.y)
    best = suggest_for_dataset(frame, "knn", target="y", task="regression", k=2)
    assert 1 <= len(best) <= 2 and "n_neighbors" in best[0].params


def test_tune_takes_the_path_of_a_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = tune(str(DATA / "iris"), "knn", **QUICK)
    assert result.dataset == "iris" and result.n_trials == 2
    assert result.storage == "InMemoryStorage" and not list(tmp_path.iterdir()), "storage=None"


def test_what_is_no_table_is_refused_naming_the_argument(tiny_clf: Dataset) -> None:
    for data in (None, 3, [[1, 2]], {"a": [1]}):
        with pytest.raises(DataError, match=r"tune: 'dataset' must be a Dataset, a pandas"):
            tune(data, "knn", **QUICK)  # type: ignore[arg-type]
    with pytest.raises(DataError, match=r"target='label' contradicts the Dataset's target"):
        tune(tiny_clf, "knn", target="label", **QUICK)
    with pytest.raises(DataError, match=r"suggest_for_dataset: 'dataset' must be"):
        suggest_for_dataset(np.zeros((3, 2)), "knn")  # type: ignore[arg-type]


# -- finding 2: every argument of the wrong type or value ------------------------------------

TUNE_CASES: list[tuple[dict[str, Any], str]] = [
    ({"budget": "3"}, r"tune: 'budget' must be a positive int or None, got str '3'"),
    ({"budget": True}, r"tune: 'budget' must be a positive int or None, got bool True"),
    ({"budget": 2.5}, r"'budget' must be a positive int or None, got float 2.5"),
    ({"budget": 0}, r"tune: 'budget' must be at least 1, got 0"),
    ({"budget": None}, r"tune: budget=None needs a 'timeout'"),
    ({"folds": 3.0}, r"tune: 'folds' must be an int of at least 2, got float 3.0"),
    ({"folds": 1}, r"tune: 'folds' must be at least 2, got 1"),
    ({"seed": "1"}, r"tune: 'seed' must be an int in \[0, 4294967295\], got str '1'"),
    ({"seed": -1}, r"tune: 'seed' must be in \[0, 4294967295\], got -1"),
    ({"timeout": "5"}, r"tune: 'timeout' must be a positive number of seconds or None"),
    ({"timeout": math.nan}, r"tune: 'timeout' must be a positive number of seconds, got nan"),
    ({"trial_time_limit": -1}, r"tune: 'trial_time_limit' must be a positive number"),
    ({"warm_start": "3"}, r"tune: 'warm_start' must be a non-negative int, got str '3'"),
    (
        {"optimizer": "meta", "base_options": {"n_transfer": 1}},
        r"tune: base 'transfer-gp' takes no option 'n_transfer' \(its options: latent\)",
    ),
    (
        {"optimizer": "meta", "base_options": [1]},
        r"tune: 'base_options' must be a dict of option names to values or None, got list",
    ),
    ({"base_options": {"n_transfer": 1}}, r"tune: 'base_options' applies to optimizer='meta'"),
    ({"max_failures": 0}, r"tune: 'max_failures' must be at least 1, got 0"),
    ({"n_jobs": "2"}, r"tune: 'n_jobs' must be an integer"),
    ({"threads": 1.5}, r"tune: 'threads' must be an integer"),
    ({"storage": 3}, r"tune: 'storage' must be an Optuna storage URL .*, got int 3"),
    ({"storage": Path("x.db")}, r"tune: 'storage' must be an Optuna storage URL"),
    ({"optimizer": object()}, r"tune: 'optimizer' must be 'meta', a classic optimizer's name"),
    ({"study_name": ""}, r"tune: 'study_name' must be a non-empty str or None, got str ''"),
    ({"study_name": 3}, r"tune: 'study_name' must be a non-empty str or None, got int 3"),
    ({"metric": 3}, r"tune: 'metric' must be a non-empty str or None, got int 3"),
    ({"callbacks": 3}, r"tune: 'callbacks' must be a list of functions \(study, trial\)"),
    ({"callbacks": [print, 3]}, r"tune: 'callbacks' must be a list of functions.*one is int 3"),
    ({"metafeatures": [1, 2]}, r"tune: 'metafeatures' must be a dict of names to numbers"),
    ({"metafeatures": {"a": "b"}}, r"tune: 'metafeatures' must be a dict of names to numbers"),
    ({"strategy": 3}, r"tune: 'strategy' must be a non-empty str, got int 3"),
    ({"base": None}, r"tune: 'base' must be a non-empty str, got NoneType None"),
    ({"experience": "x"}, r"tune: 'experience' must be an Experience"),
    ({"allow_changed_settings": "yes"}, r"tune: 'allow_changed_settings' must be True or False"),
    ({"space": 3}, r"tune: 'space' must be a SearchSpace, a dict in its JSON form"),
    ({"space": {"params": 3}}, r"tune: 'space': search space JSON: 'params' must be a list"),
    ({"space": {"params": [{"name": "n_neighbors", "kind": "int"}]}}, r"tune: 'space': "),
    ({"space": get_space("svm", "classification")}, r"tune: 'space' is a svm space, not one"),
    ({"space": get_space("knn", "regression")}, r"search space is for regression"),
]


@pytest.mark.parametrize(("kwargs", "message"), TUNE_CASES)
def test_tune_refuses_a_wrong_argument_in_one_line_naming_it(
    tiny_clf: Dataset, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(MetaHPOError, match=message) as exc:
        tune(tiny_clf, "knn", **{**QUICK, **kwargs})
    _one_line(exc)


def test_tune_refuses_a_wrong_family_and_target(tiny_clf: Dataset) -> None:
    with pytest.raises(MetaHPOError, match=r"tune: 'family' must be a non-empty str, got int 3"):
        tune(tiny_clf, 3, **QUICK)  # type: ignore[arg-type]
    with pytest.raises(SpaceError, match=r"unknown model family 'nope'"):
        tune(tiny_clf, "nope", **QUICK)
    frame = tiny_clf.X.assign(label=tiny_clf.y)
    with pytest.raises(DataError, match=r"tune: 'target' must be a column name \(str\), got int"):
        tune(frame, "knn", target=3, **QUICK)  # type: ignore[arg-type]


def test_tune_takes_a_space_as_a_dict_and_refuses_one_the_model_cannot_take(
    tiny_clf: Dataset,
) -> None:
    form = get_space("knn", "classification").to_dict()
    form["params"][0].update(low=2, high=9, default=5)  # n_neighbors
    del form["family"], form["task"]
    result = tune(tiny_clf, "knn", space=form, **QUICK)
    assert all(2 <= t["params"]["n_neighbors"] <= 9 for t in result.trials)
    short = tune(tiny_clf, "knn", space={"n_neighbors": [3, 7]}, **QUICK)  # the short form
    assert all(3 <= t["params"]["n_neighbors"] <= 7 for t in short.trials)
    assert all(set(t["params"]) == {"n_neighbors"} for t in short.trials)
    base = get_space("rf", "classification")
    wide = Param("max_features_exp", "float", low=0.0, high=2.0, default=0.5)
    bad = SearchSpace("rf", "classification", (base.params[0], wide, *base.params[2:]))
    with pytest.raises(SpaceError, match=r"rf parameter 'max_features_exp' must be in \[0, 1\]"):
        tune(tiny_clf, "rf", space=bad, **QUICK)


SUGGEST_CASES: list[tuple[dict[str, Any], str]] = [
    ({"k": "3"}, r"suggest_for_dataset: 'k' must be a positive int, got str '3'"),
    ({"k": 0}, r"suggest_for_dataset: 'k' must be at least 1, got 0"),
    ({"family": 3}, r"suggest_for_dataset: 'family' must be a non-empty str, got int 3"),
    ({"family": "nope"}, r"unknown model family 'nope'"),
    ({"strategy": 3}, r"suggest_for_dataset: 'strategy' must be a non-empty str"),
    ({"strategy": "nope"}, r"unknown strategy 'nope'"),
    ({"experience": "x"}, r"suggest_for_dataset: 'experience' must be an Experience"),
    ({"metafeatures": [1.0]}, r"suggest_for_dataset: 'metafeatures' must be a dict"),
    ({"seed": "1"}, r"suggest_for_dataset: 'seed' must be an int in \[0, 4294967295\]"),
    ({"seed": True}, r"suggest_for_dataset: 'seed' must be an int .*, got bool True"),
]


@pytest.mark.parametrize(("kwargs", "message"), SUGGEST_CASES)
def test_suggest_for_dataset_refuses_a_wrong_argument(
    tiny_clf: Dataset, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(MetaHPOError, match=message) as exc:
        suggest_for_dataset(tiny_clf, **{"family": "knn", **kwargs})
    _one_line(exc)


META_SAMPLER_FOR_CASES: list[tuple[dict[str, Any], str]] = [
    ({"n_warm_start": "3"}, r"meta_sampler_for: 'n_warm_start' must be a non-negative int"),
    (
        {"base": "transfer", "base_options": {"n_transfer": -1}},
        r"meta_sampler_for: base option 'n_transfer' must be 0 or more, got -1",
    ),
    ({"storage": 3}, r"meta_sampler_for: 'storage' must be an Optuna storage URL"),
    ({"space": {"x": 1}}, r"meta_sampler_for: 'space': parameter 'x': give \[low, high\]"),
    ({"seed": -1}, r"meta_sampler_for: 'seed' must be in \[0, 4294967295\], got -1"),
    ({"base": 3}, r"meta_sampler_for: 'base' must be a non-empty str, got int 3"),
    ({"metric": 3}, r"meta_sampler_for: 'metric' must be a non-empty str or None"),
    ({"experience": [1]}, r"meta_sampler_for: 'experience' must be an Experience"),
]


@pytest.mark.parametrize(("kwargs", "message"), META_SAMPLER_FOR_CASES)
def test_meta_sampler_for_refuses_a_wrong_argument(
    tiny_clf: Dataset, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(MetaHPOError, match=message) as exc:
        meta_sampler_for(tiny_clf, "knn", **kwargs)
    _one_line(exc)


MAKE_CASES: list[tuple[dict[str, Any], str]] = [
    ({"metafeatures": "x"}, r"make_meta_sampler: 'metafeatures' must be a vector of numbers"),
    ({"metafeatures": [[1.0]]}, r"make_meta_sampler: 'metafeatures' must be a vector"),
    ({"n_warm_start": "2"}, r"make_meta_sampler: 'n_warm_start' must be a non-negative int"),
    ({"direction": "up"}, r"make_meta_sampler: 'direction' must be 'maximize' or 'minimize'"),
    ({"guard_level": 1.5}, r"make_meta_sampler: 'guard_level' must be a number in \[0, 1\)"),
    ({"space": "x"}, r"make_meta_sampler: 'space' must be a SearchSpace or None, got str"),
    ({"seed": -1}, r"make_meta_sampler: 'seed' must be in \[0, 4294967295\], got -1"),
    ({"experience": 3}, r"make_meta_sampler: 'experience' must be an Experience"),
    (
        {"base": "transfer", "base_options": {"n_transfer": "1"}},
        r"make_meta_sampler: base option 'n_transfer' must be a non-negative int or None",
    ),
    (
        {"base": "tpe", "base_options": {"n_transfer": 1}},
        r"^make_meta_sampler: base 'tpe' takes no option 'n_transfer' \(its options: none\)$",
    ),
    (
        {"base": "transfer", "base_options": {"x": 1}},
        r"^make_meta_sampler: base 'transfer' takes no option 'x' \(its options: n_transfer\)$",
    ),
    ({"family": None}, r"make_meta_sampler: 'family' must be a non-empty str"),
    ({"task": "clf"}, r"unknown task 'clf'"),
]


@pytest.mark.parametrize(("kwargs", "message"), MAKE_CASES)
def test_make_meta_sampler_refuses_a_wrong_argument(kwargs: dict[str, Any], message: str) -> None:
    args = {"metafeatures": np.zeros(3), "family": "knn", "task": "classification", **kwargs}
    with pytest.raises(MetaHPOError, match=message) as exc:
        make_meta_sampler(**args)
    _one_line(exc)


SEARCH_CASES: list[tuple[dict[str, Any], str]] = [
    ({"n_iter": "3"}, r"The 'n_iter' parameter of MetaSearchCV must be an int"),
    ({"strategy": "nope"}, r"The 'strategy' parameter of MetaSearchCV must be a str among"),
    ({"base": 3}, r"The 'base' parameter of MetaSearchCV must be a str among"),
    ({"family": 3}, r"The 'family' parameter of MetaSearchCV must be an instance of 'str'"),
    ({"n_iter": True}, r"The 'n_iter' parameter of MetaSearchCV must be an int, not a bool"),
    ({"random_state": -1}, r"The 'random_state' parameter of MetaSearchCV must be an int"),
    ({"random_state": 2**32}, r"The 'random_state' parameter of MetaSearchCV must be an int"),
    ({"storage": 3}, r"The 'storage' parameter of MetaSearchCV must be an instance of 'str'"),
    ({"experience": "x"}, r"The 'experience' parameter of MetaSearchCV must be an instance"),
]


@pytest.mark.parametrize(("kwargs", "message"), SEARCH_CASES)
def test_metasearchcv_refuses_a_wrong_parameter_at_fit(
    tiny_clf: Dataset, kwargs: dict[str, Any], message: str
) -> None:
    search = MetaSearchCV(**{"family": "knn", **kwargs})
    with pytest.raises(MetaHPOError, match=message) as exc:
        search.fit(tiny_clf.X, tiny_clf.y)
    assert isinstance(exc.value, ValueError) and isinstance(exc.value, TypeError)
    _one_line(exc)


# -- finding 3: estimator_spec and every family's parameters ---------------------------------


def _families() -> Iterator[tuple[str, str]]:
    for family in FAMILY_NAMES:
        for task in ("classification", "regression"):
            yield family, task


@pytest.mark.parametrize(("family", "task"), list(_families()))
def test_every_parameter_of_every_family_refuses_text_none_and_nan(
    family: str, task: str, tiny_clf: Dataset, tiny_reg: Dataset
) -> None:
    require_family(family)
    data = tiny_clf if task == "classification" else tiny_reg
    space = get_space(family, task)
    estimator_spec(family, space.default_config(), data)  # the default is valid
    for param in space.params:
        for bad in ("abc", None, math.nan, math.inf, [1]):
            # metahpo's check, or for text the model takes scikit-learn's (same parameter)
            named = rf"{family}( parameter '{param.name}'|: The '{param.name}' parameter of \w+)"
            with pytest.raises(SpaceError, match=rf"^{named} must be") as exc:
                estimator_spec(family, {param.name: bad}, data)
            _one_line(exc)


@pytest.mark.parametrize(("family", "task"), list(_families()))
def test_the_bounds_take_every_built_in_range(family: str, task: str) -> None:
    """What the model takes is never narrower than the built-in space (nor its default)."""
    fam = get_family(family)
    check_space(fam, fam.space(task))


OUT_OF_RANGE: list[tuple[str, dict[str, Any], str]] = [
    ("knn", {"n_neighbors": "abc"}, r"knn parameter 'n_neighbors' must be an int \(at least 1\)"),
    ("knn", {"n_neighbors": 0}, r"knn parameter 'n_neighbors' must be at least 1, got 0"),
    ("knn", {"n_neighbors": 2.5}, r"knn parameter 'n_neighbors' must be a whole number"),
    ("knn", {"n_neighbors": True}, r"knn parameter 'n_neighbors' must be an int .*got bool"),
    ("knn", {"p": 1.5}, r"knn parameter 'p' must be one of 1, 2, got float 1.5"),
    ("knn", {"p": 0}, r"knn parameter 'p' must be at least 1, got 0"),
    ("knn", {"weights": "abc"}, r"knn: The 'weights' parameter of KNeighborsClassifier"),
    ("knn", {"leaf_size": -1}, r"knn: The 'leaf_size' parameter of KNeighborsClassifier"),
    ("knn", {"n_neighbor": 3}, r"parameter\(s\) n_neighbor are neither in the knn space"),
    ("rf", {"max_features_exp": 1.5}, r"rf parameter 'max_features_exp' must be in \[0, 1\]"),
    ("rf", {"bootstrap": "False"}, r"rf parameter 'bootstrap' must be one of True, False"),
    ("hgb", {"max_features": 0.0}, r"hgb parameter 'max_features' must be in \(0, 1\]"),
    ("hgb", {"learning_rate": -0.1}, r"hgb parameter 'learning_rate' must be above 0"),
    ("svm", {"class_weight": "Balanced"}, r"svm parameter 'class_weight' must be one of"),
    ("svm", {"C": 0}, r"svm parameter 'C' must be above 0, got 0"),
    ("mlp", {"depth": 0}, r"mlp parameter 'depth' must be in \[1, 100\], got 0"),
    ("mlp", {"depth": 10**9}, r"mlp parameter 'depth' must be in \[1, 100\]"),
    ("linear", {"class_weight": None}, r"linear parameter 'class_weight' must be one of"),
]


@pytest.mark.parametrize(("family", "config", "message"), OUT_OF_RANGE)
def test_estimator_spec_names_the_parameter_and_what_it_takes(
    tiny_clf: Dataset, family: str, config: dict[str, Any], message: str
) -> None:
    with pytest.raises(SpaceError, match=message) as exc:
        estimator_spec(family, config, tiny_clf)
    _one_line(exc)


def test_estimator_spec_keeps_valid_values_beyond_the_built_in_range(tiny_clf: Dataset) -> None:
    assert estimator_spec("knn", {"n_neighbors": 40.0}, tiny_clf).params["n_neighbors"] == 40
    assert estimator_spec("knn", {"p": 3}, tiny_clf).params["p"] == 3
    assert estimator_spec("hgb", {"l2_regularization": 0}, tiny_clf).params == {"random_state": 0}
    assert estimator_spec("knn", {"leaf_size": 10}, tiny_clf).params["leaf_size"] == 10


def test_estimator_spec_refuses_what_is_no_configuration_or_dataset(tiny_clf: Dataset) -> None:
    with pytest.raises(SpaceError, match=r"a knn configuration must be a dict"):
        estimator_spec("knn", "n_neighbors=3", tiny_clf)  # type: ignore[arg-type]
    with pytest.raises(SpaceError, match=r"estimator_spec: 'dataset' must be a Dataset"):
        estimator_spec("knn", {}, tiny_clf.X)  # type: ignore[arg-type]
    with pytest.raises(MetaHPOError, match=r"estimator_spec: 'seed' must be an int"):
        estimator_spec("knn", {}, tiny_clf, seed="0")  # type: ignore[arg-type]


# -- finding 4: no Optuna INFO line per trial ------------------------------------------------


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture()
def optuna_info() -> Iterator[_Records]:
    """Optuna at its default INFO verbosity, its records collected."""
    handler = _Records()
    logger = logging.getLogger("optuna")
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.INFO)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        optuna.logging.set_verbosity(before)


def test_tune_logs_no_info_line_per_trial(tiny_clf: Dataset, optuna_info: _Records) -> None:
    tune(tiny_clf, "knn", **QUICK)
    info = [r.getMessage() for r in optuna_info.records if r.levelno <= logging.INFO]
    assert not info, info
    assert optuna.logging.get_verbosity() == optuna.logging.INFO, "verbosity restored"
    optuna.create_study()  # the user's own study still logs
    assert any("A new study created" in r.getMessage() for r in optuna_info.records)


def test_metasearchcv_logs_no_info_line_per_trial(tiny_clf: Dataset, optuna_info: _Records) -> None:
    MetaSearchCV("knn", n_iter=2, cv=2).fit(tiny_clf.X, tiny_clf.y)
    info = [r.getMessage() for r in optuna_info.records if r.levelno <= logging.INFO]
    assert not info, info
    assert optuna.logging.get_verbosity() == optuna.logging.INFO


# -- finding 5: a MetaSampler in a study with other names and ranges -------------------------


def _other_names(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", 0.0, 1.0)
    y = trial.suggest_float("y", 1e-3, 1.0, log=True)
    return -((x - 0.3) ** 2) - (math.log(y) + 3.0) ** 2


def _narrower_ranges(trial: optuna.Trial) -> float:
    """The svm family's names, under ranges that clip its warm starts to their corners."""
    c = trial.suggest_float("C", 5.0, 10.0, log=True)
    gamma = trial.suggest_float("gamma_scale", 5.0, 10.0)
    return -((c - 7.0) ** 2) - (gamma - 6.0) ** 2


@pytest.mark.parametrize("base", ["transfer-gp", "tpe", "cmaes"])
@pytest.mark.parametrize("objective", [_other_names, _narrower_ranges])
def test_meta_sampler_never_repeats_a_configuration_in_a_plain_study(
    tiny_clf: Dataset, base: str, objective: Any
) -> None:
    plan = meta_sampler_for(tiny_clf, "svm", base=base, experience=load_bundled())
    study = optuna.create_study(direction="maximize", sampler=plan.sampler)
    study.optimize(objective, n_trials=8)
    configs = [tuple(sorted(t.params.items())) for t in study.trials]
    assert len(configs) == 8 and len(set(configs)) == 8, configs

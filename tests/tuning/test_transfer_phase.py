"""The transfer phase's length (issue 12, item 3): the ``transfer`` base's option
``n_transfer`` (``base_options`` / ``--base-option n_transfer=N``, the deprecated
``--transfer N``) reaches the base from every interface (issue 24: per-base options)."""

from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState
from sklearn.base import clone
from threadpoolctl import threadpool_info, threadpool_limits

import metahpo
from metahpo.cli import main
from metahpo.cli._tune_checks import base_options
from metahpo.datasets import Dataset
from metahpo.errors import MetaHPOError
from metahpo.optimizers import REGISTRY, BaseContext, check_base_options, make_meta_sampler
from metahpo.optimizers._view import TRANSFER_ATTR, WARM_ATTR
from metahpo.sklearn import MetaSearchCV
from metahpo.tuning import RunSettings, tune
from metahpo.tuning._sampler import suggest_config
from metahpo.tuning._settings import SETTINGS_ATTR
from tests.conftest import DATA

NO_MF: dict[str, float] = {}


def _phases(trials: list[optuna.trial.FrozenTrial]) -> str:
    """``w`` warm start, ``t`` transfer proposal, ``.`` anything else, in trial order."""
    out = ""
    for t in sorted(trials, key=lambda t: t.number):
        attrs = t.system_attrs
        out += "w" if WARM_ATTR in attrs else "t" if TRANSFER_ATTR in attrs else "."
    return out


def test_the_transfer_base_declares_its_option() -> None:
    (option,) = REGISTRY["transfer"].options
    assert (option.name, option.low, option.default) == ("n_transfer", 0, None)
    assert [n for n, b in REGISTRY.items() if b.options] == ["transfer", "transfer-gp"]
    space = metahpo.get_space("knn", "classification")
    given = {"n_transfer": 3}
    context = BaseContext(space, space, 0, "maximize", options=given)
    given["n_transfer"] = 9  # the context keeps its own copy
    with pytest.raises(TypeError):
        context.options["n_transfer"] = 4  # type: ignore[index]
    assert dict(context.options) == {"n_transfer": 3}
    assert dict(BaseContext(space, space, 0, "maximize").options) == {}


@pytest.mark.parametrize(
    ("base", "options", "message"),
    [
        (
            "tpe",
            {"n_transfer": 3},
            "make_meta_sampler: base 'tpe' takes no option 'n_transfer' (its options: none)",
        ),
        (
            "transfer",
            {"n": 3},
            "make_meta_sampler: base 'transfer' takes no option 'n' (its options: n_transfer)",
        ),
        (
            "transfer",
            {"n_transfer": -1},
            "make_meta_sampler: base option 'n_transfer' must be 0 or more, got -1",
        ),
        (
            "transfer",
            {"n_transfer": True},
            "make_meta_sampler: base option 'n_transfer' must be a non-negative int or None, "
            "got bool True",
        ),
        (
            "transfer",
            [("n_transfer", 3)],
            "make_meta_sampler: 'base_options' must be a dict of option names to values or "
            "None, got list [('n_transfer', 3)]",
        ),
    ],
)
def test_an_option_the_base_does_not_take_is_one_line(
    base: str, options: object, message: str
) -> None:
    with pytest.raises(MetaHPOError) as exc:
        make_meta_sampler(np.zeros(3), "knn", "classification", base=base, base_options=options)  # type: ignore[arg-type]
    assert str(exc.value) == message


def test_transfer_gp_takes_a_flag_option(tiny_clf: Dataset) -> None:
    (option,) = REGISTRY["transfer-gp"].options
    assert (option.name, option.kind, option.default) == ("latent", "bool", True)
    mf = metahpo.compute_metafeatures(tiny_clf)
    vector = np.asarray([mf.get(k, 0.0) for k in metahpo.load_bundled().metafeature_names])
    for given, latent in ((None, True), ({"latent": False}, False), ({"latent": True}, True)):
        plan = make_meta_sampler(vector, "knn", tiny_clf.task, base_options=given)
        assert plan.sampler.base_sampler.model.latent is latent
    with pytest.raises(MetaHPOError) as exc:
        make_meta_sampler(vector, "knn", tiny_clf.task, base_options={"latent": 0})
    assert str(exc.value) == (
        "make_meta_sampler: base option 'latent' must be True or False, got int 0"
    )


def test_naming_an_option_s_default_is_the_same_run() -> None:
    assert check_base_options("transfer-gp", {"latent": True}) == {}
    assert check_base_options("transfer-gp", {"latent": False}) == {"latent": False}
    assert check_base_options("transfer", {"n_transfer": 20}) == {"n_transfer": 20}
    space = metahpo.get_space("knn", "classification")
    given = {"n_transfer": 3}
    context = BaseContext(space, space, 0, "maximize", options=MappingProxyType(given))
    given["n_transfer"] = 9  # a read-only view passed in is copied too
    assert dict(context.options) == {"n_transfer": 3}


def test_cli_flag_option_values() -> None:
    assert base_options("transfer-gp", ["latent=false"], None) == {"latent": False}
    assert base_options("transfer-gp", ["latent=True"], None) == {"latent": True}
    with pytest.raises(MetaHPOError) as exc:
        base_options("transfer-gp", ["latent=maybe"], None)
    assert str(exc.value) == "--base-option latent: VALUE must be true or false, got 'maybe'"
    with pytest.raises(MetaHPOError) as exc:
        base_options("transfer-gp", ["n_transfer=3"], None)
    assert "takes no option 'n_transfer' (its options: latent)" in str(exc.value)


def test_n_transfer_sets_the_transfer_phase_of_make_meta_sampler(tiny_clf: Dataset) -> None:
    space = metahpo.get_space("knn", tiny_clf.task)
    mf = metahpo.compute_metafeatures(tiny_clf)
    vector = np.asarray([mf.get(k, 0.0) for k in metahpo.load_bundled().metafeature_names])
    found = {}
    for n in (None, 0, 2):
        options = None if n is None else {"n_transfer": n}
        plan = make_meta_sampler(
            vector, "knn", tiny_clf.task, n_warm_start=1, base="transfer", base_options=options
        )
        study = optuna.create_study(direction="maximize", sampler=plan.sampler)
        study.optimize(lambda t: float(suggest_config(t, space)["n_neighbors"]) % 7, n_trials=5)
        found[n] = _phases(study.trials)[len(plan.sampler.warm_start) :]
    assert found == {None: "tttt", 0: "....", 2: "tt.."}, found


def test_tune_n_transfer_sets_the_phase_length_and_is_a_defining_setting(
    tiny_clf: Dataset, sqlite_url: str
) -> None:
    common = dict(storage=sqlite_url, study_name="s", metafeatures=NO_MF, folds=2, base="transfer")
    three = {"n_transfer": 3}
    result = tune(
        tiny_clf, "knn", optimizer="meta", warm_start=2, base_options=three, budget=12, **common
    )
    study = optuna.load_study(study_name="s", storage=sqlite_url)
    phases = _phases(study.get_trials(states=(TrialState.COMPLETE,)))
    k = result.meta["warm_start"] if result.meta else 0
    assert phases == "w" * k + "ttt" + "." * (12 - k - 3), phases
    assert result.settings is not None and result.settings.base_options == (("n_transfer", 3),)
    assert "then transfer with n_transfer=3" in result.settings.describe()
    assert json.loads(study.user_attrs[SETTINGS_ATTR])["base_options"] == {"n_transfer": 3}
    stored = RunSettings.from_json(study.user_attrs[SETTINGS_ATTR])
    assert stored == result.settings
    with pytest.raises(MetaHPOError, match=r"base_options n_transfer=3 -> n_transfer=4"):
        tune(tiny_clf, "knn", warm_start=2, base_options={"n_transfer": 4}, budget=13, **common)
    with pytest.raises(MetaHPOError, match=r"base_options n_transfer=3 -> none"):
        tune(tiny_clf, "knn", warm_start=2, budget=13, **common)


def _stored_by_an_earlier_version(study: optuna.Study, transfer: object) -> None:
    record = json.loads(study.user_attrs[SETTINGS_ATTR])
    record.pop("base_options")
    if transfer != "absent":
        record["transfer"] = transfer
    study.set_user_attr(SETTINGS_ATTR, json.dumps(record))


@pytest.mark.parametrize("transfer", ["absent", None])
def test_a_study_stored_without_options_resumes_with_the_default(
    tiny_clf: Dataset, sqlite_url: str, transfer: object
) -> None:
    common = dict(storage=sqlite_url, study_name="old", metafeatures=NO_MF, folds=2, base="tpe")
    tune(tiny_clf, "knn", warm_start=1, budget=2, **common)
    study = optuna.load_study(study_name="old", storage=sqlite_url)
    _stored_by_an_earlier_version(study, transfer)
    more = tune(tiny_clf, "knn", warm_start=1, budget=3, **common)
    assert more.n_trials == 3 and not more.changed_settings


def test_settings_stored_with_transfer_read_as_its_option(
    tiny_clf: Dataset, sqlite_url: str
) -> None:
    """An earlier version stored ``"transfer": 3``: the same run resumes without a change."""
    common = dict(storage=sqlite_url, study_name="t", metafeatures=NO_MF, folds=2, base="transfer")
    three = {"n_transfer": 3}
    tune(tiny_clf, "knn", warm_start=1, budget=2, base_options=three, **common)
    study = optuna.load_study(study_name="t", storage=sqlite_url)
    _stored_by_an_earlier_version(study, 3)
    old = RunSettings.from_json(study.user_attrs[SETTINGS_ATTR])
    assert old.base_options == (("n_transfer", 3),)
    more = tune(tiny_clf, "knn", warm_start=1, budget=3, base_options=three, **common)
    assert more.n_trials == 3 and not more.changed_settings
    old_style = {
        "metric": "r2",
        "direction": "maximize",
        "folds": 2,
        "seed": 0,
        "space_signature": "s",
        "n_rows": 9,
        "optimizer": "meta",
        "base": "transfer",
        "strategy": "portfolio",
        "transfer": 5,
        "schema": 1,
    }
    assert RunSettings.from_json(json.dumps(old_style)).base_options == (("n_transfer", 5),)


def test_base_options_are_refused_where_they_would_do_nothing(
    tiny_clf: Dataset, sqlite_url: str
) -> None:
    two = {"n_transfer": 2}
    with pytest.raises(
        MetaHPOError, match=r"^tune: base 'tpe' takes no option 'n_transfer' \(its options: none\)$"
    ):
        tune(tiny_clf, "knn", budget=2, storage=sqlite_url, base="tpe", base_options=two)
    with pytest.raises(
        MetaHPOError, match=r"^tune: 'base_options' applies to optimizer='meta' only"
    ):
        tune(tiny_clf, "knn", budget=2, storage=sqlite_url, optimizer="random", base_options=two)
    with pytest.raises(MetaHPOError, match="base option 'n_transfer' must be 0 or more"):
        tune(
            tiny_clf,
            "knn",
            budget=2,
            storage=sqlite_url,
            base="transfer",
            base_options={"n_transfer": -1},
        )


def test_cli_base_option(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    data = str(DATA / "1027_ESL")
    cli = ["tune", data, "--model", "knn", "--storage", url, "--folds", "2", "--warm-start", "1"]
    cli += ["--budget", "5", "--base", "transfer"]
    assert main([*cli, "--study", "c", "--base-option", "n_transfer=3"]) == 0
    study = optuna.load_study(study_name="c", storage=url)
    assert _phases(study.trials) == "wttt.", _phases(study.trials)
    assert "note:" not in capsys.readouterr().err
    assert main([*cli, "--study", "d", "--base-option", "n_transfer"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "metahpo: error: --base-option 'n_transfer': give NAME=VALUE "
        "(e.g. --base-option n_transfer=10)"
    ], err
    assert "--base-option NAME=VALUE" in _help(capsys)


def test_cli_transfer_is_a_deprecated_alias(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    data = str(DATA / "1027_ESL")
    cli = ["tune", data, "--model", "knn", "--storage", url, "--study", "c", "--folds", "2"]
    assert (
        main([*cli, "--warm-start", "1", "--transfer", "2", "--budget", "5", "--base", "transfer"])
        == 0
    )
    study = optuna.load_study(study_name="c", storage=url)
    assert _phases(study.trials) == "wtt..", _phases(study.trials)
    notes = [x for x in capsys.readouterr().err.splitlines() if "--transfer" in x]
    assert notes == [
        "note: --transfer N is deprecated; it is read as --base-option n_transfer=N"
    ], notes
    assert main([*cli, "--base", "tpe", "--transfer", "2", "--study", "d"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "metahpo: error: --transfer: base 'tpe' takes no option 'n_transfer' (its options: none)"
    ], err
    assert "--transfer" not in _help(capsys)  # hidden


def _help(capsys) -> str:
    assert main(["tune", "--help"]) == 0
    return " ".join(capsys.readouterr().out.split())


def test_meta_sampler_for_takes_n_transfer(tiny_clf: Dataset) -> None:
    two = {"n_transfer": 2}
    plan = metahpo.meta_sampler_for(
        tiny_clf, "knn", n_warm_start=1, base_options=two, base="transfer"
    )
    space = metahpo.get_space("knn", tiny_clf.task)
    study = optuna.create_study(direction="maximize", sampler=plan.sampler)
    study.optimize(lambda t: float(suggest_config(t, space)["n_neighbors"]) % 7, n_trials=6)
    k = len(plan.sampler.warm_start)
    assert _phases(study.trials) == "w" * k + "tt" + "." * (4 - k)


def test_meta_search_cv_takes_n_transfer_and_trains_with_one_thread(tiny_clf: Dataset) -> None:
    X, y = tiny_clf.X.copy(), tiny_clf.y.copy()
    seen: list[set[int]] = []

    def scorer(estimator, X, y) -> float:  # type: ignore[no-untyped-def]
        seen.append({int(i["num_threads"]) for i in threadpool_info()})
        return float(estimator.score(X, y))

    two = {"n_transfer": 2}
    search = MetaSearchCV(
        "knn", n_iter=6, cv=2, warm_start=1, base_options=two, scoring=scorer, base="transfer"
    )
    assert search.get_params()["base_options"] is two  # stored as given
    assert clone(search).get_params()["base_options"] == two
    with threadpool_limits(limits=2):  # what an unlimited process has on two cores
        search.fit(X, y)
    k = search.meta_["warm_start"]
    assert _phases(search.study_.trials) == "w" * k + "tt" + "." * (4 - k)
    assert seen and all(s == {1} for s in seen), seen
    with pytest.raises(ValueError, match="MetaSearchCV: base option 'n_transfer' must be 0 or"):
        MetaSearchCV("knn", base="transfer", base_options={"n_transfer": -1}).fit(X, y)
    with pytest.raises(ValueError, match="MetaSearchCV: base 'transfer-gp' takes no option"):
        MetaSearchCV("knn", base_options={"n_transfer": 2}).fit(X, y)
    with pytest.raises(ValueError, match="'base_options' parameter of MetaSearchCV must be"):
        MetaSearchCV("knn", base_options=[("n_transfer", 2)]).fit(X, y)  # type: ignore[arg-type]


def test_cli_option_errors_stay_one_line(tmp_path: Path, capsys) -> None:
    data = str(DATA / "1027_ESL")
    cli = ["tune", data, "--model", "knn", "--storage", f"sqlite:///{tmp_path / 'e.db'}"]
    assert main([*cli, "--base", "transfer", "--transfer", "3", "--budget", "0"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "metahpo: error: --budget must be at least 1, got 0"
    ]  # the --transfer note comes only once every check has passed
    assert main([*cli, "--base", "foo", "--base-option", "latent=true"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        "metahpo: error: --base: unknown base sampler 'foo'; choose one of tpe, "
    ), err

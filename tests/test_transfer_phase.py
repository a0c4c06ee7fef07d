"""The transfer phase's length (issue 12, item 3): ``transfer`` / ``--transfer`` /
``n_transfer`` reach the ``transfer`` base from every interface."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState
from sklearn.base import clone
from threadpoolctl import threadpool_info, threadpool_limits

import metahpo
from metahpo.cli import main
from metahpo.datasets import Dataset
from metahpo.errors import MetaHPOError
from metahpo.optimizers._view import TRANSFER_ATTR, WARM_ATTR
from metahpo.sklearn import MetaSearchCV
from metahpo.tuning import RunSettings, tune
from metahpo.tuning._sampler import suggest_config
from metahpo.tuning._settings import SETTINGS_ATTR

NO_MF: dict[str, float] = {}


def _phases(trials: list[optuna.trial.FrozenTrial]) -> str:
    """``w`` warm start, ``t`` transfer proposal, ``.`` anything else, in trial order."""
    out = ""
    for t in sorted(trials, key=lambda t: t.number):
        attrs = t.system_attrs
        out += "w" if WARM_ATTR in attrs else "t" if TRANSFER_ATTR in attrs else "."
    return out


def test_tune_transfer_sets_the_phase_length_and_is_a_defining_setting(
    tiny_clf: Dataset, sqlite_url: str
) -> None:
    common = dict(storage=sqlite_url, study_name="s", metafeatures=NO_MF, folds=2, base="transfer")
    result = tune(tiny_clf, "knn", optimizer="meta", warm_start=2, transfer=3, budget=12, **common)
    study = optuna.load_study(study_name="s", storage=sqlite_url)
    phases = _phases(study.get_trials(states=(TrialState.COMPLETE,)))
    k = result.meta["warm_start"] if result.meta else 0
    assert phases == "w" * k + "ttt" + "." * (12 - k - 3), phases
    assert result.settings is not None and result.settings.transfer == 3
    stored = RunSettings.from_json(study.user_attrs[SETTINGS_ATTR])
    assert stored.transfer == 3
    with pytest.raises(MetaHPOError, match=r"transfer 3 -> 4"):
        tune(tiny_clf, "knn", warm_start=2, transfer=4, budget=13, **common)
    with pytest.raises(MetaHPOError, match=r"transfer 3 -> None"):
        tune(tiny_clf, "knn", warm_start=2, budget=13, **common)


def test_a_study_stored_without_transfer_resumes_with_the_default(
    tiny_clf: Dataset, sqlite_url: str
) -> None:
    common = dict(storage=sqlite_url, study_name="old", metafeatures=NO_MF, folds=2, base="tpe")
    tune(tiny_clf, "knn", warm_start=1, budget=2, **common)
    study = optuna.load_study(study_name="old", storage=sqlite_url)
    record = json.loads(study.user_attrs[SETTINGS_ATTR])
    assert record.pop("transfer") is None
    study.set_user_attr(SETTINGS_ATTR, json.dumps(record))  # as an earlier version stored it
    more = tune(tiny_clf, "knn", warm_start=1, budget=3, **common)
    assert more.n_trials == 3 and not more.changed_settings


def test_transfer_is_refused_where_it_would_do_nothing(tiny_clf: Dataset, sqlite_url: str) -> None:
    for kwargs in ({"base": "tpe"}, {"optimizer": "random"}):
        with pytest.raises(MetaHPOError, match="--transfer applies to --base transfer"):
            tune(tiny_clf, "knn", budget=2, storage=sqlite_url, transfer=2, **kwargs)
    with pytest.raises(MetaHPOError, match="'transfer' must be 0 or more"):
        tune(tiny_clf, "knn", budget=2, storage=sqlite_url, transfer=-1)


def test_cli_transfer(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    data = str(Path(__file__).parent / "data" / "1027_ESL")
    cli = ["tune", data, "--model", "knn", "--storage", url, "--study", "c", "--folds", "2"]
    assert (
        main([*cli, "--warm-start", "1", "--transfer", "2", "--budget", "5", "--base", "transfer"])
        == 0
    )
    study = optuna.load_study(study_name="c", storage=url)
    assert _phases(study.trials) == "wtt..", _phases(study.trials)
    capsys.readouterr()
    assert main([*cli, "--base", "tpe", "--transfer", "2", "--study", "d"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--transfer applies to --base transfer" in err[0], err
    assert "--transfer N" in _help(capsys)


def _help(capsys) -> str:
    assert main(["tune", "--help"]) == 0
    return " ".join(capsys.readouterr().out.split())


def test_meta_sampler_for_takes_n_transfer(tiny_clf: Dataset) -> None:
    plan = metahpo.meta_sampler_for(tiny_clf, "knn", n_warm_start=1, n_transfer=2, base="transfer")
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

    search = MetaSearchCV(
        "knn", n_iter=6, cv=2, warm_start=1, n_transfer=2, scoring=scorer, base="transfer"
    )
    assert search.get_params()["n_transfer"] == 2
    assert clone(search).get_params()["n_transfer"] == 2
    with threadpool_limits(limits=2):  # what an unlimited process has on two cores
        search.fit(X, y)
    k = search.meta_["warm_start"]
    assert _phases(search.study_.trials) == "w" * k + "tt" + "." * (4 - k)
    assert seen and all(s == {1} for s in seen), seen
    with pytest.raises(ValueError, match="n_transfer"):
        MetaSearchCV("knn", n_transfer=-1).fit(X, y)

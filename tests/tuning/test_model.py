"""The fitted model at the end: tune --save-model, metahpo predict, load_model's allow-list."""

from __future__ import annotations

import importlib
import json
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metahpo.cli import main
from metahpo.datasets import Dataset, conform, from_frame, load_dataset
from metahpo.errors import MetaHPOError
from metahpo.spaces import FAMILY_NAMES, build_estimator, get_family
from metahpo.tuning import TRUSTED_TYPES, load_model, save_model, tune
from metahpo.tuning import _model as model_module

NO_MF = {"n_rows": 1.0}


def _dirty_csv(ds: Dataset, path: Path, seed: int = 0) -> Path:
    """``ds`` as a file with what real files have: a text column with gaps, missing numbers."""
    rng = np.random.default_rng(seed)
    frame = ds.X.copy()
    frame["colour"] = rng.choice(["red", "green", "blue", None], size=len(frame))
    frame.iloc[::7, 0] = np.nan
    frame["target"] = ds.y
    frame.to_csv(path, index=False)
    if ds.task == "regression":  # whole-number targets: the folder's metadata says regression
        (path.parent / "metadata.yaml").write_text("task: regression\n")
    return path


@pytest.fixture()
def clf_csv(tiny_clf: Dataset, tmp_path: Path) -> Path:
    return _dirty_csv(tiny_clf, tmp_path / "clf.csv")


@pytest.fixture()
def reg_csv(tiny_reg: Dataset, tmp_path: Path) -> Path:
    return _dirty_csv(tiny_reg, tmp_path / "reg.csv")


def _tune_cli(data: Path, model: str, storage: str, out: Path, *extra: str) -> int:
    return main(
        [
            "tune",
            str(data),
            "--model",
            model,
            "--budget",
            "2",
            "--folds",
            "2",
            "--optimizer",
            "random",
            "--storage",
            storage,
            "--save-model",
            str(out),
            *extra,
        ]
    )


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("metahpo: error:") and "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize(
    ("fixture", "family"), [("clf_csv", "knn"), ("clf_csv", "linear"), ("reg_csv", "knn")]
)
def test_tune_save_model_then_predict_equals_best_estimator(
    fixture: str,
    family: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data: Path = request.getfixturevalue(fixture)
    saved = tmp_path / "model.skops"
    assert _tune_cli(data, family, sqlite_url, saved) == 0
    assert f"saved to {saved}" in capsys.readouterr().out
    preds = tmp_path / "preds.csv"
    assert main(["predict", str(saved), str(data), "--out", str(preds)]) == 0
    got = pd.read_csv(preds, dtype={"target": str} if fixture == "clf_csv" else None)

    # The same study, resumed in Python (the budget is met: nothing runs), refits the same model.
    dataset = load_dataset(data)
    result = tune(
        dataset,
        family,
        budget=2,
        folds=2,
        optimizer="random",
        storage=sqlite_url,
        metafeatures=NO_MF,
    )
    assert result.n_new == 0
    expected = result.best_estimator().predict(dataset.X)
    assert list(got.columns) == ["target"] and len(got) == dataset.n_rows
    if dataset.task == "classification":
        assert list(got["target"]) == list(expected)
    else:
        np.testing.assert_allclose(got["target"].to_numpy(), expected, rtol=1e-12)

    info = load_model(saved).info
    assert info.family == family and info.task == dataset.task and info.n_rows == dataset.n_rows
    assert info.best_params == result.best_params and info.metric == result.metric
    assert info.features == tuple(dataset.X.columns) and "colour" in info.features
    assert info.classes == tuple(dataset.classes)


def test_predict_proba_to_stdout(
    clf_csv: Path, tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "m.skops"
    assert _tune_cli(clf_csv, "knn", sqlite_url, saved) == 0
    capsys.readouterr()
    assert main(["predict", str(saved), str(clf_csv), "--proba"]) == 0
    from io import StringIO

    table = pd.read_csv(StringIO(capsys.readouterr().out), dtype={"target": str})
    classes = load_model(saved).info.classes
    assert list(table.columns) == ["target", *(f"proba_{c}" for c in classes)]
    proba = table.iloc[:, 1:].to_numpy()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(table["target"]) <= set(classes)


def test_predict_errors_are_one_line(
    reg_csv: Path, tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "m.skops"
    assert _tune_cli(reg_csv, "linear", sqlite_url, saved) == 0
    capsys.readouterr()

    lacking = tmp_path / "lacking.csv"
    pd.read_csv(reg_csv).drop(columns=["colour", "target"]).to_csv(lacking, index=False)
    assert main(["predict", str(saved), str(lacking)]) == 2
    err = _one_error_line(capsys)
    assert "lacks 1 feature column" in err and "colour" in err

    assert main(["predict", str(saved), str(reg_csv), "--proba"]) == 2
    assert "regression model" in _one_error_line(capsys)

    text = tmp_path / "not_a_model.skops"
    text.write_text("hello")
    assert main(["predict", str(text), str(reg_csv)]) == 2
    assert "not a skops model" in _one_error_line(capsys)

    assert main(["predict", str(tmp_path / "missing.skops"), str(reg_csv)]) == 2
    assert "cannot read the model" in _one_error_line(capsys)

    nowhere = tmp_path / "no" / "m.skops"
    assert main(["tune", str(reg_csv), "--model", "knn", "--save-model", str(nowhere)]) == 2
    assert "--save-model" in _one_error_line(capsys) and not nowhere.parent.exists()


def _tamper(source: Path, target: Path, old: str, new: str) -> None:
    """Copy a skops file, replacing text in its schema (what an attacker controls)."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            body = zin.read(item.filename)
            if item.filename == "schema.json":
                text = body.decode()
                assert old in text
                body = text.replace(old, new, 1).encode()
            zout.writestr(item, body)


def test_a_tampered_model_is_refused(
    tiny_reg: Dataset, tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = tune(tiny_reg, "rf", budget=1, folds=2, storage=sqlite_url, metafeatures=NO_MF)
    saved = tmp_path / "m.skops"
    save_model(result, saved)
    schema = json.loads(zipfile.ZipFile(saved).read("schema.json"))
    assert schema and load_model(saved).info.family == "rf"

    evil = tmp_path / "evil.skops"
    _tamper(saved, evil, '"__module__": "sklearn.tree._tree"', '"__module__": "os"')
    with pytest.raises(MetaHPOError, match="untrusted type"):
        load_model(evil)
    csv = _dirty_csv(tiny_reg, tmp_path / "data.csv")
    assert main(["predict", str(evil), str(csv)]) == 2
    err = _one_error_line(capsys)
    assert "refused" in err and "os.Tree" in err


class Unlisted:
    """A type that skops can write but metahpo's allow-list does not name."""

    def predict(self, X: object) -> None:
        raise AssertionError("never called: the file must be refused before loading")


def test_a_model_with_an_unlisted_type_is_refused(tmp_path: Path) -> None:
    import skops.io as sio

    payload = {
        "format": model_module.MODEL_FORMAT,
        "format_version": model_module.MODEL_FORMAT_VERSION,
        "info": "{}",
        "estimator": Unlisted(),
    }
    path = tmp_path / "unlisted.skops"
    sio.dump(payload, path)
    with pytest.raises(MetaHPOError, match=r"refused: .*test_model\.Unlisted"):
        load_model(path)


def test_save_refuses_a_pipeline_outside_the_allow_list(
    tiny_clf: Dataset, tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = tune(tiny_clf, "rf", budget=1, folds=2, storage=sqlite_url, metafeatures=NO_MF)
    monkeypatch.setattr(model_module, "TRUSTED_TYPES", ("numpy.dtype",))
    path = tmp_path / "m.skops"
    with pytest.raises(MetaHPOError, match=r"allow-list \(sklearn\.tree\._tree\.Tree\)"):
        save_model(result, path)
    assert not path.exists()


def test_the_allow_list_names_real_types_and_covers_every_family(
    tiny_clf: Dataset, tiny_reg: Dataset
) -> None:
    import skops.io as sio

    for name in TRUSTED_TYPES:
        module, _, cls = name.rpartition(".")
        assert isinstance(getattr(importlib.import_module(module), cls), type), name
    small = {"rf": {"n_estimators": 16}, "mlp": {"max_iter": 20}, "hgb": {"max_iter": 10}}
    for ds in (tiny_clf, tiny_reg):
        for family in FAMILY_NAMES:
            for p in (1, 2) if family == "knn" else (None,):
                config = {**small.get(family, {}), **({"p": p} if p else {})}
                est = build_estimator(get_family(family), config, ds, needs_proba=True)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # mlp stops before converging
                    est.fit(ds.X, ds.y)
                untrusted = set(sio.get_untrusted_types(data=sio.dumps(est)))
                assert untrusted <= set(TRUSTED_TYPES), (family, ds.task, untrusted)


def test_best_estimator_checks_the_dataset(
    tiny_clf: Dataset, tiny_reg: Dataset, sqlite_url: str
) -> None:
    result = tune(tiny_clf, "knn", budget=1, folds=2, storage=sqlite_url, metafeatures=NO_MF)
    est = result.best_estimator()
    assert (est.predict(tiny_clf.X) == tiny_clf.y).mean() > 0.5
    with pytest.raises(MetaHPOError, match="tuned a classification model"):
        result.best_estimator(tiny_reg)


def test_conform_reads_new_rows_as_the_training_file_was_read() -> None:
    train = pd.DataFrame(
        {
            "flag": ["true", "false", None, "true"],
            "code": ["1", "2", "a", "1"],
            "x": [1.0, 2.0, 3.0, 4.0],
        }
    )
    ds = from_frame(train, [0, 1, 0, 1])
    assert ds.numeric_columns == ["flag", "x"] and ds.categorical_columns == ["code"]
    new = pd.DataFrame({"x": [5.0, None], "code": [2.0, np.nan], "flag": ["False", "TRUE"]})
    rows = conform(ds, new)
    assert list(rows["flag"]) == [0.0, 1.0]
    assert list(rows["code"]) == ["2", "<missing>"]
    assert list(rows.columns) == ["flag", "code", "x"]

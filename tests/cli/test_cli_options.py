"""CLI options that say what they do (issue 23): ``--space`` in a documented short form,
``--allow-changed-settings`` as its help says, contradictory options refused, progress lines
when stderr is not a terminal, and a parser that imports nothing heavy."""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import optuna
import pytest

from metahpo.cli import main
from metahpo.errors import MetaHPOError, SpaceError
from metahpo.spaces import SearchSpace, get_space
from tests.conftest import DATA, ROOT, one_line_error

IRIS = str(DATA / "iris")
HEAVY = ("optuna", "numpy", "pandas", "sklearn", "scipy", "rich", "torch", "matplotlib")


def _tune(db: Path, *extra: str) -> list[str]:
    return ["tune", IRIS, "--model", "knn", "--storage", f"sqlite:///{db}", *extra]


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


# -- finding 5: a parser that imports nothing heavy ----------------------------------------

_LOADED = (
    "import sys, json\n"
    "from metahpo.cli import main\n"
    "rc = main(json.loads(sys.argv[1]))\n"
    f"heavy = sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))\n"
    "print(json.dumps([rc, heavy]))\n"
)


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["tune", "--help"],
        ["predict", "--help"],
        ["tune", "data.csv", "--model", "nope"],  # a usage error
        ["tune", "data.csv", "--model", "knn", "--n-jobs", "-5"],  # an option checked after
        ["tune", "data.csv", "--model", "knn", "--optimizer", "tpe", "--base", "fsbo"],
        ["tune", "data.csv", "--model", "knn", "--study", ""],
        ["tune", "data.csv", "--model", "knn", "--seed", "-1"],  # the range checks
        ["tune", "data.csv", "--model", "knn", "--folds", "1"],
        ["tune", "data.csv", "--model", "knn", "--timeout", "0"],
        ["tune", "data.csv", "--model", "knn", "--json", "data.csv"],  # an output on an input
    ],
)
def test_help_and_argument_errors_import_nothing_heavy(argv: list[str]) -> None:
    done = _python(_LOADED, json.dumps(argv))
    assert "Traceback" not in done.stderr, done.stderr
    rc, heavy = json.loads(done.stdout.strip().splitlines()[-1])
    assert rc == (0 if "--help" in argv else 2)
    assert heavy == [], f"{argv} imported {heavy}"


def test_python_dash_m_help_imports_nothing_heavy() -> None:
    code = (
        "import runpy, sys\n"
        "sys.argv = ['metahpo', '--help']\n"
        "try:\n    runpy.run_module('metahpo', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n"
    )
    done = _python(code)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout + done.stderr


def test_the_parsers_static_names_are_the_librarys() -> None:
    from metahpo.cli import _names
    from metahpo.knowledge import DEFAULT_STORAGE
    from metahpo.optimizers import DEFAULT_BASE, REGISTRY
    from metahpo.spaces import FAMILY_NAMES
    from metahpo.tuning import tune

    assert _names.FAMILY_NAMES == FAMILY_NAMES
    assert _names.DEFAULT_STORAGE == DEFAULT_STORAGE
    assert _names.DEFAULT_BASE == DEFAULT_BASE
    declared = {
        n: {o.name: "bool" if o.kind == "bool" else o.low for o in b.options}
        for n, b in REGISTRY.items()
    }
    assert declared == _names.BASE_OPTIONS
    defaults = inspect.signature(tune).parameters
    assert defaults["strategy"].default == _names.DEFAULT_STRATEGY
    assert defaults["warm_start"].default == _names.DEFAULT_WARM_START
    assert defaults["storage"].default == DEFAULT_STORAGE


def test_predict_imports_neither_optuna_nor_torch(tmp_path: Path) -> None:
    model, preds = tmp_path / "m.skops", tmp_path / "p.csv"
    db = tmp_path / "s.db"
    argv = [*_tune(db, "--budget", "1", "--folds", "2", "--optimizer", "random")]
    assert main([*argv, "--save-model", str(model)]) == 0
    code = (
        "import sys\n"
        "from metahpo.cli import main\n"
        "assert main(['predict', sys.argv[1], sys.argv[2], '--out', sys.argv[3]]) == 0\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'optuna', 'torch', "
        "'matplotlib', 'dask'}))\n"
    )
    done = _python(code, str(model), IRIS, str(preds))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert len(preds.read_text().splitlines()) == 151  # a header and 150 predictions


# -- finding 1: --space, documented and in a short form --------------------------------------

KNN = get_space("knn", "classification")


def test_short_form_ranges_keep_the_familys_kind_scale_and_default() -> None:
    space = SearchSpace.from_json('{"n_neighbors": [1, 30]}', base=KNN)
    (p,) = space.params
    assert (p.kind, p.low, p.high, p.log, p.default) == ("int", 1, 30, True, 5)
    assert (space.family, space.task) == ("knn", "classification")
    narrow = SearchSpace.from_json('{"n_neighbors": [10, 30, "linear"]}', base=KNN)
    assert (narrow["n_neighbors"].log, narrow["n_neighbors"].default) == (False, 10)  # clipped
    svm = SearchSpace.from_json('{"C": [1, 100]}', base=get_space("svm", "classification"))
    assert (svm["C"].kind, svm["C"].log, svm["C"].default) == ("float", True, 1.0)
    hgb = get_space("hgb", "classification")
    l2 = SearchSpace.from_json('{"l2_regularization": [0, 10]}', base=hgb)["l2_regularization"]
    assert (l2.kind, l2.log) == ("float", False)  # log needs low > 0: linear


def test_short_form_choices_and_parameters_outside_the_familys_space() -> None:
    space = SearchSpace.from_json(
        '{"weights": ["distance", "uniform"], "p": [1, 2], "leaf_size": [10, 50], '
        '"algorithm": ["kd_tree", "ball_tree"], "tol": [0.1, 1, "log"]}',
        base=KNN,
    )
    assert space["weights"].kind == "categorical"
    assert space["weights"].default == "uniform"  # the family's default is among the choices
    assert space["p"].kind == "categorical" and space["p"].choices == (1, 2)
    leaf = space["leaf_size"]
    assert (leaf.kind, leaf.log, leaf.default) == ("int", False, 10)
    assert space["algorithm"].default == "kd_tree"  # no family default: the first choice
    assert (space["tol"].kind, space["tol"].log) == ("float", True)
    explicit = SearchSpace.from_json(
        '{"n_neighbors": {"low": 2, "high": 40, "default": 7}, '
        '"weights": {"choices": ["uniform", "distance"], "default": "distance"}}',
        base=KNN,
    )
    assert explicit["n_neighbors"].default == 7 and explicit["weights"].default == "distance"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('{"n_neighbors": [1]}', "give [low, high]"),
        ('{"n_neighbors": 5}', "give [low, high]"),
        ('{"n_neighbors": [30, 1]}', "low < high"),
        ('{"n_neighbors": [1.5, 30]}', "integer bounds"),
        ('{"n_neighbors": [1, Infinity]}', "finite"),
        ('{"weights": ["uniform", "uniform"]}', "repeat"),
        ('{"weights": {"choices": ["uniform", "distance"], "default": "x"}}', "not among"),
        ('{"n_neighbors": {"low": 1}}', "low and high"),
        ('{"n_neighbors": {"low": 1, "high": 9, "step": 2}}', "unknown key"),
        ("{}", "names no parameter"),
        ("[1, 2]", "JSON object"),
        ("{oops", "not valid JSON"),
    ],
)
def test_short_form_errors_are_one_clear_line(text: str, needle: str) -> None:
    with pytest.raises(SpaceError, match=re.escape(needle)) as info:
        SearchSpace.from_json(text, base=KNN)
    assert "\n" not in str(info.value)


def test_short_form_needs_the_family() -> None:
    with pytest.raises(SpaceError, match="needs the model family"):
        SearchSpace.from_json('{"n_neighbors": [1, 30]}')


def test_full_form_categorical_without_default_gets_a_sensible_one() -> None:
    def full(choices: list[Any]) -> str:
        return json.dumps(
            {
                "family": "knn",
                "task": "classification",
                "params": [{"name": "weights", "kind": "categorical", "choices": choices}],
            }
        )

    assert SearchSpace.from_json(full(["distance", "uniform"]), base=KNN)["weights"].default == (
        "uniform"  # the family's default
    )
    assert SearchSpace.from_json(full(["distance", "uniform"]))["weights"].default == "distance"
    wrong = json.loads(full(["a", "b"]))
    wrong["params"][0]["default"] = "c"
    with pytest.raises(SpaceError, match=r"default 'c' is not among the choices \['a', 'b'\]"):
        SearchSpace.from_json(json.dumps(wrong))


def test_cli_accepts_the_short_form_and_documents_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.db"
    space = tmp_path / "space.json"
    space.write_text('{"n_neighbors": [1, 30], "weights": ["uniform", "distance"]}')
    argv = _tune(db, "--budget", "3", "--folds", "2", "--optimizer", "random", "--seed", "3")
    out_json = tmp_path / "r.json"
    assert main([*argv, "--space", str(space), "--json", str(out_json)]) == 0
    result = json.loads(out_json.read_text())
    assert 1 <= result["best_params"]["n_neighbors"] <= 30
    assert set(result["best_params"]) == {"n_neighbors", "weights"}
    capsys.readouterr()
    assert main(["tune", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert '{"n_neighbors": [1, 30]' in help_text and "Custom search spaces" in help_text
    readme = (ROOT / "README.md").read_text()
    assert "### Custom search spaces" in readme and '"n_neighbors": [1, 30]' in readme


@pytest.mark.parametrize(
    ("space", "needle"),
    [
        ("", "--space is empty"),
        ("[1, 2]", "--space: a search space is a JSON object"),
        ('{"n_neighbors": [1]}', "--space: parameter 'n_neighbors'"),
        ("missing-space.json", "--space: missing-space.json: no such search space file"),
    ],
)
def test_bad_space_is_one_line_before_any_work(
    space: str, needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.db"
    assert main([*_tune(db, "--budget", "2"), "--space", space]) == 2
    one_line_error(capsys, needle)
    assert not db.exists()


# -- finding 3: contradictory options, --n-jobs -5, --study '', capped ranges -----------------


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--optimizer", "tpe", "--base", "fsbo"], "--base applies to --optimizer meta only"),
        (["--optimizer", "random", "--strategy", "nearest"], "--strategy applies to"),
        (["--optimizer", "cmaes", "--warm-start", "2"], "--warm-start applies to"),
        (["--optimizer", "tpe", "--transfer", "3"], "--transfer applies to"),
        (["--optimizer", "tpe", "--base-option", "n_transfer=3"], "--base-option applies to"),
        (
            ["--transfer", "3"],
            "--transfer: base 'transfer-gp' takes no option 'n_transfer' (its options: latent)",
        ),
        (
            ["--base", "tpe", "--base-option", "n_transfer=3"],
            "--base-option: base 'tpe' takes no option 'n_transfer' (its options: none)",
        ),
        (
            ["--base", "transfer", "--base-option", "n_transfer=3", "--transfer", "2"],
            "--transfer: option 'n_transfer' of --base transfer given twice",
        ),
        (["--n-jobs", "-5"], "--n-jobs must be -1 (one worker per core) or at least 1, got -5"),
        (["--threads", "-3"], "--threads must be -1 (all cores) or at least 1, got -3"),
        (["--study", ""], "--study must not be empty"),
        (["--study", "  "], "--study must not be empty"),
    ],
)
def test_contradictory_or_meaningless_options_are_refused(
    extra: list[str], needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.db"
    assert main([*_tune(db, "--budget", "2"), *extra]) == 2
    one_line_error(capsys, "metahpo: error: " + needle)
    assert not db.exists()


def test_documented_defaults_still_apply(tmp_path: Path) -> None:
    """``None`` tells "not given" apart; the run still gets the documented defaults."""
    from metahpo.cli._main import _parser
    from metahpo.cli._tune_checks import check_option_combinations

    args = _parser().parse_args(["tune", IRIS, "--model", "knn"])
    check_option_combinations(args)
    assert (args.base, args.strategy, args.warm_start) == ("transfer-gp", "portfolio", 5)
    args = _parser().parse_args(["tune", IRIS, "--model", "knn", "--optimizer", "tpe"])
    check_option_combinations(args)  # a classic optimizer alone is fine
    args = _parser().parse_args(["tune", IRIS, "--model", "knn", "--n-jobs", "-1"])
    check_option_combinations(args)
    db, summary = tmp_path / "s.db", tmp_path / "r.json"
    assert main([*_tune(db, "--budget", "1", "--folds", "2", "--json", str(summary))]) == 0
    settings = json.loads(summary.read_text())["settings"]
    assert (settings["base"], settings["strategy"]) == ("transfer-gp", "portfolio")


def test_a_range_the_data_caps_is_shown_as_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.db"
    space = '{"n_neighbors": {"low": 100, "high": 200, "default": 150}}'
    argv = _tune(db, "--budget", "2", "--folds", "2", "--optimizer", "random", "--space", space)
    assert main(argv) == 0
    out = " ".join(capsys.readouterr().out.split())
    # iris has 150 rows: knn uses at most half of them as neighbours
    assert "n_neighbors is capped at 75: the range used is [100, 75]" not in out
    assert re.search(r"n_neighbors │ 1\d\d \(used as 75\)", out), out
    assert "note: on this data (150 rows) n_neighbors is capped at 75" in out


def test_capped_ranges_of_the_builtin_space() -> None:
    from metahpo.cli._tune_checks import capped_notes, capped_ranges
    from metahpo.datasets import load_dataset

    iris = load_dataset(DATA / "iris")
    wide = SearchSpace.from_json('{"n_neighbors": [1, 200]}', base=KNN)
    assert capped_ranges(wide, "knn", iris, 0) == {"n_neighbors": 75}
    assert capped_ranges(KNN, "knn", iris, 0) == {}  # 1..64 fits 150 rows
    (note,) = capped_notes(wide, {"n_neighbors": 75}, iris)
    assert "the range used is [1, 75], not [1, 200]" in note
    hgb = get_space("hgb", "classification")
    assert capped_ranges(hgb, "hgb", iris, 0) == {}


# -- finding 2: --allow-changed-settings as its help says ---------------------------------


def test_allow_changed_settings_help_claims_only_what_it_allows(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["tune", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    allowed = text[text.index("--allow-changed-settings continue") :]
    assert "other folds, metric, optimizer, base, strategy, base options or seed" in allowed
    assert "The data and the search space of a study cannot change" in allowed


def test_space_or_rows_cannot_change_even_when_changes_are_allowed() -> None:
    from dataclasses import replace

    from metahpo.tuning import RunSettings
    from metahpo.tuning._settings import check_resume

    stored = RunSettings("balanced_accuracy", "maximize", 3, 0, "knn/c/v1/abc", 150, "tpe")
    assert check_resume("s", stored, replace(stored, folds=4), True) == ["folds 3 -> 4"]
    for other in (replace(stored, space_signature="knn/c/v1/xyz"), replace(stored, n_rows=99)):
        with pytest.raises(MetaHPOError, match="also with --allow-changed-settings"):
            check_resume("s", stored, other, True)


def test_another_space_on_resume_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.db"
    argv = _tune(db, "--budget", "1", "--folds", "2", "--optimizer", "random", "--study", "a")
    assert main(argv) == 0
    capsys.readouterr()
    wide = ["--space", '{"n_neighbors": [1, 20]}', "--allow-changed-settings"]
    assert main([*argv, *wide]) == 2
    one_line_error(capsys, "study 'a'", "another search space", "--study")


def _fold_count_of_best(db: Path, study: str) -> int:
    best = optuna.load_study(study_name=study, storage=f"sqlite:///{db}").best_trial
    return len(best.user_attrs["metahpo:fold_values"])


def test_printed_fold_count_is_the_best_scores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.db"
    common = ["--optimizer", "random", "--study", "a", "--seed", "1"]
    assert main([*_tune(db, "--budget", "2", "--folds", "3", *common)]) == 0
    capsys.readouterr()
    # nothing new to run: the best score is the 3-fold one, whatever --folds now says
    moved = [*common, "--folds", "2", "--allow-changed-settings"]
    assert main([*_tune(db, "--budget", "2", *moved)]) == 0
    captured = capsys.readouterr()
    assert "(3-fold CV)" in captured.out and "(2-fold CV)" not in captured.out
    assert "measured with 3-fold CV" in captured.err
    # new 2-fold trials: the fold count printed is the one of whichever trial is best
    assert main([*_tune(db, "--budget", "5", *moved)]) == 0
    out = capsys.readouterr().out
    assert f"({_fold_count_of_best(db, 'a')}-fold CV)" in out


# -- finding 4: progress when stderr is not a terminal -------------------------------------


def test_progress_lines_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    argv = _tune(db, "--budget", "3", "--folds", "2", "--optimizer", "random")
    code = "import sys, json\nfrom metahpo.cli import main\nsys.exit(main(json.loads(sys.argv[1])))"
    done = _python(code, json.dumps(argv))
    assert done.returncode == 0, done.stderr
    assert "\x1b[" not in done.stderr  # plain text, no ANSI codes
    lines = done.stderr.strip().splitlines()
    assert re.fullmatch(
        r"tune knn: 1/3 completed, trial 0: 0\.\d{4} \(best 0\.\d{4}\), \d+\.\d s", lines[0]
    ), lines
    assert re.fullmatch(r"tune knn: 3/3 completed, trial 2: .* s", lines[-1]), lines


def test_plain_progress_writes_at_most_every_interval() -> None:
    import io

    from metahpo.cli._console import PlainProgress

    stream = io.StringIO()
    bar = PlainProgress(stream=stream, interval=3600)
    with bar:
        task = bar.add_task("kb build", total=3)
        for done in (1, 2, 3):
            bar.update(task, completed=done)
    lines = stream.getvalue().splitlines()
    assert [line.split(",")[0] for line in lines] == ["kb build: 1/3 done", "kb build: 3/3 done"]
    every = PlainProgress(stream=io.StringIO(), interval=0)
    assert every.line("a") and every.line("b")

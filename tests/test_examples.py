"""The example scripts run end to end and print exactly what examples/README.md shows.

examples/README.md holds each script's output between ``<!-- example-output:NAME:... -->``
markers, copied from the script's own run by ``examples/update_readme.py``. Each script runs in
its own subprocess (slow: 10-60 s each on 2 busy cores) and must print its block (lines that
report a duration excepted) and the lines below; the fast tests check that every script has a
block, that the blocks show those lines, that the updater keeps a block in step, and that the
dataset of ``make run`` is not one the bundled experience already holds.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from metahpo import load_bundled, load_dataset

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("[0-9][0-9]_*.py"))


def _updater() -> ModuleType:
    """``examples/update_readme.py``, imported from its path (it is not a package module)."""
    spec = importlib.util.spec_from_file_location("update_readme", EXAMPLES / "update_readme.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("update_readme", module)
    spec.loader.exec_module(module)
    return module


UPDATER = _updater()
README = (EXAMPLES / "README.md").read_text(encoding="utf-8")

#: Lines each script must print (regular expressions searched in its standard output).
EXPECTED = {
    "01_optuna_meta_sampler.py": [
        r"nearest past tasks:",
        r"^warm starts: (library default|meta-learned)(, (library default|meta-learned))*$",
        r"trial  MetaSampler  TPE",
        r"^\s+10\s+0\.\d{4}\s+0\.\d{4}$",
        r"best configuration \(MetaSampler\): \{'learning_rate'",
        r"after 10 trials, MetaSampler minus TPE: [+-]\d\.\d{4}, (within|beyond) the folds' spread",
    ],
    "02_metasearchcv_pipeline.py": [
        r"SVR with defaults\s+R2 -?\d\.\d{3} ± \d\.\d{3}",
        r"SVR tuned by MetaSearchCV\s+R2 -?\d\.\d{3} ± \d\.\d{3}",
        r"chosen: \{'C'",
        r"nearest past tasks: \S+ \(0\.\d\d\)",
    ],
    "03_mlp_zero_shot.py": [
        r"^width +\d+ x depth \d .*predicted \d\.\d\d$",
        r"default MLP\s+balanced accuracy 0\.\d{4}",
        r"zero-shot MLP\s+balanced accuracy 0\.\d{4}",
        r"zero-shot minus default: [+-]\d\.\d{4} .*; (within noise|the same on every fold|"
        r"beyond noise: (better|worse) than the default)\)$",
    ],
    "04_warm_start_from_your_study.py": [
        r"imported 15 trials as hgb experience",
        r"bundled \+ your study\s+nearest tasks: breast_cancer_mean \(",
        r"bundled only\s+nearest tasks: ",
        r"^ +warm starts: .*your study's best",
        r"best after 1 / 3 / 6: 0\.\d{4} / 0\.\d{4} / 0\.\d{4}",
        r"^with minus without your study, best after 1 / 3 / 6: [+-]\d\.\d{4} / [+-]\d\.\d{4}"
        r" / [+-]\d\.\d{4}$",
    ],
    "05_continual_loop.py": [
        r"board1: best balanced accuracy 0\.\d{4}",
        r"board3: best balanced accuracy 0\.\d{4}",
        r"^with runs 1-2 +k=\d+ (uniform|distance) p=[12]",
        r"^with runs 1-2\s+0\.\d{4}",
        r"^bundled only\s+0\.\d{4}",
        r"^with minus without runs 1-2 after trial 1 / 3 / 10: [+-]\d\.\d{4} / ",
        r"^with runs 1-2 reached the best score of both runs \(0\.\d{4}\) (at trial \d+|not in)",
    ],
    "06_reptile_meta_learner.py": [
        r"earlier study \(lines\): best meta-test MSE \d+\.\d{3}",
        r"trial  MetaSampler     TPE",
        r"^MetaSampler's best: trial \d+",
        r"meta-learned initialisation, adapted:\s+MSE \d+\.\d{3}",
        r"predicting 0 everywhere:\s+MSE \d+\.\d{3}",
    ],
    "07_torch_pruning.py": [
        r"^  wine +best balanced accuracy \d\.\d{4}; \d+ complete, \d+ pruned; imported \d+ ",
        r"^  digits +best balanced accuracy ",
        r"^new task breast_cancer: nearest earlier tasks (wine|digits) \(",
        r"^warm starts: ",
        r"^MetaSampler \+ Hyperband +\d\.\d{4} +\d+ +\d+ +\d+$",
        r"^TPE \+ Hyperband +\d\.\d{4} +\d+ +\d+ +\d+$",
        r"^MetaSampler's best: trial \d+ ",
        r"^pruning saved \d+% of the epochs",
    ],
}
#: Scripts that need an optional extra (skipped in the slow tests without it).
NEEDS = {"07_torch_pruning.py": "torch"}


def test_every_example_has_expectations_and_a_readme_entry() -> None:
    assert SCRIPTS, "no example scripts found"
    assert sorted(EXPECTED) == SCRIPTS
    assert [f"{n}.py" for n in UPDATER.scripts()] == SCRIPTS
    for name in SCRIPTS:
        assert f"`{name}`" in README, f"{name} is not described in examples/README.md"


@pytest.mark.parametrize("name", SCRIPTS)
def test_the_readme_block_shows_the_expected_lines(name: str) -> None:
    """Each script's block in examples/README.md is there and shows what the script must print
    (the slow test checks that the script prints exactly that block)."""
    shown = UPDATER.block(README, name.removesuffix(".py"))
    for pattern in EXPECTED[name]:
        assert re.search(pattern, shown, re.MULTILINE), (name, pattern, shown)
    assert re.search(rf"^\| `{re.escape(name)}` \|.*\| \d+ s \|$", README, re.MULTILINE)


def check_claims(name: str, output: str) -> None:
    """What an example says about its own numbers holds in its output."""
    if name == "03_mlp_zero_shot.py":
        first = next(line for line in output.splitlines() if line.startswith("width"))
        if first.endswith("(the library default)"):
            assert "The first suggestion is the library default" in output
            # ... and the comparison is not the default against itself.
            widths = [line for line in output.splitlines() if line.startswith("width")]
            assert any(not line.endswith("(the library default)") for line in widths)
    if name == "07_torch_pruning.py":
        # Only COMPLETE trials are imported; the epochs line agrees with the table.
        for done, imported in re.findall(r"(\d+) complete, \d+ pruned; imported (\d+)", output):
            assert done == imported
        row = re.search(r"^MetaSampler \+ Hyperband +\S+ +(\d+) +(\d+) +(\d+)$", output, re.M)
        full = re.search(r"epochs +\(of (\d+)\)$", output, re.MULTILINE)
        saved = re.search(r"^pruning saved (\d+)% ", output, re.MULTILINE)
        assert row is not None and full is not None and saved is not None
        share = 100 * (1 - int(row.group(3)) / int(full.group(1)))
        assert abs(int(saved.group(1)) - share) <= 0.5 + 1e-9
    if name == "05_continual_loop.py":
        table = re.findall(
            r"^(with runs 1-2|bundled only) +(0\.\d{4}) +(0\.\d{4}) +(0\.\d{4})$",
            output,
            re.MULTILINE,
        )
        assert len(table) == 2
        diff = re.search(r"after trial 1 / 3 / 10: (\S+) / (\S+) / (\S+)$", output, re.MULTILINE)
        assert diff is not None
        for k in range(3):  # the printed difference is the difference of the printed columns
            gap = float(table[0][k + 1]) - float(table[1][k + 1])
            assert abs(float(diff.group(k + 1)) - gap) <= 1.5e-4


@pytest.mark.parametrize("name", SCRIPTS)
def test_the_readme_block_backs_its_claims(name: str) -> None:
    check_claims(name, UPDATER.block(README, name.removesuffix(".py")))


def test_the_updater_replaces_a_block_and_ignores_durations() -> None:
    name = "01_optuna_meta_sampler"
    output = "line one   \nsecond line 0.5000\n\n"
    text = UPDATER.replace_block(README, name, output)
    assert UPDATER.block(text, name) == "line one\nsecond line 0.5000\n"
    assert text.count(UPDATER.markers(name)[0]) == 1
    # Every other block is left alone.
    for other in SCRIPTS[1:]:
        stem = other.removesuffix(".py")
        assert UPDATER.block(text, stem) == UPDATER.block(README, stem)
    # A line that reports a duration does not make a block stale; any other difference does.
    assert UPDATER.normalised("a 0.5\ntook 12.3 s\n") == UPDATER.normalised("a 0.5\n")
    assert UPDATER.normalised("a 0.5\n") != UPDATER.normalised("a 0.6\n")
    timed = UPDATER.replace_time(README, name, 42.4)
    assert f"| `{name}.py` |" in timed
    assert re.search(rf"^\| `{name}\.py` \|.*\| 42 s \|$", timed, re.MULTILINE)
    with pytest.raises(ValueError, match="exactly one"):
        UPDATER.block("no markers here", name)


def test_the_main_job_dataset_is_not_in_the_bundled_experience() -> None:
    """``make run`` must show transfer from other tasks, not a look-up of its own results."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(r"^run:.*\n\t\S*metahpo tune (\S+)", makefile, re.MULTILINE)
    assert match is not None, "the run target does not call metahpo tune"
    data = load_dataset(ROOT / match.group(1))
    assert data.name not in load_bundled().datasets
    if data.name == "breast_cancer":
        assert (data.n_rows, data.n_features, len(data.classes)) == (569, 30, 2)
        assert "CC BY 4.0" in (ROOT / match.group(1) / "README.md").read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.parametrize("name", SCRIPTS)
def test_example_runs(name: str) -> None:
    if name in NEEDS:
        pytest.importorskip(NEEDS[name])
    done, _ = UPDATER.run_example(name.removesuffix(".py"))
    assert done.returncode == 0, done.stderr[-3000:]
    for pattern in EXPECTED[name]:
        assert re.search(pattern, done.stdout, re.MULTILINE), (pattern, done.stdout)
    assert "Traceback" not in done.stderr
    check_claims(name, done.stdout)
    # What examples/README.md shows is what the script prints today.
    shown = UPDATER.block(README, name.removesuffix(".py"))
    assert UPDATER.normalised(done.stdout) == UPDATER.normalised(shown), (
        f"examples/README.md is out of date for {name}: run python examples/update_readme.py "
        f"{name[:2]}\n--- printed ---\n{done.stdout}"
    )

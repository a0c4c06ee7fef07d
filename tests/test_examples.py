"""The example scripts run end to end and print what examples/README.md says they print.

Each script runs in its own subprocess (slow: 20-60 s each on 2 busy cores); the fast tests
check that every script is listed in the README and has an expected-output pattern here, and
that the dataset of ``make run`` is not one the bundled experience already holds.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from metahpo import load_bundled, load_dataset

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py"))
#: Seconds one script may take: well above the measured 20-60 s, for a loaded machine.
TIMEOUT = 300

#: Lines each script must print (regular expressions searched in its standard output).
EXPECTED = {
    "01_optuna_meta_sampler.py": [
        r"nearest past tasks:",
        r"trial  MetaSampler  TPE",
        r"^\s+10\s+0\.\d{4}\s+0\.\d{4}$",
        r"best configuration \(MetaSampler\): \{'learning_rate'",
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
        r"zero-shot minus default: [+-]\d\.\d{4} .*(within|beyond) noise",
    ],
    "04_warm_start_from_your_study.py": [
        r"imported 15 trials as hgb experience",
        r"bundled \+ your study\s+nearest tasks: breast_cancer_mean \(",
        r"bundled only\s+nearest tasks: ",
        r"best after 1 / 3 / 6: 0\.\d{4} / 0\.\d{4} / 0\.\d{4}",
    ],
    "05_continual_loop.py": [
        r"board1: best balanced accuracy 0\.\d{4}",
        r"board3: best balanced accuracy 0\.\d{4}",
        r"with runs 1-2\s+0\.\d{4}",
        r"bundled only\s+0\.\d{4}",
        r"The experience of runs 1-2 (made|did not make) the first trial better",
    ],
    "06_reptile_meta_learner.py": [
        r"earlier study \(lines\): best meta-test MSE \d+\.\d{3}",
        r"trial  MetaSampler     TPE",
        r"meta-learned initialisation, adapted:\s+MSE \d+\.\d{3}",
        r"predicting 0 everywhere:\s+MSE \d+\.\d{3}",
    ],
}


def test_every_example_has_expectations_and_a_readme_entry() -> None:
    assert SCRIPTS, "no example scripts found"
    assert sorted(EXPECTED) == SCRIPTS
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for name in SCRIPTS:
        assert f"`{name}`" in readme, f"{name} is not described in examples/README.md"


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
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), env.get("PYTHONPATH", "")) if p
    )
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for pattern in EXPECTED[name]:
        assert re.search(pattern, done.stdout, re.MULTILINE), (pattern, done.stdout)
    assert "Traceback" not in done.stderr

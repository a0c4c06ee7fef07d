"""Every code block of README.md is run by a test, or says why not, and prints what it shows.

Python blocks run as scripts in a subprocess, in a temporary folder holding copies of the data
they name (``examples/data/breast_cancer``, ``tests/data/vehicle``). Console blocks (lines
``$ COMMAND`` followed by its output) run each command there with ``metahpo`` on the path, and
the output (standard output, then standard error for a command that reports there) must match
the block token by token, except ``...`` (any text, the README's elisions) and durations
(``12.3 s``). ``make run`` is run as the Makefile's command and compared with the quickstart's
output block and its prose; the synopsis is not run, but the options it names must exist.
Blocks that take long are in the slow suite; the fast suite checks that every block is
accounted for and that the names the Python blocks use exist.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import optuna
import pytest

from .conftest import require_family

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
#: The data the README's commands and code read, by the path they use.
DATA = ("examples/data/breast_cancer", "tests/data/vehicle", "tests/data/iris")
#: Seconds one block may take (slow blocks: a loaded 2-core machine).
TIMEOUT = 600


@dataclass(frozen=True)
class Block:
    """One fenced code block of the README: its info string, text (dedented) and line."""

    lang: str
    text: str
    line: int

    @property
    def first(self) -> str:
        return next(line.strip() for line in self.text.splitlines() if line.strip())


def readme_blocks(text: str = README) -> list[Block]:
    fence = re.compile(r"^( *)```(\w*)\s*$")
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        opened = fence.match(lines[i])
        if opened is None:
            i += 1
            continue
        indent, body, j = len(opened.group(1)), [], i + 1
        while not re.match(rf"^ {{{indent}}}```\s*$", lines[j]):
            body.append(lines[j][indent:])
            j += 1
        blocks.append(Block(opened.group(2), "\n".join(body) + "\n", i + 1))
        i = j + 1
    return blocks


#: How each block is checked, by the start of its first line: the test that runs it, or why
#: no test runs it. A new block must be added here (the first test fails until it is).
HOW = {
    "make run    # creates .venv": "test_quickstart (slow): the Makefile's command",
    "best hgb on breast_cancer": "test_quickstart (slow): the output of make run",
    "metahpo tune DATA [--target COL]": "test_the_synopsis_names_only_options_that_exist",
    "$ metahpo tune examples/data/breast_cancer --model lgbm": "test_console_block",
    "$ metahpo suggest tests/data/vehicle --model svm": "test_console_block",
    "$ metahpo tune tests/data/vehicle --model hgb": "test_console_block (slow)",
    "metahpo tune tests/data/iris --model knn --budget 10": "test_command_block",
    "import optuna": "test_python_block (slow)",
    "import metahpo": "test_python_block (slow)",
    "datasets -> spaces -> evaluation": "not code: the layers",
    "make kb-build": "not run: hours on 2 cores over ../shared/datasets",
    ".venv/bin/metahpo kb build --datasets ../shared/datasets": "not run: hours of building",
    "make test        # default suite": "not run: the test suites themselves",
}
#: Console and Python blocks run by the slow suite only (over ~20 s on a busy machine).
SLOW = ("$ metahpo tune tests/data/vehicle --model hgb", "import optuna", "import metahpo")


def how(block: Block) -> str:
    found = [k for k in HOW if block.first.startswith(k)]
    assert len(found) == 1, f"README.md line {block.line}: no single entry in HOW for {block}"
    return found[0]


def selected(kind: str) -> list[pytest.param]:
    chosen = []
    for b in readme_blocks():
        keys = [k for k in HOW if b.first.startswith(k)]  # none: the first test fails
        key = keys[0] if len(keys) == 1 else ""
        if HOW.get(key, "").startswith(kind):
            marks = [pytest.mark.slow] if key in SLOW else []
            chosen.append(pytest.param(b, id=f"line{b.line}", marks=marks))
    return chosen


def test_every_block_is_run_or_excused() -> None:
    blocks = readme_blocks()
    assert len(blocks) >= len(HOW)
    keys = [how(b) for b in blocks]
    assert sorted(set(keys)) == sorted(HOW), "an entry of HOW matches no block of README.md"


def sandbox(tmp: Path) -> tuple[Path, dict[str, str]]:
    """A folder holding copies of the README's data, and an environment with ``metahpo``
    (this checkout's) on the path, one native thread and a 100-column console."""
    for rel in DATA:
        shutil.copytree(ROOT / rel, tmp / rel)
    bin_dir = tmp / ".bin"
    bin_dir.mkdir()
    launcher = bin_dir / "metahpo"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m metahpo "$@"\n')
    launcher.chmod(0o755)
    env = dict(os.environ)
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p),
        COLUMNS="100",
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
    )
    return tmp, env


def output_pattern(expected: str) -> re.Pattern[str]:
    """Token by token; ``...`` (or a line ``[... ...]``) stands for any tokens and a number
    followed by ``s`` / ``s,`` for any duration."""
    tokens: list[str] = []
    for line in expected.splitlines():
        stripped = line.strip()
        tokens += ["..."] if stripped.startswith("[...") else stripped.split()
    parts = []
    for i, tok in enumerate(tokens):
        after = tokens[i + 1] if i + 1 < len(tokens) else ""
        if tok == "...":
            parts.append(r"(?: \S+)*?")
        elif re.fullmatch(r"\d+(\.\d+)?", tok) and after in ("s", "s,"):
            parts.append(r" \d+(?:\.\d+)?")
        else:
            parts.append(" " + re.escape(tok))
    return re.compile("".join(parts) + " ")


def matches(expected: str, printed: str) -> bool:
    return output_pattern(expected).fullmatch(" " + " ".join(printed.split()) + " ") is not None


def test_output_pattern_matches_tokens_elisions_and_durations() -> None:
    shown = "best  0.9731 | 23.1 s, stopped\n...\nlast line"
    assert matches(shown, "best 0.9731 |\n4.0 s, stopped\nmore\nlines\nlast line")
    assert not matches(shown, "best 0.9730 | 4.0 s, stopped last line")
    assert not matches(shown, "best 0.9731 | 4.0 s, stopped last line and more")
    assert matches("x\n[... a table ...]\ny", "x 1 2\n3 y")


def console_steps(text: str) -> list[tuple[str, str]]:
    """``($ command, its expected output)`` pairs of a console block."""
    steps: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        else:
            steps[-1][1].append(line)
    return [(cmd, "\n".join(out)) for cmd, out in steps]


def run(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, (command, done.stderr[-3000:])
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return done


@pytest.mark.parametrize("block", selected("test_console_block"))
def test_console_block(block: Block, tmp_path: Path) -> None:
    """Each ``$ command`` of the block runs as written and prints what the block shows."""
    if "--model lgbm" in block.first:
        require_family("lgbm")
    cwd, env = sandbox(tmp_path)
    for command, expected in console_steps(block.text):
        done = run(command, cwd, env)
        # What the terminal shows: the output, or for a command that reports on stderr (as
        # `predict` does) the output then that report; progress bars on stderr are not shown.
        shown = matches(expected, done.stdout) or matches(expected, done.stdout + done.stderr)
        assert shown, (
            f"README.md line {block.line}: `{command}` printed\n{done.stdout}{done.stderr}"
        )


@pytest.mark.parametrize("block", selected("test_command_block"))
def test_command_block(block: Block, tmp_path: Path) -> None:
    """A command shown without its output runs as written (exit 0, no traceback)."""
    cwd, env = sandbox(tmp_path)
    done = run(block.text, cwd, env)
    assert "trials" in done.stdout, done.stdout


@pytest.mark.parametrize("block", selected("test_python_block"))
def test_python_block(block: Block, tmp_path: Path) -> None:
    """The block runs as written, as a script (the parallel one spawns its workers)."""
    cwd, env = sandbox(tmp_path)
    (cwd / "block.py").write_text(block.text, encoding="utf-8")
    done = run(f'"{sys.executable}" block.py', cwd, env)
    if "n_jobs=2" in block.text:
        assert done.stdout.split()[-1] == "timeout", done.stdout


def test_python_blocks_use_names_that_exist() -> None:
    """Fast check of every Python block: it compiles, and each ``metahpo.NAME`` and
    ``from metahpo.X import NAME`` it uses exists."""
    blocks = [b for b in readme_blocks() if b.lang == "python"]
    assert blocks
    import metahpo

    for b in blocks:
        tree = ast.parse(b.text)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("metahpo"):
                module = importlib.import_module(node.module or "")
                for alias in node.names:
                    assert hasattr(module, alias.name), (b.line, node.module, alias.name)
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "metahpo"
            ):
                assert hasattr(metahpo, node.attr), (b.line, node.attr)


def make_run_command() -> str:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(r"^run:.*\n\t\$\(BIN\)/(metahpo tune .+)$", makefile, re.MULTILINE)
    assert match is not None, "the run target does not call metahpo tune"
    return match.group(1).strip()


def test_the_readme_states_the_command_of_make_run() -> None:
    prose = " ".join(README.split())
    assert f"`make run` runs `{make_run_command()}`" in prose


@pytest.mark.slow
def test_quickstart(tmp_path: Path) -> None:
    """``make run``'s command prints the quickstart's output, ``best.json`` holds what the
    README says, and the trials are as the prose tells."""
    cwd, env = sandbox(tmp_path)
    done = run(make_run_command(), cwd, env)
    shown = next(b for b in readme_blocks() if how(b) == "best hgb on breast_cancer")
    assert matches(shown.text, done.stdout), done.stdout
    summary = json.loads((cwd / "best.json").read_text(encoding="utf-8"))
    for key in ("best_value", "best_std", "best_params", "study", "storage", "stopped"):
        assert key in summary
    assert {"strategy", "base", "confidence", "neighbors"} <= set(summary["meta"])
    assert summary["settings"]["folds"] == 5 and summary["n_trials"] == 30

    prose = " ".join(README.split())
    first = re.search(
        r"default went first \((0\.\d{4})\) and that configuration second "
        r"\((0\.\d{4})\)",
        prose,
    )
    best = re.search(
        r"The best configuration \((0\.\d{4})\) came from the continuous "
        r"refinement at trial (\d+)",
        prose,
    )
    assert first is not None and best is not None
    study = optuna.load_study(study_name=summary["study"], storage=f"sqlite:///{cwd}/metahpo.db")
    trials = sorted(study.trials, key=lambda t: t.number)
    from metahpo import get_space

    assert trials[0].params == get_space("hgb", "classification").default_config()
    assert f"{trials[0].value:.4f}" == first.group(1)
    assert f"{trials[1].value:.4f}" == first.group(2)
    assert f"{study.best_value:.4f}" == best.group(1)
    assert study.best_trial.number + 1 == int(best.group(2))


def test_the_synopsis_names_only_options_that_exist(capsys: pytest.CaptureFixture[str]) -> None:
    """The command-line synopsis is not run, but every option it names is in that command's
    ``--help``."""
    from metahpo.cli import main

    synopsis = next(b for b in readme_blocks() if how(b) == "metahpo tune DATA [--target COL]")
    commands: dict[tuple[str, ...], set[str]] = {}
    current: tuple[str, ...] = ()
    for line in synopsis.text.splitlines():
        words = line.split()
        if line.startswith("metahpo "):
            current = tuple(w for w in words[1:3] if re.fullmatch(r"[a-z]+", w))
            if current[:1] != ("kb",):
                current = current[:1]
            commands.setdefault(current, set())
        commands[current] |= set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*|-k)\b", line))
    assert len(commands) >= 8
    for command, options in commands.items():
        assert main([*command, "--help"]) == 0
        shown = capsys.readouterr().out
        for option in options:
            assert re.search(rf"(?<![\w-]){re.escape(option)}\b", shown), (command, option)

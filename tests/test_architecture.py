"""The layers import only downwards: datasets -> ... -> interfaces."""

from __future__ import annotations

import argparse
import ast
import re
from collections.abc import Iterator
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "src" / "metahpo"
#: The benchmark lab: a package of its own beside the library (issue 24), never in its wheel.
LAB = Path(__file__).resolve().parents[1] / "benchmarks" / "metahpo_bench"

LAYERS = [
    {"errors", "_version", "_files", "_args"},
    {"datasets"},
    {"spaces"},
    {"evaluation"},
    {"metafeatures"},
    {"knowledge"},
    {"metalearners"},
    {"optimizers"},
    {"tuning", "report", "sklearn", "testing"},
    {"cli", "__init__", "__main__"},
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("metahpo."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("metahpo."):
                    found.add(alias.name.split(".")[1])
    return found


def test_lower_layers_never_import_higher_ones() -> None:
    violations = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG)
        own = rel.parts[0].removesuffix(".py")
        if own not in RANK:
            violations.append(f"{rel}: module not assigned to a layer")
            continue
        for imported in _imports(path):
            if imported in RANK and RANK[imported] > RANK[own]:
                violations.append(f"{rel} imports metahpo.{imported}")
    assert not violations, violations


def test_no_pickle_in_the_package() -> None:
    for path in PKG.rglob("*.py"):
        text = path.read_text()
        assert "import pickle" not in text and "allow_pickle=True" not in text, path


# -- module size, import cycles, Optuna's private API ---------------------------------------
MAX_LINES = 500
#: The one module allowed to touch Optuna's private attributes (see its docstring for why).
OPTUNA_ADAPTER = Path("optimizers") / "_view.py"
PRIVATE_OPTUNA = re.compile(
    r"\bfrom optuna\._|\bimport optuna\._|\._storage\b|\._trial_id\b|\._study_id\b"
)


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _import_targets(path: Path) -> Iterator[str]:
    """Every ``module`` or ``module.name`` a file imports, at any depth (in functions, under
    ``if TYPE_CHECKING:``); relative imports are left out."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield from (f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names)


def import_graph(root: Path = PKG) -> dict[str, set[str]]:
    """Module -> the modules of the package it imports (anywhere: functions and
    ``if TYPE_CHECKING:`` blocks included; a circle that type checking needs is a circle too).

    ``from package import name`` is an edge to ``package.name`` when that is a module, else
    to ``package`` (its ``__init__``), which imports its own modules to re-export them.
    """
    paths = {_module_name(p, root): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in paths}
    for name, path in paths.items():
        for target in _import_targets(path):
            while target and target not in paths:
                target = target.rpartition(".")[0]
            if target and target != name:
                graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles: strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = [stack.pop()]
            while component[-1] != v:
                component.append(stack.pop())
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _sources(root: Path, skip: tuple[str, ...] = ()) -> list[Path]:
    """The ``.py`` files under ``root``, less those under its top-level folders ``skip``."""
    return [p for p in sorted(root.rglob("*.py")) if p.relative_to(root).parts[0] not in skip]


def long_modules(root: Path, limit: int = MAX_LINES, skip: tuple[str, ...] = ()) -> list[str]:
    """``file (N lines)`` for every module under ``root`` (less ``skip``) over ``limit``."""
    sizes = {p: len(p.read_text().splitlines()) for p in _sources(root, skip)}
    return [f"{p.relative_to(root).as_posix()} ({n} lines)" for p, n in sizes.items() if n > limit]


def test_every_module_stays_under_500_lines() -> None:
    assert long_modules(PKG) == []


#: The longest a function may be, from its ``def`` (decorators excluded) to its last line.
MAX_FUNCTION_LINES = 80


def long_functions(
    root: Path, limit: int = MAX_FUNCTION_LINES, skip: tuple[str, ...] = ()
) -> list[str]:
    """``file:line name (N lines)`` for every function under ``root`` (less the top-level
    folders ``skip``) longer than ``limit``."""
    out = []
    for path in _sources(root, skip):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > limit:
                    rel = path.relative_to(root).as_posix()
                    out.append(f"{rel}:{node.lineno} {node.name} ({n} lines)")
    return out


def test_no_function_over_80_lines() -> None:
    assert long_functions(PKG) == []


def test_the_function_length_check_finds_a_long_one(tmp_path: Path) -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(80))
    (tmp_path / "m.py").write_text(f"def short():\n    pass\n\n\ndef long():\n{body}")
    assert long_functions(tmp_path) == ["m.py:5 long (81 lines)"]


def test_no_import_cycles() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_check_finds_a_cycle_through_a_function_level_import(tmp_path: Path) -> None:
    # the shape of the cycle the optimizers once had: a top-level import one way, an import
    # inside a function the other way
    pkg = tmp_path / "metahpo" / "optimizers"
    pkg.mkdir(parents=True)
    (tmp_path / "metahpo" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "_transfer.py").write_text("from metahpo.optimizers._plan import WARM_ATTR\n")
    (pkg / "_plan.py").write_text(
        "def f():\n    from metahpo.optimizers._transfer import TransferSampler\n"
    )
    found = cycles(import_graph(tmp_path / "metahpo"))
    assert found == [["metahpo.optimizers._plan", "metahpo.optimizers._transfer"]]


def test_the_cycle_check_counts_imports_for_type_checking(tmp_path: Path) -> None:
    # the shape of the circle tuning once had: the model module imported the run's result type
    # under TYPE_CHECKING, the result imported the model module inside a method
    pkg = tmp_path / "metahpo" / "tuning"
    pkg.mkdir(parents=True)
    (tmp_path / "metahpo" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "_model.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from metahpo.tuning._tune import TuneResult\n"
    )
    (pkg / "_tune.py").write_text(
        "class TuneResult:\n"
        "    def best_estimator(self):\n        from metahpo.tuning._model import refit\n"
    )
    found = cycles(import_graph(tmp_path / "metahpo"))
    assert found == [["metahpo.tuning._model", "metahpo.tuning._tune"]]


# -- each package exports what the others use ----------------------------------------------
#: Top-level modules that every layer shares: not the insides of another package.
FOUNDATIONS = {"_args", "_files", "_version", "errors"}
#: Private modules or names of another package that a module may still import, as
#: ``(importing module, imported target)`` -> the reason. Empty: every package exports what
#: the others use (the lazy ``__init__`` of ``metahpo.tuning`` keeps the CLI's checks light).
PRIVATE_IMPORTS_ALLOWED: dict[tuple[str, str], str] = {}


def _is_private(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def private_cross_imports(root: Path = PKG) -> list[str]:
    """``module imports target`` for each import, anywhere in a module (functions and
    ``if TYPE_CHECKING:`` included), of a private module or name of another package."""
    found = []
    for path in sorted(root.rglob("*.py")):
        own = path.relative_to(root).parts[0].removesuffix(".py")
        module = _module_name(path, root)
        for target in _import_targets(path):
            parts = target.split(".")
            if parts[0] != root.name or len(parts) < 2:
                continue
            if parts[1] in FOUNDATIONS or parts[1] == own:
                continue
            if any(_is_private(part) for part in parts[1:]):
                found.append(f"{module} imports {target}")
    return found


def test_no_private_import_across_packages() -> None:
    allowed = {f"{module} imports {target}" for module, target in PRIVATE_IMPORTS_ALLOWED}
    found = private_cross_imports()
    assert [f for f in found if f not in allowed] == []
    assert allowed <= set(found), "an allowed private import is gone: drop it from the list"


def test_the_private_import_check_finds_one(tmp_path: Path) -> None:
    root = tmp_path / "metahpo"
    (root / "cli").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "cli" / "__init__.py").write_text("")
    (root / "cli" / "_tune.py").write_text(
        "from metahpo._files import atomic_write\n"  # a shared foundation: allowed
        "from metahpo.cli._console import Progress\n"  # the same package: allowed
        "from metahpo.tuning import resolve_workers\n"  # exported: allowed
        "from metahpo.tuning._parallel import shared_storage_url\n"
        "def f():\n    import metahpo.knowledge._records\n"
        "    from metahpo.optimizers import _meta\n"
    )
    assert private_cross_imports(root) == [
        "metahpo.cli._tune imports metahpo.tuning._parallel.shared_storage_url",
        "metahpo.cli._tune imports metahpo.knowledge._records",
        "metahpo.cli._tune imports metahpo.optimizers._meta",
    ]


def test_optuna_private_api_only_in_the_adapter() -> None:
    offenders = [
        f"{p.relative_to(PKG)}:{i}"
        for p in PKG.rglob("*.py")
        if p.relative_to(PKG) != OPTUNA_ADAPTER
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if PRIVATE_OPTUNA.search(line)
    ]
    assert not offenders, offenders


# -- the benchmark lab lives beside the library, not in it ----------------------------------
def test_the_installed_library_holds_no_benchmark_harness() -> None:
    import importlib.util

    from metahpo.cli._main import _parser

    assert not (PKG / "bench").exists() and importlib.util.find_spec("metahpo.bench") is None
    assert not list(PKG.rglob("*bench*.py"))
    commands = next(
        a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)
    ).choices
    assert "bench" not in commands and {"tune", "kb", "report"} <= set(commands)


def test_the_lab_keeps_the_house_rules() -> None:
    """No import cycle, no pickle, and the library never imports it (sizes: below)."""
    assert list(LAB.glob("*.py"))
    assert cycles(import_graph(LAB)) == []
    for path in LAB.glob("*.py"):
        text = path.read_text()
        assert "import pickle" not in text and "allow_pickle=True" not in text, path
    assert not [p for p in PKG.rglob("*.py") if "metahpo_bench" in p.read_text()]


# -- the whole lab keeps the size rules ------------------------------------------------------
#: The lab's code: its package, its scripts (``benchmarks/*.py``) and its dev loops
#: (``benchmarks/dev``). Its tests (``benchmarks/tests``) are left out, as the library's
#: ``tests/`` are: the size rules are for the code, not for its tests.
LAB_ROOT = PKG.parents[1] / "benchmarks"
LAB_SKIP = ("tests",)
#: Functions of the lab still over the limit, ``(file, function)`` -> the reason.
LAB_LONG_FUNCTIONS_ALLOWED: dict[tuple[str, str], str] = {}


def test_the_lab_keeps_the_size_rules() -> None:
    """Every module of the lab's code under 500 lines, every function under 80."""
    assert long_modules(LAB_ROOT, skip=LAB_SKIP) == []
    found = long_functions(LAB_ROOT, skip=LAB_SKIP)
    keys = {f: (f.split(":")[0], f.split()[1]) for f in found}  # file:line name (N lines)
    assert [f for f, key in keys.items() if key not in LAB_LONG_FUNCTIONS_ALLOWED] == []
    gone = set(LAB_LONG_FUNCTIONS_ALLOWED) - set(keys.values())
    assert not gone, f"allowed long functions that are gone (drop them from the list): {gone}"


def test_the_lab_size_checks_find_long_code_and_skip_the_tests(tmp_path: Path) -> None:
    long_body = "".join(f"    x{i} = {i}\n" for i in range(80))
    (tmp_path / "dev").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "dev" / "loop.py").write_text(f"def main():\n{long_body}")
    (tmp_path / "tests" / "test_x.py").write_text(f"def test_long():\n{long_body}" + "#\n" * 500)
    (tmp_path / "script.py").write_text("x = 1\n" * 501)
    assert long_functions(tmp_path, skip=LAB_SKIP) == ["dev/loop.py:1 main (81 lines)"]
    assert long_modules(tmp_path, skip=LAB_SKIP) == ["script.py (501 lines)"]
    assert len(long_functions(tmp_path)) == 2 and len(long_modules(tmp_path)) == 2


# -- the lab and the examples use metahpo's public names only -------------------------------
#: Where metahpo is used as a user uses it: the benchmark lab (its package, scripts and dev
#: loops) and the examples.
OUTSIDE = (PKG.parents[1] / "benchmarks", PKG.parents[1] / "examples")
#: Private imports of metahpo still made from there, ``(file, imported target)`` -> the reason.
OUTSIDE_PRIVATE_ALLOWED: dict[tuple[str, str], str] = {}


def private_metahpo_imports(roots: tuple[Path, ...] = OUTSIDE) -> list[tuple[str, int, str]]:
    """``(file, line, target)`` for each import of a private module or name of metahpo
    (``metahpo.x._y``, ``from metahpo.x import _y``, ``metahpo._y``) in the files under
    ``roots``, anywhere in a file (functions included); files relative to the roots' parent."""
    found = []
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    targets = [f"{node.module}.{a.name}" for a in node.names]
                elif isinstance(node, ast.Import):
                    targets = [a.name for a in node.names]
                else:
                    continue
                for target in targets:
                    parts = target.split(".")
                    if parts[0] == "metahpo" and any(_is_private(p) for p in parts[1:]):
                        found.append(
                            (path.relative_to(root.parent).as_posix(), node.lineno, target)
                        )
    return found


def test_the_lab_and_the_examples_import_only_public_names() -> None:
    found = private_metahpo_imports()
    offenders = [
        f"{file}:{line} imports {target}"
        for file, line, target in found
        if (file, target) not in OUTSIDE_PRIVATE_ALLOWED
    ]
    assert not offenders, (
        "benchmarks/ and examples/ use metahpo's public names only (export a deliberate "
        "public name, or write the small thing in the lab itself); private imports: "
        + "; ".join(offenders)
    )
    gone = set(OUTSIDE_PRIVATE_ALLOWED) - {(file, target) for file, _, target in found}
    assert not gone, f"allowed private imports that are gone (drop them from the list): {gone}"


def test_the_public_names_check_finds_private_imports(tmp_path: Path) -> None:
    lab = tmp_path / "benchmarks"
    (lab / "dev").mkdir(parents=True)
    (lab / "ok.py").write_text(
        "import metahpo\nfrom metahpo import __version__\n"
        "from metahpo.optimizers import REGISTRY, Base\nfrom metahpo_bench._live import x\n"
    )
    (lab / "dev" / "loop.py").write_text(
        "from metahpo.optimizers._rgpe import fit_gp\n"
        "def f():\n    from metahpo.optimizers import _bases\n"
        "    import metahpo._files\n"
    )
    assert private_metahpo_imports((lab,)) == [
        ("benchmarks/dev/loop.py", 1, "metahpo.optimizers._rgpe.fit_gp"),
        ("benchmarks/dev/loop.py", 3, "metahpo.optimizers._bases"),
        ("benchmarks/dev/loop.py", 4, "metahpo._files"),
    ]

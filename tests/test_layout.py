"""tests/ mirrors the package, and test files share helpers only through tests/conftest.py.

A folder of tests/ is named after the package it tests (``tests/optimizers/research/`` for
``metahpo.optimizers.research``) and is a Python package, so that two folders may hold files of
the same name. A test file imports no other test file: shared fixtures and helpers live in
``tests/conftest.py`` (the fuzz suite's in ``tests/_fuzz_common.py``), the toy problem in
``metahpo.testing``.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

TESTS = ROOT / "tests"
PKG = ROOT / "src" / "metahpo"
SHARED = {"tests.conftest", "tests._fuzz_common"}


def _folders() -> list[Path]:
    return sorted(
        p
        for p in TESTS.rglob("*")
        if p.is_dir() and "data" not in p.relative_to(TESTS).parts and p.name != "__pycache__"
    )


def test_every_folder_of_tests_names_a_package_and_is_one() -> None:
    folders = _folders()
    assert folders  # tests/datasets, tests/optimizers/research, ...
    for folder in folders:
        assert (PKG / folder.relative_to(TESTS) / "__init__.py").is_file(), folder
        assert (folder / "__init__.py").is_file(), folder
    # the lab's tests are no package: a second package named `tests` would hide this one
    assert not (ROOT / "benchmarks" / "tests" / "__init__.py").exists()


def test_test_files_import_no_other_test_file() -> None:
    files = sorted(TESTS.rglob("test_*.py")) + sorted((ROOT / "benchmarks" / "tests").glob("*.py"))
    assert len(files) > 40
    for path in files:
        package = ".".join(path.relative_to(ROOT).parent.parts)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                name = node.module or ""
                if node.level:  # relative: resolve against the file's package
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    name = ".".join([*base, name] if name else base)
                names = [name]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                local = name.startswith(("tests", "test_", "conftest", "_fuzz"))
                assert not local or name in SHARED, f"{path.relative_to(ROOT)} imports {name}"

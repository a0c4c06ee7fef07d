"""The ``>>>`` examples in the package's docstrings run, and show what they say.

The modules are found by scanning ``src/metahpo`` for ``>>>``, so a new example is run without
being listed here. Each example is self-contained (scikit-learn's bundled toy data, the bundled
experience) and takes a few seconds at most.
"""

from __future__ import annotations

import doctest
import importlib
import io
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "metahpo"

#: Modules whose examples are all ``# doctest: +SKIP``, with the reason; any other module with
#: ``>>>`` must run at least one example.
ONLY_SKIPPED: dict[str, str] = {}


def doctest_modules() -> list[str]:
    """Dotted names of the package's modules whose source holds a ``>>>`` example."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if ">>>" not in path.read_text(encoding="utf-8"):
            continue
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names


def test_the_scan_finds_the_examples() -> None:
    names = doctest_modules()
    assert "metahpo.metafeatures" in names
    assert "metahpo.optimizers._reference" in names
    assert "metahpo._args" not in names  # no example there


@pytest.mark.parametrize("name", doctest_modules())
def test_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report = io.StringIO()
    tests = doctest.DocTestFinder().find(module, name)
    for test in tests:
        runner.run(test, out=report.write)
    assert runner.failures == 0, f"{name}: failing examples\n{report.getvalue()}"
    if name in ONLY_SKIPPED:
        return
    assert runner.tries > 0, f"{name} has '>>>' but no example ran (all skipped, or not found)"

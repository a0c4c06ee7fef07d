"""The layers import only downwards: datasets -> ... -> interfaces."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "src" / "metahpo"

LAYERS = [
    {"errors", "_version"},
    {"datasets"},
    {"spaces"},
    {"evaluation"},
    {"metafeatures"},
    {"knowledge"},
    {"metalearners"},
    {"optimizers"},
    {"tuning", "bench", "report", "sklearn"},
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
